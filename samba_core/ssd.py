"""State-space duality (SSD) scan of Mamba2: reference implementation and fast-kernel dispatch.

The recurrence, per head ``h`` and time step ``t`` (Mamba2, Dao & Gu 2024)::

    S_t = exp(dt_t * A_h) * S_{t-1} + dt_t * x_t B_t^T      S: (headdim, d_state)
    y_t = S_t C_t

``ssd_scan`` evaluates it for a whole sequence with the chunked parallel algorithm
(quadratic inside a chunk, recurrent across chunks: memory linear in sequence
length), starting from an optional carried state and returning the final state, so
a long stream can be cut anywhere. ``ssd_step`` advances a single token. On CUDA,
when ``mamba_ssm`` imports, both dispatch to its Triton kernels; the plain-PyTorch
code below is the reference they are tested against.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor


@functools.cache
def _mamba_kernels():
    """The mamba_ssm Triton kernels, or None when mamba_ssm is not installed."""
    try:
        from mamba_ssm.ops.triton.selective_state_update import selective_state_update
        from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined
    except Exception:  # ImportError, or a broken CUDA extension
        return None
    return mamba_chunk_scan_combined, selective_state_update


def kernels_available() -> bool:
    """True when the mamba_ssm Triton kernels can be used (they need a CUDA device)."""
    return torch.cuda.is_available() and _mamba_kernels() is not None


def _segsum(x: Tensor) -> Tensor:
    """Segment sums ``out[..., i, j] = sum(x[..., j+1 : i+1])`` for i >= j, else -inf.

    x: (..., T) -> (..., T, T). Taken as differences of one cumulative sum, as the fused
    kernels do: within a chunk (tens of steps) the cancellation error stays far below
    float32 tolerance, and it costs three operations instead of a (T, T) cumulative sum.
    """
    t = x.size(-1)
    cum = torch.cumsum(x, dim=-1)
    lower = torch.ones(t, t, dtype=torch.bool, device=x.device).tril(0)
    return (cum.unsqueeze(-1) - cum.unsqueeze(-2)).masked_fill(~lower, float("-inf"))


def ssd_scan_reference(
    x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, chunk_size: int, initial_state: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Chunked SSD scan in plain PyTorch.

    Parameters
    ----------
    x : (batch, length, heads, headdim)
    dt : (batch, length, heads), positive step sizes (softplus already applied)
    A : (heads,), negative decay rates
    B, C : (batch, length, groups, d_state); heads are split evenly among groups
    chunk_size : int
    initial_state : (batch, heads, headdim, d_state) or None for zeros

    Returns
    -------
    y : (batch, length, heads, headdim)
    final_state : (batch, heads, headdim, d_state)
    """
    b, length, h, p = x.shape
    g, n = B.size(2), B.size(3)
    if length == 1:  # one token: the recurrence itself is the cheapest exact form
        state = x.new_zeros(b, h, p, n) if initial_state is None else initial_state.to(x.dtype)
        y, state = ssd_step_reference(state, x[:, 0], dt[:, 0], A, B[:, 0], C[:, 0])
        return y.unsqueeze(1), state
    q = max(1, min(chunk_size, length))
    pad = (-length) % q
    if pad:
        # Padded steps have dt = 0: no decay and no input, so the final state is exact.
        x = F.pad(x, (0, 0, 0, 0, 0, pad))
        dt = F.pad(dt, (0, 0, 0, pad))
        B = F.pad(B, (0, 0, 0, 0, 0, pad))
        C = F.pad(C, (0, 0, 0, 0, 0, pad))
    nc = (length + pad) // q
    hg = h // g
    # Layout (batch, group, head-in-group, chunk, step-in-chunk, features): heads of a group
    # broadcast over its B and C, and every product below is a batched matmul.
    xs = (x * dt.unsqueeze(-1)).reshape(b, nc, q, g, hg, p).permute(0, 3, 4, 1, 2, 5)
    Bc = B.reshape(b, nc, q, g, 1, n).permute(0, 3, 4, 1, 2, 5)
    Cc = C.reshape(b, nc, q, g, 1, n).permute(0, 3, 4, 1, 2, 5)
    a = (dt * A).reshape(b, nc, q, g, hg).permute(0, 3, 4, 1, 2)  # (b, g, hg, c, q)
    a_cum = torch.cumsum(a, dim=-1)

    # Within-chunk (quadratic, attention-like) part: y = (C B^T * decay) X.
    decay = torch.exp(_segsum(a))  # (b, g, hg, c, q, q)
    y = (Cc @ Bc.transpose(-1, -2) * decay) @ xs  # (b, g, hg, c, q, p)

    # Each chunk's own contribution to the state at its end: (b, g, hg, c, p, n).
    decay_to_end = torch.exp(a_cum[..., -1:] - a_cum).unsqueeze(-1)
    chunk_states = xs.transpose(-1, -2) @ (Bc * decay_to_end)

    # Recurrence across chunks: a short loop keeps memory linear in length.
    state = x.new_zeros(b, h, p, n) if initial_state is None else initial_state.to(x.dtype)
    state = state.reshape(b, g, hg, p, n)
    chunk_decay = torch.exp(a_cum[..., -1])  # (b, g, hg, c)
    if nc == 1:  # the common streaming case: no loop, fewer graph nodes when exported
        states_in = state.unsqueeze(3)
        state = state * chunk_decay[..., 0, None, None] + chunk_states[:, :, :, 0]
    else:
        entering = []
        for c in range(nc):
            entering.append(state)
            state = state * chunk_decay[..., c, None, None] + chunk_states[:, :, :, c]
        states_in = torch.stack(entering, dim=3)  # (b, g, hg, c, p, n)

    # Contribution of the state entering each chunk: y += (C S^T) * exp(cumulative decay).
    y = y + (Cc @ states_in.transpose(-1, -2)) * torch.exp(a_cum).unsqueeze(-1)
    y = y.permute(0, 3, 4, 1, 2, 5).reshape(b, nc * q, h, p)[:, :length]
    state = state.reshape(b, h, p, n)
    return y, state


