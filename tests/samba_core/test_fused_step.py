"""The fused decoding step against the torch step (the reference): every head, every state, every size."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from helpers.models import random_montage, small_config
from samba_core import Samba, SambaConfig, StreamingSession
from samba_core import fused_kernels
from samba_core.config import OUR_OPTIONS
from samba_core.fused_step import FusedStep, FusedStepRunner, UnsupportedModelError, check_supported, reference_mismatch
from samba_core.mamba2 import Mamba2Mixer
from samba_core.onnx_export import EncoderStep

CONFIGS = {
    "differential": small_config(),
    "plain-mamba2": small_config(differential=False),
    "conv-kernel-2": small_config(d_conv=2),
    "two-blocks-per-stage": small_config(encoder_depths=(2, 1, 2)),
    "one-stage": small_config(dims=(16,), encoder_depths=(2,), decoder_depths=(), factors=()),
    "three-heads": small_config(heads=(("mi", ("l", "r", "feet")), ("x", ("a", "b")), ("y", ("c", "d")))),
    "saie": small_config(spatial="virtual-sites"),  # the paper's spatial embedding: other weights, same step
    "saie-bidirectional-decoder": small_config(spatial="virtual-sites", decoder_direction="bidirectional"),
}


#: The fused step's two paths: numpy calls (the reference fast path) and compiled kernels (numba).
PATHS = [pytest.param(False, id="numpy"),
         pytest.param(True, id="compiled",
                      marks=pytest.mark.skipif(not fused_kernels.available(), reason="numba is not installed"))]


def compare_steps(model: Samba, channels: int, tokens: int, mask: np.ndarray | None = None, seed: int = 0,
                  compiled: bool = False) -> None:
    """Run the torch step and the fused step side by side; every logit and state within 1e-4."""
    coords = torch.from_numpy(random_montage(channels, seed))
    w = model.spatial_weights(coords, None if mask is None else torch.from_numpy(mask)).detach()
    reference, fused = EncoderStep(model), FusedStep(model, compiled=compiled)
    ref_states, states = reference.initial_states(), fused.initial_states()
    input_weights = fused.input_weights(w.numpy())
    rng = np.random.default_rng(seed)
    n = len(fused.head_names)
    for _ in range(tokens):
        x = (rng.normal(size=(channels, model.config.hop)) * 20).astype(np.float32)
        if mask is not None:
            x[~mask] = 0.0  # the runner cleans NaN before the step; masked rows have zero weight
        with torch.no_grad():
            out = reference(torch.from_numpy(x)[None], w, *ref_states)
        ref_states = list(out[n:])
        logits, states = fused.step(x, input_weights, states)
        for name, sl in fused.head_slices.items():
            np.testing.assert_allclose(logits[sl], out[fused.head_names.index(name)][0].numpy(), atol=1e-4, rtol=0)
        for got, want in zip(fused.torch_layout(states), ref_states, strict=True):
            assert got.shape == tuple(want.shape)
            np.testing.assert_allclose(got, want.numpy(), atol=1e-4, rtol=0)


@pytest.mark.parametrize("compiled", PATHS)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_fused_step_matches_torch_step_for_every_head_and_state(name, compiled):
    torch.manual_seed(0)
    compare_steps(Samba(CONFIGS[name]).eval(), channels=9, tokens=5, compiled=compiled)


@pytest.mark.parametrize("compiled", PATHS)
@pytest.mark.parametrize("channels", [4, 64, 256])
def test_fused_step_matches_for_channel_counts(channels, compiled):
    torch.manual_seed(1)
    compare_steps(Samba(small_config()).eval(), channels=channels, tokens=3, seed=channels, compiled=compiled)


@pytest.mark.parametrize("compiled", PATHS)
@pytest.mark.parametrize("spatial", ["cdse", "virtual-sites"])
def test_fused_step_matches_full_size_config_64_channels(spatial, compiled):
    torch.manual_seed(0)
    compare_steps(Samba(SambaConfig(**{**OUR_OPTIONS, "spatial": spatial})).eval(), channels=64, tokens=4,
                  compiled=compiled)


@pytest.mark.parametrize("compiled", PATHS)
@pytest.mark.parametrize("spatial", ["cdse", "virtual-sites"])
def test_fused_step_matches_with_masked_channels(spatial, compiled):
    torch.manual_seed(2)
    mask = np.ones(12, bool)
    mask[[0, 5, 11]] = False
    compare_steps(Samba(small_config(spatial=spatial)).eval(), channels=12, tokens=4, mask=mask, compiled=compiled)


@pytest.mark.skipif(not fused_kernels.available(), reason="numba is not installed")
def test_compiled_and_numpy_paths_agree_over_a_long_stream():
    """Many tokens: the recurrence (compiled) and the chunked scan (numpy) must not drift apart."""
    torch.manual_seed(3)
    model = Samba(SambaConfig(**OUR_OPTIONS)).eval()
    w = model.spatial_weights(torch.from_numpy(random_montage(32, 3))).detach().numpy()
    a, b = FusedStep(model, compiled=False), FusedStep(model, compiled=True)
    iw, sa, sb = a.input_weights(w), a.initial_states(32), b.initial_states(32)
    rng = np.random.default_rng(3)
    for _ in range(200):
        x = (rng.normal(size=(32, model.config.hop)) * 30).astype(np.float32)
        la, sa = a.step(x, iw, sa)
        lb, sb = b.step(x, iw, sb)
    np.testing.assert_allclose(lb, la, atol=1e-4, rtol=0)
    for got, want in zip(sb, sa, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


@pytest.mark.skipif(not fused_kernels.available(), reason="numba is not installed")
def test_kernels_compile_without_a_writable_cache(monkeypatch):
    """A read-only install: numba refuses to cache; the kernels are then compiled per process."""
    import numba

    real = numba.njit

    def refusing(*args, **kwargs):
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return real(*args, **kwargs)

    monkeypatch.setattr(fused_kernels, "njit", refusing)
    rms = fused_kernels._jit(fused_kernels.rms_scale.py_func)
    v = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(rms(v, 0.0), 1 / np.sqrt((v * v).sum(axis=1)), rtol=1e-6)
    assert not rms._cache.__class__.__name__.endswith("FunctionCache")  # compiled, not cached


@pytest.mark.parametrize("compiled", PATHS)
@pytest.mark.parametrize("name", ["differential", "one-stage", "three-heads"])
def test_runner_carries_packed_states_like_the_list_interface(name, compiled):
    """The runner keeps its states packed between calls; they must equal the list interface's."""
    torch.manual_seed(4)
    model = Samba(CONFIGS[name]).eval()
    w = model.spatial_weights(torch.from_numpy(random_montage(7, 4))).detach().numpy()
    runner, fused = FusedStepRunner(model, compiled=compiled), FusedStep(model, compiled=compiled)
    runner.set_spatial_weights(w)
    assert runner.states is None
    states, iw = fused.initial_states(7), fused.input_weights(w)
    rng = np.random.default_rng(4)
    for _ in range(4):
        x = (rng.normal(size=(7, model.config.hop)) * 20).astype(np.float32)
        got = runner.step(x)
        logits, states = fused.step(x, iw, states)
        for head, sl in fused.head_slices.items():
            np.testing.assert_allclose(got[head], logits[sl], atol=1e-6, rtol=0)
    for a, b in zip(runner.states, states, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)


