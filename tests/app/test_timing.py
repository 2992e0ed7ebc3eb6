"""Timestamps: gap detection, rate check, and the model index -> input index -> LSL time chain."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline.conditioning import SignalConditioner, channel_unit, eeg_unit
from app.pipeline.errors import PipelineError, StreamRateError
from app.pipeline.timing import GapDetector, RateMonitor, SampleClock
from samba_core.preprocessing import PreprocessConfig


def stamps(start: int, n: int, rate: float, t0: float = 100.0) -> np.ndarray:
    return t0 + np.arange(start, start + n) / rate


def test_gap_detector_counts_samples_lost_across_and_within_chunks():
    det = GapDetector(256.0)
    assert det.find(stamps(0, 32, 256.0)) == []
    assert det.find(stamps(32, 32, 256.0)) == []  # continuous across chunks
    gaps = det.find(stamps(64 + 50, 16, 256.0))  # 50 samples missing before this chunk
    assert [(g.position, g.lost) for g in gaps] == [(0, 50)]
    chunk = np.concatenate([stamps(130, 10, 256.0), stamps(150, 10, 256.0)])  # 10 missing inside
    gaps = det.find(chunk)
    assert [(g.position, g.lost) for g in gaps] == [(10, 10)]


def test_gap_detector_tolerates_jitter_but_not_backward_jumps():
    det = GapDetector(1000.0)  # tolerance max(4 ms, 20 ms) = 20 ms
    ts = stamps(0, 100, 1000.0)
    ts[50:] += 0.010  # a chunk stamped 10 ms late: jitter, not loss
    assert det.find(ts) == []
    gaps = det.find(stamps(0, 10, 1000.0))  # the source restarted its clock
    assert len(gaps) == 1 and gaps[0].jump_s < 0 and gaps[0].lost == 0


def test_rate_monitor_accepts_the_declared_rate_and_ignores_stalls():
    mon = RateMonitor(256.0, window_s=1.0)
    measured = [mon.update(stamps(i * 64, 64, 256.0)) for i in range(8)]
    assert any(m is not None and abs(m - 256.0) < 0.5 for m in measured)
    mon.update(stamps(10_000, 512, 256.0))  # resumes after a 35 s pause: the pause is not counted
    assert abs(mon.last_rate - 256.0) < 0.5


@pytest.mark.parametrize("actual", [128.0, 512.0])
def test_rate_monitor_rejects_a_stream_off_its_declared_rate(actual):
    # The source stamps chunks with its real clock; LSL spaces samples inside a chunk at the declared rate.
    mon = RateMonitor(256.0, window_s=1.0)
    with pytest.raises(StreamRateError, match="declares 256 Hz"):
        for c in range(200):
            last = 100.0 + (c * 8 + 7) / actual
            mon.update(last - np.arange(7, -1, -1) / 256.0)


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
