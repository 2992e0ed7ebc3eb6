"""Temporal Semantic Random Masking and its loss."""

from __future__ import annotations

import pytest
import torch

from samba_core import MaskingConfig, masked_reconstruction_loss, temporal_span_mask


def runs(row: torch.Tensor) -> list[int]:
    """Lengths of the runs of True in a 1-D bool tensor."""
    out, n = [], 0
    for v in row.tolist() + [False]:
        if v:
            n += 1
        elif n:
            out.append(n)
            n = 0
    return out


@pytest.mark.parametrize("ratio", [0.2, 0.5])
def test_mask_hides_ratio_in_contiguous_spans(ratio):
    cfg = MaskingConfig(ratio=ratio, span_s=(0.25, 0.5))
    g = torch.Generator().manual_seed(0)
    mask = temporal_span_mask(4, 2560, 256.0, cfg, generator=g)
    assert mask.shape == (4, 2560) and mask.dtype == torch.bool
    for row in mask:
        assert abs(row.float().mean().item() - ratio) <= 0.01
        lengths = runs(row)
        # Spans are contiguous and long (>= 64 samples) apart from the last, shortened one.
        assert sum(1 for n in lengths if n < 64) <= 1
        assert max(lengths) >= 64


def test_mask_is_identical_across_channels_by_construction():
    cfg = MaskingConfig()
    mask = temporal_span_mask(2, 512, 256.0, cfg, generator=torch.Generator().manual_seed(1))
    assert mask.dim() == 2  # (batch, time): one mask for all channels


def test_bad_masking_config():
    with pytest.raises(ValueError, match="ratio"):
        MaskingConfig(ratio=1.5)
    with pytest.raises(ValueError, match="span_s"):
        MaskingConfig(span_s=(1.0, 0.5))


def test_loss_counts_only_hidden_spans_and_real_channels():
    target = torch.randn(1, 3, 100) * 20
    recon = target.clone()
    time_mask = torch.zeros(1, 100, dtype=torch.bool)
    time_mask[:, 40:60] = True
    recon[:, :, :40] += 100.0  # errors outside the hidden span do not count
    assert masked_reconstruction_loss(recon, target, time_mask, spectral_weight=0.0) == 0
    recon[:, 2, 45] += 20.0  # an error inside the span on a masked-out channel does not count either
    cm = torch.tensor([True, True, False])
    assert masked_reconstruction_loss(recon, target, time_mask, cm, spectral_weight=0.0) == 0
    recon[:, 1, 45] += 20.0
    loss = masked_reconstruction_loss(recon, target, time_mask, cm, scale_uv=20.0, spectral_weight=0.0)
    assert loss.item() == pytest.approx(1.0 / 40.0)  # one unit error over 2 channels x 20 hidden samples


def test_spectral_term_adds_penalty_for_wrong_spectrum():
    t = torch.arange(256) / 256.0
    target = torch.sin(2 * torch.pi * 10 * t).repeat(1, 2, 1) * 20
    shifted = torch.sin(2 * torch.pi * 30 * t).repeat(1, 2, 1) * 20
    mask = torch.ones(1, 256, dtype=torch.bool)
    time_only = masked_reconstruction_loss(shifted, target, mask, spectral_weight=0.0)
    both = masked_reconstruction_loss(shifted, target, mask, spectral_weight=1.0)
    assert both > time_only
