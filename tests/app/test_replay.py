"""Replay: recordings played through MNE-LSL's player and decoded like a live stream."""

from __future__ import annotations

import numpy as np
import pylsl
import pytest

from app.pipeline import (
    DEMO_RECORDING, LivePipeline, PipelineConfig, ReplayFileError, ReplayPlayer, StreamSelector, load_recording,
)
from app.pipeline.replay import time_compressed
from helpers.lsl import unique_name, wait_until
from app_xdf_writer import write_xdf


def channel_labels(info: pylsl.StreamInfo) -> list[str]:
    ch = info.desc().child("channels").child("channel")
    labels = []
    while not ch.empty():
        labels.append(ch.child_value("label"))
        ch = ch.next_sibling()
    return labels


def open_inlet(name: str) -> pylsl.StreamInlet:
    found = pylsl.resolve_byprop("name", name, 1, 5.0)
    assert found, f"outlet {name} not visible"
    inlet = pylsl.StreamInlet(found[0])
    inlet.open_stream(5.0)
    return inlet


def test_a_replay_is_decoded_and_any_lsl_client_receives_the_outlets(checkpoint, checkpoint_path):
    player = ReplayPlayer(DEMO_RECORDING, speed=4.0).start()
    prefix = unique_name("out")
    cfg = PipelineConfig(StreamSelector(name=player.name), checkpoint_path, outlet_prefix=prefix,
                         markers=StreamSelector(name=player.marker_stream))
    decisions: list = []
    pipeline = LivePipeline(cfg, checkpoint=checkpoint, on_decision=decisions.append)
    try:
        pipeline.start()
        probs_inlet, marker_inlet = open_inlet(f"{prefix}-mi"), open_inlet(f"{prefix}-decisions")
        info = probs_inlet.info(5.0)
        assert channel_labels(info) == ["left", "right"]
        assert info.type() == "Probabilities" and info.channel_count() == 2
        assert marker_inlet.info(5.0).channel_format() == pylsl.cf_string
        n0 = len(decisions)
        assert wait_until(lambda: len(decisions) >= n0 + 60 and pipeline.markers_received >= 1)
        data, stamps = probs_inlet.pull_chunk(timeout=2.0, max_samples=1000)
        markers, marker_stamps = marker_inlet.pull_chunk(timeout=0.5)
    finally:
        pipeline.stop()
        player.stop()
    assert pipeline.error is None and pipeline.samples_lost == 0
    data = np.asarray(data)
    assert len(data) >= 10
    np.testing.assert_allclose(data.sum(axis=1), 1.0, rtol=1e-5)
    # Outlet timestamps are the LSL times of the newest input samples used by the decisions.
    sent = {round(d.sample_time, 4): d.smoothed["mi"] for d in decisions}
    matched = [k for k in np.round(stamps, 4) if k in sent]
    assert len(matched) >= len(stamps) - 1
    np.testing.assert_allclose(sent[matched[-1]], data[list(np.round(stamps, 4)).index(matched[-1])], rtol=1e-5)
    assert all(m[0].split(":")[0] in ("mi", "distraction") for m in markers)
    snap = pipeline.snapshot()
    assert snap.stream.name == player.name and len(snap.labels) == 64
    assert snap.recent_markers and snap.recent_markers[0].text in ("T0", "T1", "T2")


def test_speed_declares_a_compressed_rate_and_keeps_the_data(tmp_path):
    raw = load_recording(DEMO_RECORDING)
    fast = time_compressed(raw, 10.0)
    assert fast.info["sfreq"] == 1600.0
    np.testing.assert_array_equal(fast.get_data(), raw.get_data())
    np.testing.assert_allclose(fast.annotations.onset, (raw.annotations.onset - raw.first_time) / 10.0)
    player = ReplayPlayer(raw, speed=10.0)
    assert player.speed == 10.0 and player.source_rate == 160.0
    assert player.duration_s == pytest.approx(90.0)


def test_xdf_recordings_replay_with_their_marker_streams(tmp_path):
    eeg = (np.random.default_rng(0).normal(0, 10, (2500, 3))).astype(np.float32)
    path = write_xdf(tmp_path / "run.xdf", eeg, 250.0, ["C3", "Cz", "C4"], t0=1000.0,
                     markers=[(1000.4, "left"), (1006.0, "right")])
    raw = load_recording(path)
    assert raw.ch_names == ["C3", "Cz", "C4"] and raw.info["sfreq"] == 250.0
    np.testing.assert_allclose(raw.get_data() * 1e6, eeg.T, atol=1e-4)
    assert list(raw.annotations.description) == ["left", "right"]
    np.testing.assert_allclose(raw.annotations.onset, [0.4, 6.0], atol=1e-6)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.edf", None, "does not exist"),
        ("notes.txt", b"hello", "unsupported file type"),
        ("empty.edf", b"", "empty"),
        ("garbage.edf", b"0       " + bytes(range(256)) * 20, "not a readable EDF"),
        ("garbage.fif", bytes(range(256)) * 20, "not a readable FIF"),
        ("garbage.xdf", b"XDF:" + bytes(range(256)) * 4, "not a readable XDF file|no EEG stream"),
    ],
)
def test_unreadable_replay_files_raise_a_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ReplayFileError, match=message):
        load_recording(path)


def test_a_truncated_edf_is_refused(tmp_path):
    path = tmp_path / "cut.edf"
    path.write_bytes(DEMO_RECORDING.read_bytes()[:5000])  # header and a bit of the first record
    with pytest.raises(ReplayFileError, match="cut.edf"):
        load_recording(path)


def test_a_looping_replay_keeps_its_timestamps_continuous():
    """MNE-LSL's player re-sent a whole file at the loop when its length divided the chunk size."""
    import mne

    raw = mne.io.RawArray(np.random.default_rng(1).normal(0, 1e-5, (3, 320)),
                          mne.create_info(["C3", "Cz", "C4"], 160.0, "eeg"), verbose="error")
    player = ReplayPlayer(raw, speed=10.0, loop=True).start()  # 10 ms chunks = 16 samples, 320 = 20 x 16
    try:
        inlet = open_inlet(player.name)
        stamps: list[float] = []
        assert wait_until(lambda: stamps.extend(inlet.pull_chunk(timeout=0.05)[1]) or len(stamps) > 3 * 320)
    finally:
        player.stop()
    steps = np.diff(stamps)
    np.testing.assert_allclose(steps, 1 / 1600.0, atol=1e-6)
