"""Training-step throughput of SAMBA with mamba_ssm's Triton kernels vs the plain-PyTorch scan.

Usage::

    python bench/kernel_speed.py [--device cuda] [--lengths 16384 65536] [--batch 4] [--reps 5] [--out FILE]

``Samba(SambaConfig())`` on 64 channels, float32, one forward + backward of the loss used
by ``memory_scaling.py`` (reconstruction MSE plus mean head logits). For each sequence
length and scan path: one warm-up step (compilation, autotuning), then the median of
``--reps`` steps timed with CUDA events (host clock on CPU). Throughput is input samples
per second, batch x length / step time; peak memory is ``torch.cuda.max_memory_allocated``
over the timed steps. PyTorch's own float32 matmuls keep its default (no TF32); the
Triton kernels use TF32 for their dot products. This anchors pretraining-speed estimates.
A table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
_ROOT = Path(__file__).resolve().parents[1]
# The shared test helpers; the repo first, so that tests/samba_core cannot shadow the package.
sys.path[:0] = [str(_ROOT), str(_ROOT / "tests")]
from helpers.mamba_stub import register_selective_scan_stub  # noqa: E402

register_selective_scan_stub()

from memory_scaling import environment  # noqa: E402
from samba_core.config import SambaConfig  # noqa: E402
from samba_core.model import Samba  # noqa: E402
from samba_core.ssd import kernels_available  # noqa: E402
from scaling_workloads import eeg_batch, eeg_coords, set_reference_scan, timed_train_step, train_step  # noqa: E402


def measure(model: Samba, path: str, batch: int, length: int, reps: int, device: torch.device) -> dict:
    set_reference_scan(model, path == "reference")
    coords = eeg_coords().to(device)
    x = eeg_batch(batch, length, device)
    try:
        train_step(model, x, coords)  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        times = [timed_train_step(model, x, coords) for _ in range(reps)]
    except torch.cuda.OutOfMemoryError:
        return {"path": path, "length": length, "batch": batch, "error": "out of memory"}
    t = statistics.median(times)
    row = {"path": path, "length": length, "batch": batch, "time_s": t, "time_min_s": min(times),
           "time_max_s": max(times), "samples_per_s": batch * length / t}
    if device.type == "cuda":
        row["peak_bytes"] = torch.cuda.max_memory_allocated()
    return row


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--lengths", type=int, nargs="+", default=[16_384, 65_536])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    paths = ["kernels", "reference"] if device.type == "cuda" and kernels_available() else ["reference"]
    torch.manual_seed(0)
    model = Samba(SambaConfig()).to(device)
    rows = []
    for length in args.lengths:
        for path in paths:
            row = measure(model, path, args.batch, length, args.reps, device)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    speedup = {}
    for length in args.lengths:
        by = {r["path"]: r for r in rows if r["length"] == length and "time_s" in r}
        if "kernels" in by and "reference" in by:
            speedup[str(length)] = by["reference"]["time_s"] / by["kernels"]["time_s"]
    print(f"\n{'length':>8s} {'path':>10s} {'ms/step':>10s} {'samples/s':>12s} {'peak MiB':>9s}")
    for r in rows:
        if "time_s" in r:
            print(f"{r['length']:>8,d} {r['path']:>10s} {r['time_s'] * 1e3:10.1f} {r['samples_per_s']:12,.0f} "
                  f"{r.get('peak_bytes', 0) / 2**20:9.0f}")
        else:
            print(f"{r['length']:>8,d} {r['path']:>10s} {r['error']}")
    print("kernel speed-up over the reference:", {k: round(v, 2) for k, v in speedup.items()})
    report = {"benchmark": "kernel_speed", "channels": 64, "dtype": "float32", "reps": args.reps,
              "environment": environment(args.device), "rows": rows, "speedup_kernels_vs_reference": speedup}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
