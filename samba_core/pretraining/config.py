"""Settings of a pretraining run: how crops are drawn (:class:`CropConfig`) and how the network is
optimised (:class:`PretrainConfig`), with the learning-rate schedule they define.

Both are frozen dataclasses saved in ``state.pt`` and ``summary.json``; a resumed run must
keep every setting that shapes the trajectory (:func:`trajectory_settings`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..masking import OUR_MASKING, MaskingConfig

# Fields that do not change the trajectory of the steps already taken: a resume may change them.
# CUDA graphs replay the same arithmetic (up to rounding), so they may change on resume too.
RESUMABLE_FIELDS = frozenset({"steps", "stop_after", "max_minutes", "log_every", "val_every", "save_every", "cuda_graphs", "compile"})


@dataclass(frozen=True)
class CropConfig:
    """How crops are drawn.

    Parameters
    ----------
    context_s : float
        Crop length in seconds (long context: tens of seconds).
    batch_size : int
        Global batch (all ranks together); must be a multiple of the number of ranks.
    channel_subset_prob : float
        Probability that a crop keeps only a random subset of its channels.
    min_channels : int
        Smallest subset kept.
    val_fraction : float
        Tail of every recording held out from training crops, for the validation loss.
    masking : MaskingConfig
        TSRM span masking.
    """

    context_s: float = 60.0
    batch_size: int = 8
    channel_subset_prob: float = 0.5
    min_channels: int = 8
    val_fraction: float = 0.1
    masking: MaskingConfig = field(default_factory=MaskingConfig)

    def __post_init__(self) -> None:
        if self.context_s <= 0 or self.batch_size < 1:
            raise ValueError(f"context_s must be > 0 and batch_size >= 1, got {self.context_s}, {self.batch_size}")
        if not 0.0 <= self.channel_subset_prob <= 1.0 or not 0.0 <= self.val_fraction < 0.5:
            raise ValueError("channel_subset_prob must lie in [0, 1] and val_fraction in [0, 0.5)")



@dataclass(frozen=True)
class PretrainConfig:
    """Optimisation settings. ``precision``: "bf16" (autocast on CUDA; CPU runs float32) or "fp32".
    ``stop_after``: end this invocation after that many steps (resume later); ``max_minutes`` likewise by time.
    ``cuda_graphs``: replay each training step as one CUDA graph (CUDA runs, DDP included; see
    :mod:`~samba_core.pretraining.graph`); ignored, with a log line, elsewhere.
    ``compile``: run the network through ``torch.compile`` (Inductor fuses the element-wise work
    around the SSD scan, which stays mamba_ssm's; same values up to rounding); the first steps
    are slow while it compiles."""

    steps: int = 2000
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    precision: str = "bf16"
    seed: int = 0
    use_kernels: bool = True
    log_every: int = 50
    val_every: int = 250
    save_every: int = 250
    stop_after: int | None = None
    max_minutes: float | None = None
    cuda_graphs: bool = False
    compile: bool = False
    crops: CropConfig = field(default_factory=CropConfig)

    def __post_init__(self) -> None:
        if self.precision not in ("bf16", "fp32"):
            raise ValueError(f"precision must be 'bf16' or 'fp32', got {self.precision!r}")
        if self.steps < 1 or self.lr <= 0 or self.grad_clip <= 0:
            raise ValueError("steps must be >= 1, lr > 0 and grad_clip > 0")
        for name in ("log_every", "val_every", "save_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 (steps between events), got {getattr(self, name)}")
        if self.stop_after is not None and self.stop_after < 1:
            raise ValueError(f"stop_after must be >= 1 step, got {self.stop_after}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PretrainConfig":
        """Inverse of :meth:`to_dict`. Missing fields take the defaults, missing masking fields our
        objective's (older states). Raises ``ValueError`` naming any unknown field."""
        d = dict(d)
        crops = dict(d.pop("crops", {}))
        masking = {**OUR_MASKING, **crops.pop("masking", {})}  # older states: our objective's missing fields
        for kind, given in ((cls, d), (CropConfig, crops), (MaskingConfig, masking)):
            unknown = sorted(set(given) - {f.name for f in fields(kind)})
            if unknown:
                raise ValueError(
                    f"unknown {kind.__name__} fields {unknown}: the training state was written by a newer "
                    "samba-live (upgrade the package) or edited by hand"
                )
        if "span_s" in masking:
            masking["span_s"] = tuple(masking["span_s"])
        return cls(**d, crops=CropConfig(**crops, masking=MaskingConfig(**masking)))


def learning_rate(config: PretrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio * lr`` at ``steps``: a function of the step alone."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = min(1.0, (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps))
    floor = config.min_lr_ratio
    return config.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def trajectory_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The settings of a :meth:`PretrainConfig.to_dict` that a resumed run must keep (all but :data:`RESUMABLE_FIELDS`)."""
    return {k: v for k, v in config.items() if k not in RESUMABLE_FIELDS}


__all__ = ["CropConfig", "PretrainConfig", "RESUMABLE_FIELDS", "learning_rate", "trajectory_settings"]
