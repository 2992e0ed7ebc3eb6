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
import importlib
import logging
import signal
import sys
import time
from pathlib import Path

from montages import MontageError
from samba_core import CheckpointError

from .pipeline import (
    AcquisitionConfig, DecodingConfig, LivePipeline, MontageOptions, PipelineConfig, PipelineError, ReplayPlayer, StreamSelector,
    demo_recording, list_streams, recover_recording,
)
from .pipeline.decoding import Decision

log = logging.getLogger("samba-live")

#: The checkpoint shipped with the package, used when --checkpoint is not given.
SHIPPED_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "samba-base.samba"

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
    p.add_argument("--stream-type", metavar="TYPE", help="LSL stream type to require (e.g. EEG); alone: the first such stream")
    p.add_argument("--source-id", metavar="ID", help="LSL source id to require (identifies a device across restarts)")
    p.add_argument("--markers", metavar="NAME", help="name of an event-marker stream to record alongside")
    p.add_argument("--checkpoint", type=Path, metavar="PATH",
                   help=f"model checkpoint (default: the shipped {SHIPPED_CHECKPOINT.parent.name}/{SHIPPED_CHECKPOINT.name})")
    p.add_argument("--backend", choices=("onnx", "torch"), default="onnx", help="inference backend (default: onnx)")
    p.add_argument("--smoothing", type=float, default=0.0, metavar="S",
                   help="time constant (s) of exponential smoothing of the probabilities (default: 0, off)")
    p.add_argument("--threshold", type=float, metavar="P",
                   help="emit a decision when a class probability rises to P (default: on every argmax change)")
    p.add_argument("--record", type=Path, metavar="OUT.fif", help="record raw EEG, markers and decisions to FIF")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    p.add_argument("--loop", action="store_true", help="with --replay: start over at the end of the file")
    p.add_argument("--speed", type=float, default=1.0, metavar="X", help="with --replay: playback speed (default: 1)")
    p.add_argument("--montage", type=Path, metavar="FILE", help="electrode positions file for the cap")
    p.add_argument("--device", metavar="NAME", help="device profile for channel names/positions")
    p.add_argument("--allow-drop", action="store_true", help="mask EEG channels that cannot be placed instead of failing")
    p.add_argument("--mains", type=float, metavar="HZ",
                   help="local mains frequency for the notch filter (50 or 60; 0 disables it); default: the checkpoint's")
    p.add_argument("--outlet-prefix", default="samba", metavar="PREFIX", help="prefix of the output stream names")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds to wait for the stream (default: 10)")
    p.add_argument("--stats-every", type=float, default=5.0, metavar="S", help="seconds between status lines (default: 5)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
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
    logging.getLogger("mne_lsl").setLevel(logging.WARNING)
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
    summary = recover_recording(args.recover)
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


def _checkpoint(args: argparse.Namespace) -> Path:
    if args.checkpoint is not None:
        return args.checkpoint
    if SHIPPED_CHECKPOINT.is_file():
        return SHIPPED_CHECKPOINT
    raise PipelineError(
        f"no --checkpoint given and the shipped checkpoint {SHIPPED_CHECKPOINT} is not installed; "
        "pass --checkpoint PATH (a .samba file from samba-pretrain or samba-calibrate)"
    )


def run_headless(args: argparse.Namespace) -> int:
    """Decode until --duration, the end of a replay, Ctrl-C or SIGTERM; log decisions and latency."""
    if args.stream is None and args.replay is None and not (args.stream_type or args.source_id):
        raise PipelineError(
            "say what to decode: --stream NAME (and/or --stream-type TYPE, --source-id ID) for a live LSL stream, "
            "or --replay [FILE]"
        )
    if args.replay is None and (args.loop or args.speed != 1.0):
        raise PipelineError("--loop and --speed apply to --replay only")
    checkpoint = _checkpoint(args)
    player = None
    if args.replay is not None:
        player = ReplayPlayer(args.replay or demo_recording(), speed=args.speed, loop=args.loop)
        stream, markers = StreamSelector.of_replay(player.name, player.source), (
            StreamSelector(name=player.marker_stream) if player.marker_stream else None)
        log.info("replaying %s at %gx as LSL stream %r", player.source, args.speed, player.name)
    else:
        stream = StreamSelector(name=args.stream, stype=args.stream_type, source_id=args.source_id)
        markers = StreamSelector(name=args.markers) if args.markers else None
    config = PipelineConfig(
        stream=stream, checkpoint=checkpoint, markers=markers, outlet_prefix=args.outlet_prefix, record=args.record,
        mains_hz=args.mains,
        decoding=DecodingConfig(backend=args.backend, smoothing_s=args.smoothing, threshold=args.threshold),
        acquisition=AcquisitionConfig(resolve_timeout_s=args.timeout),
        montage=MontageOptions(montage_file=str(args.montage) if args.montage else None, device=args.device,
                               allow_drop=args.allow_drop),
    )
    if args.paradigm is not None:
        return _run_paradigm(args, config, player)
    pipeline = LivePipeline(config, on_decision=_log_decision)
    stop_requested, previous_handler = _install_sigterm()
    try:
        if player is not None:
            player.start()
        pipeline.start()
        log.info("%s", pipeline.snapshot().montage_report)
        _supervise(pipeline, player, args, stop_requested)
    except KeyboardInterrupt:
        log.info("interrupted; stopping cleanly")
    finally:
        pipeline.stop()
        if player is not None:
            player.stop()
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    if pipeline.error is not None:
        print(f"samba-live: error: {pipeline.error}", file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_OK


def _run_paradigm(args: argparse.Namespace, config: PipelineConfig, player: ReplayPlayer | None) -> int:
    """``--paradigm``: record ``--runs`` runs of a protocol; print each feedback run's accuracy, then all runs'."""
    from .paradigm import ParadigmError, combined_score, default_data_dir, resolve_protocol, run_protocol_runs

    if args.record is not None:
        raise PipelineError("--record does not apply to --paradigm: each run is recorded in its own folder "
                            "under --data-dir")
    protocol = resolve_protocol(args.paradigm)
    try:
        if player is not None:
            player.start()
        outcomes = run_protocol_runs(protocol, config, args.data_dir or default_data_dir(), runs=args.runs)
    except ParadigmError as exc:
        print(f"samba-live: error: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        log.info("interrupted; the runs so far are kept in %s", args.data_dir or default_data_dir())
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


def _supervise(pipeline: LivePipeline, player: ReplayPlayer | None, args, stop_requested: list[bool]) -> None:
    started = time.monotonic()
    next_stats = started + args.stats_every
    while pipeline.running and not stop_requested:
        time.sleep(0.1)
        now = time.monotonic()
        if args.duration is not None and now - started >= args.duration:
            log.info("duration of %g s reached", args.duration)
            return
        if player is not None and player.finished and pipeline.status in ("stream-lost", "stalled"):
            log.info("end of the replay")
            return
        if now >= next_stats:
            next_stats = now + args.stats_every
            log.info("%s", _stats_line(pipeline))


def _stats_line(pipeline: LivePipeline) -> str:
    lat = pipeline.latency.summary()
    return (f"{pipeline.samples_received} samples, {pipeline.samples_lost} lost, {pipeline.resets} reset(s), "
            f"{pipeline.n_decisions} decisions, latency p50 {lat['p50_ms']:.1f} ms p99 {lat['p99_ms']:.1f} ms")


def _log_decision(d: Decision) -> None:
    for marker in d.markers:
        p = float(max(d.smoothed[marker.split(":", 1)[0]]))
        log.info("decision %-24s p=%.2f  latency %.1f ms", marker, p, d.latency_s * 1e3)


def _install_sigterm():
    """SIGTERM stops cleanly like Ctrl-C (the recording is finished, nothing is lost).

    Returns the flag list (non-empty once SIGTERM arrived) and the handler to restore.
    """
    flag: list[bool] = []
    try:
        previous = signal.signal(signal.SIGTERM, lambda *_: flag.append(True))
    except ValueError:  # not in the main thread (e.g. called from a test thread): Ctrl-C only
        previous = None
    return flag, previous


if __name__ == "__main__":
    sys.exit(main())
