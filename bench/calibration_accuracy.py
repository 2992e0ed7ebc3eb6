"""Cross-validated balanced accuracy of subject calibration on EEGMMIDB left/right fist imagery.

For every available subject that the data README does not reserve for evaluation (or the
subjects given), on the same epochs (runs 4, 8, 12, through the live preprocessing) and
the same folds:

- ``samba_pretrained/<mode>``: SAMBA fine-tuned from ``checkpoints/samba-base.samba`` (when it exists),
- ``samba_random/<mode>``: the same architecture and fine-tuning from a random initialisation,
- ``csp_lda`` and ``ts_lr``: the classic baselines.

Prints one JSON object as the last line (and writes it to ``--json-out``).

    python bench/calibration_accuracy.py [--subjects 1 2 ...] [--folds 5] [--train heads last-stage all]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from json_result import emit  # noqa: E402
from calibration.baselines import baseline_estimators  # noqa: E402
from calibration.calibrate import CalibrationConfig, samba_estimator  # noqa: E402
from calibration.epochs import build_epochs  # noqa: E402
from calibration.protocols import PROTOCOLS  # noqa: E402
from samba_core.recordings import eegmmidb_files, read_recording, reserved_subjects, training_subjects  # noqa: E402
from samba_core.recordings.datasets import IMAGERY_RUNS  # noqa: E402
from calibration.validation import cross_validate, make_folds  # noqa: E402
from checkpoints import SHIPPED_CHECKPOINT  # noqa: E402
from samba_core import SambaConfig, load_checkpoint  # noqa: E402
from samba_core.preprocessing import PreprocessConfig  # noqa: E402



def base_exposure(provenance: dict, subject: int) -> list[str]:
    """What the base checkpoint's provenance says it saw of this subject."""
    tag = f"S{subject:03d}"
    corpus = provenance.get("corpus", {})
    names = [str(n) for n in corpus.get("recording_names", [])] + [str(s) for s in corpus.get("subjects", [])]
    notes = []
    seen = sorted({n for n in names if tag in n})
    if seen:
        notes.append(f"the base was pretrained (self-supervised, no labels) on recordings of {tag}: {seen[:14]}; "
                     "its encoder has seen this subject's test trials")
    if isinstance(provenance.get("heads", {}).get("mi"), dict):
        notes.append("the base's mi head was fitted on labelled trials; calibration refits the head's linear layer "
                     "from zero (linear probe), so those labels do not carry over")
    return notes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subjects", type=int, nargs="*", default=None, help="EEGMMIDB subject numbers (default: all available, not reserved)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train", nargs="+", default=[CalibrationConfig().train],
                   help="fine-tuning mode(s) for both SAMBA variants; the first is the one the target is judged on")
    p.add_argument("--max-epochs", type=int, default=40)
    p.add_argument("--base", type=Path, default=SHIPPED_CHECKPOINT)
    p.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json-out", type=Path, default=REPO / "bench" / "results" / "calibration_accuracy.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    subjects = [s.subject for s in training_subjects(args.data_root, "eegmmidb", requested=args.subjects, runs=IMAGERY_RUNS)]
    base = load_checkpoint(args.base) if args.base.is_file() else None
    pre = PreprocessConfig()
    if base is not None and base.metadata.preprocessing:
        pre = PreprocessConfig.from_dict(base.metadata.preprocessing)
    pre = replace(pre, notch=60.0)  # EEGMMIDB was recorded on 60 Hz mains (samba-calibrate --mains 60)
    arch = base.config if base is not None else SambaConfig()
    configs = {mode: CalibrationConfig(train=mode, folds=args.folds, seed=args.seed, max_epochs=args.max_epochs)
               for mode in args.train}
    result: dict = {
        "benchmark": "calibration_accuracy", "dataset": "PhysioNet EEGMMIDB runs 4, 8, 12 (imagined left/right fist)",
        "metric": f"{args.folds}-fold cross-validated balanced accuracy (stratified, same folds for every method)",
        "train": args.train, "primary_train": args.train[0], "max_epochs": args.max_epochs, "seed": args.seed, "threads": args.threads,
        "base_checkpoint": str(args.base) if base is not None else None,
        "reserved_subjects": sorted(reserved_subjects(args.data_root).of("eegmmidb")), "subjects": {}, "notes": [],
    }
    if base is None:
        result["notes"].append(f"{args.base} does not exist: samba_pretrained was not run (only random init)")
    for subject in subjects:
        t0 = time.perf_counter()
        recordings = [read_recording(f) for f in eegmmidb_files(args.data_root, subject)]
        epochs = build_epochs(recordings, PROTOCOLS["eegmmidb-imagery"], pre)
        folds = make_folds(epochs.y, epochs.groups, args.folds, args.seed)
        estimators = {}
        for mode, config in configs.items():
            if base is not None:
                estimators[f"samba_pretrained/{mode}"] = samba_estimator(args.base, epochs, "mi", config)
            estimators[f"samba_random/{mode}"] = samba_estimator(None, epochs, "mi", config, init_config=arch)
        estimators.update(baseline_estimators("mi", epochs.decision_start, epochs.sample_rate))
        scores = cross_validate(estimators, epochs.x, epochs.y, folds, epochs.groups, epochs.classes, progress=True)
        result["subjects"][f"S{subject:03d}"] = {
            "counts": epochs.counts,
            "balanced_accuracy": {k: round(v.balanced_accuracy, 4) for k, v in scores.items()},
            "fold_scores": {k: [round(s, 4) for s in v.fold_scores] for k, v in scores.items()},
            "fit_seconds": {k: round(v.fit_seconds, 1) for k, v in scores.items()},
            "notes": base_exposure(base.metadata.provenance, subject) if base is not None else [],
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(f"S{subject:03d}: " + ", ".join(f"{k} {v.balanced_accuracy:.3f}" for k, v in scores.items()), file=sys.stderr)

    methods = sorted({m for s in result["subjects"].values() for m in s["balanced_accuracy"]})
    mean = {m: round(float(np.mean([s["balanced_accuracy"][m] for s in result["subjects"].values()])), 4)
            for m in methods}
    result["mean_balanced_accuracy"] = mean
    if mean:
        best_classic = max(mean["csp_lda"], mean["ts_lr"])
        primary = f"samba_pretrained/{args.train[0]}" if base is not None else f"samba_random/{args.train[0]}"
        samba = mean[primary]
        result["target"] = {
            "rule": "fine-tuned SAMBA >= best classic baseline + 0.05 (mean balanced accuracy)",
            "samba_method": primary, "samba": samba, "best_classic": best_classic,
            "margin": round(samba - best_classic, 4), "met": bool(samba >= best_classic + 0.05),
        }
    emit(result, args.json_out)


if __name__ == "__main__":
    main()
