"""Fixtures of the GUI tests: a window that is always closed (the small checkpoint is tests/conftest.py's)."""

from __future__ import annotations

import pytest


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
