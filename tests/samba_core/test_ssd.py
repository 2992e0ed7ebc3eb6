"""The chunked SSD scan and the one-token step against a plain sequential recurrence."""

from __future__ import annotations

import pytest
import torch

from samba_core.ssd import ssd_scan_reference, ssd_step_reference


def sequential_scan(x, dt, A, B, C, state):
    """The SSM recurrence written out token by token in float64: the definition itself."""
    b, length, h, p = x.shape
    B = B.repeat_interleave(h // B.size(2), dim=2)
    C = C.repeat_interleave(h // C.size(2), dim=2)
    ys = []
    for t in range(length):
        decay = torch.exp(dt[:, t] * A)[..., None, None]
        state = state * decay + (dt[:, t, :, None] * x[:, t])[..., None] * B[:, t, :, None, :]
        ys.append(torch.einsum("bhpn,bhn->bhp", state, C[:, t]))
    return torch.stack(ys, 1), state


def random_inputs(length, heads=4, groups=2, p=3, n=5, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, length, heads, p, generator=g, dtype=torch.float64)
    dt = torch.rand(batch, length, heads, generator=g, dtype=torch.float64) * 0.5 + 0.01
    A = -torch.rand(heads, generator=g, dtype=torch.float64) * 2 - 0.1
    B = torch.randn(batch, length, groups, n, generator=g, dtype=torch.float64)
    C = torch.randn(batch, length, groups, n, generator=g, dtype=torch.float64)
    s0 = torch.randn(batch, heads, p, n, generator=g, dtype=torch.float64)
    return x, dt, A, B, C, s0


@pytest.mark.parametrize("length,chunk", [(1, 8), (7, 8), (8, 8), (29, 8), (64, 16), (33, 64)])
@pytest.mark.parametrize("with_state", [False, True])
def test_chunked_scan_equals_recurrence(length, chunk, with_state):
    x, dt, A, B, C, s0 = random_inputs(length)
    init = s0 if with_state else None
    y, final = ssd_scan_reference(x, dt, A, B, C, chunk, init)
    y_ref, final_ref = sequential_scan(x, dt, A, B, C, s0 if with_state else torch.zeros_like(s0))
    torch.testing.assert_close(y, y_ref, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(final, final_ref, rtol=1e-9, atol=1e-9)


def test_scan_split_anywhere_equals_whole():
    x, dt, A, B, C, _ = random_inputs(50)
    y, final = ssd_scan_reference(x, dt, A, B, C, 16)
    y1, s1 = ssd_scan_reference(x[:, :13], dt[:, :13], A, B[:, :13], C[:, :13], 16)
    y2, s2 = ssd_scan_reference(x[:, 13:], dt[:, 13:], A, B[:, 13:], C[:, 13:], 16, s1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y)
    torch.testing.assert_close(s2, final)


def test_step_equals_scan():
    x, dt, A, B, C, s0 = random_inputs(6)
    y, final = ssd_scan_reference(x, dt, A, B, C, 4, s0)
    state = s0
    for t in range(6):
        y_t, state = ssd_step_reference(state, x[:, t], dt[:, t], A, B[:, t], C[:, t])
        torch.testing.assert_close(y_t, y[:, t])
    torch.testing.assert_close(state, final)


def test_scan_gradients_flow_to_every_input():
    x, dt, A, B, C, s0 = (t.clone().requires_grad_() for t in random_inputs(20))
    y, final = ssd_scan_reference(x, dt, A, B, C, 8, s0)
    (y.square().sum() + final.sum()).backward()
    for t in (x, dt, A, B, C, s0):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0
