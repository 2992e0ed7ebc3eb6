"""Fixtures for the calibration tests: a synthetic session file and a small base checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from calibration_sessions import LABELS_10_20, synthetic_mi, write_fif
from model_fixtures import small_config
from samba_core import CheckpointMetadata, Samba, save_checkpoint
from samba_core.preprocessing import PreprocessConfig


@pytest.fixture
def mi_fif(tmp_path) -> Path:
    """12 left + 12 right cue/<class> trials, 12 channels at 160 Hz."""
    data, ann = synthetic_mi()
    return write_fif(tmp_path / "subject_raw.fif", data, 160.0, LABELS_10_20, ann)


@pytest.fixture(scope="session")
def base_checkpoint(tmp_path_factory) -> Path:
    """A small random SAMBA checkpoint with the default preprocessing (stands in for the pretrained base)."""
    torch.manual_seed(0)
    model = Samba(small_config())
    meta = CheckpointMetadata(256.0, PreprocessConfig().to_dict(), provenance={"kind": "random test base"})
    return save_checkpoint(tmp_path_factory.mktemp("base") / "base.samba", model, meta)
