"""EEGMMIDB subjects are discovered from the folder; reserved subjects stay out unless named."""

from __future__ import annotations

from calibration.eegbci import IMAGERY_RUNS, available_subjects, calibration_subjects, reserved_subjects, subject_files


def fake_root(tmp_path, subjects, readme: str):
    for s in subjects:
        folder = tmp_path / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0" / f"S{s:03d}"
        folder.mkdir(parents=True)
        for r in IMAGERY_RUNS:
            (folder / f"S{s:03d}R{r:02d}.edf").write_bytes(b"")
    (tmp_path / "README.md").write_text(readme)
    return tmp_path


def test_reserved_subjects_are_excluded_unless_requested(tmp_path):
    root = fake_root(tmp_path, [1, 2, 3, 7], "# Data\n\n## Reserved for evaluation\nS002 and subjects 7, 9.\n\n## Notes\nS003\n")
    assert available_subjects(root) == [1, 2, 3, 7]
    assert reserved_subjects(root) == [2, 7, 9]
    assert calibration_subjects(root) == [1, 3]
    assert calibration_subjects(root, [2]) == [2]


def test_incomplete_subjects_and_no_reservation(tmp_path):
    root = fake_root(tmp_path, [4], "## Reserved for evaluation\nNone yet.\n")
    (root / "MNE-eegbci-data/files/eegmmidb/1.0.0/S004/S004R08.edf").unlink()
    assert available_subjects(root) == [] and reserved_subjects(root) == []


def test_shared_data_subjects(shared_data):
    subjects = calibration_subjects(shared_data)
    assert subjects and all(s not in reserved_subjects(shared_data) for s in subjects)
    files = subject_files(subjects[0], shared_data)
    assert [f.name for f in files] == [f"S{subjects[0]:03d}R{r:02d}.edf" for r in IMAGERY_RUNS]
    assert all(f.is_file() for f in files)
