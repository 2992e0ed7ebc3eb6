"""Calibration tab: pick a protocol, run it on the cue screen, then see the trained result.

The work (recording, session file, training) is a :class:`~app.gui.calibration_run.CalibrationRun`;
this tab holds the controls, the cue screen and the report, and shows what the run says.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
    QSpinBox, QSplitter, QVBoxLayout, QWidget,
)

from app.paradigm import CueProtocol, ProtocolFileError, builtin_protocols, load_protocol, trial_count_warning

from .calibration_run import BUSY, DONE, FAILED, PREPARING, RUNNING, TRAINING, CalibrationRun
from .cue_view import CueView
from .report_view import ReportView
from .session import LiveSession, SessionRequest


class CalibrationTab(QWidget):
    """Protocol picker and options, the cue screen, run and training progress, the report.

    Parameters
    ----------
    session, make_request, data_dir, time_scale
        See :class:`~app.gui.calibration_run.CalibrationRun`.

    Signals
    -------
    checkpoint_created(Path)
        A subject checkpoint was written.
    load_requested(Path)
        The user wants to decode with it.
    message(str, str)
        (level, text) for the notice list.
    """

    checkpoint_created = Signal(object)
    load_requested = Signal(object)
    message = Signal(str, str)

    def __init__(self, session: LiveSession, make_request: Callable[..., SessionRequest], data_dir: Path,
                 time_scale: float = 1.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        self.run = CalibrationRun(session, make_request, data_dir, time_scale, self)
        self._build()
        self.run.stage_changed.connect(self._on_stage)
        self.run.step_started.connect(self.cue_view.show_step)
        self.run.step_elapsed.connect(self.cue_view.set_elapsed)
        self.run.trial_changed.connect(self._on_trial)
        self.run.training_progress.connect(self._on_progress)
        self.run.trained.connect(self._on_trained)
        self.run.message.connect(self.message)
        self._protocols: list[CueProtocol] = []
        self.reload_protocols()

    # -- what tests and the window read ---------------------------------------------------
    @property
    def stage(self) -> str:
        return self.run.stage

    @property
    def protocol(self) -> CueProtocol | None:
        return self.run.protocol

    @property
    def session_file(self):
        return self.run.session_file

    @property
    def last_error(self) -> str:
        return self.run.last_error

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.protocol_combo = QComboBox()
        self.protocol_combo.currentIndexChanged.connect(self._on_protocol_chosen)
        open_file = QPushButton("Open…")
        open_file.clicked.connect(self._open_protocol)
        row = QHBoxLayout()
        row.addWidget(self.protocol_combo, 1)
        row.addWidget(open_file)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: #444")
        self.optional_box = QHBoxLayout()
        self.optional_checks: dict[str, QCheckBox] = {}
        self.trials = QSpinBox()
        self.trials.setRange(1, 200)
        self.trials.valueChanged.connect(self._update_estimate)
        self.train_after = QCheckBox("train when the recording ends")
        self.train_after.setToolTip("run samba-calibrate on the new session to make a subject checkpoint")
        self.train_after.setChecked(True)
        self.estimate = QLabel()
        form = QFormLayout()
        form.addRow("Protocol", row)
        form.addRow("Extra classes", self.optional_box)
        form.addRow("Trials per class", self.trials)
        form.addRow("", self.estimate)
        form.addRow("", self.train_after)
        self.start_button = QPushButton("Start calibration")
        self.start_button.clicked.connect(self.start)
        self.abort_button = QPushButton("Abort")
        self.abort_button.setEnabled(False)
        self.abort_button.clicked.connect(self.abort)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.abort_button)
        self.status = QLabel("Select the EEG stream and the base model above, then start.")
        self.status.setWordWrap(True)
        self.trial_progress = QProgressBar()
        self.trial_progress.setFormat("trial %v / %m")
        self.train_progress = QProgressBar()
        self.train_progress.setFormat("training %p%")
        for bar in (self.trial_progress, self.train_progress):
            bar.setVisible(False)  # shown once a run starts
        self.train_label = QLabel()
        self.train_label.setStyleSheet("color: #555")
        controls = QGroupBox("Calibration run")
        controls_layout = QVBoxLayout(controls)
        controls_layout.addLayout(form)
        controls_layout.addWidget(self.description)
        controls_layout.addLayout(buttons)
        controls_layout.addWidget(self.status)
        controls_layout.addWidget(self.trial_progress)
        controls_layout.addWidget(self.train_progress)
        controls_layout.addWidget(self.train_label)
        controls_layout.addStretch(1)
        controls.setMaximumWidth(430)
        self.cue_view = CueView()
        top = QWidget()
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(controls)
        top_layout.addWidget(self.cue_view, 1)
        self.cue_window_button = QPushButton("Open a cue window for the subject's screen")
        self.cue_window_button.clicked.connect(self.open_cue_window)
        controls_layout.insertWidget(controls_layout.count() - 1, self.cue_window_button)
        self.cue_window: CueView | None = None
        self.report_view = ReportView()
        self.report_view.load_requested.connect(self.load_requested)
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.report_view)
        self.splitter.setSizes([560, 200])
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)

    def reload_protocols(self) -> None:
        try:
            # Motor imagery first: the usual first calibration.
            self._protocols = sorted(builtin_protocols(), key=lambda p: (p.task != "mi", p.name))
        except ProtocolFileError as exc:
            self._protocols = []
            self.message.emit("error", f"a shipped protocol file is invalid: {exc}")
        self.protocol_combo.blockSignals(True)
        self.protocol_combo.clear()
        for p in self._protocols:
            self.protocol_combo.addItem(p.title, p.name)
        self.protocol_combo.blockSignals(False)
        if self._protocols:
            self._on_protocol_chosen(0)

    def add_protocol(self, protocol: CueProtocol) -> None:
        """Offer ``protocol`` (e.g. read from a file) and select it."""
        self._protocols.append(protocol)
        self.protocol_combo.addItem(f"{protocol.title} ({protocol.path.name if protocol.path else 'file'})",
                                    protocol.name)
        self.protocol_combo.setCurrentIndex(self.protocol_combo.count() - 1)

    def _open_protocol(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a protocol file", str(self.data_dir), "Protocols (*.json)")
        if path:
            try:
                self.add_protocol(load_protocol(path))
            except ProtocolFileError as exc:
                self.run.fail(str(exc))

    def _on_protocol_chosen(self, index: int) -> None:
        if not 0 <= index < len(self._protocols):
            return
        p = self._protocols[index]
        self.description.setText(p.description or p.title)
        if self.stage not in BUSY:
            self.cue_view.show_message(p.instructions or p.title)
        for box in self.optional_checks.values():
            self.optional_box.removeWidget(box)
            box.deleteLater()
        self.optional_checks = {}
        for c in p.optional_classes:
            box = QCheckBox(c)
            box.toggled.connect(self._update_estimate)
            self.optional_box.addWidget(box)
            self.optional_checks[c] = box
        self.trials.setValue(p.trials_per_class)
        self._update_estimate()

    def selected_protocol(self) -> CueProtocol:
        base = self._protocols[self.protocol_combo.currentIndex()]
        extra = tuple(c for c, box in self.optional_checks.items() if box.isChecked())
        return base.with_classes(extra, self.trials.value())

    def _update_estimate(self, *_) -> None:
        if self._protocols:
            p = self.selected_protocol()
            total = p.nominal_total_s() * self.run.time_scale
            text = (f"{len(p.classes)} classes × {p.trials_per_class} = {len(p.classes) * p.trials_per_class} "
                    f"trials, about {total / 60:.1f} min")
            warning = trial_count_warning(p)
            if warning:
                text += f'<br><span style="color:#b00020">{warning}</span>'
            self.estimate.setText(text)

    # -- run ---------------------------------------------------------------------------
    def start(self) -> None:
        """Begin a run with the selected protocol on the selected stream and checkpoint."""
        if self.stage in BUSY or not self._protocols:
            return
        try:
            protocol = self.selected_protocol()
        except ProtocolFileError as exc:
            self.run.fail(str(exc))
            return
        self.trial_progress.setVisible(True)
        self.train_progress.setVisible(self.train_after.isChecked())
        self.report_view.clear("Recording…")
        self.splitter.setSizes([560, 200])
        self.train_progress.setValue(0)
        self.train_label.setText("")
        if self.run.start(protocol, train=self.train_after.isChecked()):
            self.cue_view.show_message("Preparing…")

    def abort(self) -> None:
        self.run.abort()

    def shutdown(self) -> None:
        self.run.shutdown()
        if self.cue_window is not None:
            self.cue_window.close()

    def open_cue_window(self) -> None:
        """A second cue screen in its own window (move it to the subject's monitor; F11: full screen)."""
        if self.cue_window is None:
            window = CueView()
            window.setWindowTitle("SAMBA-Live cues")
            window.resize(1024, 700)
            self.run.step_started.connect(window.show_step)
            self.run.step_elapsed.connect(window.set_elapsed)
            window.show_message(self.cue_view.message)
            self.cue_window = window
        self.cue_window.show()
        self.cue_window.raise_()

    def _on_stage(self, stage: str, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020" if stage == FAILED else "")
        busy = stage in BUSY
        self.start_button.setEnabled(not busy)
        self.abort_button.setEnabled(stage in (PREPARING, RUNNING, TRAINING))
        self.abort_button.setText("Cancel training" if stage == TRAINING else "Abort")
        self.protocol_combo.setEnabled(not busy)
        views = [self.cue_view] + ([self.cue_window] if self.cue_window is not None else [])
        for view in views:
            if stage in ("saving", TRAINING, DONE):
                view.show_message("Recording finished" if stage != DONE else "Done")
            elif stage == FAILED and view.step is not None:
                view.show_message("Stopped")

    def _on_trial(self, done: int, total: int) -> None:
        self.trial_progress.setRange(0, max(total, 1))
        self.trial_progress.setValue(done)

    def _on_progress(self, percent: int, label: str) -> None:
        self.train_progress.setValue(percent)
        self.train_label.setText(label)

    def _on_trained(self, report) -> None:
        self.report_view.show_report(report)
        self.splitter.setSizes([260, 640])  # the result matters more than the blank cue screen now
        self.checkpoint_created.emit(Path(report.checkpoint))
