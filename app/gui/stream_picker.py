"""Stream picker: the LSL streams on the network, refreshed in the background.

Discovering streams means listening for announcements for about a second, so the list is
refreshed on a helper thread every few seconds and the table is updated when the answer
arrives; the selection survives refreshes (streams are matched by name and source id), and
a selected stream that vanishes leaves no stream selected until it returns.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from app.pipeline import StreamSelector, StreamSummary, list_streams

#: Stream types that are never EEG input (our own outputs, marker streams).
NON_EEG_TYPES = {"markers", "marker", "events", "probabilities"}

COLUMNS = ("name", "type", "channels", "rate (Hz)", "host")


class StreamPicker(QWidget):
    """Table of visible LSL streams with the one to decode selected.

    Parameters
    ----------
    refresh_s : float
        Seconds between refreshes.
    listen_s : float
        Seconds each refresh listens for announcements.

    Signals
    -------
    streams_changed(list)
        New list of :class:`StreamSummary` (after filtering).
    """

    streams_changed = Signal(list)
    _found = Signal(list)

    def __init__(self, refresh_s: float = 3.0, listen_s: float = 0.8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.listen_s = listen_s
        self._streams: list[StreamSummary] = []
        self._wanted: str | None = None  # a stream to select as soon as it appears
        self._busy = threading.Lock()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        for i in range(1, len(COLUMNS)):
            self.table.horizontalHeader().setSectionResizeMode(i, QHeaderView.ResizeToContents)
        self.table.setMinimumHeight(80)
        self.table.setMaximumHeight(130)
        self.show_all = QCheckBox("show marker/output streams")
        self.show_all.toggled.connect(lambda _: self._fill(self._all))
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.status = QLabel("looking for LSL streams…")
        self.status.setStyleSheet("color: #666")
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(self.show_all)
        bar.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(bar)
        self._all: list[StreamSummary] = []
        self._found.connect(self._fill)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(int(refresh_s * 1000))
        QTimer.singleShot(0, self.refresh)

    # -- discovery ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Ask the network again (on a helper thread; at most one at a time)."""
        if not self._busy.acquire(blocking=False):
            return
        threading.Thread(target=self._discover, name="samba-gui-streams", daemon=True).start()

    def _discover(self) -> None:
        try:
            found = list_streams(timeout=self.listen_s)
        except Exception:  # noqa: BLE001 - a failed look-up just leaves the previous list
            found = None
        finally:
            self._busy.release()
        if found is not None:
            try:
                self._found.emit(found)
            except RuntimeError:  # the widget was deleted while we listened
                pass

    def _fill(self, streams: list[StreamSummary]) -> None:
        self._all = list(streams)
        shown = [s for s in streams if self.show_all.isChecked() or (s.rate > 0 and s.stype.lower() not in NON_EEG_TYPES)]
        current = self.selected()
        keep = self._wanted or (current.name if current else None)
        keep_id = None if self._wanted else (current.source_id if current else None)
        self._streams = shown
        self.table.setRowCount(len(shown))
        select_row = None
        for row, s in enumerate(shown):
            for col, text in enumerate((s.name, s.stype or "-", str(s.n_channels), f"{s.rate:g}", s.host)):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{s.name} ({s.stype}) source_id={s.source_id}")
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, col, item)
            if keep is not None and s.name == keep and (keep_id is None or s.source_id == keep_id):
                select_row = row
        if select_row is not None:
            self.table.selectRow(select_row)
            if self._wanted is not None and shown[select_row].name == self._wanted:
                self._wanted = None
        elif current is not None:
            # The selected stream vanished: select nothing until it returns, never the stream now in its row.
            self.table.clearSelection()
            self._wanted = current.name
        elif shown and self._wanted is None:
            self.table.selectRow(0)
        n_hidden = len(streams) - len(shown)
        self.status.setText(f"{len(shown)} EEG stream(s)" + (f", {n_hidden} other(s) hidden" if n_hidden else "")
                            if streams else "no LSL stream visible: is the amplifier software streaming?")
        self.streams_changed.emit(shown)

    # -- selection ---------------------------------------------------------------------
    def streams(self) -> list[StreamSummary]:
        return list(self._streams)

    def selected(self) -> StreamSummary | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        row = rows[0].row()
        return self._streams[row] if 0 <= row < len(self._streams) else None

    def selected_selector(self) -> StreamSelector | None:
        """A selector for the selected stream (by name and source id: survives restarts of the source)."""
        s = self.selected()
        if s is None:
            return None
        return StreamSelector(name=s.name, source_id=s.source_id or None)

    def select_name(self, name: str) -> None:
        """Select the stream called ``name`` now or as soon as it appears."""
        for row, s in enumerate(self._streams):
            if s.name == name:
                self.table.selectRow(row)
                self._wanted = None
                return
        self._wanted = name
        self.refresh()
