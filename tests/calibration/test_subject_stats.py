"""Metrics, intervals and paired tests across subjects."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from calibration.metrics import classification_metrics, mean_metrics
from calibration.stats import mean_interval, paired_comparison


def test_perfect_inverted_and_chance_decisions() -> None:
    y = np.array([0, 0, 1, 1, 1])
    perfect = np.eye(2)[y] * 0.8 + 0.1
    assert classification_metrics(y, perfect) == {"balanced_accuracy": 1.0, "f1": 1.0, "kappa": 1.0, "auroc": 1.0}
    inverted = classification_metrics(y, perfect[:, ::-1])
    assert inverted["balanced_accuracy"] == 0.0 and inverted["auroc"] == 0.0 and inverted["kappa"] < 0


def test_logits_and_probabilities_give_the_same_metrics() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    logits = rng.normal(size=(40, 3)) + 1.5 * np.eye(3)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    a, b = classification_metrics(y, logits, logits=True), classification_metrics(y, p)
    assert a == pytest.approx(b)
    assert 0.5 < a["balanced_accuracy"] <= 1 and 0.5 < a["auroc"] <= 1
    assert mean_metrics([a, b])["f1"] == pytest.approx(a["f1"])


def test_scores_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="classes"):
        classification_metrics(np.array([0, 1]), np.array([0.2, 0.8]))


def test_intervals_cover_the_mean_and_match_student_t() -> None:
    v = np.array([0.61, 0.72, 0.55, 0.8, 0.67, 0.7])
    r = mean_interval(v)
    lo, hi = stats.t.interval(0.95, v.size - 1, loc=v.mean(), scale=stats.sem(v))
    assert r["ci95_t"] == pytest.approx([lo, hi])
    assert r["ci95_bootstrap"][0] < r["mean"] < r["ci95_bootstrap"][1]
    assert np.isnan(mean_interval([0.7])["ci95_t"][0])


def test_paired_tests_are_exact_for_small_samples() -> None:
    a = np.array([0.7, 0.8, 0.65, 0.9, 0.75, 0.72, 0.68, 0.81])
    r = paired_comparison(a, a - 0.05 - 0.01 * np.arange(8))
    assert r["wins"] == 8 and r["sign_flip_p"] == pytest.approx(2 / 2**8) and r["wilcoxon_p"] == pytest.approx(2 / 2**8)
    same = paired_comparison(a, a)
    assert same["wilcoxon_p"] == same["sign_flip_p"] == 1.0
    mixed = paired_comparison(a, a[::-1])
    assert mixed["sign_flip_p"] > 0.05
    with pytest.raises(ValueError, match="one value per subject"):
        paired_comparison(a, a[:3])
