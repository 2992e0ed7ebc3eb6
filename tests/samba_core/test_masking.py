"""Temporal Semantic Random Masking and its loss."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from samba_core import MaskingConfig, masked_reconstruction_loss, temporal_span_mask
from samba_core.masking import OUR_MASKING, reconstruction_loss
from samba_core.pretraining.config import CropConfig, PretrainConfig


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
    cfg = MaskingConfig(ratio=ratio, span_s=(0.25, 0.5), scheme="spans")
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
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="spectral_weight must be finite"):
            MaskingConfig(spectral_weight=bad)


def test_training_states_without_masking_fields_resume_with_our_objective():
    """A state written before a field existed used our objective, whatever the default is now."""
    for written in (MaskingConfig.ours(), MaskingConfig.paper()):
        state = PretrainConfig(crops=CropConfig(masking=written)).to_dict()
        assert PretrainConfig.from_dict(state).crops.masking == written  # round trip
        state["crops"]["masking"] = {}
        assert PretrainConfig.from_dict(state).crops.masking == MaskingConfig.ours()
        state["crops"]["masking"] = {"ratio": 0.5, "span_s": [0.5, 2.0]}  # stored fields kept, JSON lists too
        assert PretrainConfig.from_dict(state).crops.masking == MaskingConfig(**{**OUR_MASKING, "ratio": 0.5,
                                                                                "span_s": (0.5, 2.0)})
    assert MaskingConfig.ours() != MaskingConfig.paper()


@pytest.mark.parametrize("where", [(), ("crops",), ("crops", "masking")])
def test_training_state_with_unknown_field_names_it(where):
    state = PretrainConfig().to_dict()
    level = state
    for key in where:
        level = level[key]
    level["from_the_future"] = 1
    with pytest.raises(ValueError, match=r"unknown \w+Config fields \['from_the_future'\].*upgrade"):
        PretrainConfig.from_dict(state)


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


# -- the paper's TSRM and loss -------------------------------------------------------------
@pytest.mark.parametrize("length", [256, 2560, 15360])
@pytest.mark.parametrize("blocks", [1, 4, 8])
def test_paper_mask_keeps_fixed_visible_blocks_and_hides_half(length, blocks):
    cfg = MaskingConfig(ratio=0.5, scheme="visible-blocks", visible_blocks=blocks)
    mask = temporal_span_mask(3, length, 256.0, cfg, generator=torch.Generator().manual_seed(length + blocks))
    for row in mask:
        assert int(row.sum()) == round(0.5 * length)
        visible = runs(~row)
        assert len(visible) == blocks  # exactly that many contiguous visible blocks
        mean = (length - round(0.5 * length)) / blocks
        assert all(0.5 * mean - 2 <= n <= 1.5 * mean + 2 for n in visible)
        assert len(runs(row)) in (blocks - 1, blocks, blocks + 1)  # hidden gaps between and around them


def test_paper_blocks_scale_with_the_window():
    cfg = MaskingConfig.paper()
    short = temporal_span_mask(8, 512, 256.0, cfg, generator=torch.Generator().manual_seed(0))
    long = temporal_span_mask(8, 5120, 256.0, cfg, generator=torch.Generator().manual_seed(0))
    mean_block = [sum(sum(runs(~r)) for r in m) / sum(len(runs(~r)) for r in m) for m in (short, long)]
    assert mean_block[1] / mean_block[0] == pytest.approx(10.0, rel=0.02)


def test_paper_preset_and_bad_options():
    cfg = MaskingConfig.paper()
    assert (cfg.ratio, cfg.scheme, cfg.visible_blocks, cfg.loss, cfg.spectral_weight) == (
        0.5, "visible-blocks", 8, "l1-complex", 1.0)
    for bad in (dict(scheme="blocks"), dict(loss="l2"), dict(region="all"), dict(visible_blocks=0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            MaskingConfig(**bad)


def test_l1_complex_loss_of_a_constant_error():
    """A constant error of one scale unit on N samples: L1 = 1; orthonormal rFFT puts N into DC of N/2+1 bins."""
    n = 64
    target = torch.zeros(1, 1, n)
    recon = torch.full((1, 1, n), 20.0)
    hidden = torch.ones(1, n, dtype=torch.bool)
    cfg = MaskingConfig(loss="l1-complex", spectral_weight=1.0)
    assert reconstruction_loss(recon, target, hidden, None, cfg, 20.0).item() == pytest.approx(1 + n / (n // 2 + 1))
    no_spec = MaskingConfig(loss="l1-complex", spectral_weight=0.0)
    assert reconstruction_loss(recon * 3, target, hidden, None, no_spec, 20.0).item() == pytest.approx(3.0)


def test_l1_complex_loss_of_a_sine_is_its_energy():
    """Error = sine of amplitude a at an exact bin: L1 = 2a/pi; spectrum term = (a^2 N / 4) / (N/2 + 1)."""
    n, a = 256, 2.0
    t = torch.arange(n) / n
    err = a * torch.sin(2 * torch.pi * 8 * t)
    target = torch.randn(1, 2, n) * 20
    recon = target + 20.0 * err
    hidden = torch.ones(1, n, dtype=torch.bool)
    loss = reconstruction_loss(recon, target, hidden, None, MaskingConfig(loss="l1-complex", spectral_weight=1.0), 20.0)
    expected = err.abs().mean().item() + (a**2 * n / 4) / (n // 2 + 1)
    assert loss.item() == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("cfg", [MaskingConfig(), MaskingConfig.paper(), MaskingConfig(loss="l1-complex")],
                         ids=["ours", "paper", "l1-hidden"])
def test_perfect_reconstruction_costs_nothing(cfg):
    target = torch.randn(2, 3, 100) * 20
    hidden = temporal_span_mask(2, 100, 100.0, cfg, generator=torch.Generator().manual_seed(0))
    assert torch.all(reconstruction_loss(target.clone(), target, hidden, None, cfg) < 1e-6)


def test_region_window_scores_visible_errors_too():
    target = torch.zeros(1, 2, 50)
    recon = target.clone()
    recon[..., :10] = 20.0  # an error on visible samples only
    hidden = torch.zeros(1, 50, dtype=torch.bool)
    hidden[:, 25:] = True
    ours = replace(MaskingConfig.ours(), spectral_weight=0.0)
    assert reconstruction_loss(recon, target, hidden, None, ours).item() == 0
    window = replace(ours, region="window")
    assert reconstruction_loss(recon, target, hidden, None, window).item() == pytest.approx(10 / 50)
    cm = torch.tensor([[True, False]])
    recon[:, 1] = 1e3  # the dropped channel never counts
    assert reconstruction_loss(recon, target, hidden, cm, window).item() == pytest.approx(10 / 50)


def test_reconstruction_loss_is_per_crop_and_masked_loss_is_its_mean():
    target = torch.randn(3, 2, 40) * 20
    recon = target + torch.randn(3, 2, 40)
    for cfg in (MaskingConfig.ours(), MaskingConfig.paper()):
        hidden = temporal_span_mask(3, 40, 40.0, cfg, generator=torch.Generator().manual_seed(2))
        per_crop = reconstruction_loss(recon, target, hidden, config=cfg)
        assert per_crop.shape == (3,)
        for i in range(3):
            torch.testing.assert_close(
                reconstruction_loss(recon[i : i + 1], target[i : i + 1], hidden[i : i + 1], config=cfg)[0], per_crop[i])
        torch.testing.assert_close(masked_reconstruction_loss(recon, target, hidden, config=cfg), per_crop.mean())
    ours = reconstruction_loss(recon, target, hidden, config=MaskingConfig.ours()).mean()  # no config: ours
    torch.testing.assert_close(masked_reconstruction_loss(recon, target, hidden), ours)
