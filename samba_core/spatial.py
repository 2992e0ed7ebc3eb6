"""Coordinate-Driven Spatial Embedding (CDSE), our coordinate-driven variant: positions -> spatial weights.

Any montage, any channel order, maps onto the same K latent spatial channels because
the weights are a function of each electrode's 3D position, not of its index::

    phi(p)  = [p, sin(2 pi F p), cos(2 pi F p)]                   F: (n_freq, 3), fixed random
    r_c     = MLP(phi(p_c / head_radius))                          (K,) per channel
    w_ck    = m_c r_ck / sum_c' m_c' |r_c'k|                       m: channel mask (0 = dropped)
    s_k(t)  = sum_c w_ck x_c(t)

The L1 normalisation keeps the scale of each latent channel independent of how many
electrodes a headset has and of which are masked, so a channel can drop out at run
time without retraining. The weights are signed (spatial filters may subtract
neighbours) and are exactly what the app draws as one topomap per latent channel.
``SpatialReadout`` is the inverse map used by the reconstruction head: a second
coordinate MLP gives each channel its read-out vector over the K latent channels.

The paper's own spatial module, SAIE (learned interpolation onto virtual standard
sites), is :mod:`samba_core.saie`; :func:`samba_core.model.build_spatial` picks one by ``config.spatial``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class CoordinateEncoder(nn.Module):
    """3D positions (metres, head frame) -> per-position vectors via Fourier features and an MLP."""

    def __init__(self, out_dim: int, hidden: int, n_freq: int, scale: float, head_radius_m: float) -> None:
        super().__init__()
        self.head_radius_m = head_radius_m
        generator = torch.Generator().manual_seed(0x5A3BA)  # fixed: the frequencies are part of the architecture
        self.register_buffer("freqs", torch.randn(n_freq, 3, generator=generator) * scale)
        self.mlp = nn.Sequential(
            nn.Linear(3 + 2 * n_freq, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, out_dim)
        )

    def forward(self, coords: Tensor) -> Tensor:
        """coords: (..., channels, 3) -> (..., channels, out_dim)."""
        p = coords / self.head_radius_m
        proj = 2 * math.pi * p @ self.freqs.T
        return self.mlp(torch.cat([p, torch.sin(proj), torch.cos(proj)], dim=-1))


def mask_coords(coords: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """Excluded channels may carry NaN positions: zero them so they cannot poison the MLP."""
    if mask is None:
        mask = torch.isfinite(coords).all(-1)
    mask = mask.to(torch.bool)
    coords = torch.where(mask.unsqueeze(-1), coords, torch.zeros_like(coords))
    return coords, mask


def require_some_channel(mask: Tensor, module: str) -> None:
    """Raise ValueError when no channel is left (skipped while a CUDA graph is captured or
    ``torch.compile`` traces).

    The check reads the mask on the host, which a step being captured as a CUDA graph
    cannot do and which would split a compiled graph; the graphed trainer checks its
    batches' layout before capturing, and the crop sampler never draws an empty montage.
    """
    if torch.compiler.is_compiling():
        return
    capturing = mask.is_cuda and torch.cuda.is_current_stream_capturing()
    if not capturing and not bool(mask.any()):
        raise ValueError(f"every channel is masked out: {module} needs at least one usable EEG channel")


class SpatialEmbedding(nn.Module):
    """CDSE: project C channels with positions onto K latent spatial channels."""

    kind = "cdse"

    def __init__(self, k: int, hidden: int, n_freq: int, scale: float, head_radius_m: float) -> None:
        super().__init__()
        self.k = k
        self.encoder = CoordinateEncoder(k, hidden, n_freq, scale, head_radius_m)

    @property
    def width(self) -> int:
        """K, the number of latent spatial channels."""
        return self.k

    @property
    def map_names(self) -> tuple[str, ...]:
        """One name per output column (what the app titles each topomap with)."""
        return tuple(f"latent {k + 1}" for k in range(self.k))

    def weights(self, coords: Tensor, mask: Tensor | None = None) -> Tensor:
        """Spatial weights w: (..., channels, K); masked channels get exactly 0.

        coords: (..., channels, 3) metres in the head frame; mask: (..., channels) bool, True = use.
        """
        coords, mask = mask_coords(coords, mask)
        require_some_channel(mask, "CDSE")
        raw = self.encoder(coords) * mask.unsqueeze(-1).to(coords.dtype)
        return raw / (raw.abs().sum(dim=-2, keepdim=True) + 1e-6)

    def forward(self, x: Tensor, coords: Tensor, mask: Tensor | None = None) -> Tensor:
        """x: (batch, channels, time) -> (batch, time, K)."""
        w = self.weights(coords, mask)
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)  # masked channels may carry NaN/inf; weight 0
        return torch.einsum("bct,...ck->btk", x, w) if w.dim() == 2 else torch.einsum("bct,bck->btk", x, w)


class SpatialReadout(nn.Module):
    """Inverse of CDSE for reconstruction: latent (batch, time, K) -> channels (batch, channels, time)."""

    def __init__(self, k: int, hidden: int, n_freq: int, scale: float, head_radius_m: float) -> None:
        super().__init__()
        self.encoder = CoordinateEncoder(k, hidden, n_freq, scale, head_radius_m)

    def forward(self, latent: Tensor, coords: Tensor, mask: Tensor | None = None) -> Tensor:
        coords, mask = mask_coords(coords, mask)
        v = self.encoder(coords) * mask.unsqueeze(-1).to(coords.dtype)  # (…, channels, K)
        if v.dim() == 2:
            return torch.einsum("btk,ck->bct", latent, v)
        return torch.einsum("btk,bck->bct", latent, v)
