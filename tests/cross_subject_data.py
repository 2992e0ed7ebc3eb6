"""Tiny synthetic subjects as EDF files in the shared-data layouts (EEGMMIDB ``eegbci``, EEGMAT)."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np

from calibration_sessions import LABELS_10_20, synthetic_mi

EEGMAT_LABELS = tuple(f"EEG {c}" for c in ("Fp1", "Fp2", "F3", "F4", "F7", "F8", "T3", "T4", "C3", "C4", "T5", "T6",
                                           "P3", "P4", "O1", "O2", "Fz", "Cz", "Pz")) + ("EEG A2-A1", "ECG ECG")


def _write_edf(path: Path, data: np.ndarray, sfreq: float, labels, annotations=()) -> Path:
    raw = mne.io.RawArray(data, mne.create_info(list(labels), sfreq, "eeg"), verbose="error")
    if annotations:
        onset, duration, description = zip(*annotations)
        raw.set_annotations(mne.Annotations(onset, duration, description))
    path.parent.mkdir(parents=True, exist_ok=True)
    mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")
    return path


def write_eegbci_subject(root: Path, subject: int, runs=(4, 8), n_per_class: int = 5, seed: int = 0) -> list[Path]:
    """Imagery runs of one subject (T1 = left, T2 = right, T0 rests between), 12 channels at 160 Hz."""
    folder = root / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0" / f"S{subject:03d}"
    paths = []
    for k, run in enumerate(runs):
        data, ann = synthetic_mi(n_per_class, 160.0, prefix="", seed=seed * 100 + k, rest_s=2.0)
        events = [(o, d, {"left": "T1", "right": "T2"}[c]) for o, d, c in ann]
        events += [(o + d, 2.0, "T0") for o, d, _ in ann]
        paths.append(_write_edf(folder / f"S{subject:03d}R{run:02d}.edf", data, 160.0, LABELS_10_20, sorted(events)))
    return paths


def write_eegmat_subject(root: Path, subject: int, rest_s: float = 24.0, task_s: float = 12.0, seed: int = 0) -> None:
    """``SubjectNN_1.edf`` (rest, strong alpha) and ``_2.edf`` (arithmetic, weaker alpha), 21 signals at 250 Hz."""
    rng = np.random.default_rng(seed)
    for k, (seconds, alpha) in enumerate(((rest_s, 20e-6), (task_s, 5e-6)), start=1):
        n = int(seconds * 250)
        t = np.arange(n) / 250
        data = rng.normal(scale=8e-6, size=(len(EEGMAT_LABELS), n)) + alpha * np.sin(2 * np.pi * 10 * t)
        _write_edf(root / "eegmat" / f"Subject{subject:02d}_{k}.edf", data, 250.0, EEGMAT_LABELS)
