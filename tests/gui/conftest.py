"""Fixtures of the GUI tests: a small real checkpoint and a window that is always closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_fixtures import save_small_checkpoint


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> Path:
    """A small random SAMBA model saved as a real checkpoint (256 Hz, default preprocessing)."""
    return save_small_checkpoint(tmp_path_factory.mktemp("gui-ckpt") / "small.samba")


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
