"""Decision rule, smoothing, latency statistics and the display ring buffers."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline.decoding import DecisionRule, DecodingConfig, ProbabilitySmoother
from app.pipeline.latency import LatencyStats
from app.pipeline.ring import TimedRing

CLASSES = {"mi": ("left", "right")}


def run_rule(rule: DecisionRule, p_left: list[float]) -> list[str | None]:
    return [rule.update("mi", np.array([p, 1 - p])) for p in p_left]


def test_argmax_rule_emits_on_every_change_and_at_segment_start():
    rule = DecisionRule(CLASSES)
    assert run_rule(rule, [0.6, 0.7, 0.4, 0.3, 0.55]) == ["mi:left", None, "mi:right", None, "mi:left"]
    rule.reset()
    assert run_rule(rule, [0.6]) == ["mi:left"]


def test_threshold_rule_emits_once_per_crossing():
    rule = DecisionRule(CLASSES, threshold=0.8)
    got = run_rule(rule, [0.5, 0.85, 0.9, 0.7, 0.82, 0.1, 0.05])
    # left crosses (emit), stays (no), falls below (release), crosses again (emit); right crosses at 0.1 (p=0.9).
    assert got == [None, "mi:left", None, None, "mi:left", "mi:right", None]


def test_exponential_smoothing_time_constant():
    sm = ProbabilitySmoother(time_constant_s=0.5, token_period_s=0.0625)
    alpha = 1 - np.exp(-0.0625 / 0.5)
    first = sm.update("mi", np.array([1.0, 0.0]))
    second = sm.update("mi", np.array([0.0, 1.0]))
    np.testing.assert_allclose(first, [1.0, 0.0])
    np.testing.assert_allclose(second, [1 - alpha, alpha])
    sm.reset()
    np.testing.assert_allclose(sm.update("mi", np.array([0.2, 0.8])), [0.2, 0.8])
    off = ProbabilitySmoother(0.0, 0.0625)
    off.update("mi", np.array([1.0, 0.0]))
    np.testing.assert_allclose(off.update("mi", np.array([0.3, 0.7])), [0.3, 0.7])


def test_decoding_config_rejects_nonsense():
    with pytest.raises(ValueError, match="backend"):
        DecodingConfig(backend="tensorflow")
    with pytest.raises(ValueError, match="threshold"):
        DecodingConfig(threshold=1.5)
    with pytest.raises(ValueError, match="smoothing"):
        DecodingConfig(smoothing_s=-1)


def test_latency_percentiles_over_a_bounded_window():
    stats = LatencyStats(capacity=1000)
    assert np.isnan(stats.summary()["p50_ms"])
    stats.add(np.full(2000, 0.100))  # pushed out of the window by what follows
    stats.add(np.arange(1, 1001) / 1000.0)
    s = stats.summary()
    assert s["count"] == 3000
    assert s["p50_ms"] == pytest.approx(500.5)
    assert s["p99_ms"] == pytest.approx(990.01)
    assert s["max_ms"] == pytest.approx(1000.0)


def test_timed_ring_keeps_the_newest_columns_in_order():
    ring = TimedRing(2, capacity=10)
    for start in range(0, 27, 9):
        cols = np.arange(start, start + 9)
        ring.append(np.stack([cols, -cols]), cols.astype(float))
    data, times = ring.snapshot()
    np.testing.assert_array_equal(times, np.arange(17, 27))
    np.testing.assert_array_equal(data[1], -np.arange(17, 27))
    data, times = ring.snapshot(last=3)
    np.testing.assert_array_equal(times, [24, 25, 26])
    ring.append(np.zeros((2, 50)), np.arange(100, 150.0))  # larger than the ring
    np.testing.assert_array_equal(ring.snapshot()[1], np.arange(140, 150))
