"""Helpers for the model tests: a small configuration that exercises every mechanism quickly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from samba_core import CheckpointMetadata, Samba, SambaConfig, save_checkpoint
from samba_core.preprocessing import PreprocessConfig


def small_config(**overrides) -> SambaConfig:
    base = dict(
        spatial_channels=8, spatial_hidden=16, fourier_features=4, dims=(16, 24, 32), encoder_depths=(1, 1, 1),
        decoder_depths=(1, 1), factors=(2, 3), d_state=8, headdim=8, chunk_size=8,
    )
    base.update(overrides)
    return SambaConfig(**base)


@pytest.fixture
def small_model() -> Samba:
    torch.manual_seed(0)
    return Samba(small_config()).eval()


def random_montage(n_channels: int, seed: int = 0) -> np.ndarray:
    """Points on a sphere of head radius in the upper hemisphere: (channels, 3) metres."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n_channels, 3))
    v[:, 2] = np.abs(v[:, 2])
    return (0.09 * v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def save_small_checkpoint(path: Path) -> Path:
    """A small random SAMBA model saved as a real checkpoint (256 Hz, default preprocessing)."""
    torch.manual_seed(0)
    model = Samba(small_config()).eval()
    return save_checkpoint(path, model, CheckpointMetadata(sample_rate=256.0, preprocessing=PreprocessConfig().to_dict()))
