"""bench/ablation.py: its variants build, and its protocol call, cells and table work on a stub protocol."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import ablation  # noqa: E402
from ablation_cells import baseline_table  # noqa: E402

from helpers.models import small_config  # noqa: E402
from samba_core import Samba  # noqa: E402
from samba_core.config import OUR_OPTIONS, PAPER_OPTIONS  # noqa: E402
from samba_core.masking import MaskingConfig  # noqa: E402


@pytest.mark.parametrize("name", list(ablation.VARIANTS))
def test_every_variant_builds_on_a_small_base(name):
    config, masking = ablation.variant_configs(name, small_config())
    Samba(config)
    counts = ablation.parameter_count(config)
    assert 0 < counts["streamed"] < counts["all"]
    assert (masking.loss == "l1-complex") == (ablation.VARIANTS[name][1] == "paper")


def test_variants_start_from_our_options_whatever_the_defaults():
    """"default" is ours explicitly, and each single option changes only its own fields."""
    base = small_config(**PAPER_OPTIONS)  # as if the defaults had become the paper's
    default, masking = ablation.variant_configs("default", base)
    assert {k: getattr(default, k) for k in OUR_OPTIONS} == OUR_OPTIONS and masking == MaskingConfig.ours()
    saie, _ = ablation.variant_configs("saie", base)
    assert (saie.spatial, saie.differential_form, saie.decoder_direction) == ("virtual-sites", "diff-transformer",
                                                                             "causal")


@pytest.mark.parametrize("name, fused", [("default", True), ("saie", True), ("infill-paper", True),
                                         ("diff-paper", False), ("paper", False)])
def test_step_latency_of_each_backend(name, fused):
    """The fused step is timed where it runs the variant; elsewhere the app decodes through ONNX (None)."""
    config, _ = ablation.variant_configs(name, small_config())
    onnx = ablation.step_latency(config, channels=6, steps=5)
    assert 0 < onnx["p50_ms"] <= onnx["p99_ms"]
    timed = ablation.step_latency(config, channels=6, steps=5, backend="fused")
    assert (timed is not None) == fused
    if fused:
        assert 0 < timed["p50_ms"] <= timed["p99_ms"]


STUB = """import json, sys
a = sys.argv
root, task = a[a.index('--fold-bases') + 1], a[a.index('--task') + 1]
calibrate = '--calibration-folds' not in a or a[a.index('--calibration-folds') + 1] != '0'
baselines = '--samba-only' not in a
assert a[a.index('--folds') + 1] == '2' and not (baselines and not calibrate and task == 'mi')
open(root + '/calls.txt', 'a').write(task + (' baselines' if baselines else '') + '\\n')
shift = 0.1 if 'saie' in root else 0.0
shift += 0.02 if root.endswith('seed1') else 0.0
def m(v):
    return {'trial': {'balanced_accuracy': v, 'f1': v, 'kappa': 2 * v - 1, 'auroc': v}}
subjects = {}
for i, s in enumerate(['S001', 'S002', 'S003', 'S004']):
    methods = {}
    if task == 'mi':
        methods['zero_calibration_samba'] = m(0.5 + 0.01 * i + shift)
        if calibrate:
            methods['calibrated_samba'] = m(0.6 + 0.01 * i + shift)
        if baselines:
            methods.update(csp_lda=m(0.7 + 0.01 * i), ts_lr=m(0.72 + 0.01 * i), recentred_ts_lr=m(0.65))
    else:
        methods['cross_subject_samba'] = m(0.7 + 0.01 * i + shift)
        if baselines:
            methods['recentred_ts_lr'] = m(0.8 + 0.02 * i)
    subjects[s] = {'methods': methods}
