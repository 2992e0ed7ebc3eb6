"""One place for classification metrics: balanced accuracy, F1, Cohen's kappa and AUROC.

The SAMBA paper reports these four for its window-level probe; the project reports them
wherever it reports balanced accuracy, so numbers stand beside the paper's. All come from
scikit-learn:

- ``balanced_accuracy``: mean recall over the classes present in ``y``;
- ``f1``: macro-averaged F1 over the classes present;
- ``kappa``: Cohen's kappa of predictions against truth;
- ``auroc``: area under the ROC curve of the class-1 score (two classes) or the macro
  one-vs-rest AUROC (more classes); NaN when ``y`` holds a single class.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score, f1_score, roc_auc_score

METRICS = ("balanced_accuracy", "f1", "kappa", "auroc")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def classification_metrics(y: np.ndarray, scores: np.ndarray, *, logits: bool = False) -> dict[str, float]:
    """The four metrics of decisions ``argmax(scores)`` against ``y``.

    Parameters
    ----------
    y : (n,) int class indices 0..k-1
    scores : (n, k) class probabilities (or logits with ``logits=True``), column j = class j
    logits : whether ``scores`` are logits (softmax is applied for AUROC)

    Raises
    ------
    ValueError
        ``scores`` is not (n, k) with k >= 2 or does not match ``y``.
    """
    y = np.asarray(y).astype(np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != y.size or scores.shape[1] < 2:
        raise ValueError(f"scores must be (n, classes >= 2) with n = {y.size} decisions, got {scores.shape}")
    if y.size == 0:
        return {m: float("nan") for m in METRICS}
    pred = scores.argmax(axis=1)
    prob = _softmax(scores) if logits else scores
    present = np.unique(y)
    if present.size < 2:
        auroc = float("nan")
    elif scores.shape[1] == 2:
        auroc = float(roc_auc_score(y, prob[:, 1]))
    else:
        p = prob[:, present] / prob[:, present].sum(axis=1, keepdims=True)
        auroc = float(roc_auc_score(y, p, multi_class="ovr", average="macro", labels=present))
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)),
        "kappa": float(cohen_kappa_score(y, pred)),
        "auroc": auroc,
    }


def mean_metrics(records: list[dict[str, float]]) -> dict[str, float]:
    """Per-metric mean over records (e.g. folds), ignoring NaN entries."""
    out = {}
    for m in METRICS:
        values = np.array([r[m] for r in records if m in r], dtype=np.float64)
        out[m] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    return out
