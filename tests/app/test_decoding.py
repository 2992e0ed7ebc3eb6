"""Decision rule, smoothing, latency statistics and the display ring buffers."""

from __future__ import annotations

import numpy as np
import pytest

from types import SimpleNamespace

from app.pipeline.chain import DecodingChain
from app.pipeline.decoding import DecisionRule, Decoder, DecodingConfig, ProbabilitySmoother
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
    with pytest.raises(ValueError, match="settle_s"):
        DecodingConfig(settle_s=-1.0)
    with pytest.raises(ValueError, match="threshold"):
        DecodingConfig(threshold=1.5)
    with pytest.raises(ValueError, match="smoothing"):
        DecodingConfig(smoothing_s=-1)


class ScriptedSession:
    """A streaming session whose k-th token since its reset has the probabilities ``probs(k)``."""

    classes = CLASSES

    def __init__(self, probs, hop: int = 16) -> None:
        self.probs, self.hop, self.n = probs, hop, 0

    def reset(self) -> None:
        self.n = 0

    def push(self, chunk: np.ndarray):
        k = chunk.shape[1] // self.hop
        index = np.arange(self.n, self.n + k)
        self.n += k
        return SimpleNamespace(n_tokens=k, probs={"mi": np.array([self.probs(i) for i in index], dtype=float)},
                               sample_index=(index + 1) * self.hop - 1)


def decide(decoder: Decoder, bursts: list[int]) -> list:
    """Push ``bursts`` tokens at a time; every decided token as (token index, markers, smoothed left)."""
    out = []
    for n in bursts:
        for tok in decoder.push(np.zeros((1, n * decoder.session.hop))):
            out.append((tok.model_index // decoder.session.hop, tok.markers, round(float(tok.smoothed["mi"][0]), 6)))
    return out


EXTREME_FIRST = lambda k: [1.0, 0.0] if k == 0 else [0.4, 0.6]  # noqa: E731 - a fresh state's first token


@pytest.mark.parametrize(("hop", "rate", "settle_s", "first"), [
    (16, 256.0, 1.0, 15),  # 16 tokens/s: the 16th token completes at 1 s
    (20, 250.0, 1.0, 12),  # 12.5 tokens/s: the 13th completes at 1.04 s (none before 1 s is decided)
    (16, 256.0, 0.0, 0),  # no settling: decided from the first token
    (16, 256.0, 0.5, 7),
])
def test_a_fresh_state_settles_before_anything_is_decided(hop, rate, settle_s, first):
    for bursts in ([1] * 40, [7] * 5 + [5], [40]):  # tokens one at a time, in bursts, all at once: the same
        decoder = Decoder(ScriptedSession(EXTREME_FIRST, hop), DecodingConfig(smoothing_s=0.5, settle_s=settle_s), rate)
        got = decide(decoder, bursts)
        assert got[0][0] == first and [g[0] for g in got] == list(range(first, 40))
        if first > 0:  # smoothing and the rule start afresh after the settling tokens: no trace of the extreme
            assert got[0] == (first, ("mi:right",), 0.4)
        decoder.reset()  # a reset (a gap) settles again
        assert decide(decoder, [first + 1])[0][0] == first


def test_the_start_up_burst_carries_only_decisions_the_rule_still_holds():
    """Threshold 0.8: a decision the stale burst made and then released is not published."""
    made_then_released = lambda k: [0.9, 0.1] if k < 20 else [0.5, 0.5]  # noqa: E731
    chain = DecodingChain.__new__(DecodingChain)
    chain.decoder = Decoder(ScriptedSession(made_then_released), DecodingConfig(threshold=0.8, smoothing_s=0.0), 256.0)
    [live] = chain._live(chain.decoder.push(np.zeros((1, 30 * 16))))
    assert live.model_index // 16 == 29 and live.markers == ()
    held = DecodingChain.__new__(DecodingChain)
    held.decoder = Decoder(ScriptedSession(lambda k: [0.9, 0.1]), DecodingConfig(threshold=0.8, smoothing_s=0.0), 256.0)
    [live] = held._live(held.decoder.push(np.zeros((1, 30 * 16))))
    assert live.markers == ("mi:left",)  # made during the burst and still held: carried


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
