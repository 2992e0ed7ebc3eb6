"""Input adaptation ("recentre"): offline == streamed for any chunking, in torch, ONNX and the fused step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.models import random_montage, small_config
from samba_core import Samba, SambaConfig, StreamingSession
from samba_core.adaptation import FLOOR_UV, Recentre, RecentreConstants, recentre_offline
from samba_core.model import with_adaptation

# A short time constant and warm-up so that a test stream crosses the warm-up and forgets.
CFG = small_config(adaptation="recentre", adaptation_tau_s=0.5, adaptation_warmup_s=0.1, sample_rate=64.0)
N_CHANNELS, N_SAMPLES = 6, 190


def subject_eeg(seed: int = 0, n: int = N_SAMPLES) -> np.ndarray:
    """EEG with per-electrode offsets and scales (what re-centring removes), one NaN run, one flat electrode."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_CHANNELS, n)) * rng.uniform(3, 60, (N_CHANNELS, 1)) + rng.uniform(-40, 40, (N_CHANNELS, 1))
    x[2, 40:55] = np.nan
    x[4] = 0.0
    return x.astype(np.float32)


def chunk_sizes(total: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    sizes, left = [], total
    while left:
        sizes.append(int(min(left, rng.integers(1, 3 * CFG.hop))))
        left -= sizes[-1]
    return sizes


@pytest.mark.parametrize("sizes", [[N_SAMPLES], [1] * N_SAMPLES, [CFG.hop] * (N_SAMPLES // CFG.hop) + [N_SAMPLES % CFG.hop],
                                   chunk_sizes(N_SAMPLES, 1), chunk_sizes(N_SAMPLES, 2)])
def test_torch_stream_equals_numpy_reference(sizes):
    x = subject_eeg()
    reference = recentre_offline(x, CFG)
    module, state, parts, pos = Recentre(CFG), None, [], 0
    clean = torch.from_numpy(np.nan_to_num(x, nan=0.0))[None]
    for n in sizes:
        y, state = module(clean[..., pos : pos + n], state)
        parts.append(y[0].numpy())
        pos += n
    streamed = np.concatenate(parts, axis=1)
    np.testing.assert_allclose(streamed, reference, rtol=1e-4, atol=1e-4)
    assert state.pending.shape[-1] < CFG.hop and state.mean.shape == (1, N_CHANNELS)  # bounded


def test_identity_during_warm_up_then_standardised():
    x = subject_eeg(3, n=4000)
    y = recentre_offline(x, CFG)
    k = RecentreConstants.from_config(CFG)
    warm = int(np.ceil(CFG.adaptation_warmup_s * CFG.sample_rate / k.hop)) * k.hop
    np.testing.assert_array_equal(y[:, :warm], np.nan_to_num(x[:, :warm], nan=0.0))
    assert not np.allclose(y[:, warm : warm + k.hop], x[:, warm : warm + k.hop])
    late = y[[0, 1, 3, 5], 2000:]  # long after warm-up: zero mean, RMS = input_scale_uv (floor negligible)
    np.testing.assert_allclose(late.mean(axis=1), 0.0, atol=0.2 * CFG.input_scale_uv)
    np.testing.assert_allclose(late.std(axis=1), CFG.input_scale_uv, rtol=0.25)
    assert np.all(y[4] == 0.0)  # a flat electrode stays finite (the floor bounds the gain)
    assert np.isfinite(y).all() and CFG.input_scale_uv / FLOOR_UV < 1e3


def test_scale_and_offset_of_a_subject_are_removed():
    """Two 'subjects' that differ by per-electrode gain and offset give the same adapted input after warm-up."""
    x = subject_eeg(5, n=3000)
    x[2] = np.nan_to_num(x[2])
    gain, offset = np.linspace(0.3, 3.0, N_CHANNELS)[:, None], np.linspace(-50, 50, N_CHANNELS)[:, None]
    a, b = recentre_offline(x, CFG), recentre_offline((x * gain + offset).astype(np.float32), CFG)
    np.testing.assert_allclose(a[[0, 1, 3, 5], 1500:], b[[0, 1, 3, 5], 1500:], rtol=2e-2, atol=0.05 * CFG.input_scale_uv)  # up to the floor


def stream_logits(session: StreamingSession, x: np.ndarray, sizes: list[int], mask_at: int | None = None, mask=None):
    out, pos = [], 0
    for n in sizes:
        if mask_at is not None and pos >= mask_at:
            session.set_channel_mask(mask)
            mask_at = None
        out.append(session.push(x[:, pos : pos + n]).logits)
        pos += n
    return {k: np.concatenate([o[k] for o in out]) for k in out[0]}


@pytest.mark.parametrize("backend", ["torch", "onnx", "fused"])
def test_stream_equals_offline_forward(backend):
    torch.manual_seed(0)
    model = Samba(CFG).eval()
    coords, x = random_montage(N_CHANNELS), subject_eeg()
    with torch.no_grad():
        off = model(torch.from_numpy(x)[None], torch.from_numpy(coords), decoder=False).logits
    session = StreamingSession(model, coords, backend=backend)
    assert session.backend == backend
    streamed = stream_logits(session, x, chunk_sizes(N_SAMPLES, 4))
    for name, v in off.items():
        np.testing.assert_allclose(streamed[name], v[0].numpy(), atol=1e-4, rtol=1e-4)
    session.reset()  # the adaptation restarts with the model state
    again = stream_logits(session, x, [N_SAMPLES])
    for name in off:
        np.testing.assert_allclose(again[name], streamed[name], atol=1e-5, rtol=1e-5)


def test_adaptation_changes_the_decisions_and_none_is_the_old_model():
    torch.manual_seed(0)
    model = Samba(CFG).eval()
    plain = with_adaptation(model, "none")
    coords, x = torch.from_numpy(random_montage(N_CHANNELS)), torch.from_numpy(subject_eeg())[None]
    with torch.no_grad():
        on, off = model(x, coords, decoder=False).logits["mi"], plain(x, coords, decoder=False).logits["mi"]
        adapted_input = torch.from_numpy(recentre_offline(x[0].numpy(), CFG))[None]
        via_input = plain(adapted_input, coords, decoder=False).logits["mi"]
    assert plain.adaptation is None and not torch.allclose(on, off)
    torch.testing.assert_close(on, via_input, atol=1e-4, rtol=1e-4)  # the offline map is what the model applies


@pytest.mark.parametrize("backend", ["onnx", "fused"])
def test_channel_mask_change_mid_stream_matches_torch(backend):
    torch.manual_seed(1)
    model = Samba(CFG).eval()
    coords, x = random_montage(N_CHANNELS), subject_eeg(2)
    mask = np.ones(N_CHANNELS, bool)
    mask[2] = False
    sizes = [CFG.hop] * (N_SAMPLES // CFG.hop)
    ref = stream_logits(StreamingSession(model, coords, backend="torch"), x, sizes, mask_at=96, mask=mask)
    got = stream_logits(StreamingSession(model, coords, backend=backend), x, sizes, mask_at=96, mask=mask)
    for name in ref:
        np.testing.assert_allclose(got[name], ref[name], atol=1e-4, rtol=1e-4)


def test_config_round_trip_and_old_checkpoints_load_without_adaptation():
    assert SambaConfig.from_dict(CFG.to_dict()) == CFG
    old = small_config().to_dict()
    for key in ("adaptation", "adaptation_tau_s", "adaptation_warmup_s"):
        old.pop(key)
    assert SambaConfig.from_dict(old).adaptation == "none"
    with pytest.raises(ValueError, match="adaptation"):
        small_config(adaptation="euclidean")
    with pytest.raises(ValueError, match="adaptation_tau_s"):
        small_config(adaptation="recentre", adaptation_tau_s=0.0)


def test_channel_count_change_is_refused_with_a_fix():
    module = Recentre(CFG)
    _, state = module(torch.zeros(1, 4, 10), None)
    with pytest.raises(ValueError, match="reset the stream"):
        module(torch.zeros(1, 5, 10), state)


def test_bench_features_with_the_offline_map_equal_the_adapting_model():
    """bench/adaptation_effect.py re-centres with the offline map and batches padded runs; that must equal
    a model that adapts inside its forward pass, run by run."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from adaptation_effect import trial_features

    from samba_core.recordings import Marker

    torch.manual_seed(2)
    plain = Samba(small_config(sample_rate=64.0)).eval()
    adapting = with_adaptation(plain, "recentre", adaptation_tau_s=0.5, adaptation_warmup_s=0.1)
    coords = random_montage(N_CHANNELS)
    markers = [Marker.at(round(t * 64), 64.0, d) for t, d in ((0.2, "T1"), (1.0, "T2"), (1.5, "T0"))]
    runs = [(np.nan_to_num(subject_eeg(seed, n)), coords, markers) for seed, n in ((0, 400), (1, 331))]
    fs = 64.0
    X, y = trial_features(with_adaptation(plain, "none", adaptation_tau_s=0.5, adaptation_warmup_s=0.1), runs, fs, True)
    ref = [trial_features(adapting, [run], fs, False) for run in runs]
    np.testing.assert_allclose(X, np.concatenate([r[0] for r in ref]), atol=1e-4, rtol=1e-4)
    assert y.tolist() == [0, 1, 0, 1]
    X_off, _ = trial_features(plain, runs, fs, False)
    assert not np.allclose(X_off, X)


def test_dynamic_channel_onnx_graph_sizes_the_adaptation_state_at_the_first_step(tmp_path):
    from samba_core.onnx_export import OnnxStepRunner, export_step_onnx

    torch.manual_seed(3)
    model = Samba(CFG).eval()
    runner = OnnxStepRunner(export_step_onnx(model, tmp_path / "step.onnx", n_channels=3, dynamic_channels=True))
    coords, x = random_montage(N_CHANNELS), np.nan_to_num(subject_eeg(4))
    ref = stream_logits(StreamingSession(model, coords, backend="torch"), x, [CFG.hop] * (N_SAMPLES // CFG.hop))
    with torch.no_grad():
        runner.set_spatial_weights(model.spatial_weights(torch.from_numpy(coords)).numpy())
    got = np.stack([runner.step(x[:, j * CFG.hop : (j + 1) * CFG.hop])["mi"] for j in range(N_SAMPLES // CFG.hop)])
    np.testing.assert_allclose(got, ref["mi"], atol=1e-4, rtol=1e-4)
    assert runner.states["adapt_mean"].shape == (1, N_CHANNELS)
