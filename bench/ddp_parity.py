"""Compare the per-step losses of two pretraining runs (e.g. one GPU vs two GPUs at the same global batch).

    python bench/ddp_parity.py RUN_A RUN_B [--label NAME] [--out FILE]

Reads ``metrics.csv`` of both run folders and prints one JSON object: the number of
common steps, max and mean absolute loss difference, max relative difference, the
difference over the first 10 steps (before rounding differences have compounded), and
the median training throughput of each run.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np


def _read(run: Path) -> dict[str, np.ndarray]:
    with (run / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def compare(a: Path, b: Path) -> dict:
    ra, rb = _read(a), _read(b)
    n = min(len(ra["step"]), len(rb["step"]))
    if not np.array_equal(ra["step"][:n], rb["step"][:n]):
        raise SystemExit(f"{a} and {b} logged different steps")
    la, lb = ra["loss"][:n], rb["loss"][:n]
    diff = np.abs(la - lb)
    summary = lambda r: json.loads((r / "summary.json").read_text()) if (r / "summary.json").is_file() else {}
    sa, sb = summary(a), summary(b)
    return {
        "run_a": str(a), "run_b": str(b), "world_a": sa.get("world_size"), "world_b": sb.get("world_size"),
        "precision": sa.get("precision"), "device": sa.get("device"), "steps": int(n),
        "max_abs_loss_diff": float(diff.max()), "mean_abs_loss_diff": float(diff.mean()),
        "max_rel_loss_diff": float((diff / np.abs(la)).max()), "max_abs_loss_diff_first10": float(diff[:10].max()),
        "final_loss_a": float(la[-1]), "final_loss_b": float(lb[-1]),
        "median_samples_per_s_a": float(np.median(ra["samples_per_s"][1:n])),
        "median_samples_per_s_b": float(np.median(rb["samples_per_s"][1:n])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = {"label": args.label, **compare(args.run_a, args.run_b)}
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
