"""Leave-subject-out evaluation: decode people the model never saw, before and after calibration.

    python bench/cross_subject.py --data-root DIR [--subjects ...] [--base CKPT | --fold-bases DIR]
                                  [--task mi|distraction] [--folds K] [--json-out FILE]

Subjects are split into K folds by ``calibration.subject_folds.subject_folds`` (the rule the GPU
script uses to pretrain ``DIR/fold{j}.samba`` without fold j). Each fold is scored with its fold
base, or with ``--base`` for every fold (then the base may have seen some subjects: the JSON says
which). Methods and metrics: ``calibration.subject_eval``; statistics: ``calibration.subject_summary``.
Reserved subjects (the data README) are never used. The last line is one JSON object whose
``mean`` block holds trial balanced accuracies per method.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from json_result import emit  # noqa: E402
from calibration.subject_data import SubjectDataError, reserved_ids, select_subjects  # noqa: E402
from samba_core import CheckpointError  # noqa: E402
from calibration.subject_eval import ZERO_HEADS, EvalConfig, evaluate  # noqa: E402
from calibration.subject_summary import summarise_subjects  # noqa: E402


def _strict(value):
    """NaN/inf (a statistic without enough subjects) -> null, so the last line is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def _bases(args: argparse.Namespace) -> list[Path]:
    if args.fold_bases is None:
        if not args.base.is_file():
            sys.exit(f"cross_subject: base checkpoint {args.base} not found; pass --base CKPT or --fold-bases DIR")
        return [args.base]
    paths = [args.fold_bases / f"fold{j}.samba" for j in range(args.folds)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.exit(f"cross_subject: fold bases {missing} not found; --folds must match the fold bases in {args.fold_bases}")
    return paths


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--subjects", nargs="+", default=None, help="numbers or ids (default: all present, not reserved)")
    p.add_argument("--base", type=Path, default=REPO / "checkpoints" / "samba-base.samba")
    p.add_argument("--fold-bases", type=Path, default=None, help="folder of fold{j}.samba (overrides --base)")
    p.add_argument("--task", choices=("mi", "distraction"), default="mi")
    p.add_argument("--folds", type=int, default=5, help="subject folds K")
    p.add_argument("--calibration-folds", type=int, default=5, help="within-subject folds of calibration (0 = skip)")
    p.add_argument("--windows", type=float, nargs="+", default=[1.0, 2.0, 4.0], help="distraction windows (s)")
    p.add_argument("--zero-head", choices=ZERO_HEADS, default="auto",
                   help="zero-calibration head: fitted on the other folds, the base's own, or auto (the base's own "
                        "when a single base records a fitted head)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samba-only", action="store_true",
                   help="score SAMBA alone: no classic baselines, no random-init control (ablations)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json-out", type=Path, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    bases = _bases(args)
    try:
        subjects = select_subjects(args.data_root, args.task, args.subjects)
        folds = min(args.folds, len(subjects)) if args.fold_bases is None else args.folds
        config = EvalConfig(task=args.task, folds=folds, calibration_folds=args.calibration_folds,
                            windows_s=tuple(args.windows), zero_head=args.zero_head, seed=args.seed,
                            baselines=not args.samba_only)
        result = evaluate(args.data_root, subjects, bases, config, log=lambda line: print(line, file=sys.stderr))
    except (SubjectDataError, CheckpointError, ValueError) as exc:
        sys.exit(f"cross_subject: error: {exc}")
    summary = summarise_subjects(result["subjects"], args.task, config.windows_s)
    emit(_strict({
        "benchmark": "cross_subject", "task": args.task, "data_root": str(args.data_root),
        "bases": [str(b) for b in bases], "mode": "fold-bases" if args.fold_bases else "base",
        "reserved_subjects": sorted(reserved_ids(args.data_root)), "metric": "trial balanced accuracy (mean block)",
        **summary, **{k: result[k] for k in ("folds", "fold_assignment", "zero_head", "skipped", "notes")},
        "subjects": result["subjects"], "config": dataclasses.asdict(config),
        "wall_s": round(time.perf_counter() - t0, 1),
    }), args.json_out)


if __name__ == "__main__":
    main()
