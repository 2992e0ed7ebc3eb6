"""Compiled kernels of the fused decoding step (numba): one Mamba2 block per call, no Python between operations.

:class:`~samba_core.fused_step.FusedStep` runs each encoder block either as ~60 numpy calls
(the reference, always available) or, when numba is installed, as one call of
:func:`mixer_block`, which computes the same function:

* ``zxbcdt = (h W_in) r(h)``: the input projection with the RMSNorm weight folded in
  (``r`` = the per-token RMS scale, see :func:`rms_scale`);
* the causal depthwise convolution over the carried window of ``d_conv - 1`` inputs, then
  SiLU on the gate and on the convolution output;
* the selective scan as its recurrence, token by token (Dao & Gu 2024, "Transformers are
  SSMs", eq. 1): ``S_t = exp(dt_t A) S_{t-1} + dt_t x_t B_t^T``, ``y_t = S_t C_t``, per branch and
  head; the numpy path uses the chunked (SSD) form of the same sums;
* the differential combination ``y_0 - λ y_1``, its per-head RMSNorm and ``D x`` skip
  (Differential Transformer's form as in :mod:`samba_core.mamba2`), or the plain gated RMSNorm;
* the gate, the output projection and the residual.

:func:`encoder_step` runs every block, the downsamplings and the heads in one call (the
weights passed once as typed lists), so no Python runs between operations of a decision.

``available()`` says whether numba imported; the kernels are compiled on first use (a few
seconds) and cached on disk where the package folder is writable.
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba is an optional accelerator: without it the numpy path runs
    from numba import njit
    from numba.typed import List
except ImportError:  # pragma: no cover - exercised where numba is absent
    njit = List = None


def available() -> bool:
    """Whether the compiled kernels can run here (numba importable)."""
    return njit is not None


#: Reassociation and FMA contraction let the scan's loops vectorise; NaN/inf semantics are kept.
FASTMATH = {"reassoc", "contract", "arcp"}


def _jit(fn):
    """Compile ``fn`` lazily, cached on disk when some cache folder is writable (else compiled per process)."""
    if njit is None:
        return fn
    try:
        return njit(cache=True, nogil=True, fastmath=FASTMATH)(fn)
    except RuntimeError:  # numba found no writable cache location (read-only install, no home folder)
        return njit(cache=False, nogil=True, fastmath=FASTMATH)(fn)


@_jit
def rms_scale(v, eps):
    """Per row of ``v`` (rows, d): 1 / sqrt(sum(v^2) + d eps) (the folded RMSNorm scale; see fused_mixer.rms_scale_np)."""
    rows, d = v.shape
    out = np.empty(rows, np.float32)
    for i in range(rows):
        ss = np.float32(0.0)
        for j in range(d):
            ss += v[i, j] * v[i, j]
        out[i] = np.float32(1.0) / np.sqrt(ss + np.float32(d * eps))
    return out


@_jit
def _silu(z):
    z = max(z, np.float32(-80.0))
    return z / (np.float32(1.0) + np.exp(-z))


@_jit
def _softplus(v):
    return max(math.log1p(math.exp(min(v, 80.0))), v)


@_jit
def mixer_block(h, conv, ssm, w_in, conv_w, conv_b, dt_bias, A, D, lam, head_w, w_out, eps, head_eps,
                differential, di, cd, g, nh, p, n):
    """One pre-norm Mamba2 block over the L tokens of one decision.

    Parameters (float32, C-contiguous)
    ----------------------------------
    h : (L, d) block input; conv : (k-1, cd) carried window, time-major; ssm : (g*nh, p, n) state;
    w_in : (d, di + cd + g*nh) folded input projection; conv_w : (k, cd); conv_b, dt_bias : (cd,), (g*nh,);
    A : (g, nh) = -exp(A_log); D : (nh,); lam : (nh,) the differential λ (unused otherwise);
    head_w : (p,) folded per-head norm weight (differential) ; w_out : (di, d) output projection
    (folded with the gated norm weight when not differential).

    Returns
    -------
    out : (L, d) = h + mixer(norm(h)); new conv window (k-1, cd); new ssm (g*nh, p, n).
    """
    L, d = h.shape
    k = conv_w.shape[0]
    zxbcdt = np.dot(h, w_in)
    r = rms_scale(h, eps)
    for t in range(L):
        for j in range(zxbcdt.shape[1]):
            zxbcdt[t, j] *= r[t]
    window = np.empty((k - 1 + L, cd), np.float32)
    window[: k - 1] = conv
    window[k - 1:] = zxbcdt[:, di: di + cd]
    gate = np.empty((L, di), np.float32)
    xbc = np.empty((L, cd), np.float32)
    for t in range(L):
        for c in range(di):
            gate[t, c] = _silu(zxbcdt[t, c])
        for c in range(cd):
            acc = conv_b[c]
            for j in range(k):
                acc += window[t + j, c] * conv_w[j, c]
            xbc[t, c] = _silu(acc)
    state = ssm.copy()
    y = np.zeros((g, L, nh, p), np.float32)
    S = np.empty((p, n), np.float32)  # one head's state, private: the update and read-out loops vectorise
    for b in range(g):
        boff, coff = di + b * n, di + g * n + b * n
        for hh in range(nh):
            s = b * nh + hh
            S[:, :] = state[s]
            for t in range(L):
                dt = np.float32(_softplus(zxbcdt[t, di + cd + s] + dt_bias[s]))
                decay = np.float32(np.exp(dt * A[b, hh]))
                Bt, Ct = xbc[t, boff: boff + n], xbc[t, coff: coff + n]
                for i in range(p):
                    xi = dt * xbc[t, hh * p + i]
                    Si = S[i]
                    for m in range(n):
                        Si[m] = Si[m] * decay + xi * Bt[m]
                    acc = np.float32(0.0)
                    for m in range(n):
                        acc += Si[m] * Ct[m]
                    y[b, t, hh, i] = acc
            state[s] = S
    mixed = np.empty((L, di), np.float32)
    if differential:
        for t in range(L):
            for hh in range(nh):
                ss = np.float32(0.0)
                for i in range(p):
                    v = y[0, t, hh, i] - lam[hh] * y[1, t, hh, i]
                    y[0, t, hh, i] = v
                    ss += v * v
                sc = np.float32(1.0) / np.sqrt(ss + np.float32(p * head_eps))
                for i in range(p):
                    c = hh * p + i
                    mixed[t, c] = (y[0, t, hh, i] * head_w[i] * sc + D[hh] * xbc[t, c]) * gate[t, c]
        out = np.dot(mixed, w_out)
    else:
        for t in range(L):
            for hh in range(nh):
                for i in range(p):
                    c = hh * p + i
                    mixed[t, c] = (y[0, t, hh, i] + D[hh] * xbc[t, c]) * gate[t, c]
        out = np.dot(mixed, w_out)
        r2 = rms_scale(mixed, head_eps)
        for t in range(L):
            for j in range(d):
                out[t, j] *= r2[t]
    out += h
    return out, window[L:].copy(), state


@_jit
def encoder_step(x, input_weights, stem_b, stage_blocks, mats, vecs, ints, floats, convs, ssms, down_w, down_b,
                 factors, head_w, head_b, head_eps):
    """The whole encoder step and the heads in one call: what :meth:`FusedStep.step` computes block by block.

    x : (channels, hop) µV (finite; adaptation, if any, already applied); input_weights : (channels, d0);
    stage_blocks : (stages,) blocks per stage; per block b (in order): ``mats[4b:4b+4]`` = w_in, conv_w,
    w_out, A; ``vecs[5b:5b+5]`` = conv_b, dt_bias, D, λ, head_w; ``ints[b]`` = di, cd, g, nh, p, n,
    differential; ``floats[b]`` = eps, head_eps; ``convs``/``ssms``: the blocks' states (typed lists);
    down_w/down_b/factors: the downsamplings after each stage but the last; head_w (d_last, classes),
    head_b (classes,): all heads concatenated.

    Returns (logits (classes,), new conv states, new ssm states) as typed lists.
    """
    h = np.dot(np.ascontiguousarray(x.T), input_weights) + stem_b
    new_convs = List()
    new_ssms = List()
    b = 0
    for stage in range(stage_blocks.shape[0]):
        for _ in range(stage_blocks[stage]):
            di, cd, g, nh, p, n, diff = ints[b, 0], ints[b, 1], ints[b, 2], ints[b, 3], ints[b, 4], ints[b, 5], ints[b, 6]
            h, conv, ssm = mixer_block(h, convs[b], ssms[b], mats[4 * b], mats[4 * b + 1], vecs[5 * b],
                                       vecs[5 * b + 1], mats[4 * b + 3], vecs[5 * b + 2], vecs[5 * b + 3],
                                       vecs[5 * b + 4], mats[4 * b + 2], floats[b, 0], floats[b, 1], diff != 0,
                                       di, cd, g, nh, p, n)
            new_convs.append(conv)
            new_ssms.append(ssm)
            b += 1
        if stage < factors.shape[0]:
            f = factors[stage]
            h = np.dot(h.reshape(h.shape[0] // f, f * h.shape[1]), down_w[stage]) + down_b[stage]
    top = np.ascontiguousarray(h[0:1])
    logits = np.dot(top, head_w)[0] * rms_scale(top, head_eps)[0] + head_b
    return logits, new_convs, new_ssms
