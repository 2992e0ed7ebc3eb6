"""The samba-live command line: headless replay, clear errors, the GUI hook."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import pytest

import app.cli as cli
import checkpoints
from helpers.lsl import unique_name


def test_without_headless_and_without_a_gui_it_says_to_use_headless(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "app.gui", None)  # a build without the GUI package
    assert cli.main([]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "not available in this build" in err and "--headless" in err


def test_headless_replay_of_the_demo_logs_decisions_and_latency(checkpoint_path, caplog):
    caplog.set_level(logging.INFO)
    code = cli.main(["--headless", "--replay", "--checkpoint", str(checkpoint_path), "--speed", "8",
                     "--duration", "2", "--stats-every", "1", "--outlet-prefix", unique_name("out")])
    assert code == cli.EXIT_OK
    text = caplog.text
    assert "eegmmidb_S001R04" in text and "decision mi:" in text
    assert "latency p50" in text and "p99" in text and "0 lost" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--headless", "--replay", "--checkpoint", "/nonexistent/model.samba"], "does not exist"),
        (["--headless", "--checkpoint", "x.samba"], "--stream NAME"),
        (["--headless", "--stream", "x", "--speed", "2", "--checkpoint", "x.samba"], "--replay only"),
    ],
)
def test_usage_errors_are_explained(args, message, capsys):
    assert cli.main(args) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_a_corrupt_replay_file_is_a_clear_error(tmp_path, checkpoint_path, capsys):
    bad = tmp_path / "broken.edf"
    bad.write_bytes(b"0       " + b"\xff" * 4000)
    assert cli.main(["--headless", "--replay", str(bad), "--checkpoint", str(checkpoint_path)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "broken.edf" in err and "not a readable EDF" in err


def test_without_a_checkpoint_it_says_where_the_shipped_one_should_be(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(checkpoints, "SHIPPED_CHECKPOINT", tmp_path / "samba-base.samba")
    assert cli.main(["--headless", "--replay"]) == cli.EXIT_USAGE
    assert "pass --checkpoint PATH" in capsys.readouterr().err


def test_without_headless_the_gui_entry_point_gets_the_arguments(monkeypatch):
    import types

    seen = []
    gui = types.ModuleType("app.gui")
    gui.run = lambda args: seen.append(args.stream) or 0
    monkeypatch.setitem(sys.modules, "app.gui", gui)
    assert cli.main(["--stream", "MyAmp"]) == cli.EXIT_OK
    assert seen == ["MyAmp"]


@pytest.mark.parametrize("record", [None, Path("session.fif")])
def test_second_ctrl_c_during_the_stop_says_what_it_waits_for(record, caplog):
    """A second Ctrl-C while stopping is refused with a message about what is being finished: the
    recording (and how to recover it) only when there is one."""
    before = signal.getsignal(signal.SIGINT)
    with caplog.at_level(logging.WARNING, logger="samba-live"), cli._finishing(record):
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
    text = caplog.text
    assert "already stopping" in text
    assert ("recording" in text and "--recover session.fif.partial" in text) == (record is not None)
    assert ("outlets" in text) == (record is None)
    assert signal.getsignal(signal.SIGINT) is before  # the handler is given back


class _Running:
    """The one part of a LivePipeline that _supervise reads before a stop is asked for."""

    running = True


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("record", [None, Path("session.fif")])
def test_while_supervising_a_signal_only_asks_for_the_clean_stop(signum, record, caplog):
    """Ctrl-C (and SIGTERM) while the pipeline runs set the stop flag instead of raising KeyboardInterrupt
    wherever the main thread is; the loop then says which signal stops it, and speaks of the recording
    only when there is one. The previous handler is given back."""
    before = signal.getsignal(signum)
    stop_requested: list[int] = []
    args = cli.build_parser().parse_args(["--headless"] + ([] if record is None else ["--record", str(record)]))
    with caplog.at_level(logging.INFO, logger="samba-live"), cli._stop_on(signum, stop_requested):
        signal.getsignal(signum)(signum, None)  # what Python runs when the signal arrives: no exception
        assert stop_requested == [signum]
        cli._supervise(_Running(), args, stop_requested)  # returns at once: the flag is set
    reason = "interrupted (Ctrl-C)" if signum == signal.SIGINT else "SIGTERM"
    assert f"{reason}; stopping cleanly" in caplog.text
    assert ("the recording is being finished" in caplog.text) == (record is not None)
    assert signal.getsignal(signum) is before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_paradigm_runs_stops_them_at_the_runners_next_wait(signum, monkeypatch, caplog, tmp_path):
    """--paradigm: Ctrl-C or SIGTERM only asks for the stop; the runner's next wait raises KeyboardInterrupt
    there (a safe point, where the run is aborted and kept); the handlers are given back after."""
    import app.paradigm

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    waits: list[float] = []

    def runs(protocol, config, data_dir, *, runs, sleep):
        sleep(0.0)  # no stop asked: an ordinary wait
        waits.append(0.0)
        signal.getsignal(signum)(signum, None)  # the signal arrives: nothing raised here ...
        waits.append(1.0)
        sleep(0.0)  # ... but at the next wait
        waits.append(2.0)

    monkeypatch.setattr(app.paradigm, "run_protocol_runs", runs)
    args = cli.build_parser().parse_args(["--headless", "--paradigm", "graz_mi", "--data-dir", str(tmp_path)])
    with caplog.at_level(logging.INFO, logger="samba-live"):
        assert cli._run_paradigm(args, config=None, player=None) == cli.EXIT_RUNTIME
    assert waits == [0.0, 1.0]
    name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    assert f"interrupted ({name}); the runs so far are kept in {tmp_path}" in caplog.text
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_failed_bids_export_is_an_error_that_names_the_kept_recording(tmp_path, caplog):
    """--record-bids: when the export fails, the user reads why and where the recording is; no traceback."""
    recording = tmp_path / "session_raw.fif"
    recording.write_bytes(b"not a FIF file")
    args = cli.build_parser().parse_args(["--headless", "--record-bids", str(tmp_path / "bids")])
    with caplog.at_level(logging.ERROR, logger="samba-live"):
        assert cli._export_bids(recording, args, 50.0) is False
    assert "could not write the session into the BIDS dataset" in caplog.text
    assert f"the recording is kept in {recording}" in caplog.text and "RecordingError" in caplog.text


@pytest.mark.parametrize("p50, expected", [(float("nan"), "0 decisions, no latency measured yet"),
                                           (12.34, "0 decisions, latency p50 12.3 ms p99 20.0 ms")])
def test_the_counts_line_gives_no_latency_figure_before_the_first_decision(p50, expected):
    from types import SimpleNamespace

    from app.pipeline.snapshot import counts_line

    latency = SimpleNamespace(summary=lambda: {"p50_ms": p50, "p99_ms": 20.0 if p50 == p50 else float("nan")})
    pipeline = SimpleNamespace(latency=latency, samples_unrecorded=0, samples_received=0, samples_lost=0, resets=0,
                               n_decisions=0, ground_truth=None)
    line = counts_line(pipeline)
    assert line.endswith(expected) and "nan" not in line
