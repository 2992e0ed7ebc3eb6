"""Checkpoint and task picker: the pretrained model, subject checkpoints, or any file.

Subject checkpoints written by the calibration tab land in the subjects folder and are
listed newest first; any other ``.samba`` file can be added with "Browse…". The task
picker says which model head the decoding panel puts first and whose decision it shows.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

#: Tasks the model heads are trained for, with their names in the picker.
TASKS = {"mi": "Motor imagery", "distraction": "Distraction"}


class CheckpointPicker(QWidget):
    """Which checkpoint to decode with, and which task to show.

    Parameters
    ----------
    shipped : Path
        The pretrained checkpoint shipped with the app (listed when it exists).
    subjects_dir : Path
        Folder of subject checkpoints (``*.samba``).

    Signals
    -------
    changed()
        The checkpoint or the task changed.
    """

    changed = Signal()

    def __init__(self, shipped: Path, subjects_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shipped = Path(shipped)
        self.subjects_dir = Path(subjects_dir)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(28)
        self.combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        self.task = QComboBox()
        for key, title in TASKS.items():
            self.task.addItem(f"{title} ({key})", key)
        self.task.currentIndexChanged.connect(lambda _: self.changed.emit())
        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Model"))
        row1.addWidget(self.combo, 1)
        row1.addWidget(self.browse)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Task"))
        row2.addWidget(self.task, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row1)
        layout.addLayout(row2)
        self.rescan()

    def rescan(self) -> None:
        """List the shipped checkpoint and the subject checkpoints again (keeps the selection)."""
        current = self.checkpoint()
        extra = [Path(self.combo.itemData(i)) for i in range(self.combo.count())
                 if self.combo.itemData(i) and self.combo.itemText(i).startswith("File: ")]
        self.combo.blockSignals(True)
        self.combo.clear()
        if self.shipped.is_file():
            self.combo.addItem(f"SAMBA base (pretrained): {self.shipped.name}", str(self.shipped))
        subjects = sorted(self.subjects_dir.glob("*.samba"), key=lambda p: p.stat().st_mtime, reverse=True) \
            if self.subjects_dir.is_dir() else []
        for p in subjects:
            self.combo.addItem(f"Subject: {p.stem}", str(p))
        for p in extra:
            if self.combo.findData(str(p)) < 0:
                self.combo.addItem(f"File: {p.name}", str(p))
        if self.combo.count() == 0:
            self.combo.addItem("(no checkpoint found: Browse…)", None)
        self.combo.blockSignals(False)
        if current is not None:
            self.set_checkpoint(current)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a SAMBA checkpoint", str(self.subjects_dir),
                                              "SAMBA checkpoints (*.samba);;All files (*)")
        if path:
            self.set_checkpoint(Path(path))

    def set_checkpoint(self, path: Path) -> None:
        """Select ``path``, adding it to the list if needed."""
        path = Path(path)
        index = self.combo.findData(str(path))
        if index < 0:
            if self.combo.count() == 1 and self.combo.itemData(0) is None:
                self.combo.removeItem(0)
            is_subject = path.parent.resolve() == self.subjects_dir.resolve() if self.subjects_dir.exists() else False
            self.combo.addItem(f"Subject: {path.stem}" if is_subject else f"File: {path.name}", str(path))
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index)

    def checkpoint(self) -> Path | None:
        data = self.combo.currentData()
        return Path(data) if data else None

    def task_name(self) -> str:
        return str(self.task.currentData())

    def set_task(self, task: str) -> None:
        index = self.task.findData(task)
        if index < 0:
            self.task.addItem(task, task)
            index = self.task.count() - 1
        self.task.setCurrentIndex(index)
