"""Evaluation by subject, never by trial: the leave-subject-out protocol of ``bench/cross_subject.py``.

Subjects are split by :func:`calibration.subject_folds.subject_folds`. Fold ``j`` is scored
with base ``bases[j]`` (a network pretrained without fold ``j``'s subjects, or the same base for
every fold) and heads fitted on the other folds' subjects' labels:

``mi`` (EEGMMIDB imagined left/right fist), per scored subject:
- ``fold_head_samba``: zero calibration, a cross-subject head (:mod:`calibration.cross_subject`)
  fitted on the other folds' subjects;
- ``shipped_head_samba``: zero calibration with the base's own ``mi`` head (when it has one);
- ``zero_calibration_samba``: one of the two (``zero_head``; see :class:`EvalConfig`);
- ``recentred_ts_lr``: the Riemannian transfer baseline (:mod:`calibration.recentring`);
- ``calibrated_samba``, ``random_init_samba``, ``csp_lda``, ``ts_lr``: per-subject calibration
  cross-validated on the same within-subject folds (:func:`calibration.validation.cross_validate`),
  SAMBA from the base and from a random initialisation of the same network.

``distraction`` (EEGMAT rest vs arithmetic): ``cross_subject_samba`` (the fold head),
``shipped_head_samba`` and ``recentred_ts_lr`` on decision windows of each of ``windows_s``
(method names ``<method>/<W>s``; the unsuffixed names are the longest window).

Every method gets balanced accuracy, F1, Cohen's kappa and AUROC of its trial decisions and,
for SAMBA, of its per-token decisions (one every hop).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from samba_core import LoadedCheckpoint, load_checkpoint
from samba_core.preprocessing import PreprocessConfig
from samba_core.recordings import shared_subjects

from .baselines import baseline_estimators
from .calibrate import CalibrationConfig, samba_estimator
from .cross_subject import SubjectFeatures, base_training_subjects, fit_and_score, head_model, score_head, subject_features
from .epochs import EpochingError, EpochSet
from .metrics import classification_metrics
from .recentring import covariances, fit_and_score_recentred, recentre
from .subject_data import subject_epochs, subject_recordings, task_protocol
from .subject_folds import check_fold_base, subject_folds
from .validation import cross_validate, make_folds

ZERO_HEADS = ("auto", "shipped", "folds")


@dataclass(frozen=True)
class EvalConfig:
    """Settings of one evaluation.

    task : ``"mi"`` or ``"distraction"``; folds : subject folds k; calibration_folds : within-subject
    folds of the calibrated methods (0 skips calibration); windows_s : distraction decision windows;
    zero_head : which head ``zero_calibration_samba`` / ``cross_subject_samba`` is: ``"folds"`` (fitted on
    the other folds), ``"shipped"`` (the base's own) or ``"auto"`` (shipped when a single base records a
    fitted head for the task, else folds); seed : folds of the calibration, probe splits, random init;
    baselines : also score the classic baselines (CSP+LDA, TS+LR, recentred TS+LR) and the random-init
    control; ``False`` scores SAMBA alone (an ablation of SAMBA variants, where those are the same for all).
    """

    task: str = "mi"
    folds: int = 5
    calibration_folds: int = 5
    windows_s: tuple[float, ...] = (1.0, 2.0, 4.0)
    zero_head: str = "auto"
    seed: int = 0
    baselines: bool = True

    def __post_init__(self) -> None:
        if self.zero_head not in ZERO_HEADS:
            raise ValueError(f"zero_head must be one of {ZERO_HEADS}, got {self.zero_head!r}")


def _shipped_head_fitted(base: LoadedCheckpoint, task: str) -> bool:
    return isinstance(base.metadata.provenance.get("heads", {}).get(task), dict)


def _zero_head(config: EvalConfig, bases: list[LoadedCheckpoint]) -> str:
    if config.zero_head != "auto":
        return config.zero_head
    single = len({str(b.path) for b in bases}) == 1
    return "shipped" if single and _shipped_head_fitted(bases[0], config.task) else "folds"


class _Subjects:
    """Epochs (per protocol) and recentred covariances of every subject, read once."""

    def __init__(self, root, subjects, task, pre: PreprocessConfig, windows: list[float | None], log) -> None:
        self.root, self.task, self.pre, self.windows, self.log = root, task, pre, windows, log
        self.epochs: dict[tuple[str, float | None], EpochSet] = {}
        self.covs: dict[tuple[str, float | None], np.ndarray] = {}
        self.skipped: dict[str, str] = {}
        self.subjects = [s for s in subjects if self._load(s)]

    def _load(self, subject: str) -> bool:
        try:
            recordings = subject_recordings(self.root, subject, self.task)
            for w in self.windows:
                ep = subject_epochs(self.root, subject, self.task, self.pre, task_protocol(self.task, w),
                                    recordings=recordings)
                self.epochs[subject, w] = ep
                self.covs[subject, w] = recentre(covariances(ep.x, ep.decision_start, ep.sample_rate, self.task))
        except EpochingError as exc:
            self.skipped[subject] = str(exc)
            self.log(f"{subject}: skipped ({exc})")
            return False
        return True

    def labels(self, subject: str, window: float | None, classes: tuple[str, ...]) -> np.ndarray:
        ep = self.epochs[subject, window]
        return np.array([classes.index(ep.classes[i]) for i in ep.y], dtype=np.int64)


def _calibrated(base_path: Path, base: LoadedCheckpoint, ep: EpochSet, config: EvalConfig) -> dict[str, dict]:
    """Within-subject cross-validation of the calibrated methods on one set of folds."""
    cal = CalibrationConfig(task=config.task, folds=config.calibration_folds, seed=config.seed)
    folds = make_folds(ep.y, ep.groups, config.calibration_folds, config.seed)
    estimators = {"calibrated_samba": samba_estimator(base_path, ep, config.task, cal)}
    if config.baselines:
        estimators["random_init_samba"] = samba_estimator(None, ep, config.task, cal, init_config=base.config)
        estimators.update(baseline_estimators(config.task, ep.decision_start, ep.sample_rate))
    results = cross_validate(estimators, ep.x, ep.y, folds, ep.groups, ep.classes)
    out = {}
    for name, r in results.items():
        d = r.to_dict()
        out[name] = {"trial": {**d["metrics"], "balanced_accuracy": r.balanced_accuracy}, "fold_scores": r.fold_scores}
        if "per_decision_metrics" in d:
            out[name]["per_decision"] = d["per_decision_metrics"]
    return out


def evaluate(data_root: str | Path, subjects: list[str], base_paths: list[Path], config: EvalConfig,
             log: Callable[[str], None] = print) -> dict:
    """Score every subject by the leave-subject-out protocol (module docstring).

    Parameters
    ----------
    subjects : ids from :func:`calibration.subject_data.select_subjects`
    base_paths : one checkpoint per fold (``fold{j}.samba``), or one checkpoint for all folds

    Returns
    -------
    ``{"fold_assignment", "zero_head", "subjects": {id: {"fold", "base", "methods": {name:
    {"trial": metrics, "per_decision": metrics}}, ...}}, "skipped", "notes"}``

    Raises
    ------
    ValueError
        Fold bases that saw the subjects they score, bases with different preprocessing, too few subjects.
    """
    bases = [load_checkpoint(p) for p in base_paths]
    if len({json.dumps(b.metadata.preprocessing, sort_keys=True) for b in bases}) != 1:
        raise ValueError("the fold bases record different preprocessing; pretrain them with one configuration")
    pre = PreprocessConfig.from_dict(bases[0].metadata.preprocessing) if bases[0].metadata.preprocessing else PreprocessConfig()
    windows = [None] if config.task == "mi" else list(config.windows_s)
    data = _Subjects(data_root, subjects, config.task, pre, windows, log)
    k = config.folds if len(bases) == 1 else len(bases)
    assignment = subject_folds(data.subjects, k)
    per_fold = len(bases) > 1
    zero = _zero_head(config, bases)
    notes = []
    if zero == "shipped" and not _shipped_head_fitted(bases[0], config.task):
        notes.append(f"the base's provenance records no fitting of its {config.task!r} head: shipped_head_samba "
                     "scores an untrained head")
    classes = tuple(task_protocol(config.task).classes)
    results: dict[str, dict] = {}
    cache: dict[tuple[str, float | None], dict[str, SubjectFeatures]] = {}
    for j in range(k):
        scored = [s for s in data.subjects if assignment[s] == j]
        base_path, base = (base_paths[j], bases[j]) if per_fold else (base_paths[0], bases[0])
        if per_fold:
            notes += check_fold_base(base.metadata.provenance, scored, str(base_path))
        seen = base_training_subjects(base.metadata)
        model = head_model(base.model, config.task, classes, config.seed)
        shipped = base.model.heads[config.task] if tuple(base.config.head_classes.get(config.task, ())) == classes else None
        for s in scored:
            results[s] = {"fold": j, "base": str(base_path), "base_pretrained_on_subject": None if seen is None else bool(shared_subjects([s], seen)),
                          "trials": int(data.epochs[s, windows[-1]].y.size),
                          "counts": data.epochs[s, windows[-1]].counts, "methods": {}}
        for w in windows:
            suffix = "" if w is None else f"/{w:g}s"
            if (str(base_path), w) not in cache:  # one pass per base: a single base serves every fold
                cache.clear()
                cache[str(base_path), w] = {s: subject_features(model, s, data.epochs[s, w], classes)
                                            for s in data.subjects}
            feats = cache[str(base_path), w]
            train = [feats[s] for s in data.subjects if assignment[s] != j]
            head_scores = fit_and_score(model.heads[config.task], train, [feats[s] for s in scored], config.seed)
            cov_train = [(data.covs[s, w], data.labels(s, w, classes)) for s in data.subjects if assignment[s] != j]
            for s in scored:
                m = results[s]["methods"]
                m["fold_head_samba" + suffix] = {lv: head_scores[s][lv] for lv in ("trial", "per_decision")}
                if shipped is not None:
                    m["shipped_head_samba" + suffix] = score_head(shipped, feats[s])
                if config.baselines:
                    proba = fit_and_score_recentred(cov_train, data.covs[s, w], len(classes))
                    m["recentred_ts_lr" + suffix] = {"trial": classification_metrics(data.labels(s, w, classes), proba)}
                zero_name = "zero_calibration_samba" if config.task == "mi" else "cross_subject_samba"
                chosen = "shipped_head_samba" if zero == "shipped" and shipped is not None else "fold_head_samba"
                m[zero_name + suffix] = m[chosen + suffix]
        for s in scored:
            if config.task == "mi" and config.calibration_folds:
                results[s]["methods"].update(_calibrated(base_path, base, data.epochs[s, None], config))
            log(f"{s} (fold {j}): " + ", ".join(f"{n} {v['trial']['balanced_accuracy']:.3f}"
                                               for n, v in results[s]["methods"].items()))
    if config.task == "distraction":  # the unsuffixed names are the longest window
        longest = f"/{max(config.windows_s):g}s"
        for r in results.values():
            r["methods"].update({n[: -len(longest)]: v for n, v in list(r["methods"].items()) if n.endswith(longest)})
    return {"fold_assignment": assignment, "folds": k, "zero_head": zero, "subjects": results,
            "skipped": data.skipped, "notes": notes}

