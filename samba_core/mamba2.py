"""Mamba2 mixer with an optional multi-head differential SSM, usable whole-sequence or step by step.

Plain Mamba2 (``differential=False``)::

    z, xBC, dt = in_proj(u);   xBC = SiLU(causal_depthwise_conv(xBC));   x, B, C = split(xBC)
    y = RMSNorm((SSM_{A,B,C,dt}(x) + D * x) * SiLU(z));   out = out_proj(y)

Multi-head differential Mamba (``differential=True``), our adaptation of Differential
Attention (Ye et al. 2024, arXiv 2410.05258) to the SSM "attention" matrix. Every head
h sees the same input x_h through two SSMs with their own (B, C, dt, A), i.e. two
"attention maps" M1 and M2 over time, and keeps their difference::

    lambda_h = exp(lq1_h . lk1_h) - exp(lq2_h . lk2_h) + lambda_init
    y_h      = (1 - lambda_init) * RMSNorm_h(M1_h x_h - lambda_h * M2_h x_h) + D_h * x_h
    out      = out_proj(y * SiLU(z))

with ``lambda_init = 0.8 - 0.6 * exp(-0.3 * layer_index)`` and RMSNorm_h a per-head
normalisation. Common-mode structure that both branches capture cancels, which is
what suppresses redundant temporal features. Both branches run as one SSD scan over
2H heads with two B/C groups (branch 1 uses group 0, branch 2 group 1), so the fused
kernels apply unchanged.

Every call is stateful: ``forward(u, state)`` takes the carried (conv, ssm) state and
returns the new one, so a sequence cut into arbitrary chunks gives the same output as
the whole sequence. ``step`` is the one-token recurrence.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .ssd import ssd_scan, ssd_step


class MixerState(NamedTuple):
    """Carried state of one mixer. conv: (batch, conv_channels, d_conv - 1); ssm: (batch, heads, headdim, d_state)."""

    conv: Tensor
    ssm: Tensor


class RMSNorm(nn.Module):
    """Root-mean-square normalisation over the last dimension (per token, hence causal)."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def lambda_init_for(layer_index: int) -> float:
    """Depth-dependent initial lambda of Differential Attention."""
    return 0.8 - 0.6 * math.exp(-0.3 * layer_index)


