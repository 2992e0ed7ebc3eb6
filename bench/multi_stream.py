"""How many live headsets one machine decodes at once: N loopback LSL streams, every decision on time.

N amplifier processes (``e2e_latency.amplifier``: 64 channels at 256 Hz, chunks of 4
samples) each feed one headless pipeline with the app's default backend, either all N
pipelines in this process (``threads``: one acquisition thread each) or one process per
pipeline (``processes``). A count passes when no stream loses a sample (pushed = received,
no timestamp gap) and every decision after the warm-up is pushed within one hop (62.5 ms)
of the pull that completed it (``Decision.processing_s``). The counts are tried in
increasing order until one fails; the largest passing count is reported per mode.

    python bench/multi_stream.py [--counts 1 2 4 8 12 16] [--modes threads processes] [--duration 20]

Prints one line per run, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsl_setup import use_machine_only_lsl  # noqa: E402

use_machine_only_lsl()  # before anything loads liblsl

from e2e_latency import amplifier, eeg_labels, shipped_or_random_checkpoint  # noqa: E402
from json_result import emit  # noqa: E402

CHANNELS, RATE_HZ, CHUNK = 64, 256.0, 4


def decode(path: str, name: str, duration: float, warmup: float, started, go) -> dict:
    """Run one pipeline on stream ``name`` until its amplifier stops; per-stream figures.

    ``started`` (an Event) is set once the pipeline's inlet is open, so no pushed sample predates
    it; the amplifiers start on ``go``, and the pipeline stops just after their last chunk."""
    import time

    from app.pipeline import AcquisitionConfig, LivePipeline, PipelineConfig, StreamSelector
    from samba_core import load_checkpoint

    ckpt = load_checkpoint(path)
    decisions: list = []
    cfg = PipelineConfig(StreamSelector(name=name), ckpt.path, outlet_prefix=f"multi-{uuid.uuid4().hex[:6]}",
                         acquisition=AcquisitionConfig(resolve_timeout_s=30))
    pipeline = LivePipeline(cfg, checkpoint=ckpt, on_decision=decisions.append).start()
    started.set()
    go.wait()
    time.sleep(duration + 0.5)  # the amplifier keeps its outlet one second after its last chunk
    received, gap_lost, error = pipeline.samples_received, pipeline.samples_lost, pipeline.error
    pipeline.stop()
    start = decisions[0].sample_time + warmup if decisions else 0.0
    processing = [d.processing_s * 1e3 for d in decisions if d.sample_time >= start]
    return {
        "decisions": len(decisions), "received": int(received), "gap_lost": int(gap_lost),
        "processing_p99_ms": float(np.percentile(processing, 99)) if processing else float("nan"),
        "processing_max_ms": max(processing, default=float("nan")), "error": None if error is None else str(error),
    }


def _decode_into(queue, index: int, *args) -> None:
    queue.put((index, decode(*args)))


def run(path: Path, hop_ms: float, n: int, mode: str, duration: float, warmup: float) -> dict:
    ctx = mp.get_context("spawn")
    names = [f"multi-amp-{uuid.uuid4().hex[:8]}" for _ in range(n)]
    ready, go = [ctx.Event() for _ in names], ctx.Event()
    pushed = [ctx.Value("l", 0) for _ in names]
    labels = eeg_labels(CHANNELS)
    amps = [ctx.Process(target=amplifier, args=(nm, labels, RATE_HZ, CHUNK, duration, r, go, p))
            for nm, r, p in zip(names, ready, pushed)]
    for a in amps:
        a.start()
    for r in ready:
        r.wait(60)
    if mode == "processes":
        queue = ctx.Queue()
        started = [ctx.Event() for _ in names]
        workers = [ctx.Process(target=_decode_into, args=(queue, i, str(path), nm, duration, warmup, e, go))
                   for i, (nm, e) in enumerate(zip(names, started))]
        for w in workers:
            w.start()
        for e in started:
            e.wait(120)
        go.set()
        streams = dict(queue.get(timeout=duration + 120) for _ in workers)
        for w in workers:
            w.join(30)
        streams = [streams[i] for i in range(n)]
    else:
        import threading
        from concurrent.futures import ThreadPoolExecutor

        started = [threading.Event() for _ in names]
        with ThreadPoolExecutor(n) as pool:
            futures = [pool.submit(decode, str(path), nm, duration, warmup, e, go) for nm, e in zip(names, started)]
            for e in started:
                e.wait(120)
            go.set()
            streams = [f.result() for f in futures]
    for a in amps:
        a.join(30)
    for s, p in zip(streams, pushed):
        s["lost"] = int(p.value) - s["received"]
    ok = all(s["error"] is None and s["lost"] == 0 and s["gap_lost"] == 0 and s["processing_max_ms"] <= hop_ms
             and s["decisions"] > 0 for s in streams)
    return {"streams": n, "mode": mode, "passed": ok, "per_stream": streams,
            "worst_processing_max_ms": max(s["processing_max_ms"] for s in streams),
            "total_lost": sum(s["lost"] + s["gap_lost"] for s in streams)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4, 8, 12, 16])
    ap.add_argument("--modes", nargs="+", choices=("threads", "processes"), default=["threads", "processes"])
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of streaming per run")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of decisions left out of the checks")
    ap.add_argument("--out", type=Path, help="also write the JSON result here")
    args = ap.parse_args()
    from samba_core import load_checkpoint
    from samba_core.streaming import DEFAULT_BACKEND

    load_start = [round(v, 2) for v in os.getloadavg()]
    runs, largest = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        path, kind = shipped_or_random_checkpoint(Path(tmp))
        config = load_checkpoint(path).config
        hop_ms = 1e3 * config.hop / config.sample_rate
        for mode in args.modes:
            largest[mode] = 0
            for n in sorted(args.counts):
                r = run(path, hop_ms, n, mode, args.duration, args.warmup)
                runs.append(r)
                print(f"{mode:9s} N={n:3d}: {'pass' if r['passed'] else 'FAIL'} | worst decision "
                      f"{r['worst_processing_max_ms']:.1f} ms (hop {hop_ms:.1f}) | lost {r['total_lost']}", flush=True)
                if not r["passed"]:
                    break
                largest[mode] = n
    emit({"benchmark": "multi_stream", "checkpoint": kind, "backend": DEFAULT_BACKEND, "channels": CHANNELS,
          "rate_hz": RATE_HZ, "hop_ms": hop_ms, "cpu_count": os.cpu_count(), "largest_passing": largest,
          "target_ge_8": max(largest.values(), default=0) >= 8, "runs": runs,
          "load_average_start": load_start, "load_average_end": [round(v, 2) for v in os.getloadavg()]}, args.out)


if __name__ == "__main__":
    main()
