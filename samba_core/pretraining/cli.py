"""``samba-pretrain``: prepare a corpus, pretrain SAMBA with TSRM (one GPU or torchrun DDP).

Examples::

    samba-pretrain prepare --spec corpus.json --out corpus/
    samba-pretrain train --corpus corpus/ --out runs/base --steps 3000 --batch-size 8 --context-s 60
    torchrun --nproc_per_node 2 $(which samba-pretrain) train --corpus corpus/ --out runs/ddp --batch-size 8
    samba-pretrain train --corpus corpus/ --out runs/base --resume          # continue after an interruption

``train --spec corpus.json`` prepares the corpus into ``<out>/corpus`` first. Task heads are
fitted across subjects by calibration's fitter::

    samba-calibrate cross-subject --base runs/base/samba-base.samba --data-root DIR --task mi --out samba-base.samba
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config import SambaConfig
from ..masking import MaskingConfig
from .batches import CropConfig
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
    train.add_argument("--steps", type=int, default=2000)
    train.add_argument("--batch-size", type=int, default=8, help="global batch over all GPUs")
    train.add_argument("--context-s", type=float, default=60.0, help="crop length in seconds")
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--warmup-steps", type=int, default=100)
    train.add_argument("--weight-decay", type=float, default=0.05)
    train.add_argument("--grad-clip", type=float, default=1.0)
    train.add_argument("--precision", choices=("bf16", "fp32"), default="bf16", help="bf16 autocast on CUDA")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--mask-ratio", type=float, default=0.4)
    train.add_argument("--span-s", type=float, nargs=2, default=(0.25, 1.0), metavar=("MIN", "MAX"))
    train.add_argument("--spectral-weight", type=float, default=0.1)
    train.add_argument("--channel-subset-prob", type=float, default=0.5, help="chance a crop keeps a channel subset")
    train.add_argument("--min-channels", type=int, default=8)
    train.add_argument("--val-fraction", type=float, default=0.1, help="held-out tail of every recording")
    train.add_argument("--no-kernels", action="store_true", help="force the plain-PyTorch SSD scan")
    train.add_argument("--cuda-graphs", action="store_true",
                       help="replay each step as one CUDA graph (one GPU; removes the host launch overhead)")
    train.add_argument("--log-every", type=int, default=50)
    train.add_argument("--val-every", type=int, default=250)
    train.add_argument("--save-every", type=int, default=250)
    train.add_argument("--stop-after", type=int, help="end this invocation after N steps (resume later)")
    train.add_argument("--max-minutes", type=float, help="end this invocation after this much training time")
    train.add_argument("--resume", action="store_true", help="continue from <out>/state.pt")
    train.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")

    return parser


MI_HEAD_MOVED = (
    "'samba-pretrain mi-head' was replaced by 'samba-calibrate cross-subject', which fits the head with calibration's "
    "own probe (L-BFGS, L2 chosen by leave-subjects-out inner CV, balanced accuracy) on labelled EEG files: "
    "samba-calibrate cross-subject --base CKPT --data-root DIR --task mi --out CKPT"
)


def _model_config(path: Path | None) -> SambaConfig:
    if path is None:
        return SambaConfig()
    return SambaConfig.from_dict(json.loads(path.read_text()))


def _train(args: argparse.Namespace) -> dict:
    from .trainer import PretrainConfig, pretrain, init_distributed

    rank, _, _ = init_distributed()
    if args.spec is not None:
        corpus_dir = args.out / "corpus"
        if rank == 0:
            prepare_corpus(args.spec, corpus_dir)
        import torch.distributed as dist

        if dist.is_initialized():
            dist.barrier()
    else:
        corpus_dir = args.corpus
    corpus = load_corpus(corpus_dir)
    masking = MaskingConfig(args.mask_ratio, tuple(args.span_s), args.spectral_weight)
    crops = CropConfig(args.context_s, args.batch_size, args.channel_subset_prob, args.min_channels,
                       args.val_fraction, masking)
    config = PretrainConfig(
        steps=args.steps, lr=args.lr, warmup_steps=args.warmup_steps, weight_decay=args.weight_decay,
        grad_clip=args.grad_clip, precision=args.precision, seed=args.seed, use_kernels=not args.no_kernels,
        log_every=args.log_every, val_every=args.val_every, save_every=args.save_every, stop_after=args.stop_after,
        max_minutes=args.max_minutes, cuda_graphs=args.cuda_graphs, crops=crops,
    )
    return pretrain(corpus, _model_config(args.model_config), config, args.out, resume=args.resume,
                    progress=not args.no_progress)


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
        else:
            summary = _train(args)
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            print(json.dumps({"steps_done": summary["steps_done"], "final": summary["final"]}))
    except (CorpusError, ValueError) as exc:
        print(f"samba-pretrain: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
