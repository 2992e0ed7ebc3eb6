"""``samba-calibrate``: fine-tune a SAMBA checkpoint on one subject's calibration session.

Examples::

    samba-calibrate session.fif --task mi --out subject.samba
    samba-calibrate S001R04.edf S001R08.edf S001R12.edf --base checkpoints/samba-base.samba --out s001.samba
    samba-calibrate eegbci:1 --data-root ../shared/data --out s001.samba        # EEGMMIDB subject 1, runs 4/8/12
    samba-calibrate drive.xdf --task distraction --train all --out driver.samba
    samba-calibrate cross-subject --data-root ../shared/data --task mi --out samba-base.samba   # a head for new users
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from checkpoints import SHIPPED_CHECKPOINT
from montages import MontageError
from samba_core import CheckpointError
from samba_core.recordings import RecordingError, ReservedSubjectError, eegmmidb_files, training_subjects

from .calibrate import CalibrationConfig, CalibrationError, calibrate, set_cpu_threads
from .epochs import MIN_EEG_CHANNELS, MIN_TRIALS_PER_CLASS, EpochingError
from .finetune import DEFAULT_TRAIN_MODE, TRAIN_MODES
from .protocols import PROTOCOLS, ProtocolError

#: Where ``--base`` points by default: the pretrained checkpoint shipped in the ``checkpoints`` package.
DEFAULT_BASE = SHIPPED_CHECKPOINT


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="samba-calibrate",
        description="Fine-tune SAMBA on a subject's calibration session; write a subject checkpoint and a report "
                    "(cross-validated balanced accuracy of SAMBA, CSP+LDA and tangent space+LR on the same folds).",
        epilog="A head for users who have not calibrated, fitted across many subjects: samba-calibrate cross-subject "
               "--help",
    )
    p.add_argument("sessions", nargs="+", metavar="SESSION",
                   help="recording(s) with markers: .fif/.edf/.bdf/.gdf (annotations) or .xdf (marker stream); "
                        "several files of one montage form one session; 'eegbci:N' = EEGMMIDB subject N, runs 4/8/12")
    p.add_argument("--out", required=True, type=Path, help="subject checkpoint to write (e.g. subject.samba)")
    p.add_argument("--base", type=Path, default=None, help=f"base checkpoint (default: {DEFAULT_BASE})")
    p.add_argument("--task", default="mi", choices=sorted({pr.task for pr in PROTOCOLS.values()}), help="head to calibrate")
    p.add_argument("--protocol", default=None,
                   help=f"event mapping: one of {sorted(PROTOCOLS)} or a JSON file (default: the task's protocol "
                        "whose markers occur in the session)")
    p.add_argument("--train", default=DEFAULT_TRAIN_MODE, choices=TRAIN_MODES,
                   help=f"what is fine-tuned: the task head, also the last encoder stage, or all weights "
                        f"(default {DEFAULT_TRAIN_MODE})")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds for the report (0 = skip; default 5)")
    p.add_argument("--max-epochs", type=int, default=40)
    p.add_argument("--patience", type=int, default=8, help="early-stopping patience in epochs")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default depends on --train)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report-dir", type=Path, default=None, help="report folder (default: <out>_report/)")
    p.add_argument("--no-baselines", action="store_true", help="skip CSP+LDA and TS+LR")
    p.add_argument("--min-trials-per-class", type=int, default=MIN_TRIALS_PER_CLASS,
                   help=f"refuse sessions with fewer trials in a class (default {MIN_TRIALS_PER_CLASS})")
    p.add_argument("--min-channels", type=int, default=MIN_EEG_CHANNELS,
                   help=f"refuse sessions with fewer placed EEG channels (default {MIN_EEG_CHANNELS})")
    p.add_argument("--montage-file", "--montage", default=None, help="electrode positions for labels the 10-05 system lacks")
    p.add_argument("--device", default=None, help="headset profile (see python -m montages)")
    p.add_argument("--allow-drop-channels", "--allow-drop", action="store_true", help="leave out EEG channels that cannot be placed")
    p.add_argument("--mains", type=float, default=None, help="mains frequency for the notch (50/60; 0 disables)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch (default 2)")
    p.add_argument("--data-root", type=Path, default=None, help="data root for 'eegbci:N' sessions")
    p.add_argument("--download", action="store_true", help="let 'eegbci:N' download missing files from PhysioNet")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _session_files(specs: list[str], data_root: Path | None, download: bool) -> list[Path]:
    """Session files: paths as given, ``eegbci:N`` as EEGMMIDB subject N's imagery runs (never a reserved subject)."""
    files: list[Path] = []
    for spec in specs:
        if not spec.startswith("eegbci:"):
            files.append(Path(spec))
            continue
        if data_root is None:
            import mne

            data_root = Path(mne.get_config("MNE_DATA") or Path.home() / "mne_data")
        try:
            subject = training_subjects(data_root, "eegmmidb", requested=[spec.split(":", 1)[1]])[0].subject
        except ReservedSubjectError as exc:
            raise CalibrationError(f"{spec!r}: {exc}") from exc
        except ValueError as exc:
            raise CalibrationError(f"{spec!r}: use eegbci:<subject number>, e.g. eegbci:1") from exc
        files += eegmmidb_files(data_root, subject, download=download)
    return files


