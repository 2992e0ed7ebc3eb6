"""Running a cued paradigm without a window: a plain clock, the LSL cue outlet, the live recorder.

:func:`run_paradigm` is what the calibration tab does, minus the drawing: it starts a
:class:`~app.pipeline.LivePipeline` on the EEG stream with recording on and the run's cue
stream as its marker input, waits until the recorder receives the cues, walks the
protocol's timeline with ``time.monotonic()`` (markers go out on LSL as they come due),
then stops the pipeline (which writes the live FIF) and writes ``run.json`` and the
session file that ``samba-calibrate`` reads. A run that fails or is interrupted keeps
what was recorded.

Example::

    from app.paradigm import load_protocol, new_run_dir, run_paradigm
    from app.pipeline import PipelineConfig, StreamSelector

    protocol = load_protocol("app/protocols/graz_mi.json")
    config = PipelineConfig(StreamSelector(name="MyAmp"), Path("model.samba"))
    result = run_paradigm(protocol, config, new_run_dir("data", protocol))
    # samba-calibrate result.session.path ...
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from app.pipeline import Decision, LivePipeline, PipelineConfig, RecordingSummary

from .cue_outlet import SentMarker
from .displays import screen_text
from .feedback import FEEDBACK_START, FeedbackLoop
from .protocol import CueProtocol
from .run import ParadigmRun
from .session_file import SessionFile
from .timer import TimerEvent

log = logging.getLogger(__name__)

#: Seconds to wait for the recorder's connection to the cue stream.
CONNECT_TIMEOUT_S = 30.0


class ParadigmError(RuntimeError):
    """A paradigm run could not start or could not finish; the message says why and what was kept."""


@dataclass(frozen=True)
class ParadigmResult:
    """A finished run.

    Parameters
    ----------
    run_dir : Path
        Folder holding ``live.fif``, ``run.json`` and ``session_raw.fif``.
    session : SessionFile
        The session file for ``samba-calibrate``.
    recording : RecordingSummary
        The live recording (EEG, cues and the running model's decisions).
    sent : tuple of SentMarker
        Every marker as sent on the cue stream.
    seed : int
        The run's seed (trial order, random durations).
    """

    run_dir: Path
    session: SessionFile
    recording: RecordingSummary
    sent: tuple[SentMarker, ...]
    seed: int


def run_paradigm(
    protocol: CueProtocol, config: PipelineConfig, run_dir: str | Path, *, seed: int | None = None,
    time_scale: float = 1.0, frame_s: float = 0.01, connect_timeout_s: float = CONNECT_TIMEOUT_S,
    cue_stream: str = "samba-cues", on_event: Callable[[TimerEvent], None] | None = None,
    on_decision: Callable[[Decision], None] | None = None,
    clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
    feedback: FeedbackLoop | None = None,
) -> ParadigmResult:
    """Record one run of ``protocol`` on the EEG stream of ``config``, headless.

    Parameters
    ----------
    protocol : CueProtocol
    config : PipelineConfig
        The EEG stream and checkpoint; its ``markers`` and ``record`` are replaced by the
        run's cue stream and ``<run_dir>/live.fif``.
    run_dir : path
        Folder of the run (see :func:`app.paradigm.new_run_dir`).
    seed : int, optional
        Trial order and random durations (default: from the time; written to ``run.json``).
    time_scale : float
        Factor on every duration (tests use ~0.01).
    frame_s : float
        Seconds between two looks at the clock (the markers' worst-case lateness).
    connect_timeout_s : float
        Seconds to wait for the recorder to receive the cue stream.
    cue_stream : str
        Name of the LSL cue stream.
    on_event : callable(TimerEvent), optional
        Called for every step, marker and the end, in order (e.g. to show or log the screen).
    on_decision : callable(Decision), optional
        Called in the pipeline's worker thread with every decision of the running model
        (e.g. to move a feedback bar); keep it fast.
    clock, sleep : callable
        Monotonic clock (s) and sleep; the timeline only depends on the clock's readings.
    feedback : FeedbackLoop, optional
        For feedback runs: follows the events and the decisions; its markers
        (``feedback/start``, ``feedback/<class>``) go out on the cue stream and are recorded.

    Returns
    -------
    ParadigmResult

    Raises
    ------
    PipelineError, MontageError, CheckpointError
        The pipeline cannot start (nothing is recorded).
    ParadigmError
        The recorder did not receive the cues in time, decoding stopped during the run, or
        the session file could not be written; the message says what was kept.
    KeyboardInterrupt
        After stopping cleanly: the recording so far and ``run.json`` are kept.
    """
    run = ParadigmRun(protocol, run_dir, seed=seed, time_scale=time_scale, cue_stream=cue_stream)
    run.run_dir.mkdir(parents=True, exist_ok=True)
    listeners = [f for f in (None if feedback is None else feedback.on_decision, on_decision) if f is not None]

    def decided(decision: Decision) -> None:
        for listener in listeners:
            listener(decision)

    pipeline = LivePipeline(replace(config, markers=run.cue_selector, record=run.live_recording),
                            on_decision=decided if listeners else None)
    try:
        pipeline.start()
    except BaseException:
        run.abort()
        raise
    try:
        _wait_for_recorder(run, pipeline, connect_timeout_s, clock, sleep)
        _play(run, pipeline, frame_s, on_event, feedback, clock, sleep)
    except BaseException:
        run.abort()
        pipeline.stop()
        run.write_run_info(config.stream.describe(), config.checkpoint)
        raise
    recording = pipeline.stop()
    run.write_run_info(config.stream.describe(), config.checkpoint)
    if recording is None:
        raise ParadigmError(f"the live pipeline stopped without a recording ({pipeline.error or 'no error given'}); "
                            f"the markers sent are listed in {run.run_dir / 'run.json'}")
    try:
        session = run.finish(recording.path)
    except Exception as exc:  # noqa: BLE001 - SessionFileError or a write failure: the live FIF stays
        raise ParadigmError(f"{exc} (the live recording is kept in {recording.path})") from exc
    return ParadigmResult(run.run_dir, session, recording, tuple(run.sent), run.seed)


def _wait_for_recorder(run: ParadigmRun, pipeline: LivePipeline, timeout_s: float, clock, sleep) -> None:
    deadline = clock() + timeout_s
    while not run.recorder_connected():
        if not pipeline.running:
            raise ParadigmError(f"decoding stopped before the run began: {pipeline.error}")
        if clock() > deadline:
            raise ParadigmError(run.not_connected_message(timeout_s))
        sleep(0.02)


def _play(run: ParadigmRun, pipeline: LivePipeline, frame_s: float, on_event, feedback, clock, sleep) -> None:
    events = run.start(clock())
    while True:
        for event in events:
            for marker in [] if feedback is None else feedback.on_event(event):
                run.send(marker)
                if marker != FEEDBACK_START:
                    outcome = feedback.score().outcomes[-1]
                    log.info("trial %d, cued %s: decoded %s", outcome.trial + 1, outcome.label, outcome.decoded or "nothing")
            if event.kind == "step":
                done, total = run.timer.trial_progress()
                log.info("trial %d/%d, %s: %s", done, total, event.step.phase, screen_text(event.step, run.seed))
            if on_event is not None:
                on_event(event)
        if run.finished:
            return
        if not pipeline.running:
            raise ParadigmError(f"decoding stopped during the run ({pipeline.error}); "
                                f"the recording so far is kept in {run.run_dir}")
        sleep(frame_s)
        events = run.update(clock())
