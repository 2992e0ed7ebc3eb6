"""Sessions as BIDS (EEG-BIDS, Pernet et al., Scientific Data 6:103, 2019), written by mne-bids.

A finished SAMBA-Live recording (``--record``) or a calibration session file is a FIF
whose annotations hold the cues (``T1``, ``cue/left``...), the decisions (``mi:left``)
and acquisition breaks (``BAD_ACQ_SKIP``). :func:`write_session_bids` copies it into a
BIDS dataset: the EEG as EDF, the annotations as ``*_events.tsv`` (column
``trial_type``), channels, sidecars and the dataset description, so the session opens in
EEGLAB, FieldTrip, Brainstorm, MNE and every BIDS app. Runs are numbered on from those
already in the dataset, so sessions accumulate instead of overwriting each other.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import mne

from .errors import RecordingError


def _label(text: str, what: str) -> str:
    label = re.sub(r"[^A-Za-z0-9]", "", str(text))
    if not label:
        raise RecordingError(f"BIDS {what} label {text!r} has no letter or digit; use e.g. 01 or P07")
    return label


def next_run(root: Path, subject: str, task: str) -> int:
    """1 + the highest run of ``subject``/``task`` that has any file in the dataset at ``root`` (1 if none):
    the leftovers of an interrupted export (e.g. only its events.tsv) never block the next session."""
    runs = [int(m.group(1)) for p in (root / f"sub-{subject}").rglob(f"sub-{subject}_*task-{task}_*run-*_*")
            if (m := re.search(r"_run-(\d+)_", p.name))] if root.is_dir() else []
    return max(runs, default=0) + 1


def write_session_bids(
    fif: str | os.PathLike, root: str | os.PathLike, subject: str = "01", task: str = "samba",
    line_freq: float | None = None,
):
    """Write the recorded session ``fif`` into the BIDS dataset at ``root`` (created if needed).

    Parameters
    ----------
    fif : path-like
        A finished recording (``samba-live --record``) or calibration session file.
    root : path-like
        Folder of the BIDS dataset.
    subject, task : str
        BIDS labels (letters and digits; other characters are dropped).
    line_freq : float, optional
        Mains frequency (Hz) for the sidecar; default: the file's, else unknown ("n/a").

    Returns
    -------
    mne_bids.BIDSPath
        Where the EEG file was written.

    Raises
    ------
    RecordingError
        The file cannot be read, or a label is empty.
    """
    from mne_bids import BIDSPath, write_raw_bids  # heavy: imported only when BIDS is asked for

    subject, task, root = _label(subject, "subject"), _label(task, "task"), Path(root)
    try:
        raw = mne.io.read_raw_fif(fif, preload=True, verbose="error")
    except Exception as exc:  # noqa: BLE001 - MNE raises anything on a damaged file; all mean "unreadable"
        raise RecordingError(f"cannot write {fif} as BIDS: it is not a readable FIF recording "
                             f"({type(exc).__name__}: {exc})") from exc
    # The EDF writer would turn BAD_ACQ_SKIP (a zero-length mark where samples were lost) into zeroed data.
    ann = raw.annotations
    raw.set_annotations(mne.Annotations(
        ann.onset, ann.duration, ["BAD_acquisition_gap" if d.startswith("BAD_ACQ_SKIP") else d for d in ann.description],
        orig_time=ann.orig_time))
    if line_freq is not None:
        raw.info["line_freq"] = float(line_freq)
    path = BIDSPath(subject=subject, task=task, run=next_run(root, subject, task), datatype="eeg", root=root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "converting to EDF", "no line frequency": said in the sidecars
        write_raw_bids(raw, path, format="EDF", allow_preload=True, overwrite=False, verbose=False)
    return path
