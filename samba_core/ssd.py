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
    """Stable segment sums: ``out[..., i, j] = sum(x[..., j+1 : i+1])`` for i >= j, else -inf.

    x: (..., T) -> (..., T, T)
    """
    t = x.size(-1)
    x = x.unsqueeze(-1).expand(*x.shape, t)
    strict = torch.ones(t, t, dtype=torch.bool, device=x.device).tril(-1)
    x = x.masked_fill(~strict, 0.0)
    sums = torch.cumsum(x, dim=-2)
    lower = torch.ones(t, t, dtype=torch.bool, device=x.device).tril(0)
    return sums.masked_fill(~lower, float("-inf"))


def _expand_groups(m: Tensor, nheads: int) -> Tensor:
    """(b, l, groups, n) -> (b, l, heads, n): heads share their group's B or C."""
    groups = m.size(2)
    return m if groups == nheads else m.repeat_interleave(nheads // groups, dim=2)


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
    n = B.size(-1)
    B = _expand_groups(B, h)
    C = _expand_groups(C, h)
    q = max(1, min(chunk_size, length))
    pad = (-length) % q
    if pad:
        # Padded steps have dt = 0: no decay and no input, so the final state is exact.
        x = F.pad(x, (0, 0, 0, 0, 0, pad))
        dt = F.pad(dt, (0, 0, 0, pad))
        B = F.pad(B, (0, 0, 0, 0, 0, pad))
        C = F.pad(C, (0, 0, 0, 0, 0, pad))
    nc = (length + pad) // q
    xs = (x * dt.unsqueeze(-1)).reshape(b, nc, q, h, p)
    a = (dt * A).reshape(b, nc, q, h).permute(0, 3, 1, 2)  # (b, h, c, q)
    Bc = B.reshape(b, nc, q, h, n)
    Cc = C.reshape(b, nc, q, h, n)
    a_cum = torch.cumsum(a, dim=-1)

    # Within-chunk (quadratic, attention-like) part.
    decay = torch.exp(_segsum(a))  # (b, h, c, q, q)
    y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", Cc, Bc, decay, xs)

    # Each chunk's own contribution to the state at its end.
    decay_to_end = torch.exp(a_cum[..., -1:] - a_cum)  # (b, h, c, q)
    chunk_states = torch.einsum("bclhn,bhcl,bclhp->bchpn", Bc, decay_to_end, xs)

    # Recurrence across chunks: a short loop keeps memory linear in length.
    state = x.new_zeros(b, h, p, n) if initial_state is None else initial_state.to(x.dtype)
    chunk_decay = torch.exp(a_cum[..., -1])  # (b, h, c)
    entering = []
    for c in range(nc):
        entering.append(state)
        state = state * chunk_decay[:, :, c, None, None] + chunk_states[:, c]
    states_in = torch.stack(entering, dim=1)  # (b, c, h, p, n)

    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", Cc, states_in, torch.exp(a_cum))
    y = (y_diag + y_off).reshape(b, nc * q, h, p)[:, :length]
    return y, state


def ssd_step_reference(state: Tensor, x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor) -> tuple[Tensor, Tensor]:
    """One recurrent SSD step.

    state: (batch, heads, headdim, d_state); x: (batch, heads, headdim); dt: (batch, heads);
    A: (heads,); B, C: (batch, groups, d_state). Returns (y: (batch, heads, headdim), new state).
    """
    h = x.size(1)
    Bh = B if B.size(1) == h else B.repeat_interleave(h // B.size(1), dim=1)
    Ch = C if C.size(1) == h else C.repeat_interleave(h // C.size(1), dim=1)
    decay = torch.exp(dt * A)[..., None, None]
    state = state * decay + (dt[..., None] * x)[..., None] * Bh[:, :, None, :]
    y = torch.einsum("bhpn,bhn->bhp", state, Ch)
    return y, state


def ssd_scan(
    x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, chunk_size: int, initial_state: Tensor | None = None,
    use_kernels: bool = True,
) -> tuple[Tensor, Tensor]:
    """SSD scan: mamba_ssm's fused kernel on CUDA when available, else the reference."""
    kernels = _mamba_kernels() if (use_kernels and x.is_cuda) else None
    if kernels is None:
        return ssd_scan_reference(x, dt, A, B, C, chunk_size, initial_state)
    chunk_scan, _ = kernels
    y, final = chunk_scan(
        x.contiguous(), dt.contiguous(), A, B.contiguous(), C.contiguous(), chunk_size,
        initial_states=initial_state, return_final_states=True,
    )
    return y, final


def ssd_step(
    state: Tensor, x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, use_kernels: bool = True
) -> tuple[Tensor, Tensor]:
    """One SSD step: mamba_ssm's ``selective_state_update`` on CUDA when available."""
    kernels = _mamba_kernels() if (use_kernels and x.is_cuda) else None
    if kernels is None:
        return ssd_step_reference(state, x, dt, A, B, C)
    _, state_update = kernels
    p, n = x.size(-1), state.size(-1)
    state = state.clone()  # the kernel updates in place; callers keep their old state
    y = state_update(
        state, x, dt.unsqueeze(-1).expand(-1, -1, p),
        A[:, None, None].expand(-1, p, n), B, C,
    )
    return y, state
