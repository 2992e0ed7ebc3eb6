"""Classic baselines, as scikit-learn pipelines over the same epochs as SAMBA.

Both take the SAMBA epoch array ``X: (epochs, channels, samples)`` (context + decision
window, preprocessed by the live pipeline) and:

1. band-pass it causally to the rhythm band (mu/beta, 8-30 Hz, for motor imagery), the
   standard front end of these methods; the context before the decision window absorbs
   the filter's start-up transient, exactly as a live filter would have settled;
2. keep the decision window only (:class:`DecisionWindow`);
3. CSP + LDA: ``mne.decoding.CSP`` (log-variance of spatial filters) + linear discriminant;
   TS + LR: ``pyriemann`` OAS covariances -> Riemannian tangent space -> logistic regression.
"""

from __future__ import annotations

import numpy as np
from mne.decoding import CSP
from mne.utils import use_log_level
from pyriemann.estimation import Covariances
from pyriemann.tangentspace import TangentSpace
from scipy import signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

#: Band used by the baselines per task (Hz); None keeps the preprocessing's band.
BASELINE_BANDS: dict[str, tuple[float, float] | None] = {"mi": (8.0, 30.0), "distraction": None}


class CausalBandPass(TransformerMixin, BaseEstimator):
    """Causal Butterworth band-pass along time. X: (epochs, channels, samples) -> same shape, float64.

    Parameters
    ----------
    band : (low, high) in Hz, or None to pass X through.
    sample_rate : float, Hz.
    order : int
    """

    def __init__(self, band: tuple[float, float] | None = (8.0, 30.0), sample_rate: float = 256.0, order: int = 4) -> None:
        self.band = band
        self.sample_rate = sample_rate
        self.order = order

    def fit(self, X, y=None) -> "CausalBandPass":
        return self

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.band is None:
            return X
        sos = signal.butter(self.order, self.band, btype="bandpass", output="sos", fs=self.sample_rate)
        return signal.sosfilt(sos, X, axis=-1)


class QuietCSP(CSP):
    """``mne.decoding.CSP`` without its per-fit rank and covariance log lines (they drown the progress bars)."""

    def fit(self, X, y):
        with use_log_level("warning"):
            return super().fit(X, y)

    def transform(self, X):
        with use_log_level("warning"):
            return super().transform(X)


class DecisionWindow(TransformerMixin, BaseEstimator):
    """Keep samples from ``start`` on. X: (epochs, channels, samples) -> (epochs, channels, samples - start)."""

    def __init__(self, start: int = 0) -> None:
        self.start = start

    def fit(self, X, y=None) -> "DecisionWindow":
        return self

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if not 0 <= self.start < X.shape[-1]:
            raise ValueError(f"decision window start {self.start} is outside epochs of {X.shape[-1]} samples")
        return X[..., self.start :]


def csp_lda(decision_start: int, sample_rate: float, band: tuple[float, float] | None = (8.0, 30.0),
            n_components: int = 4) -> Pipeline:
    """Band-pass -> decision window -> CSP log-variance -> LDA."""
    return Pipeline([
        ("bandpass", CausalBandPass(band, sample_rate)),
        ("window", DecisionWindow(decision_start)),
        # The live common average reference removes one dimension: let CSP estimate the rank.
        ("csp", QuietCSP(n_components=n_components, reg="ledoit_wolf", log=True, rank=None)),
        ("lda", LinearDiscriminantAnalysis()),
    ])


def ts_lr(decision_start: int, sample_rate: float, band: tuple[float, float] | None = (8.0, 30.0)) -> Pipeline:
    """Band-pass -> decision window -> OAS covariance -> tangent space -> logistic regression."""
    return Pipeline([
        ("bandpass", CausalBandPass(band, sample_rate)),
        ("window", DecisionWindow(decision_start)),
        ("cov", Covariances("oas")),
        ("ts", TangentSpace(metric="riemann")),
        ("lr", LogisticRegression(max_iter=1000)),
    ])


def baseline_estimators(task: str, decision_start: int, sample_rate: float) -> dict[str, Pipeline]:
    """The two classic baselines for ``task``, keyed by their report names."""
    band = BASELINE_BANDS.get(task, None)
    return {"csp_lda": csp_lda(decision_start, sample_rate, band), "ts_lr": ts_lr(decision_start, sample_rate, band)}
