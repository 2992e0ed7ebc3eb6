"""Timestamps: gap detection, rate check, and the model index -> input index -> LSL time chain."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline.conditioning import SignalConditioner, channel_unit, eeg_unit
from app.pipeline.errors import PipelineError, StreamRateError
from app.pipeline.timing import RateCheck, SampleClock
from samba_core.preprocessing import PreprocessConfig


def stamps(start: int, n: int, rate: float, t0: float = 100.0) -> np.ndarray:
    return t0 + np.arange(start, start + n) / rate


def feed(check: RateCheck, seconds: float, received: int, lost: int = 0, steps: int = 0, rate: float = 256.0,
         t0: float = 0.0) -> list[str]:
    """Chunks of 0.25 s for ``seconds``: ``received``/``lost`` samples and ``steps`` clock steps per chunk."""
    warnings = []
    for k in range(int(seconds * 4)):
        warnings += check.update(t0 + k * 0.25, received, lost, steps, rate, 10.0)
    return warnings


def test_rate_check_accepts_a_good_stream_and_a_transient_fault():
    check = RateCheck(256.0, window_s=1.0, fail_after_s=5.0)
    assert feed(check, 5.0, 64) == []
    warnings = feed(check, 2.0, 32, lost=32, t0=5.0)  # 2 s losing half: reported, decoding goes on
    assert len(warnings) == 1 and "% lost" in warnings[0]
    assert feed(check, 10.0, 64, t0=7.0) == []  # recovered: no stop


@pytest.mark.parametrize("fault", [dict(received=32, lost=32), dict(received=64, steps=1), dict(received=64, rate=128.0)])
def test_rate_check_stops_a_stream_wrong_for_long(fault):
    check = RateCheck(256.0, window_s=1.0, fail_after_s=5.0)
    with pytest.raises(StreamRateError, match="declares 256 Hz"):
        feed(check, 10.0, **fault)


@pytest.mark.parametrize("ratio", [0.97, 1.03])
def test_rate_check_reports_a_rate_a_few_percent_off_once(ratio):
    check = RateCheck(256.0, window_s=1.0, fail_after_s=5.0)
    warnings = feed(check, 20.0, 64, rate=256.0 * ratio)
    assert len(warnings) == 1 and f"{256.0 * ratio:.2f} Hz" in warnings[0]


def test_sample_clock_maps_indices_to_times_and_wraps():
    clock = SampleClock(capacity=100)
    ts = stamps(0, 250, 500.0)
    for a in range(0, 250, 30):
        clock.append(ts[a : a + 30])
    assert clock.n_samples == 250
    np.testing.assert_array_equal(clock.time_of(np.array([150, 200, 249])), ts[[150, 200, 249]])
    with pytest.raises(IndexError):
        clock.time_of(149)  # forgotten
    with pytest.raises(IndexError):
        clock.time_of(250)  # not arrived
    clock.reset()
    clock.append(ts[:5])
    assert clock.time_of(0) == ts[0]


def test_model_index_maps_to_the_newest_input_sample_at_1khz():
    """A token completed at model sample k used input samples up to k * 1000 // 256."""
    cond = SignalConditioner(PreprocessConfig(), 1000.0, np.arange(3), ["C3", "Cz", "C4"], unit="uV")
    rng = np.random.default_rng(0)
    produced = 0
    for n in (7, 300, 1, 64, 1000):  # irregular chunk sizes
        produced += cond.process(rng.normal(0, 10, (3, n))).shape[1]
    k = np.arange(produced)
    newest = cond.input_index_for_output(k)
    np.testing.assert_array_equal(newest, k * 125 // 32)  # 1000/256 = 125/32
    assert newest[-1] <= 1371  # every output only uses samples that have arrived
    clock = SampleClock(4096)
    clock.append(stamps(0, 1372, 1000.0))
    np.testing.assert_allclose(clock.time_of(newest), 100.0 + (k * 125 // 32) / 1000.0)


def test_units_from_stream_metadata():
    assert channel_unit("microvolts") == "uV" and channel_unit("µV") == "uV"
    assert channel_unit("0") == "V" and channel_unit("-6") == "uV"  # MNE-LSL exponents
    assert channel_unit("banana") is None and channel_unit(None) is None
    assert eeg_unit(["uV", "microvolts", None]) == "uV"
    with pytest.raises(PipelineError, match="different units"):
        eeg_unit(["uV", "V"])
