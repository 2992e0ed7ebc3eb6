"""Turning the live recording of a calibration run into the session file ``samba-calibrate`` reads.

The live pipeline records the raw EEG with every input marker (the cues, as they came
over LSL) and every decision of the running model as annotations without duration. The
session file keeps the EEG and the cues, gives each cue the duration of the condition it
opened (the imagery period, the block), which block protocols need, and leaves out the
decisions of the model being replaced (they stay in the live recording and its
``.decisions.tsv``).
"""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np

from .cue_outlet import SentMarker


class SessionFileError(RuntimeError):
    """The recording cannot become a calibration session; the message says why."""


@dataclass(frozen=True)
class SessionFile:
    """The written session.

    Parameters
    ----------
    path : Path
    counts : dict marker -> int
        Cue markers found in the recording, per marker text.
    missing : dict marker -> int
        Markers sent but absent from the recording (a recorder that attached late).
    duration_s : float
        Length of the EEG (s).
    n_channels : int
    """

    path: Path
    counts: dict[str, int]
    missing: dict[str, int]
    duration_s: float
    n_channels: int


def decision_markers(raw: mne.io.BaseRaw) -> set[str]:
    """``<head>:<class>`` markers the live pipeline wrote, from the classes it recorded in the file."""
    try:
        summary = json.loads(raw.info.get("description") or "{}").get("samba_live", {})
    except (TypeError, ValueError):
        return set()
    classes = summary.get("classes") or {}
    return {f"{head}:{c}" for head, names in classes.items() for c in names}


def finalize_session(recorded: str | Path, sent: list[SentMarker], out: str | Path) -> SessionFile:
    """Write the session file ``out`` from the live recording ``recorded``.

    Parameters
    ----------
    recorded : path
        FIF written by the live pipeline (EEG + markers + decisions).
    sent : list of SentMarker
        What the cue outlet sent, in order; gives each recorded cue its duration.
    out : path
        Session file to write (``.fif``).

    Raises
    ------
    SessionFileError
        The recording is unreadable or holds none of the sent markers.
    """
    recorded, out = Path(recorded), Path(out)
    try:
        raw = mne.io.read_raw_fif(recorded, preload=True, verbose="error")
    except Exception as exc:  # noqa: BLE001 - any reader failure means the same to the user
        raise SessionFileError(f"cannot read the recording {recorded}: {exc}") from exc
    durations: dict[str, list[float]] = defaultdict(list)
    for m in sent:
        durations[m.text].append(m.duration_s)
    drop = decision_markers(raw)
    ann = raw.annotations
    onset, duration, description = [], [], []
    seen: dict[str, int] = defaultdict(int)
    for a in ann:
        text = str(a["description"])
        if text in drop:
            continue
        d = float(a["duration"])
        if text in durations:
            k = seen[text]
            seen[text] += 1
            if k < len(durations[text]):
                d = durations[text][k]
        onset.append(float(a["onset"]) - (raw.first_time if ann.orig_time is not None else 0.0))
        duration.append(d)
        description.append(text)
    if sent and not seen:
        raise SessionFileError(
            f"none of the {len(sent)} cue markers reached the recording {recorded}: the recorder did not receive "
            "the cue stream (is another program using the name 'samba-cues'?); run the protocol again"
        )
    # The last condition may be cut by the end of the recording: clip its annotation.
    onset_a = np.asarray(onset, dtype=np.float64)
    duration_a = np.minimum(np.asarray(duration, dtype=np.float64), np.maximum(raw.times[-1] - onset_a, 0.0))
    raw.set_annotations(mne.Annotations(onset_a, duration_a, description, orig_time=None))
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # MNE's file-name convention note
        raw.save(out, overwrite=True, verbose="error")
    missing = {t: len(v) - seen.get(t, 0) for t, v in durations.items() if len(v) > seen.get(t, 0)}
    return SessionFile(path=out, counts=dict(seen), missing=missing, duration_s=float(raw.n_times / raw.info["sfreq"]),
                       n_channels=len(raw.ch_names))
