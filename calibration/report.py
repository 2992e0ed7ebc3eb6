"""CalibrationReport: what a calibration did and how well each method scored, as JSON and plots."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

#: Report file names inside the report folder.
REPORT_JSON = "report.json"
#: Display names of the methods a calibration compares.
METHOD_NAMES = {"samba": "SAMBA (fine-tuned)", "csp_lda": "CSP + LDA", "ts_lr": "Tangent space + LR"}


@dataclass
class CalibrationReport:
    """Everything needed to judge and reproduce a calibration.

    Parameters
    ----------
    sessions : list of dict
        Per file: ``path``, ``sha256``, ``sample_rate`` (Hz), ``duration_s``, ``n_markers``.
    task, protocol : str, dict
        Head calibrated and the protocol definition (:meth:`Protocol.to_dict`).
    classes : list of str
        Class names in head output order; ``counts`` gives epochs per class.
    channels : list of str
        EEG channels used (model input order).
    sample_rate : float
        Model rate in Hz. ``preprocessing`` is the ``PreprocessConfig.to_dict()`` applied.
    base_checkpoint : dict or None
        ``path`` and ``sha256`` of the starting checkpoint (None: random initialisation).
    train : str
        Fine-tuning mode. ``fine_tuner`` holds the estimator's settings.
    folds, seed, fold_assignment
        Number of folds, the seed of the split, and each epoch's fold index.
    scores : dict
        Method -> :meth:`MethodScores.to_dict` (balanced accuracy per fold, mean, confusion, per class).
    final_fit : dict
        Final fine-tune on all epochs: ``history`` (learning curve), ``best_epoch``, ``seconds``...
    checkpoint : str
        Where the subject checkpoint was written.
    timings : dict
        Seconds per phase.
    notes : list of str
        Anything the user should know (dropped epochs, replaced head, missing base...).
    plots : list of str
        PNG files written beside the JSON.
    """

    sessions: list[dict[str, Any]]
    task: str
    protocol: dict[str, Any]
    classes: list[str]
    counts: dict[str, int]
    channels: list[str]
    sample_rate: float
    preprocessing: dict[str, Any]
    base_checkpoint: dict[str, Any] | None
    train: str
    fine_tuner: dict[str, Any]
    folds: int
    seed: int
    fold_assignment: list[int]
    scores: dict[str, dict[str, Any]]
    final_fit: dict[str, Any]
    checkpoint: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)

    # -- summaries --------------------------------------------------------------------
    def balanced_accuracy(self, method: str) -> float:
        return float(self.scores[method]["balanced_accuracy"])

    def summary(self) -> str:
        """A few lines for the terminal: scores side by side, then the warning (:meth:`warning`), if any."""
        counts = ", ".join(f"{c} {n}" for c, n in self.counts.items())
        lines = [
            f"task {self.task} ({self.protocol['name']}): {sum(self.counts.values())} epochs ({counts}), "
            f"{len(self.channels)} channels, {self.folds}-fold cross-validation "
            f"(balanced accuracy, chance {1 / len(self.classes):.2f})"
        ]
        for name, s in self.scores.items():
            per_class = ", ".join(f"{c} {v:.2f}" for c, v in s["per_class_accuracy"].items())
            lines.append(f"  {METHOD_NAMES.get(name, name):<19} {s['balanced_accuracy']:.3f} ± {s['std']:.3f}   ({per_class})")
        lines += [f"  note: {n}" for n in self.notes]
        warning = self.warning()
        if warning:
            lines.append(f"  warning: {warning}; the checkpoint was written, but think twice before decoding with it")
        return "\n".join(lines)

    def warning(self) -> str | None:
        """Why decoding with this checkpoint is doubtful (SAMBA at or below chance, or below a baseline on the
        same folds), with the numbers; None when SAMBA beats chance and every baseline, or was not cross-validated."""
        samba = self.scores.get("samba")
        if samba is None:
            return None
        ba, chance = float(samba["balanced_accuracy"]), 1 / max(len(self.classes), 1)
        reasons = []
        if ba <= chance:
            reasons.append(f"SAMBA's cross-validated balanced accuracy {ba:.3f} is at or below chance ({chance:.3f})")
        better = [f"{METHOD_NAMES.get(k, k)} {float(s['balanced_accuracy']):.3f}" for k, s in self.scores.items()
                  if k != "samba" and float(s["balanced_accuracy"]) > ba]
        if better:
            reasons.append(f"SAMBA ({ba:.3f}) scored below the baseline {', '.join(better)} on the same folds")
        return "; ".join(reasons) or None

    # -- files ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=_jsonable))
        return path

    @classmethod
    def from_json(cls, path: str | Path) -> "CalibrationReport":
        data = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, directory: str | Path) -> Path:
        """Write ``report.json`` and the plots into ``directory``; return the JSON path."""
        from .report_plots import save_plots

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.plots = [str(p) for p in save_plots(self, directory)]
        return self.to_json(directory / REPORT_JSON)


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays, Paths -> JSON types."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
