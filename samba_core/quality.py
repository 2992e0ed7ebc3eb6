"""Per-channel signal quality of a live EEG stream over a sliding window.

The monitor looks at the **raw microvolt data, before any cleaning or filtering**
(:class:`~samba_core.preprocessing.OnlinePreprocessor` feeds it right after unit
conversion): NaNs are still visible there (the preprocessor replaces them), and clipping
is a property of the raw samples (a band-pass smears a flat rail segment into ringing).
Slow drifts and DC offsets are removed inside the monitor by judging amplitude as the
standard deviation around a straight line fitted to the window.

Every channel gets one :class:`ChannelQuality`, checked in this order:

- ``NAN``: a non-finite sample in the window.
- ``SATURATED`` (rail): ``clip_fraction`` of the window at or beyond ``rail_uv``, when the
  amplifier's range is known.
- ``FLAT``: detrended standard deviation below ``flat_std_uv`` (disconnected input,
  zero-filled channel, channel stuck at a constant value).
- ``SATURATED`` (clipping): at least ``clip_fraction`` of the window sits in runs of equal
  samples at the window's maximum or minimum, the signature of a signal hitting a rail.
  Real EEG, even 1-µV quantised, stays around 1% (EEGMMIDB).
- ``NOISY``: detrended standard deviation above ``noisy_factor`` times the median over the
  other usable channels (needs 3 of them), or above ``max_std_uv`` when set.
- ``GOOD`` otherwise, and also while less than ``min_fill_s`` of data has arrived
  (except NAN, which needs no statistics).

A channel recovers as soon as its bad samples have left the window. Memory is one ring
buffer of ``(n_channels, window_s * rate)`` samples whatever the stream length; the
statistics are computed when asked for (at GUI / inference rate, not per sample) and
cached until the next update.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from .resampling import validate_chunk, validate_rate

__all__ = ["ChannelQuality", "QualityConfig", "ChannelQualityMonitor"]


class ChannelQuality(Enum):
    """Quality verdict for one channel over the monitor window."""

    GOOD = "good"
    FLAT = "flat"
    NOISY = "noisy"
    SATURATED = "saturated"
    NAN = "nan"


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of :class:`ChannelQualityMonitor` (all amplitudes in µV).

    Parameters
    ----------
    flat_std_uv : float
        Detrended standard deviation below which a channel is FLAT. Amplifier noise
        alone is ~0.5-1 µV rms; EEG is tens of µV.
    noisy_factor : float
        A channel whose detrended standard deviation exceeds this multiple of the median
        over the usable channels is NOISY (5 = 25 times the median variance).
    max_std_uv : float or None
        Absolute NOISY limit, useful with fewer than 4 channels.
    clip_fraction : float
        Fraction of the window in flat runs at the extremes (or beyond ``rail_uv``)
        that makes a channel SATURATED.
    rail_uv : float or None
        Amplifier input range (µV), if known: ``|x| >= rail_uv`` counts as clipped.
    min_fill_s : float
        Seconds of data needed before statistics are judged.
    """

    flat_std_uv: float = 0.5
    noisy_factor: float = 5.0
    max_std_uv: float | None = None
    clip_fraction: float = 0.05
    rail_uv: float | None = None
    min_fill_s: float = 0.5

    def __post_init__(self) -> None:
        if not self.flat_std_uv >= 0:
            raise ValueError(f"flat_std_uv must be >= 0 µV, got {self.flat_std_uv!r}.")
        if not self.noisy_factor > 1:
            raise ValueError(f"noisy_factor must be > 1, got {self.noisy_factor!r}.")
        if not 0 < self.clip_fraction <= 1:
            raise ValueError(f"clip_fraction must be in (0, 1], got {self.clip_fraction!r}.")
        for name in ("max_std_uv", "rail_uv"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 µV or None, got {value!r}.")
        if not self.min_fill_s >= 0:
            raise ValueError(f"min_fill_s must be >= 0 s, got {self.min_fill_s!r}.")


class ChannelQualityMonitor:
    """Sliding-window channel quality of a ``(channels, time)`` µV stream.

    Parameters
    ----------
    n_channels : int
        Number of channels (rows) of every chunk.
    rate : float
        Sampling rate of the chunks in Hz.
    window_s : float
        Length of the judged window in seconds.
    config : QualityConfig
        Thresholds.
    """

    def __init__(self, n_channels: int, rate: float, window_s: float = 2.0,
                 config: QualityConfig = QualityConfig()) -> None:
        validate_rate(rate, "rate")
        if int(n_channels) != n_channels or n_channels < 1:
            raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}.")
        self.n_channels = int(n_channels)
        self.rate = float(rate)
        self.window_samples = int(round(window_s * self.rate))
        if self.window_samples < 2:
            raise ValueError(f"window_s={window_s!r} s holds fewer than 2 samples at "
                             f"{self.rate:g} Hz; use a longer window.")
        self.config = config
        self._min_fill = max(2, min(self.window_samples,
                                    int(round(config.min_fill_s * self.rate))))
        self._ring = np.zeros((self.n_channels, self.window_samples))
        self.reset()

    def reset(self) -> None:
        """Forget the window (e.g. after a stream gap); all channels read GOOD again."""
        self._ring.fill(0.0)
        self._pos = 0
        self._filled = 0
        self.n_samples = 0
        self._cache: tuple[list[ChannelQuality], np.ndarray] | None = None

    def update(self, chunk_uv: np.ndarray) -> None:
        """Append samples.

        Parameters
        ----------
        chunk_uv : (n_channels, n_samples) float
            Raw (unfiltered) samples in µV, any ``n_samples >= 0``.
        """
        x = validate_chunk(chunk_uv, self.n_channels)
        n = x.shape[1]
        if n == 0:
            return
        w = self.window_samples
        if n >= w:
            self._ring[:] = x[:, -w:]
            self._pos = 0
        else:
            head = min(n, w - self._pos)
            self._ring[:, self._pos : self._pos + head] = x[:, :head]
            self._ring[:, : n - head] = x[:, head:]
            self._pos = (self._pos + n) % w
        self._filled = min(w, self._filled + n)
        self.n_samples += n
        self._cache = None

    def window(self) -> np.ndarray:
        """(n_channels, n) µV: the judged samples in time order, ``n <= window_samples``."""
        if self._filled < self.window_samples:
            return self._ring[:, : self._filled].copy()
        return np.concatenate([self._ring[:, self._pos :], self._ring[:, : self._pos]], axis=1)

    def status(self) -> list[ChannelQuality]:
        """Per-channel verdicts over the current window."""
        return list(self._evaluate()[0])

    def good_mask(self) -> np.ndarray:
        """(n_channels,) bool, True where the channel is GOOD."""
        return np.array([q is ChannelQuality.GOOD for q in self._evaluate()[0]])

    def amplitude_uv(self) -> np.ndarray:
        """(n_channels,) detrended standard deviation in µV (NaN for NAN channels)."""
        return self._evaluate()[1].copy()

    def _evaluate(self) -> tuple[list[ChannelQuality], np.ndarray]:
        if self._cache is None:
            self._cache = self._judge(self.window())
        return self._cache

    def _judge(self, w: np.ndarray) -> tuple[list[ChannelQuality], np.ndarray]:
        cfg = self.config
        n = w.shape[1]
        is_nan = ~np.isfinite(w).all(axis=1)
        quality = np.full(self.n_channels, ChannelQuality.GOOD, dtype=object)
        amplitude = np.full(self.n_channels, np.nan)
        if n >= self._min_fill:
            x = np.where(np.isfinite(w), w, 0.0) if is_nan.any() else w
            amplitude = _detrended_std(x)
            amplitude[is_nan] = np.nan
            flat = amplitude < cfg.flat_std_uv
            clipped = _clipped_fraction(x, cfg.clip_fraction) >= cfg.clip_fraction
            clipped &= ~flat
            railed = np.zeros(self.n_channels, dtype=bool)
            if cfg.rail_uv is not None:
                railed = np.mean(np.abs(x) >= cfg.rail_uv, axis=1) >= cfg.clip_fraction
            usable = ~(is_nan | flat | clipped | railed)
            noisy = np.zeros(self.n_channels, dtype=bool)
            if np.count_nonzero(usable) >= 3:
                noisy = amplitude > cfg.noisy_factor * np.median(amplitude[usable])
            if cfg.max_std_uv is not None:
                noisy |= amplitude > cfg.max_std_uv
            # Assigned from the weakest to the strongest verdict.
            quality[noisy & ~is_nan] = ChannelQuality.NOISY
            quality[clipped] = ChannelQuality.SATURATED
            quality[flat] = ChannelQuality.FLAT
            quality[railed] = ChannelQuality.SATURATED
        quality[is_nan] = ChannelQuality.NAN
        return list(quality), amplitude


