"""Fixtures for the calibration tests: a synthetic session file and a small base checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from calibration_sessions import LABELS_10_20, synthetic_mi, write_fif
from helpers.models import save_random_checkpoint, small_config


@pytest.fixture
def mi_fif(tmp_path) -> Path:
    """12 left + 12 right cue/<class> trials, 12 channels at 160 Hz."""
    data, ann = synthetic_mi()
    return write_fif(tmp_path / "subject_raw.fif", data, 160.0, LABELS_10_20, ann)


@pytest.fixture(scope="session")
def base_checkpoint(tmp_path_factory) -> Path:
    """A small random SAMBA checkpoint with the default preprocessing (stands in for the pretrained base)."""
    return save_random_checkpoint(tmp_path_factory.mktemp("base") / "base.samba", small_config(),
                                  provenance={"kind": "random test base"})
