"""Sample timing of a live stream: is it delivering at its declared rate, and index -> LSL time.

The discontinuities themselves (gaps, clock steps) are found by :mod:`.clockmap` on
de-jittered timestamps. :class:`RateCheck` judges what the map reports over windows of
local time, and stops decoding only when a stream is wrong for long: a stream that
declares 256 Hz but delivers 128 samples per second, or keeps losing a tenth of its
samples, or keeps stepping its clock, makes every filter and the model meaningless; one
burst, one hiccup or one step does not.
"""

from __future__ import annotations

import numpy as np

from .errors import StreamRateError


class RateCheck:
    """Windowed verdicts on a stream's delivery; warns at once, stops when wrong for long.

    A window of ``window_s`` seconds (local time) is *bad* when more than ``tolerance``
    of the samples due were lost, when the fitted rate is off by more than
    ``tolerance``, or when the clock stepped twice or more. Bad windows covering
    ``fail_after_s`` in a row raise :class:`StreamRateError`; the first one of a run is
    reported. Separately, a fitted rate more than ``warn_above`` off the declared one
    (over at least ``min_fit_s`` of stamps) is reported once per episode: the recording
    then uses the measured rate.

    Parameters
    ----------
    nominal_rate : float
        Declared rate (Hz).
    window_s, tolerance, fail_after_s, warn_above, min_fit_s : float
    """

    def __init__(self, nominal_rate: float, window_s: float = 2.0, tolerance: float = 0.1, fail_after_s: float = 10.0,
                 warn_above: float = 0.02, min_fit_s: float = 3.0) -> None:
        self.nominal_rate = float(nominal_rate)
        self.window_s, self.tolerance, self.fail_after_s = window_s, tolerance, fail_after_s
        self.warn_above, self.min_fit_s = warn_above, min_fit_s
        self.last_rate: float | None = None
        #: The measured rate (Hz) last reported as off the declared one (None: never reported).
        self.reported_rate: float | None = None
        self._rate_warned = False
        self._bad_since: float | None = None
        self._window_start: float | None = None
        self._received = self._lost = self._steps = 0

    def update(self, now: float, received: int, lost: int, steps: int, measured_rate: float | None,
               fit_span_s: float, stream_name: str = "the stream") -> list[str]:
        """Account for one chunk's outcome; return warnings to show (possibly none).

        Parameters
        ----------
        now : float
            Local time (s) of the chunk.
        received, lost, steps : int
            Samples received, samples found missing and clock steps in the chunk.
        measured_rate : float or None
            The clock map's fitted rate (Hz), over ``fit_span_s`` seconds of stamps.

        Raises
        ------
        StreamRateError
            The stream was wrong for ``fail_after_s`` seconds in a row.
        """
        warnings: list[str] = []
        if measured_rate is not None:
            self.last_rate = measured_rate
        off = None if measured_rate is None else measured_rate / self.nominal_rate - 1.0
        if off is not None and fit_span_s >= self.min_fit_s:
            if abs(off) > self.warn_above and not self._rate_warned:
                self._rate_warned = True
                self.reported_rate = measured_rate
                warnings.append(
                    f"{stream_name} declares {self.nominal_rate:g} Hz but its samples arrive at {measured_rate:.2f} Hz "
                    f"({off:+.1%}); the recording keeps every sample's LSL time and uses the measured rate. "
                    "Check the rate set in the amplifier's software."
                )
            elif abs(off) < self.warn_above / 2:
                self._rate_warned = False
        if self._window_start is None:
            self._window_start = now
        self._received += received
        self._lost += lost
        self._steps += steps
        if now - self._window_start < self.window_s:
            return warnings
        due = self._received + self._lost
        loss = self._lost / due if due else 0.0
        bad = loss > self.tolerance or self._steps >= 2 or (off is not None and abs(off) > self.tolerance)
        if bad:
            if self._bad_since is None:
                self._bad_since = self._window_start
                warnings.append(self._describe(loss, off, stream_name) + "; decoding goes on while this is transient")
            elif now - self._bad_since >= self.fail_after_s:
                raise StreamRateError(
                    self._describe(loss, off, stream_name) + f" for {now - self._bad_since:.0f} s. Fix the nominal "
                    "rate in the amplifier's LSL settings, or the link; decoding at a wrong rate would be meaningless."
                )
        else:
            self._bad_since = None
        self._window_start = now
        self._received = self._lost = self._steps = 0
        return warnings

    def _describe(self, loss: float, off: float | None, stream_name: str) -> str:
        rate = self.nominal_rate * (1 - loss) if off is None or abs(off) <= self.tolerance else self.last_rate
        return (f"{stream_name} declares {self.nominal_rate:g} Hz but delivers {rate:.1f} samples per second of its "
                f"timestamps ({loss:.0%} lost, {self._steps} clock step(s) in {self.window_s:g} s)")


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
