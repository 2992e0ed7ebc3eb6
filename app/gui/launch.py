"""Opening the window: ``samba-live`` without ``--headless`` ends up here."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .main_window import MainWindow
from .options import GuiOptions


def build_window(options: GuiOptions) -> MainWindow:
    """The main window for ``options``, shown, with its start-up actions (replay, stream) under way."""
    window = MainWindow(options)
    window.resize(1560, 960)
    window.show()
    window.begin()
    return window


def display_problem(environ=os.environ, platform: str = sys.platform) -> str | None:
    """Why no window can open here, or None.

    Qt aborts the whole process when it finds no display; saying so beforehand lets the
    user fix it (or use ``--headless``) instead of reading a Qt crash.
    """
    if not platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset). Run it in a desktop "
            "session, over `ssh -X`, under `xvfb-run samba-live ...`, or use `samba-live --headless`")


def run_gui(args: argparse.Namespace) -> int:
    """Open the SAMBA-Live window and run until it is closed.

    Parameters
    ----------
    args : argparse.Namespace
        ``samba-live`` arguments; used: ``replay`` (path, "" for the demo, or None),
        ``stream``, ``checkpoint``, ``loop``, ``speed`` (:meth:`GuiOptions.from_args`) and
        the decoding settings that :meth:`app.pipeline.PipelineConfig.from_args` reads,
        the same as ``--headless``. Missing attributes take their defaults.

    Returns
    -------
    int
        Exit status (0 when the window was closed normally).
    """
    problem = display_problem()
    if problem:
        print(f"samba-live: {problem}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SAMBA-Live")
    window = build_window(GuiOptions.from_args(args))
    # Ctrl-C in the terminal closes the window cleanly; the idle timer lets Python see the signal.
    previous = signal.signal(signal.SIGINT, lambda *_: window.close())
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(200)
    try:
        return int(app.exec())
    finally:
        heartbeat.stop()
        signal.signal(signal.SIGINT, previous)
