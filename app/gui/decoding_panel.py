"""Decoding panel: class probabilities per model head (bars), their recent history, and the decision.

Above the heads, which checkpoint decodes and what its metadata says of each head
(calibrated for this user or not, evaluated accuracy); untrained heads are listed greyed,
never drawn as decoders. When the input carries cues (a replay's annotations, a cue
stream), the history shows them as vertical lines in the cued class's colour and each
head shows its running accuracy against them (:mod:`app.pipeline.ground_truth`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from app.pipeline import PipelineSnapshot
from app.pipeline.ground_truth import CueMap, HeadScore
from app.pipeline.heads import CheckpointHeads

#: Class colours, in head output order.
CLASS_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")

#: Seconds of probability history drawn.
HISTORY_S = 20.0


class HeadView:
    """Bars, history and decision of one head."""

    def __init__(self, head: str, classes: tuple[str, ...]) -> None:
        self.head, self.classes = head, tuple(classes)
        n = len(classes)
        self.title = QLabel()
        self.decision = QLabel("—")
        self.decision.setStyleSheet("font-size: 18pt; font-weight: bold")
        #: Running accuracy against the input's cues (hidden without cues).
        self.accuracy = QLabel()
        self.accuracy.setWordWrap(True)
        self.accuracy.setStyleSheet("font-size: 9pt")
        self.accuracy.setVisible(False)
        self._cue_lines: list[pg.InfiniteLine] = []
        self.bars_plot = pg.PlotWidget(background="w")
        self.bars_plot.setMouseEnabled(x=False, y=False)
        self.bars_plot.setMenuEnabled(False)
        self.bars_plot.hideButtons()
        self.bars_plot.setYRange(0, 1, padding=0.02)
        self.bars_plot.setXRange(-0.6, n - 0.4, padding=0)
        self.bars_plot.getAxis("bottom").setTicks([[(i, c) for i, c in enumerate(classes)], []])
        self.bars_plot.addItem(pg.InfiniteLine(1 / n, angle=0, pen=pg.mkPen("#999", style=pg.QtCore.Qt.DashLine)))
        self.bars = pg.BarGraphItem(x=np.arange(n), height=np.zeros(n), width=0.6,
                                    brushes=[pg.mkBrush(CLASS_COLOURS[i % len(CLASS_COLOURS)]) for i in range(n)])
        self.bars_plot.addItem(self.bars)
        self.bars_plot.setMinimumWidth(160)
        self.bars_plot.setMaximumWidth(300)
        self.history_plot = pg.PlotWidget(background="w")
        self.history_plot.setMouseEnabled(x=False, y=False)
        self.history_plot.setMenuEnabled(False)
        self.history_plot.hideButtons()
        self.history_plot.setYRange(0, 1, padding=0.02)
        self.history_plot.setXRange(-HISTORY_S, 0, padding=0)
        self.history_plot.setLabel("bottom", "s")
        legend = self.history_plot.addLegend(offset=(5, 2), labelTextSize="8pt", colCount=n)
        legend.setBrush(pg.mkBrush(255, 255, 255, 230))
        self.lines = [self.history_plot.plot(pen=pg.mkPen(CLASS_COLOURS[i % len(CLASS_COLOURS)], width=2), name=c)
                      for i, c in enumerate(classes)]
        self.probabilities = np.full(n, np.nan)
        self.set_primary(False)

    def set_primary(self, primary: bool) -> None:
        """The selected task's head is marked and shows its decision large."""
        mark = "▶ " if primary else ""
        self.title.setText(f"<b>{mark}{self.head}</b> ({', '.join(self.classes)})")
        self.decision.setVisible(primary)

    def update(self, probabilities: np.ndarray, history: np.ndarray, times: np.ndarray, newest: float) -> None:
        """probabilities: (classes,); history: (n, classes) with (n,) LSL times; newest: time axis 0."""
        self.probabilities = np.asarray(probabilities, dtype=np.float64)
        if np.all(np.isfinite(self.probabilities)):
            self.bars.setOpts(height=self.probabilities)
            best = int(np.argmax(self.probabilities))
            colour = CLASS_COLOURS[best % len(CLASS_COLOURS)]
            self.decision.setText(f'<span style="color:{colour}">{self.classes[best].upper()}</span>'
                                  f' <span style="font-size:11pt; color:#555">p = {self.probabilities[best]:.2f}</span>')
        if len(times):
            t = np.asarray(times, dtype=np.float64) - newest
            keep = t >= -HISTORY_S
            for i, line in enumerate(self.lines):
                line.setData(t[keep], history[keep, i])

    def show_cues(self, cues: list[tuple[float, str]], newest: float) -> None:
        """cues: (LSL time, class) of recent cues of this head's classes, drawn where they fall in the history."""
        while len(self._cue_lines) < len(cues):
            line = pg.InfiniteLine(angle=90, movable=False, label="", labelOpts={"position": 0.95, "color": "#333"})
            self.history_plot.addItem(line)
            self._cue_lines.append(line)
        for i, line in enumerate(self._cue_lines):
            if i >= len(cues) or cues[i][0] - newest < -HISTORY_S:
                line.setVisible(False)
                continue
            t, cls = cues[i]
            colour = CLASS_COLOURS[self.classes.index(cls) % len(CLASS_COLOURS)]
            line.setPen(pg.mkPen(colour, width=2, style=pg.QtCore.Qt.DashLine))
            line.label.setFormat(f"cue {cls}")
            line.setValue(t - newest)
            line.setVisible(True)

    def show_score(self, score: HeadScore | None) -> None:
        """The running accuracy against the cues, with its 95 % interval (None: no cue of this head yet)."""
        self.accuracy.setVisible(score is not None)
        if score is None:
            return
        t = score.trials
        if not t.total:
            self.accuracy.setText("vs cues: waiting for the first complete trial")
            return
        lo, hi = t.interval
        per_class = ", ".join(f"{c} {s.correct}/{s.total}" for c, s in score.per_class.items())
        self.accuracy.setText(
            f"vs cues: <b>{t.accuracy:.0%}</b> of {t.total} trials (95% CI {lo:.0%}–{hi:.0%}, chance "
            f"{score.chance:.0%}); {per_class}; {score.decisions.accuracy:.0%} of decisions agree")


