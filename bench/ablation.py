"""Fidelity ablation: each of the paper's options against our default, on the cross-subject protocol.

Variants (SambaConfig / MaskingConfig overrides of the default; see samba_core/FIDELITY.md):
``default`` (ours), ``saie`` (the paper's spatial embedding), ``diff-bottleneck`` (our
differential form, bottleneck only), ``diff-paper`` (the paper's paired form, bottleneck
only), ``objective-paper`` (the paper's masking and loss, causal decoder),
``infill-paper`` (the paper's objective with the bidirectional pretraining decoder) and
``paper`` (all of the above).

For every variant the table holds the parameter count and the ONNX decoding step's
p50/p99 latency (64 channels, the shipped size), then

- with ``--fold-bases ROOT``: the fold bases of each variant, ``ROOT/<variant>/seed<s>/fold<j>.samba``
  (pretrained on the GPU machine by ``bench/gpu_ablation_run.sh train``), scored by the
  cross-subject protocol (``bench/cross_subject.py --samba-only``, one run per seed and task,
  kept as ``<task>.json`` beside the bases): MI zero-calibration and calibrated, EEGMAT
  cross-subject (4 s), each in balanced accuracy, F1, Cohen's kappa and AUROC, with 95 %
  intervals over subjects, the per-seed spread and a paired test against ``--reference``
  (:mod:`ablation_cells`); the pretraining steps and validation nMSE come from the bases'
  summaries.
- with ``--smoke``: each variant is pretrained for ``--smoke-steps`` steps on a small CPU
  corpus (``--corpus`` prepared, or ``--spec``, or the first ``--smoke-subjects`` subjects
  found on disk that the data README does not reserve) at a tiny size; only pretraining
  losses, parameters and latency are filled (the protocol needs real fold bases).

Writes ``--markdown FILE`` (the docs' table) and prints one JSON object as the last line.

    bench/gpu_ablation_run.sh train CORPUS runs/ablation 2000     # on the GPU machine
    python bench/ablation.py --fold-bases runs/ablation --calibrated-seeds 1 --markdown table.md
    python bench/ablation.py --smoke --smoke-steps 20 --variants default saie --markdown /tmp/smoke.md
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from json_result import emit  # noqa: E402
from ablation_cells import baseline_table, markdown_tables, seed_folders  # noqa: E402
from interleaved import montage, summarise  # noqa: E402

from samba_core import Samba, SambaConfig  # noqa: E402
from samba_core.config import OUR_OPTIONS  # noqa: E402
from samba_core.masking import MaskingConfig  # noqa: E402
from samba_core.fused_step import FusedStepRunner, UnsupportedModelError  # noqa: E402
from samba_core.onnx_export import OnnxStepRunner, export_step_onnx  # noqa: E402

PAPER_DIFF = {"differential_form": "paper", "differential_stages": ("bottleneck",)}
#: name -> (SambaConfig overrides of our options, masking: "ours" or "paper"). "default" is ours
#: (``OUR_OPTIONS``, ``MaskingConfig.ours()``): the defaults the table was first run against.
VARIANTS: dict[str, tuple[dict, str]] = {
    "default": ({}, "ours"),
    "saie": ({"spatial": "virtual-sites"}, "ours"),
    "diff-bottleneck": ({"differential_stages": ("bottleneck",)}, "ours"),
    "diff-paper": (PAPER_DIFF, "ours"),
    "objective-paper": ({}, "paper"),
    "infill-paper": ({"decoder_direction": "bidirectional"}, "paper"),
    "paper": ({"spatial": "virtual-sites", "decoder_direction": "bidirectional", **PAPER_DIFF}, "paper"),
}
#: Score names that become table cells when found in the protocol's JSON.
SCORES = ("balanced_accuracy", "f1", "cohen_kappa", "kappa", "auroc", "accuracy", "loss")
#: A tiny network for the CPU smoke run (the real ablation uses the shipped size).
SMOKE_MODEL = dict(spatial_channels=8, spatial_hidden=16, fourier_features=4, dims=(16, 24, 32),
                   encoder_depths=(1, 1, 1), decoder_depths=(1, 1), factors=(2, 4), d_state=8, headdim=8, chunk_size=32)


def variant_configs(name: str, base: SambaConfig) -> tuple[SambaConfig, MaskingConfig]:
    """The variant's network and pretraining objective on top of ``base``."""
    overrides, masking = VARIANTS[name]
    objective = MaskingConfig.paper() if masking == "paper" else MaskingConfig.ours()
    return replace(base, **{**OUR_OPTIONS, **overrides}), objective


