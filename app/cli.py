"""``samba-live``: decode a live LSL EEG stream or a replayed recording.

Examples::

    samba-live --headless --replay                       # the bundled demo recording
    samba-live --headless --replay run.xdf --speed 10 --record out.fif
    samba-live --headless --stream "MyAmp" --checkpoint model.samba --duration 600
    samba-live --list-streams
    samba-live --recover out.fif.partial                 # after a crash during --record
    samba-live --headless --paradigm graz_mi_feedback --checkpoint subject.samba --stream "MyAmp" --runs 3

Without ``--headless`` the desktop window opens (:func:`run_gui`); ``samba-live --replay FILE``
opens it on a replayed file.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import time
from pathlib import Path

from checkpoints import SHIPPED_CHECKPOINT
from montages import MontageError
from samba_core import CheckpointError
from samba_core.streaming import BACKENDS, DEFAULT_BACKEND

from .pipeline import (
    LivePipeline, PipelineConfig, PipelineError, ReplayPlayer, StreamSelector, demo_recording, list_streams,
    recover_recording,
)
from .pipeline.bids import write_session_bids
from .pipeline.lsl_config import quiet_liblsl
from .pipeline.decoding import DEFAULT_SMOOTHING_S, Decision
from .pipeline.ground_truth import CueMap

log = logging.getLogger("samba-live")

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2


class GuiUnavailable(RuntimeError):
    """This build has no graphical interface."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="samba-live", description="Real-time EEG decoding with the SAMBA model over Lab Streaming Layer.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Output: one LSL stream of class probabilities per head (<prefix>-<head>) and a marker stream of "
        "decisions (<prefix>-decisions), readable by any LSL client.",
    )
    p.add_argument("--headless", action="store_true", help="run without the graphical interface (log decisions and latency to the console)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--stream", metavar="NAME", help="name of the LSL EEG stream to decode")
    src.add_argument("--replay", nargs="?", const="", metavar="FILE",
                     help="play an EDF/BDF/GDF/FIF/XDF recording as an LSL stream and decode it "
                     "(no FILE: the bundled demo recording)")
    src.add_argument("--list-streams", action="store_true", help="list the LSL streams on the network and exit")
    src.add_argument("--recover", metavar="FILE.partial", help="convert an interrupted recording to FIF and exit")
    p.add_argument("--out", type=Path, metavar="OUT.fif",
                   help="with --recover: write the FIF here (e.g. on another disk) and keep the partial files")
    p.add_argument("--stream-type", metavar="TYPE", help="LSL stream type to require (e.g. EEG); alone: the first such stream")
    p.add_argument("--source-id", metavar="ID", help="LSL source id to require (identifies a device across restarts)")
    p.add_argument("--markers", metavar="NAME",
                   help="name of an event-marker stream (e.g. a paradigm's cues) to record alongside and to score "
                   "decisions against")
    p.add_argument("--cue-map", type=CueMap.parse, metavar="MARKER=CLASS,...",
                   help="which markers cue which class, for scoring (default: EEGMMIDB's T1=left,T2=right; "
                   "markers cue/<class> and class names are always understood)")
    p.add_argument("--checkpoint", type=Path, metavar="PATH",
                   help=f"model checkpoint (default: the shipped {SHIPPED_CHECKPOINT.parent.name}/{SHIPPED_CHECKPOINT.name})")
    p.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                   help=f"inference backend: fused numpy step, onnxruntime step or the torch reference "
                   f"(default: {DEFAULT_BACKEND})")
    p.add_argument("--smoothing", type=float, default=DEFAULT_SMOOTHING_S, metavar="S",
                   help="time constant (s) of exponential smoothing of the probabilities (default: "
                   f"{DEFAULT_SMOOTHING_S:g}; 0 turns it off: faster, but the decision flips several times a second)")
    p.add_argument("--threshold", type=float, metavar="P",
                   help="emit a decision when a class probability rises to P (default: on every argmax change)")
    p.add_argument("--record", type=Path, metavar="OUT.fif", help="record raw EEG, markers and decisions to FIF")
    p.add_argument("--record-bids", type=Path, metavar="DIR",
                   help="also write the recorded session into the BIDS dataset DIR (EDF + events.tsv; without "
                   "--record the FIF goes to DIR/sourcedata/)")
    p.add_argument("--bids-subject", default="01", metavar="LABEL", help="BIDS subject label (default: 01)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    p.add_argument("--loop", action="store_true", help="with --replay: start over at the end of the file")
    p.add_argument("--speed", type=float, default=1.0, metavar="X", help="with --replay: playback speed (default: 1)")
    p.add_argument("--montage", "--montage-file", type=Path, metavar="FILE", help="electrode positions file for the cap")
    p.add_argument("--device", metavar="NAME", help="device profile for channel names/positions")
    p.add_argument("--allow-drop", "--allow-drop-channels", action="store_true",
                   help="mask EEG channels that cannot be placed instead of failing")
    p.add_argument("--mains", type=float, metavar="HZ",
                   help="local mains frequency for the notch filter (50 or 60; 0 disables it); default: the checkpoint's")
    p.add_argument("--outlet-prefix", default="samba", metavar="PREFIX", help="prefix of the output stream names")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds to wait for the stream (default: 10)")
    p.add_argument("--stats-every", type=float, default=5.0, metavar="S", help="seconds between status lines (default: 5)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="debug logging, liblsl's INFO lines and the montage table at every start")
    # Cued runs headless (app.paradigm): --paradigm, --runs, --data-dir.
    p.add_argument("--paradigm", metavar="PROTOCOL",
                   help="with --headless: run a cued protocol (a .json file or a shipped one: graz_mi, "
                        "graz_mi_feedback, distraction); feedback protocols print each run's online accuracy")
    p.add_argument("--runs", type=int, default=1, metavar="N", help="with --paradigm: runs in a row (default: 1)")
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help="with --paradigm: where runs are saved (default: $SAMBA_LIVE_HOME or ~/samba-live)")
    return p


def run_gui(args: argparse.Namespace) -> int:
    """Start the graphical interface (``app.gui.run(args) -> int``), imported only when asked for.

    ``args`` are the parsed ``samba-live`` arguments (stream, checkpoint, record...), so
    the GUI can start pre-filled from the command line.

    Raises
    ------
    GuiUnavailable
        This build has no ``app.gui``.
    """
    try:
        gui = importlib.import_module(f"{__package__}.gui")  # Qt is heavy: import it only when asked for
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.gui":
            raise
        raise GuiUnavailable("the graphical interface is not available in this build") from exc
    run = getattr(gui, "run", None)
    if run is None:  # e.g. a half-installed app/gui folder without its entry point
        raise GuiUnavailable("the graphical interface is not available in this build (app.gui has no run())")
    return int(run(args) or 0)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("mne_lsl", "numba"):  # -v is about this program; numba's compiler dumps bytecode at DEBUG
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not args.verbose:
        quiet_liblsl()
    try:
        if args.recover:
            return _recover(args)
        if args.list_streams:
            return _list()
        if args.paradigm is not None and not args.headless:
            raise PipelineError("--paradigm runs headless (add --headless); in the window, use the Calibration tab")
        if not args.headless:
            try:
                return run_gui(args)
            except GuiUnavailable as exc:
                detail = f" ({exc.__cause__})" if exc.__cause__ is not None else ""
                print(f"samba-live: {exc}{detail}; run with --headless (e.g. `samba-live --headless --replay` for the "
                      "demo, or `samba-live --headless --stream NAME`)", file=sys.stderr)
                return EXIT_USAGE
        return run_headless(args)
    except (PipelineError, MontageError, CheckpointError, ValueError) as exc:
        print(f"samba-live: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _recover(args: argparse.Namespace) -> int:
    summary = recover_recording(args.recover, args.out)
    print(f"recovered {summary.n_samples} samples, {summary.n_markers} markers and {summary.n_decisions} decisions "
          f"into {summary.path} (decisions table: {summary.decisions_path})")
    return EXIT_OK


def _list() -> int:
    streams = list_streams(timeout=1.0)
    if not streams:
        print("no LSL stream visible")
    for s in streams:
        print(f"{s.name!r:32} type={s.stype:<12} {s.n_channels:4d} ch {s.rate:8g} Hz  host={s.host}  source_id={s.source_id}")
    return EXIT_OK


def run_headless(args: argparse.Namespace) -> int:
    """Decode until --duration, the end of a replay, Ctrl-C or SIGTERM; log decisions and latency."""
    if args.replay is None and (args.loop or args.speed != 1.0):
        raise PipelineError("--loop and --speed apply to --replay only")
    if args.record_bids is not None and args.record is None:
        args.record = args.record_bids / "sourcedata" / time.strftime("samba-live-%Y%m%dT%H%M%S_raw.fif")
        args.record.parent.mkdir(parents=True, exist_ok=True)
    if args.replay is None:
        player, config = None, PipelineConfig.from_args(args)
    else:
        # Held until the decoder is attached: no opening second of the file is skipped.
        player = ReplayPlayer(args.replay or demo_recording(), speed=args.speed, loop=args.loop, hold=True)
        markers = StreamSelector(name=player.marker_stream) if player.marker_stream else None
        config = PipelineConfig.from_args(
            args, stream=StreamSelector.of_replay(player.name, player.source), markers=markers,
            mains_hz=args.mains if args.mains is not None else player.line_freq)
        log.info("replaying %s at %gx as LSL stream %r", player.source, args.speed, player.name)
    if args.paradigm is not None:
        return _run_paradigm(args, config, player)
    pipeline = LivePipeline(config, on_decision=_log_decision,
                            source_end=(lambda: player.samples_sent) if player is not None and not args.loop else None)
    stop_requested: list[int] = []  # the signals that asked for the clean stop, polled by _supervise
    with contextlib.ExitStack() as handlers:  # the handlers below are given back after the clean stop
        handlers.enter_context(_stop_on(signal.SIGTERM, stop_requested))
        try:
            _start(pipeline, player, args)
            # From here Ctrl-C only asks for the clean stop: a KeyboardInterrupt raised wherever the main thread is
            # (e.g. inside a lock) could hang the stop. _finishing takes SIGINT over from this handler, no gap.
            handlers.enter_context(_stop_on(signal.SIGINT, stop_requested))
            _supervise(pipeline, args, stop_requested)
        except KeyboardInterrupt:  # during the start-up, where Ctrl-C still interrupts at once
            log.info("interrupted (Ctrl-C) during the start-up; stopping")  # the stop says what was recorded, if anything
        finally:
            with _finishing(args.record):  # the BIDS export too: an interrupted one would leave half a run
                pipeline.stop()
                if player is not None:
                    player.stop()
                exported = args.record_bids is None or pipeline.recording is None or _export_bids(
                    pipeline.recording.path, args, config.mains_hz)
    _final_summary(pipeline, player)
    if pipeline.error is not None:
        print(f"samba-live: error: {pipeline.error}", file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_OK if exported else EXIT_RUNTIME


def _export_bids(recording: Path, args: argparse.Namespace, mains_hz: float | None) -> bool:
    """--record-bids: the finished recording into the BIDS dataset. A failure is logged as an error
    naming the recording, which stays where it is; returns whether the export succeeded."""
    try:
        path = write_session_bids(recording, args.record_bids, args.bids_subject, line_freq=mains_hz or None)
    except Exception as exc:  # noqa: BLE001 - mne-bids raises many kinds; the recording itself is safe either way
        log.error("could not write the session into the BIDS dataset %s (%s: %s); the recording is kept in %s",
                  args.record_bids, type(exc).__name__, exc, recording)
        return False
    log.info("session written as BIDS: %s", path.fpath)
    return True


@contextlib.contextmanager
def _finishing(record: Path | None):
    """Further Ctrl-C (or SIGINT to the process group) cannot interrupt the clean stop.

    The stop finishes the recording; interrupting it would leave only the partial files.
    """
    if record is not None:
        message = ("already stopping: finishing the recording first, please wait; if it cannot finish, the data "
                   f"stay in {record}.partial: samba-live --recover {record}.partial")
    else:
        message = "already stopping: closing the stream and the outlets, please wait"

    def _refuse(*_):
        log.warning(message)

    with _handling(signal.SIGINT, _refuse):
        yield


def _final_summary(pipeline: LivePipeline, player: ReplayPlayer | None) -> None:
    """The last line: the accuracy against the input's cues (if any); the counts and latency are in the
    pipeline's own "stopped" notice, logged just before."""
    if pipeline.ground_truth is not None:
        source = "the replay's annotations" if player is not None else "the marker stream"
        log.info("accuracy against %s: %s", source, pipeline.ground_truth.summary())


def _run_paradigm(args: argparse.Namespace, config: PipelineConfig, player: ReplayPlayer | None) -> int:
    """``--paradigm``: record ``--runs`` runs of a protocol; print each feedback run's accuracy, then all runs'."""
    from .paradigm import ParadigmError, combined_score, default_data_dir, resolve_protocol, run_protocol_runs

    if args.record is not None:
        raise PipelineError("--record does not apply to --paradigm: each run is recorded in its own folder "
                            "under --data-dir")
    protocol = resolve_protocol(args.paradigm)
    stop_requested: list[int] = []

    def sleep(seconds: float) -> None:
        """The runner's waits are its safe points: a stop asked for by Ctrl-C or SIGTERM happens there."""
        if stop_requested:
            raise KeyboardInterrupt
        time.sleep(seconds)

    # Signals only ask for the stop (no KeyboardInterrupt inside a lock), and cannot interrupt the abort itself.
    with _stop_on(signal.SIGINT, stop_requested), _stop_on(signal.SIGTERM, stop_requested):
        try:
            if player is not None:
                player.start()
                player.release()
            outcomes = run_protocol_runs(protocol, config, args.data_dir or default_data_dir(), runs=args.runs,
                                         sleep=sleep)
        except ParadigmError as exc:
            print(f"samba-live: error: {exc}", file=sys.stderr)
            return EXIT_RUNTIME
        except KeyboardInterrupt:
            reason = _signal_name(stop_requested[0] if stop_requested else signal.SIGINT)
            log.info("interrupted (%s); the runs so far are kept in %s", reason, args.data_dir or default_data_dir())
            return EXIT_RUNTIME
        finally:
            if player is not None:
                player.stop()
    for k, outcome in enumerate(outcomes, 1):
        where = outcome.result.run_dir
        print(f"run {k}: {outcome.score.summary()} [{where}]" if outcome.score else f"run {k}: session {where}")
    scores = [o.score for o in outcomes if o.score is not None]
    if len(scores) > 1:
        print(f"all {len(scores)} runs: {combined_score(scores).summary()}")
    if not protocol.has_feedback:
        print(f"{protocol.name} records without feedback; for feedback runs use a feedback protocol "
              "(e.g. --paradigm graz_mi_feedback)")
    return EXIT_OK


def _start(pipeline: LivePipeline, player: ReplayPlayer | None, args: argparse.Namespace) -> None:
    """Start the replay (held), the pipeline, then let the replay play; log the montage (at INFO with -v)."""
    if player is not None:
        player.start()
    pipeline.start()
    if player is not None:
        player.release()
    log.log(logging.INFO if args.verbose else logging.DEBUG, "%s", pipeline.snapshot().montage_report)


def _supervise(pipeline: LivePipeline, args, stop_requested: list[int]) -> None:
    """Log the counts every --stats-every s until the pipeline stops, --duration passes or a signal number
    lands in ``stop_requested`` (see :func:`_stop_on`; the signal is logged)."""
    started = time.monotonic()
    next_stats = started + args.stats_every
    while pipeline.running and not stop_requested:
        time.sleep(0.1)
        now = time.monotonic()
        if args.duration is not None and now - started >= args.duration:
            log.info("duration of %g s reached", args.duration)
            return
        if now >= next_stats:
            next_stats = now + args.stats_every
            log.info("%s", pipeline.counts_line(with_truth=True))
    if stop_requested:
        _log_stop(stop_requested[0], args.record)


def _log_stop(signum: int, record: Path | None) -> None:
    """Say which signal stops the run; with a recording, that finishing it takes a moment."""
    reason = "interrupted (Ctrl-C)" if signum == signal.SIGINT else _signal_name(signum)
    wait = " (the recording is being finished: wait for it)" if record is not None else ""
    log.info("%s; stopping cleanly%s", reason, wait)


def _signal_name(signum: int) -> str:
    """"Ctrl-C" for SIGINT, else the signal's name (e.g. "SIGTERM")."""
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


def _log_decision(d: Decision) -> None:
    for marker in d.markers:
        p = float(max(d.smoothed[marker.split(":", 1)[0]]))
        log.info("decision %-24s p=%.2f  latency %.1f ms", marker, p, d.latency_s * 1e3)


def _stop_on(signum: int, flag: list[int]) -> contextlib.AbstractContextManager:
    """While inside, ``signum`` (SIGINT, SIGTERM) only appends its number to ``flag``, which the caller
    polls at safe points (:func:`_supervise`, the paradigm runner's waits): the run stops cleanly and
    the recording is finished, nothing is lost."""
    return _handling(signum, lambda number, _frame: flag.append(number))


@contextlib.contextmanager
def _handling(signum: int, handler):
    """While inside, ``handler(signum, frame)`` handles ``signum``; the previous handler is given back after.

    Outside the main thread, where Python cannot set handlers, the current one stays.
    """
    try:
        previous = signal.signal(signum, handler)
    except ValueError:  # not the main thread
        previous = None
    try:
        yield
    finally:
        if previous is not None:  # None: set outside Python, cannot be given back
            signal.signal(signum, previous)


if __name__ == "__main__":
    sys.exit(main())
