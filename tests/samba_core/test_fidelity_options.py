"""The paper's options (SAIE, its differential form and placement, a bidirectional pretraining decoder)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

from helpers.models import random_montage, small_config
from samba_core import Samba, SambaConfig, StreamingSession
from samba_core.config import OUR_OPTIONS, PAPER_OPTIONS
from samba_core.fused_step import UnsupportedModelError, check_supported
from samba_core.differential import PairedDifferentialMamba
from samba_core.saie import VirtualSiteEmbedding

#: Every causal option beside the default, as SambaConfig overrides.
CAUSAL_OPTIONS = {
    "saie": dict(spatial="virtual-sites"),
    "paper-diff-bottleneck": dict(differential_form="paper", differential_stages=("bottleneck",)),
    "paper-diff-everywhere": dict(differential_form="paper"),
    "ours-diff-bottleneck": dict(differential_stages=("bottleneck",)),
    "saie+paper-diff": dict(spatial="virtual-sites", differential_form="paper", differential_stages=("bottleneck",)),
}


def _model(**overrides) -> Samba:
    torch.manual_seed(0)
    return Samba(small_config(**overrides)).eval()


def _offline(model, x, coords, mask=None, decoder=False):
    with torch.no_grad():
        m = None if mask is None else torch.from_numpy(mask)
        return model(torch.from_numpy(x)[None], torch.from_numpy(coords), m, decoder=decoder)


def _stream_logits(session, x, sizes):
    parts, pos = [], 0
    for n in sizes:
        parts.append(session.push(x[:, pos : pos + n]).logits)
        pos += n
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@pytest.mark.parametrize("name", list(CAUSAL_OPTIONS))
def test_torch_stream_equals_offline_with_reconstruction(name):
    model = _model(**CAUSAL_OPTIONS[name])
    coords = random_montage(10, seed=3)
    x = (np.random.default_rng(4).normal(size=(10, 90)) * 20).astype(np.float32)
    ref = _offline(model, x, coords, decoder=True)
    session = StreamingSession(model, coords, backend="torch", decoder=True)
    parts, recon, pos = [], [], 0
    for n in (1, 5, 13, 6, 30, 35):
        out = session.push(x[:, pos : pos + n])
        parts.append(out.logits)
        recon.append(out.reconstruction)
        pos += n
    for head, ref_logits in ref.logits.items():
        np.testing.assert_allclose(np.concatenate([p[head] for p in parts]), ref_logits[0].numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.concatenate(recon, axis=1), ref.reconstruction[0].numpy(), atol=1e-4, rtol=0)


@pytest.mark.parametrize("backend", ["onnx", None])
@pytest.mark.parametrize("name", list(CAUSAL_OPTIONS))
def test_stream_equals_offline_with_masked_channel(name, backend):
    """ONNX, and the app's default backend: the fused step where it implements the option (SAIE), else
    the ONNX step it falls back to, with a warning."""
    model = _model(**CAUSAL_OPTIONS[name])
    coords = random_montage(9, seed=5)
    mask = np.ones(9, dtype=bool)
    mask[4] = False
    x = (np.random.default_rng(6).normal(size=(9, 96)) * 20).astype(np.float32)
    ref = _offline(model, x, coords, mask)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = StreamingSession(model, coords, mask=mask, **({} if backend is None else {"backend": backend}))
    if backend is None:
        fused = CAUSAL_OPTIONS[name] == dict(spatial="virtual-sites")
        assert session.backend == ("fused" if fused else "onnx")
        assert any("onnx" in str(w.message).lower() for w in caught) == (not fused)
    logits = _stream_logits(session, x, (7, 11, 30, 48))
    for head, ref_logits in ref.logits.items():
        np.testing.assert_allclose(logits[head], ref_logits[0].numpy(), atol=2e-4, rtol=0)


def test_paired_differential_lambda_starts_at_one_per_channel():
    mixer = PairedDifferentialMamba(24, headdim=8)
    assert mixer.lambdas.shape == (3, 8)
    assert torch.all(mixer.lambdas == 1.0)
    assert len(mixer.layers) == 6  # a pair of independent Mamba2 layers per head
    u = torch.randn(1, 10, 24)
    with torch.no_grad():
        base = mixer(u)[0]
        mixer.layers[1].A_log += 1.0  # change only head 0's second layer
        assert not torch.allclose(base, mixer(u)[0])
        mixer.lambdas[0].zero_()  # lambda 0: the second layer no longer matters
        y0 = mixer(u)[0]
        mixer.layers[1].A_log -= 3.0
        torch.testing.assert_close(mixer(u)[0], y0)


@pytest.mark.parametrize("expand", [1, 2])
def test_paired_differential_fast_path_equals_the_layer_by_layer_reference(expand):
    torch.manual_seed(2)
    fast = PairedDifferentialMamba(24, d_state=8, headdim=8, expand=expand, chunk_size=8)
    with torch.no_grad():
        for p in fast.parameters():  # make every stacked weight matter, lambda and the norm included
            p.add_(torch.randn_like(p) * 0.1)
    ref = copy.deepcopy(fast)
    ref.fused = False
    u = torch.randn(2, 19, 24)
    y, state = fast(u[:, :11])
    y2, state = fast(u[:, 11:], state)
    y_ref, state_ref = ref(u[:, :11])
    y2_ref, state_ref = ref(u[:, 11:], state_ref)
    torch.testing.assert_close(torch.cat([y, y2], 1), torch.cat([y_ref, y2_ref], 1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(state.conv, state_ref.conv)
    torch.testing.assert_close(state.ssm, state_ref.ssm, atol=1e-5, rtol=1e-5)
    step, step_ref = fast.step(u[:, 0], state), ref.step(u[:, 0], state_ref)
    torch.testing.assert_close(step[0], step_ref[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(step[1].ssm, step_ref[1].ssm, atol=1e-5, rtol=1e-5)
    (y.square().mean() + y2.sum()).backward()
    (y_ref.square().mean() + y2_ref.sum()).backward()
    for (name, p), q in zip(fast.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_differential_stages_pick_the_blocks():
    model = _model(differential_form="paper", differential_stages=("bottleneck",))
    kinds = [type(b.mixer).__name__ for stage in model.encoder for b in stage]
    assert kinds == ["Mamba2Mixer", "Mamba2Mixer", "PairedDifferentialMamba"]
    assert not any(b.mixer.differential for stage in model.decoder for b in stage)
    ours = _model(differential_stages=("encoder", "decoder"))
    assert [b.mixer.differential for stage in ours.encoder for b in stage] == [True, True, False]
    off = _model(differential=False)
    assert not any(b.mixer.differential for stage in off.encoder for b in stage)


@pytest.mark.parametrize("bad", [dict(spatial="cdse2"), dict(differential_form="exp"), dict(decoder_direction="both"),
                                 dict(differential_stages=("middle",)), dict(differential_form="paper", dims=(16, 20, 32))])
def test_bad_options_are_refused_with_the_field_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad)) if "dims" not in bad else "headdim"):
        small_config(**bad)


def test_config_round_trip_and_old_dicts_get_our_options():
    cfg = small_config(**PAPER_OPTIONS)
    assert SambaConfig.from_dict(cfg.to_dict()) == cfg
    for written in (small_config(**PAPER_OPTIONS), small_config(**OUR_OPTIONS)):
        old = written.to_dict()  # a file from before the options: whatever the defaults are now, it was ours
        for key in ("spatial", "virtual_sites", "saie_hidden", "differential_stages", "differential_form",
                    "decoder_direction"):
            old.pop(key)
        loaded = SambaConfig.from_dict(old)
        assert {k: getattr(loaded, k) for k in OUR_OPTIONS} == OUR_OPTIONS
        assert (loaded.virtual_sites, loaded.saie_hidden) == (SambaConfig.virtual_sites, SambaConfig.saie_hidden)
    one_missing = small_config(**PAPER_OPTIONS).to_dict()
    one_missing.pop("decoder_direction")  # only the missing field falls back; the stored ones are kept
    loaded = SambaConfig.from_dict(one_missing)
    assert (loaded.decoder_direction, loaded.spatial, loaded.differential_form) == ("causal", "virtual-sites", "paper")


@pytest.mark.parametrize("options", [OUR_OPTIONS, dict(OUR_OPTIONS, decoder_direction="bidirectional"),
                                     dict(OUR_OPTIONS, spatial="virtual-sites")])
def test_the_fused_step_runs_our_network_and_saie_whatever_the_defaults(options):
    """It implements either spatial embedding and our differential form; the pretraining decoder is never stepped."""
    check_supported(Samba(small_config(**options)))


@pytest.mark.parametrize("option, value", [("differential_form", "paper"), ("differential_stages", ("bottleneck",))])
def test_the_fused_step_refuses_the_papers_network_by_name(option, value):
    with pytest.raises(UnsupportedModelError, match=f"{option}=.*backend='onnx' \\(samba-live --backend onnx") as refused:
        check_supported(Samba(small_config(**{option: value})))
    parts = str(refused.value).split(": use")[0].split("; ")
    assert len(parts) == len(set(parts))  # each problem named once


# -- SAIE -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saie() -> VirtualSiteEmbedding:
    torch.manual_seed(0)
    return VirtualSiteEmbedding("standard_1020", hidden=16, head_radius_m=0.095)


def test_saie_weights_are_an_interpolation(saie):
    coords = torch.from_numpy(random_montage(7))
    w = saie.weights(coords)
    assert w.shape == (7, saie.width) and saie.width == len(saie.map_names) > 20
    assert torch.all(w >= 0)
    torch.testing.assert_close(w.sum(0), torch.ones(saie.width))


def test_saie_permutation_invariance(saie):
    coords = torch.from_numpy(random_montage(8, seed=2))
    x = torch.randn(2, 8, 30)
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(3))
    w, wp = saie.weights(coords), saie.weights(coords[perm])
    torch.testing.assert_close(wp, w[perm])
    torch.testing.assert_close(torch.einsum("bct,co->bto", x[:, perm], wp), torch.einsum("bct,co->bto", x, w))


@pytest.mark.parametrize("dropped", [[0], [2, 5], [1, 3, 4, 6, 7]])
def test_saie_masked_channels_drop_out_of_the_softmax(saie, dropped):
    coords = torch.from_numpy(random_montage(8, seed=4))
    keep = [i for i in range(8) if i not in dropped]
    mask = torch.ones(8, dtype=torch.bool)
    mask[dropped] = False
    nan_coords = coords.clone()
    nan_coords[dropped] = float("nan")
    w = saie.weights(nan_coords, mask)
    assert torch.all(w[dropped] == 0)
    torch.testing.assert_close(w[keep], saie.weights(coords[keep]))


def test_saie_all_masked_is_a_clear_error(saie):
    with pytest.raises(ValueError, match="every channel is masked out: SAIE"):
        saie.weights(torch.from_numpy(random_montage(4)), torch.zeros(4, dtype=torch.bool))


def test_saie_sites_travel_with_the_weights():
    model = _model(spatial="virtual-sites")
    assert "spatial.sites" in model.state_dict()
    assert model.spatial.kind == "virtual-sites" and "Cz" in model.spatial.map_names


# -- the bidirectional pretraining decoder ------------------------------------------------------
def test_bidirectional_decoder_in_fills_from_the_future():
    model = _model(decoder_direction="bidirectional")
    coords = random_montage(6)
    x = (np.random.default_rng(0).normal(size=(6, 72)) * 20).astype(np.float32)
    y = x.copy()
    y[:, 60:] += 50.0
    a = _offline(model, x, coords, decoder=True)
    b = _offline(model, y, coords, decoder=True)
    assert not torch.allclose(a.reconstruction[..., :12], b.reconstruction[..., :12])  # looks ahead
    for head in a.logits:  # decisions stay causal: tokens before the change are untouched
        tokens = 60 // model.config.hop
        torch.testing.assert_close(a.logits[head][:, :tokens], b.logits[head][:, :tokens])


def test_bidirectional_decoder_refuses_to_stream_but_decisions_stream():
    model = _model(decoder_direction="bidirectional")
    coords = random_montage(6)
    with pytest.raises(ValueError, match="bidirectional.*cannot stream"):
        StreamingSession(model, coords, backend="torch", decoder=True)
    x = (np.random.default_rng(1).normal(size=(6, 60)) * 20).astype(np.float32)
    ref = _offline(model, x, coords)
    for backend in ("torch", "onnx"):
        logits = _stream_logits(StreamingSession(model, coords, backend=backend), x, (13, 47))
        for head in ref.logits:
            np.testing.assert_allclose(logits[head], ref.logits[head][0].numpy(), atol=2e-4, rtol=0)
    with torch.no_grad():
        out = model(torch.from_numpy(x)[None], torch.from_numpy(coords), decoder=False)
        with pytest.raises(ValueError, match="cannot stream"):
            model(torch.from_numpy(x)[None], torch.from_numpy(coords), state=out.state, decoder=True)


# -- samba-pretrain flags ---------------------------------------------------------------------
def test_pretrain_flags_pick_the_paper_options(tmp_path):
    from samba_core.masking import MaskingConfig
    from samba_core.pretraining.cli import _masking, _model_config, _parser

    base = ["train", "--corpus", str(tmp_path), "--out", str(tmp_path / "run")]
    args = _parser().parse_args(base)
    assert _masking(args) == MaskingConfig() and _model_config(args) == SambaConfig()
    args = _parser().parse_args(base + ["--paper-objective", "--mask-ratio", "0.3", "--spatial", "virtual-sites",
                                        "--differential-form", "paper", "--differential-stages", "bottleneck",
                                        "--decoder-direction", "bidirectional"])
    assert _masking(args) == MaskingConfig(**{**MaskingConfig.paper().__dict__, "ratio": 0.3})
    cfg = _model_config(args)
    assert (cfg.spatial, cfg.differential_form, cfg.differential_stages, cfg.decoder_direction) == (
        "virtual-sites", "paper", ("bottleneck",), "bidirectional")
    nowhere = _model_config(_parser().parse_args(base + ["--differential-stages"]))
    assert nowhere.differential_stages == () and not nowhere.is_differential(2, decoder=False)
