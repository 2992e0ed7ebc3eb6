"""Causal down/upsampling between U-Net stages."""

from __future__ import annotations

import torch

from samba_core.token_rate import Downsample, Upsample


def test_downsample_emits_complete_groups_and_carries_the_rest():
    torch.manual_seed(0)
    down = Downsample(4, 3, 5)
    h = torch.randn(1, 11, 3)
    whole, left = down(h)
    assert whole.shape == (1, 2, 5) and left.shape == (1, 3, 3)
    a, left_a = down(h[:, :6])
    b, left_b = down(h[:, 6:], left_a)
    torch.testing.assert_close(torch.cat([a, b], 1), whole)
    torch.testing.assert_close(left_b, left)


def test_upsample_uses_only_completed_coarse_tokens():
    torch.manual_seed(0)
    r = 3
    up = Upsample(r, 4, 2)
    coarse = torch.randn(1, 4, 4)  # completed at fine t = 2, 5, 8, 11
    fine, _ = up(coarse, 12)
    changed = coarse.clone()
    changed[:, 2] += 10.0  # coarse token 2 exists from fine t = 8 on
    fine2, _ = up(changed, 12)
    same = (fine - fine2).abs().amax(-1)[0] == 0
    assert same[:8].all() and not same[8:11].any()


def test_upsample_chunked_equals_whole():
    torch.manual_seed(0)
    r = 4
    up = Upsample(r, 4, 2)
    coarse = torch.randn(1, 5, 4)
    whole, _ = up(coarse, 22)
    state, parts, done = None, [], 0
    for n in (1, 2, 5, 3, 11):
        k = (done + n) // r - done // r
        c0 = done // r
        part, state = up(coarse[:, c0 : c0 + k], n, state)
        parts.append(part)
        done += n
    torch.testing.assert_close(torch.cat(parts, 1), whole)