print('scored', root)
print(json.dumps({'subjects': subjects}))
"""


def _bases(root, variant, seeds):
    for seed in seeds:
        folder = root / variant / f"seed{seed}"
        folder.mkdir(parents=True)
        for j in range(2):
            (folder / f"fold{j}.samba").write_bytes(b"")
            (folder / f"fold{j}.summary.json").write_text(json.dumps(
                {"steps_done": 100 + j, "final": {"val.csv": {"val_loss": 0.5, "val_nmse": 0.9}}}))


def _args(root, stub, **kw):
    import argparse

    defaults = dict(fold_bases=root, protocol=stub, protocol_args="", protocol_timeout=60, reference="default",
                    tasks=["mi", "distraction"], calibrated_seeds=1, rerun=False, baselines=False)
    return argparse.Namespace(**{**defaults, **kw})


def test_protocol_runs_per_seed_and_task_and_cells_compare_with_the_reference(tmp_path):
    stub = tmp_path / "protocol.py"
    stub.write_text(STUB)
    root = tmp_path / "bases"
    _bases(root, "default", [0, 1])
    _bases(root, "saie", [0, 1])
    rows, baseline_runs = ablation.measured_rows(_args(root, stub), ["default", "saie", "paper"])
    assert baseline_runs == {}  # not asked for
    assert "missing" in rows["paper"]
    saie, default = rows["saie"]["cells"], rows["default"]["cells"]
    zero = saie["MI zero-calibration"]["balanced_accuracy"]
    assert zero["seeds"] == pytest.approx([0.615, 0.635])  # per-seed means over the four subjects
    assert zero["subjects"]["S001"] == pytest.approx(0.61)  # per subject: the mean over seeds
    assert zero["versus_reference"]["mean_difference"] == pytest.approx(0.10)
    assert zero["versus_reference"]["wins"] == 4 and zero["interval"]["n"] == 4
    assert "versus_reference" not in default["MI zero-calibration"]["balanced_accuracy"]
    assert len(saie["MI calibrated"]["kappa"]["seeds"]) == 1  # calibration on the first seed only
    assert saie["EEGMAT cross-subject"]["auroc"]["interval"]["mean"] == pytest.approx(0.825)
    assert rows["saie"]["pretraining"]["steps"] == [100.0, 101.0, 100.0, 101.0]
    assert (root / "saie" / "seed1" / "distraction.json").is_file()

    stub.write_text("import sys; sys.exit('protocol broken')\n")  # the kept results are read again ...
    again, _ = ablation.measured_rows(_args(root, stub), ["default", "saie"])
    assert again["saie"]["cells"] == saie
    with pytest.raises(RuntimeError, match="protocol broken"):  # ... unless asked to run again,
        ablation.measured_rows(_args(root, stub, rerun=True), ["default"])
    with pytest.raises(RuntimeError, match="protocol broken"):  # or calibration is asked where it is missing
        ablation.measured_rows(_args(root, stub, calibrated_seeds=2), ["default"])
    with pytest.raises(FileNotFoundError, match="cross_subject"):
        ablation.measured_rows(_args(root, tmp_path / "absent.py", rerun=True), ["default"])

    params = {"parameters": {"all": 1000, "streamed": 800}, "onnx_step_ms": {"p50_ms": 0.5, "p99_ms": 1.25},
              "fused_step_ms": {"p50_ms": 0.125, "p99_ms": 0.25}}
    table = ablation.markdown_tables({"default": {**params, **rows["default"]}, "saie": {**params, **rows["saie"]},
                                      "paper": {**params, "fused_step_ms": None}}, "default")
    assert "| saie | 1,000 / 800 | 0.500 / 1.250 | 0.125 / 0.250 | 100 (100-101) | 0.900 | 0.625 [" in table
    assert "| paper | 1,000 / 800 | 0.500 / 1.250 | not implemented (ONNX) |" in table
    assert "Δ+0.100" in table and "not measured" in table


def test_classic_baselines_run_once_on_the_reference_folds_and_compare_with_it(tmp_path):
    stub = tmp_path / "protocol.py"
    stub.write_text(STUB)
    root = tmp_path / "bases"
    _bases(root, "default", [0, 1])
    _bases(root, "saie", [0])
    args = _args(root, stub, baselines=True, calibrated_seeds=0)  # baselines calibrate MI even then
    rows, baseline_runs = ablation.measured_rows(args, ["default", "saie"])
    baselines = ablation.baseline_rows(baseline_runs, rows["default"]["cells"])
    calls = {p.parent.name + "/" + p.parent.parent.name: p.read_text().split("\n")[:-1] for p in root.rglob("calls.txt")}
    assert calls == {"seed0/default": ["mi baselines", "distraction baselines"], "seed1/default": ["mi", "distraction"],
                     "seed0/saie": ["mi", "distraction"]}  # once, on the reference's first seed; read back after
    assert set(baselines) == {"CSP+LDA", "TS+LR", "recentred TS+LR"}
    csp = baselines["CSP+LDA"]["cells"]
    assert set(csp) == {"MI calibrated"}  # a cell only where the method applies
    assert csp["MI calibrated"]["balanced_accuracy"]["interval"]["mean"] == pytest.approx(0.715)
    recentred = baselines["recentred TS+LR"]["cells"]["EEGMAT cross-subject"]["balanced_accuracy"]
    assert recentred["versus_reference"]["mean_difference"] == pytest.approx(0.83 - 0.725)  # baseline - reference
    table = baseline_table(baselines, "default")
    assert "| CSP+LDA | - | 0.715 [" in table and "| recentred TS+LR | 0.650 [" in table and "Δ+0.105" in table


@pytest.mark.parametrize("argv, message", [
    (["--fold-bases", "{tmp}/absent"], "is not a folder"),
    (["--fold-bases", "{tmp}"], "no fold bases under .*the reference must be there"),
    (["--smoke", "--smoke-steps", "0"], "--smoke-steps must be >= 1"),
    (["--smoke", "--latency-steps", "0"], "--latency-steps must be >= 1"),
    (["--smoke", "--model-config", "{tmp}/absent.json"], "--model-config .* not found"),
    (["--fold-bases", "{tmp}", "--calibrated-seeds", "-1"], "--calibrated-seeds must be >= 0"),
])
def test_bad_command_lines_name_the_problem(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ablation.py", *[a.format(tmp=tmp_path) for a in argv]])
    with pytest.raises(SystemExit) as stop:
        ablation.main()
    assert stop.value.code == 2
    assert re.search(message, capsys.readouterr().err)


SCRIPT = Path(ablation.__file__).with_name("gpu_ablation_run.sh")


@pytest.mark.parametrize("name", sorted(ablation.VARIANTS))
def test_gpu_script_trains_each_variant_as_the_table_defines_it(name):
    """The flags that bench/gpu_ablation_run.sh gives samba-pretrain parse, and build the network and
    objective that bench/ablation.py's VARIANTS name for that variant, whatever the defaults are."""
    import subprocess

    from samba_core.config import SambaConfig
    from samba_core.pretraining.cli import _model_config, _parser, pretrain_config

    flags = subprocess.run(["bash", str(SCRIPT), "flags", name], capture_output=True, text=True, check=True).stdout
    args = _parser().parse_args(["train", "--corpus", "c", "--out", "o", *flags.split()])
    network, objective = ablation.variant_configs(name, SambaConfig())
    assert _model_config(args) == network
    assert pretrain_config(args).crops.masking == objective


