"""The cue screen of a calibration run: fixation cross, arrows, text, sums, a dot to follow, the feedback bar.

It only paints what the protocol timer says; what changing displays show (a new sum every
few seconds, the moving dot) comes from :mod:`app.paradigm.displays` as a function of the
time spent in the step, so the screen is as deterministic as the timer. During a feedback
phase a bar grows from the centre towards the decoded class (the cursor position of
:func:`app.paradigm.cursor_position`, given by :meth:`CueView.set_feedback`), green when it
points to the cued class; the cued direction stays faintly marked.
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
        self.setMinimumSize(240, 120)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.step: Step | None = None
        self.seed = 0
        self.elapsed_s = 0.0
        self.message = "Choose a protocol and press Start"
        self.feedback_position: tuple[float, float] | None = None

    def show_message(self, text: str) -> None:
        self.step, self.message = None, text
        self.update()

    def show_step(self, step: Step, seed: int = 0) -> None:
        self.step, self.seed, self.elapsed_s = step, seed, 0.0
        if step.display != "feedback":
            self.feedback_position = None
        self.update()

    def set_feedback(self, position: tuple[float, float] | None) -> None:
        """Where the feedback cursor is, in [-1, 1]² (x right, y up); None hides the bar."""
        self.feedback_position = None if position is None else (float(position[0]), float(position[1]))
        if self.step is not None and self.step.display == "feedback":
            self.update()

    def bar_geometry(self) -> tuple[QPointF, QPointF] | None:
        """The bar as drawn: from the centre to its tip, in widget pixels (None when no bar is shown)."""
        if self.step is None or self.step.display != "feedback" or self.feedback_position is None:
            return None
        c = QPointF(self.width() / 2, self.height() / 2)
        reach = 0.42 * min(self.width(), self.height())
        x, y = self.feedback_position
        return c, QPointF(c.x() + x * reach, c.y() - y * reach)

    def set_elapsed(self, seconds: float) -> None:
        """Time spent in the current step (moves the dot, changes the sum)."""
        self.elapsed_s = max(0.0, seconds)
        if self.step is not None and self.step.display in ("arithmetic", "tracking"):
            self.update()

    def display_text(self) -> str:
        """What is on screen, in words (for tests and screen readers)."""
        if self.step is None:
            return self.message
        text = screen_text(self.step, self.seed, self.elapsed_s)
        if self.step.display == "feedback" and self.feedback_position is not None:
            text += " x={:+.2f} y={:+.2f}".format(*self.feedback_position)
        return text

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
        if display == "feedback" and step is not None:
            self._feedback(p, c, size, step)
        if display in ("cross", "arrow", "feedback"):
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

    def _feedback(self, p: QPainter, c: QPointF, size: float, step: Step) -> None:
        angle = ARROWS.get(step.label or "")
        if angle is not None:  # the cued direction, faint, so the target stays in view
            a = math.radians(angle)
            reach = 0.42 * min(self.width(), self.height())
            target = QPointF(c.x() + math.cos(a) * reach, c.y() - math.sin(a) * reach)
            p.setPen(QPen(QColor("#3a4450"), max(14.0, size / 4), Qt.SolidLine, Qt.RoundCap))
            p.drawLine(c, target)
        bar = self.bar_geometry()
        if bar is None:
            return
        start, tip = bar
        towards_cue = angle is not None and (tip.x() - start.x()) * math.cos(math.radians(angle)) - (
            tip.y() - start.y()) * math.sin(math.radians(angle)) > 0
        colour = QColor("#3ddc84" if towards_cue else "#ffb020")
        p.setPen(QPen(colour, max(14.0, size / 4), Qt.SolidLine, Qt.FlatCap))
        p.drawLine(start, tip)
        p.setPen(Qt.NoPen)
        p.setBrush(colour)
        p.drawEllipse(tip, size / 8, size / 8)

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
