"""Dataset layouts: subjects found on disk, files labelled; the real ones read and prepare for pretraining."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from samba_core.pretraining.corpus import load_corpus, prepare_corpus
from samba_core.recordings import discover, eegmmidb_files, read_recording, training_subjects
from samba_core.recordings.datasets import EEGMAT_CONDITIONS, EEGMMIDB_RUNS, IMAGERY_RUNS

MUSE_HEADER = "timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker0\n"


def _touch(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_discover_finds_what_is_on_disk(tmp_path):
    eeg = tmp_path / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0"
    for subject, runs in {1: (1, 4, 8, 12), 2: (4, 8), 57: (4, 8, 12)}.items():
        for r in runs:
            _touch(eeg / f"S{subject:03d}" / f"S{subject:03d}R{r:02d}.edf")
    _touch(eeg / "S003" / "notes.txt")  # a folder without runs is no subject
    for name in ("Subject02_1.edf", "Subject02_2.edf", "Subject11_1.edf", "subject-info.csv"):
        _touch(tmp_path / "eegmat" / name)
    _touch(tmp_path / "eeg-notebooks-muse" / "visual-P300" / "subject4" / "session2" / "data.csv", MUSE_HEADER)
    found = discover(tmp_path)
    assert [s.key for s in found] == ["eegmmidb/S001", "eegmmidb/S002", "eegmmidb/S057", "eegmat/Subject02",
                                      "eegmat/Subject11", "muse/subject4"]
    s001 = found[0]
    assert [(f.run, f.label) for f in s001.files] == [(r, EEGMMIDB_RUNS[r]) for r in (1, 4, 8, 12)]
    assert s001.paths(label="imagery-left-right") == eegmmidb_files(tmp_path, 1)
    assert [f.label for f in found[3].files] == [EEGMAT_CONDITIONS[1], EEGMAT_CONDITIONS[2]]
    assert (found[5].files[0].run, found[5].files[0].label) == (2, "visual-P300")
    assert [s.subject for s in training_subjects(tmp_path, "eegmmidb", runs=IMAGERY_RUNS)] == [1, 57]
    assert [s.key for s in discover(tmp_path, ("eegmat",))] == ["eegmat/Subject02", "eegmat/Subject11"]
    with pytest.raises(FileNotFoundError, match=r"subject 2 runs \[12\]"):
        eegmmidb_files(tmp_path, 2)
    with pytest.raises(ValueError, match="unknown datasets"):
        discover(tmp_path, ("physionet",))


def test_a_muse_csv_reads_as_microvolts_with_its_marker_column(tmp_path):
    rows = []
    rng = np.random.default_rng(0)
    for i in range(600):  # jittery packet timestamps, and a 2 s Bluetooth drop-out before row 300
        t = 1000 + i / 256 + rng.uniform(-0.012, 0.012) + (2.0 if i >= 300 else 0.0)
        rows.append(",".join([f"{t:.4f}", *(f"{v:.3f}" for v in rng.normal(0, 30, 5)),
                              "2" if i in (100, 400) else "0"]))
    path = tmp_path / "m.csv"
    path.write_text(MUSE_HEADER + "\n".join(rows) + "\n")
    rec = read_recording(path)
    assert rec.labels == ["TP9", "AF7", "AF8", "TP10", "Right AUX"] and rec.types == ["eeg"] * 4 + ["misc"]
    assert rec.sample_rate == 256.0 and rec.source_unit == "uV"
    assert [(m.sample, m.description) for m in rec.markers] == [(100, "2"), (400, "2")]
    assert rec.segments == [(0, 300), (300, 600)]  # jitter is no gap, the drop-out is


def test_the_shared_datasets_are_found_and_read(shared_data):
    found = discover(shared_data)
    by_dataset = {d: [s for s in found if s.dataset == d] for d in ("eegmmidb", "eegmat", "muse")}
    if not all(by_dataset.values()):
        pytest.skip("not every dataset is in the shared data folder")
    for subjects in by_dataset.values():
        rec = read_recording(subjects[0].files[0].path)
        assert rec.eeg_rows.size >= 4 and rec.segments == [(0, rec.n_samples)]
        assert 1.0 < np.median(np.abs(rec.data[rec.eeg_rows] - np.median(rec.data[rec.eeg_rows], axis=1,
                                                                             keepdims=True))) < 200.0  # µV
    muse = read_recording(by_dataset["muse"][0].files[0].path)
    assert muse.markers and muse.sample_rate == 256.0


def test_eegmat_and_muse_prepare_for_pretraining(shared_data, tmp_path):
    if not discover(shared_data, ("eegmat",)) or not discover(shared_data, ("muse",)):
        pytest.skip("EEGMAT or Muse recordings are not in the shared data folder")
    first = discover(shared_data, ("eegmat",))[0].subject
    spec = {"datasets": [{"dataset": "eegmat", "subjects": [first], "runs": [2], "path": str(shared_data),
                          "notch": 50}, {"dataset": "muse", "path": str(shared_data)}]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    prepare_corpus(tmp_path / "spec.json", tmp_path / "corpus", log=lambda *_: None)
    corpus = load_corpus(tmp_path / "corpus")
    names = [r.name for r in corpus.recordings]
    assert f"Subject{first:02d}_2" in names and any(n.startswith("subject1-visual") for n in names)
    muse = next(r for r in corpus.recordings if r.name.startswith("subject1-"))
    assert muse.labels == ["TP9", "AF7", "AF8", "TP10"] and muse.events
