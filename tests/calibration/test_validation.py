"""Cross-validation: one fold assignment, shared by every method; folds keep classes balanced and groups whole."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from calibration.validation import cross_validate, make_folds


class FoldSpy(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; records which epochs (by their first sample) it was trained on."""

    seen: list = []

    def __init__(self, tag: str = "") -> None:
        self.tag = tag

    def fit(self, X, y):
        FoldSpy.seen.append((self.tag, tuple(np.asarray(X)[:, 0, 0].tolist())))
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def test_folds_are_stratified_and_keep_groups_whole():
    y = np.repeat([0, 1], 30)
    groups = np.arange(60) // 3  # blocks of three epochs
    folds = make_folds(y, groups, 5, seed=1)
    assert set(folds) == set(range(5))
    for g in np.unique(groups):
        assert np.unique(folds[groups == g]).size == 1
    for f in range(5):
        assert 0 < np.sum(y[folds == f] == 0) and 0 < np.sum(y[folds == f] == 1)
    assert np.array_equal(folds, make_folds(y, groups, 5, seed=1))


def test_a_class_with_fewer_trials_than_folds_is_refused():
    y = np.array([0] * 10 + [1] * 3)
    with pytest.raises(ValueError, match="fewer than the 5 folds"):
        make_folds(y, np.arange(13), 5)


def test_every_method_sees_the_same_folds():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 2, 8))
    y = np.repeat([0, 1], 12)
    folds = make_folds(y, np.arange(24), 4)
    FoldSpy.seen = []
    results = cross_validate({"a": FoldSpy("a"), "b": FoldSpy("b")}, X, y, folds, class_names=("left", "right"))
    train_sets = {tag: [s for t, s in FoldSpy.seen if t == tag] for tag in ("a", "b")}
    assert train_sets["a"] == train_sets["b"] and len(train_sets["a"]) == 4
    for f in range(4):
        assert set(train_sets["a"][f]) == set(X[folds != f, 0, 0].tolist())
    for r in results.values():
        assert len(r.fold_scores) == 4 and np.sum(r.confusion) == 24
        assert r.balanced_accuracy == pytest.approx(0.5)  # a majority-class guess is at chance
        assert set(r.per_class_accuracy) == {"left", "right"}
        for f in range(4):  # out of fold: each epoch predicted by the model of the fold it was left out of
            majority = np.argmax(np.bincount(y[folds != f]))
            assert all(r.predictions[i] == majority for i in np.flatnonzero(folds == f))
