"""Which mains frequency the line noise of a stream is at: a Welch check over its first seconds.

The notch filter takes its frequency from ``--mains``, the recording (a replay's
``line_freq``) or the checkpoint. A checkpoint trained on 50 Hz data but used on a 60 Hz
recording (EEGMMIDB was recorded in the USA) would notch the wrong frequency: the check
below looks at the data and says so, once.

Method: Welch's averaged periodogram (P. D. Welch, IEEE Trans. Audio Electroacoust.
15(2):70-73, 1967; :func:`scipy.signal.welch`) over the first ``seconds`` of every EEG
channel, 0.5 Hz resolution; the line-noise score of f in {50, 60} Hz is the median over
channels of the power at f divided by the median power of the 40-75 Hz band around it
(bins within 2 Hz of 50 and 60 excluded). A frequency is the mains when its score is at
least ``min_ratio`` and higher than the other's.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import welch

MAINS_HZ = (50.0, 60.0)


def line_noise_frequency(x: np.ndarray, rate: float, min_ratio: float = 5.0) -> float | None:
    """The mains frequency of the line noise in ``x``, or None when none stands out.

    Parameters
    ----------
    x : (channels, n) float
        Raw EEG, any unit, at least 2 s.
    rate : float
        Sampling rate (Hz); must exceed 2 x 60 Hz to tell 50 from 60.
    min_ratio : float
        How far (power ratio) the peak must stand above the neighbouring band.

    Raises
    ------
    ValueError
        Too short, or sampled too slowly to see 60 Hz.
    """
    if rate <= 2 * max(MAINS_HZ) + 4:
        raise ValueError(f"a {rate:g} Hz stream cannot show {max(MAINS_HZ):g} Hz line noise")
    nperseg = int(2 * rate)
    if x.shape[1] < nperseg:
        raise ValueError(f"need at least 2 s of data ({nperseg} samples), got {x.shape[1]}")
    x = np.nan_to_num(np.asarray(x, dtype=np.float64))
    freqs, psd = welch(x - x.mean(axis=1, keepdims=True), fs=rate, nperseg=nperseg, axis=-1)
    band = (freqs >= 40) & (freqs <= min(75.0, rate / 2 - 1))
    for f in MAINS_HZ:
        band &= np.abs(freqs - f) > 2.0
    floor = np.median(psd[:, band], axis=1) + 1e-30
    scores = {}
    for f in MAINS_HZ:
        peak = psd[:, np.abs(freqs - f) <= 0.5].max(axis=1)
        scores[f] = float(np.median(peak / floor))
    best = max(scores, key=scores.get)
    return best if scores[best] >= min_ratio else None


class MainsCheck:
    """Collects the first ``seconds`` of a stream, then tells once whether the notch is misplaced.

    Parameters
    ----------
    rate : float
        Stream rate (Hz).
    notch : float or None
        The notch frequency in use (None: no notch, nothing to check).
    seconds : float
        How much data the check looks at.
    """

    def __init__(self, rate: float, notch: float | None, seconds: float = 10.0) -> None:
        self.rate = float(rate)
        self.notch = notch
        self._need = int(seconds * rate)
        self._chunks: list[np.ndarray] = []
        self._have = 0
        self.done = notch is None or rate <= 2 * max(MAINS_HZ) + 4
        #: The detected line-noise frequency once checked (None: none stands out / not checked).
        self.detected: float | None = None

    def add(self, x: np.ndarray) -> None:
        """x: (channels, n) raw samples (cheap: only copies until enough are there)."""
        if self.done or self._have >= self._need:
            return
        self._chunks.append(np.array(x, dtype=np.float32))
        self._have += x.shape[1]

    def verdict(self) -> str | None:
        """Once enough data are in: a message if the notch is misplaced (returned only once)."""
        if self.done or self._have < self._need:
            return None
        self.done = True
        data, self._chunks = np.concatenate(self._chunks, axis=1), []
        self.detected = line_noise_frequency(data, self.rate)
        if self.detected is None or abs(self.detected - self.notch) < 1.0:
            return None
        return (f"the line noise of this stream is at {self.detected:g} Hz but the notch filter is at "
                f"{self.notch:g} Hz; restart with --mains {self.detected:g} (samba-live) or set the mains "
                "frequency in the options")
