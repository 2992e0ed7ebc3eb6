"""The eeg-notebooks (NeuroTechX, v0.1) CSV layout of Muse recordings.

One row per sample: ``timestamps`` (LSL or Unix seconds, jittery: muse-lsl stamps
Bluetooth packets), the EEG channels in µV (``TP9, AF7, AF8, TP10``), ``Right AUX``,
and a marker column (``Marker`` or ``Marker0``: 0 = none, else the stimulus code, placed
on its own row). The Muse 2016 samples at :data:`MUSE_RATE`; the timestamps only serve to
find interruptions (Bluetooth drop-outs) beyond their jitter.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .assemble import Samples
from .recording import RecordingError

#: Nominal sampling rate of the Muse 2016 headband (Hz).
MUSE_RATE = 256.0
#: Channels of the Muse 2016 (10-20 names), in the order muse-lsl writes them.
MUSE_EEG = ("TP9", "AF7", "AF8", "TP10")
#: Timestamp jitter of muse-lsl packets (s): steps up to this much off the sample period are not gaps.
MUSE_JITTER_S = 0.05


def is_muse_csv(path: Path) -> bool:
    """Whether ``path`` is a CSV with the eeg-notebooks Muse header."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            header = next(csv.reader(f), [])
    except OSError:
        return False
    return bool(header) and header[0].strip() == "timestamps" and all(ch in header for ch in MUSE_EEG)


def read_muse_csv(path: Path) -> Samples:
    """Read an eeg-notebooks Muse CSV into :class:`Samples` (µV declared)."""
    if not is_muse_csv(path):
        raise RecordingError(
            f"{path}: a CSV file that is not in the eeg-notebooks Muse layout (header 'timestamps,"
            f"{','.join(MUSE_EEG)},...'); export the recording as EDF, BDF, FIF or XDF"
        )
    with open(path, newline="", encoding="utf-8") as f:
        header = [h.strip() for h in next(csv.reader(f))]
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    except ValueError as exc:
        raise RecordingError(f"{path}: the Muse CSV has an unreadable row ({exc}); the file is damaged") from exc
    marker_cols = [i for i, h in enumerate(header) if h.lower().startswith("marker")]
    channel_cols = [i for i, h in enumerate(header) if i and i not in marker_cols]
    labels = [header[i] for i in channel_cols]
    types = ["eeg" if lab in MUSE_EEG else "misc" for lab in labels]
    events = []
    for col in marker_cols:
        rows = np.flatnonzero(table[:, col] != 0)
        events += [(int(r), 0.0, str(int(table[r, col])) if float(table[r, col]).is_integer() else repr(table[r, col]))
                   for r in rows]
    return Samples(
        data=table[:, channel_cols].T.copy(), rate=MUSE_RATE, labels=labels, types=types, declared_unit="uV",
        times=table[:, 0] - table[0, 0] if len(table) else None, sample_events=events, jitter_s=MUSE_JITTER_S,
    )
