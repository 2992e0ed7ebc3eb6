"""One calibration run: record a protocol, write the session file, train a subject checkpoint.

The stages, each started by the end of the previous one and none blocking the GUI thread:

1. ``preparing``: open the run (:class:`app.paradigm.ParadigmRun`: schedule and cue outlet),
   (re)start the live pipeline on the selected stream with recording on and the cue stream
   as its marker input, and wait until the recorder is connected to the cues (a marker
   sent earlier would be lost);
2. ``running``: a 60 Hz QTimer drives the run's timeline, which sends the markers and says
   which screen to show;
3. ``saving``: stop the pipeline (it writes the live FIF), then write ``run.json`` and the
   session file (:meth:`app.paradigm.ParadigmRun.finish`) on a helper thread;
4. ``training``: ``samba-calibrate`` in a QProcess (:class:`app.gui.trainer.TrainerProcess`);
5. ``done`` (or ``failed`` at any point, with a message).

A feedback protocol (:attr:`app.paradigm.CueProtocol.has_feedback`) is a feedback run
instead: during its feedback phases a :class:`app.paradigm.FeedbackLoop` reads the running
model's probabilities on every tick and moves the cue screen's cursor, its markers go out
on the cue stream with the others, and the run ends with its online score (no training).

No widget here: the calibration tab shows what the signals say. The same run, without Qt,
is :func:`app.paradigm.run_paradigm`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from app.paradigm import FEEDBACK_FILE, CueProtocol, FeedbackLoop, ParadigmRun, SessionFile, head_classes, new_run_dir
from samba_core import CheckpointError

from .session import LiveSession, SessionRequest
from .report_view import score_line
from .trainer import TrainerProcess, TrainingJob

IDLE, PREPARING, RUNNING, SAVING, TRAINING, DONE, FAILED = (
    "idle", "preparing", "running", "saving", "training", "done", "failed")
BUSY = (PREPARING, RUNNING, SAVING, TRAINING)

#: Seconds to wait for the pipeline and the recorder's connection to the cue stream.
PREPARE_TIMEOUT_S = 30.0


class CalibrationRun(QObject):
    """Runs calibration sessions one at a time.

    Parameters
    ----------
    session : LiveSession
        The window's live session: a run restarts it with recording on.
    make_request : callable(record=Path, markers=StreamSelector) -> SessionRequest
        Builds a request for the selected stream and checkpoint; raises ValueError with a
        message when something is not selected.
    data_dir : Path
        ``sessions/<stamp>-<protocol>/`` and ``subjects/`` are written here.
    time_scale : float
        Factor on every protocol duration (tests run whole protocols in seconds).

    Signals
    -------
    stage_changed(str, str)
        New stage and a sentence for the user.
    step_started(Step, int)
        Show this step (with the run's seed, for reproducible changing displays).
    step_elapsed(float)
        Seconds spent in the current step (moving displays).
    trial_changed(int, int)
        Trials begun, trials in the run.
    training_progress(int, str)
        Percent and what the trainer is doing.
    trained(CalibrationReport)
    feedback_moved(object)
        Cursor position (x, y) in [-1, 1]² during feedback phases, None outside them.
    feedback_scored(RunScore)
        A feedback run ended: its online score.
    message(str, str)
        (level, text) for the notice list.
    """

    stage_changed = Signal(str, str)
    step_started = Signal(object, int)
    step_elapsed = Signal(float)
    trial_changed = Signal(int, int)
    training_progress = Signal(int, str)
    trained = Signal(object)
    feedback_moved = Signal(object)
    feedback_scored = Signal(object)
    message = Signal(str, str)
    _session_written = Signal(object, str)

    def __init__(self, session: LiveSession, make_request: Callable[..., SessionRequest], data_dir: Path,
                 time_scale: float = 1.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.make_request, self.data_dir, self.time_scale = session, make_request, Path(data_dir), time_scale
        self.stage = IDLE
        self.protocol: CueProtocol | None = None
        self.paradigm: ParadigmRun | None = None
        self.request: SessionRequest | None = None
        self.run_dir: Path | None = None
        self.session_file: SessionFile | None = None
        self.report = None
        self.feedback: FeedbackLoop | None = None
        self.score = None
        self._fed_until = -float("inf")
        self.last_error = ""
        self._pipeline_ready = False
        self._prepare_deadline = 0.0
        self.trainer = TrainerProcess(self)
        self.trainer.progress.connect(self.training_progress)
        self.trainer.finished.connect(self._on_trained)
        self._session_written.connect(self._on_session_written)
        session.started.connect(self._on_pipeline_started)
        session.failed.connect(self._on_pipeline_failed)
        session.stopped.connect(self._on_pipeline_stopped)
        self.tick = QTimer(self)
        self.tick.setTimerType(Qt.PreciseTimer)
        self.tick.setInterval(16)
        self.tick.timeout.connect(self._on_tick)

    # -- control -----------------------------------------------------------------------
    def start(self, protocol: CueProtocol, train: bool = True, checkpoint: Path | None = None) -> bool:
        """Begin a run of ``protocol``; False (with a ``failed`` stage) when it cannot start.

        ``checkpoint`` replaces the selected model (a feedback run decodes with the subject's
        checkpoint); a feedback protocol is never followed by training.
        """
        if self.stage in BUSY:
            return False
        self.train = train and not protocol.has_feedback
        self.run_dir = new_run_dir(self.data_dir, protocol)
        self.paradigm = ParadigmRun(protocol, self.run_dir, time_scale=self.time_scale)
        self.feedback, self.score, self._fed_until = None, None, -float("inf")
        try:
            self.request = self.make_request(record=self.paradigm.live_recording, markers=self.paradigm.cue_selector)
            if checkpoint is not None:
                self.request = replace(self.request, checkpoint=Path(checkpoint))
            if protocol.has_feedback:
                self.feedback = FeedbackLoop(protocol.classes, head_classes(self.request.checkpoint, protocol.task),
                                             protocol.task)
        except (ValueError, CheckpointError) as exc:
            self.paradigm.abort()
            self.fail(str(exc))
            return False
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.protocol = protocol
        self.session_file, self.report = None, None
        self.trial_changed.emit(0, self.paradigm.timer.n_trials)
        self._set_stage(PREPARING, "connecting the recorder to the stream and the cue markers…")
        self._pipeline_ready = False
        self._prepare_deadline = time.monotonic() + PREPARE_TIMEOUT_S
        self.session.start(self.request)
        self.tick.start()
        return True

    def abort(self) -> None:
        """Stop the run (or cancel the training); a recording made so far is kept."""
        if self.stage == TRAINING:
            self.trainer.cancel()
            return
        if self.stage not in (PREPARING, RUNNING):
            return
        self._stop_protocol()
        self.session.stop()
        self._set_stage(FAILED, f"aborted; the partial recording is kept in {self.run_dir}")

    def shutdown(self) -> None:
        """Window closing: stop the timer, the cue stream and a running trainer."""
        self._stop_protocol()
        self.trainer.cancel()

    # -- stage 1 and 2: recording --------------------------------------------------------
    def _on_pipeline_started(self, request) -> None:
        if self.stage == PREPARING and request is self.request:
            self._pipeline_ready = True

    def _on_pipeline_failed(self, message: str) -> None:
        if self.stage in (PREPARING, RUNNING):
            self._stop_protocol()
            self.fail(f"the recording failed: {message}")

    def _on_tick(self) -> None:
        now = time.monotonic()
        if self.stage == PREPARING:
            if self._pipeline_ready and self.paradigm.recorder_connected():
                self._set_stage(RUNNING, f"running {self.protocol.title}")
                self._handle(self.paradigm.start(now))
            elif now > self._prepare_deadline:
                self.abort()
                self.fail(self.paradigm.not_connected_message(PREPARE_TIMEOUT_S))
        elif self.stage == RUNNING and self.paradigm is not None:
            self._handle(self.paradigm.update(now))
            timer = self.paradigm.timer
            if timer.current is not None:
                self.step_elapsed.emit(timer.elapsed(now) - timer.current.start_s)
            if self.feedback is not None and self.feedback.active:
                self._feed()

    def _feed(self) -> None:
        """Give the feedback loop the probabilities decoded since the last tick; move the cursor."""
        pipeline = self.session.pipeline
        try:
            snapshot = pipeline.snapshot(trace_samples=1) if pipeline is not None else None
        except Exception:  # noqa: BLE001 - a pipeline tearing down: the failure arrives by its own signal
            snapshot = None
        if snapshot is not None and self.feedback.head in snapshot.history:
            probs, times = snapshot.history[self.feedback.head], snapshot.history_times[self.feedback.head]
            for k in range(len(times)):
                if times[k] > self._fed_until:
                    self.feedback.on_probabilities(probs[k], float(times[k]))
            if len(times):
                self._fed_until = max(self._fed_until, float(times[-1]))
        self.feedback_moved.emit(self.feedback.position())

    def _handle(self, events) -> None:
        """Show the steps (the run has already sent the markers); save at the end."""
        for event in events:
            for marker in [] if self.feedback is None else self.feedback.on_event(event):
                self.paradigm.send(marker)
            if event.kind == "step":
                self.step_started.emit(event.step, self.paradigm.seed)
                self.trial_changed.emit(*self.paradigm.timer.trial_progress())
                if self.feedback is not None:
                    self.feedback_moved.emit(self.feedback.position())
            elif event.kind == "finished":
                self.tick.stop()
                if self.feedback is not None:
                    self.score = self.feedback.score()
                    (self.run_dir / FEEDBACK_FILE).write_text(json.dumps(self.score.to_dict(), indent=2))
                self._set_stage(SAVING, "saving the recording…")
                self.session.stop()

    # -- stage 3: the session file --------------------------------------------------------
    def _on_pipeline_stopped(self, summary) -> None:
        if self.stage in (PREPARING, RUNNING):
            self._stop_protocol()
            self.fail("decoding was stopped during the calibration run; the run was aborted "
                      f"(the recording so far is in {self.run_dir})")
            return
        if self.stage != SAVING:
            return
        self.paradigm.write_run_info(self.request.stream.describe(), self.request.checkpoint)
        if summary is None:
            self.fail("the live pipeline stopped without a recording; see the notices")
            return
        threading.Thread(target=self._write_session, args=(summary.path,), daemon=True,
                         name="samba-gui-session-file").start()

    def _write_session(self, recorded: Path) -> None:
        try:
            result = self.paradigm.finish(recorded)
        except Exception as exc:  # noqa: BLE001 - reported in the window
            self._session_written.emit(None, str(exc))
            return
        self._session_written.emit(result, "")

    def _on_session_written(self, result: SessionFile | None, error: str) -> None:
        if result is None:
            self.fail(error)
            return
        self.session_file = result
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(result.counts.items()))
        self.message.emit("info", f"calibration session saved to {result.path} ({result.duration_s:.0f} s; "
                                  f"markers {counts})")
        if result.missing:
            self.message.emit("warning", f"markers sent but not recorded: {result.missing}")
        if self.score is not None:
            self._set_stage(DONE, f"feedback run: {self.score.summary()}")
            self.message.emit("info", f"feedback run saved to {self.run_dir}: {self.score.summary()}")
            self.feedback_scored.emit(self.score)
            return
        if not self.train:
            self._set_stage(DONE, f"session saved to {result.path}; train it with samba-calibrate when you like")
            return
        # -- stage 4: training
        subjects = self.data_dir / "subjects"
        subjects.mkdir(parents=True, exist_ok=True)
        job = TrainingJob(session=result.path, base=Path(self.request.checkpoint),
                          out=subjects / f"{self.run_dir.name}-{self.protocol.task}.samba", task=self.protocol.task,
                          options=dict(self.protocol.training))
        self._set_stage(TRAINING, "training the subject checkpoint (the window stays usable)…")
        self.trainer.start(job)

    def _on_trained(self, report, error: str) -> None:
        if report is None:
            tail = "\n".join(self.trainer.log[-8:])
            self.fail(error + (f"\n{tail}" if tail else ""))
            return
        self.report = report
        self._set_stage(DONE, f"{score_line(report)}; subject checkpoint written to {report.checkpoint}")
        self.message.emit("info", f"calibration finished: {score_line(report)}; {report.checkpoint}")
        self.trained.emit(report)

    # -- helpers -----------------------------------------------------------------------
    def _stop_protocol(self) -> None:
        self.tick.stop()
        if self.paradigm is not None:
            self.paradigm.abort()

    def _set_stage(self, stage: str, text: str) -> None:
        self.stage = stage
        self.stage_changed.emit(stage, text)

    def fail(self, message: str) -> None:
        """End in the ``failed`` stage with ``message`` (also sent to the notice list)."""
        self.last_error = message
        self._set_stage(FAILED, message)
        self.message.emit("error", message)
