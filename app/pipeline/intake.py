"""Intake: raw chunks in, de-jittered runs of samples out, split at discontinuities.

Between the inlet and the decoder: every chunk goes through the :class:`.clockmap.ClockMap`
(which may hold samples back while a suspect discontinuity settles) and the
:class:`.timing.RateCheck`. What comes out is a list of :class:`Run` objects in arrival
order, each with de-jittered times, whether to decode it (backlogs queued while the app
started or re-attached are recorded, not decoded) and the timing event that precedes it.
Every sample received comes out exactly once, in order, so a sample's position in the
output is its row in the recording.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .acquisition import AcquisitionConfig
from .clockmap import ClockMap, TimingEvent
from .timing import RateCheck


@dataclass(frozen=True)
class Run:
    """Consecutive samples with settled timing.

    Parameters
    ----------
    data : (channels, n) float64
        Samples in stream units.
    times : (n,) float64
        De-jittered LSL times (never after the sample's arrival).
    received_at : float
        Local LSL time at which the newest sample of the run was pulled.
    first : int
        Index of the first sample among all samples received (its recording row).
    decode : bool
        False for backlog samples (recorded, not decoded).
    events : tuple of TimingEvent
        Discontinuities just before the run's first sample.
    """

    data: np.ndarray
    times: np.ndarray
    received_at: float
    first: int
    decode: bool
    events: tuple[TimingEvent, ...] = ()


class Intake:
    """Turns pulled chunks into :class:`Run` objects (one per stream, survives re-attachment).

    Parameters
    ----------
    nominal_rate : float
        Declared rate (Hz) of the stream's timestamps.
    n_channels : int
    config : AcquisitionConfig
    stream_name : str
        For messages.
    """

    def __init__(self, nominal_rate: float, n_channels: int, config: AcquisitionConfig, stream_name: str) -> None:
        tolerance = max(config.gap_periods / nominal_rate, config.gap_min_s)
        self.clock = ClockMap(nominal_rate, tolerance, settle_s=config.settle_s)
        self.rate = RateCheck(nominal_rate, config.rate_window_s, config.rate_tolerance, config.rate_fail_s,
                              config.rate_warn)
        self.stream_name = stream_name
        self.n_received = 0
        self.n_released = 0
        self.lost = 0
        #: Samples released as backlog: recorded, not decoded.
        self.n_not_decoded = 0
        self._decode_from = 0
        self._data = np.zeros((n_channels, 0))
        self._arrival = np.zeros(0)

    def hold_off_decoding(self, n_more: int = 0) -> None:
        """Samples received so far and the next ``n_more`` (a backlog) are recorded, not decoded."""
        self._decode_from = self.n_received + int(n_more)

    def add(self, data: np.ndarray, ts: np.ndarray, received_at: float) -> tuple[list[Run], list[str]]:
        """One pulled chunk -> runs now settled, and warnings for the user.

        Raises
        ------
        StreamRateError
            The stream delivered at a wrong rate for long (see :class:`.timing.RateCheck`).
        """
        n = int(np.asarray(ts).size)
        self._data = np.concatenate([self._data, data], axis=1)
        self._arrival = np.concatenate([self._arrival, np.full(n, float(received_at))])
        self.n_received += n
        released = self.clock.feed(ts, received_at)
        runs = self._split(released.times, released.events)
        lost = sum(e.lost for e in released.events)
        steps = sum(e.kind != "gap" for e in released.events)
        self.lost += lost
        warnings = self.rate.update(received_at, n, lost, steps, self.clock.measured_rate, self.clock.fit_span_s,
                                    f"stream {self.stream_name!r}")
        return runs, warnings

    def _split(self, times: np.ndarray, events: list[TimingEvent]) -> list[Run]:
        n = times.size
        data, arrival = self._data[:, :n], self._arrival[:n]
        self._data, self._arrival = self._data[:, n:], self._arrival[n:]
        first = self.n_released
        self.n_released += n
        cuts = sorted({0, n, *(e.position for e in events), *([self._decode_from - first]
                                                                 if first < self._decode_from < first + n else [])})
        runs = []
        for a, b in zip(cuts[:-1], cuts[1:]):
            before = tuple(e for e in events if e.position == a)
            if b > a or before:
                runs.append(Run(data[:, a:b], times[a:b], float(arrival[b - 1]) if b > a else float("nan"),
                                first + a, first + a >= self._decode_from, before))
        self.n_not_decoded += sum(r.data.shape[1] for r in runs if not r.decode)
        tail = tuple(e for e in events if e.position == n and n not in cuts[:-1])
        if tail:
            runs.append(Run(data[:, n:n], times[n:n], float("nan"), first + n, True, tail))
        return runs