def _detrended_std(x: np.ndarray) -> np.ndarray:
    """Standard deviation of each row around its least-squares line.

    x: (channels, time) -> (channels,). Removes DC offsets and slow drifts, which say
    nothing about contact quality within a window of a few seconds. Computed from
    moments (no residual array): var(x) - slope^2 var(t), with t centred.
    """
    n = x.shape[1]
    t = np.arange(n) - (n - 1) / 2.0
    mean = x.mean(axis=1)
    slope = np.einsum("ij,j->i", x, t) / (t @ t)
    variance = np.einsum("ij,ij->i", x, x) / n - mean**2 - slope**2 * (t @ t) / n
    return np.sqrt(np.maximum(variance, 0.0))


def _clipped_fraction(x: np.ndarray, at_least: float) -> np.ndarray:
    """Fraction of each row in runs of equal samples at the row's maximum or minimum.

    x: (channels, time) -> (channels,). The run structure is only examined for rows with
    at least ``at_least`` of their samples at an extreme, which few healthy rows have.
    """
    n = x.shape[1]
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    fraction = np.zeros(x.shape[0])
    at_hi, at_lo = x == hi, x == lo
    candidates = (np.count_nonzero(at_hi, axis=1) + np.count_nonzero(at_lo, axis=1)) >= at_least * n
    for c in np.flatnonzero(candidates):
        at_extreme = at_hi[c] | at_lo[c]
        in_runs = at_extreme[1:] & at_extreme[:-1] & (x[c, 1:] == x[c, :-1])
        fraction[c] = np.count_nonzero(in_runs) / n
    return fraction
