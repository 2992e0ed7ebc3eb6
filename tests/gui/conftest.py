"""Fixtures of the GUI tests: a window that is always closed, calibration reports (the small checkpoint is tests/conftest.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from calibration import CalibrationReport


@pytest.fixture
def open_window(qtbot):
    """Build a MainWindow from GuiOptions, show it, start it; closed (pipeline and replay stopped) at the end."""
    from app.gui import MainWindow

    windows = []

    def make(options, begin: bool = True):
        window = MainWindow(options)
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        if begin:
            window.begin()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()

#: Figure sizes (pixels) of the trainer's plots: learning curves, confusion per method, per-class accuracy.
FIGURES = {"learning_curves": (1400, 400), "confusion": (1080, 340), "per_class": (580, 380)}


@pytest.fixture
def replaying_window(open_window, qtbot, tmp_path, small_checkpoint):
    """A window decoding the looped demo replay with the small checkpoint (data in tmp_path), on its calibration tab."""
    from app.gui import GuiOptions

    window = open_window(GuiOptions(replay="", loop=True, checkpoint=small_checkpoint, data_dir=tmp_path))
    qtbot.waitUntil(lambda: window.session.state == "running", timeout=30_000)
    window.tabs.setCurrentWidget(window.calibration_tab)
    return window


def method(balanced_accuracy: float) -> dict:
    return {"balanced_accuracy": balanced_accuracy, "std": 0.05, "confusion": [[8, 2], [3, 7]],
            "per_class_accuracy": {"left": balanced_accuracy, "right": balanced_accuracy}}


def build_report(folder: Path, scores: dict[str, float], figures: bool = True) -> CalibrationReport:
    """A 2-class ``mi`` report with ``scores`` (method -> balanced accuracy), a checkpoint file and PNG figures."""
    from PySide6.QtGui import QColor, QImage

    folder.mkdir(parents=True, exist_ok=True)
    plots = []
    for name, (w, h) in FIGURES.items() if figures else ():
        image = QImage(w, h, QImage.Format_RGB32)
        image.fill(QColor("#8fb3d9"))
        path = folder / f"{name}.png"
        image.save(str(path))
        plots.append(str(path))
    checkpoint = folder / "subject.samba"
    checkpoint.write_bytes(b"placeholder")
    return CalibrationReport(
        sessions=[], task="mi", protocol={"name": "mi"}, classes=["left", "right"], counts={"left": 22, "right": 23},
        channels=[f"C{k}" for k in range(64)], sample_rate=128.0, preprocessing={}, base_checkpoint=None,
        train="heads", fine_tuner={}, folds=5, seed=0, fold_assignment=[],
        scores={k: method(v) for k, v in scores.items()}, final_fit={}, checkpoint=str(checkpoint), plots=plots)


@pytest.fixture
def make_report():
    """:func:`build_report`: a real CalibrationReport with chosen scores and real PNG figures."""
    return build_report
