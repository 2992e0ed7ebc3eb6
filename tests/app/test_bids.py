"""Calibration-style sessions (cues with durations) written as BIDS and read back by mne-bids."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from mne_bids import BIDSPath, read_raw_bids

from app.pipeline.bids import next_run, write_session_bids
from app.pipeline.errors import RecordingError


def session(path, rate=256.0, seconds=12.0):
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (4, int(rate * seconds))),
                          mne.create_info(["C3", "Cz", "C4", "Pz"], rate, "eeg"), verbose="error")
    raw.set_meas_date(1.7e9)
    raw.set_annotations(mne.Annotations([1.0, 4.0, 7.5, 9.0], [2.5, 3.0, 0.0, 0.0],
                                        ["cue/left", "block/distracted", "mi:right", "BAD_ACQ_SKIP"],
                                        orig_time=raw.info["meas_date"]))
    raw.save(path, verbose="error")
    return raw


def test_cues_keep_their_onsets_and_durations_and_runs_accumulate(tmp_path):
    session(tmp_path / "calib_raw.fif")
    root = tmp_path / "bids"
    assert next_run(root, "S1", "calibration") == 1
    write_session_bids(tmp_path / "calib_raw.fif", root, "S1", task="calibration", line_freq=50)
    assert next_run(root, "S1", "calibration") == 2
    path = write_session_bids(tmp_path / "calib_raw.fif", root, "S1", task="calibration")
    raw = read_raw_bids(BIDSPath(subject="S1", task="calibration", run=path.run, datatype="eeg", root=root),
                        verbose="error")
    ann = {d: (round(o, 2), round(du, 2)) for d, o, du in zip(raw.annotations.description, raw.annotations.onset,
                                                               raw.annotations.duration)}
    assert ann["cue/left"] == (1.0, 2.5) and ann["block/distracted"] == (4.0, 3.0) and "mi:right" in ann
    assert "BAD_acquisition_gap" in ann  # marked bad, never turned into zeroed data
    np.testing.assert_allclose(raw.get_data()[:, : 256 * 12].std(), 1e-5, rtol=0.1)


def test_bad_input_is_a_clear_error(tmp_path):
    (tmp_path / "x_raw.fif").write_bytes(b"not a fif")
    with pytest.raises(RecordingError, match="not a readable FIF"):
        write_session_bids(tmp_path / "x_raw.fif", tmp_path / "bids")
    session(tmp_path / "ok_raw.fif")
    with pytest.raises(RecordingError, match="subject label"):
        write_session_bids(tmp_path / "ok_raw.fif", tmp_path / "bids", subject="--")


@pytest.mark.parametrize("leftover", ["sub-S1_task-samba_run-1_events.tsv", "sub-S1_task-samba_run-1_events.json",
                                      "sub-S1_task-samba_run-3_channels.tsv"])
def test_the_leftovers_of_an_interrupted_export_never_block_the_next_session(tmp_path, leftover):
    """An export stopped half-way leaves some files of its run: the next session takes the next run number
    (it would otherwise fail on "already exists" in every later session)."""
    session(tmp_path / "s_raw.fif")
    root = tmp_path / "bids"
    (root / "sub-S1" / "eeg").mkdir(parents=True)
    (root / "sub-S1" / "eeg" / leftover).write_text("onset\tduration\n")
    run = int(leftover.split("_run-")[1].split("_")[0])
    assert next_run(root, "S1", "samba") == run + 1
    path = write_session_bids(tmp_path / "s_raw.fif", root, "S1")
    assert int(path.run) == run + 1
    assert (root / "sub-S1" / "eeg" / leftover).is_file()  # nothing of it is removed
