"""Pretraining throughput: one full TSRM training step, mamba_ssm Triton kernels vs the plain-PyTorch scan.

The step is exactly the trainer's (``samba_core.pretraining.objective.update_step``, its AdamW:
fused on CUDA): ``Samba(SambaConfig())`` with frozen heads, bf16 autocast on CUDA, forward with
TSRM time masks over a (batch, channels, time) batch, per-crop masked reconstruction loss,
backward, gradient clipping, AdamW. Only the SSD scan differs between the two paths
(``Mamba2Mixer.use_kernels``). Each path runs in two modes: ``eager`` (one Python call per
kernel) and ``graphs`` (the whole step captured as one CUDA graph, ``--cuda-graphs``). SAMBA's
step is host-bound in eager mode, so the kernels' speed only shows once the launches are out
of the way; the speedup is reported per mode, kernels vs reference in the same mode.

``--extras`` adds graphed cases on CUDA: ``foreach`` (the unfused AdamW, what the fused one
replaced), ``compile`` (``--compile``: torch.compile around the mamba_ssm scan),
``compile-reference``, and ``togetherN`` (N runs, each on its own CUDA stream, stepped
round-robin as ``samba-pretrain train-many`` does; step_ms is the round's time over N, the
cost of one run's step when N share the GPU). ``speedup_best_kernels_step_vs_reference_graphs``
sets the fastest single-run kernels step against the plain reference step, both graphed.

Method: random EEG-scale input (never zeros), 64 channels on a head-sized sphere; per
case: ``--warmup`` untimed steps (Triton compilation, autotuning and graph capture stay out),
then ``--steps`` steps, each timed on the host around the step and a device synchronisation;
the median is reported. Peak memory is ``torch.cuda.max_memory_allocated`` over the timed
steps, parameters and optimiser state included; in graphs mode the graph's memory pool is
only in ``peak_reserved_mib``. Tokens/s counts input samples (the finest-rate tokens):
batch x length / step time. A case that fails (out of memory, say) is reported as such.

    python bench/pretrain_throughput.py [--lengths 16384 65536] [--batch 4] [--modes eager graphs]
        [--extras foreach compile compile-reference together4 together16] [--out FILE]

Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
_ROOT = Path(__file__).resolve().parents[1]
# The shared test helpers; the repo first, so that tests/samba_core cannot shadow the package.
sys.path[:0] = [str(_ROOT), str(_ROOT / "tests")]
from helpers.mamba_stub import register_selective_scan_stub  # noqa: E402

register_selective_scan_stub()

from samba_core.config import SambaConfig  # noqa: E402
from samba_core.masking import MaskingConfig, temporal_span_mask  # noqa: E402
from samba_core.pretraining.batches import Batch  # noqa: E402
from samba_core.pretraining.config import PretrainConfig  # noqa: E402
from samba_core.pretraining.graph import GraphedStep, set_capturable  # noqa: E402
from samba_core.pretraining.objective import update_step  # noqa: E402
from samba_core.pretraining.trainer import _optimizer, build_model  # noqa: E402
from samba_core.ssd import kernels_available  # noqa: E402


def make_batch(batch: int, channels: int, length: int, rate: float, device: torch.device) -> Batch:
    gen = torch.Generator().manual_seed(length)
    x = torch.randn(batch, channels, length, generator=gen) * 20.0
    v = torch.randn(channels, 3, generator=gen)
    v[:, 2] = v[:, 2].abs()
    coords = (0.09 * v / v.norm(dim=1, keepdim=True)).expand(batch, channels, 3).contiguous()
    time_mask = temporal_span_mask(batch, length, rate, MaskingConfig(), gen)
    ones = torch.ones(batch, channels, dtype=torch.bool)
    return Batch(x, coords, ones, time_mask, torch.ones(batch, length, dtype=torch.bool),
                 [length] * batch, [channels] * batch).to(device)


def _one_run(length: int, use_kernels: bool, graphs: bool, args, device: torch.device, fused: bool, compiled: bool):
    """(step function, GraphedStep or None) of one model with the trainer's optimiser and step."""
    config = SambaConfig()
    model = build_model(config, PretrainConfig(use_kernels=use_kernels)).to(device)
    opt = _optimizer(model, PretrainConfig(lr=1e-4), fused=fused and device.type == "cuda")
    set_capturable(opt, graphs, device)
    batch = make_batch(args.batch, args.channels, length, config.sample_rate, device)
    autocast = args.precision == "bf16" and device.type == "cuda"
    net = torch.compile(model) if compiled else model

    def update(b: Batch) -> tuple[torch.Tensor, ...]:
        return update_step(net, opt, b, MaskingConfig(), config.input_scale_uv, 1.0, autocast=autocast, graphs=graphs)

    graphed = GraphedStep(update) if graphs else None
    run = graphed or update
    return (lambda: run(batch)[0]), graphed


