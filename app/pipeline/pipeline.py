"""LivePipeline: acquisition, decoding, outlets and recording of one EEG stream.

One worker thread does acquisition and decoding back to back (no hand-off queue between
them, so nothing adds latency): pull whatever samples arrived, check their timestamps,
condition, decode, push the probabilities. The recorder and the marker listener have
their own threads, so disk and marker I/O never stall decoding. A GUI drives the pipeline
through :meth:`LivePipeline.start` / :meth:`~LivePipeline.stop` and reads
:meth:`~LivePipeline.snapshot` and :meth:`~LivePipeline.drain_notices` on its timer.

Timestamps are de-jittered before any test (:mod:`.intake`, :mod:`.clockmap`); the
recurrent model state never runs across a discontinuity: samples really missing, a clock
step, or the stream vanishing and coming back all reset it, with a notice and an exact
count of the samples lost. Backlogs (start-up, re-attachment) are recorded, not decoded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np
from mne_lsl.lsl import local_clock

from samba_core import LoadedCheckpoint, load_checkpoint

from .acquisition import StallWatch, StreamLost, StreamReader, wait_for_return
from .chain import DecodedTokens, DecodingChain, preprocess_config_of
from .config import PipelineConfig
from .decoding import Decision
from .clockmap import TimingEvent
from .errors import PipelineError
from .ground_truth import GroundTruth, TrialOutcome, trial_windows
from .heads import in_sample_notice
from .intake import Intake, Run
from .latency import LatencyStats
from .markers import MarkerListener
from .notices import Notice, NoticeBoard
from .outlets import DecisionOutlets, OutletIdentity
from .partial_format import recording_header
from .recovery import RecordingSummary
from .replay import end_of_source
from .session_recording import SessionRecording
from .snapshot import DisplayBuffers, PipelineSnapshot, counts_line, take_snapshot

log = logging.getLogger(__name__)


class LivePipeline:
    """Decode one LSL EEG stream live.

    Parameters
    ----------
    config : PipelineConfig
    checkpoint : LoadedCheckpoint, optional
        Already loaded checkpoint (default: load ``config.checkpoint`` at start).
    on_decision : callable, optional
        Called in the worker thread with every :class:`Decision`; keep it fast.
    source_end : callable, optional
        For a finite source (a replay): returns None while it plays, then the number of
        samples it sent in all (e.g. :attr:`ReplayPlayer.samples_sent`). Once every one
        has arrived (or the stream goes away after the end) the pipeline ends by itself
        and says so, instead of reporting a lost stream.
    """

    def __init__(
        self, config: PipelineConfig, *, checkpoint: LoadedCheckpoint | None = None,
        on_decision: Callable[[Decision], None] | None = None, source_end: Callable[[], int | None] | None = None,
    ) -> None:
        self.config = config
        self.notices = NoticeBoard()
        #: End to end: decision pushed - LSL time of its newest input sample.
        self.latency = LatencyStats()
        #: The pipeline's own share: decision pushed - time its newest sample was pulled from the inlet.
        self.processing_latency = LatencyStats()
        self.error: BaseException | None = None
        self.recording: RecordingSummary | None = None
        self._checkpoint = checkpoint
        self._on_decision = on_decision
        self._source_end = source_end
        #: True once a finite source was decoded to its end.
        self.ended = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = "idle"
        self._reader: StreamReader | None = None
        self._chain: DecodingChain | None = None
        self._intake: Intake | None = None
        self._outlets: DecisionOutlets | None = None
        self._recorder: SessionRecording | None = None
        self._markers: MarkerListener | None = None
        self.samples_received = 0
        #: LSL times of the first and the latest sample received (None before any).
        self.first_sample_time: float | None = None
        self.last_sample_time: float | None = None
        self.samples_lost = 0
        self.resets = 0
        self.n_decisions = 0
        self.markers_received = 0
        self._restart_due = False
        self._segment_row = 0  # recording row of the current segment's first decoded sample
        self._finished_recorder: SessionRecording | None = None
        #: Decisions scored against the input's cue markers (None without a marker stream).
        self.ground_truth: GroundTruth | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> LivePipeline:
        """Connect, resolve the montage, build the model session and start decoding.

        Raises
        ------
        StreamNotFoundError, StreamRateError, MontageError, CheckpointError, PipelineError
            Anything that prevents a start, with a message saying how to fix it.
        """
        if self._thread is not None:
            raise PipelineError("this pipeline was already started; create a new LivePipeline to start again")
        cfg = self.config
        if self._checkpoint is None:
            self._checkpoint = load_checkpoint(cfg.checkpoint)
        preprocess = preprocess_config_of(self._checkpoint, cfg.mains_hz)
        if cfg.stream.replay_of is not None and (notice := in_sample_notice(self._checkpoint, cfg.stream.replay_of)):
            self.notices.post("warning", "in-sample", notice)
        self._reader = StreamReader.connect(cfg.stream, cfg.acquisition.resolve_timeout_s)
        try:
            layout = self._reader.layout
            self._chain = DecodingChain(layout, self._checkpoint, preprocess, cfg.decoding, cfg.montage, self.notices)
            chain = self._chain
            self._intake = Intake(layout.nominal_rate, layout.summary.n_channels, cfg.acquisition, layout.summary.name)
            self._display = DisplayBuffers(len(chain.labels), int(cfg.trace_seconds * layout.physical_rate),
                                           chain.classes, cfg.history_tokens)
            identity = OutletIdentity(layout.summary.name, layout.summary.source_id, str(self._checkpoint.path),
                                      self._checkpoint.sha256)
            self._outlets = DecisionOutlets(chain.classes, cfg.outlet_prefix, chain.token_rate, identity)
            if cfg.markers is not None:
                self.ground_truth = GroundTruth(chain.classes, cfg.cue_map,
                                                trial_windows(self._checkpoint.metadata.provenance),
                                                speed=layout.replay_speed)
            if cfg.record is not None:
                header = recording_header(layout, chain.classes, chain.declared_unit, chain.labels,
                                          str(self._checkpoint.path))
                self._recorder = SessionRecording(cfg.record, header, cfg.flush_interval_s)
            if cfg.markers is not None:
                self._markers = MarkerListener(cfg.markers).start()
            # Last, so that what queued during all of the set-up above is recorded, not decoded: the
            # first decisions then come from samples that arrive once decoding runs (no stale burst).
            skipped = self._take_backlog()
        except BaseException:
            if self._recorder is not None:
                self._recorder.discard()
                self._recorder = None
            self._release()
            raise
        for message in self._outlets.warnings:
            self.notices.post("warning", "outlets", message)
        self.notices.post(
            "info", "attached",
            f"attached to {layout.summary.name!r} ({layout.summary.n_channels} ch at {layout.physical_rate:g} Hz"
            + (f", replayed at {layout.replay_speed:g}x" if layout.replay_speed != 1 else "")
            + f"); {len(chain.labels)} EEG channels feed the model; outlets {', '.join(self._outlets.names)}"
            + (f"; decoding starts now ({skipped} samples queued during set-up recorded, not decoded)"
               if skipped else ""),
        )
        self._watch = StallWatch(layout.summary.name, cfg.acquisition.stale_after_s, self.notices)
        self._status = "running"
        self._thread = threading.Thread(target=self._run, name="samba-pipeline", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> RecordingSummary | None:
        """Stop decoding, withdraw the outlets and finish the recording (if any).

        Blocks until the recording is converted to FIF (a few seconds for an hour at
        256 Hz); a GUI may call it from a helper thread.

        Returns
        -------
        RecordingSummary or None
            The finished recording.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return self.recording

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker ends (after :meth:`stop` or an error); True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def status(self) -> str:
        return self._status

    def __enter__(self) -> LivePipeline:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def drain_notices(self) -> list[Notice]:
        """Notices since the previous call (for the GUI's status bar / log pane)."""
        return self.notices.drain()

    # -- worker ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._poll_markers()
                try:
                    data, ts = self._reader.pull(timeout=0.05)
                except StreamLost:
                    if self._at_source_end(lost=True):
                        break
                    self._reattach()
                    continue
                if ts.size == 0:
                    if self._at_source_end():
                        break
                    self._watch.idle()
                    self._status = "stalled" if self._watch.stalled else self._status
                    continue
                received_at = local_clock()
                self._watch.data()
                self._ingest(data, ts, received_at)
        except _Stopped:
            pass
        except Exception as exc:  # noqa: BLE001 - any failure must reach the user, not kill the thread silently
            self.error = exc
            self._status = "error"
            self.notices.post("error", "error", f"decoding stopped: {exc}")
        finally:
            self._release()
            if self._status != "error":
                self._status = "stopped"
            self.notices.post("info", "stopped", f"stopped: {self.counts_line()}")

    def _at_source_end(self, lost: bool = False) -> bool:
        """Whether a finite source has ended and all it sent is decoded (or never will be); says so once."""
        message = end_of_source(self._source_end, self.samples_received - self.samples_not_decoded,
                                self.samples_not_decoded, self._watch.silent_s,
                                self.config.acquisition.stale_after_s, lost)
        if message is not None:
            self.ended = True
            self.notices.post("info", "ended", message)
        return message is not None

    def _take_backlog(self) -> int:
        """Record what queued up while the app was busy (start-up, re-attachment); decode from now on."""
        data, ts = self._reader.drain()
        self._intake.hold_off_decoding(ts.size)
        if ts.size:
            self._ingest(data, ts, local_clock())
        return int(ts.size)

    def _ingest(self, data: np.ndarray, ts: np.ndarray, received_at: float) -> None:
        runs, warnings = self._intake.add(data, ts, received_at)
        self.samples_received += ts.size
        if self.first_sample_time is None:
            self.first_sample_time = float(ts[0])
        self.last_sample_time = float(ts[-1])
        for run in runs:
            for event in run.events:
                self._on_discontinuity(event, run)
            if run.decode and run.times.size:
                if self._restart_due:
                    self._restart_due = False
                    self._chain.new_segment()
                    self.resets += 1
                if self._chain.clock.n_samples == 0:
                    self._segment_row = run.first
                self._decode(run.data, run.times, run.received_at)
        # Bookkeeping after the decisions are out: none of it may delay them.
        for message in warnings:
            self.notices.post("warning", "rate", message)
            self._record_event({"kind": "rate_warning", "t": float(ts[-1]), "message": message,
                                "measured_rate": self._intake.rate.reported_rate})
        if self._recorder is not None:
            self._recorder.samples(data, ts)
            problem = self._recorder.new_problem()
            if problem:
                self.notices.post("error", "recording", problem)
        chain = self._chain
        scale = chain.conditioner.scale_to_uv
        for run in runs:
            if run.times.size:
                self._display.traces.append(
                    run.data[chain.conditioner.eeg_indices] * (1.0 if np.isnan(scale) else scale), run.times)

    def _record_event(self, event: dict) -> None:
        if self._recorder is not None:
            self._recorder.event(event)

    @property
    def samples_not_decoded(self) -> int:
        """Backlog samples (queued during start-up or re-attachment): recorded, not decoded."""
        return self._intake.n_not_decoded if self._intake is not None else 0

    @property
    def samples_unrecorded(self) -> int:
        """Samples received but not recorded (the recording's disk failed or could not keep up)."""
        recorder = self._recorder or self._finished_recorder
        return recorder.unrecorded_samples if recorder is not None else 0

    def _decode(self, x: np.ndarray, t: np.ndarray, received_at: float) -> None:
        chain = self._chain
        step = max(1, int(chain.layout.physical_rate))  # a burst goes in 1 s pieces: the sample clock keeps 12 s
        for a in range(0, t.size, step):
            out = chain.process(x[:, a : a + step], t[a : a + step])
            if out is not None:
                self._publish(out, received_at)
        chain.check_channels()
        self._status = "paused" if chain.paused else "running"
        self._report_unit()

    def _publish(self, out: DecodedTokens, received_at: float) -> None:
        """Push the tokens' probabilities and decisions; account for latency; record."""
        chain = self._chain
        smoothed = [tok.smoothed for tok in out.tokens]
        self._outlets.push(smoothed, out.sample_time)
        pushed_at = local_clock()
        decisions = [
            Decision(chain.segment, tok.model_index, int(i), float(t_), received_at, pushed_at, tok.probs, tok.smoothed,
                     tok.markers)
            for tok, i, t_ in zip(out.tokens, out.sample_index, out.sample_time, strict=True)
        ]
        self._outlets.push_markers(decisions)
        self.latency.add(pushed_at - out.sample_time)
        self.processing_latency.add(np.full(len(decisions), pushed_at - received_at))
        self._display.add_tokens(smoothed, out.sample_time)
        self.n_decisions += len(decisions)
        for d in decisions:
            if self._recorder is not None:
                self._recorder.decision(d, self._segment_row + d.sample_index)
            if self.ground_truth is not None:
                self._score(self.ground_truth.add_decision(d.sample_time, d.smoothed))
            if self._on_decision is not None:
                self._on_decision(d)

    def _score(self, outcomes: list[TrialOutcome]) -> None:
        for o in outcomes:
            self._record_event(o.to_event())
            self.notices.post("info", "trial", o.describe())

    def _on_discontinuity(self, event: TimingEvent, run: Run) -> None:
        """A gap or clock step before ``run``: the model restarts before the next decoded sample."""
        self._restart_due = True
        self.samples_lost += event.lost
        self.notices.post("warning", "gap", event.describe(self._chain.layout.summary.name))
        t = float(run.times[0]) if run.times.size else self.last_sample_time
        self._record_event({"kind": "gap" if event.kind == "gap" else "clock_step", "t": t, "sample": run.first,
                            "lost": event.lost, "jump_s": event.jump_s, "step": event.kind})

    def _reattach(self) -> None:
        """The outlet vanished: report it, wait for it to come back, reset the model."""
        layout = self._reader.layout
        lost_at = time.monotonic()
        self._status = "stream-lost"
        self.notices.post("warning", "lost", f"stream {layout.summary.name!r} lost; waiting for it to come back")
        self._reader.close()
        self._reader = None
        self._reader = wait_for_return(self.config.stream, layout, self._stop, self.config.acquisition.reattach_poll_s,
                                       self._poll_markers, self.notices)
        if self._reader is None:  # stopped while waiting
            raise _Stopped()
        away = time.monotonic() - lost_at
        self._record_event({"kind": "reattach", "t": self.last_sample_time, "sample": self._intake.n_received,
                            "away_s": away})
        self._restart_due = True
        skipped = self._take_backlog()
        self._watch.restart()
        self._status = "running"
        self.notices.post(
            "info", "reattached", f"re-attached to {layout.summary.name!r} after {away:.1f} s; model state reset; "
            f"{skipped} sample(s) queued meanwhile recorded, not decoded (missing samples are counted from the "
            "timestamps)",
        )

    def _poll_markers(self) -> None:
        if self._markers is None:
            return
        for marker in self._markers.drain():
            self.markers_received += 1
            self._display.markers.append(marker)
            if self.ground_truth is not None:
                self.ground_truth.add_cue(marker.time, marker.text)
            self._record_event({"kind": "marker", "t": marker.time, "text": marker.text})

    def _report_unit(self) -> None:
        unit = self._chain.report_unit()
        if unit is not None:
            self._record_event({"kind": "unit", "unit": unit})

    def _release(self) -> None:
        """Close everything this pipeline opened (worker exit or failed start)."""
        if self._markers is not None:
            self._markers.stop()
            self._poll_markers()
            self._markers = None
        if self.ground_truth is not None:
            self._score(self.ground_truth.finish())
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._outlets is not None:
            self._outlets.close()
            self._outlets = None
        if self._recorder is not None:
            self._finished_recorder, self._recorder = self._recorder, None
            self.recording, failure = self._finished_recorder.finish_or_keep(self.notices)
            if failure is not None:
                self.error, self._status = self.error or failure, "error"

    def counts_line(self, with_truth: bool = False) -> str:
        """Samples, losses, resets, decisions and latency so far (and the accuracy against cues)."""
        return counts_line(self, with_truth)

    # -- display -----------------------------------------------------------------------
    def snapshot(self, trace_samples: int | None = None) -> PipelineSnapshot:
        """A consistent copy of the state for display; safe from any thread (see :func:`take_snapshot`)."""
        if self._chain is None:
            raise PipelineError("the pipeline has not started; call start() first")
        return take_snapshot(self, self._chain, self._display, self._intake.rate.last_rate, trace_samples)


class _Stopped(Exception):
    """Internal: stop() was called while waiting for a lost stream."""