#: Modules that only the reconstruction (pretraining) uses: never streamed, never exported.
RECONSTRUCTION_ONLY = ("decoder", "upsample", "recon_norm", "recon_proj", "readout", "mask_token")


def parameter_count(config: SambaConfig) -> dict[str, int]:
    """All parameters, and those the live decoder runs (spatial embedding, encoder, heads)."""
    params = dict(Samba(config).named_parameters())
    streamed = sum(p.numel() for n, p in params.items() if n.split(".")[0] not in RECONSTRUCTION_ONLY)
    return {"all": sum(p.numel() for p in params.values()), "streamed": streamed}


def step_latency(config: SambaConfig, channels: int = 64, steps: int = 300, backend: str = "onnx") -> dict[str, float] | None:
    """p50/p99/mean ms of one decoding step (one token), one thread: the exported step with onnxruntime
    (``backend="onnx"``) or the fused step (``"fused"``; None where it does not implement the variant,
    so that the app decodes it through ONNX)."""
    torch.manual_seed(0)
    model = Samba(config).eval()
    coords = montage(channels)
    rng = np.random.default_rng(1)
    chunks = [(rng.normal(size=(channels, config.hop)) * 20).astype(np.float32) for _ in range(steps)]
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        if backend == "fused":
            try:
                runner = FusedStepRunner(model)
            except UnsupportedModelError:
                return None
        else:
            runner = OnnxStepRunner(export_step_onnx(model, Path(tmp) / "step.onnx", n_channels=channels))
        w = model.spatial_weights(torch.from_numpy(coords)).numpy()
        for x in chunks[:5]:  # warm-up: onnxruntime allocates on the first calls
            runner.step(x, w)
        ms = []
        for x in chunks:
            start = time.perf_counter()
            runner.step(x, w)
            ms.append((time.perf_counter() - start) * 1e3)
        return summarise(ms)


def smoke_corpus(args: argparse.Namespace, work: Path) -> Path:
    """A prepared corpus for the smoke run: --corpus, else --spec, else a few discovered EEGMMIDB subjects."""
    from samba_core.pretraining.corpus import prepare_corpus
    from samba_core.recordings.datasets import IMAGERY_RUNS, training_subjects

    if args.corpus:
        return args.corpus
    spec = args.spec
    if spec is None:
        data = args.data.resolve()
        subjects = training_subjects(data, "eegmmidb", runs=IMAGERY_RUNS[:2])[: args.smoke_subjects]
        if not subjects:
            raise SystemExit(f"no EEGMMIDB subject with runs {IMAGERY_RUNS[:2]} under {data}: pass --corpus or --spec")
        spec = work / "smoke.corpus.json"
        spec.write_text(json.dumps({"datasets": [{"dataset": "eegmmidb", "path": str(data),
                                                  "subjects": [s.subject for s in subjects],
                                                  "runs": list(IMAGERY_RUNS[:2])}]}))
    prepare_corpus(spec, work / "corpus")
    return work / "corpus"


