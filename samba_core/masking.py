"""Temporal Semantic Random Masking (TSRM) and the masked-reconstruction objective, ours or the paper's.

TSRM hides contiguous spans of time across all channels at once, long enough to
cover whole oscillation cycles and transients (hundreds of milliseconds), so the
model must reconstruct semantic content instead of interpolating neighbouring
samples. With SAMBA-Live's causal decoder, reconstructing a hidden span means
continuing the signal from its past: masked modelling becomes forecasting, which is
exactly what a streaming model needs to learn. With the pretraining-only
bidirectional decoder (``SambaConfig.decoder_direction``) spans are in-filled from
both sides as in the paper.

Two masks (``MaskingConfig.scheme``):

- ``"spans"`` (ours): spans of ``span_s`` seconds at random places until ``ratio`` is hidden.
- ``"visible-blocks"`` (the paper's TSRM, arXiv 2511.18571 and its authors' code): ``ratio``
  hidden (0.5 there); the visible rest kept as ``visible_blocks`` contiguous blocks of random
  length (0.5-1.5 x their mean), the hidden part spread over the gaps between and around
  them; block lengths therefore scale with the window.

Two losses (``MaskingConfig.loss``), both per crop, on signals divided by ``scale_uv``:

- ``"mse-logspec"`` (ours): MSE + ``spectral_weight`` x L1 between log1p magnitude spectra.
- ``"l1-complex"`` (the paper's): L1 + ``spectral_weight`` x mean |rFFT(y_hat) - rFFT(y)|^2,
  the squared complex spectrum difference. We take the orthonormal FFT so the term does not
  grow with the window length (the authors' unnormalised FFT scales it by the length).

``region`` chooses the scored samples: ``"hidden"`` (ours) or ``"window"`` (every sample; the
paper's terms as published are not masked).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

MASK_SCHEMES = ("spans", "visible-blocks")
LOSSES = ("mse-logspec", "l1-complex")
REGIONS = ("hidden", "window")


#: Our objective's settings: what every training state written before the paper's objective existed
#: used, so a stored masking configuration that lacks a field loads with these.
OUR_MASKING: dict = {"ratio": 0.4, "span_s": (0.25, 1.0), "spectral_weight": 0.1, "scheme": "spans",
                     "visible_blocks": 8, "loss": "mse-logspec", "region": "hidden"}


@dataclass(frozen=True)
class MaskingConfig:
    """ratio: fraction of time steps hidden; span_s: (min, max) span length in seconds ("spans");
    spectral_weight: weight of the spectrum term in the loss (0 disables it); scheme, loss, region:
    see the module docstring; visible_blocks: visible blocks per window ("visible-blocks").
    Use :meth:`paper` for the paper's settings."""

    ratio: float = 0.4
    span_s: tuple[float, float] = (0.25, 1.0)
    spectral_weight: float = 0.1
    scheme: str = "spans"
    visible_blocks: int = 8
    loss: str = "mse-logspec"
    region: str = "hidden"

    def __post_init__(self) -> None:
        if not 0.0 < self.ratio < 1.0:
            raise ValueError(f"masking ratio must be in (0, 1), got {self.ratio}")
        lo, hi = self.span_s
        if not 0.0 < lo <= hi:
            raise ValueError(f"span_s must satisfy 0 < min <= max, got {self.span_s}")
        for value, allowed, what in ((self.scheme, MASK_SCHEMES, "scheme"), (self.loss, LOSSES, "loss"),
                                     (self.region, REGIONS, "region")):
            if value not in allowed:
                raise ValueError(f"MaskingConfig.{what} must be one of {allowed}, got {value!r}")
        if self.visible_blocks < 1:
            raise ValueError(f"visible_blocks must be >= 1, got {self.visible_blocks}")
        if not 0 <= self.spectral_weight < math.inf:  # NaN fails too
            raise ValueError(f"spectral_weight must be finite and >= 0, got {self.spectral_weight}")

    @classmethod
    def ours(cls) -> "MaskingConfig":
        """Our objective: 40 % hidden in 0.25-1 s spans, MSE + 0.1 x L1 of log1p magnitude spectra on hidden samples."""
        return cls(**OUR_MASKING)

    @classmethod
    def paper(cls) -> "MaskingConfig":
        """The paper's objective: 50 % hidden around 8 visible blocks, L1 + squared complex spectrum, weights 1 and 1."""
        return cls(ratio=0.5, spectral_weight=1.0, scheme="visible-blocks", visible_blocks=8, loss="l1-complex",
                   region="window")


