"""Recording: a clean stop keeps everything; a kill -9 loses at most a second, and is recoverable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mne
import numpy as np
import pytest

from app.cli import main
from app.pipeline import (
    DEMO_RECORDING, LivePipeline, PipelineConfig, RecordingError, ReplayPlayer, StreamSelector, load_recording,
    recover_recording,
)
from app.pipeline.partial_format import sample_dtype
from app.pipeline.recording import RecordingWriter
from helpers.lsl import SyntheticEEGSource, eeg_samples, unique_name, wait_until

REPO = Path(__file__).resolve().parents[2]


def test_a_clean_stop_keeps_every_sample_marker_and_decision(tmp_path, checkpoint, checkpoint_path):
    player = ReplayPlayer(DEMO_RECORDING, speed=8.0).start()
    out = tmp_path / "session.fif"
    cfg = PipelineConfig(StreamSelector(name=player.name), checkpoint_path, outlet_prefix=unique_name("out"),
                         markers=StreamSelector(name=player.marker_stream), record=out)
    decisions: list = []
    pipeline = LivePipeline(cfg, checkpoint=checkpoint, on_decision=decisions.append)
    try:
        pipeline.start()
        assert wait_until(lambda: pipeline.samples_received >= 3000 and pipeline.markers_received >= 2, 30.0)
    finally:
        summary = pipeline.stop()
        player.stop()
    assert pipeline.error is None
    raw = mne.io.read_raw_fif(out, preload=True, verbose="error")
    assert raw.n_times == summary.n_samples == pipeline.samples_received
    assert raw.info["sfreq"] == 160.0  # the physical rate, not the replay's compressed one
    descriptions = list(raw.annotations.description)
    assert sum(d in ("T0", "T1", "T2") for d in descriptions) == pipeline.markers_received == summary.n_markers
    emitted = [m for d in decisions for m in d.markers]
    assert sorted(d for d in descriptions if ":" in d) == sorted(emitted)
    table = np.genfromtxt(summary.decisions_path, delimiter="\t", names=True, dtype=None, encoding="utf-8")
    assert len(table) == len(decisions) == pipeline.n_decisions
    np.testing.assert_allclose(table["mileft"], [d.probs["mi"][0] for d in decisions], atol=1e-6)
    # The recorded EEG is the source recording, sample for sample, from where decoding started.
    source = load_recording(DEMO_RECORDING).get_data()
    first = int(np.flatnonzero(np.all(np.isclose(source.T, raw.get_data()[:, 0], rtol=1e-6, atol=1e-9), axis=1))[0])
    np.testing.assert_allclose(raw.get_data(), source[:, first : first + raw.n_times], rtol=1e-6, atol=1e-9)
    assert not list(tmp_path.glob("*.partial*"))


def test_kill_9_while_recording_loses_at_most_a_second(tmp_path, checkpoint_path):
    source = SyntheticEEGSource(unique_name("eeg"), rate=256.0)
    out = tmp_path / "crash.fif"
    partial = Path(str(out) + ".partial")
    row = sample_dtype(len(source.labels)).itemsize
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--headless", "--stream", source.name, "--checkpoint",
         str(checkpoint_path), "--record", str(out), "--outlet-prefix", unique_name("out")],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: partial.exists() and partial.stat().st_size >= 3 * 256 * row, 60.0)
        time.sleep(1.0)
        produced = source.next_index  # every sample up to here was pushed before the kill
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        source.stop()
    assert main(["--recover", str(partial)]) == 0
    raw = mne.io.read_raw_fif(out, preload=True, verbose="error")
    data_uv = raw.get_data() * 1e6
    first = int(round(np.argmin(np.abs(eeg_samples(0, produced, 8, 256.0)[:, 0] - data_uv[0, 0]))))
    expected = eeg_samples(first, raw.n_times, 8, 256.0).T
    np.testing.assert_allclose(data_uv, expected, atol=1e-3)  # contiguous and intact
    last_recorded = first + raw.n_times - 1
    assert last_recorded >= produced - 1 - 256  # at most one second lost
    assert not partial.exists()


def test_an_interrupted_recording_must_be_recovered_first(tmp_path):
    out = tmp_path / "rec.fif"
    header = {"channels": [{"label": "Cz", "type": "EEG", "unit": "microvolts"}], "rate": 100.0}
    writer = RecordingWriter(out, header)
    writer.add_samples(np.arange(300, dtype=np.float32)[None], 10.0 + np.arange(300) / 100.0)
    writer.add_event({"kind": "marker", "t": 11.0, "text": "cue"})
    writer.close(finalize=False)
    with pytest.raises(RecordingError, match="--recover"):
        RecordingWriter(out, header)
    with open(writer.paths.samples, "ab") as f:  # a crash in the middle of a row and of a line
        f.write(b"\x00" * 5)
    with open(writer.paths.events, "a") as f:
        f.write('{"kind": "mar')
    summary = recover_recording(writer.paths.samples)
    raw = mne.io.read_raw_fif(out, preload=True, verbose="error")
    assert summary.n_samples == raw.n_times == 300 and summary.n_markers == 1
    np.testing.assert_allclose(raw.get_data()[0] * 1e6, np.arange(300), atol=1e-4)
    np.testing.assert_array_equal(np.load(summary.lsl_times_path), 10.0 + np.arange(300) / 100.0)  # every LSL time
    assert list(raw.annotations.description) == ["cue"]
    assert raw.annotations.onset[0] == pytest.approx(1.0)


def test_recover_names_what_is_missing(tmp_path):
    with pytest.raises(RecordingError, match="must end in .partial"):
        recover_recording(tmp_path / "x.fif")
    with pytest.raises(RecordingError, match="missing"):
        recover_recording(tmp_path / "x.fif.partial")


def test_a_stop_before_the_first_sample_leaves_no_files_and_says_nothing_was_recorded(tmp_path):
    """No sample, nothing to keep: no FIF, no .partial files, and no recovery advice that would then fail;
    one sample is enough for a real recording."""
    from app.pipeline.notices import NoticeBoard
    from app.pipeline.session_recording import SessionRecording

    header = {"channels": [{"label": "Cz", "type": "EEG", "unit": "microvolts"}], "rate": 100.0}
    notices = NoticeBoard()
    empty = SessionRecording(tmp_path / "empty.fif", header, 0.1)
    assert empty.finish_or_keep(notices) == (None, None)
    assert list(tmp_path.iterdir()) == []
    (notice,) = notices.drain()
    assert notice.level == "warning" and "nothing was recorded" in notice.message and "--recover" not in notice.message

    one = SessionRecording(tmp_path / "one.fif", header, 0.1)
    one.samples(np.zeros((1, 1), np.float32), np.array([5.0]))
    summary, error = one.finish_or_keep(notices)
    assert error is None and summary.n_samples == 1 and (tmp_path / "one.fif").is_file()
