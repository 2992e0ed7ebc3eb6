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

Two paths compute the same function. The reference (``fused = False``) calls the 2H
:class:`~samba_core.mamba2.Mamba2Mixer` modules one by one. The fast path (the default)
stacks their weights and runs all of them as one batched projection, one depthwise
convolution, one SSD scan over 2H groups of heads and one batched output projection:
2H x fewer operators per token, which is what the exported ONNX step pays for.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .mamba2 import Mamba2Mixer, MixerState
from .ssd import ssd_scan, ssd_step


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
        self.fused = True

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
        """Reference path: the 2H sub-layers one by one."""
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
        return self._difference(torch.stack(out, dim=-2)), self._join(new)

    def _difference(self, diff: Tensor) -> Tensor:
        """(…, heads, headdim) differences -> normalised, projected (…, d_model)."""
        return self.out_proj(self._norm(diff).flatten(-2))

    # -- fast path: the 2H sub-layers batched -------------------------------------------------
    def _stacked(self) -> dict[str, Tensor]:
        layers = self.layers
        return {
            "in": torch.stack([m.in_proj.weight for m in layers]),  # (G, out, headdim)
            "conv_w": torch.cat([m.conv.weight for m in layers]),  # (G * conv_dim, 1, k)
            "conv_b": torch.cat([m.conv.bias for m in layers]),
            "dt_bias": torch.cat([m.dt_bias for m in layers]),  # (G * nh,)
            "A": -torch.exp(torch.cat([m.A_log for m in layers])),
            "D": torch.cat([m.D for m in layers]),
            "norm": torch.stack([m.norm.weight for m in layers]),  # (G, d_inner)
            "out": torch.stack([m.out_proj.weight for m in layers]),  # (G, headdim, d_inner)
        }

    def _project(self, u: Tensor, w: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """u (…, d_model) -> z (…, G, d_inner), xbc (…, G * conv_dim), dt (…, G * nh); layer-major."""
        first = self.layers[0]
        heads = u.unflatten(-1, (self.nheads, self.headdim))
        x_in = torch.stack([heads, heads], dim=-2).flatten(-3, -2)  # layers 2h and 2h+1 both read head h
        zxbcdt = torch.einsum("...gi,goi->...go", x_in, w["in"])
        z, xbc, dt = torch.split(zxbcdt, [first.d_inner, first.conv_dim, first.ssm_heads], dim=-1)
        return z, xbc.flatten(-2), dt.flatten(-2)

    def _ssm_inputs(self, xbc: Tensor, dt: Tensor, w: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Convolved xbc (…, G * conv_dim) -> x (…, G * nh, headdim), B, C (…, G, n), dt (…, G * nh)."""
        first, g = self.layers[0], len(self.layers)
        n = first.d_state
        x, B, C = torch.split(xbc.unflatten(-1, (g, first.conv_dim)), [first.d_inner, n, n], dim=-1)
        x = x.flatten(-2).unflatten(-1, (g * first.nheads, first.headdim))
        return x, B, C, F.softplus(dt + w["dt_bias"])

    def _finish(self, y: Tensor, x: Tensor, z: Tensor, w: dict[str, Tensor]) -> Tensor:
        """Per-layer skip, gate, RMSNorm and output projection, then the paired difference."""
        first, g = self.layers[0], len(self.layers)
        y = (y + w["D"][:, None] * x).flatten(-2).unflatten(-1, (g, first.d_inner)) * F.silu(z)
        y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + first.norm.eps) * w["norm"]
        out = torch.einsum("...gi,goi->...go", y, w["out"])  # (…, G, headdim)
        return self._difference(out[..., 0::2, :] - self.lambdas * out[..., 1::2, :])

    def _fused_forward(self, u: Tensor, state: MixerState) -> tuple[Tensor, MixerState]:
        first, w = self.layers[0], self._stacked()
        z, xbc, dt = self._project(u, w)
        padded = torch.cat([state.conv, xbc.transpose(1, 2)], dim=-1)
        new_conv = padded[..., padded.size(-1) - (first.d_conv - 1):]
        xbc = F.silu(F.conv1d(padded, w["conv_w"], w["conv_b"], groups=padded.size(1))).transpose(1, 2)
        x, B, C, dt = self._ssm_inputs(xbc, dt, w)
        y, new_ssm = ssd_scan(x, dt, w["A"], B, C, first.chunk_size, state.ssm, first.use_kernels)
        return self._finish(y, x, z, w), MixerState(new_conv, new_ssm)

    def _fused_step(self, u: Tensor, state: MixerState) -> tuple[Tensor, MixerState]:
        first, w = self.layers[0], self._stacked()
        z, xbc, dt = self._project(u, w)
        window = torch.cat([state.conv, xbc.unsqueeze(-1)], dim=-1)
        xbc = F.silu((window * w["conv_w"].squeeze(1)).sum(-1) + w["conv_b"])
        x, B, C, dt = self._ssm_inputs(xbc, dt, w)
        y, new_ssm = ssd_step(state.ssm, x, dt, w["A"], B, C, first.use_kernels)
        return self._finish(y, x, z, w), MixerState(window[..., 1:], new_ssm)

    # -- public ----------------------------------------------------------------------------
    def forward(self, u: Tensor, state: MixerState | None = None) -> tuple[Tensor, MixerState]:
        """u: (batch, length, d_model) -> (y, new state); chunks of any length compose."""
        if not self.fused:
            return self._run(u, state, lambda layer, x, s: layer(x, s))
        if state is None:
            state = self.init_state(u.size(0), u.device, u.dtype)
        return self._fused_forward(u, state)

    def step(self, u: Tensor, state: MixerState) -> tuple[Tensor, MixerState]:
        """u: (batch, d_model), one token -> (y: (batch, d_model), new state)."""
        if not self.fused:
            return self._run(u, state, lambda layer, x, s: layer.step(x, s))
        return self._fused_step(u, state)