def test_compiled_path_without_numba_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(fused_kernels, "njit", None)
    with pytest.raises(RuntimeError, match="pip install numba"):
        FusedStep(Samba(small_config()).eval(), compiled=True)
    assert FusedStep(Samba(small_config()).eval()).compiled is False  # the default degrades to numpy


def test_runner_reads_nan_as_zero_and_reset_restarts():
    torch.manual_seed(0)
    model = Samba(small_config()).eval()
    w = model.spatial_weights(torch.from_numpy(random_montage(6))).detach().numpy()
    runner = FusedStepRunner(model)
    runner.set_spatial_weights(w)
    x = (np.random.default_rng(0).normal(size=(6, model.config.hop)) * 20).astype(np.float32)
    first = runner.step(x)
    runner.step(x)
    runner.reset()
    np.testing.assert_array_equal(runner.step(x)["mi"], first["mi"])
    dirty = x.copy()
    dirty[2, 3] = np.nan
    dirty[4, 0] = np.inf
    clean = x.copy()
    clean[2, 3] = clean[4, 0] = 0.0
    runner.reset()
    a = runner.step(dirty)
    runner.reset()
    np.testing.assert_array_equal(a["mi"], runner.step(clean)["mi"])


class OtherMixer(Mamba2Mixer):
    """Stands in for a mixer variant the fused step has not learnt."""


