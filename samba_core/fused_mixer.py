"""One encoder block of the fused decoding step: its weights folded once, run by numpy or by a compiled kernel.

:class:`FusedMixer` holds one pre-norm Mamba2 block (``h + mixer(norm(h))``) of a
:class:`~samba_core.model.Samba` in the fused step's layout (see :mod:`samba_core.fused_step`
for the regrouping); calling it runs the numpy path; its ``kernel_*`` operands feed the
compiled kernel :func:`samba_core.fused_kernels.mixer_block` (through
:func:`~samba_core.fused_kernels.encoder_step`).
"""

from __future__ import annotations

import numpy as np
import torch

from .mamba2 import Mamba2Mixer
from .model import MambaBlock


def rms_scale_np(v: np.ndarray, eps: float) -> np.ndarray:
    """1 / sqrt(sum(v^2, last axis) + d eps), v: (..., d) -> (..., 1): the per-row scale of RMSNorm,
    1 / sqrt(mean(v^2) + eps), divided by sqrt(d); the callers' weights carry that sqrt(d)."""
    ss = np.add.reduce(v * v, axis=-1, keepdims=True)  # ufunc reduce: no Python-level mean()
    ss += v.shape[-1] * eps
    return np.reciprocal(np.sqrt(ss, out=ss), out=ss)


def _softplus(v: np.ndarray) -> np.ndarray:
    """log(1 + exp(v)) without overflow: max(log1p(exp(min(v, 80))), v), exact since softplus(v) >= v
    and float32 softplus(v) == v beyond 80."""
    sp = np.minimum(v, 80.0)
    np.exp(sp, out=sp)
    np.log1p(sp, out=sp)
    return np.maximum(sp, v, out=sp)


def _silu(z: np.ndarray) -> np.ndarray:
    """z * sigmoid(z) as z / (1 + exp(-z)): a few ufunc calls, several times faster than scipy's float32 expit.
    z is first raised to -80 (exp cannot overflow): below that the result is ~1e-33 instead of ~z exp(z), both ~0."""
    z = np.maximum(z, -80.0)
    e = np.negative(z)
    np.exp(e, out=e)
    e += 1.0
    return np.divide(z, e, out=e)


def float32_array(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().to(torch.float32).numpy())


