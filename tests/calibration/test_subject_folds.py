"""The fold rule shared by the fold bases and the leave-subject-out evaluation."""

from __future__ import annotations

import pytest

from calibration.subject_folds import check_fold_base, fold_record, fold_subjects, subject_folds


@pytest.mark.parametrize("order", [lambda s: s, lambda s: s[::-1], sorted])
def test_the_ith_subject_of_each_dataset_goes_to_fold_i_mod_k(order) -> None:
    subjects = ["S001", "S002", "S003", "S005", "S010", "Subject01", "Subject02", "Subject04"]
    folds = subject_folds(order(subjects), 2)
    assert folds == {"S001": 0, "S002": 1, "S003": 0, "S005": 1, "S010": 0,
                     "Subject01": 0, "Subject02": 1, "Subject04": 0}


def test_numbers_sort_numerically_and_every_fold_is_used() -> None:
    folds = subject_folds(["S9", "S10", "S100", "S11"], 3)
    assert folds == {"S9": 0, "S10": 1, "S11": 2, "S100": 0}
    assert fold_subjects(["S9", "S10", "S100", "S11"], 3, 0) == ["S100", "S9"]


@pytest.mark.parametrize("subjects, k", [(["S001"], 2), (["S001", "S002"], 1), (["S001", "S001"], 2)])
def test_bad_splits_are_refused(subjects, k) -> None:
    with pytest.raises(ValueError):
        subject_folds(subjects, k)


def test_a_fold_base_that_saw_its_scored_subjects_is_refused() -> None:
    subjects = ["S001", "S002", "S003", "S004"]
    record = fold_record(subjects, 2, 1)
    assert record == {"k": 2, "index": 1, "excluded_subjects": ["S002", "S004"]}
    good = {"corpus": {"subjects": ["S001", "S003"]}, "fold": record}
    assert check_fold_base(good, ["S002", "S004"], "fold1.samba") == []
    with pytest.raises(ValueError, match="pretrained on"):
        check_fold_base({"corpus": {"subjects": subjects}}, ["S002"], "fold1.samba")
    with pytest.raises(ValueError, match="excludes"):
        check_fold_base({"fold": record}, ["S001"], "fold1.samba")
    assert "not checked" in check_fold_base({}, ["S001"], "fold0.samba")[0]