class Mamba2Mixer(nn.Module):
    """Mamba2 sequence mixer. u: (batch, length, d_model) -> (batch, length, d_model)."""

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        headdim: int = 16,
        expand: int = 2,
        d_conv: int = 4,
        chunk_size: int = 64,
        differential: bool = True,
        layer_index: int = 0,
        lambda_dim: int = 16,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
    ) -> None:
        super().__init__()
        self.d_model, self.d_state, self.headdim, self.d_conv = d_model, d_state, headdim, d_conv
        self.d_inner = expand * d_model
        if self.d_inner % headdim:
            raise ValueError(f"expand * d_model = {self.d_inner} must be a multiple of headdim {headdim}")
        self.nheads = self.d_inner // headdim
        self.differential = differential
        self.branches = 2 if differential else 1
        self.ssm_heads = self.nheads * self.branches
        self.chunk_size = chunk_size
        self.use_kernels = True
        groups = self.branches
        self.conv_dim = self.d_inner + 2 * groups * d_state
        self.in_proj = nn.Linear(d_model, self.d_inner + self.conv_dim + self.ssm_heads, bias=False)
        self.conv = nn.Conv1d(self.conv_dim, self.conv_dim, d_conv, groups=self.conv_dim, bias=True)
        # dt initialised log-uniform in [dt_min, dt_max] through the inverse softplus.
        dt = torch.exp(torch.rand(self.ssm_heads) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.empty(self.ssm_heads).uniform_(1.0, 16.0)))
        self.D = nn.Parameter(torch.ones(self.nheads))
        if differential:
            self.lambda_init = lambda_init_for(layer_index)
            self.lambda_q1 = nn.Parameter(torch.randn(self.nheads, lambda_dim) * 0.1)
            self.lambda_k1 = nn.Parameter(torch.randn(self.nheads, lambda_dim) * 0.1)
            self.lambda_q2 = nn.Parameter(torch.randn(self.nheads, lambda_dim) * 0.1)
            self.lambda_k2 = nn.Parameter(torch.randn(self.nheads, lambda_dim) * 0.1)
            self.head_norm = RMSNorm(headdim)
        else:
            self.norm = RMSNorm(self.d_inner)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    # -- state -------------------------------------------------------------------------
    def init_state(self, batch: int, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> MixerState:
        """Zero state: what the start of a stream sees."""
        return MixerState(
            torch.zeros(batch, self.conv_dim, self.d_conv - 1, device=device, dtype=dtype),
            torch.zeros(batch, self.ssm_heads, self.headdim, self.d_state, device=device, dtype=dtype),
        )

    def lambdas(self) -> Tensor:
        """Per-head differential weights lambda_h: (heads,)."""
        l1 = torch.exp((self.lambda_q1 * self.lambda_k1).sum(-1))
        l2 = torch.exp((self.lambda_q2 * self.lambda_k2).sum(-1))
        return l1 - l2 + self.lambda_init

    # -- shared pieces -------------------------------------------------------------------
    def _split(self, zxbcdt: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return torch.split(zxbcdt, [self.d_inner, self.conv_dim, self.ssm_heads], dim=-1)

    def _ssm_inputs(self, xbc: Tensor, dt: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Split the conv output into per-head x and per-group B, C; apply dt's softplus."""
        g, n = self.branches, self.d_state
        x, B, C = torch.split(xbc, [self.d_inner, g * n, g * n], dim=-1)
        x = x.unflatten(-1, (self.nheads, self.headdim))
        B = B.unflatten(-1, (g, n))
        C = C.unflatten(-1, (g, n))
        dt = F.softplus(dt + self.dt_bias)
        return x, B, C, dt, -torch.exp(self.A_log)

    def _combine(self, y: Tensor, x: Tensor, z: Tensor) -> Tensor:
        """Merge SSM branch outputs (…, ssm_heads, headdim) with the skip and gate -> (…, d_model)."""
        if self.differential:
            y = y[..., : self.nheads, :] - self.lambdas()[:, None] * y[..., self.nheads :, :]
            y = (1.0 - self.lambda_init) * self.head_norm(y) + self.D[:, None] * x
            y = y.flatten(-2) * F.silu(z)
        else:
            y = self.norm((y + self.D[:, None] * x).flatten(-2) * F.silu(z))
        return self.out_proj(y)

    def _ssm_x(self, x: Tensor) -> Tensor:
        """Both differential branches read the same per-head input."""
        return torch.cat([x, x], dim=-2) if self.differential else x

    # -- whole sequence / chunk -------------------------------------------------------------
    def forward(self, u: Tensor, state: MixerState | None = None) -> tuple[Tensor, MixerState]:
        """u: (batch, length, d_model) -> (y: (batch, length, d_model), new state)."""
        batch = u.size(0)
        if state is None:
            state = self.init_state(batch, u.device, u.dtype)
        z, xbc, dt = self._split(self.in_proj(u))
        padded = torch.cat([state.conv, xbc.transpose(1, 2)], dim=-1)  # (b, conv_dim, k-1+l)
        new_conv = padded[..., padded.size(-1) - (self.d_conv - 1):]
        xbc = F.silu(F.conv1d(padded, self.conv.weight, self.conv.bias, groups=self.conv_dim)).transpose(1, 2)
        x, B, C, dt, A = self._ssm_inputs(xbc, dt)
        y, new_ssm = ssd_scan(self._ssm_x(x), dt, A, B, C, self.chunk_size, state.ssm, self.use_kernels)
        return self._combine(y, x, z), MixerState(new_conv, new_ssm)

    # -- one token ---------------------------------------------------------------------
    def step(self, u: Tensor, state: MixerState) -> tuple[Tensor, MixerState]:
        """u: (batch, d_model), one token -> (y: (batch, d_model), new state)."""
        z, xbc, dt = self._split(self.in_proj(u))
        window = torch.cat([state.conv, xbc.unsqueeze(-1)], dim=-1)  # (b, conv_dim, k)
        xbc = F.silu((window * self.conv.weight.squeeze(1)).sum(-1) + self.conv.bias)
        x, B, C, dt, A = self._ssm_inputs(xbc, dt)
        y, new_ssm = ssd_step(state.ssm, self._ssm_x(x), dt, A, B, C, self.use_kernels)
        return self._combine(y, x, z), MixerState(window[..., 1:], new_ssm)
