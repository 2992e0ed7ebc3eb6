"""ChannelQualityMonitor: flags flat, NaN, saturated and noisy channels, recovers, stays small."""

from __future__ import annotations

import numpy as np
import pytest

from real_eeg import eegmmidb_run
from samba_core.quality import ChannelQuality, ChannelQualityMonitor, QualityConfig

RATE = 250
G, F, N, S, NAN = (ChannelQuality.GOOD, ChannelQuality.FLAT, ChannelQuality.NOISY,
                   ChannelQuality.SATURATED, ChannelQuality.NAN)


def _eeg(rng, n_channels=8, seconds=2.0, rate=RATE):
    """~20 µV noise with slow drift and electrode offsets, in µV."""
    n = int(seconds * rate)
    drift = np.linspace(0, 300, n)[None] * rng.uniform(-1, 1, (n_channels, 1))
    offsets = rng.uniform(-3e4, 3e4, (n_channels, 1))
    return 20 * rng.standard_normal((n_channels, n)) + drift + offsets


def test_clean_eeg_with_offsets_and_drift_is_good():
    monitor = ChannelQualityMonitor(8, RATE)
    monitor.update(_eeg(np.random.default_rng(0)))
    assert monitor.status() == [G] * 8
    assert monitor.good_mask().all()
    np.testing.assert_allclose(monitor.amplitude_uv(), 20.0, rtol=0.15)


def test_each_kind_of_bad_channel_is_flagged():
    rng = np.random.default_rng(1)
    x = _eeg(rng)
    t = np.arange(x.shape[1]) / RATE
    x[1] = 12_345.0                                                 # disconnected, constant
    x[2, 100] = np.nan                                              # dropped sample
    x[3] = np.clip(400 * np.sin(2 * np.pi * 3 * t), -150, 150)      # clipped at a rail
    x[4] = 300 * rng.standard_normal(x.shape[1])                    # far noisier than the rest
    x[5] = 1e-3 * rng.standard_normal(x.shape[1]) - 500.0           # amplifier off: no signal
    monitor = ChannelQualityMonitor(8, RATE)
    monitor.update(x)
    assert monitor.status() == [G, F, NAN, S, N, F, G, G]
    np.testing.assert_array_equal(monitor.good_mask(), [True] + [False] * 5 + [True, True])


def test_known_rail_marks_a_channel_stuck_there_as_saturated():
    x = _eeg(np.random.default_rng(2), n_channels=4)
    x[0] = 187_500.0
    monitor = ChannelQualityMonitor(4, RATE, config=QualityConfig(rail_uv=187_500.0))
    monitor.update(x)
    assert monitor.status() == [S, G, G, G]
    monitor_no_rail = ChannelQualityMonitor(4, RATE)
    monitor_no_rail.update(x)
    assert monitor_no_rail.status()[0] is F


def test_absolute_noise_limit_works_with_few_channels():
    x = _eeg(np.random.default_rng(3), n_channels=2)
    x[1] *= 0
    x[1] += 400 * np.random.default_rng(4).standard_normal(x.shape[1])
    relative_only = ChannelQualityMonitor(2, RATE)
    relative_only.update(x)
    assert relative_only.status() == [G, G]  # no meaningful median over 2 channels
    monitor = ChannelQualityMonitor(2, RATE, config=QualityConfig(max_std_uv=200.0))
    monitor.update(x)
    assert monitor.status() == [G, N]


def test_channel_recovers_once_bad_samples_leave_the_window():
    rng = np.random.default_rng(5)
    monitor = ChannelQualityMonitor(6, RATE, window_s=2.0)
    bad = _eeg(rng, 6, 1.0)
    bad[0] = np.nan
    bad[1] = 7.0
    monitor.update(bad)
    assert monitor.status()[:2] == [NAN, F]
    monitor.update(_eeg(rng, 6, 1.5))  # part of the bad second is still in the window
    assert monitor.status()[0] is NAN
    monitor.update(_eeg(rng, 6, 0.5))
    assert monitor.status() == [G] * 6


def test_verdicts_do_not_depend_on_chunking():
    rng = np.random.default_rng(6)
    x = np.concatenate([_eeg(rng, 5, 3.0), _eeg(rng, 5, 0.7)], axis=1)
    x[2, 700:760] = np.nan
    x[3, 300:] = -250.0  # stuck before the last window starts
    whole = ChannelQualityMonitor(5, RATE)
    whole.update(x)
    chunked = ChannelQualityMonitor(5, RATE)
    i = 0
    while i < x.shape[1]:
        n = int(rng.integers(0, 40))
        chunked.update(x[:, i : i + n])
        i += n
    np.testing.assert_array_equal(chunked.window(), whole.window())
    assert chunked.status() == whole.status() == [G, G, NAN, F, G]


def test_too_little_data_reads_good_except_nan():
    monitor = ChannelQualityMonitor(3, RATE)
    assert monitor.status() == [G] * 3
    chunk = np.zeros((3, 10))
    chunk[2, 3] = np.nan
    monitor.update(chunk)
    assert monitor.status() == [G, G, NAN]


def test_memory_is_bounded_and_reset_forgets():
    rng = np.random.default_rng(7)
    monitor = ChannelQualityMonitor(4, RATE, window_s=1.0)
    for _ in range(50):
        monitor.update(_eeg(rng, 4, 0.3))
    assert monitor._ring.shape == (4, RATE) and monitor.window().shape == (4, RATE)
    assert monitor.n_samples == 50 * 75
    monitor.update(np.full((4, 600), np.nan))  # longer than the window
    assert monitor.status() == [NAN] * 4
    monitor.reset()
    assert monitor.status() == [G] * 4 and monitor.window().shape == (4, 0)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="rate"):
        ChannelQualityMonitor(4, 0)
    with pytest.raises(ValueError, match="n_channels"):
        ChannelQualityMonitor(0, 250)
    with pytest.raises(ValueError, match="window"):
        ChannelQualityMonitor(4, 250, window_s=0.001)
    with pytest.raises(ValueError, match="noisy_factor"):
        QualityConfig(noisy_factor=0.5)
    monitor = ChannelQualityMonitor(4, 250)
    with pytest.raises(ValueError, match="2-D"):
        monitor.update(np.zeros(4))
    with pytest.raises(ValueError, match="transpose"):
        monitor.update(np.zeros((30, 4)))


def test_real_eegmmidb_channels_are_mostly_good(shared_data):
    volts, rate = eegmmidb_run(shared_data, 4, 20)
    data = volts * 1e6
    monitor = ChannelQualityMonitor(data.shape[0], rate)
    n_good = []
    for start in range(0, data.shape[1], int(rate // 4)):
        monitor.update(data[:, start : start + int(rate // 4)])
        n_good.append(monitor.good_mask().sum())
    assert min(n_good) >= 60
    data[10] = 0.0  # a channel dropping out is caught on real data too
    monitor.update(data[:, -int(2 * rate) :])
    assert monitor.status()[10] is F
