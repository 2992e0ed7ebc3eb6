"""Shared fixtures: small real objects, never mocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
#: liblsl reads its configuration once, when it loads: every LSL test stays on this machine.
LSL_CONFIG = REPO_ROOT / "tests" / "lsl_api.cfg"
os.environ["LSLAPICFG"] = str(LSL_CONFIG)
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> Path:
    """A small random SAMBA model saved as a real checkpoint (256 Hz, default preprocessing)."""
    from helpers.models import save_small_checkpoint

    return save_small_checkpoint(tmp_path_factory.mktemp("ckpt") / "small.samba")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real EEG folder beside the checkout; tests that need it skip when it is absent."""
    if not (SHARED_DATA / "MNE-eegbci-data").is_dir():
        pytest.skip(f"real EEG data not found at {SHARED_DATA}")
    return SHARED_DATA
