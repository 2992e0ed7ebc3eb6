"""Temporal Semantic Random Masking (TSRM) and the masked-reconstruction loss.

TSRM hides contiguous spans of time across all channels at once, long enough to
cover whole oscillation cycles and transients (hundreds of milliseconds), so the
model must reconstruct semantic content instead of interpolating neighbouring
samples. Because SAMBA-Live's network is causal, reconstructing a hidden span means
continuing the signal from its past: masked modelling becomes forecasting, which is
exactly what a streaming model needs to learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class MaskingConfig:
    """ratio: fraction of time steps hidden; span_s: (min, max) span length in seconds;
    spectral_weight: weight of the log-magnitude spectrum term in the loss (0 disables it)."""

    ratio: float = 0.4
    span_s: tuple[float, float] = (0.25, 1.0)
    spectral_weight: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < self.ratio < 1.0:
            raise ValueError(f"masking ratio must be in (0, 1), got {self.ratio}")
        lo, hi = self.span_s
        if not 0.0 < lo <= hi:
            raise ValueError(f"span_s must satisfy 0 < min <= max, got {self.span_s}")


def temporal_span_mask(
    batch: int, length: int, sample_rate: float, config: MaskingConfig, generator: torch.Generator | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """Random span mask: (batch, length) bool, True = hidden; about ``ratio`` of each row.

    Spans are drawn at random positions until the ratio is met; spans may touch or
    overlap, and the last one is cut short so that the hidden fraction never overshoots.
    """
    lo = max(1, round(config.span_s[0] * sample_rate))
    hi = max(lo, round(config.span_s[1] * sample_rate))
    hi = min(hi, max(1, length // 2))
    lo = min(lo, hi)
    target = int(round(config.ratio * length))
    mask = torch.zeros(batch, length, dtype=torch.bool)
    for b in range(batch):
        hidden = 0
        for _ in range(10 * (length // lo + 1)):
            if hidden >= target:
                break
            span = int(torch.randint(lo, hi + 1, (1,), generator=generator))
            span = min(span, target - hidden)
            start = int(torch.randint(0, max(1, length - span + 1), (1,), generator=generator))
            before = int(mask[b, start : start + span].sum())
            mask[b, start : start + span] = True
            hidden += span - before
    return mask.to(device) if device is not None else mask


def masked_reconstruction_loss(
    reconstruction: Tensor, target: Tensor, time_mask: Tensor, channel_mask: Tensor | None = None,
    scale_uv: float = 20.0, spectral_weight: float = 0.1,
) -> Tensor:
    """Mean squared error on hidden spans plus an optional log-spectrum L1 term.

    reconstruction, target: (batch, channels, time) microvolts; time_mask: (batch, time) bool,
    True = hidden; channel_mask: (channels,) or (batch, channels) bool, True = real channel.
    Both terms are computed on signals divided by ``scale_uv`` so their size does not depend on units.
    """
    weight = time_mask.unsqueeze(1).to(reconstruction.dtype)  # (b, 1, t)
    if channel_mask is not None:
        cm = channel_mask.to(reconstruction.dtype)
        cm = cm.unsqueeze(0) if cm.dim() == 1 else cm
        weight = weight * cm.unsqueeze(-1)
    diff = (reconstruction - torch.nan_to_num(target)) / scale_uv
    denom = weight.expand_as(diff).sum().clamp_min(1.0)
    loss = (diff.pow(2) * weight).sum() / denom
    if spectral_weight > 0:
        spec_hat = torch.fft.rfft(reconstruction / scale_uv * weight, dim=-1).abs()
        spec = torch.fft.rfft(torch.nan_to_num(target) / scale_uv * weight, dim=-1).abs()
        loss = loss + spectral_weight * (torch.log1p(spec_hat) - torch.log1p(spec)).abs().mean()
    return loss
