"""The cross-subject head (``samba-calibrate cross-subject``) and the leave-subject-out bench on tiny subjects."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

from calibration.cli import main as calibrate_main
from calibration.subject_data import SubjectDataError, present_subjects, select_subjects, subject_epochs
from cross_subject_data import write_eegbci_subject, write_eegmat_subject
from helpers.models import save_small_checkpoint
from samba_core import load_checkpoint
from samba_core.preprocessing import PreprocessConfig

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    for s in (1, 2):
        write_eegbci_subject(root, s, seed=s)
        write_eegmat_subject(root, s, seed=s)
    write_eegbci_subject(root, 7, runs=(4,), seed=7)  # reserved below
    (root / "README.md").write_text("# Data\n\n## Reserved for evaluation\nSubject 7 is held out.\n")
    return root


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    return save_small_checkpoint(tmp_path_factory.mktemp("base") / "base.samba")


def test_subjects_are_discovered_and_reserved_ones_refused(data_root: Path) -> None:
    assert present_subjects(data_root, "mi") == ["S001", "S002", "S007"]
    assert select_subjects(data_root, "mi") == ["S001", "S002"]
    assert select_subjects(data_root, "distraction") == ["Subject01", "Subject02"]
    with pytest.raises(SubjectDataError, match="reserved"):
        select_subjects(data_root, "mi", ["7", "1"])
    with pytest.raises(SubjectDataError, match="no mi recordings"):
        select_subjects(data_root, "mi", ["S003"])


def test_eegmat_files_become_one_block_each_without_the_reference_and_ecg(data_root: Path) -> None:
    ep = subject_epochs(data_root, "Subject01", "distraction", PreprocessConfig())
    assert ep.classes == ("attentive", "distracted") and ep.counts["attentive"] > ep.counts["distracted"] > 0
    assert len(ep.labels) == 19 and not any("A2-A1" in c or "ECG" in c for c in ep.labels)
    assert np.unique(ep.groups).size == 2


@pytest.mark.parametrize("task", ["mi", "distraction"])
def test_cross_subject_head_is_fitted_by_the_probe_and_written(data_root, tiny_base, tmp_path, task) -> None:
    out, report = tmp_path / "head.samba", tmp_path / "report.json"
    assert calibrate_main(["cross-subject", "--data-root", str(data_root), "--base", str(tiny_base), "--task", task,
                           "--out", str(out), "--folds", "2", "--report", str(report), "--threads", "1"]) == 0
    result = json.loads(report.read_text())
    assert result["subjects"] == (["S001", "S002"] if task == "mi" else ["Subject01", "Subject02"])
    assert "L-BFGS" in result["fitter"] and result["l2"] in [r["l2"] for r in result["probe_path"]] + [0.1]
    assert set(result["evaluation"]["per_subject"]) == set(result["subjects"])
    for scores in result["evaluation"]["per_subject"].values():
        assert set(scores["trial"]) == {"balanced_accuracy", "f1", "kappa", "auroc"}
        assert 0 <= scores["trial"]["balanced_accuracy"] <= 1 and 0 <= scores["per_decision"]["auroc"] <= 1
    before, after = load_checkpoint(tiny_base), load_checkpoint(out)
    assert not torch.equal(before.model.heads[task][1].weight, after.model.heads[task][1].weight)
    assert torch.equal(before.model.stem.weight, after.model.stem.weight)  # backbone frozen
    assert after.metadata.provenance["heads"][task]["evaluation"]["assignment"] == result["evaluation"]["assignment"]
    # The app decodes the head as trained, showing its leave-subject-out accuracy beside chance.
    from app.pipeline.ground_truth import trial_windows
    from app.pipeline.heads import checkpoint_heads

    info = checkpoint_heads(after).heads[task]
    summary = result["evaluation"]["summary"]["trial"]["balanced_accuracy"]["mean"]
    assert info.status == "trained" and info.accuracy == pytest.approx(summary) and info.chance == 0.5
    if task == "mi":
        assert trial_windows(after.metadata.provenance)["mi"] == (0.5, 4.0)


def test_cross_subject_refuses_a_missing_base(data_root, tmp_path, capsys) -> None:
    assert calibrate_main(["cross-subject", "--data-root", str(data_root), "--base", str(tmp_path / "none.samba"),
                           "--out", str(tmp_path / "x.samba")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.fixture(scope="module")
def bench_main():
    """``bench/cross_subject.py``'s ``main``, run in this process (no interpreter start per call)."""
    threads = torch.get_num_threads()
    yield runpy.run_path(str(REPO / "bench" / "cross_subject.py"), run_name="cross_subject_bench")["main"]
    torch.set_num_threads(threads)


