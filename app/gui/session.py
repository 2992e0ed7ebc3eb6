"""LiveSession: the GUI's handle on the live pipeline and on a replay, never blocking the GUI thread.

Starting a pipeline resolves a stream (up to seconds), loads a checkpoint and builds a
model session; stopping it may convert a recording to FIF. Both run on one helper
thread, in the order they were asked for, and report back through Qt signals (queued
to the GUI thread). Everything the display needs is read with :meth:`LiveSession.snapshot`
and :meth:`LiveSession.drain_notices`, which only copy buffers.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject, Signal

from app.pipeline import LivePipeline, Notice, PipelineConfig, PipelineSnapshot, ReplayPlayer, StreamSelector, demo_recording

log = logging.getLogger(__name__)

#: Session states, as shown in the status bar.
IDLE, STARTING, RUNNING, STOPPING, STOPPED, FAILED = "idle", "starting", "running", "stopping", "stopped", "failed"


#: What a session is asked to decode: a :class:`PipelineConfig`, built by
#: :meth:`app.gui.options.GuiOptions.pipeline_config` (the name is kept for the callers' signatures).
SessionRequest = PipelineConfig


class LiveSession(QObject):
    """One decoding pipeline at a time, plus an optional replay feeding it.

    Signals
    -------
    started(PipelineConfig)
        Decoding runs.
    failed(str)
        A start failed or the pipeline stopped on an error; the text says why and what to do.
    stopped(object)
        Decoding stopped; the :class:`~app.pipeline.RecordingSummary` or None.
    replay_started(str)
        A replay is on the network under this stream name.
    replay_failed(str)
    """

    started = Signal(object)
    failed = Signal(str)
    stopped = Signal(object)
    replay_started = Signal(str)
    replay_failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="samba-gui-session")
        self._lock = threading.Lock()
        self._pipeline: LivePipeline | None = None
        self._player: ReplayPlayer | None = None
        self._state = IDLE
        self._leftover: list[Notice] = []  # last words of pipelines already replaced
        self.request: PipelineConfig | None = None
        self.last_error: str | None = None

    # -- state -------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def pipeline(self) -> LivePipeline | None:
        return self._pipeline

    @property
    def replay(self) -> ReplayPlayer | None:
        return self._player

    def snapshot(self) -> PipelineSnapshot | None:
        """The running pipeline's display state, or None (cheap: copies buffers)."""
        pipeline = self._pipeline
        if pipeline is None or self._state not in (RUNNING, STOPPING):
            return None
        try:
            return pipeline.snapshot()
        except Exception:  # noqa: BLE001 - a pipeline tearing down has nothing to show
            return None

    def drain_notices(self) -> list[Notice]:
        """Notices since the previous call, including the last ones of a pipeline that was stopped."""
        with self._lock:
            out, self._leftover = self._leftover, []
        pipeline = self._pipeline
        return out + ([] if pipeline is None else pipeline.drain_notices())

    def poll(self) -> None:
        """Notice a pipeline that ended by itself (an error in its worker); call on the GUI timer."""
        pipeline = self._pipeline
        if self._state == RUNNING and pipeline is not None and not pipeline.running:
            if pipeline.error is not None:
                self._set_failed(f"decoding stopped: {pipeline.error}")
            else:
                self._state = STOPPED
                self.stopped.emit(pipeline.recording)

    # -- decoding ----------------------------------------------------------------------
    def start(self, request: PipelineConfig) -> Future:
        """Stop what runs, then start decoding ``request`` (on the helper thread)."""
        self._state = STARTING
        self.request = request
        return self._executor.submit(self._start, request)

    def stop(self) -> Future:
        """Stop decoding (finishing a recording, if any) on the helper thread."""
        if self._state in (RUNNING, STARTING):
            self._state = STOPPING
        return self._executor.submit(self._stop_and_report)

    def _start(self, request: PipelineConfig) -> None:
        self._stop_pipeline()
        self._state = STARTING
        config, player = request, self._player
        feeds = player is not None and config.stream.name == player.name
        if feeds and config.markers is None and player.marker_stream:
            # The replay's annotations are its ground truth: decisions are scored against them.
            config = dataclasses.replace(config, markers=StreamSelector(name=player.marker_stream))
        if feeds and config.mains_hz is None and player.line_freq:
            config = dataclasses.replace(config, mains_hz=player.line_freq)  # the recording's mains sets the notch
        pipeline = LivePipeline(config, source_end=(lambda: player.samples_sent) if feeds else None)
        try:
            pipeline.start()
        except Exception as exc:  # noqa: BLE001 - every failure must reach the user as a message
            self._set_failed(describe_start_error(exc, request))
            return
        finally:
            if feeds:
                player.release()  # held until the decoder is attached: no opening second is skipped
        with self._lock:
            self._pipeline = pipeline
        self._state = RUNNING
        self.last_error = None
        self.started.emit(request)

    def _stop_and_report(self) -> None:
        had = self._pipeline is not None
        summary = self._stop_pipeline()
        if had and self._state != FAILED:
            self._state = STOPPED
            self.stopped.emit(summary)

    def _stop_pipeline(self):
        with self._lock:
            pipeline, self._pipeline = self._pipeline, None
        if pipeline is None:
            return None
        try:
            return pipeline.stop()
        except Exception as exc:  # noqa: BLE001
            self._set_failed(f"stopping the pipeline failed: {exc}")
            return None
        finally:
            with self._lock:
                self._leftover += pipeline.drain_notices()

    def _set_failed(self, message: str) -> None:
        self._state = FAILED
        self.last_error = message
        log.error("%s", message)
        self.failed.emit(message)

    # -- replay ------------------------------------------------------------------------
    def start_replay(self, path: str | os.PathLike | None, speed: float = 1.0, loop: bool = False) -> Future:
        """Play a recording (None or "": the bundled demo) as an LSL stream."""
        return self._executor.submit(self._start_replay, path, speed, loop)

    def stop_replay(self) -> Future:
        return self._executor.submit(self._stop_replay)

    def _start_replay(self, path, speed: float, loop: bool) -> None:
        self._stop_replay()
        try:
            player = ReplayPlayer(path or demo_recording(), speed=speed, loop=loop, hold=True).start()
        except Exception as exc:  # noqa: BLE001
            self.replay_failed.emit(f"cannot replay {path or 'the demo recording'}: {exc}")
            return
        self._player = player
        self.replay_started.emit(player.name)

    def _stop_replay(self) -> None:
        player, self._player = self._player, None
        if player is not None:
            try:
                player.stop()
            except Exception as exc:  # noqa: BLE001 - a replay that ended on its own may refuse a stop
                log.debug("replay stop: %s", exc)

    # -- teardown ----------------------------------------------------------------------
    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop decoding and the replay, waiting at most ``timeout`` seconds (window closing)."""
        self._executor.submit(self._stop_pipeline)
        done = self._executor.submit(self._stop_replay)
        try:
            done.result(timeout)
        except Exception as exc:  # noqa: BLE001
            log.warning("shutdown: %s", exc)
        self._executor.shutdown(wait=False)
        self._state = STOPPED


def describe_start_error(exc: BaseException, request: PipelineConfig) -> str:
    """A message for a failed start that names what was being started."""
    from montages import MontageError
    from samba_core import CheckpointError

    if isinstance(exc, CheckpointError):
        return f"cannot load the checkpoint {request.checkpoint}: {exc}"
    if isinstance(exc, MontageError):
        return f"cannot place the channels of {request.stream.describe()} on the head: {exc}"
    if isinstance(exc, FileNotFoundError):
        return f"cannot start: {exc}"
    return f"cannot start decoding {request.stream.describe()}: {exc}"
