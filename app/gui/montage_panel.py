"""Montage panel: where the electrodes are, what became of each channel, and the model's spatial filters.

The head plot shows every placed electrode, coloured by its channel state, with the
montage resolution of that channel on hover. The resolution table lists every stream
channel (excluded ones too, with the reason). The spatial weights of the loaded model for
this montage are drawn as topomaps: one per CDSE latent pattern, or, for a model with the
paper's SAIE, one per virtual standard site (its interpolation weight on every electrode);
thumbnails to pick from, and the picked one large behind the electrodes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListView, QListWidget, QListWidgetItem, QPlainTextEdit,
    QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from app.pipeline import PipelineSnapshot

from .signal_panel import QUALITY_COLOURS, channel_states
from .topography import (
    MAP_RADIUS, SPATIAL_MAP_WORDING, head_outline, interpolate_maps, project_electrodes, spatial_map_title,
    symmetric_limits,
)

#: Diverging map for signed weights: blue - white - red.
WEIGHT_COLOURS = pg.ColorMap(pos=[0.0, 0.5, 1.0], color=[(33, 102, 172), (247, 247, 247), (178, 24, 43)])

TABLE_COLUMNS = ("#", "label", "as", "kind", "source", "x mm", "y mm", "z mm", "status")


def weight_image_rgba(image: np.ndarray, limits: tuple[float, float]) -> np.ndarray:
    """(res, res) x-major values -> (res, res, 4) uint8 RGBA rows top-down, transparent outside the head."""
    lo, hi = limits
    norm = np.clip((image - lo) / (hi - lo), 0.0, 1.0)
    rgba = WEIGHT_COLOURS.map(np.nan_to_num(norm, nan=0.5).ravel(), mode="byte").reshape(*image.shape, 4)
    rgba[..., 3] = np.where(np.isfinite(image), 255, 0)
    return np.ascontiguousarray(rgba.transpose(1, 0, 2)[::-1])  # x-major -> rows of y, top row = front


class MontagePanel(QWidget):
    """Head plot + topomaps, resolution table and text report of the current montage."""

    def __init__(self, resolution: int = 96, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.resolution = resolution
        self.head = pg.PlotWidget(background="w")
        self.head.setAspectLocked(True)
        self.head.hideAxis("left")
        self.head.hideAxis("bottom")
        self.head.setMouseEnabled(x=False, y=False)
        self.head.setMenuEnabled(False)
        self.head.hideButtons()
        self.image = pg.ImageItem()
        r = MAP_RADIUS
        self.image.setRect(QRectF(-r, -r, 2 * r, 2 * r))
        self.head.addItem(self.image)
        for name, line in head_outline().items():
            self.head.plot(line[:, 0], line[:, 1], pen=pg.mkPen("#333", width=2 if name == "head" else 1.5))
        self.electrodes = pg.ScatterPlotItem(size=9, hoverable=True, hoverSize=13, tip=lambda x, y, data: data)
        self.head.addItem(self.electrodes)
        self.head.setRange(xRange=(-1.3, 1.3), yRange=(-1.3, 1.3), padding=0.0)
        self.caption = QLabel("no montage yet: start decoding")
        self.caption.setWordWrap(True)
        self.thumbnails = QListWidget()
        self.thumbnails.setViewMode(QListView.IconMode)
        self.thumbnails.setIconSize(QSize(54, 54))
        self.thumbnails.setGridSize(QSize(66, 74))
        self.thumbnails.setResizeMode(QListView.Adjust)
        self.thumbnails.setMovement(QListView.Static)
        self.thumbnails.setMaximumWidth(150)
        self.thumbnails.currentRowChanged.connect(self._show_selected)
        head_row = QHBoxLayout()
        head_row.addWidget(self.head, 1)
        head_row.addWidget(self.thumbnails)
        head_tab = QWidget()
        head_layout = QVBoxLayout(head_tab)
        head_layout.setContentsMargins(0, 0, 0, 0)
        self.map_label = QLabel()
        self.map_label.setStyleSheet("color: #444")
        head_layout.addWidget(self.map_label)
        head_layout.addLayout(head_row, 1)
        head_layout.addWidget(self.caption)
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.report.setStyleSheet("font-family: monospace; font-size: 9pt")
        self.tabs = QTabWidget()
        self.tabs.addTab(head_tab, "Head && spatial filters")
        self.tabs.addTab(self.table, "Channels")
        self.tabs.addTab(self.report, "Report")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.title = QLabel()
        layout.addWidget(self.title)
        layout.addWidget(self.tabs, 1)
        self._key: tuple | None = None
        self._weights: np.ndarray | None = None
        self._xy = np.zeros((0, 2))
        self.maps: list[np.ndarray] = []
        self.limits: list[tuple[float, float]] = []
        self._states: list[str] = []
        self._used: list[dict] = []
        self._set_kind("cdse", ())

    def _set_kind(self, kind: str, names: tuple[str, ...]) -> None:
        self.kind, self.names = kind, tuple(names)
        self.title.setText(f"<b>Montage</b> and {SPATIAL_MAP_WORDING[kind][0]}")

    def clear(self) -> None:
        """Forget the montage (a new start: nothing stale stays on screen)."""
        self._key, self._weights, self._states, self._used = None, None, [], []
        self._xy = np.zeros((0, 2))
        self.maps, self.limits = [], []
        self.electrodes.clear()
        self.image.clear()
        self.thumbnails.clear()
        self.table.setRowCount(0)
        self.report.clear()
        self.map_label.setText("")
        self.caption.setText("no montage yet: start decoding")

    # -- update ------------------------------------------------------------------------
    def update_from(self, snap: PipelineSnapshot) -> None:
        """Redraw what changed: the montage (rarely), the weights (on a mask change), channel states."""
        channels = snap.montage.get("channels", [])
        key = tuple((c["label"], c["used"], c.get("source"), c.get("excluded_reason")) for c in channels)
        if key != self._key:
            self._key = key
            self._set_montage(snap)
            self._weights = None
        weights = np.asarray(snap.spatial_weights, dtype=np.float64)
        if (snap.spatial_kind, tuple(snap.spatial_names)) != (self.kind, self.names):
            self._set_kind(snap.spatial_kind, snap.spatial_names)
            self._weights = None
        if self._weights is None or weights.shape != self._weights.shape or not np.array_equal(weights, self._weights):
            self._weights = weights.copy()
            self._set_weights(weights)
        states = channel_states(snap)
        if states != self._states:
            self._states = states
            self._draw_electrodes()

    def _set_montage(self, snap: PipelineSnapshot) -> None:
        channels = snap.montage.get("channels", [])
        self._used = [c for c in channels if c.get("used")]
        coords = np.array([c["position_m"] for c in self._used], dtype=np.float64).reshape(-1, 3)
        self._xy = project_electrodes(coords) if len(coords) else np.zeros((0, 2))
        excluded = [c for c in channels if not c.get("used")]
        text = f"{len(self._used)} electrodes feed the model"
        if excluded:
            shown = ", ".join(f"{c['label']} ({c.get('excluded_reason') or c.get('kind')})" for c in excluded[:6])
            text += f"; {len(excluded)} channel(s) excluded: {shown}" + ("…" if len(excluded) > 6 else "")
        self.caption.setText(text + ". Hover an electrode for its details.")
        self.report.setPlainText(snap.montage_report)
        self.table.setRowCount(len(channels))
        for row, c in enumerate(channels):
            pos = c.get("position_m") or [None] * 3
            status = "used" if c.get("used") else f"excluded: {c.get('excluded_reason')}"
            cells = (str(c["index"]), c["label"], c.get("mapped_label") or c.get("normalized_label") or "",
                     c.get("kind") or "", c.get("source") or "-",
                     *("" if v is None else f"{v * 1000:.1f}" for v in pos), status)
            for col, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if not c.get("used"):
                    item.setForeground(QColor("#b00020"))
                if c.get("note"):
                    item.setToolTip(c["note"])
                self.table.setItem(row, col, item)
        self._states = []

    def _set_weights(self, weights: np.ndarray) -> None:
        """weights: (model channels, K); one topomap per column."""
        current = max(self.thumbnails.currentRow(), 0)
        self.maps, self.limits = [], []
        self.thumbnails.blockSignals(True)
        self.thumbnails.clear()
        if weights.ndim == 2 and weights.shape[0] == len(self._xy):
            images = interpolate_maps(self._xy, weights, self.resolution)
            for k in range(weights.shape[1]):
                image = images[k]
                limits = symmetric_limits(weights[:, k])
                self.maps.append(image)
                self.limits.append(limits)
                label, _ = spatial_map_title(self.kind, self.names, k, weights.shape[1])
                self.thumbnails.addItem(QListWidgetItem(QIcon(_pixmap(image, limits)), label))
        self.thumbnails.blockSignals(False)
        if self.maps:
            self.thumbnails.setCurrentRow(min(current, len(self.maps) - 1))
            self._show_selected(self.thumbnails.currentRow())
        else:
            self.image.clear()

    def _show_selected(self, k: int) -> None:
        if not 0 <= k < len(self.maps):
            return
        self.image.setImage(weight_image_rgba(self.maps[k], self.limits[k]).transpose(1, 0, 2)[:, ::-1])
        r = MAP_RADIUS
        self.image.setRect(QRectF(-r, -r, 2 * r, 2 * r))
        _, caption = spatial_map_title(self.kind, self.names, k, len(self.maps))
        self.map_label.setText(f"{caption}, scale ±{self.limits[k][1]:.2g}; pick another on the right")

    @property
    def selected_channel(self) -> int:
        return self.thumbnails.currentRow()

    def _draw_electrodes(self) -> None:
        spots = []
        for i, c in enumerate(self._used):
            if i >= len(self._xy):
                break
            state = self._states[i] if i < len(self._states) else "good"
            pos = c.get("position_m") or [0, 0, 0]
            tip = (f"{c['label']}" + (f" (as {c['mapped_label']})" if c.get("mapped_label") and c["mapped_label"] != c["label"] else "")
                   + f"\nsource: {c.get('source')}\nposition: {pos[0] * 1e3:.0f}, {pos[1] * 1e3:.0f}, {pos[2] * 1e3:.0f} mm"
                   + f"\nstate: {state}" + (f"\nnote: {c['note']}" if c.get("note") else ""))
            colour = QUALITY_COLOURS[state]
            spots.append({"pos": tuple(self._xy[i]), "data": tip, "brush": pg.mkBrush(colour if state != "good" else "#111"),
                          "pen": pg.mkPen("w", width=1), "symbol": "o" if state in ("good",) else "x"})
        self.electrodes.setData(spots)


def _pixmap(image: np.ndarray, limits: tuple[float, float]) -> QPixmap:
    rgba = weight_image_rgba(image, limits)
    h, w = rgba.shape[:2]
    qimage = QImage(rgba.data, w, h, 4 * w, QImage.Format_RGBA8888).copy()
    return QPixmap.fromImage(qimage)
