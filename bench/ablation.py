"""Fidelity ablation: each of the paper's options against our default, on the cross-subject protocol.

Variants (SambaConfig / MaskingConfig overrides of the default; see samba_core/FIDELITY.md):
``default`` (ours), ``saie`` (the paper's spatial embedding), ``diff-bottleneck`` (our
differential form, bottleneck only), ``diff-paper`` (the paper's paired form, bottleneck
only), ``objective-paper`` (the paper's masking and loss, causal decoder),
``infill-paper`` (the paper's objective with the bidirectional pretraining decoder) and
``paper`` (all of the above).

For every variant the table holds the parameter count and the ONNX decoding step's
p50/p99 latency (64 channels, the shipped size), then

- with ``--fold-bases ROOT``: the cross-subject protocol run on ``ROOT/<variant>`` (the
  per-fold bases pretrained for that variant, e.g. on the GPU machine), by calling
  ``bench/cross_subject.py --fold-bases ROOT/<variant> [--protocol-args ...]`` as a
  subprocess and reading the JSON object on its last line. Every numeric leaf named like
  one of the scores (balanced accuracy, F1, Cohen's kappa, AUROC, loss) becomes a cell; a list of
  per-seed values becomes mean and 95 % t-interval. The pretraining validation loss and
  nMSE are read from the ``summary.json`` files under ``ROOT/<variant>``.
- with ``--smoke``: each variant is pretrained for ``--smoke-steps`` steps on a small CPU
  corpus (``--corpus`` prepared, or ``--spec``, or the first ``--smoke-subjects`` subjects
  found on disk that the data README does not reserve) at a tiny size; only pretraining
  losses, parameters and latency are filled (the protocol needs real fold bases).

Writes ``--markdown FILE`` (the docs' table) and prints one JSON object as the last line.

    python bench/ablation.py --fold-bases runs/ablation --protocol-args "--seeds 0 1 2" --markdown table.md
    python bench/ablation.py --smoke --smoke-steps 20 --variants default saie --markdown /tmp/smoke.md
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
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
from interleaved import montage, summarise  # noqa: E402

from samba_core import Samba, SambaConfig  # noqa: E402
from samba_core.masking import MaskingConfig  # noqa: E402
from samba_core.onnx_export import OnnxStepRunner, export_step_onnx  # noqa: E402

PAPER_DIFF = {"differential_form": "paper", "differential_stages": ("bottleneck",)}
#: name -> (SambaConfig overrides, masking: "ours" or "paper").
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
    return replace(base, **overrides), MaskingConfig.paper() if masking == "paper" else MaskingConfig()


#: Modules that only the reconstruction (pretraining) uses: never streamed, never exported.
RECONSTRUCTION_ONLY = ("decoder", "upsample", "recon_norm", "recon_proj", "readout", "mask_token")


def parameter_count(config: SambaConfig) -> dict[str, int]:
    """All parameters, and those the live decoder runs (spatial embedding, encoder, heads)."""
    params = dict(Samba(config).named_parameters())
    streamed = sum(p.numel() for n, p in params.items() if n.split(".")[0] not in RECONSTRUCTION_ONLY)
    return {"all": sum(p.numel() for p in params.values()), "streamed": streamed}


def onnx_step_latency(config: SambaConfig, channels: int = 64, steps: int = 300) -> dict[str, float]:
    """p50/p99/mean ms of one exported decoding step (one token) with onnxruntime, one thread."""
    torch.manual_seed(0)
    model = Samba(config).eval()
    coords = montage(channels)
    rng = np.random.default_rng(1)
    chunks = [(rng.normal(size=(channels, config.hop)) * 20).astype(np.float32) for _ in range(steps)]
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
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


def last_json_line(text: str) -> dict:
    """The JSON object on the last non-empty line of a benchmark's output."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the protocol printed nothing")
    return json.loads(lines[-1])


def run_protocol(script: Path, fold_dir: Path, extra: list[str], timeout: float | None) -> dict:
    """Run the cross-subject protocol on one variant's fold bases; its last-line JSON."""
    if not script.is_file():
        raise FileNotFoundError(f"{script} not found: the cross-subject protocol (bench/cross_subject.py) is needed "
                                "for --fold-bases; pass --protocol PATH")
    cmd = [sys.executable, str(script), "--fold-bases", str(fold_dir), *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return last_json_line(done.stdout)


def score_cells(result, path: str = "") -> dict[str, list[float]]:
    """Numeric leaves of a protocol result whose key is a score: 'path/to/score' -> values (per seed or fold)."""
    cells: dict[str, list[float]] = {}
    if isinstance(result, dict):
        for key, value in result.items():
            name = f"{path}/{key}" if path else str(key)
            if key in SCORES and _numbers(value) is not None:
                cells[name] = _numbers(value)
            else:
                cells.update(score_cells(value, name))
    return cells


def _numbers(value) -> list[float] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value]
    return None


def interval(values: list[float], level: float = 0.95) -> dict[str, float]:
    """Mean and the two-sided t-interval of the mean (NaN bounds for a single value)."""
    from scipy import stats

    a = np.asarray(values, dtype=float)
    mean = float(a.mean())
    if a.size < 2:
        return {"mean": mean, "low": float("nan"), "high": float("nan"), "n": int(a.size)}
    half = float(stats.t.ppf(0.5 + level / 2, a.size - 1) * a.std(ddof=1) / np.sqrt(a.size))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": int(a.size)}


