"""Unsupervised online adaptation: causal per-electrode re-centring of the input (``adaptation="recentre"``).

People differ in amplitude, electrode impedance and offsets; a network pretrained on some
subjects sees a new user's EEG at a different scale. ``"recentre"`` removes that difference
from the user's own unlabelled EEG, causally, while streaming. It is the diagonal
(per-electrode) form of Euclidean alignment (He & Wu 2019, "Transfer learning for
brain-computer interfaces: a Euclidean space data alignment approach", IEEE TBME 67(2)),
with exponential forgetting instead of a whole-session mean, i.e. an AdaBN-style
re-normalisation (Li et al. 2018, "Adaptive batch normalization for practical domain
adaptation") of the input that tracks the newest minutes:

* the stream is cut into blocks of ``hop`` samples (one bottleneck token, one decision);
* after each block b, per electrode c, with ``a = exp(-hop / (sample_rate * adaptation_tau_s))``::

      weight_b = a weight_{b-1} + (1 - a)            (weight_{-1} = 0)
      mean_b   = a mean_{b-1}   + (1 - a) avg_t x[c, t]
      power_b  = a power_{b-1}  + (1 - a) avg_t x[c, t]^2

  (bias-corrected running moments: mu = mean / weight, var = power / weight - mu^2);
* the samples of block b are mapped with the statistics of blocks < b only (strictly past)::

      y[c, t] = (x[c, t] - mu_c) * input_scale_uv / sqrt(var_c + FLOOR_UV^2)

  so every electrode has running RMS ``input_scale_uv`` (the scale the model divides by)
  and zero running mean; the gain is at most ``input_scale_uv / FLOOR_UV`` (a flat electrode
  is not blown up without bound);
* warm-up: until ``adaptation_warmup_s`` of signal has been seen the map is the identity
  (``y = x``); the switch is decided on ``weight`` against a threshold half a block away from
  its value after the warm-up block, so every backend takes it at the same block.

Per-electrode statistics do not depend on the channel mask: masking or un-masking an
electrode changes nothing here (a masked electrode's weights are zero downstream). Non-finite
samples are read as 0, as everywhere in the model. The state is three small tensors per
stream (``weight`` (B, 1), ``mean`` and ``power`` (B, C)) plus at most ``hop - 1`` raw
samples of an unfinished block; it is dropped with the model state on ``reset``.

Three implementations compute the same map: :class:`Recentre` (torch, inside
:class:`~samba_core.model.Samba` and the exported ONNX step), :func:`recentre_step_np`
(numpy, the fused step) and :func:`recentre_offline` (numpy reference over a whole recording,
for fitting heads on adapted features). Tests hold them equal for any chunking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from .config import SambaConfig

#: Floor (microvolts) added in quadrature to an electrode's running standard deviation.
FLOOR_UV = 1.0


@dataclass(frozen=True)
class RecentreConstants:
    """Numbers derived from a config. decay: a per block; threshold: weight that ends the warm-up;
    target_uv: running RMS after the map; hop: samples per block."""

    hop: int
    decay: float
    threshold: float
    target_uv: float

    @classmethod
    def from_config(cls, config: SambaConfig) -> "RecentreConstants":
        hop, fs = config.hop, float(config.sample_rate)
        decay = math.exp(-hop / (fs * config.adaptation_tau_s))
        warm_blocks = max(1, math.ceil(config.adaptation_warmup_s * fs / hop))
        # weight after n blocks is 1 - a^n; n_warm - 0.5 keeps a margin of ~(1 - a)/2 to either neighbour.
        threshold = 1.0 - decay ** (warm_blocks - 0.5)
        return cls(hop, decay, threshold, float(config.input_scale_uv))


@dataclass
class AdaptationState:
    """weight: (B, 1); mean, power: (B, C) microvolts and microvolts^2; pending: (B, C, < hop) raw samples."""

    weight: Tensor
    mean: Tensor
    power: Tensor
    pending: Tensor


class Recentre(nn.Module):
    """Torch form of the map (no parameters). See the module docstring for the formula."""

    def __init__(self, config: SambaConfig) -> None:
        super().__init__()
        self.k = RecentreConstants.from_config(config)

    def init_state(self, batch: int, channels: int, device=None, dtype=torch.float32) -> AdaptationState:
        z = torch.zeros(batch, channels, device=device, dtype=dtype)
        return AdaptationState(torch.zeros(batch, 1, device=device, dtype=dtype), z, z.clone(),
                               torch.zeros(batch, channels, 0, device=device, dtype=dtype))

    def _map(self, x: Tensor, weight: Tensor, mean: Tensor, power: Tensor) -> Tensor:
        """x: (B, C, L) or (B, C, n, L) with statistics (B, 1[, n]) / (B, C[, n]) -> mapped x."""
        ready = weight >= self.k.threshold
        w = weight.clamp_min(1e-12)
        mu = mean / w
        var = (power / w - mu * mu).clamp_min(0.0)
        gain = torch.where(ready, self.k.target_uv * torch.rsqrt(var + FLOOR_UV**2), torch.ones_like(var))
        mu = torch.where(ready, mu, torch.zeros_like(mu))
        return (x - mu.unsqueeze(-1)) * gain.unsqueeze(-1)

    def _update(self, block: Tensor, weight: Tensor, mean: Tensor, power: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """block: (B, C, hop) -> the statistics after it."""
        a = self.k.decay
        return (a * weight + (1.0 - a), a * mean + (1.0 - a) * block.mean(-1),
                a * power + (1.0 - a) * (block * block).mean(-1))

    def step(self, x: Tensor, weight: Tensor, mean: Tensor, power: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One block: x (B, C, hop) finite microvolts -> (mapped x, new weight, mean, power). ONNX-exportable."""
        return (self._map(x, weight, mean, power), *self._update(x, weight, mean, power))

    def forward(self, x: Tensor, state: AdaptationState | None) -> tuple[Tensor, AdaptationState]:
        """x: (B, C, T) finite microvolts, any T -> (mapped x (B, C, T), new state)."""
        if state is None:
            state = self.init_state(x.size(0), x.size(1), x.device, x.dtype)
        if state.mean.shape != x.shape[:2]:
            raise ValueError(f"adaptation state is for {tuple(state.mean.shape)} (batch, channels) but the input "
                             f"has {tuple(x.shape[:2])}: reset the stream when the channel count changes")
        data = torch.cat([state.pending, x], dim=-1)
        hop, n_blocks = self.k.hop, data.size(-1) // self.k.hop
        blocks = data[..., : n_blocks * hop].reshape(data.size(0), data.size(1), n_blocks, hop)
        weight, mean, power = state.weight, state.mean, state.power
        stats = []  # statistics in force during each block, then during the unfinished one
        for b in range(n_blocks):
            stats.append((weight, mean, power))
            weight, mean, power = self._update(blocks[:, :, b], weight, mean, power)
        stats.append((weight, mean, power))
        w, m, p = (torch.stack(s, dim=-1) for s in zip(*stats))  # (B, 1|C, n_blocks + 1)
        tail = data[..., n_blocks * hop :]
        padded = torch.cat([blocks, nn.functional.pad(tail, (0, hop - tail.size(-1))).unsqueeze(2)], dim=2)
        mapped = self._map(padded, w, m, p).reshape(data.size(0), data.size(1), -1)[..., : data.size(-1)]
        return mapped[..., data.size(-1) - x.size(-1) :], AdaptationState(weight, mean, power, tail)


