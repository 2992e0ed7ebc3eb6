"""The paper's readout: a window-level linear probe on quantile statistics of intermediate features.

SAMBA (arXiv 2511.18571; the evaluation in its authors' code) scores a frozen base by a
linear probe on features taken after the encoder's third pooling: for every feature
channel, 9 statistics over the window's time steps (min, max, mean, std and the 5, 25,
50, 75 and 95 % quantiles), standard scaling, and a logistic regression with balanced
class weights; reported as balanced accuracy, F1, Cohen's kappa and AUROC.

Our counterpart of "after the third pooling" is the output of the last causal
downsampling, i.e. the input tokens of the bottleneck stage (``layer="pooled"``); the
bottleneck's own output tokens (what our heads read) are ``layer="bottleneck"``. The
statistics are taken over the decision window's tokens (those emitted at or after
``decision_start``), so warm-up context never enters them. This is an evaluation mode:
it does not produce a live head.

:func:`window_metrics` is a minimal implementation of the four scores; a shared metrics
module in :mod:`calibration` is expected to supersede it (same names, same definitions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from samba_core import Samba, load_checkpoint

from .finetune import decision_token_start

#: Quantiles of the paper's statistics (percent), after min, max, mean and std.
QUANTILES = (5, 25, 50, 75, 95)
STATISTICS = ("min", "max", "mean", "std", *(f"q{q}" for q in QUANTILES))
LAYERS = ("pooled", "bottleneck")


def quantile_statistics(tokens: np.ndarray) -> np.ndarray:
    """tokens (windows, time, features) -> (windows, 9 * features), statistic-major.

    The 9 statistics per feature are :data:`STATISTICS`, taken over the time axis
    (population std). Raises ValueError for a window without any token.
    """
    tokens = np.asarray(tokens, dtype=np.float64)
    if tokens.ndim != 3 or tokens.shape[1] == 0:
        raise ValueError(f"tokens must be (windows, time >= 1, features), got {tokens.shape}: "
                         "make the decision window at least one token long")
    stats = [tokens.min(1), tokens.max(1), tokens.mean(1), tokens.std(1)]
    stats += list(np.percentile(tokens, QUANTILES, axis=1))
    return np.concatenate(stats, axis=-1)


@torch.no_grad()
def intermediate_tokens(model: Samba, x: np.ndarray, coords: np.ndarray, layer: str = "pooled",
                        batch_size: int = 16) -> np.ndarray:
    """Frozen features per token: x (windows, channels, samples) µV -> (windows, tokens, d_last).

    ``layer``: ``"pooled"`` (input of the bottleneck stage) or ``"bottleneck"`` (its output).
    """
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {LAYERS}, got {layer!r}")
    model.eval()
    captured: list[torch.Tensor] = []
    target = model.downsample[-1] if (layer == "pooled" and len(model.downsample)) else None
    hook = target.register_forward_hook(lambda _m, _i, out: captured.append(out[0])) if target else None
    weights = model.spatial_weights(torch.as_tensor(np.asarray(coords, dtype=np.float32)))
    out = []
    try:
        for i in range(0, len(x), batch_size):
            xb = torch.as_tensor(np.asarray(x[i : i + batch_size], dtype=np.float32))
            features = model(xb, spatial_weights=weights, decoder=False).features
            out.append(captured.pop() if hook else features)
    finally:
        if hook:
            hook.remove()
    return torch.cat(out).numpy()


def window_metrics(y_true: np.ndarray, proba: np.ndarray, labels: np.ndarray | None = None) -> dict[str, float]:
    """Balanced accuracy, macro F1, Cohen's kappa and AUROC of window predictions.

    y_true: (windows,) labels; proba: (windows, classes) probabilities in the order of
    ``labels`` (default: the sorted labels of ``y_true``). AUROC is the positive class's for
    two classes and the macro one-vs-rest mean for more; NaN when a class is absent.
    """
    y_true = np.asarray(y_true)
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    pred = labels[np.argmax(proba, axis=1)]
    try:
        if len(labels) == 2:
            auroc = float(roc_auc_score(y_true == labels[1], proba[:, 1]))
        else:
            auroc = float(roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=labels))
    except ValueError:
        auroc = float("nan")
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y_true, pred)),
        "f1": float(f1_score(y_true, pred, labels=labels, average="macro", zero_division=0)),
        "cohen_kappa": float(cohen_kappa_score(y_true, pred, labels=labels)),
        "auroc": auroc,
    }


class QuantileProbeClassifier(ClassifierMixin, BaseEstimator):
    """The paper's probe as a scikit-learn classifier over epochs (fits :func:`~calibration.validation.cross_validate`).

    Parameters
    ----------
    base_checkpoint : str or Path
        The frozen base.
    coords : (channels, 3) electrode positions in metres, in the channel order of ``X``.
    decision_start : int
        Sample index in each epoch where the decision window (the statistics' span) starts.
    layer : "pooled" or "bottleneck"
    C : float
        Inverse L2 strength of the logistic regression.
    """

    def __init__(self, base_checkpoint: str | Path | None = None, coords=None, decision_start: int = 0,
                 layer: str = "pooled", C: float = 1.0, batch_size: int = 16) -> None:
        self.base_checkpoint = base_checkpoint
        self.coords = coords
        self.decision_start = decision_start
        self.layer = layer
        self.C = C
        self.batch_size = batch_size

    def _model(self) -> Samba:
        if getattr(self, "model_", None) is None:
            if self.base_checkpoint is None or self.coords is None:
                raise ValueError("QuantileProbeClassifier needs base_checkpoint and coords (channels, 3) in metres")
            self.model_ = load_checkpoint(self.base_checkpoint).model
        return self.model_

    def features(self, X) -> np.ndarray:
        """Epochs (n, channels, samples) µV -> (n, 9 * d) statistics over the decision window's tokens."""
        model = self._model()
        tokens = intermediate_tokens(model, X, self.coords, self.layer, self.batch_size)
        first = decision_token_start(self.decision_start, model.config.hop)  # both layers run at the token rate
        return quantile_statistics(tokens[:, first:])

    def fit(self, X, y) -> "QuantileProbeClassifier":
        self.model_ = None
        self.pipeline_ = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
        )
        self.pipeline_.fit(self.features(X), np.asarray(y))
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        return self.pipeline_.predict_proba(self.features(X))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def score_windows(self, X, y) -> dict[str, float]:
        """:func:`window_metrics` of this probe on labelled epochs."""
        return window_metrics(np.asarray(y), self.predict_proba(X), self.classes_)
