"""Public datasets in a data folder: where their files lie and what each file is.

- **EEGMMIDB** (PhysioNet EEG Motor Movement/Imagery, Schalk et al. 2004) in the layout of
  ``mne.datasets.eegbci``: ``MNE-eegbci-data/files/eegmmidb/1.0.0/SXXX/SXXXRYY.edf``.
  Runs 4, 8, 12 are imagined left/right fist (``T1`` = left, ``T2`` = right).
- **EEGMAT** (PhysioNet mental arithmetic, Zyma et al. 2019): ``eegmat/SubjectNN_1.edf``
  is rest before the task, ``eegmat/SubjectNN_2.edf`` mental serial subtraction.
- **Muse** (NeuroTechX eeg-notebooks v0.1):
  ``eeg-notebooks-muse/<paradigm>/subjectN/sessionM/*.csv``.

:func:`discover` finds the subjects present on disk (never a fixed list) and marks those
the folder's README reserves for evaluation (:mod:`.reserved`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .reserved import ReservedSubjects, reserved_subjects, subject_number

#: Folder of the EEGMMIDB subject folders under a data root (``mne.datasets.eegbci``'s layout).
EEGMMIDB_DIR = Path("MNE-eegbci-data", "files", "eegmmidb", "1.0.0")
#: EEGMMIDB run -> task (Schalk et al. 2004; PhysioNet's description of the runs).
EEGMMIDB_RUNS = {
    1: "baseline-eyes-open", 2: "baseline-eyes-closed",
    **{r: "executed-left-right" for r in (3, 7, 11)}, **{r: "imagery-left-right" for r in (4, 8, 12)},
    **{r: "executed-fists-feet" for r in (5, 9, 13)}, **{r: "imagery-fists-feet" for r in (6, 10, 14)},
}
#: Imagined left/right fist runs.
IMAGERY_RUNS = (4, 8, 12)
#: Imagined both fists / both feet runs.
FISTS_FEET_RUNS = (6, 10, 14)
#: EEGMMIDB annotation -> class in the imagery runs (T0 is rest).
IMAGERY_EVENTS = {"T1": "left", "T2": "right"}
#: EEGMMIDB annotation -> class in the fists/feet runs.
FISTS_FEET_EVENTS = {"T1": "both_fists", "T2": "feet"}
#: EEGMMIDB was recorded on 60 Hz mains (BCI2000, New York).
EEGMMIDB_MAINS_HZ = 60.0

#: Folder of the EEGMAT files under a data root.
EEGMAT_DIR = Path("eegmat")
#: EEGMAT file number -> condition (the whole file is one condition).
EEGMAT_CONDITIONS = {1: "rest", 2: "arithmetic"}
#: Folder of the eeg-notebooks Muse recordings under a data root.
MUSE_DIR = Path("eeg-notebooks-muse")


@dataclass(frozen=True)
class DatasetFile:
    """One file of a subject: ``run`` (EEGMMIDB run, EEGMAT file number, Muse session), ``label`` (its task)."""

    path: Path
    run: int | None
    label: str


@dataclass(frozen=True)
class SubjectRecordings:
    """The files of one subject of one dataset.

    Parameters
    ----------
    dataset : str
        ``"eegmmidb"``, ``"eegmat"`` or ``"muse"``.
    subject : int
        The dataset's subject number.
    files : tuple of DatasetFile
        Sorted by run.
    reserved : bool
        The data README reserves this subject for evaluation: never train, tune or select on it.
    """

    dataset: str
    subject: int
    files: tuple[DatasetFile, ...]
    reserved: bool = False

    @property
    def name(self) -> str:
        """The dataset's own name for the subject (``S001``, ``Subject01``, ``subject1``)."""
        return {"eegmmidb": f"S{self.subject:03d}", "eegmat": f"Subject{self.subject:02d}"}.get(
            self.dataset, f"subject{self.subject}")

    @property
    def key(self) -> str:
        """Unique across datasets: ``eegmmidb/S001``."""
        return f"{self.dataset}/{self.name}"

    def paths(self, *, runs: tuple[int, ...] | None = None, label: str | None = None) -> list[Path]:
        """Paths of the files with one of ``runs`` and/or the given ``label``."""
        return [f.path for f in self.files
                if (runs is None or f.run in runs) and (label is None or f.label == label)]

    def has_runs(self, runs: tuple[int, ...]) -> bool:
        return all(any(f.run == r for f in self.files) for r in runs)


def eegmmidb_path(root: str | Path, subject: int, run: int) -> Path:
    """Where EEGMMIDB ``subject``'s ``run`` lies under ``root``."""
    return Path(root) / EEGMMIDB_DIR / f"S{subject:03d}" / f"S{subject:03d}R{run:02d}.edf"


def _eegmmidb(root: Path) -> list[tuple[int, list[DatasetFile]]]:
    out = []
    for folder in sorted((root / EEGMMIDB_DIR).glob("S[0-9][0-9][0-9]")):
        files = []
        for path in sorted(folder.glob(f"{folder.name}R[0-9][0-9].edf")):
            run = int(path.stem[-2:])
            files.append(DatasetFile(path, run, EEGMMIDB_RUNS.get(run, "unknown")))
        if files:
            out.append((int(folder.name[1:]), files))
    return out