def _bench(bench_main, capsys, args: list[str]) -> dict:
    capsys.readouterr()
    bench_main([*args, "--threads", "1"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    return json.loads(last, parse_constant=lambda c: pytest.fail(f"the last line is not strict JSON: {c}"))


def _in_range(values) -> bool:
    return all(0 <= v <= 1 for v in values)


def test_bench_scores_two_tiny_subjects_by_subject(data_root, tiny_base, bench_main, capsys) -> None:
    """The CI smoke test of bench/cross_subject.py: motor imagery with every method."""
    result = _bench(bench_main, capsys, ["--data-root", str(data_root), "--base", str(tiny_base), "--task", "mi", "--folds", "2",
                     "--calibration-folds", "2"])
    required = {"calibrated_samba", "csp_lda", "ts_lr", "zero_calibration_samba", "recentred_ts_lr"}
    assert required <= set(result["mean"]) and _in_range(result["mean"][k] for k in required)
    assert result["fold_assignment"] == {"S001": 0, "S002": 1} and "S007" in result["reserved_subjects"]
    assert result["zero_head"] == "folds"  # the tiny base records no fitted head
    for subject in ("S001", "S002"):
        methods = result["subjects"][subject]["methods"]
        assert "random_init_samba" in methods and "per_decision" in methods["calibrated_samba"]
        assert methods["fold_head_samba"]["trial"] == methods["zero_calibration_samba"]["trial"]
        assert _in_range(v for m in methods.values() for level in ("trial", "per_decision")
                         for k, v in m.get(level, {}).items() if k != "kappa")
    ci = result["intervals"]["calibrated_samba"]["trial"]["balanced_accuracy"]
    assert ci["n"] == 2 and ci["ci95_t"][0] <= ci["mean"] <= ci["ci95_t"][1]
    assert result["paired"]["calibrated_samba - csp_lda"]["n"] == 2
    assert set(result["per_subject"]["ts_lr"]) == {"S001", "S002"}


def test_bench_scores_distraction_windows(data_root, tiny_base, bench_main, capsys) -> None:
    result = _bench(bench_main, capsys, ["--data-root", str(data_root), "--base", str(tiny_base), "--task", "distraction", "--folds", "2",
                     "--windows", "1", "2"])
    assert {"cross_subject_samba", "recentred_ts_lr", "cross_subject_samba/1s", "recentred_ts_lr/2s"} <= set(result["mean"])
    assert result["mean"]["cross_subject_samba"] == result["mean"]["cross_subject_samba/2s"]
    assert _in_range(result["mean"].values())


def test_fold_bases_that_saw_their_subjects_are_refused(data_root, tmp_path, bench_main) -> None:
    from samba_core import save_checkpoint

    loaded = load_checkpoint(save_small_checkpoint(tmp_path / "tmp.samba"))
    loaded.metadata.provenance = {"corpus": {"subjects": ["S001"]}}  # fold 0 scores S001 but was pretrained on it
    for j in range(2):
        save_checkpoint(tmp_path / f"fold{j}.samba", loaded.model, loaded.metadata)
    with pytest.raises(SystemExit, match=r"pretrained on \['S001'\]"):
        bench_main(["--data-root", str(data_root), "--fold-bases", str(tmp_path), "--folds", "2",
                    "--calibration-folds", "0", "--threads", "1"])
    with pytest.raises(SystemExit, match="fold2.samba"):
        bench_main(["--data-root", str(data_root), "--fold-bases", str(tmp_path), "--folds", "3"])