def smoke_pretrain(config: SambaConfig, masking: MaskingConfig, corpus_dir: Path, out: Path, steps: int,
                   seed: int) -> dict[str, list[float]]:
    """Pretrain one tiny variant on the CPU; its steps done and final validation loss and nMSE."""
    from samba_core.pretraining.config import CropConfig, PretrainConfig
    from samba_core.pretraining.corpus import load_corpus
    from samba_core.pretraining.trainer import pretrain

    crops = CropConfig(context_s=8.0, batch_size=4, masking=masking)
    train = PretrainConfig(steps=steps, lr=3e-3, warmup_steps=max(1, steps // 10), precision="fp32", seed=seed,
                           log_every=steps, val_every=steps, save_every=steps, crops=crops)
    pretrain(load_corpus(corpus_dir), config, train, out, progress=False, log=lambda *a, **k: None)
    summary = json.loads((out / "summary.json").read_text())
    val = summary["final"].get("val.csv", {})
    return {"steps": [float(summary["steps_done"])], "val_loss": [float(val.get("val_loss", np.nan))],
            "val_nmse": [float(val.get("val_nmse", np.nan))]}


def measured_rows(args: argparse.Namespace, names: list[str]) -> tuple[dict[str, dict], dict[str, dict]]:
    """Pretraining and protocol cells of every variant found under ``--fold-bases`` (the reference first),
    and ``{task: protocol result}`` of the run that also holds the classic baselines (the reference's
    first seed; empty without ``args.baselines``)."""
    from ablation_cells import pretraining, summarise, task_result, variant_scores

    extra = shlex.split(args.protocol_args)
    scores: dict[str, dict] = {}
    out: dict[str, dict] = {}
    baseline_runs: dict[str, dict] = {}
    for name in names:
        seeds = seed_folders(args.fold_bases / name)
        if not seeds:
            out[name] = {"missing": f"no fold bases under {args.fold_bases / name} (fold0.samba or seed*/fold0.samba)"}
            continue
        results = {}
        for i, seed_dir in enumerate(seeds):
            calibrate = i < args.calibrated_seeds
            baselines = args.baselines and name == args.reference and i == 0  # once, on the same folds
            results[seed_dir.name] = {task: task_result(args.protocol, seed_dir, task, calibrate, extra, args.rerun,
                                                        args.protocol_timeout, baselines) for task in args.tasks}
            if baselines:
                baseline_runs = results[seed_dir.name]
            print(f"{name} {seed_dir.name}: scored", file=sys.stderr)
        scores[name] = variant_scores(results)
        out[name] = {"seeds": [p.name for p in seeds], "pretraining": pretraining(seeds)}
    reference = scores.get(args.reference)
    for name, cells in scores.items():
        out[name]["cells"] = summarise(cells, None if name == args.reference else reference)
    return out, baseline_runs


def baseline_rows(baseline_runs: dict[str, dict], reference_cells: dict) -> dict[str, dict]:
    """CSP+LDA, TS+LR and recentred TS+LR from ``{task: protocol result}`` of the reference's first seed
    (its protocol ran them on the same subject folds), each compared with the reference over the same subjects."""
    from ablation_cells import baseline_cells, summarise

    return {row: {"cells": summarise(cells, reference_cells)} for row, cells in baseline_cells(baseline_runs).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--fold-bases", type=Path, help="ROOT/<variant>/seed<s>/fold<j>.samba (bench/gpu_ablation_run.sh)")
    mode.add_argument("--smoke", action="store_true", help="pretrain tiny variants on the CPU (losses only)")
    ap.add_argument("--reference", default="default", help="the variant every other is compared with")
    ap.add_argument("--tasks", nargs="+", choices=("mi", "distraction"), default=["mi", "distraction"])
    ap.add_argument("--calibrated-seeds", type=int, default=99,
                    help="MI calibration (the slow part) on the first N seeds only; zero calibration on all")
    ap.add_argument("--rerun", action="store_true", help="run the protocol again even where <task>.json exists")
    ap.add_argument("--no-baselines", dest="baselines", action="store_false",
                    help="leave out the classic baselines (run once, on the reference's first seed, same folds)")
    ap.add_argument("--protocol", type=Path, default=REPO / "bench" / "cross_subject.py")
    ap.add_argument("--protocol-args", default="", help="extra arguments for the protocol, one quoted string")
    ap.add_argument("--protocol-timeout", type=float, help="seconds per protocol run")
    ap.add_argument("--model-config", type=Path, help="JSON of SambaConfig fields the variants start from")
    ap.add_argument("--latency-channels", type=int, default=64)
    ap.add_argument("--latency-steps", type=int, default=300)
    ap.add_argument("--corpus", type=Path, help="smoke: a prepared corpus")
    ap.add_argument("--spec", type=Path, help="smoke: a corpus spec to prepare")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="smoke: data folder")
    ap.add_argument("--smoke-subjects", type=int, default=2)
    ap.add_argument("--smoke-steps", type=int, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="smoke: pretraining seeds per variant")
    ap.add_argument("--markdown", type=Path, help="write the markdown tables here")
    ap.add_argument("--out", type=Path, help="also write the JSON result here")
    args = ap.parse_args()
    if args.fold_bases is not None and not args.fold_bases.is_dir():
        ap.error(f"--fold-bases {args.fold_bases} is not a folder: pass the ROOT that bench/gpu_ablation_run.sh train wrote")
    if args.model_config is not None and not args.model_config.is_file():
        ap.error(f"--model-config {args.model_config} not found: a JSON file of SambaConfig fields")
    least = {"calibrated_seeds": 0, "smoke_steps": 1, "latency_steps": 1, "latency_channels": 1, "smoke_subjects": 1}
    for flag, low in least.items():
        if getattr(args, flag) < low:
            ap.error(f"--{flag.replace('_', '-')} must be >= {low}, got {getattr(args, flag)}")
    torch.set_num_threads(1)
    base = SambaConfig.from_dict(json.loads(args.model_config.read_text())) if args.model_config else SambaConfig()
    names = [args.reference, *[n for n in args.variants if n != args.reference]]
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="samba-ablation-") as tmp:
        work = Path(tmp)
        measured, baseline_runs = ({}, {}) if args.smoke else measured_rows(args, names)
        for name in [n for n in names if "missing" in measured.get(n, {})]:
            if name == args.reference:
                ap.error(f"{measured[name]['missing']}: the reference must be there; train the fold bases with "
                         "bench/gpu_ablation_run.sh train CORPUS ROOT (ROOT/<variant>/seed<s>/fold<j>.samba)")
            print(f"warning: {measured[name]['missing']}: its row is left empty", file=sys.stderr)
        corpus_dir = smoke_corpus(args, work) if args.smoke else None
        for name in names:
            config, masking = variant_configs(name, base)
            row = {"model_overrides": VARIANTS[name][0], "masking": masking.__dict__,
                   "parameters": parameter_count(config),
                   "onnx_step_ms": step_latency(config, args.latency_channels, args.latency_steps),
                   "fused_step_ms": step_latency(config, args.latency_channels, args.latency_steps, "fused")}
            if args.smoke:
                small = replace(SambaConfig(**SMOKE_MODEL, sample_rate=base.sample_rate),
                                **{**OUR_OPTIONS, **VARIANTS[name][0]})
                pre: dict[str, list[float]] = {}
                for seed in args.seeds:
                    for key, values in smoke_pretrain(small, masking, corpus_dir, work / name / str(seed),
                                                      args.smoke_steps, seed).items():
                        pre.setdefault(key, []).extend(values)
                row["pretraining"] = pre
            else:
                row.update(measured[name])
            rows[name] = row
            print(f"{name}: {row['parameters']['all']:,} parameters, ONNX step p99 {row['onnx_step_ms']['p99_ms']:.3f} ms",
                  file=sys.stderr)
    table = markdown_tables(rows, args.reference)
    baselines = baseline_rows(baseline_runs, rows[args.reference].get("cells", {})) if baseline_runs else {}
    if baselines:
        table += "\n" + baseline_table(baselines, args.reference)
    print(table)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table)
    emit({"benchmark": "fidelity-ablation", "mode": "smoke" if args.smoke else "fold-bases",
          "reference": args.reference, "variants": rows, "baselines": baselines}, args.out)


if __name__ == "__main__":
    main()