def pretraining_losses(folder: Path) -> dict[str, list[float]]:
    """Final validation loss and nMSE of every pretraining run (summary.json) under ``folder``."""
    out: dict[str, list[float]] = {"pretrain/val_loss": [], "pretrain/val_nmse": []}
    for summary in sorted(folder.rglob("summary.json")):
        final = json.loads(summary.read_text()).get("final", {}).get("val.csv", {})
        for key in ("val_loss", "val_nmse"):
            if key in final:
                out[f"pretrain/{key}"].append(float(final[key]))
    return {k: v for k, v in out.items() if v}


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
    from samba_core.pretraining.config import CropConfig, PretrainConfig
    from samba_core.pretraining.corpus import load_corpus
    from samba_core.pretraining.trainer import pretrain

    crops = CropConfig(context_s=8.0, batch_size=4, masking=masking)
    train = PretrainConfig(steps=steps, lr=3e-3, warmup_steps=max(1, steps // 10), precision="fp32", seed=seed,
                           log_every=steps, val_every=steps, save_every=steps, crops=crops)
    pretrain(load_corpus(corpus_dir), config, train, out, progress=False, log=lambda *a, **k: None)
    return pretraining_losses(out)


def _cell(values: list[float]) -> str:
    iv = interval(values)
    if iv["n"] < 2:
        return f"{iv['mean']:.3f} (n=1)"
    return f"{iv['mean']:.3f} [{iv['low']:.3f}, {iv['high']:.3f}] (n={iv['n']})"


def markdown_table(rows: dict[str, dict]) -> str:
    """One row per variant: parameters, ONNX step p99, then every cell any variant has (blank where absent)."""
    columns = sorted({c for row in rows.values() for c in row["cells"]})
    head = ["variant", "parameters (all / streamed)", "ONNX step p50 / p99 (ms)", *columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in rows.items():
        cells = [_cell(row["cells"][c]) if c in row["cells"] else "not measured" for c in columns]
        params, ms = row["parameters"], row["onnx_step_ms"]
        lines.append(f"| {name} | {params['all']:,} / {params['streamed']:,} | {ms['p50_ms']:.3f} / {ms['p99_ms']:.3f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--fold-bases", type=Path, help="ROOT holding one folder of fold bases per variant")
    mode.add_argument("--smoke", action="store_true", help="pretrain tiny variants on the CPU (losses only)")
    ap.add_argument("--protocol", type=Path, default=REPO / "bench" / "cross_subject.py")
    ap.add_argument("--protocol-args", default="", help="extra arguments for the protocol, one quoted string")
    ap.add_argument("--protocol-timeout", type=float, help="seconds per variant")
    ap.add_argument("--model-config", type=Path, help="JSON of SambaConfig fields the variants start from")
    ap.add_argument("--latency-channels", type=int, default=64)
    ap.add_argument("--latency-steps", type=int, default=300)
    ap.add_argument("--corpus", type=Path, help="smoke: a prepared corpus")
    ap.add_argument("--spec", type=Path, help="smoke: a corpus spec to prepare")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="smoke: data folder")
    ap.add_argument("--smoke-subjects", type=int, default=2)
    ap.add_argument("--smoke-steps", type=int, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="smoke: pretraining seeds per variant")
    ap.add_argument("--markdown", type=Path, help="write the markdown table here")
    ap.add_argument("--out", type=Path, help="also write the JSON result here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = SambaConfig.from_dict(json.loads(args.model_config.read_text())) if args.model_config else SambaConfig()
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="samba-ablation-") as tmp:
        work = Path(tmp)
        corpus_dir = smoke_corpus(args, work) if args.smoke else None
        for name in args.variants:
            t0 = time.perf_counter()
            config, masking = variant_configs(name, base)
            row = {"model_overrides": VARIANTS[name][0], "masking": masking.__dict__,
                   "parameters": parameter_count(config),
                   "onnx_step_ms": onnx_step_latency(config, args.latency_channels, args.latency_steps), "cells": {}}
            if args.smoke:
                small = replace(SambaConfig(**SMOKE_MODEL, sample_rate=base.sample_rate), **VARIANTS[name][0])
                for seed in args.seeds:
                    found = smoke_pretrain(small, masking, corpus_dir, work / name / str(seed), args.smoke_steps, seed)
                    for key, values in found.items():
                        row["cells"].setdefault(f"smoke {key}", []).extend(values)
            else:
                fold_dir = args.fold_bases / name
                if not fold_dir.is_dir():
                    row["missing"] = f"no fold bases at {fold_dir}"
                else:
                    result = run_protocol(args.protocol, fold_dir, shlex.split(args.protocol_args), args.protocol_timeout)
                    row["protocol"] = result
                    row["cells"] = {**score_cells(result), **pretraining_losses(fold_dir)}
            row["cells_interval"] = {k: interval(v) for k, v in row["cells"].items()}
            row["seconds"] = round(time.perf_counter() - t0, 1)
            rows[name] = row
            print(f"{name}: {row['parameters']['all']:,} parameters, ONNX step p99 {row['onnx_step_ms']['p99_ms']:.3f} ms, "
                  f"{len(row['cells'])} cells", file=sys.stderr)
    table = markdown_table(rows)
    print(table)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table)
    emit({"benchmark": "fidelity-ablation", "mode": "smoke" if args.smoke else "fold-bases", "variants": rows},
         args.out)


if __name__ == "__main__":
    main()
