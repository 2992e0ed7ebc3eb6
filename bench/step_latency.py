"""Per-decision cost of the ways to decode a stream, interleaved in one process, against the FLOP limit.

Candidates (64 channels at 256 Hz, the default config, one thread, random EEG-scale data):

* ``fused_step``, ``onnx_step``, ``torch_step``: ``StreamingSession.push`` of one hop with each
  backend (what the app calls once per decision; ``fused`` is the app's default);
* ``aoti_step`` (with ``--aoti``): the torch step compiled ahead of time by AOT Inductor
  (C++ kernels; needs a compiler and minutes of compilation, hence not a live backend);
* ``sliding_window``: re-running the offline encoder on the last ``--window-s`` seconds per
  decision, what a model without a recurrent mode has to do at the same decision rate.

They run in shuffled rounds (see ``interleaved.py``), back to back and live-paced (one call
per 62.5 ms tick, cold caches). FLOPs per decision: the matrix-multiply FLOPs (2 per
multiply-add: linear layers, einsums, batched matmuls, convolutions) of the torch step
counted by ``torch.utils.flop_counter.FlopCounterMode`` while it advances one token;
element-wise work is not counted. The FLOP limit is those FLOPs at this core's measured
single-thread GEMM peak; ``flops_limit_ratio_p50`` is the default backend's back-to-back p50
over it. Prints a table, then one JSON object as the last line.

    python bench/step_latency.py [--rounds 200] [--channels 64] [--window-s 4] [--aoti] [--out FILE]
"""

from __future__ import annotations

import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from interleaved import (  # noqa: E402
    Candidate, SignalFeed, load_average, matmul_peak_gflops, montage, parser, print_table, run_rounds, single_thread,
)
from json_result import emit  # noqa: E402

from samba_core import Samba, SambaConfig, StreamingSession  # noqa: E402
from samba_core import fused_kernels  # noqa: E402
from samba_core.fused_step import FusedStepRunner  # noqa: E402
from samba_core.onnx_export import EncoderStep  # noqa: E402
from samba_core.streaming import BACKENDS, DEFAULT_BACKEND  # noqa: E402


def decision_flops(model: Samba, channels: int) -> int:
    """Matrix-multiply FLOPs of one decision of the torch step (see the module docstring)."""
    step = EncoderStep(model)
    w = model.spatial_weights(torch.from_numpy(montage(channels))).detach()
    x = torch.randn(1, channels, model.config.hop)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        step(x, w, *step.initial_states())
    return int(counter.get_total_flops())


def step_candidates(model: Samba, coords: np.ndarray, feed: SignalFeed) -> list[Candidate]:
    """One ``StreamingSession`` per step backend, each pushed one hop per call."""
    hop = model.config.hop
    out = []
    for backend in BACKENDS:
        session = StreamingSession(model, coords, backend=backend)
        assert session.backend == backend, f"{backend} fell back to {session.backend}"
        out.append(Candidate(f"{backend}_step", lambda s=session: s.push(feed.next_chunk(hop))))
    # The fused step's two paths side by side, as bare runners: compiled kernels (numba) and numpy calls.
    w = model.spatial_weights(torch.from_numpy(coords)).detach().numpy()
    for compiled in ([True] if fused_kernels.available() else []) + [False]:
        runner = FusedStepRunner(model, compiled=compiled)
        runner.set_spatial_weights(w)
        name = "fused_compiled_runner" if compiled else "fused_numpy_runner"
        out.append(Candidate(name, lambda r=runner: r.step(feed.next_chunk(hop))))
    return out


def aoti_candidate(model: Samba, coords: np.ndarray, feed: SignalFeed, package: Path) -> Candidate:
    """The torch step (``EncoderStep``) compiled by AOT Inductor for this channel count."""
    step = EncoderStep(model)
    w = model.spatial_weights(torch.from_numpy(coords)).detach()
    hop, n_heads = model.config.hop, len(step.head_names)
    states = step.initial_states()
    with torch.no_grad():
        program = torch.export.export(step, (torch.zeros(1, coords.shape[0], hop), w, *states))
        runner = torch._inductor.aoti_load_package(torch._inductor.aoti_compile_and_package(program, package_path=str(package)))

    def call():
        x = torch.from_numpy(np.ascontiguousarray(feed.next_chunk(hop)))[None]
        with torch.no_grad():
            out = runner(x, w, *states)
        states[:] = out[n_heads:]
        return out[:n_heads]
    return Candidate("aoti_step", call)


