"""The result of a calibration: scores of SAMBA and the baselines, confusion, learning curve.

Scores come from the :class:`calibration.CalibrationReport` (balanced accuracy per method
on the same folds, per-class accuracy, summed confusion matrices); the plots are the PNG
files the trainer wrote beside its report.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QScrollArea, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

METHOD_NAMES = {"samba": "SAMBA (fine-tuned)", "csp_lda": "CSP + LDA", "ts_lr": "Tangent space + LR"}


def score_rows(report) -> list[tuple[str, str, str]]:
    """(method, balanced accuracy ± std, per-class accuracy) per method, best first."""
    rows = []
    for name, s in sorted(report.scores.items(), key=lambda kv: -float(kv[1]["balanced_accuracy"])):
        per_class = ", ".join(f"{c} {v:.2f}" for c, v in s.get("per_class_accuracy", {}).items())
        rows.append((METHOD_NAMES.get(name, name), f"{s['balanced_accuracy']:.3f} ± {s['std']:.3f}", per_class))
    return rows


def confusion_text(report, method: str = "samba") -> str:
    """The method's confusion matrix (rows true, columns predicted) as a small text table."""
    s = report.scores.get(method)
    if not s:
        return ""
    width = max(len(c) for c in report.classes) + 2
    lines = [" " * width + "".join(f"{c:>{width}}" for c in report.classes)]
    for c, row in zip(report.classes, s["confusion"]):
        lines.append(f"{c:>{width}}" + "".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)


class ReportView(QWidget):
    """Shows one report; offers to load the subject checkpoint it made.

    Signals
    -------
    load_requested(Path)
        The user wants to decode with the new subject checkpoint.
    """

    load_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report = None
        self.heading = QLabel("No calibration yet.")
        self.heading.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(("method", "balanced accuracy (CV)", "per class"))
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMaximumHeight(110)
        self.table.setVisible(False)
        self.confusion = QLabel()
        self.confusion.setStyleSheet("font-family: monospace")
        self.confusion.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: #9a5b00")
        self.load_button = QPushButton("Load subject checkpoint and decode")
        self.load_button.setEnabled(False)
        self.load_button.clicked.connect(self._load)
        self.plots = QWidget()
        self.plots_layout = QHBoxLayout(self.plots)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.plots)
        scroll.setMinimumHeight(120)
        row = QHBoxLayout()
        row.addWidget(self.table, 3)
        row.addWidget(self.confusion, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(row)
        layout.addWidget(self.notes)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.load_button)

    def show_report(self, report) -> None:
        self.report = report
        chance = 1 / max(len(report.classes), 1)
        counts = ", ".join(f"{c}: {n}" for c, n in report.counts.items())
        self.heading.setText(
            f"<b>Calibration of the {report.task!r} head</b> — {counts} epochs, {len(report.channels)} channels, "
            + (f"{report.folds}-fold cross-validation (chance {chance:.2f})" if report.folds else "no cross-validation")
            + f"<br>Subject checkpoint: <code>{report.checkpoint}</code>"
        )
        rows = score_rows(report)
        self.table.setVisible(bool(rows))
        self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        text = confusion_text(report)
        self.confusion.setText(("SAMBA confusion (rows: true)\n" + text) if text else "")
        self.notes.setText("\n".join(f"note: {n}" for n in report.notes))
        while self.plots_layout.count():
            item = self.plots_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for path in report.plots:
            pixmap = QPixmap(str(path))
            if pixmap.isNull():
                continue
            label = QLabel()
            label.setPixmap(pixmap.scaledToHeight(300, Qt.SmoothTransformation))
            label.setToolTip(str(path))
            self.plots_layout.addWidget(label)
        self.plots_layout.addStretch(1)
        self.load_button.setEnabled(Path(report.checkpoint).is_file())

    def clear(self, message: str = "No calibration yet.") -> None:
        self.report = None
        self.heading.setText(message)
        self.table.setRowCount(0)
        self.table.setVisible(False)
        self.confusion.setText("")
        self.notes.setText("")
        self.load_button.setEnabled(False)

    def _load(self) -> None:
        if self.report is not None:
            self.load_requested.emit(Path(self.report.checkpoint))
