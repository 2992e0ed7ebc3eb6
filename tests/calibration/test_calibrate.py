"""calibrate(): other protocols, head replacement, XDF sessions, and what the report records."""

from __future__ import annotations

import numpy as np
import pytest

from app_xdf_writer import write_xdf
from calibration import CalibrationConfig, CalibrationError, CalibrationReport, calibrate
from calibration_sessions import LABELS_10_20, synthetic_mi, write_fif
from samba_core import load_checkpoint

FAST = dict(train="heads", folds=2, max_epochs=1, min_trials_per_class=5)


def test_four_class_session_replaces_the_mi_head(tmp_path, base_checkpoint):
    classes = ("left", "right", "feet", "tongue")
    data, ann = synthetic_mi(n_per_class=6, classes=classes)
    session = write_fif(tmp_path / "four_raw.fif", data, 160.0, LABELS_10_20, ann)
    report = calibrate([session], base_checkpoint, tmp_path / "four.samba", CalibrationConfig(**FAST), progress=False)
    loaded = load_checkpoint(tmp_path / "four.samba")
    assert loaded.config.head_classes["mi"] == classes
    assert loaded.config.head_classes["distraction"] == ("attentive", "distracted")  # other heads kept
    assert report.classes == list(classes) and report.final_fit["head_replaced"]
    assert any("head was replaced" in n for n in report.notes)
    assert np.asarray(report.scores["ts_lr"]["confusion"]).shape == (4, 4)


def test_distraction_blocks_from_an_xdf_session(tmp_path, base_checkpoint):
    rate, t0 = 128.0, 500.0
    rng = np.random.default_rng(0)
    eeg = rng.normal(scale=10.0, size=(int(130 * rate), len(LABELS_10_20))).astype(np.float32)
    starts = [5.0, 35.0, 65.0, 95.0]
    markers = [(t0 + s, f"block/{c}") for s, c in zip(starts, ["attentive", "distracted"] * 2)]
    markers.append((t0 + 125.0, "block/end"))
    session = write_xdf(tmp_path / "drive.xdf", eeg, rate, list(LABELS_10_20), t0, markers)
    config = CalibrationConfig(task="distraction", **FAST)
    report = calibrate([session], base_checkpoint, tmp_path / "driver.samba", config, progress=False)
    assert report.protocol["name"] == "distraction" and report.protocol["mode"] == "block"
    per_block = int((30.0 - report.protocol["window"][1]) // report.protocol["stride"]) + 1
    assert report.counts == {"attentive": 2 * per_block, "distracted": 2 * per_block}
    # Folds never split a block: all epochs of a block share one fold.
    folds = np.asarray(report.fold_assignment)
    assert np.unique(folds).size == 2
    assert load_checkpoint(tmp_path / "driver.samba").metadata.provenance["task"] == "distraction"


def test_without_cross_validation_and_from_random_init(tmp_path, mi_fif):
    config = CalibrationConfig(train="heads", folds=0)
    report = calibrate([mi_fif], None, tmp_path / "s.samba", config, report_dir=tmp_path / "rep", progress=False,
                       init_config=load_small_config())
    assert report.scores == {} and report.base_checkpoint is None
    assert any("random initialisation" in n for n in report.notes)
    assert (tmp_path / "rep" / "learning_curves.png").exists()
    again = CalibrationReport.from_json(tmp_path / "rep" / "report.json")
    assert again.to_dict() == report.to_dict()
    assert "task mi" in report.summary()


def load_small_config():
    from helpers.models import small_config

    return small_config()


def test_protocol_of_another_task_is_refused(tmp_path, base_checkpoint, mi_fif):
    with pytest.raises(CalibrationError, match="calibrates the 'distraction' head"):
        calibrate([mi_fif], base_checkpoint, tmp_path / "s.samba",
                  CalibrationConfig(protocol="distraction", **FAST), progress=False)


def test_invalid_settings_are_refused():
    with pytest.raises(CalibrationError, match="train must be one of"):
        CalibrationConfig(train="everything")
    with pytest.raises(CalibrationError, match="at least the number of folds"):
        CalibrationConfig(folds=5, min_trials_per_class=3)
