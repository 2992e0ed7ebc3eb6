"""Small SAMBA configurations, random montages and random checkpoints for tests and benches.

A random checkpoint is a real ``.samba`` file (:func:`samba_core.save_checkpoint`) of a
network at its seeded initialisation: everything downstream (loading, ONNX export, the live
pipeline, calibration) runs on it exactly as on a trained one, only the decisions are random.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from checkpoints import SHIPPED_CHECKPOINT
from samba_core import CheckpointMetadata, PreprocessConfig, Samba, SambaConfig, save_checkpoint
from samba_core.config import OUR_OPTIONS


def small_config(**overrides) -> SambaConfig:
    """A SambaConfig that exercises every mechanism (CDSE, differential Mamba2, U-Net levels) quickly:
    our options (``OUR_OPTIONS``) whatever the defaults are, so that the fused step runs it."""
    base = dict(
        **OUR_OPTIONS,
        spatial_channels=8, spatial_hidden=16, fourier_features=4, dims=(16, 24, 32), encoder_depths=(1, 1, 1),
        decoder_depths=(1, 1), factors=(2, 3), d_state=8, headdim=8, chunk_size=8,
    )
    base.update(overrides)
    return SambaConfig(**base)


def random_montage(n_channels: int, seed: int = 0) -> np.ndarray:
    """Points on a sphere of head radius in the upper hemisphere: (channels, 3) metres."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n_channels, 3))
    v[:, 2] = np.abs(v[:, 2])
    return (0.09 * v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def save_random_checkpoint(
    path: Path, config: SambaConfig | None = None, preprocessing: PreprocessConfig | None = None,
    provenance: dict[str, Any] | None = None, seed: int = 0,
) -> Path:
    """Save a SAMBA network at its ``seed`` initialisation as a real checkpoint at 256 Hz.

    Parameters
    ----------
    path : Path
        The ``.samba`` file to write.
    config : SambaConfig, optional
        Architecture (default: ``SambaConfig()``, the shipped model's).
    preprocessing : PreprocessConfig, optional
        Stored preprocessing (default: ``PreprocessConfig()``).
    provenance : dict, optional
        Stored provenance (default: none).
    """
    torch.manual_seed(seed)
    model = Samba(config or SambaConfig()).eval()
    meta = CheckpointMetadata(sample_rate=256.0, preprocessing=(preprocessing or PreprocessConfig()).to_dict(),
                              provenance=provenance or {})
    return save_checkpoint(path, model, meta)


def save_small_checkpoint(path: Path) -> Path:
    """A :func:`small_config` network at seed 0 as a real checkpoint (256 Hz, default preprocessing)."""
    return save_random_checkpoint(path, small_config())


def shipped_or_random_checkpoint(folder: Path, shipped: Path | None = None,
                                 preprocessing: PreprocessConfig | None = None) -> tuple[Path, str]:
    """The shipped checkpoint when it is installed, else a random one of the same architecture in ``folder``.

    For benches whose cost, not accuracy, is measured: the random network costs the same per step.

    Parameters
    ----------
    shipped : Path, optional
        The checkpoint to prefer (default: :data:`checkpoints.SHIPPED_CHECKPOINT`).
    preprocessing : PreprocessConfig, optional
        Preprocessing of the random stand-in.

    Returns
    -------
    (Path, str)
        The checkpoint, and a note saying which one it is (for the bench's JSON).
    """
    shipped = shipped or SHIPPED_CHECKPOINT
    if shipped.is_file():
        return shipped, f"pretrained {shipped.stem}"
    path = save_random_checkpoint(Path(folder) / "random-default.samba", preprocessing=preprocessing)
    return path, f"{shipped} absent: random weights of the default SambaConfig (same cost per step)"
