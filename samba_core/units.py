"""Signal units of EEG streams: parse what metadata says, or detect volts vs microvolts from the data."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["UNIT_TO_MICROVOLTS", "parse_unit", "detect_unit"]

#: Factor that converts each canonical unit to microvolts.
UNIT_TO_MICROVOLTS = {"V": 1e6, "mV": 1e3, "uV": 1.0, "nV": 1e-3}
_UNIT_ALIASES = {
    "v": "V", "volt": "V", "volts": "V",
    "mv": "mV", "millivolt": "mV", "millivolts": "mV",
    "uv": "uV", "µv": "uV", "μv": "uV", "microvolt": "uV", "microvolts": "uV",
    "nv": "nV", "nanovolt": "nV", "nanovolts": "nV",
}
_UNKNOWN_UNITS = {"", "auto", "unknown", "n/a", "na", "none"}

# Auto unit detection: EEG in volts has a robust amplitude ~1e-6..1e-4, in microvolts
# ~1..1000. The boundary is the geometric middle of the typical values (5e-6 V, 5 µV).
_VOLT_SCALE_LIMIT = 5e-3



def parse_unit(text: str | None, strict: bool = True) -> str | None:
    """Canonical unit (``"V"``, ``"mV"``, ``"uV"``, ``"nV"``) from a name or stream metadata.

    Parameters
    ----------
    text : str or None
        E.g. ``"microvolts"``, ``"µV"``, ``"uV"``, ``"volts"``, ``"mV"``. None, ``""``,
        ``"auto"`` and ``"unknown"`` mean "not known" and return None.
    strict : bool
        Raise on an unrecognised name (default); with False return None instead, which
        suits free-form stream metadata.
    """
    if text is None:
        return None
    key = str(text).strip()
    if key.lower() in _UNKNOWN_UNITS:
        return None
    if key in UNIT_TO_MICROVOLTS:
        return key
    unit = _UNIT_ALIASES.get(key.lower())
    if unit is None and strict:
        raise ValueError(
            f"unknown signal unit {text!r}; use one of V, mV, uV (µV, microvolts), nV, "
            "or None / 'auto' to detect it from the data."
        )
    return unit


def detect_unit(data: np.ndarray) -> str | None:
    """Guess whether raw EEG is in volts or microvolts from its amplitude.

    The robust amplitude is the median over all samples of ``|x - median_channel(x)|``
    (per-channel median removed so that electrode DC offsets do not count). EEG in volts
    gives ~1e-6..1e-4, in microvolts ~1..1000; below 5e-3 means volts. Millivolt data
    cannot be told apart reliably and must be declared explicitly.

    Parameters
    ----------
    data : (channels, time) float
        Raw samples, typically the first second of a stream.

    Returns
    -------
    ``"V"``, ``"uV"``, or None when the data carries no amplitude (all zero / non-finite).
    """
    x = np.asarray(data, dtype=np.float64)
    x = np.where(np.isfinite(x), x, np.nan)
    if np.isnan(x).all():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channels
        deviation = np.abs(x - np.nanmedian(x, axis=1, keepdims=True))
        scale = np.nanmedian(deviation)
    if not scale > 0:
        return None
    return "V" if scale < _VOLT_SCALE_LIMIT else "uV"
