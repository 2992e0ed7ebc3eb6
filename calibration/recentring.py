"""The Riemannian transfer baseline: tangent space + logistic regression on re-centred covariances.

Zanini P., Congedo M., Jutten C., Said S., Berthoumieu Y., "Transfer Learning: A Riemannian
Geometry Framework With Applications to Brain-Computer Interfaces", IEEE TBME 65(5):1107-1116,
2018. Each subject's covariance matrices are re-centred to the identity,
``C -> M^{-1/2} C M^{-1/2}`` with ``M`` the Riemannian (affine-invariant) mean of that subject's
own covariances; labels are not used, so a new user's unlabelled EEG is enough. Re-centred
covariances of different people share one reference point, so a tangent space + logistic
regression trained on other subjects applies to the new one.

The covariances are those of the within-subject TS+LR baseline (:mod:`calibration.baselines`):
causal band-pass, decision window, OAS shrinkage; means and square roots from ``pyriemann``.
"""

from __future__ import annotations

import numpy as np
from pyriemann.estimation import Covariances
from pyriemann.tangentspace import TangentSpace
from pyriemann.geometry.base import invsqrtm
from pyriemann.geometry.mean import mean_riemann
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from .baselines import BASELINE_BANDS, CausalBandPass, DecisionWindow


def covariances(x: np.ndarray, decision_start: int, sample_rate: float, task: str) -> np.ndarray:
    """OAS covariances of the decision windows: x (epochs, channels, samples) -> (epochs, channels, channels)."""
    band = BASELINE_BANDS.get(task)
    front = Pipeline([("bandpass", CausalBandPass(band, sample_rate)), ("window", DecisionWindow(decision_start)),
                      ("cov", Covariances("oas"))])
    return front.fit_transform(x)


def recentre(covs: np.ndarray) -> np.ndarray:
    """Re-centre one subject's covariances (n, c, c) to the identity with their own Riemannian mean."""
    if covs.ndim != 3 or covs.shape[0] < 1:
        raise ValueError(f"recentring needs (epochs >= 1, channels, channels) covariances, got {covs.shape}")
    w = invsqrtm(mean_riemann(covs))
    return w @ covs @ w


class RecentredTSLR:
    """Tangent space at the training covariances' mean (near the identity once re-centred) + logistic regression.

    ``fit`` takes the re-centred covariances of the training subjects pooled; ``predict_proba``
    the re-centred covariances of a new subject.
    """

    def __init__(self, max_iter: int = 1000) -> None:
        self.pipeline = Pipeline([("ts", TangentSpace(metric="riemann")), ("lr", LogisticRegression(max_iter=max_iter))])

    def fit(self, covs: np.ndarray, y: np.ndarray) -> "RecentredTSLR":
        self.pipeline.fit(covs, y)
        return self

    def predict_proba(self, covs: np.ndarray) -> np.ndarray:
        """(epochs, classes) probabilities; columns are the sorted labels seen in ``fit``."""
        return self.pipeline.predict_proba(covs)


def fit_and_score_recentred(train: list[tuple[np.ndarray, np.ndarray]], test: np.ndarray,
                            n_classes: int) -> np.ndarray:
    """Train on subjects' ``(recentred covs, y)``; return (epochs, n_classes) probabilities for ``test``.

    Raises
    ------
    ValueError
        Subjects with different channel counts (covariances of different sizes).
    """
    sizes = {c.shape[1:] for c, _ in train} | {test.shape[1:]}
    if len(sizes) != 1:
        raise ValueError(f"re-centred TS+LR needs one montage across subjects; covariance sizes are {sorted(sizes)}")
    model = RecentredTSLR().fit(np.concatenate([c for c, _ in train]), np.concatenate([y for _, y in train]))
    proba = np.zeros((test.shape[0], n_classes))
    proba[:, model.pipeline.classes_] = model.predict_proba(test)
    return proba