def temporal_span_mask(
    batch: int, length: int, sample_rate: float, config: MaskingConfig, generator: torch.Generator | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """TSRM mask by ``config.scheme``: (batch, length) bool, True = hidden; about ``ratio`` of each row."""
    draw = _visible_block_row if config.scheme == "visible-blocks" else _span_row
    mask = torch.stack([draw(length, sample_rate, config, generator) for _ in range(batch)]) if batch else (
        torch.zeros(0, length, dtype=torch.bool))
    return mask.to(device) if device is not None else mask


def _span_row(length: int, sample_rate: float, config: MaskingConfig, generator: torch.Generator | None) -> Tensor:
    """Ours: spans drawn at random positions until the ratio is met; spans may touch or
    overlap, and the last one is cut short so that the hidden fraction never overshoots."""
    lo = max(1, round(config.span_s[0] * sample_rate))
    hi = max(lo, round(config.span_s[1] * sample_rate))
    hi = min(hi, max(1, length // 2))
    lo = min(lo, hi)
    target = int(round(config.ratio * length))
    row = torch.zeros(length, dtype=torch.bool)
    hidden = 0
    for _ in range(10 * (length // lo + 1)):
        if hidden >= target:
            break
        span = int(torch.randint(lo, hi + 1, (1,), generator=generator))
        span = min(span, target - hidden)
        start = int(torch.randint(0, max(1, length - span + 1), (1,), generator=generator))
        before = int(row[start : start + span].sum())
        row[start : start + span] = True
        hidden += span - before
    return row


def split_total(total: int, parts: int, generator: torch.Generator | None) -> list[int]:
    """``total`` samples cut into ``parts`` random lengths, each >= 1 when total allows, around their
    mean by a factor 0.5-1.5 (the paper's block-length draw), summing exactly to ``total``."""
    floor = 1 if total >= parts else 0
    rest = total - floor * parts
    weights = 0.5 + torch.rand(parts, generator=generator, dtype=torch.float64)
    share = weights / weights.sum() * rest
    sizes = share.floor().long()
    left = rest - int(sizes.sum())
    if left:
        order = torch.argsort(share - sizes, descending=True)[:left]  # largest remainders first
        sizes[order] += 1
    return [floor + int(v) for v in sizes]


def _visible_block_row(length: int, sample_rate: float, config: MaskingConfig,
                       generator: torch.Generator | None) -> Tensor:
    """The paper's TSRM: ``visible_blocks`` visible blocks, the hidden samples in the gaps around them."""
    hidden = int(round(config.ratio * length))
    blocks = split_total(length - hidden, config.visible_blocks, generator)
    gaps = split_total(hidden, config.visible_blocks + 1, generator)
    row = torch.ones(length, dtype=torch.bool)
    pos = 0
    for gap, block in zip(gaps, blocks):
        pos += gap
        row[pos : pos + block] = False
        pos += block
    return row


def reconstruction_loss(
    reconstruction: Tensor, target: Tensor, time_mask: Tensor, channel_mask: Tensor | None = None,
    config: MaskingConfig = MaskingConfig(), scale_uv: float = 20.0,
) -> Tensor:
    """Per-crop pretraining loss (batch,), the objective ``config.loss`` on the region ``config.region``.

    reconstruction, target: (batch, channels, time) microvolts (NaN in the target reads as 0);
    time_mask: (batch, time) bool, True = hidden; channel_mask: (channels,) or (batch, channels)
    bool, True = real channel (padding and dropped channels never count). Each crop is
    normalised by its own number of scored samples and real channels. The spectrum terms are
    taken over the scored region (other samples set to 0) on real channels only.
    """
    r = reconstruction.float() / scale_uv
    y = torch.nan_to_num(target).float() / scale_uv
    b, c, _ = r.shape
    cm = torch.ones(b, c, device=r.device) if channel_mask is None else channel_mask.to(r.device, torch.float32)
    cm = cm.expand(b, c)
    tm = time_mask.float() if config.region == "hidden" else torch.ones_like(time_mask, dtype=torch.float32)
    weight = cm.unsqueeze(-1) * tm.unsqueeze(1)
    width = cm.sum(-1)
    count = (width * tm.sum(-1)).clamp_min(1.0)
    diff = r - y
    if config.loss == "l1-complex":
        loss = (diff.abs() * weight).sum((1, 2)) / count
    else:
        loss = (diff.pow(2) * weight).sum((1, 2)) / count
    if config.spectral_weight > 0:
        region = tm.unsqueeze(1)
        if config.loss == "l1-complex":
            gap = torch.fft.rfft(diff * region, dim=-1, norm="ortho").abs().pow(2)
        else:
            spec_hat = torch.fft.rfft(r * region, dim=-1).abs()
            spec = torch.fft.rfft(y * region, dim=-1).abs()
            gap = (torch.log1p(spec_hat) - torch.log1p(spec)).abs()
        gap = gap * cm.unsqueeze(-1)
        loss = loss + config.spectral_weight * gap.sum((1, 2)) / (width * gap.size(-1)).clamp_min(1.0)
    return loss


def masked_reconstruction_loss(
    reconstruction: Tensor, target: Tensor, time_mask: Tensor, channel_mask: Tensor | None = None,
    scale_uv: float = 20.0, spectral_weight: float = OUR_MASKING["spectral_weight"],
    config: MaskingConfig | None = None,
) -> Tensor:
    """Mean over the batch of :func:`reconstruction_loss` (our objective unless ``config`` says otherwise).

    ``spectral_weight`` is used only when no ``config`` is given.
    """
    config = config if config is not None else MaskingConfig(**{**OUR_MASKING, "spectral_weight": spectral_weight})
    return reconstruction_loss(reconstruction, target, time_mask, channel_mask, config, scale_uv).mean()
