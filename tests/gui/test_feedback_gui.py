"""Feedback runs in the window, the feedback bar of the cue screen, and the checks before using a checkpoint."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import mne
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.gui.cue_view import CueView
from app.gui.report_view import ReportView, load_warning, score_line
from app.paradigm import FEEDBACK_FILE, FEEDBACK_START, Step, load_protocol

SHORT_FEEDBACK = Path(__file__).parents[1] / "paradigm" / "short_mi_feedback.json"


def feedback_step(label: str) -> Step:
    return Step(index=3, trial=0, label=label, phase="feedback", display="feedback", text="", start_s=0, duration_s=1)


@pytest.mark.parametrize("label", ["left", "right", "feet"])
def test_the_bar_follows_the_cursor_position(qtbot, label):
    view = CueView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show_step(feedback_step(label))
    assert view.bar_geometry() is None  # no decision yet: no bar
    reach = 0.42 * 400
    for x, y in [(0.6, 0.0), (-0.3, 0.0), (0.0, -0.8), (0.25, 0.5)]:
        view.set_feedback((x, y))
        start, tip = view.bar_geometry()
        assert (start.x(), start.y()) == (300, 200)
        assert tip.x() == pytest.approx(300 + x * reach) and tip.y() == pytest.approx(200 - y * reach)
        assert f"x={x:+.2f}" in view.display_text()
        view.grab()  # paints without error
    view.show_step(Step(index=4, trial=0, label=label, phase="rest", display="blank", text="", start_s=1, duration_s=1))
    assert view.bar_geometry() is None and view.feedback_position is None


def auto_answer(button) -> list[str]:
    """Answer the next message box with ``button``; returns the texts of the boxes answered."""
    seen: list[str] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(20, answer)

    QTimer.singleShot(0, answer)
    return seen


@pytest.mark.parametrize("scores,reason", [
    ({"samba": 0.48, "csp_lda": 0.44, "ts_lr": 0.45}, "at or below chance"),
    ({"samba": 0.50, "csp_lda": 0.44}, "at or below chance"),
    ({"samba": 0.62, "csp_lda": 0.70, "ts_lr": 0.58}, "below the baseline CSP + LDA 0.700"),
])
def test_a_doubtful_checkpoint_is_loaded_only_when_the_user_says_so(qtbot, tmp_path, make_report, scores, reason):
    view = ReportView()
    qtbot.addWidget(view)
    report = make_report(tmp_path, scores, figures=False)
    view.show_report(report)
    assert score_line(report).startswith(f"SAMBA (fine-tuned) {scores['samba']:.2f}")
    assert view.table.item(0, 0).text().startswith("SAMBA") and reason in view.notes.text()
    loaded: list[Path] = []
    view.load_requested.connect(loaded.append)
    seen = auto_answer(QMessageBox.No)
    view.load_button.click()
    assert loaded == [] and len(seen) == 1 and reason in seen[0] and f"{scores['samba']:.3f}" in seen[0]
    seen = auto_answer(QMessageBox.Yes)
    view.load_button.click()
    assert loaded == [Path(report.checkpoint)] and len(seen) == 1


def test_a_checkpoint_better_than_chance_and_the_baselines_loads_without_a_question(qtbot, tmp_path, make_report):
    view = ReportView()
    qtbot.addWidget(view)
    report = make_report(tmp_path, {"samba": 0.74, "csp_lda": 0.70, "ts_lr": 0.74}, figures=False)
    assert load_warning(report) is None
    view.show_report(report)
    loaded: list[Path] = []
    view.load_requested.connect(loaded.append)
    view.load_button.click()
    assert loaded == [Path(report.checkpoint)] and "warning" not in view.notes.text()


def test_a_feedback_run_moves_the_bar_with_the_decoder_and_scores_the_run(replaying_window, qtbot, tmp_path,
                                                                          small_checkpoint):
    tab = replaying_window.calibration_tab
    picked = replaying_window.checkpoint_picker.checkpoint()
    assert tab.feedback_checkpoint == (Path(picked) if picked else None)  # the Model picker's checkpoint is offered
    tab.set_feedback_checkpoint(None)
    assert not tab.feedback_button.isEnabled()  # no checkpoint, no feedback run
    tab._feedback_protocols = [load_protocol(SHORT_FEEDBACK)]
    tab.set_feedback_checkpoint(small_checkpoint)
    assert tab.feedback_button.isEnabled()
    tab.feedback_button.click()
    qtbot.waitUntil(lambda: tab.stage == "running", timeout=30_000)
    positions: list[tuple[float, float]] = []
    while tab.stage == "running":
        view = tab.cue_view
        if view.step is not None and view.step.display == "feedback" and view.feedback_position is not None:
            start, tip = view.bar_geometry()
            reach = 0.42 * min(view.width(), view.height())
            assert tip.x() - start.x() == pytest.approx(view.feedback_position[0] * reach)
            positions.append(view.feedback_position)
        qtbot.wait(15)
    qtbot.waitUntil(lambda: tab.stage in ("done", "failed"), timeout=30_000)
    assert tab.stage == "done", tab.last_error
    # The bar moved with the decoded probabilities (a random model's are not constant).
    assert len(set(positions)) > 5
    score = tab.feedback_scores[-1]
    assert score.n == 4 and "Wilson" in tab.status.text() and "run 1" in tab.feedback_label.text()
    run_dir = tab.run.run_dir
    raw = mne.io.read_raw_fif(run_dir / "live.fif", verbose="error")
    found = Counter(raw.annotations.description)
    assert found[FEEDBACK_START] == 4 and found["cue/left"] == found["cue/right"] == 2
    assert sum(v for d, v in found.items() if d.startswith("feedback/") and d != FEEDBACK_START) == 4
    assert sum(v for d, v in found.items() if d.startswith("mi:")) > 0
    assert json.loads((run_dir / FEEDBACK_FILE).read_text())["n"] == 4
    assert not (tmp_path / "subjects").exists()  # a feedback run trains nothing
    assert tab.feedback_button.isEnabled() and tab.start_button.isEnabled()
