"""Mamba2 mixer: whole-sequence, chunked and one-token paths compute one function."""

from __future__ import annotations

import math

import pytest
import torch

from samba_core.differential import PairedDifferentialMamba
from samba_core.mamba2 import Mamba2Mixer, lambda_init_for


@pytest.fixture(params=["differential", "plain", "paper-differential"])
def mixer(request):
    torch.manual_seed(0)
    if request.param == "paper-differential":
        return PairedDifferentialMamba(16, d_state=8, headdim=8, chunk_size=8).eval()
    return Mamba2Mixer(16, d_state=8, headdim=8, chunk_size=8, differential=request.param == "differential",
                       layer_index=2).eval()


def test_step_equals_forward(mixer):
    u = torch.randn(2, 21, 16)
    with torch.no_grad():
        y, final = mixer(u)
        state = mixer.init_state(2)
        steps = []
        for t in range(u.size(1)):
            y_t, state = mixer.step(u[:, t], state)
            steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), y, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(state.conv, final.conv)
    torch.testing.assert_close(state.ssm, final.ssm, rtol=1e-5, atol=1e-5)


def test_chunks_equal_whole(mixer):
    u = torch.randn(1, 40, 16)
    with torch.no_grad():
        y, _ = mixer(u)
        state, parts = None, []
        for a, b in [(0, 1), (1, 8), (8, 9), (9, 31), (31, 40)]:
            y_part, state = mixer(u[:, a:b], state)
            parts.append(y_part)
    torch.testing.assert_close(torch.cat(parts, 1), y, rtol=1e-5, atol=1e-5)


def test_mixer_is_causal(mixer):
    u = torch.randn(1, 30, 16)
    v = u.clone()
    v[:, 20:] = torch.randn(1, 10, 16) * 5
    with torch.no_grad():
        assert torch.equal(mixer(u)[0][:, :20], mixer(v)[0][:, :20])
        assert not torch.allclose(mixer(u)[0][:, 20:], mixer(v)[0][:, 20:])


def test_differential_combination_formula():
    """y_h = (1 - l_init) RMSNorm_h(S1 x - lambda_h S2 x) + D x, gated and projected."""
    torch.manual_seed(1)
    m = Mamba2Mixer(16, d_state=8, headdim=8, chunk_size=8, differential=True, layer_index=3).eval()
    assert m.lambda_init == pytest.approx(0.8 - 0.6 * math.exp(-0.9))
    assert lambda_init_for(0) == pytest.approx(0.2)
    lam = m.lambdas()
    expected = (
        torch.exp((m.lambda_q1 * m.lambda_k1).sum(-1)) - torch.exp((m.lambda_q2 * m.lambda_k2).sum(-1)) + m.lambda_init
    )
    torch.testing.assert_close(lam, expected)
    # With lambda forced to 0 the second branch must not matter; with lambda != 0 it must.
    u = torch.randn(1, 12, 16)
    with torch.no_grad():
        base = m(u)[0]
        m.A_log[m.nheads :] += 1.0  # change only branch-2 decay rates
        changed = m(u)[0]
        assert not torch.allclose(base, changed)
        m.lambda_init = 0.0
        for p in (m.lambda_q1, m.lambda_q2):
            p.zero_()  # exp(0) - exp(0) + 0 = 0
        y0 = m(u)[0]
        m.A_log[m.nheads :] -= 3.0
        torch.testing.assert_close(m(u)[0], y0)


def test_gradients_reach_all_parameters(mixer):
    mixer.train()
    y, _ = mixer(torch.randn(2, 19, 16))
    y.square().mean().backward()
    for name, p in mixer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
