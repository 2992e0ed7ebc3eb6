"""Wall time of a subject calibration on 5 minutes of 64-channel EEG, on this CPU with 2 threads.

Data: EEGMMIDB subject 1, runs 4, 8, 12 (imagined left/right fist, 160 Hz, 64 channels),
each cropped to its first 100 s: 5 minutes in all. Timed per fine-tuning mode:

- ``prepare_s``: reading the files, the live preprocessing and epoching,
- ``fit_s``: the fine-tune that ``samba-calibrate`` runs for the subject checkpoint
  (linear probe, then fine-tuning with early stopping except in ``heads`` mode; no
  cross-validation),
- ``total_s``: both. Target: ``total_s`` <= 60 s for the default mode.

It also times a whole default ``samba-calibrate`` run on the same data (cross-validation
of SAMBA and both baselines, final fit, checkpoint, report with plots).

The base is ``checkpoints/samba-base.samba`` when it exists, otherwise a random network of
the same architecture (the cost does not depend on the weights, except through when early
stopping triggers). Prints one JSON object as the last line (and writes it to ``--json-out``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO / "tests"))  # the shared test helpers

from json_result import emit  # noqa: E402
from calibration.calibrate import CalibrationConfig, samba_estimator  # noqa: E402
from calibration.epochs import build_epochs  # noqa: E402
from calibration.protocols import PROTOCOLS  # noqa: E402
from checkpoints import SHIPPED_CHECKPOINT  # noqa: E402
from helpers.models import shipped_or_random_checkpoint  # noqa: E402
from samba_core.recordings import eegmmidb_files, read_recording, training_subjects  # noqa: E402
from samba_core.recordings.datasets import IMAGERY_RUNS  # noqa: E402
from samba_core import load_checkpoint  # noqa: E402
from samba_core.preprocessing import PreprocessConfig  # noqa: E402



def full_calibration(subject: int, args, base_path: Path) -> dict:
    """The whole ``samba-calibrate`` run with default settings (5-fold CV of SAMBA and both baselines,
    final fit, checkpoint and report) on the same 5 minutes, written as cropped FIF files."""
    from calibration.calibrate import calibrate

    folder = Path(tempfile.mkdtemp())
    files = []
    for f in eegmmidb_files(args.data_root, subject):
        raw = read_recording(f).crop(args.seconds_per_run).to_raw()
        files.append(folder / f"{f.stem}_raw.fif")  # keeps the run number for the EEGMMIDB protocol
        raw.save(files[-1], verbose="error")
    config = replace(CalibrationConfig(), mains=60.0, min_trials_per_class=5)
    t0 = time.perf_counter()
    report = calibrate(files, base_path, folder / "subject.samba", config, progress=False)
    return {"train": config.train, "folds": config.folds, "total_s": round(time.perf_counter() - t0, 2),
            "phases_s": {k: round(v, 2) for k, v in report.timings.items()},
            "balanced_accuracy": {k: round(v["balanced_accuracy"], 3) for k, v in report.scores.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--modes", nargs="*", default=["heads", "last-stage", "all"])
    p.add_argument("--default-mode", default=CalibrationConfig().train)
    p.add_argument("--seconds-per-run", type=float, default=100.0)
    p.add_argument("--max-epochs", type=int, default=CalibrationConfig().max_epochs)
    p.add_argument("--base", type=Path, default=SHIPPED_CHECKPOINT)
    p.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json-out", type=Path, default=REPO / "bench" / "results" / "calibration_time.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    subject = training_subjects(args.data_root, "eegmmidb", runs=IMAGERY_RUNS)[0].subject
    base_path, note = shipped_or_random_checkpoint(Path(tempfile.mkdtemp()), args.base, PreprocessConfig(notch=60.0))
    base = load_checkpoint(base_path)
    pre = PreprocessConfig.from_dict(base.metadata.preprocessing) if base.metadata.preprocessing else PreprocessConfig()
    pre = replace(pre, notch=60.0)  # EEGMMIDB: 60 Hz mains

    result: dict = {
        "benchmark": "calibration_time", "subject": f"S{subject:03d}", "runs": [4, 8, 12],
        "seconds_of_eeg": 3 * args.seconds_per_run, "threads": args.threads, "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__, "load_average_at_start": [round(v, 2) for v in os.getloadavg()], "base": note, "max_epochs": args.max_epochs, "modes": {},
    }
    for mode in args.modes:
        t0 = time.perf_counter()
        recordings = [read_recording(f).crop(args.seconds_per_run) for f in eegmmidb_files(args.data_root, subject)]
        epochs = build_epochs(recordings, PROTOCOLS["eegmmidb-imagery"], pre, min_trials_per_class=5)
        prepare = time.perf_counter() - t0
        config = replace(CalibrationConfig(), train=mode, max_epochs=args.max_epochs)
        t1 = time.perf_counter()
        clf = samba_estimator(base_path, epochs, "mi", config).fit(epochs.x, epochs.y, groups=epochs.groups)
        fit = time.perf_counter() - t1
        result["modes"][mode] = {
            "epochs": len(epochs), "channels": len(epochs.labels), "prepare_s": round(prepare, 2), "fit_s": round(fit, 2),
            "total_s": round(prepare + fit, 2), "probe_l2": clf.probe_l2_,
            "fine_tune_epochs": len(clf.history_), "kept": f"{clf.best_phase_} {clf.best_epoch_}",
        }
        print(f"{mode}: {result['modes'][mode]}", file=sys.stderr)
    result["samba_calibrate"] = full_calibration(subject, args, base_path)
    print(f"samba-calibrate: {result['samba_calibrate']}", file=sys.stderr)
    default = result["modes"].get(args.default_mode)
    if default:
        result["target"] = {"rule": "total_s <= 60 for the default mode", "default_mode": args.default_mode,
                            "total_s": default["total_s"], "met": default["total_s"] <= 60.0}
    emit(result, args.json_out)


if __name__ == "__main__":
    main()
