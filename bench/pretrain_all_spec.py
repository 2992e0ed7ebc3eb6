"""Write a pretraining corpus spec naming every real-EEG recording under a data root.

Finds, on disk, PhysioNet EEGMMIDB (every run present, 60 Hz mains), PhysioNet EEGMAT
(rest and arithmetic files) and the eeg-notebooks Muse CSVs (converted to FIF beside the
spec, since the corpus reads files through MNE). Subjects that the data README reserves
for evaluation are left out; so are ``--exclude`` subjects (e.g. the demo recording's
subject, so that the replay demo decodes a person the base never saw)::

    python bench/pretrain_all_spec.py --data-root ../shared/data --out runs/all.spec.json --exclude S001
    samba-pretrain prepare --spec runs/all.spec.json --out corpus_all/

Subject ids: ``S001`` (EEGMMIDB), ``eegmat-Subject01`` (EEGMAT), ``muse-<paradigm>-<subject>``.
The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from json_result import emit  # noqa: E402

EEGBCI = Path("MNE-eegbci-data", "files", "eegmmidb", "1.0.0")


def _reserved(root: Path) -> set[int]:
    from calibration.eegbci import reserved_subjects

    return set(reserved_subjects(root))


def _muse_to_fif(csv: Path, out: Path) -> Path:
    """One eeg-notebooks CSV (timestamps, 4 EEG channels in µV, aux, marker) as a FIF file in volts."""
    import mne

    rows = np.genfromtxt(csv, delimiter=",", names=True)
    eeg = ["TP9", "AF7", "AF8", "TP10"]
    data = np.vstack([rows[name] for name in eeg]) * 1e-6
    stamps = rows["timestamps"]
    rate = float(round((len(stamps) - 1) / (stamps[-1] - stamps[0])))
    raw = mne.io.RawArray(data, mne.create_info(eeg, rate, "eeg"), verbose="error")
    raw.save(out, overwrite=True, verbose="error")
    return out


def build_spec(root: Path, out: Path, exclude: set[str]) -> dict:
    reserved = _reserved(root)
    files: list[dict] = []
    for subject_dir in sorted((root / EEGBCI).glob("S[0-9][0-9][0-9]")):
        subject = subject_dir.name
        if int(subject[1:]) in reserved or subject in exclude:
            continue
        for edf in sorted(subject_dir.glob(f"{subject}R[0-9][0-9].edf")):
            files.append({"path": str(edf.resolve()), "name": edf.stem, "subject": subject, "notch": 60})
    for edf in sorted((root / "eegmat").glob("Subject[0-9][0-9]_[12].edf")):
        number = int(re.match(r"Subject(\d+)_", edf.name).group(1))
        subject = f"eegmat-Subject{number:02d}"
        if subject in exclude:
            continue
        files.append({"path": str(edf.resolve()), "name": f"eegmat-{edf.stem}", "subject": subject, "notch": 50})
    muse_dir = out.parent / (out.stem + "-muse")
    for csv in sorted((root / "eeg-notebooks-muse").rglob("*.csv")):
        paradigm, subject_folder = csv.parts[-4], csv.parts[-3]
        subject = f"muse-{paradigm}-{subject_folder}"
        if subject in exclude:
            continue
        muse_dir.mkdir(parents=True, exist_ok=True)
        fif = _muse_to_fif(csv, muse_dir / f"{paradigm}-{subject_folder}-{csv.stem}_raw.fif")
        files.append({"path": str(fif.resolve()), "name": f"muse-{paradigm}-{csv.stem}", "subject": subject})
    spec = {"files": files}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(spec, indent=1))
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="spec JSON to write")
    parser.add_argument("--exclude", nargs="*", default=[], help="subject ids to leave out")
    args = parser.parse_args(argv)
    spec = build_spec(args.data_root, args.out, set(args.exclude))
    subjects = sorted({f["subject"] for f in spec["files"]})
    emit({"spec": str(args.out), "recordings": len(spec["files"]), "subjects": subjects}, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
