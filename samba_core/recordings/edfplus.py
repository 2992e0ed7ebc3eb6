"""EDF+D / BDF+D: when each data record was recorded.

MNE reads the records of a discontinuous EDF+ file one after the other, as if they were
contiguous. The EDF+ specification (Kemp & Olivan, Clin. Neurophysiol. 114:1755-1761,
2003, section 2.2.4) puts each record's start time in the first TAL of its annotation
signal (``+<onset>\\x14\\x14\\x00``); this module reads those onsets so that the gaps
become segments.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

_TIMEKEEPING = re.compile(rb"^([+-]\d+(?:\.\d*)?)\x14\x14")


def _field(header: bytes, start: int, size: int) -> str:
    return header[start : start + size].decode("latin-1").strip()


def record_onsets(path: Path) -> np.ndarray | None:
    """Start time (s, from the first record) of every data record of an EDF+D / BDF+D file.

    Returns None for any other file (EDF, EDF+C, BDF, GDF ...), whose records are contiguous.

    Raises
    ------
    ValueError
        The header says EDF+D but the records or their time-keeping annotations are missing.
    """
    with open(path, "rb") as f:
        fixed = f.read(256)
        if len(fixed) < 256 or not _field(fixed, 192, 44).upper().startswith(("EDF+D", "BDF+D")):
            return None
        ns = int(_field(fixed, 252, 4))
        signals = f.read(256 * ns)
        n_records = int(_field(fixed, 236, 8))
        header_bytes = int(_field(fixed, 184, 8))
        bytes_per_sample = 3 if fixed[0] == 0xFF else 2
        labels = [_field(signals, 16 * i, 16) for i in range(ns)]
        base = ns * (16 + 80 + 8 + 8 + 8 + 8 + 8 + 80)
        per_record = [int(_field(signals, base + 8 * i, 8)) for i in range(ns)]
        annotation = [i for i, lab in enumerate(labels) if lab.endswith("Annotations")]
        if not annotation:
            raise ValueError("EDF+D file without an annotation signal: the record times are unknown")
        record_size = sum(per_record) * bytes_per_sample
        start = sum(per_record[: annotation[0]]) * bytes_per_sample
        size = per_record[annotation[0]] * bytes_per_sample
        onsets = []
        for k in range(n_records):
            f.seek(header_bytes + k * record_size + start)
            match = _TIMEKEEPING.match(f.read(size))
            if match is None:
                raise ValueError(f"EDF+D record {k + 1} has no time-keeping annotation")
            onsets.append(float(match.group(1)))
    onsets = np.asarray(onsets)
    return onsets - onsets[0] if onsets.size else onsets
