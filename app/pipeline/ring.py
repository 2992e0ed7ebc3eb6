"""Fixed-size, thread-safe ring buffers that the GUI reads while the worker writes."""

from __future__ import annotations

import threading

import numpy as np


class TimedRing:
    """The newest ``capacity`` rows of ``(rows, time)`` data with a timestamp per column.

    The worker thread appends; any thread takes a consistent copy with :meth:`snapshot`.
    Memory is fixed at construction whatever the stream length.

    Parameters
    ----------
    n_rows : int
        Rows (channels, classes...).
    capacity : int
        Columns (samples, tokens) kept.
    """

    def __init__(self, n_rows: int, capacity: int) -> None:
        self.n_rows = int(n_rows)
        self.capacity = max(1, int(capacity))
        self._data = np.zeros((self.n_rows, self.capacity), dtype=np.float32)
        self._times = np.zeros(self.capacity, dtype=np.float64)
        self._lock = threading.Lock()
        self._written = 0

    def append(self, data: np.ndarray, times: np.ndarray) -> None:
        """data: (n_rows, n); times: (n,) LSL seconds."""
        data = np.asarray(data)
        times = np.asarray(times, dtype=np.float64)
        n = times.size
        if n == 0:
            return
        if n > self.capacity:
            data, times = data[:, -self.capacity :], times[-self.capacity :]
        k = times.size
        with self._lock:
            pos = (self._written + n - k) % self.capacity
            first = min(k, self.capacity - pos)
            self._data[:, pos : pos + first] = data[:, :first]
            self._times[pos : pos + first] = times[:first]
            self._data[:, : k - first] = data[:, first:]
            self._times[: k - first] = times[first:]
            self._written += n

    def snapshot(self, last: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the newest ``last`` columns (all kept ones by default), oldest first.

        Returns
        -------
        data : (n_rows, n) float32
        times : (n,) float64
        """
        with self._lock:
            n = min(self._written, self.capacity)
            if last is not None:
                n = min(n, int(last))
            end = self._written % self.capacity
            idx = (np.arange(end - n, end)) % self.capacity
            return self._data[:, idx].copy(), self._times[idx].copy()

    def clear(self) -> None:
        with self._lock:
            self._written = 0
