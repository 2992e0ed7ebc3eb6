"""OnlinePreprocessor: streaming == offline, filters, units, NaN, CAR, latency, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from samba_core.preprocessing import (
    OnlinePreprocessor,
    PreprocessConfig,
    detect_unit,
    parse_unit,
    preprocess_offline,
)
from real_eeg import eegmmidb_run
from samba_core.quality import ChannelQuality, ChannelQualityMonitor


def _eeg_like(rng, n_channels, rate, seconds, offset_uv=20_000.0):
    """Pink-ish noise (~20 µV) plus a per-channel electrode DC offset, in µV."""
    white = rng.standard_normal((n_channels, int(rate * seconds)))
    brown = np.cumsum(white, axis=1) * 0.3
    brown -= np.linspace(brown[:, :1], brown[:, -1:], brown.shape[1], axis=1)[..., 0]
    return 10 * white + brown + offset_uv * rng.uniform(-1, 1, (n_channels, 1))


def _push(pre: OnlinePreprocessor, x: np.ndarray, sizes) -> np.ndarray:
    out, i = [], 0
    for n in sizes:
        out.append(pre.process(x[:, i : i + n]))
        i += n
    out += [pre.process(x[:, i:]), pre.flush()]
    return np.concatenate(out, axis=1)


def _chunkings(rng, total, rate):
    sizes = []
    while sum(sizes) < total:
        sizes.append(int(rng.integers(0, 3 * rate // 10)))
    return {"one": [1] * total, "seven": [7] * (total // 7), "second": [int(rate)] * 3,
            "random": sizes}


def _amplitude(y, rate, freq):
    t = np.arange(len(y)) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    return float(np.hypot(*coef))


def _state_bytes(obj, seen=None) -> int:
    """Total size of the numpy arrays reachable from an object's attributes."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, (list, tuple)):
        return sum(_state_bytes(v, seen) for v in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return sum(_state_bytes(v, seen) for v in vars(obj).values())
    return 0


# ---------------------------------------------------------------------- streaming parity
@pytest.mark.parametrize("rate", [125, 160, 250, 256, 500, 1000, 2048])
def test_chunked_equals_offline_for_any_chunking(rate):
    rng = np.random.default_rng(rate)
    x = _eeg_like(rng, 4, rate, 3.0) * 1e-6  # volts, unit auto-detected
    offline = preprocess_offline(x, rate, PreprocessConfig())
    assert offline.dtype == np.float32
    assert offline.shape == (4, -(-x.shape[1] * 256 // rate))
    scale = np.abs(offline).max()
    for name, sizes in _chunkings(rng, x.shape[1], rate).items():
        chunked = _push(OnlinePreprocessor(PreprocessConfig(), rate, 4), x, sizes)
        assert chunked.shape == offline.shape, name
        assert np.abs(chunked - offline).max() <= 1e-6 * scale, name


def test_explicit_unit_streams_without_holding_back():
    x = _eeg_like(np.random.default_rng(0), 2, 1000, 1.0)
    pre = OnlinePreprocessor(PreprocessConfig(), 1000, 2, unit="uV")
    assert pre.process(x[:, :100]).shape == (2, 26)  # ceil(100 * 32 / 125)
    assert pre.n_samples_in == 100 and pre.n_samples_out == 26


# ---------------------------------------------------------------------- filter response
def _sines(rate, seconds, *freqs_amps):
    t = np.arange(int(rate * seconds)) / rate
    return sum(a * np.sin(2 * np.pi * f * t) for f, a in freqs_amps)[None]


def test_alpha_band_sine_passes_with_unit_gain_and_dc_is_removed():
    cfg = PreprocessConfig(common_average=False, input_unit="uV")
    y = preprocess_offline(_sines(1000, 8, (10.0, 50.0)) + 30_000.0, 1000, cfg)[0]
    settled = y[4 * 256 :]
    assert abs(_amplitude(settled, 256, 10.0) / 50.0 - 1.0) < 0.02
    assert abs(settled.mean()) < 0.5


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_notch_attenuates_mains_by_more_than_30_db(mains):
    cfg = PreprocessConfig(bandpass=None, notch=mains, common_average=False, input_unit="uV")
    y = preprocess_offline(_sines(500, 8, (mains, 100.0), (10.0, 10.0)), 500, cfg)[0]
    settled = y[4 * 256 :]
    assert 20 * np.log10(_amplitude(settled, 256, mains) / 100.0) < -30
    assert abs(_amplitude(settled, 256, 10.0) / 10.0 - 1.0) < 0.02


def test_default_chain_removes_mains_and_high_frequencies():
    cfg = PreprocessConfig(common_average=False, input_unit="uV")
    x = _sines(1000, 8, (50.0, 100.0), (100.0, 100.0), (200.0, 100.0))
    y = preprocess_offline(x, 1000, cfg)[0][4 * 256 :]
    assert np.abs(y).max() < 100.0 * 10 ** (-30 / 20)


# ---------------------------------------------------------------------- units
@pytest.mark.parametrize(
    "text, unit",
    [("microvolts", "uV"), ("µV", "uV"), ("μV", "uV"), ("uV", "uV"), ("volts", "V"), ("V", "V"),
     ("mV", "mV"), ("millivolts", "mV"), ("", None), ("unknown", None), (None, None)],
)
def test_unit_names_from_stream_metadata(text, unit):
    assert parse_unit(text) == unit


def test_unknown_unit_name_is_an_error_unless_lenient():
    with pytest.raises(ValueError, match="unknown signal unit"):
        parse_unit("counts")
    assert parse_unit("counts", strict=False) is None


def test_unit_detection_tells_volts_from_microvolts():
    x_uv = _eeg_like(np.random.default_rng(4), 8, 250, 1.0)
    assert detect_unit(x_uv) == "uV"
    assert detect_unit(x_uv * 1e-6) == "V"
    assert detect_unit(np.zeros((8, 250))) is None


def test_auto_unit_gives_microvolts_and_explicit_unit_wins():
    x_uv = _eeg_like(np.random.default_rng(5), 4, 160, 3.0)
    from_uv = preprocess_offline(x_uv, 160, PreprocessConfig())
    from_v = preprocess_offline(x_uv * 1e-6, 160, PreprocessConfig())
    np.testing.assert_allclose(from_v, from_uv, atol=1e-4 * np.abs(from_uv).max())
    pre = OnlinePreprocessor(PreprocessConfig(input_unit="V"), 160, 4, unit="microvolts")
    assert pre.unit == "uV"
    np.testing.assert_array_equal(np.concatenate([pre.process(x_uv), pre.flush()], 1), from_uv)
    from_mv = preprocess_offline(x_uv * 1e-3, 160, PreprocessConfig(input_unit="mV"))
    np.testing.assert_allclose(from_mv, from_uv, atol=1e-4 * np.abs(from_uv).max())


def test_auto_unit_holds_back_only_the_first_second():
    x = _eeg_like(np.random.default_rng(6), 2, 500, 2.0) * 1e-6
    pre = OnlinePreprocessor(PreprocessConfig(), 500, 2)
    assert pre.process(x[:, :499]).shape == (2, 0) and pre.unit is None
    assert pre.process(x[:, 499:500]).shape == (2, 256)
    assert pre.unit == "V"
    assert pre.process(x[:, 500:1000]).shape == (2, 256)


def test_silent_stream_defaults_to_microvolts_with_a_warning():
    pre = OnlinePreprocessor(PreprocessConfig(), 256, 2)
    assert pre.process(np.zeros((2, 256))).shape == (2, 0)
    with pytest.warns(RuntimeWarning, match="assuming microvolts"):
        out = pre.flush()
    assert out.shape == (2, 256) and pre.unit == "uV"


# ---------------------------------------------------------------------- NaN handling
def test_nan_does_not_poison_state_and_is_flagged():
    rate = 250
    rng = np.random.default_rng(7)
    clean = _eeg_like(rng, 4, rate, 12.0)
    dirty = clean.copy()
    dirty[1, 500:560] = np.nan
    dirty[2, 700] = np.inf
    cfg = PreprocessConfig(common_average=False, input_unit="uV")
    monitor = ChannelQualityMonitor(4, rate)
    pre = OnlinePreprocessor(cfg, rate, 4, monitor=monitor)
    out = pre.process(dirty[:, :600])
    assert monitor.status()[1] is ChannelQuality.NAN
    out = np.concatenate([out, pre.process(dirty[:, 600:])], axis=1)
    reference = preprocess_offline(clean, rate, cfg)
    assert np.isfinite(out).all()
    assert pre.nonfinite_counts.tolist() == [0, 60, 1, 0]
    # Untouched channels are identical; hit channels recover once the filters settle.
    np.testing.assert_array_equal(out[[0, 3]], reference[[0, 3]])
    late = slice(10 * 256, None)
    assert np.abs(out[1:3, late] - reference[1:3, late]).max() < 0.05 * np.abs(reference).max()
    assert monitor.status()[1] is ChannelQuality.GOOD  # the NaN left the window


# ---------------------------------------------------------------------- reference & mask
def test_common_average_excludes_bad_channels_and_zeroes_them():
    rate = 256
    x = _eeg_like(np.random.default_rng(8), 5, rate, 3.0)
    x[0] *= 50.0  # a wildly noisy channel must not leak into the others' reference
    good = np.array([False, True, True, True, True])
    no_car = preprocess_offline(x, rate, PreprocessConfig(common_average=False, input_unit="uV"))
    car = preprocess_offline(x, rate, PreprocessConfig(input_unit="uV"), channel_mask=good)
    expected = no_car[good] - no_car[good].mean(axis=0)
    np.testing.assert_allclose(car[good], expected, atol=1e-3)
    assert np.all(car[0] == 0.0)
    np.testing.assert_allclose(car[good].sum(axis=0), 0.0, atol=1e-3)


def test_channel_mask_change_applies_from_the_next_chunk():
    x = _eeg_like(np.random.default_rng(9), 3, 256, 2.0)
    pre = OnlinePreprocessor(PreprocessConfig(input_unit="uV"), 256, 3)
    first = pre.process(x[:, :256])
    pre.set_channel_mask(np.array([True, True, False]))
    second = pre.process(x[:, 256:])
    assert np.any(first[2] != 0) and np.all(second[2] == 0)
    np.testing.assert_allclose(second[0], -second[1], atol=1e-4)
    with pytest.raises(ValueError, match="bool array of shape"):
        pre.set_channel_mask(np.ones(4, dtype=bool))


# ---------------------------------------------------------------------- state, latency
def test_state_is_bounded_and_reset_starts_afresh():
    rate = 1000
    rng = np.random.default_rng(10)
    x = _eeg_like(rng, 8, rate, 2.0)
    pre = OnlinePreprocessor(PreprocessConfig(input_unit="uV"), rate, 8)
    pre.process(x[:, :500])
    size = _state_bytes(pre)
    for _ in range(30):
        pre.process(_eeg_like(rng, 8, rate, 1.0))
    assert _state_bytes(pre) == size
    pre.reset()
    assert pre.n_samples_in == pre.n_samples_out == 0
    fresh = OnlinePreprocessor(PreprocessConfig(input_unit="uV"), rate, 8)
    np.testing.assert_array_equal(pre.process(x), fresh.process(x))


def test_latency_mapping_and_group_delay():
    pre = OnlinePreprocessor(PreprocessConfig(input_unit="uV"), 160, 2)
    out = pre.process(np.zeros((2, 5)))
    assert out.shape[1] == 8
    assert pre.input_index_for_output(7) == 4  # newest input behind the 8th output
    np.testing.assert_array_equal(pre.input_index_for_output(np.arange(8)),
                                  [0, 0, 1, 1, 2, 3, 3, 4])
    assert pre.output_index_for_input(4) == 7
    fir_only = pre._resampler.group_delay_s
    assert 0 < fir_only < pre.group_delay_s(10.0) < 0.2


# ---------------------------------------------------------------------- config & errors
def test_config_round_trips_through_json():
    cfg = PreprocessConfig(target_rate=128.0, bandpass=(1.0, 40.0), notch=60.0, input_unit="µV")
    assert cfg.input_unit == "uV" and PreprocessConfig(input_unit="unknown").input_unit == "auto"
    again = PreprocessConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and isinstance(again.bandpass, tuple)
    assert PreprocessConfig.from_dict(PreprocessConfig(bandpass=None).to_dict()).bandpass is None
    with pytest.raises(ValueError, match="unknown PreprocessConfig keys"):
        PreprocessConfig.from_dict({"target_rate": 256.0, "highpass": 1.0})


@pytest.mark.parametrize(
    "kwargs, message",
    [({"target_rate": 0}, "target_rate"), ({"bandpass": (40.0, 1.0)}, "0 < low < high"),
     ({"bandpass": (0.0, 40.0)}, "0 < low < high"), ({"filter_order": 0}, "filter_order"),
     ({"notch": -50.0}, "notch"), ({"input_unit": "furlongs"}, "unknown signal unit"),
     ({"anti_alias_db": 10.0}, "anti_alias_db")],
)
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PreprocessConfig(**kwargs)


def test_bad_arguments_and_chunks_are_rejected():
    cfg = PreprocessConfig()
    with pytest.raises(ValueError, match="input_rate"):
        OnlinePreprocessor(cfg, 0, 4)
    with pytest.raises(ValueError, match="input_rate"):
        OnlinePreprocessor(cfg, -250.0, 4)
    with pytest.raises(ValueError, match="band-pass upper edge 90 Hz"):
        OnlinePreprocessor(PreprocessConfig(bandpass=(0.5, 90.0)), 160, 4)
    with pytest.raises(ValueError, match="target rate"):
        OnlinePreprocessor(PreprocessConfig(target_rate=80.0), 1000, 4)
    with pytest.raises(ValueError, match="notch=None"):
        OnlinePreprocessor(PreprocessConfig(bandpass=None, notch=60.0), 100, 4)
    with pytest.raises(ValueError, match="monitor"):
        OnlinePreprocessor(cfg, 250, 4, monitor=ChannelQualityMonitor(4, 500))
    pre = OnlinePreprocessor(cfg, 250, 4)
    with pytest.raises(ValueError, match="2-D"):
        pre.process(np.zeros(250))
    with pytest.raises(ValueError, match="3 channels"):
        pre.process(np.zeros((3, 250)))
    with pytest.raises(ValueError, match="transpose"):
        pre.process(np.zeros((250, 4)))


# ---------------------------------------------------------------------- real EEG
def test_real_eegmmidb_recording_streams_like_offline(shared_data):
    data, rate = eegmmidb_run(shared_data, 4, 30)  # volts, as MNE returns it
    offline = preprocess_offline(data, rate, PreprocessConfig())
    assert rate == 160 and offline.shape == (64, 30 * 256)
    monitor = ChannelQualityMonitor(64, rate)
    pre = OnlinePreprocessor(PreprocessConfig(), rate, 64, monitor=monitor)
    sizes = _chunkings(np.random.default_rng(11), data.shape[1], int(rate))["random"]
    chunked = _push(pre, data, sizes)
    assert pre.unit == "V"
    assert np.abs(chunked - offline).max() <= 1e-6 * np.abs(offline).max()
    std = offline[:, 5 * 256 :].std(axis=1)
    assert 2.0 < np.median(std) < 100.0  # µV, plausible scalp EEG after 0.5-45 Hz
    assert monitor.good_mask().sum() >= 60