def _cross_subject_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="samba-calibrate cross-subject",
        description="Fit a task head across many subjects on a frozen base (calibration's linear probe), evaluate it "
                    "by subject folds (balanced accuracy, F1, kappa, AUROC) and write it into a checkpoint.",
    )
    p.add_argument("--data-root", required=True, type=Path,
                   help="folder in the shared-data layout (MNE-eegbci-data/... for mi, eegmat/ for distraction)")
    p.add_argument("--subjects", nargs="+", default=None,
                   help="subject numbers or ids (default: every subject present that the README does not reserve)")
    p.add_argument("--base", type=Path, default=None, help=f"frozen base checkpoint (default: {DEFAULT_BASE})")
    p.add_argument("--task", default="mi", choices=("mi", "distraction"), help="head to fit")
    p.add_argument("--out", required=True, type=Path, help="checkpoint to write (may equal --base)")
    p.add_argument("--folds", type=int, default=5, help="subject folds of the evaluation (0 = skip; default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", type=Path, default=None, help="also write the report as JSON here")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch (default 2)")
    return p


def cross_subject_main(argv: list[str]) -> int:
    """``samba-calibrate cross-subject ...`` (see :func:`calibration.cross_subject.train_cross_subject_head`)."""
    from .cross_subject import train_cross_subject_head
    from .subject_data import SubjectDataError

    args = _cross_subject_parser().parse_args(argv)
    base = args.base or DEFAULT_BASE
    try:
        if not base.is_file():
            raise CalibrationError(f"base checkpoint {base} not found; pass --base PATH to a SAMBA checkpoint")
        set_cpu_threads(args.threads)
        report = train_cross_subject_head(base, args.data_root, args.task, args.out, args.subjects, args.folds,
                                          args.seed, log=lambda line: print(line, file=sys.stderr))
    except (CalibrationError, SubjectDataError, RecordingError, EpochingError, CheckpointError, MontageError,
            FileNotFoundError) as exc:
        print(f"samba-calibrate cross-subject: error: {exc}", file=sys.stderr)
        return 2
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=1))
    summary = report["evaluation"].get("summary", {}).get("trial", {}).get("balanced_accuracy")
    print(json.dumps({"task": args.task, "subjects": report["subjects"], "trials": report["trials"], "l2": report["l2"],
                      "leave_subject_out_balanced_accuracy": summary, "checkpoint": str(args.out)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "cross-subject":
        return cross_subject_main(argv[1:])
    args = _parser().parse_args(argv)
    base = args.base or DEFAULT_BASE
    try:
        if not base.is_file():
            raise CalibrationError(
                f"base checkpoint {base} not found; pass --base PATH to a SAMBA checkpoint (samba-pretrain writes "
                "samba-base.samba)"
            )
        config = CalibrationConfig(
            task=args.task, protocol=args.protocol, train=args.train, folds=args.folds, seed=args.seed,
            max_epochs=args.max_epochs, patience=args.patience, lr=args.lr,
            min_trials_per_class=args.min_trials_per_class, min_channels=args.min_channels,
            allow_drop_channels=args.allow_drop_channels, montage_file=args.montage_file, device=args.device,
            mains=args.mains, baselines=not args.no_baselines,
        )
        set_cpu_threads(args.threads)
        sessions = _session_files(args.sessions, args.data_root, args.download)
        report = calibrate(sessions, base, args.out, config, args.report_dir, progress=not args.quiet)
    except (CalibrationError, RecordingError, EpochingError, ProtocolError, CheckpointError, MontageError,
            FileNotFoundError) as exc:
        print(f"samba-calibrate: error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"subject checkpoint: {report.checkpoint}")
    print(f"report: {Path(report.plots[0]).parent if report.plots else args.report_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
