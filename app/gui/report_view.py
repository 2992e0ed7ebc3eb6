"""The result of a calibration: scores of SAMBA and the baselines, confusion, learning curve.

Scores come from the :class:`calibration.CalibrationReport` (balanced accuracy per method
on the same folds, per-class accuracy, summed confusion matrices); the plots are the PNG
files the trainer wrote beside its report, one tab each, scaled to fit whole in the view.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton, QSizePolicy, QTableWidget,
    QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from calibration.report import METHOD_NAMES


def _ordered(report) -> list[tuple[str, dict]]:
    """SAMBA first (the model this checkpoint holds), then the baselines, best first."""
    baselines = sorted(((k, v) for k, v in report.scores.items() if k != "samba"),
                       key=lambda kv: -float(kv[1]["balanced_accuracy"]))
    return ([("samba", report.scores["samba"])] if "samba" in report.scores else []) + baselines


def score_rows(report) -> list[tuple[str, str, str]]:
    """(method, balanced accuracy ± std, per-class accuracy): SAMBA first, then the baselines, best first."""
    rows = []
    for name, s in _ordered(report):
        per_class = ", ".join(f"{c} {v:.2f}" for c, v in s.get("per_class_accuracy", {}).items())
        rows.append((METHOD_NAMES.get(name, name), f"{s['balanced_accuracy']:.3f} ± {s['std']:.3f}", per_class))
    return rows


def score_line(report) -> str:
    """SAMBA's cross-validated balanced accuracy beside the baselines' and chance, in one line."""
    chance = 1 / max(len(report.classes), 1)
    if "samba" not in report.scores:
        return f"SAMBA not cross-validated (folds: {report.folds}); its accuracy is unknown (chance {chance:.2f})"
    parts = [f"{METHOD_NAMES.get(k, k)} {s['balanced_accuracy']:.2f}" for k, s in _ordered(report)]
    baselines = f" · baselines: {', '.join(parts[1:])}" if parts[1:] else ""
    return f"{parts[0]}{baselines} · chance {chance:.2f} (balanced accuracy, cross-validated)"


def load_warning(report) -> str | None:
    """Why loading this checkpoint is doubtful: :meth:`calibration.report.CalibrationReport.warning`."""
    return report.warning()


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


class FigureLabel(QLabel):
    """A report figure, scaled (aspect kept) to fit whole in the label whatever its size."""

    def __init__(self, path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = str(path)
        self.original = QPixmap(self.path)
        self.setAlignment(Qt.AlignCenter)
        self.setMinimumSize(160, 80)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        self.setToolTip(self.path)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if not self.original.isNull():
            self.setPixmap(self.original.scaled(self.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation))


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
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
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
        self.figures = QTabWidget()
        self.figures.setMinimumHeight(110)
        self.figures.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.table, 3)
        row.addWidget(self.confusion, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(row)
        layout.addWidget(self.notes)
        layout.addWidget(self.figures, 1)
        layout.addStretch(0)
        layout.addWidget(self.load_button)

    def show_report(self, report) -> None:
        self.report = report
        chance = 1 / max(len(report.classes), 1)
        counts = ", ".join(f"{c}: {n}" for c, n in report.counts.items())
        self.heading.setText(
            f"<b>{score_line(report)}</b><br>"
            f"Calibration of the {report.task!r} head — {counts} epochs, {len(report.channels)} channels, "
            + (f"{report.folds}-fold cross-validation (chance {chance:.2f})" if report.folds else "no cross-validation")
            + f"<br>Subject checkpoint: <code>{report.checkpoint}</code>"
        )
        rows = score_rows(report)
        self.table.setVisible(bool(rows))
        self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeRowsToContents()
        frame = 2 * self.table.frameWidth()
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + frame
                                  + sum(self.table.rowHeight(r) for r in range(len(rows))))
        text = confusion_text(report)
        self.confusion.setText(("SAMBA confusion (rows: true)\n" + text) if text else "")
        warning = load_warning(report)
        self.notes.setText("\n".join([f"warning: {warning}"] * bool(warning) + [f"note: {n}" for n in report.notes]))
        self._clear_figures()
        for path in report.plots:
            figure = FigureLabel(path)
            if not figure.original.isNull():
                self.figures.addTab(figure, Path(path).stem.replace("_", " "))
        self.figures.setVisible(self.figures.count() > 0)
        self.load_button.setEnabled(Path(report.checkpoint).is_file())

    def clear(self, message: str = "No calibration yet.") -> None:
        self.report = None
        self.heading.setText(message)
        self.table.setRowCount(0)
        self.table.setVisible(False)
        self.confusion.setText("")
        self.notes.setText("")
        self._clear_figures()
        self.load_button.setEnabled(False)

    def _clear_figures(self) -> None:
        while self.figures.count():
            widget = self.figures.widget(0)
            self.figures.removeTab(0)
            widget.deleteLater()
        self.figures.setVisible(False)

    def confirm_load(self) -> bool:
        """Whether to use the report's checkpoint: asks (Yes/No, default No) when :func:`load_warning` has a reason."""
        reason = None if self.report is None else load_warning(self.report)
        if reason is None:
            return self.report is not None
        answer = QMessageBox.warning(
            self, "Use this checkpoint?",
            f"{reason[0].upper()}{reason[1:]}.\n\nDecoding with it will mostly be guessing. Record more trials, "
            "check the electrodes, or try another training mode before using it.\n\nUse it anyway?",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    def _load(self) -> None:
        if self.report is not None and self.confirm_load():
            self.load_requested.emit(Path(self.report.checkpoint))
