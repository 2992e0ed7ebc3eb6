"""Session files of every supported format come back as samples + markers; damaged files are named."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from app_xdf_writer import write_xdf
from samba_core.recordings import RecordingError, file_sha256, read_recording
from calibration_sessions import LABELS_10_20, synthetic_mi, write_fif


def test_fif_annotations_become_markers(mi_fif):
    rec = read_recording(mi_fif)
    assert rec.labels == list(LABELS_10_20)
    assert rec.sample_rate == 160.0 and rec.unit == "uV" and rec.source_unit == "V"
    assert len(rec.markers) == 24
    assert {m.description for m in rec.markers} == {"cue/left", "cue/right"}
    assert rec.markers[0].onset == pytest.approx(4.5) and rec.markers[0].duration == pytest.approx(4.0)
    assert rec.sha256 == file_sha256(mi_fif)


def test_edf_round_trip(tmp_path):
    data, ann = synthetic_mi(n_per_class=3)
    raw = mne.io.read_raw_fif(write_fif(tmp_path / "s_raw.fif", data, 160.0, LABELS_10_20, ann), verbose="error")
    path = tmp_path / "session.edf"
    mne.export.export_raw(path, raw, fmt="edf", verbose="error")
    rec = read_recording(path)
    assert rec.sample_rate == 160.0
    cues = [m for m in rec.markers if m.description.startswith("cue/")]  # the exporter adds a BAD_ACQ_SKIP pad
    assert [m.description for m in cues] == [d for _, _, d in ann]
    assert np.allclose([m.onset for m in cues], [o for o, _, _ in ann], atol=1e-3)
    n = data.shape[1]  # the exporter pads the last data record
    assert np.abs(rec.data[:, :n] - data * 1e6).max() < 1.0  # µV; EDF stores 16-bit samples


def test_xdf_marker_stream_becomes_markers(tmp_path):
    rate, t0 = 250.0, 1000.0
    eeg = np.random.default_rng(0).normal(scale=10.0, size=(int(20 * rate), 4)).astype(np.float32)
    path = write_xdf(tmp_path / "session.xdf", eeg, rate, ["C3", "Cz", "C4", "Pz"], t0,
                     [(t0 + 2.0, "cue/left"), (t0 + 8.0, "cue/right"), (t0 + 14.0, "block/end")])
    rec = read_recording(path)
    assert rec.labels == ["C3", "Cz", "C4", "Pz"]
    assert rec.sample_rate == rate and rec.source_unit == "uV"
    assert [m.description for m in rec.markers] == ["cue/left", "cue/right", "block/end"]
    assert np.allclose([m.onset for m in rec.markers], [2.0, 8.0, 14.0], atol=2 / rate)
    assert np.allclose(rec.data, eeg.T, atol=1e-4)


def test_truncated_edf_is_reported_as_corrupt(tmp_path, mi_fif):
    raw = mne.io.read_raw_fif(mi_fif, verbose="error")
    good = tmp_path / "good.edf"
    mne.export.export_raw(good, raw, fmt="edf", verbose="error")
    bad = tmp_path / "bad.edf"
    bad.write_bytes(good.read_bytes()[:300])  # the header is cut in the middle
    with pytest.raises(RecordingError, match="corrupt or truncated"):
        read_recording(bad)


def test_garbage_fif_is_reported_as_corrupt(tmp_path):
    path = tmp_path / "broken_raw.fif"
    path.write_bytes(b"\x00\x01 this is not a FIF file" * 100)
    with pytest.raises(RecordingError, match="Export the recording again"):
        read_recording(path)


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(RecordingError, match="does not exist"):
        read_recording(tmp_path / "nothing.fif")
    other = tmp_path / "session.csv"
    other.write_text("1,2,3\n")
    with pytest.raises(RecordingError, match="not in the eeg-notebooks Muse layout"):
        read_recording(other)
    other = tmp_path / "session.txt"
    other.write_text("1 2 3")
    with pytest.raises(RecordingError, match="unsupported file type"):
        read_recording(other)
