"""The cue screen of a calibration run: fixation cross, arrows, text, sums, a dot to follow.

It only paints what the protocol timer says; what changing displays show (a new sum every
few seconds, the moving dot) comes from :mod:`app.paradigm.displays` as a function of the
time spent in the step, so the screen is as deterministic as the timer.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.paradigm import ARROWS, Step, screen_text, step_problem, tracking_position

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
        return self.message if self.step is None else screen_text(self.step, self.seed, self.elapsed_s)

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
            self._text(p, step_problem(step, self.seed, self.elapsed_s), 0.12)
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
