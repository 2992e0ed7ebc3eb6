"""The ``samba-pretrain`` command lines: the flags users and scripts rely on, and the configs they make."""

from __future__ import annotations

from pathlib import Path

import pytest

from samba_core.masking import MaskingConfig
from samba_core.pretraining.cli import _parser, pretrain_config
from samba_core.pretraining.config import CropConfig, PretrainConfig

PREPARE_FLAGS = {"--spec", "--out"}
TRAIN_FLAGS = {
    "--corpus", "--spec", "--out", "--model-config", "--steps", "--batch-size", "--context-s", "--lr",
    "--warmup-steps", "--weight-decay", "--grad-clip", "--precision", "--seed", "--mask-ratio", "--span-s",
    "--spectral-weight", "--channel-subset-prob", "--min-channels", "--val-fraction", "--no-kernels",
    "--cuda-graphs", "--compile", "--log-every", "--val-every", "--save-every", "--stop-after", "--max-minutes", "--resume",
    "--no-progress",
    # the paper-fidelity options (samba_core/FIDELITY.md)
    "--objective", "--paper-objective", "--mask-scheme", "--visible-blocks", "--loss", "--loss-region", "--spatial",
    "--differential-stages", "--differential-form", "--decoder-direction",
}


def subcommand_flags(name: str) -> set[str]:
    sub = next(a for a in _parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return {s for a in sub.choices[name]._actions for s in a.option_strings} - {"-h", "--help"}


@pytest.mark.parametrize(("name", "flags"), [("prepare", PREPARE_FLAGS), ("train", TRAIN_FLAGS),
                                             ("train-many", {"--runs"})])
def test_each_subcommand_keeps_its_flags(name, flags):
    assert subcommand_flags(name) == flags


@pytest.mark.parametrize("argv", [["--help"], ["prepare", "--help"], ["train", "--help"], ["train-many", "--help"]])
def test_help_lists_every_subcommand_and_flag(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        _parser().parse_args(argv)
    assert stop.value.code == 0
    text = capsys.readouterr().out
    expected = {"prepare", "train", "train-many"} if argv == ["--help"] else subcommand_flags(argv[0])
    assert all(item in text for item in expected)


def test_train_defaults_are_the_config_defaults():
    args = _parser().parse_args(["train", "--corpus", "c", "--out", "o"])
    assert pretrain_config(args) == PretrainConfig()


def test_every_train_flag_reaches_the_config():
    argv = ["train", "--spec", "s.json", "--out", "o", "--steps", "30", "--batch-size", "4", "--context-s", "8",
            "--lr", "0.002", "--warmup-steps", "5", "--weight-decay", "0.01", "--grad-clip", "0.5", "--precision",
            "fp32", "--seed", "3", "--mask-ratio", "0.3", "--span-s", "0.1", "0.5", "--spectral-weight", "0",
            "--channel-subset-prob", "0.25", "--min-channels", "4", "--val-fraction", "0.2", "--no-kernels",
            "--cuda-graphs", "--compile", "--log-every", "2", "--val-every", "6", "--save-every", "9", "--stop-after", "7",
            "--max-minutes", "1.5"]
    args = _parser().parse_args(argv)
    assert args.spec == Path("s.json") and args.corpus is None
    expected = PretrainConfig(
        steps=30, lr=0.002, warmup_steps=5, weight_decay=0.01, grad_clip=0.5, precision="fp32", seed=3,
        use_kernels=False, log_every=2, val_every=6, save_every=9, stop_after=7, max_minutes=1.5, cuda_graphs=True,
        compile=True,
        crops=CropConfig(8.0, 4, 0.25, 4, 0.2, MaskingConfig(0.3, (0.1, 0.5), 0.0)),
    )
    assert pretrain_config(args) == expected


def test_paper_objective_flag_starts_from_the_paper_masking():
    args = _parser().parse_args(["train", "--corpus", "c", "--out", "o", "--paper-objective", "--mask-ratio", "0.6"])
    masking = pretrain_config(args).crops.masking
    paper = MaskingConfig.paper()
    assert masking.ratio == 0.6 and masking.scheme == paper.scheme and masking.loss == paper.loss


@pytest.mark.parametrize("flags, preset", [([], MaskingConfig()), (["--objective", "ours"], MaskingConfig.ours()),
                                           (["--objective", "paper"], MaskingConfig.paper()),
                                           (["--paper-objective"], MaskingConfig.paper())])
def test_objective_presets(flags, preset):
    """No flag: the default; a preset whatever the default is."""
    args = _parser().parse_args(["train", "--corpus", "c", "--out", "o", *flags])
    assert pretrain_config(args).crops.masking == preset


@pytest.mark.parametrize("argv", [
    ["train", "--out", "o"],                                    # no --corpus or --spec
    ["train", "--corpus", "c", "--spec", "s", "--out", "o"],    # both
    ["train", "--corpus", "c", "--out", "o", "--precision", "fp16"],
    ["prepare", "--spec", "s"],                                 # no --out
    ["train", "--corpus", "c", "--out", "o", "--paper-objective", "--objective", "ours"],  # two presets
    ["train", "--corpus", "c", "--out", "o", "--objective", "paper", "--paper-objective"],
])
def test_bad_command_lines_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        _parser().parse_args(argv)
    assert stop.value.code == 2
    assert "samba-pretrain" in capsys.readouterr().err
