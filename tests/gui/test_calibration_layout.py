"""The calibration tab at common screen sizes: the form, the results table and the figures fit whole in the window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication

from app.gui import GuiOptions
from calibration.finetune import DEFAULT_TRAIN_MODE


def rect_in_window(widget, window) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def assert_whole(widget, window, what: str) -> None:
    assert widget.isVisible(), f"{what} is hidden"
    rect = rect_in_window(widget, window)
    assert window.rect().contains(rect), f"{what} {rect} is not inside the window {window.rect()}"
    assert widget.height() >= widget.minimumSizeHint().height() - 1, f"{what} is squeezed below its minimum"


@pytest.mark.parametrize("size", [(1600, 1000), (1280, 800)])
def test_the_form_the_scores_and_every_figure_are_whole_in_the_window(open_window, qtbot, tmp_path, size,
                                                                    make_report):
    window = open_window(GuiOptions(data_dir=tmp_path), begin=False)
    window.resize(*size)
    tab = window.calibration_tab
    window.tabs.setCurrentWidget(tab)
    tab._on_trained(make_report(tmp_path / "report", {"samba": 0.71, "csp_lda": 0.64, "ts_lr": 0.66}))
    qtbot.waitUntil(lambda: tab.report_view.figures.isVisible(), timeout=5_000)
    QApplication.processEvents()
    assert (window.width(), window.height()) == size, "the window cannot shrink to this screen size"
    for name in ("protocol_combo", "trials", "estimate", "train_after", "start_button", "feedback_button",
                 "abort_button", "status", "cue_window_button"):
        assert_whole(getattr(tab, name), window, name)
    table = tab.report_view.table
    assert_whole(table, window, "results table")
    rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
    assert table.rowCount() == 3 and table.viewport().height() >= rows, "some score rows are cut"
    assert table.item(0, 0).text().startswith("SAMBA")
    figures = tab.report_view.figures
    assert figures.count() == 3
    for k in range(figures.count()):
        figures.setCurrentIndex(k)
        QApplication.processEvents()
        label = figures.widget(k)
        assert_whole(label, window, f"figure {figures.tabText(k)}")
        shown = label.pixmap().size()
        assert shown.width() <= label.width() and shown.height() <= label.height()
        # Scaled to fit, not to a thumbnail: it fills the label in one direction.
        assert shown.width() >= label.width() - 2 or shown.height() >= label.height() - 2
        assert shown.height() >= 100
    assert_whole(tab.report_view.load_button, window, "load button")


def test_the_cue_instructions_name_only_the_classes_in_use(open_window, tmp_path):
    window = open_window(GuiOptions(data_dir=tmp_path), begin=False)
    tab = window.calibration_tab
    graz = next(i for i, p in enumerate(tab._protocols) if p.name == "graz-mi")
    tab.protocol_combo.setCurrentIndex(graz)
    text = tab.cue_view.display_text()
    assert "left hand" in text and "right hand" in text and "feet" not in text and "tongue" not in text
    tab.optional_checks["feet"].setChecked(True)
    text = tab.cue_view.display_text()
    assert "feet" in text and "tongue" not in text
    assert f"training mode: {DEFAULT_TRAIN_MODE}" in tab.estimate.text()
    assert all(not p.has_feedback for p in tab._protocols) and tab.feedback_protocol().has_feedback