def run_case(length: int, use_kernels: bool, graphs: bool, args, device: torch.device, *, fused: bool = True,
             compiled: bool = False, together: int = 1) -> dict:
    """Median step time of one case; ``together`` > 1: that many runs, each on its own CUDA stream,
    stepped round-robin as ``samba-pretrain train-many`` does (step_ms = round time / runs)."""
    runs = [_one_run(length, use_kernels, graphs, args, device, fused, compiled) for _ in range(together)]
    streams = [torch.cuda.Stream(device) if together > 1 else None for _ in runs]

    def step() -> float:
        losses = []
        for (fn, _), stream in zip(runs, streams):
            if stream is None:
                losses.append(fn())
            else:
                with torch.cuda.stream(stream):
                    losses.append(fn())
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return float(torch.stack([x.float().mean() for x in losses]).mean())

    # Graphs: the GraphedStep's eager warm-up calls and its capture stay out of the timing too.
    for _ in range(args.warmup + (runs[0][1].warmup + 1 if graphs else 0)):
        loss = step()
    times = []
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(args.steps):
        t0 = time.perf_counter()
        loss = step()  # synchronises the device before returning
        times.append((time.perf_counter() - t0) * 1e3 / together)
    ms = statistics.median(times)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    # A captured graph's private memory pool is set aside at capture, before the peak is reset:
    # what the GPU holds for it shows in the reserved memory, not in the allocated peak.
    reserved = torch.cuda.max_memory_reserved(device) / 2**20 if device.type == "cuda" else None
    return {
        "length": length, "path": "kernels" if use_kernels else "reference", "mode": "graphs" if graphs else "eager",
        "optimizer": "fused" if fused and device.type == "cuda" else "foreach", "compiled": compiled, "together": together,
        "replays": runs[0][1].replays if graphs else None, "step_ms": round(ms, 3),
        "step_ms_min": round(min(times), 3), "step_ms_max": round(max(times), 3),
        "tokens_per_s": round(args.batch * length / (ms / 1e3)), "peak_mem_mib": None if peak is None else round(peak, 1),
        "peak_reserved_mib": None if reserved is None else round(reserved, 1),
        "loss": loss, "finite": bool(np.isfinite(loss)),
    }


EXTRAS = {"foreach": {"fused": False}, "compile": {"compiled": True},
          "compile-reference": {"compiled": True, "use_kernels": False}}
EXTRA_KEYS = ("fused", "compiled", "together")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[16384, 65536])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--precision", choices=("bf16", "fp32"), default="bf16")
    parser.add_argument("--modes", nargs="+", choices=("eager", "graphs"), default=["eager", "graphs"],
                        help="graphs needs CUDA; ignored on CPU")
    parser.add_argument("--extras", nargs="*", default=[], metavar="CASE",
                        help="CUDA: more graphed cases per length: foreach (unfused AdamW), compile, "
                             "compile-reference, togetherN (N runs on N streams, as train-many)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")
    kernels = device.type == "cuda" and kernels_available()
    paths = [True, False] if kernels else [False]
    modes = [m for m in args.modes if device.type == "cuda" or m == "eager"] or ["eager"]
    cases = [dict(length=n, use_kernels=k, graphs=m == "graphs") for n in args.lengths for m in modes for k in paths]
    if device.type == "cuda":  # the training step's options, each against the default kernels step, graphed
        for n in args.lengths:
            for extra in args.extras:
                options = dict(EXTRAS[extra]) if extra in EXTRAS else {"together": int(extra.removeprefix("together"))}
                cases.append(dict(length=n, use_kernels=options.pop("use_kernels", kernels), graphs=True, **options))
    results = []
    for c in cases:
        label = {"length": c["length"], "path": "kernels" if c["use_kernels"] else "reference",
                 "mode": "graphs" if c["graphs"] else "eager", **{k: v for k, v in c.items() if k in EXTRA_KEYS}}
        try:
            results.append(run_case(c.pop("length"), c.pop("use_kernels"), c.pop("graphs"), args, device, **c))
        except torch.cuda.OutOfMemoryError:
            results.append({**label, "error": "out of memory"})
        except Exception as exc:  # report and go on: the other cases still mean something
            results.append({**label, "error": f"{type(exc).__name__}: {exc}"[:500]})
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
        r = results[-1]
        tag = f"{r.get('optimizer', 'fused')}{' compiled' if r.get('compiled') else ''} x{r.get('together', 1)}"
        print(f"{r['length']:>8} {r['path']:>10} {r['mode']:>7} {tag:>18} " + (
            f"{r['step_ms']:>10.2f} ms/step {r['tokens_per_s']:>12,} tokens/s  peak {r['peak_mem_mib']} MiB"
            if "error" not in r else r["error"]), flush=True)
    speedup: dict[str, dict[str, float]] = {}
    for mode in modes:
        for length in args.lengths:
            by = {r["path"]: r for r in results if r["length"] == length and r["mode"] == mode and "error" not in r
                  and r["optimizer"] == "fused" and not r["compiled"] and r["together"] == 1}
            if "kernels" in by and "reference" in by:
                speedup.setdefault(mode, {})[str(length)] = round(by["reference"]["step_ms"] / by["kernels"]["step_ms"], 2)
    # The best single-run kernels step (any optimiser or compilation) against the plain reference step, graphed.
    best: dict[str, float] = {}
    for length in args.lengths:
        ok = [r for r in results if r["length"] == length and r["mode"] == "graphs" and "error" not in r and r["together"] == 1]
        ref = [r["step_ms"] for r in ok if r["path"] == "reference" and not r["compiled"] and r["optimizer"] == "fused"]
        fast = [r["step_ms"] for r in ok if r["path"] == "kernels"]
        if ref and fast:
            best[str(length)] = round(ref[0] / min(fast), 2)
    summary = {
        "bench": "pretrain_throughput", "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "mamba_ssm_kernels": kernels, "model": "SambaConfig()", "batch": args.batch,
        "channels": args.channels, "precision": args.precision if device.type == "cuda" else "fp32",
        "timed_steps": args.steps, "results": results, "speedup_kernels_vs_reference": speedup,
        "speedup_best_kernels_step_vs_reference_graphs": best,
        "target_5x_met_by_mode": {m: bool(v) and all(x >= 5 for k, x in v.items() if int(k) >= 16384)
                                  for m, v in speedup.items()},
    }
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
