"""The session file written after a calibration run: cue durations set, model decisions left out."""

from __future__ import annotations

import json

import mne
import numpy as np
import pytest

from app.paradigm import SentMarker, SessionFileError, finalize_session


def live_recording(path, descriptions, onsets):
    """A FIF shaped like the live pipeline's: markers and decisions as zero-length annotations."""
    info = mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (3, 2000)), info, verbose="error")
    raw.set_meas_date(1_700_000_000)
    with raw.info._unlock():
        raw.info["description"] = json.dumps({"samba_live": {"classes": {"mi": ["left", "right"]}}})
    raw.set_annotations(mne.Annotations(onsets, np.zeros(len(onsets)), descriptions, orig_time=raw.info["meas_date"]))
    raw.save(path, overwrite=True, verbose="error")
    return path


def test_cues_get_their_durations_and_decisions_are_dropped(tmp_path):
    recorded = live_recording(
        tmp_path / "live.fif",
        ["protocol/start", "cue/left", "mi:left", "cue/right", "mi:right", "BAD_ACQ_SKIP", "cue/left", "protocol/end"],
        [0.5, 2.0, 2.1, 6.0, 6.3, 8.0, 10.0, 19.5],
    )
    sent = [SentMarker(1.0, "protocol/start"), SentMarker(2.0, "cue/left", 4.0), SentMarker(6.0, "cue/right", 4.0),
            SentMarker(10.0, "cue/left", 3.0), SentMarker(19.5, "protocol/end")]
    result = finalize_session(recorded, sent, tmp_path / "session_raw.fif")
    raw = mne.io.read_raw_fif(result.path, verbose="error")
    ann = raw.annotations
    assert list(ann.description) == ["protocol/start", "cue/left", "cue/right", "BAD_ACQ_SKIP", "cue/left",
                                     "protocol/end"]
    np.testing.assert_allclose(ann.onset - raw.first_time, [0.5, 2.0, 6.0, 8.0, 10.0, 19.5], atol=0.011)
    np.testing.assert_allclose(ann.duration, [0, 4.0, 4.0, 0, 3.0, 0], atol=1e-6)
    assert result.counts == {"protocol/start": 1, "cue/left": 2, "cue/right": 1, "protocol/end": 1}
    assert result.missing == {} and result.n_channels == 3 and result.duration_s == pytest.approx(20.0)


def test_a_condition_cut_by_the_end_is_clipped_and_missing_markers_are_reported(tmp_path):
    recorded = live_recording(tmp_path / "live.fif", ["block/attentive"], [15.0])
    sent = [SentMarker(1.0, "block/attentive", 30.0), SentMarker(2.0, "block/distracted", 30.0)]
    result = finalize_session(recorded, sent, tmp_path / "s_raw.fif")
    ann = mne.io.read_raw_fif(result.path, verbose="error").annotations
    assert ann.duration[0] == pytest.approx(20.0 - 0.01 - 15.0, abs=0.02)
    assert result.missing == {"block/distracted": 1}


def test_a_recording_without_any_cue_is_refused(tmp_path):
    recorded = live_recording(tmp_path / "live.fif", ["mi:left"], [1.0])
    with pytest.raises(SessionFileError, match="none of the 1 cue markers"):
        finalize_session(recorded, [SentMarker(1.0, "cue/left", 4.0)], tmp_path / "s_raw.fif")
    with pytest.raises(SessionFileError, match="cannot read the recording"):
        finalize_session(tmp_path / "nothing.fif", [], tmp_path / "s_raw.fif")
