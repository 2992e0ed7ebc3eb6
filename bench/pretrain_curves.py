"""Loss curves of a pretraining run folder: a CSV and a figure for the model card.

    python bench/pretrain_curves.py RUN_DIR --csv checkpoints/samba-base-curves.csv --png checkpoints/samba-base-loss.png

Reads ``metrics.csv`` (per step) and ``val.csv`` (validation) of a ``samba-pretrain train``
run folder. The CSV has one row per ``--every`` steps: the mean training loss and nMSE over the
preceding ``--every`` steps, and the validation loss and nMSE where one was taken. nMSE is the
squared error over the target's power on the hidden samples (1 = predicting zeros).
The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from json_result import emit  # noqa: E402


def read_rows(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def curves(run: Path, every: int) -> list[dict[str, float | str]]:
    """Rows of (step, train means over the last ``every`` steps, validation where taken)."""
    train = read_rows(run / "metrics.csv")
    val = {int(r["step"]): r for r in read_rows(run / "val.csv")}
    steps = np.array([r["step"] for r in train])
    loss = np.array([r["loss"] for r in train])
    nmse = np.array([r["nmse"] for r in train])
    out = []
    for step in sorted(set(range(0, int(steps.max()) + 1, every)) | set(val)):
        window = (steps > step - every) & (steps <= step)
        v = val.get(step, {})
        out.append({
            "step": step,
            "train_loss_mean": f"{loss[window].mean():.4f}" if window.any() else "",
            "train_nmse_mean": f"{nmse[window].mean():.4f}" if window.any() else "",
            "val_loss": f"{v['val_loss']:.4f}" if v else "", "val_nmse": f"{v['val_nmse']:.4f}" if v else "",
        })
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="samba-pretrain train --out folder")
    p.add_argument("--csv", type=Path, required=True)
    p.add_argument("--png", type=Path)
    p.add_argument("--every", type=int, default=50)
    args = p.parse_args(argv)
    rows = curves(args.run, args.every)
    with open(args.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for ax, key in zip(axes, ("loss", "nmse")):
            for kind, style in (("train", "-"), ("val", "o-")):
                pts = [(r["step"], float(r[f"{kind}_{key}" + ("_mean" if kind == "train" else "")]))
                       for r in rows if r[f"{kind}_{key}" + ("_mean" if kind == "train" else "")]]
                if pts:
                    ax.plot(*zip(*pts), style, label=kind, ms=3)
            ax.set_xlabel("step")
            ax.set_ylabel(key)
            ax.legend()
        fig.tight_layout()
        fig.savefig(args.png, dpi=100)
    final = [r for r in rows if r["val_loss"]][-1]
    emit({"rows": len(rows), "final_step": final["step"], "final_val_loss": float(final["val_loss"]),
          "final_val_nmse": float(final["val_nmse"])}, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
