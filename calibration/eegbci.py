"""PhysioNet EEG Motor Movement/Imagery data (EEGMMIDB) in MNE's ``eegbci`` layout.

Files are located through ``mne.datasets.eegbci.load_data`` with an explicit data root,
so a user with internet access gets exactly the same files by download, and a machine
without it uses the ones present. Subjects are discovered from the folder, never
assumed, and subjects that the data folder's README reserves for evaluation are left
out unless the caller names them explicitly.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

#: Imagined left/right fist runs (T1 = left, T2 = right).
IMAGERY_RUNS = (4, 8, 12)
_SUBJECT_DIR = ("MNE-eegbci-data", "files", "eegmmidb", "1.0.0")


def subject_folder(root: str | Path) -> Path:
    """Folder that holds ``S001``, ``S002``, ... under a data root."""
    return Path(root).joinpath(*_SUBJECT_DIR)


def available_subjects(root: str | Path, runs: tuple[int, ...] = IMAGERY_RUNS) -> list[int]:
    """Subjects with every one of ``runs`` present under ``root``, ascending."""
    folder = subject_folder(root)
    if not folder.is_dir():
        return []
    subjects = []
    for d in sorted(folder.glob("S[0-9][0-9][0-9]")):
        n = int(d.name[1:])
        if all((d / f"S{n:03d}R{r:02d}.edf").is_file() for r in runs):
            subjects.append(n)
    return subjects


def reserved_subjects(root: str | Path) -> list[int]:
    """Subjects listed under the README's "Reserved for evaluation" heading (never train or tune on them)."""
    readme = Path(root) / "README.md"
    if not readme.is_file():
        return []
    text = readme.read_text(errors="replace")
    match = re.search(r"^#+\s*Reserved for evaluation\s*$(.*?)(?=^#+\s|\Z)", text, re.S | re.M | re.I)
    if not match:
        return []
    section = match.group(1)
    ids = {int(s) for s in re.findall(r"\bS(\d{3})\b", section)}
    for listing in re.findall(r"\bsubjects?\s+((?:\d+[,\s]*(?:and\s+)?)+)", section, re.I):
        ids |= {int(n) for n in re.findall(r"\d+", listing)}
    return sorted(ids)


def calibration_subjects(root: str | Path, requested: list[int] | None = None) -> list[int]:
    """Subjects to use: the requested ones (even if reserved), else available minus reserved."""
    if requested:
        return list(requested)
    reserved = set(reserved_subjects(root))
    return [s for s in available_subjects(root) if s not in reserved]


def subject_files(subject: int, root: str | Path, runs: tuple[int, ...] = IMAGERY_RUNS,
                  download: bool = False) -> list[Path]:
    """Paths of a subject's runs via ``mne.datasets.eegbci.load_data``.

    With ``download=False`` missing files are an error (where this MNE supports the
    switch); with True, MNE fetches what is missing from PhysioNet into ``root``.
    """
    from mne.datasets import eegbci

    kwargs: dict = {"path": str(root), "update_path": False}
    if "download" in inspect.signature(eegbci.load_data).parameters:
        kwargs["download"] = download
    elif not download:
        missing = [r for r in runs if not (subject_folder(root) / f"S{subject:03d}" / f"S{subject:03d}R{r:02d}.edf").is_file()]
        if missing:
            raise FileNotFoundError(
                f"EEGMMIDB subject {subject} runs {missing} are not under {subject_folder(root)}; "
                "allow downloading them or copy them there"
            )
    return [Path(p) for p in eegbci.load_data(subject, list(runs), **kwargs)]
