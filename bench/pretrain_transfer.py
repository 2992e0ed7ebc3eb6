"""Does pretraining help calibration? Pretrained vs random initialisation, repeated and paired per trial.

For every available, non-reserved EEGMMIDB subject, on the epochs that
``bench/calibration_accuracy.py`` uses (imagined left/right fist, runs 4, 8, 12, through the
live preprocessing), SAMBA is calibrated with the product's default fine-tuning mode from
each given base checkpoint and from a random initialisation of the same architecture.
Everything that is random is redrawn in each of ``--repeats`` repetitions: the
cross-validation folds, the random network, the fine-tuner's seed. Within a repetition all
methods share the folds and the seed, so their out-of-fold predictions are paired trial
by trial.

Two questions, two statistics:

- Is the difference stable over training randomness? Per repetition, balanced accuracy of
  the pooled out-of-fold predictions; the difference base - random, its mean and spread.
- Does it generalise to new trials of the subject? Per trial, the fraction of repetitions
  that decoded it correctly, for each method; the mean per-trial difference with a 95 %
  bootstrap interval over trials and a two-sided sign-flip permutation p-value. Trials are
  the sampling unit here: repeating the cross-validation averages the training noise away
  but adds no trials, so with one subject's 45 trials only a large effect can be measured.

Each base's provenance says which recordings it was pretrained on; the JSON states, per
subject, whether the base saw the evaluated runs (self-supervised, without labels).

    python bench/pretrain_transfer.py --bases checkpoints/samba-base.samba [more.samba] [--repeats 10]

Prints one JSON object as the last line (and writes it to ``--json-out``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from json_result import emit  # noqa: E402
from calibration.calibrate import CalibrationConfig, samba_estimator  # noqa: E402
from calibration.epochs import build_epochs  # noqa: E402
from calibration.protocols import PROTOCOLS  # noqa: E402
from samba_core.recordings import eegmmidb_files, read_recording, reserved_subjects, training_subjects  # noqa: E402
from samba_core.recordings.datasets import IMAGERY_RUNS  # noqa: E402
from calibration.validation import cross_validate, make_folds  # noqa: E402
from checkpoints import SHIPPED_CHECKPOINT  # noqa: E402
from samba_core import load_checkpoint  # noqa: E402
from samba_core.preprocessing import PreprocessConfig  # noqa: E402

EVALUATED_RUNS = ("R04", "R08", "R12")


def paired_trial_statistics(correct_a: np.ndarray, correct_b: np.ndarray, seed: int = 0,
                            resamples: int = 20_000) -> dict:
    """Mean per-trial difference of correctness rates (a - b): bootstrap 95 % interval, sign-flip p-value."""
    d = correct_a - correct_b
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, d.size, (resamples, d.size))].mean(axis=1)
    flips = (rng.integers(0, 2, (resamples, d.size)) * 2 - 1) * d
    null = np.abs(flips.mean(axis=1))
    return {
        "mean_difference": round(float(d.mean()), 4),
        "ci95": [round(float(np.quantile(boots, 0.025)), 4), round(float(np.quantile(boots, 0.975)), 4)],
        "p_value_sign_flip": round(float((1 + np.sum(null >= abs(d.mean()) - 1e-12)) / (1 + resamples)), 4),
        "trials_better": int(np.sum(d > 0)), "trials_worse": int(np.sum(d < 0)), "trials": int(d.size),
    }


def base_saw(provenance: dict, subject: int) -> list[str]:
    """The recordings of this subject that the base's pretraining corpus held."""
    tag = f"S{subject:03d}"
    names = [str(n) for n in provenance.get("corpus", {}).get("recording_names", [])]
    return sorted(n for n in names if n.startswith(tag))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bases", type=Path, nargs="+", default=[SHIPPED_CHECKPOINT])
    p.add_argument("--subjects", type=int, nargs="*", default=None)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--train", default=CalibrationConfig().train, help="fine-tuning mode (default: the product's)")
    p.add_argument("--max-epochs", type=int, default=40)
    p.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json-out", type=Path, default=REPO / "bench" / "results" / "pretrain_transfer.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    bases = {path.stem: (path, load_checkpoint(path)) for path in args.bases}
    first = next(iter(bases.values()))[1]
    for name, (_, ckpt) in bases.items():
        if ckpt.config != first.config:
            raise SystemExit(f"{name}: all bases must share one architecture (the random init copies it)")
    pre = replace(PreprocessConfig.from_dict(first.metadata.preprocessing), notch=60.0)  # EEGMMIDB: 60 Hz mains
    result: dict = {
        "benchmark": "pretrain_transfer",
        "dataset": "PhysioNet EEGMMIDB runs 4, 8, 12 (imagined left/right fist)",
        "train": args.train, "repeats": args.repeats, "folds": args.folds, "max_epochs": args.max_epochs,
        "threads": args.threads, "reserved_subjects": sorted(reserved_subjects(args.data_root).of("eegmmidb")),
        "bases": {name: str(path) for name, (path, _) in bases.items()}, "subjects": {},
    }
    for subject in [s.subject for s in training_subjects(args.data_root, "eegmmidb", requested=args.subjects, runs=IMAGERY_RUNS)]:
        t0 = time.perf_counter()
        recordings = [read_recording(f) for f in eegmmidb_files(args.data_root, subject)]
        epochs = build_epochs(recordings, PROTOCOLS["eegmmidb-imagery"], pre)
        methods = [f"pretrained:{name}" for name in bases] + ["random"]
        correct = {m: np.zeros(epochs.y.size) for m in methods}
        per_repeat: dict[str, list[float]] = {m: [] for m in methods}
        for r in range(args.repeats):
            config = CalibrationConfig(train=args.train, folds=args.folds, seed=r, max_epochs=args.max_epochs)
            folds = make_folds(epochs.y, epochs.groups, args.folds, r)
            estimators = {f"pretrained:{name}": samba_estimator(path, epochs, "mi", config) for name, (path, _) in bases.items()}
            estimators["random"] = samba_estimator(None, epochs, "mi", config, init_config=first.config)
            scores = cross_validate(estimators, epochs.x, epochs.y, folds, epochs.groups, epochs.classes)
            for m, s in scores.items():
                pred = np.asarray(s.predictions)
                correct[m] += pred == epochs.y
                per_repeat[m].append(round(float(balanced_accuracy_score(epochs.y, pred)), 4))
            print(f"S{subject:03d} repeat {r}: " + ", ".join(f"{m} {v[-1]:.3f}" for m, v in per_repeat.items()),
                  file=sys.stderr, flush=True)
        rates = {m: c / args.repeats for m, c in correct.items()}
        comparisons = {}
        for name, (_, ckpt) in bases.items():
            m = f"pretrained:{name}"
            diffs = np.subtract(per_repeat[m], per_repeat["random"])
            seen = base_saw(ckpt.metadata.provenance, subject)
            comparisons[f"{m} - random"] = {
                "per_repeat_difference": [round(float(x), 4) for x in diffs],
                "mean_difference": round(float(diffs.mean()), 4), "std_difference": round(float(diffs.std(ddof=1)), 4)
                if diffs.size > 1 else None,
                "repeats_better": int(np.sum(diffs > 0)), "repeats_worse": int(np.sum(diffs < 0)),
                "per_trial": paired_trial_statistics(rates[m], rates["random"], seed=subject),
                "base_saw_recordings": seen,
                "base_saw_evaluated_runs": any(n.endswith(EVALUATED_RUNS) for n in seen),
            }
        result["subjects"][f"S{subject:03d}"] = {
            "counts": epochs.counts,
            "balanced_accuracy_per_repeat": per_repeat,
            "mean_balanced_accuracy": {m: round(float(np.mean(v)), 4) for m, v in per_repeat.items()},
            "comparisons": comparisons, "seconds": round(time.perf_counter() - t0, 1),
        }
    emit(result, args.json_out)


if __name__ == "__main__":
    main()
