"""Subjects on disk for the cross-subject work: which there are, which are reserved, and their epochs.

Two dataset layouts under a data root (see ``../shared/data/README.md``):

- ``mi``: PhysioNet EEGMMIDB in MNE's ``eegbci`` layout, imagined left/right fist runs
  4, 8, 12 (any of them present; ``T1`` = left, ``T2`` = right); subject ids ``S001`` ...;
  recorded on 60 Hz mains.
- ``distraction``: PhysioNet EEGMAT, ``eegmat/SubjectNN_1.edf`` (rest, class ``attentive``)
  and ``SubjectNN_2.edf`` (mental arithmetic, class ``distracted``); subject ids
  ``Subject01`` ...; each file is one condition, so it becomes one block; 50 Hz mains.
  ``EEG A2-A1`` (the reference derivation) and ``ECG ECG`` are not scalp EEG and are left out.

Files are found by :func:`samba_core.recordings.discover` and read by
:func:`samba_core.recordings.read_recording` (the one reader). Reserved subjects (the data
README's "Reserved for evaluation" section, parsed by
:func:`samba_core.recordings.reserved_subjects`) are never returned by discovery and are refused
when named: the leave-subject-out protocol trains on every subject outside the scored fold.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from samba_core.preprocessing import PreprocessConfig

from samba_core.recordings import Marker, Recording, discover, read_recording, reserved_subjects
from samba_core.recordings.datasets import EEGMMIDB_MAINS_HZ, IMAGERY_RUNS, SubjectRecordings

from .epochs import EpochSet, build_epochs
from .protocols import DISTRACTION, EEGMMIDB_IMAGERY, Protocol

TASKS = ("mi", "distraction")
#: The dataset of each task's subjects (``samba_core.recordings.datasets``).
DATASET = {"mi": "eegmmidb", "distraction": "eegmat"}
#: Mains frequency (Hz) of each dataset's recordings, for the preprocessing notch.
MAINS_HZ = {"mi": EEGMMIDB_MAINS_HZ, "distraction": 50.0}
#: EEGMAT channels that are not scalp EEG.
EEGMAT_NON_EEG = {"EEG A2-A1": "misc", "ECG ECG": "ecg"}
#: EEGMAT condition (``datasets.EEGMAT_CONDITIONS``) -> block marker.
EEGMAT_BLOCKS = {"rest": "block/attentive", "arithmetic": "block/distracted"}


class SubjectDataError(ValueError):
    """A subject is absent, reserved or unusable; the message names the subject and the fix."""


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise SubjectDataError(f"task must be one of {TASKS}, got {task!r}")


def _subjects(root: str | Path, task: str) -> dict[str, SubjectRecordings]:
    """id -> files of every subject of ``task``'s dataset with usable files (reserved ones included)."""
    def usable(s: SubjectRecordings) -> bool:
        if task == "mi":
            return bool(s.paths(runs=IMAGERY_RUNS))
        return all(s.paths(label=condition) for condition in EEGMAT_BLOCKS)  # a rest and an arithmetic file

    return {s.name: s for s in discover(root, (DATASET[task],)) if usable(s)}


def reserved_ids(root: str | Path) -> set[str]:
    """Subject ids the data README reserves for evaluation (``S007``, ``Subject05``)."""
    return {s.name for s in discover(root, tuple(DATASET.values()), reserved_subjects(root)) if s.reserved}


def present_subjects(root: str | Path, task: str) -> list[str]:
    """Subject ids with usable files for ``task`` under ``root`` (reserved ones included), sorted."""
    _check_task(task)
    return sorted(_subjects(root, task))


def select_subjects(root: str | Path, task: str, requested: list[str] | None = None) -> list[str]:
    """The subjects to use: ``requested`` (numbers or ids) or every present, non-reserved one.

    Raises
    ------
    SubjectDataError
        A requested subject is absent or reserved, or no subject is usable.
    """
    present, reserved = present_subjects(root, task), reserved_ids(root)
    if not requested:
        chosen = [s for s in present if s not in reserved]
    else:
        chosen = [subject_id(s, task) for s in requested]
        missing = [s for s in chosen if s not in present]
        if missing:
            raise SubjectDataError(f"subjects {missing} have no {task} recordings under {root} (present: {present})")
        held = [s for s in chosen if s in reserved]
        if held:
            raise SubjectDataError(
                f"subjects {held} are reserved for evaluation by {Path(root) / 'README.md'}: the leave-subject-out "
                "protocol trains on every subject outside the scored fold, so leave them out"
            )
    if not chosen:
        raise SubjectDataError(f"no usable {task} subject under {root} (present: {present}, reserved: {sorted(reserved)})")
    return chosen


def subject_id(spec: str | int, task: str) -> str:
    """``7``, ``"7"``, ``"S007"`` -> ``"S007"`` (mi); ``"Subject07"`` (distraction)."""
    _check_task(task)
    digits = re.findall(r"\d+", str(spec))
    if not digits:
        raise SubjectDataError(f"{spec!r} is not a subject number or id (e.g. 7, S007, Subject07)")
    n = int(digits[-1])
    return f"S{n:03d}" if task == "mi" else f"Subject{n:02d}"


def subject_recordings(root: str | Path, subject: str, task: str) -> list[Recording]:
    """The recordings of one subject for ``task``, with the dataset's markers and channel types."""
    _check_task(task)
    found = _subjects(root, task).get(subject)
    if found is None:
        raise SubjectDataError(f"{subject} has no {task} recordings under {root}")
    if task == "mi":
        return [read_recording(p) for p in found.paths(runs=IMAGERY_RUNS)]
    out = []
    for condition, marker in EEGMAT_BLOCKS.items():
        for path in found.paths(label=condition):
            rec = read_recording(path)
            types = [EEGMAT_NON_EEG.get(label, t) for label, t in zip(rec.labels, rec.types)]
            out.append(dataclasses.replace(rec, types=types, markers=[Marker.at(0, rec.sample_rate, marker,
                                                                                rec.duration_s)]))
    return out


def task_protocol(task: str, window_s: float | None = None) -> Protocol:
    """The epoching protocol: EEGMMIDB imagery cues, or EEGMAT blocks cut into ``window_s`` decision windows."""
    _check_task(task)
    if task == "mi":
        return EEGMMIDB_IMAGERY
    if window_s is None:
        return DISTRACTION
    context = DISTRACTION.window[0] - DISTRACTION.tmin
    return dataclasses.replace(DISTRACTION, name=f"eegmat-{window_s:g}s", window=(context, context + window_s),
                               stride=float(window_s))


def task_preprocessing(preprocessing: PreprocessConfig, task: str) -> PreprocessConfig:
    """The base checkpoint's preprocessing with the dataset's mains notch."""
    _check_task(task)
    return dataclasses.replace(preprocessing, notch=MAINS_HZ[task])


def subject_epochs(root: str | Path, subject: str, task: str, preprocessing: PreprocessConfig,
                   protocol: Protocol | None = None, min_trials_per_class: int = 2,
                   recordings: list[Recording] | None = None) -> EpochSet:
    """Labelled epochs of one subject through the live preprocessing (``build_epochs``).

    ``recordings``: the subject's :func:`subject_recordings`, when already read (several protocols).
    """
    recordings = subject_recordings(root, subject, task) if recordings is None else recordings
    return build_epochs(recordings, protocol or task_protocol(task),
                        task_preprocessing(preprocessing, task), min_trials_per_class=min_trials_per_class,
                        )
