"""Channel-label normalisation: from what devices and files write to 10-05 names.

Streams and files decorate electrode names in many ways: ``EEG Fp1-REF`` (EDF exports
from clinical systems), ``Fc5.`` / ``C3..`` (BCI2000's dot-padded EDF labels),
``FP1`` (upper case), ``T3`` (the pre-1991 10-20 name of T7). Normalisation undoes this
so that one label spells one electrode, and recognises labels that are channel numbers
("3", "Ch3", "EXG Channel 2") so a device profile can place them by position.
"""

from __future__ import annotations

import functools
import re

from .head_frame import STANDARD_TEMPLATE, template_positions

#: Pre-1991 10-20 names and their 10-10/10-05 successors (same scalp sites).
LEGACY_NAMES = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}

_EEG_PREFIX = re.compile(r"^EEG(?:[\s_:\-]+|(?=\d))", re.IGNORECASE)
# Reference electrodes appended to the active electrode's name ("Fp1-REF", "C3-A2").
_REFERENCE_SUFFIX = re.compile(
    r"\s*-\s*(?:REF\d*|LE|AR|AVG|CAR|A1|A2|A1A2|M1|M2|M1M2|LM|VREF)$", re.IGNORECASE
)
_POSITIONAL = re.compile(
    r"^(?:(?:ch|chan|channel|exg\s*channel|electrode|input)[\s_#\-]*)?0*(\d{1,3})$",
    re.IGNORECASE,
)


def clean_label(label: str) -> str:
    """Strip decoration that is not part of an electrode's name.

    Removes surrounding and repeated whitespace, EDF dot padding (``C3..``), an ``EEG``
    prefix (``EEG Fp1``) and a reference suffix (``-REF``, ``-LE``, ``-A1``, ``-M2`` ...).
    Case is kept.

    Examples
    --------
    >>> clean_label("EEG FP1-REF"), clean_label("Fc5."), clean_label(" Right  AUX ")
    ('FP1', 'Fc5', 'Right AUX')
    """
    text = " ".join(str(label).split()).rstrip(". ")
    stripped = _EEG_PREFIX.sub("", text)
    text = stripped if stripped else text
    stripped = _REFERENCE_SUFFIX.sub("", text)
    text = stripped if stripped else text
    return text.rstrip(". ")


@functools.lru_cache(maxsize=1)
def _canonical_1005() -> dict[str, str]:
    return {key: name for key, (name, _) in template_positions(STANDARD_TEMPLATE).items()}


def normalize_label(label: str) -> str:
    """The canonical name of a channel label.

    Cleans the label (see :func:`clean_label`), maps legacy 10-20 names (T3/T4/T5/T6 to
    T7/T8/P7/P8) and spells 10-05 names as the standard does (``FP1`` -> ``Fp1``,
    ``FCZ`` -> ``FCz``). Labels outside the 10-05 system come back cleaned only.
    """
    cleaned = clean_label(label)
    key = cleaned.upper()
    key = LEGACY_NAMES.get(key, key)
    return _canonical_1005().get(key, cleaned)


def label_key(label: str) -> str:
    """Case-insensitive lookup key of a label: its normalised form, upper-cased."""
    return normalize_label(label).upper()


def is_standard_1005(label: str) -> bool:
    """Whether a label names a 10-05 position once normalised."""
    return label_key(label) in _canonical_1005()


def positional_number(label: str) -> int | None:
    """The channel number in labels such as "3", "Ch3", "EEG 3" or "EXG Channel 2".

    Returns None for anything else. Whether the number counts from 0 or 1 is decided by
    the caller over all labels of a stream (a "0" anywhere means 0-based).
    """
    match = _POSITIONAL.match(clean_label(label))
    return int(match.group(1)) if match else None
