"""Calibration tab: pick a protocol, run it on the cue screen, then see the trained result; feedback runs after.

The work (recording, session file, training) is a :class:`~app.gui.calibration_run.CalibrationRun`;
this tab holds the controls, the cue screen and the report, and shows what the run says.
Once a subject checkpoint is trained (or loaded), "Feedback run" runs the feedback variant
of the selected protocol with it: the cue screen's bar follows the decoder and each run's
online accuracy is listed with its interval.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
    QSpinBox, QSplitter, QVBoxLayout, QWidget,
)

from app.paradigm import (
    CueProtocol, ProtocolFileError, RunScore, builtin_protocols, combined_score, load_protocol, trial_count_warning,
)
from calibration.finetune import DEFAULT_TRAIN_MODE

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
        self.run.feedback_moved.connect(self.cue_view.set_feedback)
        self.run.feedback_scored.connect(self._on_feedback_scored)
        self.run.message.connect(self.message)
        self.feedback_checkpoint: Path | None = None
        self.feedback_scores: list[RunScore] = []
        self._feedback_protocols: list[CueProtocol] = []
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
        self.estimate.setWordWrap(True)
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
        self.feedback_button = QPushButton("Feedback run")
        self.feedback_button.setToolTip("after calibration: cued trials in which a bar follows the decoder; "
                                        "each run's online accuracy is listed below")
        self.feedback_button.setEnabled(False)
        self.feedback_button.clicked.connect(self.start_feedback)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.feedback_button)
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
        self.train_label.setWordWrap(True)
        self.feedback_label = QLabel()
        self.feedback_label.setWordWrap(True)
        self.feedback_label.setTextFormat(Qt.RichText)
        controls = QGroupBox("Calibration run")
        controls_layout = QVBoxLayout(controls)
        controls_layout.addLayout(form)
        controls_layout.addWidget(self.description)
        controls_layout.addLayout(buttons)
        controls_layout.addWidget(self.status)
        controls_layout.addWidget(self.trial_progress)
        controls_layout.addWidget(self.train_progress)
        controls_layout.addWidget(self.train_label)
        controls_layout.addWidget(self.feedback_label)
        controls_layout.addStretch(1)
        controls.setMaximumWidth(430)
        self.cue_view = CueView()
        self.cue_window_button = QPushButton("Open a cue window for the subject's screen")
        self.cue_window_button.clicked.connect(self.open_cue_window)
        controls_layout.insertWidget(controls_layout.count() - 1, self.cue_window_button)
        self.cue_window: CueView | None = None
        self.report_view = ReportView()
        self.report_view.load_requested.connect(self.load_requested)
        self.report_view.load_requested.connect(self.set_feedback_checkpoint)
        # Controls on the left, full height; on the right the cue screen above the report. Once a
        # report is shown the (blank) cue screen folds away so that the scores and figures fit.
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.addWidget(self.cue_view)
        self.splitter.addWidget(self.report_view)
        self.splitter.setCollapsible(1, False)
        self._show_cue_screen()
        layout = QHBoxLayout(self)
        layout.addWidget(controls)
        layout.addWidget(self.splitter, 1)

    def _show_cue_screen(self) -> None:
        self.splitter.setSizes([10_000, 1])  # the report keeps its minimum (a line saying what happens)

    def _show_report(self) -> None:
        self.splitter.setSizes([0, 10_000])

    def reload_protocols(self) -> None:
        try:
            # Motor imagery first: the usual first calibration.
            shipped = sorted(builtin_protocols(), key=lambda p: (p.task != "mi", p.name))
        except ProtocolFileError as exc:
            shipped = []
            self.message.emit("error", f"a shipped protocol file is invalid: {exc}")
        self._protocols = [p for p in shipped if not p.has_feedback]
        self._feedback_protocols = [p for p in shipped if p.has_feedback]
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
        for box in self.optional_checks.values():
            self.optional_box.removeWidget(box)
            box.deleteLater()
        self.optional_checks = {}
        for c in p.optional_classes:
            box = QCheckBox(c)
            box.toggled.connect(self._update_estimate)
            box.toggled.connect(self._show_instructions)
            self.optional_box.addWidget(box)
            self.optional_checks[c] = box
        self.trials.setValue(p.trials_per_class)
        self._update_estimate()
        self._show_instructions()

    def _show_instructions(self, *_) -> None:
        """The selected protocol's instructions, naming only the classes in use."""
        if self.stage not in BUSY and self._protocols:
            p = self.selected_protocol()
            self.cue_view.show_message(p.instructions_text() or p.title)

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
            text += f"<br>training mode: {p.training.get('train', DEFAULT_TRAIN_MODE)}"
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
        self._show_cue_screen()
        self.train_progress.setValue(0)
        self.train_label.setText("")
        if self.run.start(protocol, train=self.train_after.isChecked()):
            self.cue_view.show_message("Preparing…")

    def feedback_protocol(self) -> CueProtocol | None:
        """The feedback variant of the selected protocol (same task), with the selected extra classes it offers."""
        if not self._protocols:
            return None
        selected = self.selected_protocol()
        for p in self._feedback_protocols:
            if p.task == selected.task:
                return p.with_classes(tuple(c for c in selected.classes if c in p.optional_classes))
        return None

    def set_feedback_checkpoint(self, path: Path | None) -> None:
        """The subject checkpoint feedback runs decode with (set when one is trained or loaded)."""
        self.feedback_checkpoint = None if path is None else Path(path)
        self._sync_feedback_button()

    def start_feedback(self) -> None:
        """A feedback run with :attr:`feedback_checkpoint` (asks first if its calibration scored poorly)."""
        protocol = self.feedback_protocol()
        if self.stage in BUSY or protocol is None or self.feedback_checkpoint is None:
            return
        report = self.report_view.report
        if report is not None and Path(report.checkpoint) == self.feedback_checkpoint and \
                not self.report_view.confirm_load():
            return
        self.trial_progress.setVisible(True)
        self.train_progress.setVisible(False)
        self.train_label.setText("")
        if report is None:
            self.report_view.clear(f"Feedback run with {self.feedback_checkpoint.name}: the bar on the cue screen "
                                   "follows the decoder; each run's online accuracy is listed on the left.")
        self._show_cue_screen()
        if self.run.start(protocol, train=False, checkpoint=self.feedback_checkpoint):
            self.cue_view.show_message(protocol.instructions_text() or "Preparing…")

    def _sync_feedback_button(self) -> None:
        ready = self.feedback_checkpoint is not None and self.feedback_protocol() is not None
        self.feedback_button.setEnabled(ready and self.stage not in BUSY)
        self.feedback_button.setToolTip(
            f"feedback run decoding with {self.feedback_checkpoint}" if ready else
            "available once a subject checkpoint is trained or loaded (and a feedback protocol exists for the task)")

    def _on_feedback_scored(self, score: RunScore) -> None:
        self.feedback_scores.append(score)
        lines = [f"run {k}: {s.summary()}" for k, s in enumerate(self.feedback_scores, 1)]
        if len(self.feedback_scores) > 1:
            lines.append(f"<b>all runs</b>: {combined_score(self.feedback_scores).summary()}")
        self.feedback_label.setText("<b>Feedback runs</b><br>" + "<br>".join(lines))

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
            self.run.feedback_moved.connect(window.set_feedback)
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
        self._sync_feedback_button()
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
        self._show_report()  # the result matters more than the blank cue screen now
        self.set_feedback_checkpoint(Path(report.checkpoint))
        self.checkpoint_created.emit(Path(report.checkpoint))
