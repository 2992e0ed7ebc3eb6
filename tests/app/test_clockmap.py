"""The clock map on simulated stamps: jitter, bursts and clock steps are not gaps; real gaps are counted exactly.

Each case is one kind of timing fault, in both stampings amplifier programs use: the true
time of each packet (``source``) or the local clock when each sample is pushed (``push``).
"""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline.clockmap import ClockMap


def simulate(rate, packet, n_packets, stamping="source", actual=None, faults=None, seed=0):
    """Feed a ClockMap packet by packet; faults: {packet: ("skip", n) | ("step", s) | ("hiccup", s)}.

    Returns the map, the events as (released sample, kind, lost), the samples truly lost
    and the times released.
    """
    rng = np.random.default_rng(seed)
    actual = actual or rate
    cm = ClockMap(rate, max(4 / rate, 0.02))
    offset, hold, index, lost, released, last_push = 0.0, 0.0, 0, 0, 0, -1.0
    events, times = [], []
    for p in range(n_packets):
        kind, value = (faults or {}).get(p, (None, None))
        if kind == "step":
            offset += value
        elif kind == "hiccup":
            hold = (index + packet - 1) / actual + value
        elif kind == "skip":
            index += value
            lost += value
        true_last = (index + packet - 1) / actual
        push = max(max(true_last, hold) + abs(rng.normal(0, 5e-4)), last_push)
        last_push = push
        if stamping == "source":
            ts = true_last + offset - (packet - 1 - np.arange(packet)) / rate
        else:
            ts = push + offset + np.arange(packet) * 1e-6
        arrival = push + 1e-3
        out = cm.feed(ts, arrival)
        assert (out.times <= arrival).all()  # never stamped ahead of the clock
        events += [(released + e.position, e.kind, e.lost) for e in out.events]
        released += out.n
        times.append(out.times)
        index += packet
    return cm, events, lost, np.concatenate(times)


@pytest.mark.parametrize("stamping", ["source", "push"])
@pytest.mark.parametrize("rate, packet", [(300.0, 9), (256.0, 8), (1000.0, 32)])
def test_packets_and_bursts_are_not_gaps(rate, packet, stamping):
    cm, events, _, times = simulate(rate, packet, 250, stamping, faults={120: ("hiccup", 1.0)})
    assert events == []
    assert cm.measured_rate == pytest.approx(rate, rel=1e-3)
    assert cm.pending == 0 and np.all(np.diff(times) >= 0)


@pytest.mark.parametrize("stamping, n_lost", [
    ("source", 1), ("source", 2), ("source", 40), ("source", 257),  # clean stamps: even one sample is seen
    ("push", 7), ("push", 40), ("push", 257),  # 27 ms of push jitter: from the 20 ms tolerance up (6 samples)
])
def test_gaps_are_counted_exactly(stamping, n_lost):
    _, events, lost, _ = simulate(300.0, 9, 250, stamping, faults={100: ("skip", n_lost), 180: ("skip", 3 * n_lost)})
    assert [e[1] for e in events] == ["gap", "gap"]
    assert [e[2] for e in events] == [n_lost, 3 * n_lost] and sum(e[2] for e in events) == lost
    assert events[0][0] == 900  # placed before the first sample after the gap


@pytest.mark.parametrize("stamping", ["source", "push"])
@pytest.mark.parametrize("step", [-2.0, -0.2, 0.2, 30.0])
def test_clock_steps_are_steps_not_gaps(stamping, step):
    _, events, _, times = simulate(256.0, 8, 250, stamping, faults={100: ("step", step)})
    assert events == [(800, "step_back" if step < 0 else "step_forward", 0)]


@pytest.mark.parametrize("stamping", ["source", "push"])
@pytest.mark.parametrize("ratio", [0.97, 0.995, 1.04])
def test_a_source_off_its_declared_rate_is_measured(stamping, ratio):
    cm, events, _, _ = simulate(256.0, 8, 400, stamping, actual=256.0 * ratio)
    assert events == []
    assert cm.measured_rate == pytest.approx(256.0 * ratio, rel=2e-3)
