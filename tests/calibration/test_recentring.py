"""Re-centring covariances per subject (Zanini et al. 2018)."""

from __future__ import annotations

import numpy as np
import pytest
from pyriemann.geometry.distance import distance_riemann
from pyriemann.geometry.mean import mean_riemann

from calibration.recentring import covariances, fit_and_score_recentred, recentre


def _covs(rng, n=30, c=5, shift=0.0):
    x = rng.normal(size=(n, c, 200))
    x[: n // 2, 0] *= 1.0 + shift  # class 0 has more power on channel 0
    return np.einsum("nct,ndt->ncd", x, x) / 200


def test_recentred_covariances_have_the_identity_as_mean() -> None:
    covs = _covs(np.random.default_rng(0))
    assert mean_riemann(recentre(covs)) == pytest.approx(np.eye(5), abs=1e-6)


def test_recentring_removes_a_subject_specific_mixing() -> None:
    """Another head (a congruence A C A^T) gives the same distances to the reference after re-centring."""
    rng = np.random.default_rng(1)
    covs = _covs(rng)
    a = rng.normal(size=(5, 5)) + 3 * np.eye(5)
    mixed = a @ covs @ a.T
    d1 = [distance_riemann(c, np.eye(5)) for c in recentre(covs)]
    d2 = [distance_riemann(c, np.eye(5)) for c in recentre(mixed)]
    assert d1 == pytest.approx(d2, rel=1e-6)


def test_a_classifier_from_other_subjects_transfers_after_recentring() -> None:
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], 15)
    subjects = []
    for k in range(3):
        a = rng.normal(size=(5, 5)) + 3 * np.eye(5)
        subjects.append((recentre(a @ _covs(rng, shift=1.0) @ a.T), y))
    proba = fit_and_score_recentred(subjects[:2], subjects[2][0], 2)
    assert proba.shape == (30, 2) and np.allclose(proba.sum(1), 1)
    assert np.mean(proba.argmax(1) == y) > 0.8
    with pytest.raises(ValueError, match="one montage"):
        fit_and_score_recentred(subjects[:2], np.stack([np.eye(4)] * 3), 2)


def test_covariances_read_the_decision_window() -> None:
    x = np.random.default_rng(3).normal(size=(4, 3, 300))
    covs = covariances(x, 100, 160.0, "distraction")  # no band: the preprocessing's
    assert covs.shape == (4, 3, 3) and np.all(np.linalg.eigvalsh(covs) > 0)
