"""XDF files read one way: which stream, which sample each marker lands on, which unit, which segments."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline import ReplayFileError, load_recording
from app_xdf_writer import XdfStream, write_streams
from calibration import PROTOCOLS, build_epochs
from samba_core.preprocessing import PreprocessConfig
from samba_core.recordings import RecordingError, read_recording

LABELS = ["Fp1", "Fp2", "F3", "F4", "C3", "Cz", "C4", "P3", "P4", "O1", "O2", "Pz"]
RATE, T0, GAP_S = 250.0, 5000.0, 2.0


def _eeg_times(seconds_before: float, seconds_after: float, gap_s: float) -> np.ndarray:
    n1, n2 = int(seconds_before * RATE), int(seconds_after * RATE)
    return np.concatenate([T0 + np.arange(n1) / RATE, T0 + n1 / RATE + gap_s + np.arange(n2) / RATE])


def _session(tmp_path, *, volts: bool = True, gap_s: float = GAP_S, stub_first: bool = True, name="two_eeg.xdf"):
    """Two EEG streams (the wider one a one-sample stub), string cues, numeric codes, no unit, one gap."""
    rng = np.random.default_rng(0)
    times = _eeg_times(60.0, 60.0, gap_s)
    eeg = rng.normal(0, 15, (times.size, len(LABELS))) * (1e-6 if volts else 1.0)
    cue_times = T0 + np.array([4.0, 11.0, 18.0, 25.0, 32.0, 39.0, 46.0])
    cue_times = np.concatenate([cue_times, cue_times + 60.0 + gap_s])
    cues = ["cue/left" if i % 2 else "cue/right" for i in range(cue_times.size)]
    codes_t = T0 + np.array([1.0019, 30.0, 90.0 + gap_s])  # the first one lies between two samples
    stub = XdfStream("stub", "EEG", [f"E{i}" for i in range(32)], RATE, np.array([T0]), np.zeros((1, 32)),
                     unit=None)
    real = XdfStream("amp", "EEG", LABELS, RATE, times, eeg, unit=None)
    streams = [stub, real] if stub_first else [real, stub]
    streams += [
        XdfStream("cues", "Markers", ["cue"], 0, cue_times, cues, fmt="string", unit=None),
        XdfStream("codes", "Markers", ["code"], 0, codes_t, np.array([[3], [7], [12]]), fmt="int32", unit=None),
    ]
    return write_streams(tmp_path / name, streams), eeg, times, cue_times, cues, codes_t


@pytest.mark.parametrize(("volts", "stub_first"), [(True, True), (False, True), (True, False)])
def test_replay_and_calibration_read_the_same_stream_markers_scale_and_segments(tmp_path, volts, stub_first):
    path, eeg, times, cue_times, cues, codes_t = _session(tmp_path, volts=volts, stub_first=stub_first)
    rec = read_recording(path)  # what calibration reads
    raw = load_recording(path)  # what replay plays
    # Same stream: the real 12-channel one, never the wider one-sample stub.
    assert rec.stream == "amp" and rec.labels == LABELS and raw.ch_names == LABELS
    # Same µV scale, detected from the amplitude (nothing declared), equal to the truth.
    expected_uv = eeg.T * (1e6 if volts else 1.0)
    np.testing.assert_allclose(rec.data, expected_uv, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(raw.get_data() * 1e6, rec.data, rtol=1e-9, atol=1e-9)
    # Same two segments: the 2 s gap is a boundary, not glued signal.
    n1 = 60 * int(RATE)
    assert rec.segments == [(0, n1), (n1, eeg.shape[0])]
    edges = [int(round(o * RATE)) for o, d in zip(raw.annotations.onset, raw.annotations.description) if d == "EDGE boundary"]
    assert edges == [n1]
    # Same sample for every marker, string and numeric, and it is the nearest sample in time.
    events = [(m.sample, m.description) for m in rec.markers]
    replayed = sorted((int(round(o * RATE)), d) for o, d in zip(raw.annotations.onset, raw.annotations.description)
                      if "boundary" not in d)
    assert replayed == events
    for t, text in [*zip(cue_times, cues), *zip(codes_t, ["3", "7", "12"])]:
        sample = int(np.argmin(np.abs(times - t)))
        assert (sample, text) in events
    assert ("3", 250) in [(d, s) for s, d in events]  # 1.0019 s -> nearest sample 250 (1.000 s), not the next one


def test_calibration_epochs_never_span_the_gap(tmp_path):
    path, *_ = _session(tmp_path, gap_s=GAP_S)
    rec = read_recording(path)
    pre = PreprocessConfig()
    epochs = build_epochs([rec], PROTOCOLS["mi"], pre, min_trials_per_class=3)
    assert len(epochs) == 14 and epochs.dropped == 0
    # A cue 0.5 s before the gap: its epoch would cross the gap and is dropped, not glued.
    late = rec.crop(rec.duration_s)
    late.markers = [*rec.markers, type(rec.markers[0]).at(int(59.5 * RATE), RATE, "cue/left")]
    assert build_epochs([late], PROTOCOLS["mi"], pre, min_trials_per_class=3).dropped == 1


def test_stream_override_and_the_stub_only_file(tmp_path):
    path, *_ = _session(tmp_path)
    with pytest.raises(RecordingError, match="file too short"):
        read_recording(path, stream="stub")  # the override is honoured, and the stub is too short
    assert read_recording(path, stream="amp").labels == LABELS
    with pytest.raises(RecordingError, match="no regularly sampled numeric stream 'cues'"):
        read_recording(path, stream="cues")
    only_stub = write_streams(tmp_path / "stub.xdf", [
        XdfStream("stub", "EEG", LABELS, RATE, np.array([T0]), np.zeros((1, len(LABELS))))])
    with pytest.raises(RecordingError, match="file too short"):
        read_recording(only_stub)
    with pytest.raises(ReplayFileError, match="file too short"):
        load_recording(only_stub)


@pytest.mark.parametrize("seconds", [0.004, 0.1, 0.9])
def test_a_few_samples_are_a_file_too_short(tmp_path, seconds):
    n = max(2, int(seconds * RATE))
    path = write_streams(tmp_path / "short.xdf", [
        XdfStream("amp", "EEG", LABELS, RATE, T0 + np.arange(n) / RATE, np.ones((n, len(LABELS))))])
    with pytest.raises(ReplayFileError, match=r"file too short.*at least 1 s"):
        load_recording(path)


def test_only_duplicated_labels_are_disambiguated_and_placed(tmp_path):
    labels = ["C3", "Cz", "C4", "Pz", "AUX", "AUX", "AUX"]
    kinds = ["EEG"] * 4 + ["AUX"] * 3
    n = int(5 * RATE)
    path = write_streams(tmp_path / "aux.xdf", [
        XdfStream("amp", "EEG", labels, RATE, T0 + np.arange(n) / RATE, np.random.default_rng(1).normal(0, 10, (n, 7)),
                  channel_types=kinds)])
    rec = read_recording(path)
    assert rec.labels == ["C3", "Cz", "C4", "Pz", "AUX-1", "AUX-2", "AUX-3"]
    assert rec.types == ["eeg"] * 4 + ["misc"] * 3
    from montages import resolve_montage

    res = resolve_montage(rec.labels, rec.types, stream_channels=rec.channel_metadata())
    assert res.n_used == 4  # every EEG label keeps its name and is placed
    assert load_recording(path).ch_names == rec.labels


def test_xdf_locations_become_positions(tmp_path):
    labels = ["A1x", "B2y", "C3"]
    locs = [(-70.0, 0.0, 30.0), (70.0, 0.0, 30.0), None]
    n = int(3 * RATE)
    path = write_streams(tmp_path / "loc.xdf", [
        XdfStream("amp", "EEG", labels, RATE, T0 + np.arange(n) / RATE, np.random.default_rng(2).normal(0, 10, (n, 3)),
                  locations=locs)])
    rec = read_recording(path)
    np.testing.assert_allclose(rec.positions[:2], np.array(locs[:2]) / 1000.0)
    assert np.isnan(rec.positions[2]).all()
    raw = rec.to_raw()
    np.testing.assert_allclose(raw.info["chs"][0]["loc"][:3], [-0.07, 0.0, 0.03])


def test_a_file_without_eeg_names_its_streams(tmp_path):
    n = int(3 * RATE)
    path = write_streams(tmp_path / "audio.xdf", [
        XdfStream("mic", "Audio", ["L", "R"], RATE, T0 + np.arange(n) / RATE, np.zeros((n, 2)))])
    with pytest.raises(RecordingError, match=r"no EEG stream.*'mic'.*stream=NAME"):
        read_recording(path)


def test_marker_streams_are_strings_or_one_channel_irregular_streams(tmp_path):
    n = int(4 * RATE)
    times = T0 + np.arange(n) / RATE
    path = write_streams(tmp_path / "mixed.xdf", [
        XdfStream("amp", "EEG", LABELS[:4], RATE, times, np.random.default_rng(4).normal(0, 10, (n, 4))),
        XdfStream("gaze", "Gaze", ["x", "y"], 0, T0 + np.array([0.5, 1.5]), np.ones((2, 2)), unit=None),
        XdfStream("levels", "Markers", ["level"], 0, T0 + np.array([1.0, 2.0]), np.array([[2.5], [-1.0]]),
                  fmt="double64", unit=None),
    ])
    rec = read_recording(path)
    assert [(m.sample, m.description) for m in rec.markers] == [(250, "2.5"), (500, "-1")]
