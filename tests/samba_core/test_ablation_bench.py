"""bench/ablation.py: its variants build, and its protocol call, cells and table work on a stub protocol."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import ablation  # noqa: E402

from helpers.models import small_config  # noqa: E402
from samba_core import Samba  # noqa: E402


@pytest.mark.parametrize("name", list(ablation.VARIANTS))
def test_every_variant_builds_on_a_small_base(name):
    config, masking = ablation.variant_configs(name, small_config())
    Samba(config)
    counts = ablation.parameter_count(config)
    assert 0 < counts["streamed"] < counts["all"]
    assert (masking.loss == "l1-complex") == (ablation.VARIANTS[name][1] == "paper")


def test_protocol_is_called_per_variant_and_its_scores_become_cells(tmp_path):
    stub = tmp_path / "protocol.py"
    stub.write_text(
        "import json, sys\n"
        "root = sys.argv[sys.argv.index('--fold-bases') + 1]\n"
        "print('table for', root)\n"
        "print(json.dumps({'root': root, 'mi': {'calibrated': {'balanced_accuracy': [0.6, 0.7, 0.8], 'auroc': 0.75,"
        " 'n_subjects': 10}}, 'eegmat': {'cohen_kappa': [0.1, 0.3]}}))\n"
    )
    folds = tmp_path / "saie"
    (folds / "fold0").mkdir(parents=True)
    (folds / "fold0" / "summary.json").write_text(json.dumps({"final": {"val.csv": {"val_loss": 0.5, "val_nmse": 0.9}}}))
    result = ablation.run_protocol(stub, folds, ["--seeds", "0"], timeout=60)
    assert result["root"] == str(folds)
    cells = {**ablation.score_cells(result), **ablation.pretraining_losses(folds)}
    assert cells == {"mi/calibrated/balanced_accuracy": [0.6, 0.7, 0.8], "mi/calibrated/auroc": [0.75],
                     "eegmat/cohen_kappa": [0.1, 0.3], "pretrain/val_loss": [0.5], "pretrain/val_nmse": [0.9]}
    iv = ablation.interval(cells["mi/calibrated/balanced_accuracy"])
    assert iv["mean"] == pytest.approx(0.7) and iv["low"] < 0.6 and iv["high"] > 0.8 and iv["n"] == 3
    assert np.isnan(ablation.interval([0.75])["low"])
    row = {"parameters": {"all": 1000, "streamed": 800}, "onnx_step_ms": {"p50_ms": 0.5, "p99_ms": 1.25}, "cells": cells}
    table = ablation.markdown_table({"saie": row, "default": {**row, "cells": {}}})
    assert "| saie | 1,000 / 800 | 0.500 / 1.250 |" in table and "not measured" in table
    with pytest.raises(FileNotFoundError, match="cross_subject"):
        ablation.run_protocol(tmp_path / "absent.py", folds, [], timeout=10)