@pytest.mark.parametrize("argv, env, message", [
    (["flags", "no-such-variant"], {}, "unknown variant no-such-variant"),
    (["flags"], {}, "usage:"),
    ([], {}, "usage:"),
    (["smoke", "{corpus}"], {}, "usage:"),
    (["bogus", "{corpus}", "{tmp}/out"], {}, "usage:"),
    (["smoke", "{corpus}", "{tmp}/out", "1"], {"VARIANTS": "default objective_paper"}, "objective_paper is not a variant"),
    (["train", "{corpus}", "{tmp}/out", "1"], {"SHIP_VARIANTS": "papr"}, "papr is not a variant"),
    (["smoke", "{tmp}/absent", "{tmp}/out", "1"], {}, "not a prepared corpus"),
])
def test_gpu_script_refuses_bad_usage_before_training_anything(tmp_path, argv, env, message):
    """A misspelt variant would otherwise train as ours (and be scored as the paper's option)."""
    import os
    import subprocess

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "corpus.json").write_text("{}")
    argv = [a.format(corpus=corpus, tmp=tmp_path) for a in argv]
    done = subprocess.run(["bash", str(SCRIPT), *argv], capture_output=True, text=True,
                          env={**os.environ, "WORK": str(tmp_path / "work"), **env})
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "work").exists()  # nothing started
