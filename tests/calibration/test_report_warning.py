"""The calibration report's verdict: the terminal summary and the GUI say the same thing when SAMBA is doubtful."""

from __future__ import annotations

import pytest

from calibration.report import CalibrationReport


def report(scores: dict[str, float], classes=("left", "right")) -> CalibrationReport:
    counts = {c: 20 + i for i, c in enumerate(classes)}
    return CalibrationReport(
        sessions=[], task="mi", protocol={"name": "mi"}, classes=list(classes), counts=counts, channels=["C3", "C4"],
        sample_rate=160.0, preprocessing={}, base_checkpoint=None, train="heads", fine_tuner={}, folds=5, seed=0,
        fold_assignment=[], final_fit={}, checkpoint="s.samba",
        scores={k: {"balanced_accuracy": v, "std": 0.05, "per_class_accuracy": dict.fromkeys(classes, v)}
                for k, v in scores.items()})


@pytest.mark.parametrize(("scores", "expected"), [
    ({"samba": 0.63, "csp_lda": 0.775, "ts_lr": 0.785}, ["below the baseline", "CSP + LDA 0.775", "Tangent space + LR 0.785"]),
    ({"samba": 0.48, "csp_lda": 0.45}, ["at or below chance (0.500)"]),
    ({"samba": 0.80, "csp_lda": 0.70, "ts_lr": 0.80}, None),  # a tie is not "below"
    ({"csp_lda": 0.70}, None),  # SAMBA not cross-validated: nothing to judge
])
def test_a_doubtful_calibration_is_said_in_the_summary(scores, expected):
    r = report(scores)
    warning = r.warning()
    summary = r.summary()
    if expected is None:
        assert warning is None and "warning" not in summary
    else:
        assert all(e in warning for e in expected)
        assert f"warning: {warning}" in summary
    assert "41 epochs (left 20, right 21)" in summary  # counts in words, not a dict


def test_chance_follows_the_number_of_classes():
    r = report({"samba": 0.30, "csp_lda": 0.20}, classes=("left", "right", "feet", "tongue"))
    assert r.warning() is None  # 0.30 > chance 0.25 and above the baseline
    assert "at or below chance (0.250)" in report({"samba": 0.25}, classes=("a", "b", "c", "d")).warning()
