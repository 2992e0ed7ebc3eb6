"""PolyphaseResampler: exact streaming, correct rates and spectra, causality, bounded state."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from samba_core.resampling import PolyphaseResampler, rational_ratio

RATES = [125, 128, 160, 250, 256, 500, 512, 1000, 1024, 2048]


def _push(resampler: PolyphaseResampler, x: np.ndarray, sizes) -> np.ndarray:
    out, i = [], 0
    for n in sizes:
        out.append(resampler.process(x[:, i : i + n]))
        i += n
    out.append(resampler.process(x[:, i:]))
    return np.concatenate(out, axis=1)


def _random_sizes(rng, total, high):
    sizes = []
    while sum(sizes) < total:
        sizes.append(int(rng.integers(0, high)))
    return sizes


def _sine_amplitude(y: np.ndarray, rate: float, freq: float) -> float:
    """Least-squares amplitude of a `freq` Hz sinusoid in the 1-D signal y."""
    t = np.arange(len(y)) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    return float(np.hypot(*coef))


@pytest.mark.parametrize("rate", RATES)
def test_ratio_is_exact_for_usual_eeg_rates(rate):
    up, down = rational_ratio(rate, 256)
    assert rate * up / down == 256.0
    assert PolyphaseResampler(rate, 256, 1).output_rate == 256.0


@pytest.mark.parametrize("rate", RATES)
def test_chunked_equals_whole_and_length_is_ceil(rate):
    rng = np.random.default_rng(rate)
    x = rng.standard_normal((3, int(rate * 1.5) + 3)) * 30 + 100
    whole = PolyphaseResampler(rate, 256, 3).process(x)
    up, down = rational_ratio(rate, 256)
    assert whole.shape == (3, -(-x.shape[1] * up // down))
    for sizes in ([1] * x.shape[1], [7] * (x.shape[1] // 7), [rate] * 2,
                  _random_sizes(rng, x.shape[1], 60)):
        chunked = _push(PolyphaseResampler(rate, 256, 3), x, sizes)
        np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-9 * np.abs(x).max())


@pytest.mark.parametrize("rate", [1000, 160, 125, 512])
def test_matches_upfirdn_reference(rate):
    """The streaming polyphase sum equals scipy's upfirdn with the same taps, the signal
    being extended to the left by its first sample (the resampler's edge start)."""
    r = PolyphaseResampler(rate, 256, 2)
    x = np.random.default_rng(1).standard_normal((2, 3 * rate)) + 5.0
    y = r.process(x)
    pad = r.down * -(-(r.taps_per_phase - 1) // r.down)  # multiple of `down`, >= history
    padded = np.concatenate([np.repeat(x[:, :1], pad, axis=1), x], axis=1)
    reference = signal.upfirdn(r.taps * r.up, padded, r.up, r.down, axis=1)
    offset = pad * r.up // r.down
    np.testing.assert_allclose(y, reference[:, offset : offset + y.shape[1]], atol=1e-12)


def test_equal_rates_pass_through():
    r = PolyphaseResampler(256, 256, 2)
    x = np.random.default_rng(2).standard_normal((2, 100))
    np.testing.assert_array_equal(r.process(x), x)
    assert r.group_delay_s == 0.0 and r.input_index_for_output(41) == 41


def test_downsampled_sine_keeps_frequency_amplitude_and_reported_delay():
    rate, freq = 1000, 10.0
    t = np.arange(4 * rate) / rate
    r = PolyphaseResampler(rate, 256, 1)
    y = r.process(np.sin(2 * np.pi * freq * t)[None])[0]
    assert len(y) == 4 * 256
    spectrum = np.abs(np.fft.rfft(y[256:] * np.hanning(len(y) - 256)))
    freqs = np.fft.rfftfreq(len(y) - 256, 1 / 256)
    assert abs(freqs[spectrum.argmax()] - freq) < 0.5
    t_out = np.arange(len(y)) / 256 - r.group_delay_s
    expected = np.sin(2 * np.pi * freq * t_out)
    np.testing.assert_allclose(y[64:], expected[64:], atol=2e-3)


@pytest.mark.parametrize("passband", [None, 45.0])
def test_component_above_new_nyquist_is_not_aliased(passband):
    rate = 1000
    r = PolyphaseResampler(rate, 256, 1, passband_hz=passband)
    stop = 2 * 128 - (passband or 0.8 * 128)
    freq = stop + 20.0  # above the stop-band edge; would alias to 256 - freq
    t = np.arange(4 * rate) / rate
    y = r.process(np.sin(2 * np.pi * freq * t)[None])[0][128:]
    alias = _sine_amplitude(y, 256, 256 - freq)
    assert 20 * np.log10(alias) < -55


def test_upsampled_sine_has_no_image():
    rate, freq = 160, 10.0
    t = np.arange(5 * rate) / rate
    r = PolyphaseResampler(rate, 256, 1, passband_hz=45.0)
    y = r.process(np.sin(2 * np.pi * freq * t)[None])[0][128:]
    assert abs(_sine_amplitude(y, 256, freq) - 1.0) < 1e-2
    # The image at 160 - 10 = 150 Hz folds to 106 Hz at 256 Hz.
    assert 20 * np.log10(_sine_amplitude(y, 256, 106.0)) < -55


@pytest.mark.parametrize("rate", [1000, 160])
def test_output_depends_only_on_inputs_up_to_reported_index(rate):
    r = PolyphaseResampler(rate, 256, 1)
    n_in = 3 * rate
    impulse_at = 2 * rate + 3
    x = np.zeros((1, n_in))
    x[0, impulse_at] = 1.0
    y = r.process(x)[0]
    k = np.arange(len(y))
    newest = r.input_index_for_output(k)
    assert np.all(y[newest < impulse_at] == 0.0)
    first = r.output_index_for_input(impulse_at)
    assert r.input_index_for_output(first) >= impulse_at > r.input_index_for_output(first - 1)
    assert y[first] != 0.0


def test_state_is_bounded_and_reset_restarts():
    r = PolyphaseResampler(1000, 256, 4)
    rng = np.random.default_rng(3)
    r.process(rng.standard_normal((4, 500)))
    history_size = r._history.size
    for _ in range(20):
        r.process(rng.standard_normal((4, 1000)))
    assert r._history.size == history_size == 4 * (r.taps_per_phase - 1)
    r.reset()
    assert r.n_samples_in == r.n_samples_out == 0
    np.testing.assert_array_equal(r.process(np.zeros((4, 10))), np.zeros((4, 3)))


@pytest.mark.parametrize("rate", [0, -160, float("nan"), float("inf")])
def test_bad_rate_is_rejected(rate):
    with pytest.raises(ValueError, match="input_rate"):
        PolyphaseResampler(rate, 256, 2)


def test_bad_passband_and_chunks_are_rejected():
    with pytest.raises(ValueError, match="Nyquist"):
        PolyphaseResampler(160, 256, 2, passband_hz=80.0)
    r = PolyphaseResampler(160, 256, 2)
    with pytest.raises(ValueError, match="2-D"):
        r.process(np.zeros(10))
    with pytest.raises(ValueError, match="transpose"):
        r.process(np.zeros((10, 2)))