def sliding_candidate(model: Samba, coords: np.ndarray, feed: SignalFeed, window_s: float) -> Candidate:
    length = int(round(window_s * model.config.sample_rate))
    w = model.spatial_weights(torch.from_numpy(coords)).detach()

    def call():
        with torch.no_grad():
            x = torch.from_numpy(feed.window(length, model.config.hop))[None]
            return model(x, spatial_weights=w, decoder=False).logits
    return Candidate("sliding_window", call, burst=2)


def main() -> None:
    ap = parser(__doc__, rounds=200)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--window-s", type=float, default=4.0)
    ap.add_argument("--aoti", action="store_true", help="also time the AOT-Inductor-compiled torch step (minutes to compile)")
    args = ap.parse_args()
    single_thread()
    torch.manual_seed(0)
    cfg = SambaConfig()
    model = Samba(cfg).eval()
    coords = montage(args.channels)
    feed = SignalFeed(args.channels)
    load_start = load_average()
    peak = matmul_peak_gflops()
    candidates = step_candidates(model, coords, feed) + [sliding_candidate(model, coords, feed, args.window_s)]
    with tempfile.TemporaryDirectory() as tmp:
        if args.aoti:
            candidates.append(aoti_candidate(model, coords, feed, Path(tmp) / "step.pt2"))
        results = run_rounds(candidates, args.rounds)
    peak_after = matmul_peak_gflops()
    peak["peak"] = max(peak["peak"], peak_after["peak"])
    flops = decision_flops(model, args.channels)
    limit_us = flops / (peak["peak"] * 1e9) * 1e6
    default = results[f"{DEFAULT_BACKEND}_step"]
    result = {
        "benchmark": "step_latency",
        "channels": args.channels, "sample_rate_hz": cfg.sample_rate, "hop_samples": cfg.hop,
        "decision_rate_hz": cfg.sample_rate / cfg.hop, "window_s": args.window_s, "rounds": args.rounds,
        "parameters": sum(p.numel() for p in model.parameters()),
        "candidates": results,
        "default_backend": DEFAULT_BACKEND,
        "flops_per_decision": flops,
        "flops_method": "matmul FLOPs of the torch step, torch.utils.flop_counter.FlopCounterMode",
        "matmul_peak_gflops": peak, "flops_limit_us": limit_us,
        "flops_limit_ratio_p50": default["back_to_back"]["p50_ms"] * 1e3 / limit_us,
        "flops_limit_ratio_paced_p50": default["paced"]["p50_ms"] * 1e3 / limit_us,
        "paced_p99_ms": default["paced"]["p99_ms"],
        "ratio_sliding_over_default_p50": results["sliding_window"]["back_to_back"]["p50_ms"]
        / default["back_to_back"]["p50_ms"],
        "ratio_onnx_over_default_p50": results["onnx_step"]["back_to_back"]["p50_ms"] / default["back_to_back"]["p50_ms"],
        "load_average_start": load_start, "load_average_end": load_average(), "threads": 1,
        "machine": platform.machine(), "processor": platform.processor(), "torch_version": torch.__version__,
    }
    result["targets"] = {
        "flops_limit_ratio_p50_le_5": result["flops_limit_ratio_p50"] <= 5,
        "paced_p99_le_0_5ms": result["paced_p99_ms"] <= 0.5,
    }
    print_table(results)
    print(f"FLOPs/decision {flops / 1e6:.2f} M; GEMM peak {peak['peak']:.1f} GFLOP/s -> limit {limit_us:.1f} us; "
          f"{DEFAULT_BACKEND} at {result['flops_limit_ratio_p50']:.1f}x the limit (back to back p50)")
    print(f"targets: back-to-back p50 <= 5x the limit: {'met' if result['targets']['flops_limit_ratio_p50_le_5'] else 'MISSED'}"
          f"; paced p99 <= 0.5 ms ({result['paced_p99_ms']:.3f} ms): "
          f"{'met' if result['targets']['paced_p99_le_0_5ms'] else 'MISSED'}"
          + (f" (p99 of only {args.rounds} paced calls: run --rounds 100 or more)" if args.rounds < 100 else ""))
    emit(result, args.out)


if __name__ == "__main__":
    main()
