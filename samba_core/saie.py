"""SAIE, the paper's spatial-adaptive input embedding: learned interpolation onto virtual standard sites.

SAMBA (arXiv 2511.18571) maps any montage onto a fixed set of standard target sites
(the 10-20/10-05 canon). A small MLP, shared by every pair, reads the 3D offset between
target site o and input electrode c; a softmax over the input electrodes turns the
scores into positive interpolation weights that sum to one per site::

    a_oc   = MLP((p_o - p_c) / head_radius)          MLP: 3 -> hidden -> ReLU -> 1
    w_co   = exp(a_oc) m_c / sum_c' exp(a_oc') m_c'   m: channel mask (0 = dropped)
    x'_o(t) = sum_c w_co x_c(t)                        one virtual electrode per site

so a masked channel drops out of the softmax (weight exactly 0) and the remaining ones
renormalise. The weights depend on positions only, so permuting the input channels
permutes the rows of ``w`` and leaves ``x'`` unchanged. They are what the paper draws as
topomaps: the app shows, for each virtual site, its weight on every electrode.

The target sites are MNE's built-in montage ``config.virtual_sites`` in the head frame
that :mod:`montages` places every headset in; they are stored as a buffer, so a checkpoint
keeps the sites it was trained with. ``VirtualSiteReadout`` is the inverse used by the
reconstruction head (our addition: the paper's decoder ends in a per-dataset 1x1
convolution): each electrode reads the virtual sites through the same kind of softmax.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .spatial import mask_coords, require_some_channel


def standard_sites(montage: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Names and head-frame positions (sites, 3) in metres of an MNE built-in montage.

    Raises KeyError when the installed MNE has no montage of that name.
    """
    from montages.head_frame import template_positions  # mne is imported lazily there

    table = template_positions(montage)
    names = tuple(name for name, _ in table.values())
    positions = np.stack([pos for _, pos in table.values()]).astype(np.float32)
    return names, positions


class OffsetScorer(nn.Module):
    """The shared pair MLP: offsets (..., 3) in head radii -> scores (...)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, offsets: Tensor) -> Tensor:
        return self.mlp(offsets).squeeze(-1)


def masked_softmax(scores: Tensor, mask: Tensor, dim: int) -> Tensor:
    """Softmax of ``scores`` over ``dim`` among entries where ``mask`` is True; masked entries get 0.

    A slice with no True entry gives zeros (never NaN).
    """
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.nan_to_num(torch.softmax(scores, dim=dim), nan=0.0) * mask.to(scores.dtype)


class VirtualSiteEmbedding(nn.Module):
    """SAIE: C electrodes with positions -> one signal per virtual standard site (O of them)."""

    kind = "virtual-sites"

    def __init__(self, montage: str, hidden: int, head_radius_m: float) -> None:
        super().__init__()
        names, positions = standard_sites(montage)
        self.site_names = names
        self.head_radius_m = head_radius_m
        self.register_buffer("sites", torch.from_numpy(positions))
        self.scorer = OffsetScorer(hidden)

    @property
    def width(self) -> int:
        """O, the number of virtual sites (the width of the spatial output)."""
        return int(self.sites.size(0))

    @property
    def map_names(self) -> tuple[str, ...]:
        return self.site_names

    def weights(self, coords: Tensor, mask: Tensor | None = None) -> Tensor:
        """Interpolation weights w: (..., channels, sites) >= 0, each column summing to 1 over used channels.

        coords: (..., channels, 3) metres, head frame (NaN rows allowed where masked);
        mask: (..., channels) bool, True = use. Masked channels get exactly 0.
        Raises ValueError when every channel is masked.
        """
        coords, mask = mask_coords(coords, mask)
        require_some_channel(mask, "SAIE")
        offsets = (self.sites.to(coords.dtype).unsqueeze(-2) - coords.unsqueeze(-3)) / self.head_radius_m  # (…, O, C, 3)
        scores = self.scorer(offsets)  # (…, O, C)
        w = masked_softmax(scores, mask.unsqueeze(-2), dim=-1)
        return w.transpose(-1, -2)


class VirtualSiteReadout(nn.Module):
    """Inverse of SAIE for reconstruction: sites (batch, time, O) -> channels (batch, channels, time)."""

    def __init__(self, sites: Tensor, hidden: int, head_radius_m: float) -> None:
        super().__init__()
        self.head_radius_m = head_radius_m
        self.register_buffer("sites", sites.detach().clone())
        self.scorer = OffsetScorer(hidden)

    def forward(self, latent: Tensor, coords: Tensor, mask: Tensor | None = None) -> Tensor:
        coords, mask = mask_coords(coords, mask)
        offsets = (coords.unsqueeze(-2) - self.sites.to(coords.dtype)) / self.head_radius_m  # (…, C, O, 3)
        w = torch.softmax(self.scorer(offsets), dim=-1) * mask.unsqueeze(-1).to(coords.dtype)  # (…, C, O)
        if w.dim() == 2:
            return torch.einsum("bto,co->bct", latent, w)
        return torch.einsum("bto,bco->bct", latent, w)
