"""Per-decision compute of the three ways to decode a stream, at the default model size.

(a) torch eager step: ``StreamingSession(backend="torch")`` advanced by one token (hop samples);
(b) onnxruntime step: the exported step graph advanced by one token;
(c) sliding window: re-running the offline encoder on the last 4 s for every decision,
    what a model without a recurrent mode has to do at the same decision rate.

Input: 64 channels at 256 Hz (the default config's rate), random EEG-scale data.
Prints a readable table, then one JSON object as the last line.

    python bench/step_latency.py [--decisions 400] [--channels 64] [--window-s 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from samba_core import Samba, SambaConfig, StreamingSession
from samba_core.onnx_export import OnnxStepRunner, export_step_onnx


def montage(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, 3))
    v[:, 2] = np.abs(v[:, 2])
    return (0.09 * v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def summarise(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)), "mean_ms": float(a.mean())}


def time_calls(fn, inputs, warmup: int = 20) -> list[float]:
    for x in inputs[:warmup]:
        fn(x)
    out = []
    for x in inputs:
        t0 = time.perf_counter()
        fn(x)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=400)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--window-s", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (onnxruntime uses 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = SambaConfig()
    model = Samba(cfg).eval()
    coords = montage(args.channels)
    hop = cfg.hop
    rng = np.random.default_rng(1)
    chunks = [(rng.normal(size=(args.channels, hop)) * 20).astype(np.float32) for _ in range(args.decisions)]

    session = StreamingSession(model, coords, backend="torch")
    torch_ms = time_calls(session.push, chunks)

    with tempfile.TemporaryDirectory() as tmp:
        runner = OnnxStepRunner(export_step_onnx(model, Path(tmp) / "step.onnx", n_channels=args.channels))
        w = model.spatial_weights(torch.from_numpy(coords)).detach().numpy()
        onnx_ms = time_calls(lambda x: runner.step(x, w), chunks)

    window = int(round(args.window_s * cfg.sample_rate))
    wt = torch.from_numpy(w)
    windows = [torch.from_numpy((rng.normal(size=(1, args.channels, window)) * 20).astype(np.float32))
               for _ in range(min(args.decisions, 100))]

    def sliding(x):
        with torch.no_grad():
            return model(x, spatial_weights=wt, decoder=False).logits["mi"][:, -1]

    sliding_ms = time_calls(sliding, windows, warmup=5)

    result = {
        "benchmark": "step_latency",
        "channels": args.channels, "sample_rate_hz": cfg.sample_rate, "hop_samples": hop,
        "decision_rate_hz": cfg.sample_rate / hop, "window_s": args.window_s,
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch_step": summarise(torch_ms), "onnxruntime_step": summarise(onnx_ms),
        "sliding_window_torch": summarise(sliding_ms),
        "torch_threads": args.threads, "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "torch_version": torch.__version__,
    }
    result["ratio_sliding_over_onnx_p50"] = result["sliding_window_torch"]["p50_ms"] / result["onnxruntime_step"]["p50_ms"]
    result["ratio_sliding_over_onnx_p99"] = result["sliding_window_torch"]["p99_ms"] / result["onnxruntime_step"]["p99_ms"]
    result["targets"] = {
        "onnx_p99_le_1ms": result["onnxruntime_step"]["p99_ms"] <= 1.0,
        "ratio_ge_50": result["ratio_sliding_over_onnx_p50"] >= 50,
    }
    for name in ("torch_step", "onnxruntime_step", "sliding_window_torch"):
        r = result[name]
        print(f"{name:22s} p50 {r['p50_ms']:8.3f} ms   p99 {r['p99_ms']:8.3f} ms")
    print(f"sliding / onnx (p50): {result['ratio_sliding_over_onnx_p50']:.1f}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
