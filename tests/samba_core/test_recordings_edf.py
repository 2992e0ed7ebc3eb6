"""EDF/BDF/FIF read one way: latin-1 annotations, EDF+D gaps, stim channels, short files, wrong units."""

from __future__ import annotations

import json
import warnings

import mne
import numpy as np
import pytest

from app.pipeline import ReplayFileError, load_recording
from app_xdf_writer import XdfStream, write_streams
from calibration import PROTOCOLS, build_epochs, get_protocol
from calibration_sessions import LABELS_10_20, synthetic_mi
from edf_writer import write_edf
from montages.__main__ import main as montages_main
from samba_core.preprocessing import PreprocessConfig
from samba_core.pretraining.corpus import prepare_corpus
from samba_core.recordings import RecordingError, read_recording

RATE = 160.0
PRE = PreprocessConfig()


def _session_uv(n_per_class: int = 4):
    data, ann = synthetic_mi(n_per_class=n_per_class, sfreq=RATE)
    return data * 1e6, ann


@pytest.mark.parametrize("comment", ["Électrode déplacée", "Ruhe 5 µV", "température 37°", "Ü"])
@pytest.mark.parametrize("bdf", [False, True])
def test_latin1_annotations_read_everywhere(tmp_path, capsys, comment, bdf):
    data, ann = _session_uv()
    notes = [(1.0, 0.0, comment.encode("latin-1")), (ann[3][0] + 0.5, 0.0, b"pause " + comment.encode("latin-1"))]
    cues = [(o, d, t.encode()) for o, d, t in ann]
    path = write_edf(tmp_path / ("s.bdf" if bdf else "s.edf"), data, RATE, list(LABELS_10_20),
                     annotations=notes + cues, bdf=bdf)
    with pytest.raises(Exception):  # noqa: B017,PT011 - MNE itself refuses the default encoding
        mne.io.read_raw(path, preload=True, verbose="error")
    rec = read_recording(path)
    texts = [m.description for m in rec.markers]
    assert comment in texts and f"pause {comment}" in texts
    # replay
    assert comment in list(load_recording(path).annotations.description)
    # calibration
    epochs = build_epochs([rec], PROTOCOLS["mi"], PRE, min_trials_per_class=3)
    assert epochs.counts == {"left": 4, "right": 4}
    # python -m montages --recording
    assert montages_main(["--recording", str(path)]) == 0
    assert "C3" in capsys.readouterr().out
    # the pretraining corpus
    (tmp_path / "spec.json").write_text(json.dumps({"files": [path.name]}))
    corpus = prepare_corpus(tmp_path / "spec.json", tmp_path / "corpus", log=lambda *_: None)
    assert comment in [e[2] for e in corpus.recordings[0].events]


@pytest.mark.parametrize(("onsets", "segments"), [
    ([0, 1, 2, 3, 4, 7, 8, 9, 10, 11], [(0, 800), (800, 1600)]),
    ([0, 1, 5, 6, 7, 8, 9, 20, 21, 22], [(0, 320), (320, 1120), (1120, 1600)]),
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.5], [(0, 1440), (1440, 1600)]),
])
@pytest.mark.parametrize("bdf", [False, True])
def test_edf_plus_d_gaps_are_segments(tmp_path, onsets, segments, bdf):
    x = np.random.default_rng(0).normal(0, 20, (4, 10 * int(RATE)))
    marks = [(0.5, 0.0, b"a"), (onsets[-1] + 0.25, 0.0, b"last")]
    path = write_edf(tmp_path / ("d.bdf" if bdf else "d.edf"), x, RATE, ["C3", "Cz", "C4", "Pz"],
                     annotations=marks, record_onsets=onsets, bdf=bdf)
    rec = read_recording(path)
    assert rec.segments == segments
    assert [(m.description, m.sample) for m in rec.markers] == [("a", 80), ("last", 1600 - 160 + 40)]
    raw = load_recording(path)
    edges = [int(round(o * RATE)) for o, d in zip(raw.annotations.onset, raw.annotations.description)
             if d == "EDGE boundary"]
    assert edges == [a for a, _ in segments[1:]]
    # A recording written back from the replay's Raw keeps its segments.
    raw.save(tmp_path / "back_raw.fif", verbose="error")
    assert read_recording(tmp_path / "back_raw.fif").segments == segments


def _status(n: int, cues: list[tuple[float, float, str]], high_bits: int) -> np.ndarray:
    status = np.full(n, high_bits, dtype=np.int64)
    for onset, _, text in cues:
        start = int(round(onset * RATE))
        status[start : start + 8] += 1 if text.endswith("left") else 2
    return status


@pytest.mark.parametrize("high_bits", [0, 0x100000, 0x700000])
def test_bdf_status_codes_are_markers_in_calibration_and_replay(tmp_path, high_bits):
    data, ann = _session_uv(n_per_class=5)
    path = write_edf(tmp_path / "biosemi.bdf", data, RATE, list(LABELS_10_20), bdf=True,
                     status=_status(data.shape[1], ann, high_bits))
    rec = read_recording(path)
    expected = [(int(round(o * RATE)), "1" if t.endswith("left") else "2") for o, _, t in ann]
    assert [(m.sample, m.description) for m in rec.markers] == expected
    protocol = json.dumps({"name": "biosemi-codes", "task": "mi", "events": [["1", "left"], ["2", "right"]],
                           "classes": ["left", "right"]})
    (tmp_path / "codes.json").write_text(protocol)
    epochs = build_epochs([rec], get_protocol(str(tmp_path / "codes.json")), PRE, min_trials_per_class=3)
    assert epochs.counts == {"left": 5, "right": 5}
    raw = load_recording(path)
    assert sorted(zip(np.round(raw.annotations.onset * RATE).astype(int), raw.annotations.description)) == expected


