"""Several runs of a protocol without a window: calibration recordings, or feedback runs scored online.

``samba-live --headless --paradigm graz_mi_feedback --checkpoint subject.samba --stream MyAmp --runs 3``
calls :func:`run_protocol_runs`; each run is a :func:`~app.paradigm.runner.run_paradigm`
in a folder of its own, and a feedback run also writes ``feedback.json`` (its
:class:`~app.paradigm.feedback.RunScore`, trial by trial) beside ``run.json``.

Example::

    from app.paradigm import resolve_protocol, run_protocol_runs

    results = run_protocol_runs(resolve_protocol("graz_mi_feedback"), config, "data", runs=2)
    for r in results:
        print(r.score.summary())
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from samba_core import load_checkpoint

from app.pipeline import PipelineConfig

from .feedback import DEFAULT_CURSOR_SMOOTHING_S, FeedbackLoop, RunScore
from .protocol import PROTOCOL_DIR, CueProtocol, ProtocolFileError, builtin_protocols, load_protocol
from .run import default_seed, new_run_dir
from .runner import CONNECT_TIMEOUT_S, ParadigmResult, run_paradigm
from .timer import TimerEvent

log = logging.getLogger(__name__)

#: Per-run score written beside ``run.json`` by a feedback run.
FEEDBACK_FILE = "feedback.json"


@dataclass(frozen=True)
class RunOutcome:
    """One finished run: the recording and, for feedback runs, its online score (None otherwise)."""

    result: ParadigmResult
    score: RunScore | None


def resolve_protocol(spec: str | Path) -> CueProtocol:
    """A protocol file path, a shipped file's stem (``graz_mi_feedback``) or a protocol name (``graz-mi``).

    Raises
    ------
    ProtocolFileError
        Nothing matches; the message lists the shipped protocols.
    """
    path = Path(spec)
    if path.suffix == ".json" or path.is_file():
        return load_protocol(path)
    shipped = PROTOCOL_DIR / f"{spec}.json"
    if shipped.is_file():
        return load_protocol(shipped)
    protocols = builtin_protocols()
    for p in protocols:
        if p.name == str(spec):
            return p
    names = sorted(q.path.stem for q in protocols if q.path is not None)
    raise ProtocolFileError(f"no protocol {str(spec)!r}: give a protocol file (.json) or one of {names}")


def head_classes(checkpoint: str | Path, head: str) -> tuple[str, ...]:
    """The classes of ``head`` in ``checkpoint``, in the order of its probability vectors.

    Raises
    ------
    CheckpointError
        The checkpoint is unreadable or has no such head.
    """
    return tuple(load_checkpoint(checkpoint, expect_heads=[head]).config.head_classes[head])


def run_protocol_runs(
    protocol: CueProtocol, config: PipelineConfig, data_dir: str | Path, *, runs: int = 1, seed: int | None = None,
    time_scale: float = 1.0, smoothing_s: float = DEFAULT_CURSOR_SMOOTHING_S, cue_stream: str = "samba-cues",
    connect_timeout_s: float = CONNECT_TIMEOUT_S, on_event: Callable[[TimerEvent], None] | None = None,
    on_run: Callable[[int, RunOutcome], None] | None = None, sleep: Callable[[float], None] = time.sleep,
) -> list[RunOutcome]:
    """Record ``runs`` runs of ``protocol`` one after the other (feedback runs scored online).

    Parameters
    ----------
    protocol : CueProtocol
        A feedback protocol (:attr:`CueProtocol.has_feedback`) is scored; any other is recorded.
    config : PipelineConfig
        EEG stream and checkpoint (its head ``protocol.task`` drives the cursor).
    data_dir : path
        Runs go to ``<data_dir>/sessions/<stamp>-<protocol>-run<k>/``.
    runs : int
        Number of runs (>= 1).
    seed : int, optional
        Seed of the first run; run k uses ``seed + k`` (a new trial order per run).
    time_scale, cue_stream, connect_timeout_s, on_event
        See :func:`~app.paradigm.runner.run_paradigm`.
    smoothing_s : float
        Time constant of the cursor's smoothing (s).
    on_run : callable(int, RunOutcome), optional
        Called after each run (0-based index).
    sleep : callable(float)
        The runs' waits (see :func:`~app.paradigm.runner.run_paradigm`); one that raises
        ``KeyboardInterrupt`` once a stop was asked stops the run there, cleanly.

    Raises
    ------
    ValueError
        ``runs`` < 1, or the checkpoint's head does not decode the protocol's classes.
    CheckpointError, PipelineError, ParadigmError
        See :func:`~app.paradigm.runner.run_paradigm`; runs finished before are kept on disk.
    """
    if runs < 1:
        raise ValueError(f"--runs must be at least 1, got {runs}")
    model_classes = head_classes(config.checkpoint, protocol.task) if protocol.has_feedback else ()
    first = default_seed() if seed is None else int(seed)
    stamp = new_run_dir(data_dir, protocol)
    outcomes = []
    for k in range(runs):
        loop = FeedbackLoop(protocol.classes, model_classes, protocol.task, smoothing_s) if protocol.has_feedback else None
        log.info("run %d/%d of %s", k + 1, runs, protocol.title)
        result = run_paradigm(protocol, config, stamp.with_name(f"{stamp.name}-run{k + 1}"), seed=first + k,
                              time_scale=time_scale, connect_timeout_s=connect_timeout_s, cue_stream=cue_stream,
                              on_event=on_event, feedback=loop, sleep=sleep)
        score = None if loop is None else loop.score()
        if score is not None:
            (result.run_dir / FEEDBACK_FILE).write_text(json.dumps(score.to_dict(), indent=2))
            log.info("run %d: %s", k + 1, score.summary())
        outcome = RunOutcome(result, score)
        outcomes.append(outcome)
        if on_run is not None:
            on_run(k, outcome)
    return outcomes