def build_adaptation(config: SambaConfig) -> Recentre | None:
    """The adaptation module ``config.adaptation`` asks for, or None for ``"none"``."""
    return Recentre(config) if config.adaptation == "recentre" else None


def recentre_step_np(
    x: np.ndarray, weight: np.ndarray, mean: np.ndarray, power: np.ndarray, k: RecentreConstants,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numpy form of :meth:`Recentre.step` for one stream: x (C, hop) finite microvolts,
    weight (1, 1), mean and power (1, C) -> (mapped x (C, hop), new weight, mean, power)."""
    if weight[0, 0] >= k.threshold:
        w = max(float(weight[0, 0]), 1e-12)
        mu = mean[0] / np.float32(w)
        var = np.maximum(power[0] / np.float32(w) - mu * mu, 0.0)
        gain = np.float32(k.target_uv) / np.sqrt(var + np.float32(FLOOR_UV**2))
        y = (x - mu[:, None]) * gain[:, None]
    else:
        y = x
    a = np.float32(k.decay)
    b = np.float32(1.0 - k.decay)
    return (y.astype(np.float32, copy=False), a * weight + b, a * mean + b * x.mean(-1)[None],
            a * power + b * (x * x).mean(-1)[None])


def recentre_offline(x: np.ndarray, config: SambaConfig) -> np.ndarray:
    """Reference: the re-centred input of a whole recording, as a fresh stream would produce it.

    x: (channels, time) microvolts (non-finite samples read as 0) -> (channels, time) float32.
    Use it to compute adapted inputs for head fitting (calibration, cross-subject heads) exactly
    as the live stream adapts them; a model whose config has ``adaptation="recentre"`` applies
    the same map inside its forward pass.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (channels, time), got {x.shape}")
    x = np.where(np.isfinite(x), x, np.float32(0.0))
    k = RecentreConstants.from_config(config)
    weight, mean, power = np.zeros((1, 1), np.float32), np.zeros((1, x.shape[0]), np.float32), np.zeros((1, x.shape[0]), np.float32)
    out = np.empty_like(x)
    for start in range(0, x.shape[1], k.hop):
        block = x[:, start : start + k.hop]
        y, w2, m2, p2 = recentre_step_np(block, weight, mean, power, k)
        out[:, start : start + k.hop] = y
        if block.shape[1] == k.hop:
            weight, mean, power = w2, m2, p2
    return out
