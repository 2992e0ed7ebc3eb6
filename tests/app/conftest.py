"""Fixtures of the live-pipeline tests: a small real checkpoint and a helper to run pipelines."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_fixtures import save_small_checkpoint
from samba_core import load_checkpoint


@pytest.fixture(scope="session")
def checkpoint_path(tmp_path_factory) -> Path:
    """A small random SAMBA model saved as a real checkpoint (256 Hz, default preprocessing)."""
    return save_small_checkpoint(tmp_path_factory.mktemp("ckpt") / "small.samba")


@pytest.fixture(scope="session")
def checkpoint(checkpoint_path):
    return load_checkpoint(checkpoint_path)
