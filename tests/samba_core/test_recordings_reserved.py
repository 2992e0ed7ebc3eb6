"""One reserved-subjects rule: the README's grammar, and every consumer refusing what it reserves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibration.cli import main as calibrate_main
from samba_core.pretraining.corpus import CorpusError, load_spec
from samba_core.recordings import (ReservedSubjectError, discover, parse_reserved, reserved_subjects, shared_subjects,
                                   subject_key, training_subjects)

README = "# Data\n\nSome text about S041 and subjects 41, 42.\n\n## Reserved for evaluation\n{}\n\n## Licence\nS043\n"


@pytest.mark.parametrize(("text", "everywhere"), [
    ("Subjects 7 and 8 are held out, plus S009.", {7, 8, 9}),
    ("Subjects 7 and 8, plus S009", {7, 8, 9}),
    ("Subjects 3, 5 and 10-12.", {3, 5, 10, 11, 12}),
    ("subjects 10 to 12 (all runs)", {10, 11, 12}),
    ("S002 and subjects 7, 9.", {2, 7, 9}),
    ("Participants 4 through 6; also S010–S012", {4, 5, 6, 10, 11, 12}),
    ("- S021\n- S022\n- sub-23", {21, 22, 23}),
    ("Subject05 is held out.", {5}),
    ("None yet.", set()),
    ("Subjects recorded after 2019 may be added later.", set()),
    ("Some EEGMMIDB and EEGMAT subjects are held back. They are not named here.", set()),
])
def test_the_reserved_section_grammar(text, everywhere):
    reserved = parse_reserved(README.format(text))
    assert reserved.everywhere == everywhere and not reserved.by_dataset
    assert not {41, 42, 43} & reserved.of()  # mentions outside the section do not count


def test_dataset_qualified_mentions_reserve_in_that_dataset_only():
    reserved = parse_reserved(README.format("EEGMAT Subject05 and Subject06. EEGMMIDB S001, S004.\nS099 in any set."))
    assert reserved.of("eegmat") == {5, 6, 99} and reserved.of("eegmmidb") == {1, 4, 99} and reserved.of("muse") == {99}
    assert reserved.covers("Subject05", "eegmat") and not reserved.covers("S005", "eegmmidb")


def test_no_readme_or_no_section_reserves_nothing(tmp_path):
    assert not reserved_subjects(tmp_path)
    (tmp_path / "README.md").write_text("# Data\nS001 S002\n")
    assert not reserved_subjects(tmp_path)


def _root(tmp_path: Path, readme: str) -> Path:
    """A data folder with EEGMMIDB S001..S010 (imagery runs) and EEGMAT Subject01..10, empty files."""
    for n in range(1, 11):
        folder = tmp_path / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0" / f"S{n:03d}"
        folder.mkdir(parents=True)
        for run in (4, 8, 12):
            (folder / f"S{n:03d}R{run:02d}.edf").write_bytes(b"")
        (tmp_path / "eegmat").mkdir(exist_ok=True)
        for k in (1, 2):
            (tmp_path / "eegmat" / f"Subject{n:02d}_{k}.edf").write_bytes(b"")
    (tmp_path / "README.md").write_text(README.format(readme))
    return tmp_path


@pytest.mark.parametrize("readme", ["Subjects 7 and 8, plus S009", "Subjects 7 and 8 are held out, plus S009.",
                                    "S007-S009", "subjects 7 to 9"])
def test_pretraining_and_calibration_both_refuse_7_8_and_9(tmp_path, capsys, readme):
    root = _root(tmp_path, readme)
    # Subject discovery marks them, and the training list leaves them out.
    found = discover(root)
    assert {(s.dataset, s.subject) for s in found if s.reserved} == {(d, n) for d in ("eegmmidb", "eegmat")
                                                                     for n in (7, 8, 9)}
    assert [s.subject for s in training_subjects(root, "eegmmidb", runs=(4, 8, 12))] == [1, 2, 3, 4, 5, 6, 10]
    # Pretraining: asking for one is an error, "all-available" skips them.
    for subject in (7, 8, "S009"):
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps({"eegbci": {"subjects": [1, subject], "runs": [4], "path": str(root)}}))
        with pytest.raises(CorpusError, match="reserved for evaluation"):
            load_spec(spec)
        spec.write_text(json.dumps({"datasets": [{"dataset": "eegmat", "subjects": [subject], "path": str(root)}]}))
        with pytest.raises(CorpusError, match="reserved for evaluation"):
            load_spec(spec)
    spec.write_text(json.dumps({"eegbci": {"subjects": "all-available", "runs": [4], "path": str(root)},
                                "datasets": [{"dataset": "eegmat", "path": str(root)}]}))
    sources, _, _, notes = load_spec(spec)
    assert {s.subject for s in sources} == {f"S{n:03d}" for n in (1, 2, 3, 4, 5, 6, 10)} | {
        f"Subject{n:02d}" for n in (1, 2, 3, 4, 5, 6, 10)}
    assert {"S007", "S008", "S009", "Subject07", "Subject08", "Subject09"} <= set(notes["skipped_subjects"])
    # Calibration: samba-calibrate eegbci:N refuses them before reading anything.
    base = tmp_path / "base.samba"
    base.write_bytes(b"not read")
    for n in (7, 8, 9):
        assert calibrate_main([f"eegbci:{n}", "--data-root", str(root), "--base", str(base),
                               "--out", str(tmp_path / "x.samba")]) == 2
        err = capsys.readouterr().err
        assert "reserved for evaluation" in err and str(root / "README.md") in err
    with pytest.raises(ReservedSubjectError):
        training_subjects(root, "eegmmidb", requested=["S008"])


def test_the_shared_data_readme_reserves_no_subject_present(shared_data):
    reserved = reserved_subjects(shared_data)
    present = discover(shared_data)
    assert present and not any(s.reserved for s in present)
    assert all(not reserved.covers(s.subject, s.dataset) for s in present)


@pytest.mark.parametrize(("a", "b", "same"), [
    ("S002", "s2", True), ("S002", "S 002", True), ("Subject01", "subject-1", True), ("sub_07", "SUB07", True),
    ("S002", "S020", False), ("S002", "Subject02", False), ("muse-visual-N170-subject1", "muse-visual-n170-subject01", True),
    ("muse-visual-N170", "muse-visual-n170", True),
])
def test_subject_ids_written_two_ways_compare_equal(a, b, same):
    assert (subject_key(a) == subject_key(b)) == same
    assert shared_subjects([a], [b]) == ([a] if same else [])


def test_bare_numbers_match_any_dataset_and_empty_ids_match_nothing():
    assert shared_subjects(["S002"], [2]) == ["S002"] and shared_subjects([2, "3"], ["Subject02", "S003"]) == ["2", "3"]
    assert shared_subjects(["S002"], [2.0]) == ["S002"] and subject_key(2.5) is None
    assert subject_key(float("inf")) is None and subject_key(float("nan")) is None
    assert shared_subjects(["", None, "-", "  "], ["", None, "-"]) == []
    assert [subject_key(x) for x in ("", "  ", "-", None)] == [None] * 4
    assert shared_subjects("S002", "s2") == ["S002"]  # one id, not its characters


def test_shared_subjects_keeps_the_first_spelling_and_sorts():
    assert shared_subjects(["S3", "S002", "S010"], {"s002", "S003", "Subject10"}) == ["S002", "S3"]
    assert shared_subjects([], ["S002"]) == [] and shared_subjects(["S002"], []) == []
