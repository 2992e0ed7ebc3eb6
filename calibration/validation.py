"""One cross-validation loop for every method: same epochs, same folds, same metrics.

Folds are stratified by class and grouped (:class:`sklearn.model_selection.StratifiedGroupKFold`),
so the epochs of one block never sit on both sides of a split. The fold assignment is
computed once and handed to every method, then stored in the report and the checkpoint.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, confusion_matrix
from sklearn.model_selection import StratifiedGroupKFold
from tqdm.auto import tqdm

from .metrics import classification_metrics, mean_metrics


@dataclass
class MethodScores:
    """Cross-validated results of one method.

    fold_scores: balanced accuracy per fold; confusion: (classes, classes) counts summed over
    folds (rows true, columns predicted); per_class_accuracy: recall per class; learning_curves:
    per fold, the fine-tuner's epoch records; probe_paths: per fold, the linear probe's inner-CV
    scores per L2 strength (both empty for methods without them); predictions: every epoch's
    class as predicted by the fold model that did not train on it (epoch order), so methods
    can be compared trial by trial; fold_metrics: per fold, balanced accuracy, F1, Cohen's kappa
    and AUROC of the trial decisions (:func:`calibration.metrics.classification_metrics`);
    decision_metrics: the same for every per-token decision of the decision window, for
    methods that decide per token (``token_logits``), else empty.
    """

    name: str
    fold_scores: list[float]
    confusion: list[list[int]]
    per_class_accuracy: dict[str, float]
    fit_seconds: float
    learning_curves: list[list[dict]] = field(default_factory=list)
    probe_paths: list[list[dict]] = field(default_factory=list)
    predictions: list[int] = field(default_factory=list)
    fold_metrics: list[dict] = field(default_factory=list)
    decision_metrics: list[dict] = field(default_factory=list)

    @property
    def balanced_accuracy(self) -> float:
        return float(np.mean(self.fold_scores))

    @property
    def metrics(self) -> dict[str, float]:
        """Mean over folds of each trial-level metric."""
        return mean_metrics(self.fold_metrics)

    @property
    def std(self) -> float:
        return float(np.std(self.fold_scores))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["balanced_accuracy"] = self.balanced_accuracy
        d["std"] = self.std
        d["metrics"] = self.metrics
        if self.decision_metrics:
            d["per_decision_metrics"] = mean_metrics(self.decision_metrics)
        return d


def _fold_decisions(model, X_test: np.ndarray, y_test: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, dict, dict | None]:
    """A fitted fold model's predictions, the metrics of its trial decisions and, when it decides per token
    (``token_logits``), of its per-token decisions; the network runs once."""
    y_idx = np.searchsorted(labels, y_test)
    columns = np.searchsorted(labels, model.classes_)
    per_token = None
    if hasattr(model, "token_logits"):
        tokens = model.token_logits(X_test)  # (epochs, tokens, classes of the model)
        logits = np.full(tokens.shape[:2] + (labels.size,), -np.inf)
        logits[..., columns] = tokens
        per_token = classification_metrics(np.repeat(y_idx, tokens.shape[1]), logits.reshape(-1, labels.size),
                                           logits=True)
        scores, is_logits = logits.mean(axis=1), True
    elif hasattr(model, "predict_proba"):
        scores, is_logits = np.zeros((y_test.size, labels.size)), False
        scores[:, columns] = model.predict_proba(X_test)
    else:  # hard decisions only: one-hot scores
        scores, is_logits = (np.searchsorted(labels, model.predict(X_test))[:, None] == np.arange(labels.size)), False
    return labels[scores.argmax(axis=1)], classification_metrics(y_idx, scores, logits=is_logits), per_token


def make_folds(y: np.ndarray, groups: np.ndarray, n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold index (0..n_folds-1) of every epoch: stratified by class, whole groups per fold.

    Raises
    ------
    ValueError
        When a class has fewer groups than folds (each test fold needs every class).
    """
    y = np.asarray(y)
    groups = np.asarray(groups)
    if n_folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {n_folds}")
    for k in np.unique(y):
        n_groups = np.unique(groups[y == k]).size
        if n_groups < n_folds:
            raise ValueError(
                f"class {k} has {n_groups} independent trials/blocks, fewer than the {n_folds} folds; "
                "use fewer folds or record more trials"
            )
    folds = np.empty(y.size, dtype=np.int64)
    splitter = StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed)
    for i, (_, test) in enumerate(splitter.split(np.zeros(y.size), y, groups)):
        folds[test] = i
    return folds


def cross_validate(
    estimators: dict[str, object], X: np.ndarray, y: np.ndarray, folds: np.ndarray, groups: np.ndarray | None = None,
    class_names: tuple[str, ...] | None = None, progress: bool = False,
) -> dict[str, MethodScores]:
    """Fit and score every estimator on the same folds.

    Parameters
    ----------
    estimators : name -> unfitted scikit-learn classifier (cloned per fold)
    X : (epochs, channels, samples); y : (epochs,) int class indices
    folds : (epochs,) fold index from :func:`make_folds`
    groups : (epochs,) group ids, passed to estimators whose ``fit`` accepts ``groups``
    class_names : names of the class indices, for the per-class accuracy keys
    """
    labels = np.unique(y)
    names = class_names or tuple(str(k) for k in labels)
    results: dict[str, MethodScores] = {}
    fold_ids = np.unique(folds)
    for name, estimator in estimators.items():
        scores, curves, paths, fold_metrics, decision_metrics = [], [], [], [], []
        predictions = np.empty_like(y)
        confusion = np.zeros((labels.size, labels.size), dtype=np.int64)
        t0 = time.perf_counter()
        for f in tqdm(fold_ids, desc=f"cv {name}", leave=False, disable=not progress):
            train, test = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
            model = clone(estimator)
            kwargs = {}
            if groups is not None and "groups" in inspect.signature(model.fit).parameters:
                kwargs["groups"] = groups[train]
            model.fit(X[train], y[train], **kwargs)
            pred, trial, per_token = _fold_decisions(model, X[test], y[test], labels)
            predictions[test] = pred
            scores.append(float(balanced_accuracy_score(y[test], pred)))
            fold_metrics.append(trial)
            if per_token is not None:
                decision_metrics.append(per_token)
            confusion += confusion_matrix(y[test], pred, labels=labels)
            curves.append([asdict(r) for r in getattr(model, "history_", [])])
            paths.append(list(getattr(model, "probe_path_", [])))
        recall = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
        results[name] = MethodScores(
            name=name, fold_scores=scores, confusion=confusion.tolist(),
            per_class_accuracy={names[i]: float(r) for i, r in enumerate(recall)},
            fit_seconds=time.perf_counter() - t0, learning_curves=curves if any(curves) else [],
            probe_paths=paths if any(paths) else [], predictions=predictions.tolist(), fold_metrics=fold_metrics,
            decision_metrics=decision_metrics,
        )
    return results