def test_stim_codes_in_a_fif_are_markers(tmp_path):
    data, ann = synthetic_mi(n_per_class=2, sfreq=RATE)
    stim = np.zeros((1, data.shape[1]))
    for onset, _, text in ann:
        stim[0, int(round(onset * RATE)) : int(round(onset * RATE)) + 4] = 5 if text.endswith("left") else 6
    info = mne.create_info([*LABELS_10_20, "STI 014"], RATE, ["eeg"] * len(LABELS_10_20) + ["stim"])
    mne.io.RawArray(np.vstack([data, stim]), info, verbose="error").save(tmp_path / "stim_raw.fif", verbose="error")
    rec = read_recording(tmp_path / "stim_raw.fif")
    assert [m.description for m in rec.markers] == ["5" if t.endswith("left") else "6" for _, _, t in ann]


@pytest.mark.parametrize("n_samples", [1, 5, 100])
def test_files_of_a_few_samples_are_too_short(tmp_path, n_samples):
    info = mne.create_info(list(LABELS_10_20), RATE, "eeg")
    x = np.random.default_rng(0).normal(0, 1e-5, (len(LABELS_10_20), n_samples))
    mne.io.RawArray(x, info, verbose="error").save(tmp_path / "short_raw.fif", verbose="error")
    with pytest.raises(RecordingError, match=rf"short_raw.fif: file too short: {n_samples} sample"):
        read_recording(tmp_path / "short_raw.fif")
    with pytest.raises(ReplayFileError, match="file too short"):
        load_recording(tmp_path / "short_raw.fif")
    csv = tmp_path / "short.csv"
    csv.write_text("timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker\n" + "1.0,1,2,3,4,5,0\n" * n_samples)
    with pytest.raises(RecordingError, match="file too short"):
        read_recording(csv)


def test_empty_truncated_and_non_eeg_files_are_named(tmp_path):
    (tmp_path / "empty.bdf").write_bytes(b"")
    with pytest.raises(RecordingError, match="empty.bdf: the file is empty"):
        read_recording(tmp_path / "empty.bdf")
    good = write_edf(tmp_path / "good.edf", np.ones((2, 320)), RATE, ["C3", "C4"])
    (tmp_path / "cut.edf").write_bytes(good.read_bytes()[:700])
    with pytest.raises(RecordingError, match="cut.edf: not a readable EDF file; it is corrupt or truncated"):
        read_recording(tmp_path / "cut.edf")
    info = mne.create_info(["ECG", "RESP"], RATE, ["ecg", "misc"])
    mne.io.RawArray(np.ones((2, 400)), info, verbose="error").save(tmp_path / "ecg_raw.fif", verbose="error")
    with pytest.raises(RecordingError, match="no EEG channel"):
        read_recording(tmp_path / "ecg_raw.fif")


@pytest.mark.parametrize(("declared", "factor", "read_as"), [
    ("uV", 1e-6, "V"),  # volts in a file that says microvolts
    ("mV", 1e-6, "V"),  # volts in a file that says millivolts
    ("V", 1.0, "uV"),  # microvolts in a file that says volts
    ("uV", 1.0, "uV"),  # what it says: believed
])
def test_a_unit_the_amplitude_contradicts_is_overruled_with_a_warning(tmp_path, declared, factor, read_as):
    x = np.random.default_rng(0).normal(0, 20, (4, 5 * int(RATE)))  # µV truth
    path = write_edf(tmp_path / "u.edf", x * factor, RATE, ["C3", "Cz", "C4", "Pz"], unit=declared)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = read_recording(path)
    messages = [str(w.message) for w in caught if "declare" in str(w.message)]
    assert rec.source_unit == read_as
    np.testing.assert_allclose(rec.data, x, atol=0.05 * x.std())  # µV either way
    assert 5 < np.std(load_recording(path).get_data() * 1e6) < 50  # and so is what replay plays
    if read_as == declared:
        assert not messages and not rec.notes
        return
    assert f"declare {declared} but their amplitude" in messages[0] and f"read as {read_as}" in messages[0]
    assert any(f"declare {declared}" in n for n in rec.notes)
    assert read_recording(path, unit=declared).source_unit == declared  # the declared unit can still be forced


def test_xdf_declaring_microvolts_carrying_volts_is_read_as_volts(tmp_path):
    n = int(5 * RATE)
    eeg = np.random.default_rng(3).normal(0, 20e-6, (n, 3))
    path = write_streams(tmp_path / "v.xdf", [
        XdfStream("amp", "EEG", ["C3", "Cz", "C4"], RATE, 100 + np.arange(n) / RATE, eeg, unit="microvolts")])
    with pytest.warns(RuntimeWarning, match="declare uV but their amplitude"):
        rec = read_recording(path)
    np.testing.assert_allclose(rec.data, eeg.T * 1e6, rtol=1e-5)


@pytest.mark.parametrize(("declared", "scale", "unit", "noted"), [
    (None, 1e-6, "V", False), (None, 1.0, "uV", False), (None, 0.0, "uV", True),
    ("microvolts", 1e-6, "V", True), ("µV", 1.0, "uV", False), ("V", 1e-6, "V", False), ("V", 1.0, "uV", True),
    ("mV", 1e-3, "mV", False), ("uV", 1e-3, "mV", True), ("nV", 1e3, "nV", False), ("uV", 1e3, "uV", False),  # the last: saturated, still believed
])
def test_the_unit_rule(declared, scale, unit, noted):
    from samba_core.units import reconcile_unit

    x = np.random.default_rng(0).normal(0, 20, (4, 512)) * scale  # 20 µV EEG in the unit given by ``scale``
    got, note = reconcile_unit(x, declared)
    assert got == unit and (note is not None) == noted
