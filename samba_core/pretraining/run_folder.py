"""The files of a pretraining run folder, written by rank 0 only.

- ``state.pt``: model, optimiser, step, RNG states and both configs: what a resume needs
  (:func:`save_state` writes it atomically, :func:`capture_rng` / :func:`restore_rng` the RNGs);
- ``metrics.csv``: one row per step (:data:`METRIC_FIELDS`), ``val.csv``: one row per
  validation (:data:`VAL_FIELDS`), both kept by :class:`RunLogs`;
- ``summary.json`` and the exported checkpoint :data:`EXPORT_FILE`, written by the trainer.
"""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

STATE_FILE = "state.pt"
EXPORT_FILE = "samba-base.samba"
METRIC_FIELDS = ["step", "loss", "mse", "nmse", "lr", "grad_norm", "samples_per_s", "elapsed_s"]
VAL_FIELDS = ["step", "val_loss", "val_mse", "val_nmse"]
LOG_FIELDS = {"metrics.csv": METRIC_FIELDS, "val.csv": VAL_FIELDS}


def capture_rng() -> dict[str, Any]:
    """The torch, numpy, Python (and CUDA) RNG states, for ``state.pt``."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng` (CUDA states only for the devices this machine has)."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])


def save_state(folder: Path, state: dict[str, Any]) -> None:
    """Write ``state.pt`` through a temporary file, so an interruption never leaves half a state."""
    tmp = folder / (STATE_FILE + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, folder / STATE_FILE)


class RunLogs:
    """``metrics.csv`` and ``val.csv`` of a run folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def trim(self, step: int) -> None:
        """Keep the rows up to ``step`` (the resumed state's; 0: none) and drop those written after it."""
        for name, fields in LOG_FIELDS.items():
            path = self.folder / name
            rows = []
            if path.is_file() and step > 0:
                with path.open() as f:
                    rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
            with path.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=fields)
                writer.writeheader()
                writer.writerows(rows)

    def append(self, name: str, step: int, values: dict[str, float]) -> None:
        """One row of ``name`` (``metrics.csv`` or ``val.csv``): the step and ``values`` to 6 significant digits."""
        with (self.folder / name).open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=LOG_FIELDS[name]).writerow({"step": step, **{k: f"{v:.6g}" for k, v in values.items()}})

    def last_rows(self) -> dict[str, dict[str, float]]:
        """The last row of each log that has one, by file name."""
        out: dict[str, dict[str, float]] = {}
        for name in LOG_FIELDS:
            path = self.folder / name
            if path.is_file():
                with path.open() as f:
                    rows = list(csv.DictReader(f))
                if rows:
                    out[name] = {k: float(v) for k, v in rows[-1].items()}
        return out


__all__ = ["EXPORT_FILE", "METRIC_FIELDS", "STATE_FILE", "VAL_FIELDS", "RunLogs", "capture_rng", "restore_rng",
           "save_state"]
