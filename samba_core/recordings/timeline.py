"""Time in a recording: where a marker lands, and where the signal was interrupted.

The two rules every format shares:

- **Placement**: an event at time ``t`` goes on the sample whose time is nearest to
  ``t`` (a tie goes to the earlier sample), :func:`nearest_sample`.
- **Segments**: consecutive samples belong to one segment unless the step between their
  times exceeds 1.5 sample periods (plus the source's timestamp jitter), or goes backwards
  by more than the jitter (a clock reset), :func:`find_segments`.
"""

from __future__ import annotations

import numpy as np


def nearest_sample(times: np.ndarray, t: np.ndarray | list[float]) -> np.ndarray:
    """Index of the sample nearest in time to each ``t``.

    Parameters
    ----------
    times : (samples,) float
        Time of every sample (any clock; need not be monotonic across segments).
    t : (events,) float
        Event times on the same clock.

    Returns
    -------
    (events,) int
        Sample indices; ties go to the sample with the earlier time.
    """
    times = np.asarray(times, dtype=np.float64)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if times.size == 0:
        raise ValueError("no samples to place events on")
    order = np.argsort(times, kind="stable")
    sorted_times = times[order]
    right = np.clip(np.searchsorted(sorted_times, t, side="left"), 0, times.size - 1)
    left = np.clip(right - 1, 0, times.size - 1)
    take_left = np.abs(t - sorted_times[left]) <= np.abs(sorted_times[right] - t)
    return order[np.where(take_left, left, right)]


def find_segments(times: np.ndarray, rate: float, jitter_s: float = 0.0) -> list[tuple[int, int]]:
    """Uninterrupted stretches ``[start, stop)`` of samples stamped ``times``.

    Parameters
    ----------
    times : (samples,) float
        Seconds.
    rate : float
        Nominal sampling rate (Hz).
    jitter_s : float
        Timestamp jitter the source is known to have (0 for dejittered or file-clock times).

    Returns
    -------
    list of (int, int)
        Consecutive ranges covering all samples (one range when nothing is missing).
    """
    times = np.asarray(times, dtype=np.float64)
    if times.size == 0:
        return []
    step = np.diff(times)
    breaks = np.flatnonzero((step > 1.5 / rate + jitter_s) | (step < -jitter_s)) + 1
    edges = [0, *breaks.tolist(), int(times.size)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def split_segments(segments: list[tuple[int, int]], breaks: list[int]) -> list[tuple[int, int]]:
    """``segments`` with a new segment starting at every sample of ``breaks`` (ignored at a segment start)."""
    edges = sorted({a for a, _ in segments} | {b for _, b in segments} | {int(k) for k in breaks})
    stop = segments[-1][1] if segments else 0
    edges = [e for e in edges if 0 <= e <= stop]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def segment_of(segments: list[tuple[int, int]], start: int, stop: int) -> int | None:
    """Index of the segment that holds samples ``[start, stop)`` entirely, or None."""
    for k, (a, b) in enumerate(segments):
        if a <= start and stop <= b:
            return k
    return None
