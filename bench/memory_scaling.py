"""Peak memory and time of one training step (forward + backward) versus sequence length: SAMBA vs a Transformer.

Usage::

    python bench/memory_scaling.py --device cuda [--lengths 16384 32768 ...] [--out FILE]
    python bench/memory_scaling.py --device cpu  [--lengths 4096 8192 ...]   [--out FILE]

Workloads (batch 1 by default, 64 EEG channels, float32, loss = MSE of the reconstruction
plus the mean of every head's logits, so every parameter takes part in the backward):

``samba_kernels``
    ``Samba(SambaConfig())`` with mamba_ssm's Triton SSD kernels (CUDA only).
``samba_reference``
    The same network on the plain-PyTorch chunked scan (``use_kernels = False``).
``transformer_math``
    The baseline with standard attention: softmax(QK^T) materialised, memory quadratic
    in the number of tokens (``SDPBackend.MATH``).
``transformer_fused``
    The same baseline with PyTorch's fused scaled-dot-product attention; the backend
    that ran (flash or memory-efficient) is reported under ``sdpa_fused_backend``.

Baseline choice (a fair match to the default SAMBA): patches of ``hop`` = 16 samples x
64 channels are flattened and linearly embedded as tokens (one token per SAMBA
bottleneck token), width d_model = 96 = SAMBA's widest stage, 6 heads of 16 channels
(SAMBA's headdim), 6 pre-norm ``nn.TransformerEncoderLayer`` blocks = SAMBA's total
number of Mamba blocks (encoder 1+1+2, decoder 1+1), feed-forward 4 x d_model, dropout
0, bidirectional attention (no causal mask, the cheaper and usual EEG-transformer
setting), fixed sinusoidal positions, and a linear head mapping every token back to its
16 x 64 samples plus two 2-class heads. Attention calls use ``need_weights=False``.

Method. On CUDA each workload runs in its own subprocess over all lengths (one warm-up
step at the shortest length first, so kernel compilation and autotuning stay out of the
numbers); memory is ``torch.cuda.max_memory_allocated`` over the first step at a length,
parameters and inputs included; time is the median of the CUDA-event-timed steps after
it. Lengths grow until out-of-memory (``torch.cuda.OutOfMemoryError``), an error, the
time budget, or the end of the list. The mamba_ssm kernels put batch x chunks and
chunks x groups into launch-grid dimensions that CUDA limits to 65,535, so the kernel
path fails ("Triton Error [CUDA]: invalid argument") beyond ``kernel_length_cap``:
32,767 chunks x 64 = 2,097,088 samples for the default differential mixer (2 groups)
at batch 1. The default CUDA lengths include that cap, then go on for the other
workloads. On CPU every (workload, length) runs in a fresh subprocess (after one
256-sample warm-up step) and memory is the rise of the peak resident set (VmHWM, reset
through /proc/self/clear_refs) over the resident set before the step, plus parameters
and input; CPU times are wall-clock and noisy on a shared machine.

Report. Budget = the peak memory of ``transformer_math`` at its longest length that
fits. For each workload: the longest measured length whose peak stays within it, and
the SAMBA length interpolated at that budget from a linear fit of peak vs length. The
ratio of SAMBA's to the Transformer's longest length at equal memory, and the log-log
slope of activation memory (peak minus parameters) vs length over the upper lengths
(1 = linear, 2 = quadratic). A table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
_ROOT = Path(__file__).resolve().parents[1]
# The shared test helpers; the repo first, so that tests/samba_core cannot shadow the package.
sys.path[:0] = [str(_ROOT), str(_ROOT / "tests")]
from helpers.mamba_stub import register_selective_scan_stub  # noqa: E402

register_selective_scan_stub()

from samba_core.config import SambaConfig  # noqa: E402
from samba_core.model import Samba  # noqa: E402
from samba_core.ssd import kernels_available  # noqa: E402
from scaling_workloads import (  # noqa: E402
    CHANNELS, WORKLOADS, attention_context, build_model, eeg_batch, eeg_coords, fused_sdpa_backend,
    kernel_length_cap, sync, timed_train_step, train_step, transformer_for,
)

CUDA_LENGTHS = [16_384 * m for m in (1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96)] + [
    kernel_length_cap(SambaConfig()), 3 * 2**20, 4 * 2**20 - 64]
CPU_LENGTHS = [4096, 8192, 16_384, 32_768, 65_536]
RESULT_TAG = "RESULT "


# -- one measurement -------------------------------------------------------------------------------
def time_steps(model: nn.Module, x: Tensor, coords: Tensor, device: torch.device, first_s: float) -> float:
    """Median seconds of further steps: 3 when a step is short, else 1.

    On CUDA a new length can trigger Triton recompilation (integer arguments are
    specialised on divisibility by 16), so the first step at a length is never timed
    there; on CPU a slow first step stands, to keep the run short.
    """
    if first_s > 1.0 and device.type != "cuda":
        return first_s
    times = [timed_train_step(model, x, coords) for _ in range(3 if first_s <= 1.0 else 1)]
    return statistics.median(times)


def _proc_kib(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}: peak RSS needs Linux")


def measure_cuda(model: nn.Module, batch: int, length: int, coords: Tensor, device: torch.device) -> dict:
    model.zero_grad(set_to_none=True)
    gc.collect()
    torch.cuda.empty_cache()
    static = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    x = eeg_batch(batch, length, device)
    t0 = time.perf_counter()
    train_step(model, x, coords)
    torch.cuda.synchronize()
    first = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated()
    seconds = time_steps(model, x, coords, device, first)
    return {"length": length, "peak_bytes": peak, "static_bytes": static, "time_s": seconds,
            "samples_per_s": batch * length / seconds}


def measure_cpu(model: nn.Module, batch: int, length: int, coords: Tensor, device: torch.device) -> dict:
    x = eeg_batch(batch, length, device)
    gc.collect()
    before_kib = _proc_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM to the current RSS
        f.write("5")
    t0 = time.perf_counter()
    train_step(model, x, coords)
    first = time.perf_counter() - t0
    peak_rise = (_proc_kib("VmHWM") - before_kib) * 1024
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    seconds = time_steps(model, x, coords, device, first)
    # Parameters and the input were resident before the step: add them so that peak_bytes
    # means the same as on CUDA (everything the step needs).
    return {"length": length, "peak_bytes": peak_rise + param_bytes + x.numel() * 4, "static_bytes": param_bytes,
            "rss_rise_bytes": peak_rise, "time_s": seconds, "samples_per_s": batch * length / seconds}


def run_worker(workload: str, device: torch.device, lengths: list[int], batch: int, budget_s: float) -> None:
    """Measure ``workload`` at ``lengths`` in this process; one RESULT line per point, then a STOP line."""
    started = time.perf_counter()
    model = build_model(workload, device)
    coords = eeg_coords().to(device)
    measure = measure_cuda if device.type == "cuda" else measure_cpu

    def emit(kind: str, payload: dict) -> None:
        print(RESULT_TAG + json.dumps({"kind": kind, "workload": workload, **payload}), flush=True)

    stop = "all lengths done"
    with attention_context(workload, device):
        # One short step first: kernel compilation, autotuning, workspaces and lazy
        # initialisation stay out of the measurements (on CPU a short one, so the
        # allocator keeps little that the measured step could reuse).
        train_step(model, eeg_batch(batch, min(lengths) if device.type == "cuda" else 256, device), coords)
        sync(device)
        for length in lengths:
            if time.perf_counter() - started > budget_s:
                stop = f"time budget of {budget_s:.0f} s spent before length {length}"
                break
            try:
                emit("point", measure(model, batch, length, coords, device))
            except torch.cuda.OutOfMemoryError:
                stop = f"out of memory at length {length}"
                break
            except RuntimeError as e:  # e.g. a kernel launch grid over its limits
                stop = f"error at length {length}: {str(e).splitlines()[0][:200]}"
                break
    emit("stop", {"reason": stop})


# -- sweeps in subprocesses ----------------------------------------------------------------------------
def _spawn(workload: str, device: str, lengths: list[int], batch: int, budget_s: float, timeout_s: float) -> list[dict]:
    cmd = [sys.executable, __file__, "--worker", workload, "--device", device, "--batch", str(batch),
           "--time-budget", str(budget_s), "--lengths", *map(str, lengths)]
    records: list[dict] = []
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        out, err, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), "", "timeout"
    for line in out.splitlines():
        if line.startswith(RESULT_TAG):
            records.append(json.loads(line[len(RESULT_TAG):]))
    if not any(r["kind"] == "stop" for r in records):
        tail = err.strip().splitlines()[-1][:200] if err.strip() else f"exit status {rc}"
        records.append({"kind": "stop", "workload": workload, "reason": f"worker died: {tail}"})
    return records


def sweep(workload: str, device: str, lengths: list[int], batch: int, budget_s: float) -> dict:
    """All points of one workload: one subprocess for all lengths on CUDA, one per length on CPU."""
    points, reason = [], "all lengths done"
    groups = [lengths] if device == "cuda" else [[n] for n in lengths]
    for group in groups:
        records = _spawn(workload, device, group, batch, budget_s, timeout_s=budget_s + 300)
        new = [r for r in records if r["kind"] == "point"]
        for r in new:
            print(f"  {workload:18s} L={r['length']:>9,d}  peak {r['peak_bytes'] / 2**20:10.1f} MiB  "
                  f"{r['time_s'] * 1e3:9.1f} ms", flush=True)
        points += new
        reason = next(r["reason"] for r in records if r["kind"] == "stop")
        if not new or reason != "all lengths done":
            break
    for p in points:
        p.pop("kind", None), p.pop("workload", None)
    return {"points": points, "stop": reason}


# -- analysis ---------------------------------------------------------------------------------------
def loglog_slope(points: list[dict]) -> float | None:
    """Slope of log(activation memory) vs log(length) over lengths >= 1/16 of the longest (>= 3 points)."""
    pts = [p for p in points if p["peak_bytes"] > p["static_bytes"]]
    if len(pts) < 3:
        return None
    top = max(p["length"] for p in pts)
    upper = [p for p in pts if p["length"] >= top / 16]
    pts = upper if len(upper) >= 3 else pts[-3:]
    xs = [math.log(p["length"]) for p in pts]
    ys = [math.log(p["peak_bytes"] - p["static_bytes"]) for p in pts]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def linear_fit(points: list[dict]) -> tuple[float, float] | None:
    """Least-squares peak_bytes = a + b * length over the upper half of the points: (a, b)."""
    pts = points[len(points) // 2:] if len(points) >= 4 else points
    if len(pts) < 2:
        return None
    xs, ys = [p["length"] for p in pts], [p["peak_bytes"] for p in pts]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def analyse(results: dict[str, dict]) -> dict:
    """Budget, lengths at equal memory, ratios and slopes (see the module docstring)."""
    summary: dict = {"max_fit_length": {}, "loglog_slope": {}, "bytes_per_sample": {}}
    for name, r in results.items():
        pts = r["points"]
        summary["max_fit_length"][name] = max((p["length"] for p in pts), default=None)
        summary["loglog_slope"][name] = loglog_slope(pts)
        fit = linear_fit(pts)
        summary["bytes_per_sample"][name] = fit[1] if fit else None
    base = results.get("transformer_math", {}).get("points", [])
    if not base:
        return summary
    top = max(base, key=lambda p: p["length"])
    budget = top["peak_bytes"]
    summary["budget_bytes"] = budget
    summary["budget_source_length"] = top["length"]
    at_budget = {name: max((p["length"] for p in r["points"] if p["peak_bytes"] <= budget), default=None)
                 for name, r in results.items()}
    summary["max_length_at_budget"] = at_budget
    # A measured length is a lower bound when the sweep stopped for any reason but memory.
    summary["at_budget_is_lower_bound"] = {
        name: not r["stop"].startswith("out of memory") and all(p["peak_bytes"] <= budget for p in r["points"])
        for name, r in results.items()
    }
    for name in ("samba_kernels", "samba_reference", "transformer_fused"):
        if at_budget.get(name):
            summary[f"ratio_{name}_vs_transformer_math"] = at_budget[name] / top["length"]
        fit = linear_fit(results.get(name, {}).get("points", []))
        if fit and fit[1] > 0:
            interp = (budget - fit[0]) / fit[1]
            summary[f"{name}_linear_fit_length_at_budget"] = interp
            summary[f"ratio_{name}_linear_fit_vs_transformer_math"] = interp / top["length"]
    return summary


def print_table(results: dict[str, dict], summary: dict) -> None:
    lengths = sorted({p["length"] for r in results.values() for p in r["points"]})
    names = list(results)
    print("\npeak memory (MiB) / time (ms) of one forward+backward step")
    print(f"{'length':>10s} | " + " | ".join(f"{n:>22s}" for n in names))
    for n in lengths:
        cells = []
        for name in names:
            p = next((p for p in results[name]["points"] if p["length"] == n), None)
            cells.append(f"{p['peak_bytes'] / 2**20:10.0f} /{p['time_s'] * 1e3:9.1f}" if p else f"{'-':>22s}")
        print(f"{n:>10,d} | " + " | ".join(cells))
    for name in names:
        print(f"{name}: stopped: {results[name]['stop']}; log-log slope {summary['loglog_slope'].get(name)}")
    if "budget_bytes" in summary:
        print(f"budget = transformer_math peak at L={summary['budget_source_length']:,d}: "
              f"{summary['budget_bytes'] / 2**30:.2f} GiB; longest length within it: {summary['max_length_at_budget']}")
        for key, value in summary.items():
            if key.startswith("ratio_"):
                print(f"{key}: {value:.2f}")


def environment(device: str) -> dict:
    env = {"device": device, "torch": torch.__version__, "threads": torch.get_num_threads()}
    if device == "cuda":
        env["device_name"] = torch.cuda.get_device_name()
        env["device_memory_bytes"] = torch.cuda.get_device_properties(0).total_memory
        env["mamba_kernels"] = kernels_available()
        env["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
        try:
            import mamba_ssm

            env["mamba_ssm"] = mamba_ssm.__version__
        except Exception:  # reported as absent
            env["mamba_ssm"] = None
    env["sdpa_fused_backend"] = fused_sdpa_backend(torch.device(device))
    return env


def main(argv: list[str] | None = None) -> dict | None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--lengths", type=int, nargs="+", help="sequence lengths in samples (default: per device)")
    ap.add_argument("--workloads", nargs="+", choices=WORKLOADS, help="default: all that the device supports")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--time-budget", type=float, default=None, help="seconds per workload (default 75 cuda, 120 cpu)")
    ap.add_argument("--out", type=Path, help="also write the JSON result here")
    ap.add_argument("--worker", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible; use --device cpu")
    budget = args.time_budget or (75.0 if args.device == "cuda" else 120.0)
    lengths = sorted(int(n) for n in (args.lengths or (CUDA_LENGTHS if args.device == "cuda" else CPU_LENGTHS)))
    if args.worker:
        run_worker(args.worker, torch.device(args.device), lengths, args.batch, budget)
        return None

    kernels = args.device == "cuda" and kernels_available()
    workloads = args.workloads or [w for w in WORKLOADS if w != "samba_kernels" or kernels]
    config = SambaConfig()
    results = {}
    for w in workloads:
        print(f"{w}:", flush=True)
        results[w] = sweep(w, args.device, lengths, args.batch, budget)
    summary = analyse(results)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    report = {
        "benchmark": "memory_scaling", "batch": args.batch, "channels": CHANNELS, "dtype": "float32",
        "environment": environment(args.device),
        "samba": {"dims": list(config.dims), "encoder_depths": list(config.encoder_depths),
                  "decoder_depths": list(config.decoder_depths), "factors": list(config.factors),
                  "d_state": config.d_state, "headdim": config.headdim, "chunk_size": config.chunk_size,
                  "parameters": count(Samba(config)), "kernel_length_cap": kernel_length_cap(config, args.batch)},
        "transformer": {"d_model": max(config.dims), "heads": max(config.dims) // config.headdim,
                        "layers": sum(config.encoder_depths) + sum(config.decoder_depths), "ff": 4 * max(config.dims),
                        "tokens_per_sample": 1 / config.hop, "parameters": count(transformer_for(config))},
        "workloads": results, "summary": summary,
    }
    print_table(results, summary)
    line = json.dumps(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(line)
    return report


if __name__ == "__main__":
    main()