def test_unknown_module_is_refused_and_the_session_falls_back_to_onnx():
    torch.manual_seed(0)
    model = Samba(small_config()).eval()
    model.encoder[1][0].mixer.__class__ = OtherMixer
    with pytest.raises(UnsupportedModelError, match="OtherMixer.*backend='onnx'"):
        check_supported(model)
    with pytest.warns(RuntimeWarning, match="falling back to the ONNX step"):
        session = StreamingSession(model, random_montage(5), backend="fused")
    assert session.backend == "onnx"
    assert session.push(np.zeros((5, 2 * model.config.hop), np.float32)).n_tokens == 2


@dataclasses.dataclass(frozen=True)
class FutureConfig(SambaConfig):
    """A config with an option the fused step does not know (e.g. a new spatial embedding)."""

    future_option: int = 0


def test_unknown_config_option_is_refused_only_when_it_changes_the_model():
    torch.manual_seed(0)
    base = small_config().to_dict()
    base["heads"] = small_config().heads
    base = {k: tuple(v) if isinstance(v, list) else v for k, v in base.items()}
    check_supported(Samba(FutureConfig(**base)))  # default value: nothing changes
    with pytest.raises(UnsupportedModelError, match="future_option=32"):
        check_supported(Samba(FutureConfig(**base, future_option=32)))


@pytest.mark.parametrize("option", [{"differential_form": "paper"}, {"differential_stages": ("bottleneck",)},
                                    {"spatial": "virtual-sites", "differential_form": "paper"}])
def test_paper_options_fall_back_to_the_onnx_step(option):
    torch.manual_seed(0)
    model = Samba(small_config(**option)).eval()
    with pytest.raises(UnsupportedModelError):
        check_supported(model)
    with pytest.warns(RuntimeWarning):
        assert StreamingSession(model, random_montage(6), backend="fused").backend == "onnx"


def test_start_up_check_catches_a_wrong_fused_step(monkeypatch):
    torch.manual_seed(0)
    model = Samba(small_config()).eval()
    w = model.spatial_weights(torch.from_numpy(random_montage(5))).detach().numpy()
    runner = FusedStepRunner(model)
    assert reference_mismatch(model, runner, w) <= 1e-4
    runner.fused.head_b = runner.fused.head_b + 0.5
    assert reference_mismatch(model, runner, w) >= 0.5
    monkeypatch.setattr("samba_core.streaming.reference_mismatch", lambda *a: 0.5)
    with pytest.warns(RuntimeWarning, match="differs from the torch step"):
        assert StreamingSession(model, random_montage(5), backend="fused").backend == "onnx"


def test_fused_softplus_and_silu_match_torch_over_the_float32_range():
    from samba_core.fused_mixer import _silu, _softplus

    v = np.concatenate([np.linspace(-120, 120, 2001), [-1e30, 1e30, 0.0]]).astype(np.float32)
    t = torch.from_numpy(v)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no warnings in the live loop
        softplus, silu = _softplus(v), _silu(v)
    np.testing.assert_allclose(softplus, torch.nn.functional.softplus(t).numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(silu, torch.nn.functional.silu(t).numpy(), rtol=1e-5, atol=1e-6)
    if fused_kernels.available():  # the compiled kernels' scalar forms
        np.testing.assert_allclose([fused_kernels._softplus(np.float32(u)) for u in v], softplus, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose([fused_kernels._silu(np.float32(u)) for u in v], silu, rtol=1e-5, atol=1e-6)
