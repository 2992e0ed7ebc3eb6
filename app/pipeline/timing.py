"""Sample timing of a live stream: gaps, the true rate, and sample index -> LSL time.

LSL gives every sample a timestamp (the source's clock, mapped to ours by the inlet's
clock synchronisation). Those timestamps are the only evidence of what happened between
two chunks: a jump larger than a few sample periods means samples were lost (network
drop, amplifier buffer overrun) or the source restarted, and the model's recurrent state
must not run across it. Over longer windows they also reveal a stream whose real rate is
not the rate it declares, which would make every filter and the model wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import StreamRateError


@dataclass(frozen=True)
class Gap:
    """A discontinuity before sample ``position`` of a chunk.

    Parameters
    ----------
    position : int
        Index in the chunk of the first sample after the discontinuity.
    jump_s : float
        Timestamp difference (s) across it; negative when time went backwards.
    lost : int
        Estimated number of samples missing (0 when time went backwards).
    """

    position: int
    jump_s: float
    lost: int


class GapDetector:
    """Finds timestamp jumps larger than ``max(periods / rate, min_s)``.

    Parameters
    ----------
    rate : float
        Nominal rate (Hz) of the timestamps.
    periods : float
        Tolerance in sample periods; LSL back-extrapolates timestamps within a chunk at
        the nominal rate, so between chunks only the source's push jitter remains.
    min_s : float
        Tolerance floor (s) for fast streams, where a few periods are below the jitter
        of the pushing thread.
    """

    def __init__(self, rate: float, periods: float = 4.0, min_s: float = 0.02) -> None:
        self.rate = float(rate)
        self.threshold_s = max(periods / self.rate, min_s)
        self.reset()

    def reset(self) -> None:
        """Forget the previous sample (a new inlet or a new segment)."""
        self._last: float | None = None

    def find(self, timestamps: np.ndarray) -> list[Gap]:
        """Gaps within ``timestamps`` (n,) and between them and the previous chunk."""
        ts = np.asarray(timestamps, dtype=np.float64)
        if ts.size == 0:
            return []
        previous = ts[:-1] if self._last is None else np.concatenate([[self._last], ts[:-1]])
        offset = 1 if self._last is None else 0
        diffs = ts[offset:] - previous
        self._last = float(ts[-1])
        idx = np.flatnonzero(np.abs(diffs) > self.threshold_s)
        return [
            Gap(position=int(i) + offset, jump_s=float(diffs[i]), lost=max(0, int(round(diffs[i] * self.rate)) - 1))
            for i in idx
        ]


class RateMonitor:
    """Checks that the timestamps advance at the declared rate.

    The effective rate over a window is (intervals counted) / (time they span); intervals
    longer than ``stall_s`` are left out, since a stream that paused and resumed says
    nothing about its rate. A stream that declares 256 Hz but delivers 128 samples per
    second (or loses half of them) fails, and so does one that delivers more.

    Parameters
    ----------
    nominal_rate : float
        Declared rate (Hz) of the timestamps.
    window_s : float
        Seconds of timestamps per verdict.
    tolerance : float
        Largest accepted relative deviation.
    stall_s : float
        Intervals longer than this are not counted.
    """

    def __init__(self, nominal_rate: float, window_s: float = 2.0, tolerance: float = 0.1, stall_s: float = 0.5) -> None:
        self.nominal_rate = float(nominal_rate)
        self.window_s = window_s
        self.tolerance = tolerance
        self.stall_s = stall_s
        self.last_rate: float | None = None
        self.reset()

    def reset(self) -> None:
        self._last: float | None = None
        self._span = 0.0
        self._intervals = 0

    def update(self, timestamps: np.ndarray, stream_name: str = "the stream") -> float | None:
        """Account for a chunk; returns the measured rate (Hz) when a window completes.

        Raises
        ------
        StreamRateError
            The measured rate is off by more than ``tolerance``.
        """
        ts = np.asarray(timestamps, dtype=np.float64)
        if ts.size == 0:
            return None
        diffs = np.diff(ts) if self._last is None else np.diff(np.concatenate([[self._last], ts]))
        self._last = float(ts[-1])
        kept = diffs[diffs <= self.stall_s]
        self._span += float(kept.sum())
        self._intervals += int(kept.size)
        if self._span < self.window_s:
            return None
        rate = self._intervals / self._span if self._span > 0 else float("inf")
        self._span, self._intervals = 0.0, 0
        self.last_rate = rate
        if abs(rate / self.nominal_rate - 1.0) > self.tolerance:
            raise StreamRateError(
                f"{stream_name} declares {self.nominal_rate:g} Hz but its timestamps advance at {rate:.1f} Hz "
                f"over the last {self.window_s:g} s (or it loses {max(0.0, 1 - rate / self.nominal_rate):.0%} "
                "of its samples). Fix the nominal rate in the amplifier's LSL settings, or the network link; "
                "decoding at a wrong rate would be meaningless."
            )
        return rate


class SampleClock:
    """LSL timestamps of the recent input samples of one segment, by sample index.

    Parameters
    ----------
    capacity : int
        Samples remembered; must cover the longest delay between a sample's arrival and
        the decision that uses it (preprocessing hold-back, pending hop).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self._times = np.zeros(self.capacity, dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        """A new segment: indices count from 0 again."""
        self.n_samples = 0

    def append(self, timestamps: np.ndarray) -> None:
        """timestamps: (n,) LSL times of the next input samples."""
        ts = np.asarray(timestamps, dtype=np.float64)
        n = ts.size
        if n >= self.capacity:
            ts = ts[-self.capacity :]
        pos = (self.n_samples + n - ts.size) % self.capacity
        first = min(ts.size, self.capacity - pos)
        self._times[pos : pos + first] = ts[:first]
        self._times[: ts.size - first] = ts[first:]
        self.n_samples += n

    def time_of(self, index: np.ndarray | int) -> np.ndarray:
        """LSL time (s) of input sample(s) ``index`` (counted from the segment start).

        Raises
        ------
        IndexError
            The sample has not arrived yet or is older than ``capacity`` samples.
        """
        idx = np.asarray(index, dtype=np.int64)
        if idx.size and (idx.min() < self.n_samples - self.capacity or idx.max() >= self.n_samples):
            raise IndexError(
                f"sample index {idx.min()}..{idx.max()} is outside the remembered range "
                f"[{max(0, self.n_samples - self.capacity)}, {self.n_samples})"
            )
        return self._times[idx % self.capacity]
