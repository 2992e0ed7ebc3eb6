"""Decision latency: how long after its newest input sample a decision left the pipeline.

Latency of one decision = (LSL time at which its probabilities were pushed to the outlet)
- (LSL time of the newest input sample it used). Both are on the local LSL clock: the
inlet's clock synchronisation maps the source's timestamps onto it.
"""

from __future__ import annotations

import threading

import numpy as np


class LatencyStats:
    """Thread-safe running record of the most recent decision latencies.

    Parameters
    ----------
    capacity : int
        Latencies kept for the percentiles; the oldest are overwritten, and the memory is
        allocated once, so it stays flat however long the session.
    """

    def __init__(self, capacity: int = 20000) -> None:
        self._ring = np.zeros(capacity, dtype=np.float64)
        self._lock = threading.Lock()
        self.count = 0

    def add(self, latencies_s: np.ndarray | float) -> None:
        """Record latencies in seconds."""
        values = np.atleast_1d(np.asarray(latencies_s, dtype=np.float64))
        n = values.size
        values = values[-self._ring.size :]
        with self._lock:
            self._ring[(self.count + n - values.size + np.arange(values.size)) % self._ring.size] = values
            self.count += n

    def summary(self) -> dict[str, float | int]:
        """``{"count", "p50_ms", "p99_ms", "mean_ms", "max_ms"}`` over the kept window (NaN when empty)."""
        with self._lock:
            count = self.count
            values = self._ring[: min(count, self._ring.size)].copy()
        if values.size == 0:
            nan = float("nan")
            return {"count": count, "p50_ms": nan, "p99_ms": nan, "mean_ms": nan, "max_ms": nan}
        ms = values * 1e3
        return {
            "count": count, "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "max_ms": float(ms.max()),
        }
