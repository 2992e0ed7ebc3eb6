"""The SAMBA-Live desktop interface (PySide6 + pyqtgraph).

Public API::

    from app.gui import run_gui, MainWindow, GuiOptions

    run_gui(args)                        # samba-live without --headless: open the window, block until closed
    window = MainWindow(GuiOptions(replay=""))   # the window alone (tests, embedding); window.begin() starts it

The window drives :class:`app.pipeline.LivePipeline` through
:class:`~app.gui.session.LiveSession` (acquisition, decoding and recording off the GUI
thread) and only draws, from a 30 Hz timer. Calibration runs protocols from
``app/protocols/*.json`` and trains with ``samba-calibrate`` in a background process.
"""

try:
    from PySide6 import QtWidgets as _qt_widgets  # noqa: F401 - fails early when Qt cannot load
except ImportError as exc:  # missing package or missing system library (libEGL, libxkbcommon...)
    raise ModuleNotFoundError(
        f"the graphical interface cannot load Qt ({exc}). Install PySide6 and, on Debian/Ubuntu, its system "
        "libraries: apt-get install libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 "
        "libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1; or run samba-live --headless",
        name=__name__,
    ) from exc

from .launch import build_window, run_gui
from .main_window import MainWindow
from .options import GuiOptions

#: ``app.cli`` calls ``app.gui.run(args)``.
run = run_gui

__all__ = ["GuiOptions", "MainWindow", "build_window", "run", "run_gui"]
