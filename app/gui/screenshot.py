"""Save a picture of the window decoding a replay (for the documentation).

    xvfb-run -s "-screen 0 1600x1000x24" python -m app.gui.screenshot docs/screenshot.png

The window replays a recording (the bundled demo by default), runs for ``--seconds`` so
that every panel has filled, and saves ``QWidget.grab()`` of itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .launch import build_window
from .options import GuiOptions


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.gui.screenshot", description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="PNG file to write")
    p.add_argument("--replay", default="", metavar="FILE", help="recording to replay (default: the demo)")
    p.add_argument("--checkpoint", type=Path, help="checkpoint (default: the shipped one)")
    p.add_argument("--seconds", type=float, default=20.0, help="seconds of decoding before the picture")
    p.add_argument("--size", default="1560x960", help="window size WxH in pixels")
    p.add_argument("--map", type=int, default=1, help="spatial channel shown large (1-based)")
    args = p.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = build_window(GuiOptions(replay=args.replay, checkpoint=args.checkpoint))
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    status = {"saved": False}

    def shoot() -> None:
        if window.montage_panel.thumbnails.count() >= args.map:
            window.montage_panel.thumbnails.setCurrentRow(args.map - 1)
        app.processEvents()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        status["saved"] = window.grab().save(str(args.out))
        window.close()
        app.quit()

    QTimer.singleShot(int(args.seconds * 1000), shoot)
    app.exec()
    print(f"{'saved' if status['saved'] else 'could not save'} {args.out}")
    return 0 if status["saved"] else 1


if __name__ == "__main__":
    sys.exit(main())
