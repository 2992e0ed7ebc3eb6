"""Signal units of EEG streams: parse what metadata says, or detect volts vs microvolts from the data."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["UNIT_TO_MICROVOLTS", "parse_unit", "detect_unit", "robust_amplitude", "reconcile_unit"]

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
# A declared unit is believed while the robust amplitude it implies lies in this band (µV):
# scalp EEG sits around 2-50 µV, saturated or noisy channels reach thousands; 0.05 µV (below
# amplifier noise) or 0.1 V of typical amplitude is no EEG at all: the unit is wrong by orders of magnitude.
PLAUSIBLE_UV = (0.05, 1e5)
_TYPICAL_UV = 10.0


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
    scale = robust_amplitude(data)
    if scale is None:
        return None
    return "V" if scale < _VOLT_SCALE_LIMIT else "uV"


def robust_amplitude(data: np.ndarray) -> float | None:
    """Median over all samples of ``|x - median_channel(x)|`` (same unit as ``data``).

    ``data`` is (channels, time); non-finite samples are ignored. None when the data has no
    amplitude (all zero, all non-finite or empty).
    """
    x = np.asarray(data, dtype=np.float64)
    if x.size == 0:
        return None
    x = np.where(np.isfinite(x), x, np.nan)
    if np.isnan(x).all():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channels
        deviation = np.abs(x - np.nanmedian(x, axis=1, keepdims=True))
        scale = float(np.nanmedian(deviation))
    return scale if scale > 0 else None


def reconcile_unit(data: np.ndarray, declared: str | None) -> tuple[str, str | None]:
    """The unit of raw EEG, from what its source declares and what its amplitude says.

    The one unit rule of recordings:

    - no declared unit: detected from the amplitude (:func:`detect_unit`: volts or
      microvolts); data without amplitude is taken as microvolts;
    - a declared unit whose robust amplitude (:func:`robust_amplitude`) lies in
      :data:`PLAUSIBLE_UV` is believed;
    - a declared unit that puts the amplitude outside that band by orders of magnitude
      is overruled by the amplitude: the unit (V, mV, µV, nV) that brings it closest to
      10 µV is taken, and a note names both (e.g. µV declared, volts carried).

    Parameters
    ----------
    data : (channels, time) float
        Raw samples in the source's unit.
    declared : str or None
        The source's unit (any name :func:`parse_unit` knows), or None.

    Returns
    -------
    unit : str
        Canonical unit (a key of :data:`UNIT_TO_MICROVOLTS`).
    note : str or None
        Why the unit is not the declared one (None when it is, or when nothing was declared
        and the amplitude decided silently).
    """
    declared = parse_unit(declared, strict=False)
    scale = robust_amplitude(data)
    if declared is None:
        detected = detect_unit(data) if scale is not None else None
        if detected is None:
            return "uV", "no signal unit declared and the data has no amplitude: taken as microvolts"
        return detected, None
    if scale is None:
        return declared, None
    amplitude_uv = scale * UNIT_TO_MICROVOLTS[declared]
    if PLAUSIBLE_UV[0] <= amplitude_uv <= PLAUSIBLE_UV[1]:
        return declared, None
    best = min(UNIT_TO_MICROVOLTS, key=lambda u: abs(np.log10(scale * UNIT_TO_MICROVOLTS[u] / _TYPICAL_UV)))
    if best == declared:
        return declared, None
    return best, (
        f"the channels declare {declared} but their amplitude ({scale:.3g} {declared} typical) is that of {best}: "
        f"read as {best}. If the amplitude really is {amplitude_uv:.3g} uV, pass unit='{declared}'; "
        "otherwise fix the unit in the recording software"
    )
