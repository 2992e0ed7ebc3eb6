"""De-jittered sample times: a robust map from the source's sample count to LSL time.

Raw LSL timestamps carry whatever the source did: many amplifier programs let LSL stamp
each sample when it is pushed, so a packet of 9 samples pushed back to back every 30 ms
gives 9 equal stamps and a 30 ms jump; a hiccup followed by the backlog gives a burst of
equal stamps; a source clock can step. Testing gaps on the raw stamp differences books all
of that as lost samples. This module does what liblsl's ``proc_dejitter`` does (a linear
fit of timestamp against sample count), with the parts a decoder needs on top:

- **Line.** Sample ``i`` (counted by the source, lost samples included) is expected at
  ``t(i) = t_ref + (i - i_ref) * T``. Push delays only ever make a stamp *late*, so the
  line is fitted (least squares) through the least-delayed sample of each block of
  ``block_s`` seconds over the last ``fit_blocks`` blocks: the lower envelope of the
  stamps, insensitive to packetisation and bursts. ``1 / T`` is the measured rate.
- **Deviation test.** A sample further off the line than the tolerance is *suspect*. The
  tolerance adapts to the stream: three times the largest spread of the stamps within a
  block over the last 5 s, between ``floor_s`` (a single missing sample is seen on a
  cleanly stamped stream) and ``tolerance_s`` (jittery push-time stamps). The suspect
  sample and those after it are held back (not released) until the evidence settles:

  * a later sample comes back within the tolerance: jitter, or a backlog burst stamped
    at push time; nothing is missing, and everything is released as continuous;
  * samples received over ``settle_s`` seconds of local time (at least two chunks) all
    stay off on the same side. A backlog burst arrives at once, so it never gets there:
    its stamps come back to the line first. The level of the new stamps is ``D``, their
    smallest deviation (the least-delayed one). ``D > 0`` is a **gap** of
    ``round(D / T)`` lost samples if the arrival times jumped too (by at least
    ``D / 2``: samples really missing took their time not to arrive); if data kept
    arriving at the usual pace it is a **forward clock step** (nothing lost). ``D < 0``
    is a **backward clock step**. Either way the line is moved (the count skips the
    lost samples; a step shifts the line) and the samples are released after the event.

Each released sample gets its de-jittered time ``min(t(i), arrival time)``: never later
than the moment it was actually received, so no decision stamped from it can lie ahead
of the local clock. The raw stamps are left to the recording, so the map can always be
rebuilt offline.

The first two blocks of a map (0.2 s, before a line exists) are released without tests:
a discontinuity within them is not detected.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class TimingEvent:
    """A discontinuity found in the timestamps.

    Parameters
    ----------
    position : int
        Index, among the samples released by the same :meth:`ClockMap.feed` call, of the
        first sample after the event.
    kind : str
        ``"gap"`` (samples missing), ``"step_forward"`` or ``"step_back"`` (the source's
        clock jumped; nothing missing).
    jump_s : float
        Offset of the stamps from the line after the event (s): ``lost * T`` for a gap.
    lost : int
        Samples missing (0 for clock steps).
    """

    position: int
    kind: str
    jump_s: float
    lost: int

    def describe(self, stream_name: str) -> str:
        """The event in words for the user."""
        if self.kind == "gap":
            return (f"{self.lost} sample(s) missing from {stream_name!r} ({self.jump_s * 1e3:.0f} ms, from the "
                    "timestamps); model state reset")
        direction = "back" if self.kind == "step_back" else "forward"
        return (f"the clock of {stream_name!r} stepped {direction} by {abs(self.jump_s) * 1e3:.0f} ms (no sample "
                "missing); time line resynchronised, model state reset")


@dataclass
class Released:
    """Samples whose timing is settled, oldest first.

    Parameters
    ----------
    times : (n,) float64
        De-jittered LSL time of each released sample (never after its arrival).
    events : list of TimingEvent
        Discontinuities, placed by ``position``.
    """

    times: np.ndarray
    events: list[TimingEvent] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.times.size)


class ClockMap:
    """Sample count -> LSL time for one stream, robust to jitter, bursts and clock steps.

    Parameters
    ----------
    nominal_rate : float
        Declared rate (Hz).
    tolerance_s : float
        Largest tolerance (s): a distance from the line beyond it is never jitter.
    floor_s : float, optional
        Smallest tolerance (s); default ``max(0.6 / nominal_rate, 2 ms)``.
    settle_s : float
        Seconds (of arrival time) during which samples must stay off the line before a
        gap or step is declared (the decoding delay added at a discontinuity, and only
        there).
    block_s : float
        Length (s) of the blocks whose least-delayed sample feeds the line fit.
    fit_blocks : int
        Blocks in the fit (``fit_blocks * block_s`` seconds of history).
    """

    def __init__(self, nominal_rate: float, tolerance_s: float, settle_s: float = 0.25, block_s: float = 0.1,
                 fit_blocks: int = 100, floor_s: float | None = None) -> None:
        self.nominal_rate = float(nominal_rate)
        self.tolerance_s = float(tolerance_s)
        self.floor_s = max(0.6 / self.nominal_rate, 0.002) if floor_s is None else float(floor_s)
        self._spreads: deque[float] = deque(maxlen=50)  # max - min stamp excess within recent blocks
        self._block_high = -np.inf
        self.settle_s = float(settle_s)
        self.block_n = max(2, int(round(block_s * self.nominal_rate)))
        self._points: deque[tuple[int, float]] = deque(maxlen=int(fit_blocks))
        self._arrivals: deque[float] = deque(maxlen=64)  # arrival - line at recent chunk ends
        self._count = 0  # source sample index of the next sample to release
        self._block: tuple[int, float] | None = None  # least-delayed (index, stamp) of the current block
        self._anchor: float | None = None  # before the first fit: min(stamp - index * T_nominal)
        self._period = 1.0 / self.nominal_rate
        self._t_ref = 0.0
        self._i_ref = 0.0
        self._last_time = -np.inf
        self._ts = np.zeros(0)
        self._arrival = np.zeros(0)
        self._chunk_end = np.zeros(0, dtype=bool)

    # -- public -----------------------------------------------------------------------
    @property
    def measured_rate(self) -> float | None:
        """Rate (Hz) of the fitted line; None until the fit spans ``block_s`` or more."""
        return 1.0 / self._period if len(self._points) >= 2 else None

    @property
    def fit_span_s(self) -> float:
        """Seconds of stamps behind the current rate estimate."""
        if len(self._points) < 2:
            return 0.0
        return (self._points[-1][0] - self._points[0][0]) / self.nominal_rate

    @property
    def tolerance(self) -> float:
        """Current tolerance (s): the configured one until 5 blocks were seen, then adapted to the jitter."""
        if len(self._spreads) < 5:
            return self.tolerance_s
        return max(self.floor_s, min(self.tolerance_s, 3.0 * max(self._spreads)))

    @property
    def pending(self) -> int:
        """Samples held back while a suspect discontinuity settles."""
        return int(self._ts.size)

    def feed(self, timestamps: np.ndarray, received_at: float) -> Released:
        """Add one chunk; return the samples (of this or earlier chunks) whose timing is settled.

        Parameters
        ----------
        timestamps : (n,) float64
            Raw LSL times of the chunk's samples.
        received_at : float
            Local LSL time at which the chunk was pulled.
        """
        ts = np.asarray(timestamps, dtype=np.float64)
        if ts.size:
            self._ts = np.concatenate([self._ts, ts])
            self._arrival = np.concatenate([self._arrival, np.full(ts.size, float(received_at))])
            end = np.zeros(ts.size, dtype=bool)
            end[-1] = True
            self._chunk_end = np.concatenate([self._chunk_end, end])
        return self._settle()

    def flush(self) -> Released:
        """Release whatever is held back as continuous (end of the stream)."""
        out = self._take(self.pending)
        return Released(out)

    def line(self, index: np.ndarray) -> np.ndarray:
        """Expected LSL time (s) of source sample(s) ``index``."""
        index = np.asarray(index, dtype=np.float64)
        if len(self._points) < 2:
            return self._anchor + index * self._period
        return self._t_ref + (index - self._i_ref) * self._period

    # -- settling ---------------------------------------------------------------------
    def _settle(self) -> Released:
        chunks: list[np.ndarray] = []
        events: list[TimingEvent] = []
        released = 0
        while self.pending:
            if len(self._points) < 2:  # warm-up: no line to test against yet
                n = min(self.pending, max(1, 2 * self.block_n + 1 - self._count))
                chunks.append(self._take(n))
                released += n
                continue
            tolerance = self.tolerance
            dev = self._ts - self.line(self._count + np.arange(self.pending))
            outside = np.abs(dev) > tolerance
            if not outside[0]:
                n = int(np.argmax(outside)) if outside.any() else self.pending
                chunks.append(self._take(n))
                released += n
                continue
            side = np.sign(dev[0])
            back = np.flatnonzero(side * dev <= tolerance)
            if back.size:  # returned to the line: a burst or jitter, not a discontinuity
                n = int(back[0])
                chunks.append(self._take(n, fit=False))
                released += n
                continue
            if self._arrival[-1] - self._arrival[0] < self.settle_s or self._chunk_end.sum() < 2:
                break  # not enough evidence yet: hold back
            event = self._classify(dev)
            self._apply(event)
            events.append(TimingEvent(released, event.kind, event.jump_s, event.lost))
        times = np.concatenate(chunks) if chunks else np.zeros(0)
        return Released(times, events)

    def _classify(self, dev: np.ndarray) -> TimingEvent:
        level = float(dev.min())  # the least-delayed stamp after the jump
        if level < 0:
            return TimingEvent(0, "step_back", level, 0)
        ends = np.flatnonzero(self._chunk_end)
        arrival_jump = float(np.min(self._arrival[ends] - self.line(self._count + ends)))
        baseline = min(self._arrivals) if self._arrivals else arrival_jump
        lost = int(round(level / self._period))
        if lost > 0 and arrival_jump - baseline >= level / 2:
            return TimingEvent(0, "gap", lost * self._period, lost)
        return TimingEvent(0, "step_forward", level, 0)

    def _apply(self, event: TimingEvent) -> None:
        if event.kind == "gap":
            self._count += event.lost
            return
        shift = event.jump_s
        self._points = deque(((i, t + shift) for i, t in self._points), maxlen=self._points.maxlen)
        self._t_ref += shift
        self._block = None if self._block is None else (self._block[0], self._block[1] + shift)
        self._block_high += shift
        self._arrivals.clear()
        self._last_time = -np.inf

    def _take(self, n: int, fit: bool = True) -> np.ndarray:
        """Release the oldest ``n`` pending samples as continuous; update the fit with them if ``fit``."""
        ts, arrival, ends = self._ts[:n], self._arrival[:n], self._chunk_end[:n]
        self._ts, self._arrival, self._chunk_end = self._ts[n:], self._arrival[n:], self._chunk_end[n:]
        index = self._count + np.arange(n)
        self._count += n
        if fit:
            self._add_points(index, ts)
        line = self.line(index)
        for k in np.flatnonzero(ends):
            self._arrivals.append(float(arrival[k] - line[k]))
        times = np.minimum(line, arrival)
        times = np.maximum.accumulate(np.concatenate([[self._last_time], times]))[1:]
        if n:
            self._last_time = float(times[-1])
        return times

    def _add_points(self, index: np.ndarray, ts: np.ndarray) -> None:
        """Keep the least-delayed sample of each block; refit the line when a block completes."""
        if index.size == 0:
            return
        nominal = 1.0 / self.nominal_rate
        excess = ts - index * nominal
        if len(self._points) < 2:
            low = float(excess.min())
            self._anchor = low if self._anchor is None else min(self._anchor, low)
        blocks = index // self.block_n
        bounds = np.concatenate([[0], np.flatnonzero(np.diff(blocks)) + 1, [index.size]])
        for a, b in zip(bounds[:-1], bounds[1:]):
            k = a + int(np.argmin(excess[a:b]))
            point = (int(index[k]), float(ts[k]))
            if self._block is not None and self._block[0] // self.block_n != blocks[a]:
                self._spreads.append(self._block_high - (self._block[1] - self._block[0] * nominal))
                self._points.append(self._block)
                self._block = None
                self._block_high = -np.inf
                if len(self._points) >= 2:
                    self._fit()
            if self._block is None or excess[k] < self._block[1] - self._block[0] * nominal:
                self._block = point
            self._block_high = max(self._block_high, float(excess[a:b].max()))

    def _fit(self) -> None:
        """Least squares through the block points, then again through those on or below the first line.

        The second pass leaves out blocks whose every sample was delayed (a slow push, a
        stalled thread), so the line follows the lower envelope of the stamps.
        """
        i = np.array([p[0] for p in self._points], dtype=np.float64)
        t = np.array([p[1] for p in self._points], dtype=np.float64)
        keep = np.ones(i.size, dtype=bool)
        for _ in range(2):
            i_ref, t_ref = float(i[keep].mean()), float(t[keep].mean())
            di = i[keep] - i_ref
            denom = float((di * di).sum())
            period = float((di * (t[keep] - t_ref)).sum() / denom) if denom > 0 else self._period
            residual = t - (t_ref + (i - i_ref) * period)
            if keep.sum() < 4:
                break
            keep = residual <= np.median(residual)
        self._i_ref, self._t_ref, self._period = i_ref, t_ref, period
