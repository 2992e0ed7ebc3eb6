"""A replay from its first sample to its last: nothing skipped, the end reported as the end,
decisions scored against the file's cues, and a second Ctrl-C never loses the recording."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import mne
import numpy as np
import pytest

import app.cli as cli
from helpers.lsl import SyntheticEEGSource, unique_name, wait_until

REPO = Path(__file__).resolve().parents[2]
CHANNELS = ["Fz", "C3", "Cz", "C4", "Pz", "O1", "O2", "Fp1"]


def short_recording(path: Path, seconds: float, rate: float = 160.0, cues=("T1", "T2", "T1")) -> mne.io.RawArray:
    """A generated recording with EEGMMIDB-like cues: T0 rests, then T1/T2 trials of 4 s every 5 s."""
    rng = np.random.default_rng(1)
    n = int(seconds * rate) + 7  # not a round number of chunks
    raw = mne.io.RawArray(rng.normal(0, 10e-6, (len(CHANNELS), n)), mne.create_info(CHANNELS, rate, "eeg"),
                          verbose="error")
    onsets, labels = [], []
    for i, cue in enumerate(cues):
        onsets += [5.0 * i, 5.0 * i + 0.5]
        labels += ["T0", cue]
    raw.set_annotations(mne.Annotations(onsets, [0.5 if d == "T0" else 4.0 for d in labels], labels))
    raw.save(path, overwrite=True, verbose="error")
    return raw


@pytest.mark.parametrize("speed", [4.0, 1.5])
def test_a_recorded_replay_holds_every_sample_and_ends_with_the_trial_accuracy(tmp_path, checkpoint_path, caplog,
                                                                               speed):
    source = short_recording(tmp_path / "short_raw.fif", 15.0)
    out = tmp_path / "rec.fif"
    caplog.set_level(logging.INFO)
    code = cli.main(["--headless", "--replay", str(tmp_path / "short_raw.fif"), "--speed", str(speed),
                     "--record", str(out), "--checkpoint", str(checkpoint_path),
                     "--outlet-prefix", unique_name("out"), "--duration", "60"])
    assert code == cli.EXIT_OK
    raw = mne.io.read_raw_fif(out, preload=True, verbose="error")
    assert raw.n_times == source.n_times  # the whole file: no opening second skipped, no last chunk dropped
    np.testing.assert_allclose(raw.get_data(), source.get_data(), rtol=1e-6, atol=1e-12)
    cues = [d for d in raw.annotations.description if d in ("T0", "T1", "T2")]
    assert cues == ["T0", "T1", "T0", "T2", "T0", "T1"]
    # The recording keeps the scored trials beside the cues and the decisions.
    trials_kept = [d.split("/")[2] for d in raw.annotations.description if d.startswith("trial/mi/")]
    assert trials_kept == ["left", "right", "left"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("end of the replay" in m and f"{source.n_times} of its {source.n_times} samples" in m for m in messages)
    assert not any("lost;" in m or "never arrived" in m or "duration of" in m for m in messages)
    # The log ends with the accuracy against the file's annotations: 3 trials, 2 left and 1 right.
    assert "accuracy against the replay's annotations: mi: trial accuracy" in messages[-1]
    assert "/3)" in messages[-1] and "left " in messages[-1] and "/2" in messages[-1]
    trials = [m for m in messages if m.startswith("trial T")]
    assert len(trials) == 3


@contextlib.contextmanager
def headless_child(log_path: Path, *args: str):
    """``samba-live --headless ARGS`` in its own process group, its stdout and stderr going to ``log_path``
    (a file, not a pipe: nobody needs to drain it, and it can be read while the child runs); killed on
    leaving if it still runs."""
    with open(log_path, "wb") as log_file:  # the child keeps its own descriptor
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "--headless", *args], cwd=REPO, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def finish_child(proc: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> str:
    """Wait up to ``timeout`` s for ``proc`` to exit and return its output; a hang fails the test with the
    output so far (:func:`headless_child` then kills it)."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"samba-live did not exit within {timeout:g} s; its output:\n{log_path.read_text()}")
    return log_path.read_text()


