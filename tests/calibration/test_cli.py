"""samba-calibrate end to end: real session files in, a loadable subject checkpoint and a report out."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from calibration.cli import main
from calibration.report import CalibrationReport
from calibration_sessions import LABELS_10_20, synthetic_mi, write_fif
from samba_core import load_checkpoint
from samba_core.recordings import file_sha256

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(session, base, out, *extra):
    return main([str(s) for s in (session if isinstance(session, list) else [session])]
                + ["--base", str(base), "--out", str(out), "--quiet", *extra])


@pytest.mark.parametrize("sfreq", [160.0, 512.0])
def test_cli_writes_a_checkpoint_with_provenance_and_a_report(tmp_path, base_checkpoint, sfreq, capsys):
    data, ann = synthetic_mi(sfreq=sfreq)
    session = write_fif(tmp_path / "subject_raw.fif", data, sfreq, LABELS_10_20, ann)
    out = tmp_path / "subject.samba"
    assert run_cli(session, base_checkpoint, out, "--folds", "3", "--train", "last-stage", "--max-epochs", "2") == 0
    printed = capsys.readouterr().out
    assert "CSP + LDA" in printed and "Tangent space + LR" in printed and str(out) in printed

    loaded = load_checkpoint(out, expect_heads=["mi"], expect_sample_rate=256.0)
    base = load_checkpoint(base_checkpoint)
    prov = loaded.metadata.provenance
    assert prov["base_checkpoint"]["sha256"] == file_sha256(base_checkpoint)
    assert prov["base_checkpoint"]["path"] == str(base_checkpoint)
    assert prov["sessions"] == [{"path": str(session), "sha256": file_sha256(session), "sample_rate": sfreq,
                                 "duration_s": pytest.approx(data.shape[1] / sfreq), "n_markers": 24}]
    assert prov["channels"] == list(LABELS_10_20)
    assert prov["protocol"]["name"] == "mi" and prov["task"] == "mi" and prov["train"] == "last-stage"
    assert prov["folds"]["n"] == 3 and len(prov["folds"]["assignment"]) == 24
    assert set(prov["scores"]) == {"samba", "csp_lda", "ts_lr"}
    assert prov["decoding"]["decision_window_s"] == [0.5, 4.0]
    assert loaded.metadata.preprocessing == base.metadata.preprocessing
    assert loaded.metadata.classes["mi"] == ["left", "right"]

    folder = tmp_path / "subject_report"
    report = CalibrationReport.from_json(folder / "report.json")
    assert report.fold_assignment == prov["folds"]["assignment"]
    assert report.counts == {"left": 12, "right": 12} and report.sample_rate == 256.0
    assert {p.split("/")[-1] for p in report.plots} == {"learning_curves.png", "confusion.png", "per_class_accuracy.png"}
    for name in ("learning_curves.png", "confusion.png", "per_class_accuracy.png"):
        assert (folder / name).read_bytes()[:8] == PNG_MAGIC
    # The synthetic mu desynchronisation is easy for the classic pipelines: labels and epochs line up.
    assert report.balanced_accuracy("csp_lda") >= 0.9 and report.balanced_accuracy("ts_lr") >= 0.9
    for scores in report.scores.values():
        assert np.sum(scores["confusion"]) == 24 and len(scores["fold_scores"]) == 3
    assert report.final_fit["history"]


def test_real_eegmmidb_subject(tmp_path, base_checkpoint, shared_data):
    out = tmp_path / "s001.samba"
    rc = main(["eegbci:1", "--data-root", str(shared_data), "--base", str(base_checkpoint), "--out", str(out),
               "--folds", "3", "--train", "heads", "--mains", "60", "--quiet"])
    assert rc == 0
    report = json.loads((tmp_path / "s001_report" / "report.json").read_text())
    assert report["protocol"]["name"] == "eegmmidb-imagery"
    assert report["counts"] == {"left": 23, "right": 22}  # runs 4, 8, 12: 45 imagery trials
    assert len(report["channels"]) == 64 and report["preprocessing"]["notch"] == 60.0
    assert [s["path"].rsplit("/", 1)[-1] for s in report["sessions"]] == ["S001R04.edf", "S001R08.edf", "S001R12.edf"]
    prov = load_checkpoint(out).metadata.provenance
    assert [s["sha256"] for s in prov["sessions"]] == [s["sha256"] for s in report["sessions"]]


def _no_markers(tmp_path):
    data, _ = synthetic_mi(n_per_class=2)
    return write_fif(tmp_path / "plain_raw.fif", data, 160.0, LABELS_10_20, [])


def _few_trials(tmp_path):
    data, ann = synthetic_mi(n_per_class=6)
    return write_fif(tmp_path / "short_raw.fif", data, 160.0, LABELS_10_20, ann)


def _odd_labels(tmp_path):
    labels = LABELS_10_20[:-1] + ("Xyz9",)
    data, ann = synthetic_mi(labels=labels)
    return write_fif(tmp_path / "odd_raw.fif", data, 160.0, labels, ann)


def _three_channels(tmp_path):
    labels = ("C3", "Cz", "C4")
    data, ann = synthetic_mi(labels=labels)
    return write_fif(tmp_path / "three_raw.fif", data, 160.0, labels, ann)


def _corrupt(tmp_path):
    path = tmp_path / "broken.edf"
    path.write_bytes(b"0       " + b"\x00" * 100)
    return path


def _wrong_task(tmp_path):
    data, ann = synthetic_mi(prefix="block/", classes=("attentive", "distracted"))
    return write_fif(tmp_path / "drive_raw.fif", data, 160.0, LABELS_10_20, ann)


@pytest.mark.parametrize("make_session, message", [
    (_no_markers, "carries no markers"),
    (_few_trials, r"too few trials per class.*'left': 6.*at least 10 per class"),
    (_odd_labels, "Xyz9"),
    (_three_channels, "needs at least 4"),
    (_corrupt, "corrupt or truncated"),
    (_wrong_task, r"no 'mi' calibration events.*block/attentive"),
])
def test_bad_sessions_fail_with_a_clear_message(tmp_path, base_checkpoint, capsys, make_session, message):
    out = tmp_path / "subject.samba"
    assert run_cli(make_session(tmp_path), base_checkpoint, out) == 2
    err = capsys.readouterr().err
    assert err.startswith("samba-calibrate: error:")
    assert re.search(message, err, re.S), err
    assert not out.exists()


def test_missing_base_checkpoint(tmp_path, mi_fif, capsys):
    assert run_cli(mi_fif, tmp_path / "nope.samba", tmp_path / "s.samba") == 2
    err = capsys.readouterr().err
    assert "base checkpoint" in err and "not found" in err and "--base" in err


def test_corrupt_base_checkpoint(tmp_path, mi_fif, capsys):
    base = tmp_path / "broken.samba"
    base.write_bytes(b"not a checkpoint")
    assert run_cli(mi_fif, base, tmp_path / "s.samba") == 2
    assert "not a samba-live checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize(("montage_flag", "drop_flag"), [("--montage-file", "--allow-drop-channels"),
                                                         ("--montage", "--allow-drop")])
def test_both_programs_take_the_same_montage_flags(montage_flag, drop_flag):
    """samba-live and samba-calibrate accept each other's spelling of the montage options."""
    from app.cli import build_parser
    from calibration.cli import _parser

    live = build_parser().parse_args(["--headless", "--replay", montage_flag, "cap.elc", drop_flag])
    cal = _parser().parse_args(["session.xdf", "--out", "s.samba", montage_flag, "cap.elc", drop_flag])
    assert str(live.montage) == cal.montage_file == "cap.elc"
    assert live.allow_drop and cal.allow_drop_channels