def ssd_step_reference(state: Tensor, x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor) -> tuple[Tensor, Tensor]:
    """One recurrent SSD step.

    state: (batch, heads, headdim, d_state); x: (batch, heads, headdim); dt: (batch, heads);
    A: (heads,); B, C: (batch, groups, d_state). Returns (y: (batch, heads, headdim), new state).
    """
    b, h, p = x.shape
    g, n = B.size(1), B.size(2)
    # Heads of a group share its B and C: view heads as (group, head-in-group) and broadcast.
    xg = (dt[..., None] * x).reshape(b, g, h // g, p, 1)
    decay = torch.exp(dt * A).reshape(b, g, h // g, 1, 1)
    state = state.reshape(b, g, h // g, p, n) * decay + xg * B.reshape(b, g, 1, 1, n)
    y = (state @ C.reshape(b, g, 1, n, 1)).reshape(b, h, p)
    state = state.reshape(b, h, p, n)
    return y, state


def ssd_scan(
    x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, chunk_size: int, initial_state: Tensor | None = None,
    use_kernels: bool = True,
) -> tuple[Tensor, Tensor]:
    """SSD scan: mamba_ssm's fused kernel on CUDA when available, else the reference."""
    kernels = _mamba_kernels() if (use_kernels and x.is_cuda) else None
    if kernels is None:
        return ssd_scan_reference(x, dt, A, B, C, chunk_size, initial_state)
    return _kernel_scan(kernels[0], x, dt, A, B, C, chunk_size, initial_state)


@torch.compiler.disable
def _kernel_scan(chunk_scan, x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, chunk_size: int,
                 initial_state: Tensor | None) -> tuple[Tensor, Tensor]:
    """mamba_ssm's chunked scan; left out of ``torch.compile`` (its Triton kernels are already fused)."""
    # CUDA caps launch-grid dimensions at 65,535 and the kernels put batch x chunks and
    # chunks x groups there: scan very long inputs piece by piece, carrying the state (exact).
    max_chunks = 65_535 // max(x.size(0), B.size(2))
    piece = max(1, max_chunks) * chunk_size
    ys, state = [], initial_state
    for start in range(0, x.size(1), piece):
        sl = slice(start, start + piece)
        y, state = chunk_scan(
            x[:, sl].contiguous(), dt[:, sl].contiguous(), A, B[:, sl].contiguous(), C[:, sl].contiguous(),
            chunk_size, initial_states=state, return_final_states=True,
        )
        ys.append(y)
    return (ys[0] if len(ys) == 1 else torch.cat(ys, dim=1)), state


def ssd_step(
    state: Tensor, x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, use_kernels: bool = True
) -> tuple[Tensor, Tensor]:
    """One SSD step: mamba_ssm's ``selective_state_update`` on CUDA when available."""
    kernels = _mamba_kernels() if (use_kernels and x.is_cuda) else None
    if kernels is None:
        return ssd_step_reference(state, x, dt, A, B, C)
    _, state_update = kernels
    h, p, n = x.size(1), x.size(-1), state.size(-1)
    state = state.clone()  # the kernel updates in place; callers keep their old state
    # The kernel's tied-heads fast path reads strides of D and dt_bias: pass explicit zeros.
    zeros = x.new_zeros(()).expand(h, p)
    y = state_update(
        state, x, dt.unsqueeze(-1).expand(-1, -1, p),
        A[:, None, None].expand(-1, p, n), B, C, D=zeros, dt_bias=zeros,
    )
    return y, state