def test_a_second_ctrl_c_during_the_clean_stop_keeps_the_recording(tmp_path, checkpoint_path):
    eeg = SyntheticEEGSource(unique_name("eeg"), rate=256.0)
    out = tmp_path / "interrupted.fif"
    partial = Path(str(out) + ".partial")
    log_path = tmp_path / "samba-live.log"
    try:
        with headless_child(log_path, "--stream", eeg.name, "--checkpoint", str(checkpoint_path), "--record", str(out),
                            "--outlet-prefix", unique_name("out")) as proc:
            recording = wait_until(lambda: partial.exists() and partial.stat().st_size > 100_000, 60.0)
            assert recording, f"the recording did not grow; samba-live's output:\n{log_path.read_text()}"
            for _ in range(6):  # Ctrl-C, then impatient Ctrl-Cs to the whole group (as `timeout -s INT` sends)
                os.killpg(proc.pid, signal.SIGINT)
                if proc.poll() is not None:
                    break
                wait_until(lambda: proc.poll() is not None, 0.05)
            output = finish_child(proc, log_path)
    finally:
        eeg.stop()
    assert proc.returncode == cli.EXIT_OK, output
    assert "interrupted (Ctrl-C); stopping cleanly (the recording is being finished: wait for it)" in output, output
    raw = mne.io.read_raw_fif(out, preload=True, verbose="error")
    assert raw.n_times > 256
    assert not partial.exists(), output
    assert "Traceback" not in output, output


def test_one_ctrl_c_without_a_recording_stops_cleanly_and_speaks_of_no_recording(tmp_path, checkpoint_path):
    eeg = SyntheticEEGSource(unique_name("eeg"), rate=256.0)
    log_path = tmp_path / "samba-live.log"
    try:
        with headless_child(log_path, "--stream", eeg.name, "--checkpoint", str(checkpoint_path),
                            "--outlet-prefix", unique_name("out"), "--stats-every", "0.2") as proc:
            # A counts line comes from the supervising loop: the Ctrl-C handler is in place.
            supervising = wait_until(lambda: " decisions, latency p50 " in log_path.read_text(), 60.0)
            assert supervising, f"no counts line; samba-live's output:\n{log_path.read_text()}"
            os.killpg(proc.pid, signal.SIGINT)
            output = finish_child(proc, log_path)
    finally:
        eeg.stop()
    assert proc.returncode == cli.EXIT_OK, output
    assert "interrupted (Ctrl-C); stopping cleanly" in output, output
    assert "recording" not in output.lower() and "already stopping" not in output, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output


def test_a_session_recorded_as_bids_reads_back_with_its_events(tmp_path, checkpoint_path):
    from mne_bids import BIDSPath, read_raw_bids

    source = short_recording(tmp_path / "short_raw.fif", 8.0, cues=("T2", "T1"))
    root = tmp_path / "bids"
    for _ in range(2):  # a second session becomes run 2, nothing is overwritten
        assert cli.main(["--headless", "--replay", str(tmp_path / "short_raw.fif"), "--speed", "4",
                         "--record-bids", str(root), "--bids-subject", "P07", "--checkpoint", str(checkpoint_path),
                         "--outlet-prefix", unique_name("out"), "--mains", "60"]) == cli.EXIT_OK
    raw = read_raw_bids(BIDSPath(subject="P07", task="samba", run=2, datatype="eeg", root=root), verbose="error")
    # EDF stores whole 1 s records: the last one is padded.
    assert source.n_times <= raw.n_times < source.n_times + 160 and raw.info["line_freq"] == 60
    descriptions = list(raw.annotations.description)
    assert [d for d in descriptions if d in ("T0", "T1", "T2")] == ["T0", "T2", "T0", "T1"]
    assert any(d.startswith("mi:") for d in descriptions)  # the decisions are kept beside the cues
    assert (root / "sub-P07" / "eeg" / "sub-P07_task-samba_run-1_events.tsv").is_file()
    assert len(list((root / "sourcedata").glob("*_raw.fif"))) >= 1


def test_decisions_are_scored_against_a_live_marker_stream(checkpoint_path, caplog):
    import threading

    import pylsl

    eeg = SyntheticEEGSource(unique_name("eeg"), rate=256.0)
    name = unique_name("cues")
    info = pylsl.StreamInfo(name, "Markers", 1, 0, "string", name)
    outlet = pylsl.StreamOutlet(info)
    stop = threading.Event()

    def cue_loop():  # a paradigm: cue/left, cue/right... every 2 s once someone listens
        outlet.wait_for_consumers(30)
        for i in range(100):
            if stop.wait(2.0):
                return
            outlet.push_sample(["cue/left" if i % 2 == 0 else "cue/right"])

    thread = threading.Thread(target=cue_loop, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO)
    try:
        code = cli.main(["--headless", "--stream", eeg.name, "--markers", name, "--checkpoint", str(checkpoint_path),
                         "--outlet-prefix", unique_name("out"), "--duration", "9", "--stats-every", "3"])
    finally:
        stop.set()
        eeg.stop()
    assert code == cli.EXIT_OK
    last = caplog.records[-1].getMessage()
    assert last.startswith("accuracy against the marker stream: mi: trial accuracy")
    n_trials = int(last.split("/")[1].split(")")[0])
    assert n_trials >= 2 and "left " in last and "right " in last
