"""Where messages reach the user: a notice log, an error banner, and the status bar's live figures."""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QStatusBar

LEVEL_COLOURS = {"info": "#202020", "warning": "#9a5b00", "error": "#b00020"}


class NoticeList(QListWidget):
    """Every notice of the session, newest last, coloured by level."""

    def __init__(self, capacity: int = 500, parent=None) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)

    def add(self, level: str, message: str, when: float | None = None) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(when or time.time()))
        item = QListWidgetItem(f"{stamp}  {level.upper():7}  {message}")
        item.setForeground(QColor(LEVEL_COLOURS.get(level, "#202020")))
        self.addItem(item)
        while self.count() > self.capacity:
            self.takeItem(0)
        self.scrollToBottom()

    def messages(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count())]


class ErrorBanner(QFrame):
    """A red strip across the window with the last error; stays until dismissed or resolved."""

    dismissed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setStyleSheet("ErrorBanner { background: #fde7e9; border: 1px solid #b00020; border-radius: 3px }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color: #b00020")
        close = QPushButton("Dismiss")
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    def show_error(self, message: str) -> None:
        self.label.setText(f"<b>Error:</b> {message}")
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def clear(self) -> None:
        self.hide()
        self.dismissed.emit()


class LiveStatusBar(QStatusBar):
    """State, latency (p50/p99), decision rate and dropped samples, always visible."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.state = QLabel("idle")
        self.state.setMinimumWidth(360)
        self.latency = QLabel("latency –")
        self.rate = QLabel("decisions –")
        self.dropped = QLabel("dropped –")
        for w in (self.state, self.latency, self.rate, self.dropped):
            w.setStyleSheet("padding: 0 8px")
            self.addPermanentWidget(w)
        self._counts: deque[tuple[float, int]] = deque()

    def set_state(self, text: str, colour: str = "#202020") -> None:
        self.state.setText(f'<span style="color:{colour}">● {text}</span>')

    def set_figures(self, latency: dict, decisions: int, samples_lost: int, resets: int, now: float | None = None) -> None:
        """Latency summary (ms), decision count (for the rate) and losses of the pipeline."""
        now = time.monotonic() if now is None else now
        if latency.get("count"):
            self.latency.setText(f"latency p50 {latency['p50_ms']:.0f} ms · p99 {latency['p99_ms']:.0f} ms")
        self._counts.append((now, int(decisions)))
        while len(self._counts) > 2 and now - self._counts[0][0] > 3.0:
            self._counts.popleft()
        (t0, n0), (t1, n1) = self._counts[0], self._counts[-1]
        if t1 - t0 > 0.5:
            self.rate.setText(f"{(n1 - n0) / (t1 - t0):.1f} decisions/s")
        self.dropped.setText(f"dropped {samples_lost} samples" + (f" · {resets} reset(s)" if resets else ""))

    def reset_figures(self) -> None:
        self._counts.clear()
        self.latency.setText("latency –")
        self.rate.setText("decisions –")
        self.dropped.setText("dropped –")
