"""The cue screen of a calibration run: fixation cross, arrows, text, sums, a dot to follow.

It only paints what the protocol timer says; changing displays (a new sum every few
seconds, the moving dot) are functions of the time spent in the step, so the screen is
as deterministic as the timer.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from .protocol_timer import Step

#: Arrow direction per class (Graz convention), as an angle in degrees (0 = right, 90 = up).
ARROWS = {"left": 180.0, "right": 0.0, "feet": 270.0, "tongue": 90.0}


def arithmetic_problem(seed: int, trial: int, index: int) -> str:
    """A two-digit sum or difference for the distraction task, the same for the same arguments."""
    rng = np.random.default_rng([seed, trial, index])
    a, b = (int(v) for v in rng.integers(12, 99, size=2))
    if rng.random() < 0.5:
        return f"{a} + {b} = ?"
    a, b = max(a, b), min(a, b)
    return f"{a} − {b} = ?"


def tracking_position(t: float) -> tuple[float, float]:
    """Where the dot to follow is at ``t`` seconds into a block, in [-1, 1]² (a slow Lissajous path)."""
    return 0.8 * math.sin(2 * math.pi * 0.11 * t), 0.6 * math.sin(2 * math.pi * 0.17 * t + 0.7)


class CueView(QWidget):
    """Paints the current step of a calibration run on a dark background."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 220)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.step: Step | None = None
        self.seed = 0
        self.elapsed_s = 0.0
        self.message = "Choose a protocol and press Start"

    def show_message(self, text: str) -> None:
        self.step, self.message = None, text
        self.update()

    def show_step(self, step: Step, seed: int = 0) -> None:
        self.step, self.seed, self.elapsed_s = step, seed, 0.0
        self.update()

    def set_elapsed(self, seconds: float) -> None:
        """Time spent in the current step (moves the dot, changes the sum)."""
        self.elapsed_s = max(0.0, seconds)
        if self.step is not None and self.step.display in ("arithmetic", "tracking"):
            self.update()

    def display_text(self) -> str:
        """What is on screen, in words (for tests and screen readers)."""
        step = self.step
        if step is None:
            return self.message
        if step.display == "text":
            return step.text
        if step.display == "arrow":
            return f"arrow {step.label}"
        if step.display == "arithmetic":
            return self._problem()
        return step.display

    def _problem(self) -> str:
        step = self.step
        k = int(self.elapsed_s // step.interval_s) if step.interval_s > 0 else 0
        return arithmetic_problem(self.seed, step.trial or 0, k)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """In a window of its own: F11 toggles full screen, Esc leaves it."""
        if self.isWindow() and event.key() == Qt.Key_F11:
            self.showNormal() if self.isFullScreen() else self.showFullScreen()
        elif self.isWindow() and event.key() == Qt.Key_Escape and self.isFullScreen():
            self.showNormal()
        else:
            super().keyPressEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor("#101418"))
        w, h = self.width(), self.height()
        c = QPointF(w / 2, h / 2)
        size = 0.35 * min(w, h)
        step = self.step
        display = "text" if step is None else step.display
        if display == "cross" or display == "arrow":
            p.setPen(QPen(QColor("#e8e8e8"), max(3.0, size / 12)))
            p.drawLine(QPointF(c.x() - size / 2, c.y()), QPointF(c.x() + size / 2, c.y()))
            p.drawLine(QPointF(c.x(), c.y() - size / 2), QPointF(c.x(), c.y() + size / 2))
        if display == "arrow" and step is not None:
            angle = ARROWS.get(step.label or "")
            if angle is None:
                self._text(p, (step.label or "").upper(), 0.12)
            else:
                self._arrow(p, c, size, angle)
        elif display == "text":
            self._text(p, self.message if step is None else step.text, 0.06)
        elif display == "arithmetic":
            self._text(p, self._problem(), 0.12)
        elif display == "tracking":
            x, y = tracking_position(self.elapsed_s)
            centre = QPointF(c.x() + x * w * 0.4, c.y() - y * h * 0.4)
            p.setPen(Qt.NoPen)
            p.setBrush(QColor("#ffd23f"))
            p.drawEllipse(centre, size / 10, size / 10)
        p.end()

    def _arrow(self, p: QPainter, c: QPointF, size: float, angle_deg: float) -> None:
        a = math.radians(angle_deg)
        ux, uy = math.cos(a), -math.sin(a)  # screen y grows downwards
        vx, vy = -uy, ux
        tip = QPointF(c.x() + ux * size * 0.9, c.y() + uy * size * 0.9)
        base = QPointF(c.x() + ux * size * 0.35, c.y() + uy * size * 0.35)
        half = size * 0.3
        head = QPolygonF([tip, QPointF(base.x() + vx * half, base.y() + vy * half),
                          QPointF(base.x() - vx * half, base.y() - vy * half)])
        p.setPen(QPen(QColor("#ff4d4d"), max(6.0, size / 8)))
        p.drawLine(c, base)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor("#ff4d4d"))
        p.drawPolygon(head)

    def _text(self, p: QPainter, text: str, relative_size: float) -> None:
        font = QFont()
        font.setPixelSize(max(14, int(relative_size * min(self.width(), self.height()) * 1.6)))
        p.setFont(font)
        p.setPen(QColor("#f0f0f0"))
        p.drawText(self.rect().adjusted(20, 20, -20, -20), Qt.AlignCenter | Qt.TextWordWrap, text)
