"""``samba-pretrain``: prepare a corpus, pretrain SAMBA with TSRM (one GPU or torchrun DDP).

Examples::

    samba-pretrain prepare --spec corpus.json --out corpus/
    samba-pretrain train --corpus corpus/ --out runs/base --steps 3000 --batch-size 8 --context-s 60
    torchrun --nproc_per_node 2 $(which samba-pretrain) train --corpus corpus/ --out runs/ddp --batch-size 8
    samba-pretrain train --corpus corpus/ --out runs/base --resume          # continue after an interruption
    samba-pretrain train-many --runs runs.txt   # one train command line per line, trained together on one GPU
    samba-pretrain train --corpus corpus/ --out runs/paper --paper-objective --decoder-direction bidirectional \
        --spatial virtual-sites --differential-form paper --differential-stages bottleneck  # the paper's choices

``train --spec corpus.json`` prepares the corpus into ``<out>/corpus`` first. Task heads are
fitted across subjects by calibration's fitter::

    samba-calibrate cross-subject --base runs/base/samba-base.samba --data-root DIR --task mi --out samba-base.samba
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from ..config import DECODER_DIRECTIONS, DIFFERENTIAL_FORMS, DIFFERENTIAL_STAGES, SPATIAL_KINDS, SambaConfig
from ..masking import LOSSES, MASK_SCHEMES, REGIONS, MaskingConfig
from .config import CropConfig, PretrainConfig
from .corpus import CorpusError, load_corpus, prepare_corpus


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="samba-pretrain", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    prep = sub.add_parser("prepare", help="read, place and preprocess a corpus spec into a folder")
    prep.add_argument("--spec", required=True, type=Path, help="corpus spec JSON (see samba_core.pretraining.corpus)")
    prep.add_argument("--out", required=True, type=Path, help="prepared corpus folder")

    train = sub.add_parser("train", help="TSRM pretraining")
    src = train.add_mutually_exclusive_group(required=True)
    src.add_argument("--corpus", type=Path, help="prepared corpus folder")
    src.add_argument("--spec", type=Path, help="corpus spec JSON, prepared into <out>/corpus first")
    train.add_argument("--out", required=True, type=Path, help="run folder: state, logs, samba-base.samba")
    train.add_argument("--model-config", type=Path, help="JSON of SambaConfig fields (default: SambaConfig())")
    # Defaults are the config dataclasses' own, so a command line and PretrainConfig() agree.
    run, crops = PretrainConfig(), CropConfig()
    train.add_argument("--steps", type=int, default=run.steps)
    train.add_argument("--batch-size", type=int, default=crops.batch_size, help="global batch over all GPUs")
    train.add_argument("--context-s", type=float, default=crops.context_s, help="crop length in seconds")
    train.add_argument("--lr", type=float, default=run.lr)
    train.add_argument("--warmup-steps", type=int, default=run.warmup_steps)
    train.add_argument("--weight-decay", type=float, default=run.weight_decay)
    train.add_argument("--grad-clip", type=float, default=run.grad_clip)
    train.add_argument("--precision", choices=("bf16", "fp32"), default=run.precision, help="bf16 autocast on CUDA")
    train.add_argument("--seed", type=int, default=run.seed)
    objective = train.add_argument_group("masking objective (default: MaskingConfig(); --objective picks a preset)")
    preset = objective.add_mutually_exclusive_group()  # two presets named at once is an error, not "last wins"
    preset.add_argument("--objective", choices=("ours", "paper"),
                           help="start from our TSRM (40%% hidden in 0.25-1 s spans, MSE + 0.1 log-spectrum L1) or the "
                                "paper's (50%% hidden around 8 visible blocks, L1 + complex spectrum)")
    preset.add_argument("--paper-objective", dest="objective", action="store_const", const="paper",
                           help="the same as --objective paper")
    objective.add_argument("--mask-ratio", type=float, help="fraction hidden (ours 0.4, paper 0.5)")
    objective.add_argument("--span-s", type=float, nargs=2, metavar=("MIN", "MAX"), help="span lengths, scheme 'spans'")
    objective.add_argument("--spectral-weight", type=float, help="spectrum term weight (ours 0.1, paper 1)")
    objective.add_argument("--mask-scheme", choices=MASK_SCHEMES)
    objective.add_argument("--visible-blocks", type=int, help="visible blocks per window, scheme 'visible-blocks'")
    objective.add_argument("--loss", choices=LOSSES)
    objective.add_argument("--loss-region", choices=REGIONS, help="score hidden samples or the whole window")
    arch = train.add_argument_group("architecture options (override --model-config)")
    arch.add_argument("--spatial", choices=SPATIAL_KINDS, help="cdse (ours) or virtual-sites (the paper's SAIE)")
    arch.add_argument("--differential-stages", nargs="*", choices=DIFFERENTIAL_STAGES,
                      help="where the differential mixer sits (none given: nowhere)")
    arch.add_argument("--differential-form", choices=DIFFERENTIAL_FORMS)
    arch.add_argument("--decoder-direction", choices=DECODER_DIRECTIONS,
                      help="bidirectional: a pretraining-only decoder that in-fills hidden spans")
    train.add_argument("--channel-subset-prob", type=float, default=crops.channel_subset_prob,
                       help="chance a crop keeps a channel subset")
    train.add_argument("--min-channels", type=int, default=crops.min_channels)
    train.add_argument("--val-fraction", type=float, default=crops.val_fraction, help="held-out tail of every recording")
    train.add_argument("--no-kernels", action="store_true", help="force the plain-PyTorch SSD scan")
    train.add_argument("--cuda-graphs", action="store_true",
                       help="replay each step as one CUDA graph (removes the host launch overhead; under torchrun too)")
    train.add_argument("--compile", action="store_true",
                       help="torch.compile the network (fuses the element-wise work around the scan; slow first steps)")
    train.add_argument("--log-every", type=int, default=run.log_every)
    train.add_argument("--val-every", type=int, default=run.val_every)
    train.add_argument("--save-every", type=int, default=run.save_every)
    train.add_argument("--stop-after", type=int, help="end this invocation after N steps (resume later)")
    train.add_argument("--max-minutes", type=float, help="end this invocation after this much training time")
    train.add_argument("--resume", action="store_true", help="continue from <out>/state.pt")
    train.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")

    many = sub.add_parser("train-many", help="several pretraining runs at once in this process (one GPU)",
                          description="Train several runs together, each on its own CUDA stream so that their "
                          "kernels overlap on one GPU (separate processes only take turns).")
    many.add_argument("--runs", required=True, type=Path,
                      help="text file: one 'train' command line (without the word 'train') per line")

    return parser


MI_HEAD_MOVED = (
    "'samba-pretrain mi-head' was replaced by 'samba-calibrate cross-subject', which fits the head with calibration's "
    "own probe (L-BFGS, L2 chosen by leave-subjects-out inner CV, balanced accuracy) on labelled EEG files: "
    "samba-calibrate cross-subject --base CKPT --data-root DIR --task mi --out CKPT"
)


def _given(args: argparse.Namespace, names: dict[str, str]) -> dict:
    """{field: value} for the flags (attribute -> field) that were given on the command line."""
    out = {field: getattr(args, attr) for attr, field in names.items() if getattr(args, attr) is not None}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in out.items()}


def _model_config(args: argparse.Namespace) -> SambaConfig:
    if args.model_config is None:
        base = SambaConfig()
    else:
        try:
            base = SambaConfig.from_dict(json.loads(args.model_config.read_text()))
        except (TypeError, ValueError, OSError) as exc:  # JSONDecodeError is a ValueError
            raise ValueError(f"--model-config {args.model_config}: {exc}") from None
    flags = {"spatial": "spatial", "differential_stages": "differential_stages",
             "differential_form": "differential_form", "decoder_direction": "decoder_direction"}
    return replace(base, **_given(args, flags))


def _masking(args: argparse.Namespace) -> MaskingConfig:
    base = {"ours": MaskingConfig.ours, "paper": MaskingConfig.paper, None: MaskingConfig}[args.objective]()
    flags = {"mask_ratio": "ratio", "span_s": "span_s", "spectral_weight": "spectral_weight", "mask_scheme": "scheme",
             "visible_blocks": "visible_blocks", "loss": "loss", "loss_region": "region"}
    return replace(base, **_given(args, flags))


def pretrain_config(args: argparse.Namespace) -> PretrainConfig:
    """The :class:`PretrainConfig` that parsed ``samba-pretrain train`` arguments ask for.

    Raises
    ------
    ValueError
        A setting out of its range (the config's own checks).
    """
    crops = CropConfig(args.context_s, args.batch_size, args.channel_subset_prob, args.min_channels,
                       args.val_fraction, _masking(args))
    return PretrainConfig(
        steps=args.steps, lr=args.lr, warmup_steps=args.warmup_steps, weight_decay=args.weight_decay,
        grad_clip=args.grad_clip, precision=args.precision, seed=args.seed, use_kernels=not args.no_kernels,
        log_every=args.log_every, val_every=args.val_every, save_every=args.save_every, stop_after=args.stop_after,
        max_minutes=args.max_minutes, cuda_graphs=args.cuda_graphs, compile=args.compile, crops=crops,
    )


def _corpus_dir(args: argparse.Namespace) -> Path:
    """The prepared corpus of a ``train`` command line (``--spec`` is prepared into <out>/corpus first)."""
    from .trainer import init_distributed

    rank, _, _ = init_distributed()
    if args.spec is None:
        return args.corpus
    corpus_dir = args.out / "corpus"
    if rank == 0:
        prepare_corpus(args.spec, corpus_dir)
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
    return corpus_dir


def _trainer(args: argparse.Namespace, corpora: dict | None = None, progress: bool = True, log=print):
    """The :class:`~samba_core.pretraining.trainer.Pretrainer` a ``train`` command line asks for
    (``corpora``: prepared corpora already loaded, by folder, shared between runs)."""
    from .trainer import Pretrainer

    corpora = {} if corpora is None else corpora
    folder = _corpus_dir(args).resolve()
    if folder not in corpora:
        corpora[folder] = load_corpus(folder)
    return Pretrainer(corpora[folder], _model_config(args), pretrain_config(args), args.out, resume=args.resume,
                      progress=progress and not args.no_progress, log=log)


def _prefixed(prefix: str):
    return lambda *parts, **kw: print(prefix, *parts, **kw)


def _run_lines(runs_file: Path) -> list[tuple[int, str]]:
    """(line number, command line) of every run in ``runs_file``: blank lines and ``#`` comments
    skipped, a leading ``train`` allowed."""
    if not runs_file.is_file():
        raise ValueError(f"no runs file {runs_file}: write one 'train' command line (without 'train') per line")
    import shlex

    lines = []
    for number, text in enumerate(runs_file.read_text().splitlines(), 1):
        try:
            words = shlex.split(text, comments=True)
        except ValueError as exc:
            raise ValueError(f"{runs_file}:{number}: {exc}") from None
        if words[:1] == ["train"]:
            words = words[1:]
        if words:
            lines.append((number, words))
    if not lines:
        raise ValueError(f"{runs_file} names no runs: write one 'train' command line (without 'train') per line")
    return lines


def _train_many(runs_file: Path) -> list[dict]:
    """Every ``train`` command line of ``runs_file`` (one per line; blank and ``#`` lines skipped),
    trained together in this process (:func:`~samba_core.pretraining.loop.train_together`).
    Every line is checked, and every run built, before any folder is touched."""
    from .loop import train_together

    parser, corpora, trainers, outs = _parser(), {}, [], {}
    for number, words in _run_lines(runs_file):
        where = f"{runs_file}:{number}"
        try:
            args = parser.parse_args(["train", *words])
        except SystemExit:
            raise ValueError(f"{where}: not a valid 'train' command line (see the message above): {' '.join(words)}") from None
        out = str(args.out.resolve())
        if out in outs:
            raise ValueError(f"{where}: --out {args.out} is also line {outs[out]}'s; give each run its own folder")
        outs[out] = number
        try:
            trainers.append(_trainer(args, corpora, progress=False, log=_prefixed(f"[{args.out}]")))
        except (CorpusError, ValueError, OSError) as exc:
            raise ValueError(f"{where}: {exc}") from None
    return train_together(trainers)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["mi-head"]:  # old command lines get pointed at the command that replaced it
        print(f"samba-pretrain: error: {MI_HEAD_MOVED}", file=sys.stderr)
        return 2
    args = _parser().parse_args(argv)
    try:
        if args.command == "prepare":
            corpus = prepare_corpus(args.spec, args.out)
            print(json.dumps(corpus.summary()))
        elif args.command == "train-many":
            from .loop import RunsFailed

            try:
                summaries = _train_many(args.runs)
            except RunsFailed as exc:
                summaries = exc.summaries
                print(f"samba-pretrain: error: {exc}", file=sys.stderr)
            for summary in summaries:
                if summary is not None:
                    print(json.dumps({"out": summary["out"], "steps_done": summary["steps_done"], "final": summary["final"]}))
            return 0 if all(s is not None for s in summaries) else 1
        else:
            summary = _trainer(args).run()
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            print(json.dumps({"steps_done": summary["steps_done"], "final": summary["final"]}))
    except (CorpusError, ValueError, OSError) as exc:  # OSError: a named file missing or unreadable
        print(f"samba-pretrain: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("samba-pretrain: interrupted; the runs' states are saved: continue with --resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
