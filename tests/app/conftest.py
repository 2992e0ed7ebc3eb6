"""Fixtures of the live-pipeline tests: a small real checkpoint and a helper to run pipelines."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model_fixtures import small_config
from samba_core import CheckpointMetadata, Samba, load_checkpoint, save_checkpoint
from samba_core.preprocessing import PreprocessConfig


@pytest.fixture(scope="session")
def checkpoint_path(tmp_path_factory) -> Path:
    """A small random SAMBA model saved as a real checkpoint (256 Hz, default preprocessing)."""
    torch.manual_seed(0)
    model = Samba(small_config()).eval()
    meta = CheckpointMetadata(sample_rate=256.0, preprocessing=PreprocessConfig().to_dict())
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "small.samba", model, meta)


@pytest.fixture(scope="session")
def checkpoint(checkpoint_path):
    return load_checkpoint(checkpoint_path)
