"""Preparing raw traces for drawing: peak-preserving decimation and per-channel scales.

A 10 s window of 64 channels at 1 kHz is 640 000 points; the screen has ~1000 pixels
across. Drawing every sample would cost the GUI thread tens of milliseconds per frame,
so each channel is reduced to one (min, max) pair per pixel column, which keeps spikes
and artefacts visible (plain striding would hide them).
"""

from __future__ import annotations

import numpy as np


def decimate_peaks(times: np.ndarray, x: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce traces to at most ``max_points`` points per channel, keeping extremes.

    Parameters
    ----------
    times : (n,) float
        Sample times (s).
    x : (channels, n) float
        Samples.
    max_points : int
        Points per channel to return at most (even; two per bin).

    Returns
    -------
    t : (m,) float
        Times of the returned points (bin start, then bin end, per bin).
    y : (channels, m) float
        Bin minimum then bin maximum, per bin; NaN where a bin is all NaN.
    """
    x = np.asarray(x)
    n = x.shape[1]
    if n <= max_points:
        return np.asarray(times, dtype=np.float64), x
    size = int(np.ceil(n / max(1, max_points // 2)))  # samples per bin
    bins = n // size
    used = size * bins
    start = n - used  # fewer than `size` oldest samples left out: the right edge of the plot is "now"
    blocks = x[:, start:].reshape(x.shape[0], bins, size)
    with np.errstate(all="ignore"), _quiet_nan():
        lo = np.nanmin(blocks, axis=2)
        hi = np.nanmax(blocks, axis=2)
    y = np.empty((x.shape[0], 2 * bins), dtype=x.dtype)
    y[:, 0::2], y[:, 1::2] = lo, hi
    tb = np.asarray(times[start:], dtype=np.float64).reshape(bins, size)
    t = np.empty(2 * bins)
    t[0::2], t[1::2] = tb[:, 0], tb[:, -1]
    return t, y


def robust_scales(x: np.ndarray, floor_uv: float = 1.0) -> np.ndarray:
    """Per-channel display scale: the spread of each trace, robust to a few spikes.

    Parameters
    ----------
    x : (channels, n) float
        µV.
    floor_uv : float
        Smallest scale returned (µV), so flat channels are not magnified into noise.

    Returns
    -------
    (channels,) float
        Four times the median absolute deviation from the channel's median (about
        2.7 standard deviations for Gaussian EEG), in µV; ``floor_uv`` when unknown.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[1] == 0:
        return np.full(x.shape[0], floor_uv)
    with np.errstate(all="ignore"), _quiet_nan():
        med = np.nanmedian(x, axis=1, keepdims=True)
        mad = np.nanmedian(np.abs(x - med), axis=1)
    scale = 4.0 * mad
    scale[~np.isfinite(scale)] = floor_uv
    return np.maximum(scale, floor_uv)


class _quiet_nan:
    """Silence numpy's all-NaN-slice warnings (a NaN channel is a state we show, not an error)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
