"""Where one pretraining step's time goes: phase timings and the profiler's top operators.

Same step as ``bench/pretrain_throughput.py`` (TSRM forward, per-crop loss, backward,
clipping, AdamW). Each phase is timed with a device synchronisation around it, so the
phases add up to more than a free-running step; then ``torch.profiler`` records a few
steps and the operators with the most host (CPU) time are listed, with the number of
GPU kernels launched per step. A step whose host time exceeds its GPU time is
launch-bound: the fix is fewer launches, not faster kernels.

    python bench/profile_train_step.py [--length 16384] [--batch 4] [--kernels | --reference]

Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
_ROOT = Path(__file__).resolve().parents[1]
# The shared test helpers; the repo first, so that tests/samba_core cannot shadow the package.
sys.path[:0] = [str(_ROOT), str(_ROOT / "tests")]
from helpers.mamba_stub import register_selective_scan_stub  # noqa: E402

register_selective_scan_stub()

from pretrain_throughput import make_batch  # noqa: E402

from samba_core.config import SambaConfig  # noqa: E402
from samba_core.masking import MaskingConfig  # noqa: E402
from samba_core.pretraining.config import PretrainConfig  # noqa: E402
from samba_core.pretraining.objective import crop_losses  # noqa: E402
from samba_core.pretraining.trainer import build_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--length", type=int, default=16384)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--reference", action="store_true", help="profile the plain-PyTorch scan instead of the kernels")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    config = SambaConfig()
    model = build_model(config, PretrainConfig(use_kernels=not args.reference)).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    batch = make_batch(args.batch, args.channels, args.length, config.sample_rate, device)
    masking = MaskingConfig()

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    def phases() -> dict[str, float]:
        t = {}
        sync()
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            out = model(batch.x, batch.coords, batch.channel_mask, time_mask=batch.time_mask, decoder=True)
        sync()
        t["forward"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        loss = crop_losses(out.reconstruction, batch, masking, config.input_scale_uv)[0].mean()
        sync()
        t["loss"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        sync()
        t["backward"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sync()
        t["optimizer"] = time.perf_counter() - t0
        return {k: v * 1e3 for k, v in t.items()}

    for _ in range(3):
        phases()
    rows = [phases() for _ in range(args.steps)]
    phase_ms = {k: round(statistics.median(r[k] for r in rows), 3) for k in rows[0]}

    activities = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if cuda else [])
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(args.steps):
            phases()
    events = prof.key_averages()
    table = events.table(sort_by="self_cpu_time_total", row_limit=args.top)
    print(table)
    kernel_events = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    launches = [e for e in prof.events() if e.name in ("cudaLaunchKernel", "cuLaunchKernel", "cuLaunchKernelEx",
                                                      "cudaLaunchKernelExC")]
    gpu_us = sum(e.device_time for e in kernel_events) if kernel_events else 0.0
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[: args.top]
    device_time = lambda e: getattr(e, "self_device_time_total", getattr(e, "self_cuda_time_total", 0.0))  # noqa: E731
    top_gpu = [e for e in sorted(events, key=device_time, reverse=True) if device_time(e) > 0][: args.top]
    summary = {
        "bench": "profile_train_step", "device": torch.cuda.get_device_name(device) if cuda else "cpu",
        "path": "reference" if args.reference else "kernels", "length": args.length, "batch": args.batch,
        "phase_ms": phase_ms, "step_ms_sum_of_phases": round(sum(phase_ms.values()), 3),
        "gpu_kernels_per_step": round(len(kernel_events) / args.steps, 1),
        "kernel_launch_calls_per_step": round(len(launches) / args.steps, 1),
        "gpu_busy_ms_per_step": round(gpu_us / 1e3 / args.steps, 3),
        "top_self_cpu": [{"name": e.key, "calls_per_step": round(e.count / args.steps, 1),
                          "self_cpu_ms_per_step": round(e.self_cpu_time_total / 1e3 / args.steps, 3)} for e in top],
        "top_gpu": [{"name": e.key[:120], "calls_per_step": round(e.count / args.steps, 1),
                     "gpu_ms_per_step": round(device_time(e) / 1e3 / args.steps, 3)} for e in top_gpu],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
