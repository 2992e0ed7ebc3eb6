"""Causal changes of token rate between U-Net stages, stateful so that streams can be cut anywhere.

Downsampling by r merges each complete group of r fine tokens into one coarse token,
emitted as soon as the group's last token arrives. Upsampling gives fine token t the
newest coarse token already complete at t (index floor((t + 1) / r) - 1) and a
learned projection chosen by t's phase within the group, so nothing from the future
leaks back. Fine tokens before the first complete group see a zero coarse vector.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn


class Downsample(nn.Module):
    """(batch, length, d_in) -> (batch, completed groups, d_out); carries the incomplete group."""

    def __init__(self, factor: int, d_in: int, d_out: int) -> None:
        super().__init__()
        self.factor = factor
        self.d_in = d_in
        self.proj = nn.Linear(factor * d_in, d_out)

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> Tensor:
        """Leftover fine tokens of the incomplete group: (batch, 0..factor-1, d_in)."""
        return torch.zeros(batch, 0, self.d_in, device=device, dtype=dtype)

    def forward(self, h: Tensor, leftover: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if leftover is not None and leftover.size(1):
            h = torch.cat([leftover, h], dim=1)
        groups = h.size(1) // self.factor
        used = groups * self.factor
        out = self.proj(h[:, :used].reshape(h.size(0), groups, self.factor * self.d_in))
        return out, h[:, used:]


class UpsampleState(NamedTuple):
    """newest: the newest complete coarse token (batch, 1, d_in); position: fine tokens seen so far."""

    newest: Tensor
    position: int


class Upsample(nn.Module):
    """Coarse tokens (batch, m, d_in) -> fine tokens (batch, length, d_out), causally aligned."""

    def __init__(self, factor: int, d_in: int, d_out: int) -> None:
        super().__init__()
        self.factor = factor
        self.d_in, self.d_out = d_in, d_out
        self.proj = nn.Linear(d_in, factor * d_out)

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> UpsampleState:
        return UpsampleState(torch.zeros(batch, 1, self.d_in, device=device, dtype=dtype), 0)

    def forward(self, coarse: Tensor, length: int, state: UpsampleState | None = None) -> tuple[Tensor, UpsampleState]:
        """``coarse`` are the coarse tokens completed by these ``length`` fine tokens."""
        r = self.factor
        if state is None:
            state = self.init_state(coarse.size(0), coarse.device, coarse.dtype)
        start = state.position
        expected = (start + length) // r - start // r
        if coarse.size(1) != expected:
            raise ValueError(f"upsample got {coarse.size(1)} coarse tokens for {length} fine ones; expected {expected}")
        ext = torch.cat([state.newest, coarse], dim=1)  # ext[k] = coarse index start // r - 1 + k
        table = self.proj(ext).reshape(ext.size(0), ext.size(1) * r, self.d_out)
        t = torch.arange(start, start + length, device=coarse.device)
        index = ((t + 1) // r - start // r) * r + (t + 1) % r
        fine = table.index_select(1, index)
        return fine, UpsampleState(ext[:, -1:], start + length)