class DecodingPanel(QWidget):
    """One :class:`HeadView` per model head, the selected task first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout()
        self.grid.setColumnStretch(0, 2)
        self.grid.setColumnStretch(1, 3)
        self.placeholder = QLabel("Probabilities appear here once decoding runs. No amplifier? "
                                  "File → Replay the demo recording (or run samba-live --replay).")
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #666")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(QLabel("<b>Decoding</b>: class probabilities and decision"))
        #: Which checkpoint decodes, calibrated or not, evaluated accuracy; untrained heads greyed.
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        self.model_info.setStyleSheet("font-size: 9pt")
        self.model_info.setVisible(False)
        layout.addWidget(self.model_info)
        layout.addWidget(self.placeholder)
        layout.addLayout(self.grid, 1)
        self.heads: dict[str, HeadView] = {}
        self.task = "mi"
        self._holders: list[QWidget] = []

    def clear(self) -> None:
        """Remove every head (a new start: no stale probabilities stay on screen)."""
        self.heads = {}
        self.model_info.setVisible(False)
        self._arrange()

    def set_task(self, task: str) -> None:
        self.task = task
        if self.heads:
            self._arrange()

    def update_from(self, snap: PipelineSnapshot) -> None:
        classes = {h: tuple(c) for h, c in snap.classes.items()}
        if classes != {h: v.classes for h, v in self.heads.items()}:
            self.heads = {h: HeadView(h, c) for h, c in classes.items()}
            self._arrange()
        newest = max((float(t[-1]) for t in snap.history_times.values() if len(t)), default=0.0)
        if snap.heads is not None:
            self.show_model(snap.heads)
        cue_map = CueMap()
        for head, view in self.heads.items():
            view.update(snap.probabilities[head], snap.history[head], snap.history_times[head], newest)
            cues = [(m.time, c) for m in snap.recent_markers if (c := cue_map.class_of(m.text)) in view.classes]
            view.show_cues(cues, newest)
            view.show_score(snap.ground_truth.get(head))

    def show_model(self, heads: CheckpointHeads) -> None:
        """Which checkpoint decodes and what its metadata says of each head."""
        lines = [f"<b>{heads.name}</b> ({heads.kind})"]
        for name, info in heads.heads.items():
            text = f"{name}: {info.describe()}"
            lines.append(text if info.decoded else f'<span style="color:#999">{text} — not decoded</span>')
        self.model_info.setText("<br>".join(lines))
        self.model_info.setToolTip("\n".join(f"{n}: {i.note}" for n, i in heads.heads.items() if i.note))
        self.model_info.setVisible(True)

    def decision(self) -> tuple[str, str, float] | None:
        """(head, class, probability) of the selected task's head, when known."""
        view = self.heads.get(self.task) or next(iter(self.heads.values()), None)
        if view is None or not np.all(np.isfinite(view.probabilities)):
            return None
        best = int(np.argmax(view.probabilities))
        return view.head, view.classes[best], float(view.probabilities[best])

    def _arrange(self) -> None:
        old, self._holders = self._holders, []
        for w in old:
            self.grid.removeWidget(w)
        order = sorted(self.heads, key=lambda h: (h != self.task, h))
        for row, head in enumerate(order):
            view = self.heads[head]
            view.set_primary(head == self.task or (self.task not in self.heads and row == 0))
            top = QWidget()
            top.setMaximumWidth(300)
            top_layout = QVBoxLayout(top)
            top_layout.setContentsMargins(0, 0, 0, 0)
            top_layout.addWidget(view.title)
            top_layout.addWidget(view.decision)
            top_layout.addWidget(view.accuracy)
            top_layout.addWidget(view.bars_plot, 1)
            self.grid.addWidget(top, row, 0)
            self.grid.addWidget(view.history_plot, row, 1)
            self.grid.setRowStretch(row, 2 if head == order[0] else 1)
            self._holders += [top, view.history_plot]
        # Only now, with the views moved into their new holders, may the old holders go.
        for w in old:
            if w not in self._holders:
                w.hide()
                w.deleteLater()
        self.placeholder.setVisible(not self.heads)