class FusedMixer:
    """One pre-norm Mamba2 block (``h + mixer(norm(h))``) over the L tokens of one decision."""

    def __init__(self, block: MambaBlock, length: int) -> None:
        m: Mamba2Mixer = block.mixer
        self.length, self.d_model = length, m.d_model
        self.di, self.cd, self.k = m.d_inner, m.conv_dim, m.d_conv
        self.g, self.nh, self.p, self.n = m.branches, m.nheads, m.headdim, m.d_state
        self.eps = block.norm.eps
        # RMSNorm weights (and the sqrt(d) of rms_scale_np) folded into the next matmul.
        self.w_in = float32_array(block.norm.weight[:, None] * m.in_proj.weight.T * m.d_model**0.5)  # (d, di + cd + heads)
        self.conv_w = float32_array(m.conv.weight[:, 0, :].T)  # (k, conv_dim): tap j multiplies input t - (k - 1) + j
        self.conv_b = float32_array(m.conv.bias)
        self.dt_bias = float32_array(m.dt_bias)
        self.A = float32_array(-torch.exp(m.A_log)).reshape(m.branches, m.nheads, 1, 1)
        self.D = float32_array(m.D)[:, None, None]  # (nh, 1, 1)
        self.differential = m.differential
        if m.differential:
            self.lam = float32_array(m.lambdas())[:, None, None]
            self.head_eps = m.head_norm.eps
            self.head_w = float32_array((1.0 - m.lambda_init) * m.head_norm.weight * m.headdim**0.5)
            self.w_out = float32_array(m.out_proj.weight.T)  # (di, d)
        else:
            self.head_eps = m.norm.eps
            self.w_out = float32_array(m.norm.weight[:, None] * m.out_proj.weight.T * m.d_inner**0.5)
        # Operands of the compiled kernel, grouped and ordered as fused_kernels.encoder_step takes them.
        self.kernel_mats = (self.w_in, self.conv_w, self.w_out, np.ascontiguousarray(self.A.reshape(self.g, self.nh)))
        self.kernel_vecs = (self.conv_b, self.dt_bias, np.ascontiguousarray(self.D.reshape(self.nh)),
                            np.ascontiguousarray(self.lam.reshape(self.nh)) if m.differential else np.zeros(self.nh, np.float32),
                            self.head_w if m.differential else np.ones(self.p, np.float32))
        self.kernel_ints = (self.di, self.cd, self.g, self.nh, self.p, self.n, int(m.differential))
        self.kernel_floats = (float(self.eps), float(self.head_eps))
        self.upper = np.triu(np.ones((length, length), np.float32))  # cumsum as a matmul: [s, t] = s <= t
        self.causal = np.where(self.upper.T > 0, 0.0, -np.inf).astype(np.float32)  # (t, s): 0 where s <= t

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(conv window (k-1, conv_dim) time-major, ssm (ssm_heads, headdim, d_state))."""
        return (np.zeros((self.k - 1, self.cd), np.float32), np.zeros((self.g * self.nh, self.p, self.n), np.float32))

    def __call__(self, h: np.ndarray, conv: np.ndarray, ssm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """h: (L, d) -> (h + mixer(norm(h)): (L, d), new conv window, new ssm state). The numpy reference."""
        L, di, cd, g, nh, p, n = self.length, self.di, self.cd, self.g, self.nh, self.p, self.n
        zxbcdt = (h @ self.w_in) * rms_scale_np(h, self.eps)
        # Causal depthwise convolution: shifted multiply-adds over [carried window, new inputs],
        # written over the inputs' slot so that one SiLU call serves the gate z and the conv output.
        window = np.concatenate([conv, zxbcdt[:, di : di + cd]])  # (k - 1 + L, cd)
        acc = np.multiply(window[:L], self.conv_w[0], out=zxbcdt[:, di : di + cd])
        for j in range(1, self.k):
            acc += window[j : j + L] * self.conv_w[j]
        acc += self.conv_b
        act = _silu(zxbcdt[:, : di + cd])
        gate, xbc = act[:, :di], act[:, di:]
        x = xbc[:, :di].reshape(L, nh, p).transpose(1, 0, 2)  # (nh, L, p)
        B = xbc[:, di : di + g * n].reshape(L, g, n).transpose(1, 0, 2)  # (g, L, n)
        C = xbc[:, di + g * n :].reshape(L, g, n).transpose(1, 0, 2)
        dt = _softplus(zxbcdt[:, di + cd :] + self.dt_bias).T.reshape(g, nh, 1, L)
        state = ssm.reshape(g, nh, p, n)
        if L == 1:  # one token: the recurrence S' = exp(dt A) S + dt x B^T, y = S' C
            new_ssm = state * np.exp(dt * self.A) + (dt[..., 0] * x[:, 0]).reshape(g, nh, p, 1) * B.reshape(g, 1, 1, n)
            y = new_ssm @ C.reshape(g, 1, n, 1)  # (g, nh, p, 1) = (g, nh, L, p) for L = 1
            y = y.reshape(g, nh, 1, p)
        else:
            cum = (dt * self.A) @ self.upper  # (g, nh, 1, L): cumulative log-decay
            # decay[t, s] = exp(cum_t - cum_s) for s <= t, else exp(-inf) = 0.
            decay = cum.transpose(0, 1, 3, 2) - cum
            decay += self.causal
            weight = np.exp(decay, out=decay)
            weight *= dt  # (g, nh, L, L): contribution of input s to output t
            y = (weight * (C @ B.transpose(0, 2, 1))[:, None]) @ x  # within the decision
            decay_in = np.exp(cum)  # (g, nh, 1, L): decay of the carried state up to each token
            y += (C[:, None] @ state.transpose(0, 1, 3, 2)) * decay_in.transpose(0, 1, 3, 2)  # carried state
            new_ssm = state * decay_in[..., -1:, -1:]
            new_ssm += (x * weight[:, :, -1, :, None]).transpose(0, 1, 3, 2) @ B[:, None]
        if self.differential:
            y = y[0] - self.lam * y[1]  # (nh, L, p)
            y *= self.head_w * rms_scale_np(y, self.head_eps)
            y += self.D * x
            out = (y.transpose(1, 0, 2).reshape(L, di) * gate) @ self.w_out
        else:
            y = ((y[0] + self.D * x).transpose(1, 0, 2).reshape(L, di)) * gate
            out = (y @ self.w_out) * rms_scale_np(y, self.head_eps)
        out += h
        return out, window[L:], new_ssm.reshape(g * nh, p, n)
