"""Signal panel: scrolling raw EEG, one scaled trace per model channel, coloured by channel quality."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.pipeline import PipelineSnapshot

from .traces import decimate_peaks, robust_scales

#: Trace colour per channel state (quality verdicts of samba_core.quality, plus "excluded":
#: a channel the pipeline has masked out of the model).
QUALITY_COLOURS = {
    "good": "#202020", "flat": "#1f77b4", "noisy": "#ff7f0e", "saturated": "#9467bd", "nan": "#d62728",
    "excluded": "#b0b0b0",
}
QUALITY_NAMES = {"good": "good", "flat": "flat", "noisy": "noisy", "saturated": "saturated", "nan": "NaN",
                 "excluded": "masked"}


def channel_states(snap: PipelineSnapshot) -> list[str]:
    """Display state per model channel: its quality verdict, or ``excluded`` when masked for another reason."""
    states = []
    for q, good in zip(snap.quality, np.asarray(snap.good, dtype=bool)):
        states.append(q if q != "good" or good else "excluded")
    return states


def display_labels(snap: PipelineSnapshot) -> list[str]:
    """Model channel names as the montage reads them (``Fc5.`` -> ``FC5``), else as the stream sends them."""
    used = [c for c in snap.montage.get("channels", []) if c.get("used")]
    if len(used) != len(snap.labels):
        return list(snap.labels)
    return [c.get("normalized_label") or c["label"] for c in used]


class SignalPanel(QWidget):
    """Stacked traces of the last seconds of raw EEG.

    Each channel is centred on its median and divided by its own robust spread (see
    :func:`app.gui.traces.robust_scales`), so quiet and loud channels are equally
    readable; the gain multiplies all of them.

    Parameters
    ----------
    max_points : int
        Points drawn per channel (after peak-preserving decimation).
    """

    def __init__(self, max_points: int = 1200, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_points = max_points
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        self.plot.setLabel("bottom", "time (s, 0 = newest sample)")
        self.plot.getAxis("left").setStyle(tickFont=_small_font())
        self.gain = QDoubleSpinBox()
        self.gain.setRange(0.1, 20.0)
        self.gain.setSingleStep(0.25)
        self.gain.setValue(1.0)
        self.gain.setPrefix("gain ×")
        self.window = QComboBox()
        for s in (2, 5, 10):
            self.window.addItem(f"{s} s", float(s))
        self.window.setCurrentIndex(2)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<b>Raw EEG</b> (µV, each channel scaled to its own spread)"), 1)
        bar.addWidget(self.window)
        bar.addWidget(self.gain)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, 1)
        self.curves: list[pg.PlotDataItem] = []
        self.labels: tuple[str, ...] = ()
        self.states: list[str] = []
        self._scales: np.ndarray | None = None
        self._last_time: float | None = None
        self._set_legend({}, 0)

    def clear(self) -> None:
        """Forget the channels (a new stream or checkpoint)."""
        for c in self.curves:
            self.plot.removeItem(c)
        self.curves, self.labels, self.states = [], (), []
        self._scales, self._last_time = None, None
        self.plot.getAxis("left").setTicks(None)

    def update_from(self, snap: PipelineSnapshot) -> None:
        """Draw the newest traces of ``snap`` (nothing to do when no sample arrived)."""
        if snap.labels != self.labels:
            self._build(snap.labels, display_labels(snap))
        if snap.trace_times.size == 0:
            return
        newest = float(snap.trace_times[-1])
        states = channel_states(snap)
        if states != self.states:
            self.states = states
            for curve, state in zip(self.curves, states):
                curve.setPen(pg.mkPen(QUALITY_COLOURS[state], width=1))
            counts = {s: states.count(s) for s in QUALITY_COLOURS}
            excluded = sum(1 for c in snap.montage.get("channels", []) if not c.get("used"))
            self._set_legend(counts, excluded)
        if newest == self._last_time:
            return
        self._last_time = newest
        window_s = float(self.window.currentData())
        keep = snap.trace_times >= newest - window_s
        t, x = snap.trace_times[keep] - newest, snap.traces[:, keep]
        t, y = decimate_peaks(t, x, self.max_points)
        scales = robust_scales(x)
        # Smooth the scales over frames so that traces do not jump at every refresh.
        self._scales = scales if self._scales is None or self._scales.shape != scales.shape else \
            0.9 * self._scales + 0.1 * scales
        with np.errstate(invalid="ignore"):
            centre = np.nanmedian(x, axis=1, keepdims=True) if x.shape[1] else 0.0
        y = (y - centre) / self._scales[:, None] * (0.5 * self.gain.value())
        n = len(self.curves)
        for i, curve in enumerate(self.curves):
            curve.setData(t, y[i] + (n - 1 - i), connect="finite")
        self.plot.setXRange(-window_s, 0, padding=0.0)

    def _build(self, labels: tuple[str, ...], shown: list[str]) -> None:
        self.clear()
        self.labels = tuple(labels)
        n = len(labels)
        for _ in labels:
            curve = pg.PlotDataItem(pen=pg.mkPen(QUALITY_COLOURS["good"], width=1))
            curve.setClipToView(True)
            self.plot.addItem(curve)
            self.curves.append(curve)
        step = max(1, int(np.ceil(n / 40)))  # at most ~40 tick labels stay readable
        ticks = [(n - 1 - i, label) for i, label in enumerate(shown) if i % step == 0]
        self.plot.getAxis("left").setTicks([ticks, []])
        self.plot.setYRange(-1, n, padding=0.0)

    def _set_legend(self, counts: dict[str, int], excluded: int) -> None:
        parts = [f'<span style="color:{QUALITY_COLOURS[k]}">■ {QUALITY_NAMES[k]} {counts.get(k, 0)}</span>'
                 for k in QUALITY_COLOURS]
        parts.append(f'<span style="color:#888">· not model input (see Montage) {excluded}</span>')
        self.legend.setText("&nbsp; ".join(parts))


def _small_font():
    from PySide6.QtGui import QFont

    font = QFont()
    font.setPointSize(7)
    return font