def _eegmat(root: Path) -> list[tuple[int, list[DatasetFile]]]:
    subjects: dict[int, list[DatasetFile]] = {}
    for path in sorted((root / EEGMAT_DIR).glob("Subject[0-9]*_[0-9].edf")):
        match = re.fullmatch(r"Subject(\d+)_(\d)\.edf", path.name)
        if match:
            n, k = int(match.group(1)), int(match.group(2))
            subjects.setdefault(n, []).append(DatasetFile(path, k, EEGMAT_CONDITIONS.get(k, "unknown")))
    return sorted(subjects.items())


def _muse(root: Path) -> list[tuple[int, list[DatasetFile]]]:
    subjects: dict[int, list[DatasetFile]] = {}
    for path in sorted((root / MUSE_DIR).glob("*/subject*/session*/*.csv")):
        match = re.fullmatch(r"subject(\d+)", path.parent.parent.name)
        session = re.fullmatch(r"session(\d+)", path.parent.name)
        if match and session:
            paradigm = path.parent.parent.parent.name
            subjects.setdefault(int(match.group(1)), []).append(DatasetFile(path, int(session.group(1)), paradigm))
    return sorted(subjects.items())


#: Dataset key -> finder of (subject, files) under a data root.
DATASETS = {"eegmmidb": _eegmmidb, "eegmat": _eegmat, "muse": _muse}


def discover(data_root: str | Path, datasets: tuple[str, ...] | None = None,
             reserved: ReservedSubjects | None = None) -> list[SubjectRecordings]:
    """Every subject with files under ``data_root``, reserved ones marked.

    Parameters
    ----------
    data_root : path-like
        The data folder (e.g. ``../shared/data``).
    datasets : tuple of str, optional
        Keys of :data:`DATASETS` to look for (default: all).
    reserved : ReservedSubjects, optional
        Default: what ``data_root/README.md`` reserves (:func:`reserved_subjects`).

    Returns
    -------
    list of SubjectRecordings
        By dataset, then subject number. Filter with ``[s for s in found if not s.reserved]``
        before training, tuning or selecting anything.
    """
    root = Path(data_root)
    unknown = set(datasets or ()) - set(DATASETS)
    if unknown:
        raise ValueError(f"unknown datasets {sorted(unknown)}; known: {sorted(DATASETS)}")
    reserved = reserved if reserved is not None else reserved_subjects(root)
    out = []
    for key in datasets or tuple(DATASETS):
        for subject, files in DATASETS[key](root):
            out.append(SubjectRecordings(key, subject, tuple(sorted(files, key=lambda f: (f.run or 0, f.path.name))),
                                         reserved.covers(subject, key)))
    return out


def training_subjects(data_root: str | Path, dataset: str, *, requested=None,
                      runs: tuple[int, ...] | None = None) -> list[SubjectRecordings]:
    """Subjects of ``dataset`` one may train, tune or select on.

    Parameters
    ----------
    requested : list of int or str, optional
        Subjects asked for by number (``7``, ``"S007"``); their files may be missing (to be
        downloaded). Default: every subject present with all of ``runs``.
    runs : tuple of int, optional
        Runs (EEGMMIDB) or file numbers (EEGMAT) a subject must have when not requested.

    Raises
    ------
    ReservedSubjectError
        A requested subject is reserved for evaluation by the data README.
    """
    reserved = reserved_subjects(data_root)
    found = {s.subject: s for s in discover(data_root, (dataset,), reserved)}
    if requested:
        numbers = [subject_number(r) for r in requested]
        reserved.refuse(numbers, dataset)
        return [found.get(n, SubjectRecordings(dataset, n, ())) for n in numbers]
    return [s for s in found.values() if not s.reserved and (runs is None or s.has_runs(runs))]


def eegmmidb_files(data_root: str | Path, subject: int, runs: tuple[int, ...] = IMAGERY_RUNS, *,
                   download: bool = False) -> list[Path]:
    """Paths of EEGMMIDB ``subject``'s ``runs`` under ``data_root``, in run order.

    Missing files are fetched from PhysioNet with ``mne.datasets.eegbci.load_data`` into the
    same layout when ``download`` is True (needs internet).

    Raises
    ------
    FileNotFoundError
        Files missing and ``download`` is False, or the download failed.
    """
    paths = [eegmmidb_path(data_root, subject, r) for r in runs]
    missing = [r for r, p in zip(runs, paths, strict=True) if not p.is_file()]
    if not missing:
        return paths
    where = Path(data_root) / EEGMMIDB_DIR
    if not download:
        raise FileNotFoundError(
            f"EEGMMIDB subject {subject} runs {missing} are not under {where}; allow downloading them or copy them there"
        )
    from mne.datasets import eegbci

    try:
        eegbci.load_data(subject, list(missing), path=str(data_root), update_path=False)
    except Exception as exc:  # noqa: BLE001 - no network, server down, ...
        raise FileNotFoundError(
            f"EEGMMIDB subject {subject} runs {missing} are not under {where} and could not be downloaded ({exc}); "
            "put the files there or leave the subject out"
        ) from exc
    return paths
