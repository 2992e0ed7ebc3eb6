"""The SAMBA-Live main window: pick a stream and a model, decode, watch, calibrate.

The window only draws. A :class:`~app.gui.session.LiveSession` runs the pipeline on other
threads; a QTimer at ``refresh_hz`` (30 Hz by default) takes a snapshot of it and hands
it to the panels, and drains the pipeline's notices into the notice list. Anything that
goes wrong arrives as a message (error banner, notice list, status bar), never as an
exception in the GUI thread.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QGroupBox, QHBoxLayout, QMainWindow, QPushButton, QSplitter, QTabWidget, QVBoxLayout,
    QWidget,
)

from app.pipeline import PipelineConfig, StreamSelector
from checkpoints import SHIPPED_CHECKPOINT

from .calibration_run import PREPARING, RUNNING as RUN_RUNNING, SAVING
from .calibration_tab import CalibrationTab
from .checkpoint_picker import CheckpointPicker
from .decoding_panel import DecodingPanel
from .montage_panel import MontagePanel
from .notice_view import ErrorBanner, LiveStatusBar, NoticeList
from .options import GuiOptions
from .session import FAILED, RUNNING, STARTING, LiveSession
from .signal_panel import SignalPanel
from .stream_picker import StreamPicker

log = logging.getLogger(__name__)

#: Calibration stages during which the live session is the run's recorder.
RECORDING_STAGES = (PREPARING, RUN_RUNNING, SAVING)

STATUS_COLOURS = {"running": "#1a7f37", "stalled": "#9a5b00", "stream-lost": "#9a5b00", "paused": "#9a5b00",
                  "error": "#b00020", "stopped": "#555", "idle": "#555"}


class MainWindow(QMainWindow):
    """Stream picker, model picker, live panels, calibration tab, notices and status bar.

    Parameters
    ----------
    options : GuiOptions
    """

    def __init__(self, options: GuiOptions | None = None) -> None:
        super().__init__()
        self.options = options or GuiOptions()
        self.setWindowTitle("SAMBA-Live")
        self.session = LiveSession(self)
        self.session.started.connect(self._on_started)
        self.session.failed.connect(self._on_failed)
        self.session.stopped.connect(self._on_stopped)
        self.session.replay_started.connect(self._on_replay_started)
        self.session.replay_failed.connect(self.report_error)
        self._replay_stream: str | None = None
        self._build()
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(int(1000 / self.options.refresh_hz))
        self.refresh_timer.timeout.connect(self.refresh)
        self.refresh_timer.start()

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.stream_picker = StreamPicker()
        stream_box = QGroupBox("EEG stream (LSL)")
        stream_layout = QVBoxLayout(stream_box)
        stream_layout.addWidget(self.stream_picker)
        self.checkpoint_picker = CheckpointPicker(SHIPPED_CHECKPOINT, self.options.data_dir / "subjects")
        if self.options.checkpoint is not None:
            self.checkpoint_picker.set_checkpoint(self.options.checkpoint)
        self.checkpoint_picker.changed.connect(lambda: self.decoding_panel.set_task(self.checkpoint_picker.task_name()))
        self.start_button = QPushButton("▶ Start decoding")
        self.start_button.setStyleSheet("font-weight: bold; padding: 6px")
        self.start_button.clicked.connect(self.start_decoding)
        self.stop_button = QPushButton("■ Stop")
        self.stop_button.clicked.connect(self.stop_decoding)
        self.stop_button.setEnabled(False)
        self.replay_button = QPushButton("Replay a recording…")
        self.replay_button.clicked.connect(self.choose_replay)
        self.demo_button = QPushButton("No amplifier? Try the demo recording")
        self.demo_button.setToolTip("Replays PhysioNet EEGMMIDB motor imagery (64 ch) as an LSL stream and decodes it; "
                                    "the same as samba-live --replay")
        self.demo_button.clicked.connect(lambda: self.start_replay(""))
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        model_box = QGroupBox("Model")
        model_layout = QVBoxLayout(model_box)
        model_layout.addWidget(self.checkpoint_picker)
        model_layout.addLayout(buttons)
        model_layout.addWidget(self.replay_button)
        model_layout.addWidget(self.demo_button)
        model_layout.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(stream_box, 3)
        top.addWidget(model_box, 2)
        self.banner = ErrorBanner()
        self.signal_panel = SignalPanel()
        self.montage_panel = MontagePanel()
        self.decoding_panel = DecodingPanel()
        self.decoding_panel.set_task(self.checkpoint_picker.task_name())
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.montage_panel)
        right.addWidget(self.decoding_panel)
        right.setSizes([420, 380])
        live = QSplitter(Qt.Horizontal)
        live.addWidget(self.signal_panel)
        live.addWidget(right)
        live.setSizes([820, 680])
        self.calibration_tab = CalibrationTab(self.session, self.build_request, self.options.data_dir,
                                              self.options.time_scale)
        self.calibration_tab.message.connect(self._on_calibration_message)
        self.calibration_tab.checkpoint_created.connect(lambda _: self.checkpoint_picker.rescan())
        self.calibration_tab.load_requested.connect(self.load_subject_checkpoint)
        # Feedback runs decode with whichever checkpoint the Model picker holds (trained here or opened).
        self.checkpoint_picker.changed.connect(self._offer_feedback_with_picked_checkpoint)
        self._offer_feedback_with_picked_checkpoint()
        self.calibration_tab.run.stage_changed.connect(lambda *_: self._sync_controls())
        self.tabs = QTabWidget()
        self.tabs.addTab(live, "Live decoding")
        self.tabs.addTab(self.calibration_tab, "Calibration")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 2)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.notices = NoticeList()
        dock = QDockWidget("Notices", self)
        dock.setObjectName("notices")
        dock.setWidget(self.notices)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.BottomDockWidgetArea, dock)
        self.resizeDocks([dock], [110], Qt.Vertical)
        self.status = LiveStatusBar()
        self.setStatusBar(self.status)
        self.status.set_state("idle: choose a stream and press Start (no amplifier? File → Replay the demo recording)")
        self._menus()

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, slot in (("Replay a recording…", self.choose_replay),
                           ("Replay the demo recording", lambda: self.start_replay("")),
                           ("Open a checkpoint…", self.checkpoint_picker._browse),
                           ("Record a session…", self.record_session)):
            action = QAction(text, self)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        file_menu.addSeparator()
        quit_action = QAction("Quit", self)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

    # -- start-up ----------------------------------------------------------------------
    def begin(self) -> None:
        """Do what the command line asked: replay a file, or decode a named stream."""
        if self.options.replay is not None:
            self.start_replay(self.options.replay, self.options.speed, self.options.loop)
        elif self.options.stream:
            self.stream_picker.select_name(self.options.stream)
            self._start(StreamSelector(name=self.options.stream))

    # -- actions -----------------------------------------------------------------------
    def build_request(self, record: Path | None = None, markers: StreamSelector | None = None,
                      stream: StreamSelector | None = None) -> PipelineConfig:
        """The pipeline configuration for the selected stream and checkpoint, with the command line's settings.

        Raises
        ------
        ValueError
            No stream or no checkpoint selected (the message says what to do).
        """
        stream = stream or self.stream_picker.selected_selector()
        replay = self._replay_selector()
        if replay is not None and (stream is None or stream.name == replay.name):
            stream = replay  # the replay's stream involves no hardware: its errors say so
        if stream is None:
            raise ValueError("select an EEG stream in the list first (or replay a recording: File → Replay)")
        checkpoint = self.checkpoint_picker.checkpoint()
        if checkpoint is None:
            raise ValueError("choose a model checkpoint first (Model → Browse…)")
        return self.options.pipeline_config(stream=stream, checkpoint=Path(checkpoint), record=record, markers=markers)

    def _offer_feedback_with_picked_checkpoint(self) -> None:
        picked = self.checkpoint_picker.checkpoint()
        self.calibration_tab.set_feedback_checkpoint(Path(picked) if picked else None)

    def _replay_selector(self) -> StreamSelector | None:
        """The selector of the stream this window replays, or None."""
        if not self._replay_stream:
            return None
        player = self.session.replay
        return StreamSelector.of_replay(self._replay_stream, player.source if player is not None else None)

    def start_decoding(self) -> None:
        self._start(None)

    def record_session(self, path: str | Path | None = None) -> None:
        """Decode the selected stream (or the replay) and record it: raw EEG, markers and decisions.

        ``path``: the ``.fif`` to write; None asks for it. What runs is restarted with the recording.
        """
        if path is None:
            default = self.options.data_dir / "sessions" / time.strftime("%Y%m%d-%H%M%S-session_raw.fif")
            default.parent.mkdir(parents=True, exist_ok=True)
            path, _ = QFileDialog.getSaveFileName(self, "Record a session", str(default), "FIF recordings (*.fif)")
            if not path:
                return
        self._start(None, record=Path(path))

    def _start(self, stream: StreamSelector | None, record: Path | None = None) -> None:
        try:
            request = self.build_request(stream=stream, record=record)
        except ValueError as exc:
            self.report_error(str(exc))
            return
        self.banner.clear()
        self.signal_panel.clear()
        self.montage_panel.clear()
        self.decoding_panel.clear()
        self.status.reset_figures()
        self.status.set_state(f"starting: {request.stream.describe()}…", "#555")
        self.notices.add("info", f"starting {request.stream.describe()} with {request.checkpoint.name}")
        self.session.start(request)
        self._sync_controls()

    def stop_decoding(self) -> None:
        self.session.stop()
        self.status.set_state("stopping…", "#555")

    def choose_replay(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Replay a recording", str(self.options.data_dir),
                                              "Recordings (*.edf *.bdf *.gdf *.fif *.fif.gz *.xdf);;All files (*)")
        if path:
            self.start_replay(path, self.options.speed, self.options.loop)

    def start_replay(self, path: str | None, speed: float = 1.0, loop: bool = False) -> None:
        """Replay ``path`` ("" or None: the demo) and decode it as soon as it is on the network."""
        self.notices.add("info", f"starting a replay of {path or 'the demo recording'} at {speed:g}x")
        self.session.start_replay(path, speed, loop)

    def load_subject_checkpoint(self, path: Path) -> None:
        """Select a new subject checkpoint (and its task) and decode with it."""
        self.checkpoint_picker.rescan()
        self.checkpoint_picker.set_checkpoint(Path(path))
        task = getattr(self.calibration_tab.protocol, "task", None)
        if task:
            self.checkpoint_picker.set_task(task)
        self.tabs.setCurrentIndex(0)
        self.start_decoding()

    def report_error(self, message: str) -> None:
        """Show an error everywhere the user looks; never raise."""
        self.banner.show_error(message)
        self.notices.add("error", message)
        self.status.set_state("error (see the red message)", STATUS_COLOURS["error"])
        self.statusBar().showMessage(message, 15000)

    # -- session signals ---------------------------------------------------------------
    def _sync_controls(self) -> None:
        """While a calibration run records, the stream, the model and start/stop belong to it."""
        recording = self.calibration_tab.stage in RECORDING_STAGES
        self.start_button.setEnabled(not recording and self.session.state not in (STARTING, RUNNING))
        self.stop_button.setEnabled(not recording and self.session.state in (STARTING, RUNNING))
        for w in (self.replay_button, self.demo_button, self.checkpoint_picker, self.stream_picker):
            w.setEnabled(not recording)

    def _on_started(self, request: PipelineConfig) -> None:
        self._sync_controls()
        self.notices.add("info", f"decoding {request.stream.describe()} with {Path(request.checkpoint).name}"
                         + (f", recording to {request.record}" if request.record else ""))

    def _on_failed(self, message: str) -> None:
        self._sync_controls()
        self.report_error(message)

    def _on_stopped(self, summary) -> None:
        self._sync_controls()
        self.status.set_state("stopped", STATUS_COLOURS["stopped"])

    def _on_replay_started(self, name: str) -> None:
        self._replay_stream = name
        self.notices.add("info", f"replay on the network as LSL stream {name!r}")
        self.stream_picker.select_name(name)
        self._start(self._replay_selector())

    def _on_calibration_message(self, level: str, text: str) -> None:
        self.notices.add(level, text)
        if level == "error":
            self.banner.show_error(text)

    # -- refresh -----------------------------------------------------------------------
    def refresh(self) -> None:
        """One display frame: notices, then the panels from one snapshot (never raises)."""
        try:
            self._refresh()
        except Exception as exc:  # noqa: BLE001 - a drawing bug must not take the window down
            log.exception("display refresh failed")
            self.notices.add("error", f"display error: {exc}")

    def _refresh(self) -> None:
        self.session.poll()
        for n in self.session.drain_notices():
            self.notices.add(n.level, n.message, n.time)
            if n.level == "error":
                self.banner.show_error(n.message)
        snap = self.session.snapshot()
        if snap is None:
            if self.session.state in (STARTING,):
                self.status.set_state("starting…", "#555")
            elif self.session.state == FAILED:
                self.status.set_state("error (see the red message)", STATUS_COLOURS["error"])
            return
        tab_live = self.tabs.currentIndex() == 0
        if tab_live:
            self.signal_panel.update_from(snap)
            self.montage_panel.update_from(snap)
        self.decoding_panel.update_from(snap)
        name = snap.stream.name if snap.stream else "?"
        state = snap.status if self.session.state == RUNNING else self.session.state
        self.status.set_state(f"{state}: {name}", STATUS_COLOURS.get(state, "#555"))
        self.status.set_figures(snap.latency, snap.decisions, snap.samples_lost, snap.resets, time.monotonic())

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.refresh_timer.stop()
        self.stream_picker.timer.stop()
        self.calibration_tab.shutdown()
        self.session.shutdown()
        super().closeEvent(event)
