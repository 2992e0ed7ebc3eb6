"""The paper's multi-head differential Mamba: each head a pair of independent Mamba2 layers.

SAMBA (arXiv 2511.18571), as its authors' code builds it at the bottleneck: the input's
channels are split into H heads of ``headdim``; every head h runs two complete,
independent Mamba2 layers on its slice u_h and keeps their difference::

    delta_h = Norm_h(Mamba2_h1(u_h) - lambda_h * Mamba2_h2(u_h))   lambda_h: (headdim,), init 1
    out     = out_proj(concat_h delta_h)

with no exponential re-parameterisation of lambda (compare the Differential-Transformer
form in :mod:`samba_core.mamba2`). The authors' Norm is a GroupNorm with one group, which
normalises over the whole window in time and so cannot stream; here it normalises each
token over the head's channels (a per-token layer norm with a per-channel affine), which
is causal. Everything else is per token or carried state, so ``forward`` over chunks,
``forward`` over the whole sequence and ``step`` agree.

The 2H sub-layers' states are concatenated into one :class:`~samba_core.mamba2.MixerState`
(conv along channels, SSM along heads), so the block looks like any other mixer to the
model, the streaming session and the ONNX export.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .mamba2 import Mamba2Mixer, MixerState


class PairedDifferentialMamba(nn.Module):
    """u: (batch, length, d_model) -> (batch, length, d_model); ``d_model`` a multiple of ``headdim``."""

    def __init__(self, d_model: int, d_state: int = 16, headdim: int = 16, expand: int = 2, d_conv: int = 4,
                 chunk_size: int = 64, eps: float = 1e-5) -> None:
        super().__init__()
        if d_model % headdim:
            raise ValueError(f"d_model {d_model} must be a multiple of headdim {headdim} to split into heads")
        self.d_model, self.headdim, self.eps = d_model, headdim, eps
        self.nheads = d_model // headdim
        self.layers = nn.ModuleList(
            Mamba2Mixer(headdim, d_state, headdim, expand, d_conv, chunk_size, differential=False)
            for _ in range(2 * self.nheads)
        )
        self.lambdas = nn.Parameter(torch.ones(self.nheads, headdim))
        self.norm_weight = nn.Parameter(torch.ones(self.nheads, headdim))
        self.norm_bias = nn.Parameter(torch.zeros(self.nheads, headdim))
        self.out_proj = nn.Linear(d_model, d_model, bias=False)
        first = self.layers[0]
        self._conv_dim, self._ssm_heads = first.conv_dim, first.ssm_heads

    def init_state(self, batch: int, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> MixerState:
        states = [layer.init_state(batch, device, dtype) for layer in self.layers]
        return self._join(states)

    def _join(self, states: list[MixerState]) -> MixerState:
        return MixerState(torch.cat([s.conv for s in states], 1), torch.cat([s.ssm for s in states], 1))

    def _split(self, state: MixerState) -> list[MixerState]:
        convs = torch.split(state.conv, self._conv_dim, dim=1)
        ssms = torch.split(state.ssm, self._ssm_heads, dim=1)
        return [MixerState(c, s) for c, s in zip(convs, ssms)]

    def _norm(self, d: Tensor) -> Tensor:
        """Per-token layer norm over each head's channels: d (…, heads, headdim)."""
        mean = d.mean(-1, keepdim=True)
        var = (d - mean).pow(2).mean(-1, keepdim=True)
        return (d - mean) * torch.rsqrt(var + self.eps) * self.norm_weight + self.norm_bias

    def _run(self, u: Tensor, state: MixerState | None, call) -> tuple[Tensor, MixerState]:
        heads = u.unflatten(-1, (self.nheads, self.headdim))
        if state is None:
            state = self.init_state(u.size(0), u.device, u.dtype)
        states = self._split(state)
        out, new = [], []
        for h in range(self.nheads):
            y1, s1 = call(self.layers[2 * h], heads[..., h, :], states[2 * h])
            y2, s2 = call(self.layers[2 * h + 1], heads[..., h, :], states[2 * h + 1])
            out.append(y1 - self.lambdas[h] * y2)
            new += [s1, s2]
        delta = self._norm(torch.stack(out, dim=-2))
        return self.out_proj(delta.flatten(-2)), self._join(new)

    def forward(self, u: Tensor, state: MixerState | None = None) -> tuple[Tensor, MixerState]:
        """u: (batch, length, d_model) -> (y, new state); chunks of any length compose."""
        return self._run(u, state, lambda layer, x, s: layer(x, s))

    def step(self, u: Tensor, state: MixerState) -> tuple[Tensor, MixerState]:
        """u: (batch, d_model), one token -> (y: (batch, d_model), new state)."""
        return self._run(u, state, lambda layer, x, s: layer.step(x, s))
