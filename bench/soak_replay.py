"""Soak test: 10 minutes of recording replayed at 10x through LSL, decoded and recorded.

The bundled demo recording (64 ch, 160 Hz) is looped by MNE-LSL's player at ``--speed``
times real time and decoded by the headless pipeline (onnxruntime backend) while it
records to FIF. Checked:
- samples lost: gaps found in the timestamps, and the samples expected from the span of
  the received timestamps minus the samples received;
- memory: resident set size sampled every ``--sample-every`` seconds; the slope (MB per
  minute) of a straight line fitted after the first 20% of the run must be ~0;
- the recording holds every received sample.

    python bench/soak_replay.py [--minutes 10] [--speed 10]

Prints progress lines, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsl_setup import use_machine_only_lsl  # noqa: E402

use_machine_only_lsl()  # before anything loads liblsl

REPO = Path(__file__).resolve().parents[1]
# The shared test helpers; the repo first, so that tests/samba_core cannot shadow the package.
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from helpers.lsl import unique_name  # noqa: E402
from helpers.models import shipped_or_random_checkpoint  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="minutes of recording to replay")
    ap.add_argument("--speed", type=float, default=10.0, help="replay speed (x real time)")
    ap.add_argument("--sample-every", type=float, default=1.0, help="seconds between RSS samples")
    args = ap.parse_args()
    from app.pipeline import DEMO_RECORDING, LivePipeline, PipelineConfig, ReplayPlayer, StreamSelector
    from samba_core import load_checkpoint

    me = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        path, kind = shipped_or_random_checkpoint(Path(tmp))
        ckpt = load_checkpoint(path)
        player = ReplayPlayer(DEMO_RECORDING, speed=args.speed, loop=True).start()
        cfg = PipelineConfig(StreamSelector(name=player.name), ckpt.path, outlet_prefix=unique_name("soak"),
                             markers=StreamSelector(name=player.marker_stream), record=Path(tmp) / "soak.fif")
        pipeline = LivePipeline(cfg, checkpoint=ckpt).start()
        rate = player.source_rate
        target = args.minutes * 60.0 * rate
        wall0, cpu0 = time.perf_counter(), me.cpu_times()
        rss_t, rss_mb = [], []
        next_print = 0.0
        while pipeline.samples_received < target and pipeline.running:
            elapsed = time.perf_counter() - wall0
            rss_t.append(elapsed)
            rss_mb.append(me.memory_info().rss / 2**20)
            if elapsed >= next_print:
                next_print += 10.0
                print(f"{elapsed:6.1f} s wall: {pipeline.samples_received / rate / 60:5.2f} min replayed, "
                      f"RSS {rss_mb[-1]:.1f} MB, lost {pipeline.samples_lost}", flush=True)
            time.sleep(args.sample_every)
        wall = time.perf_counter() - wall0
        cpu1 = me.cpu_times()
        summary = pipeline.stop()
        player.stop()
        received, gap_lost = pipeline.samples_received, pipeline.samples_lost
        processing = pipeline.processing_latency.summary()  # over the last 20000 decisions
        # Timestamps are spaced by 1 / nominal rate: the span says how many samples were sent.
        span = pipeline.last_sample_time - pipeline.first_sample_time
        expected = int(round(span * rate * args.speed)) + 1
        error = None if pipeline.error is None else str(pipeline.error)

    rss_t, rss_mb = np.array(rss_t), np.array(rss_mb)
    keep = rss_t >= 0.2 * rss_t[-1]
    slope = float(np.polyfit(rss_t[keep] / 60.0, rss_mb[keep], 1)[0]) if keep.sum() >= 3 else None
    result = {
        "bench": "soak_replay", "checkpoint": kind, "backend": "onnx", "recording": DEMO_RECORDING.name,
        "channels": 64, "source_rate_hz": rate, "speed": args.speed,
        "replayed_min": received / rate / 60.0, "wall_s": wall, "effective_speed": received / rate / wall,
        "samples_received": int(received), "samples_expected_from_timestamps": expected,
        "samples_lost": expected - int(received), "samples_lost_gaps": int(gap_lost), "resets": pipeline.resets,
        "decisions": pipeline.n_decisions, "markers_received": pipeline.markers_received,
        "recorded_samples": None if summary is None else summary.n_samples,
        "recording_complete": summary is not None and summary.n_samples == received,
        "processing_p50_ms": processing["p50_ms"], "processing_p99_ms": processing["p99_ms"],
        "rss_start_mb": float(rss_mb[0]), "rss_end_mb": float(rss_mb[-1]), "rss_max_mb": float(rss_mb.max()),
        "rss_slope_mb_per_min": slope,
        "rss_series_mb": [[round(float(t), 1), round(float(m), 2)] for t, m in zip(rss_t[::5], rss_mb[::5], strict=True)], "cpu_cores": ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / wall,
        "error": error,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1_5_15": list(os.getloadavg())},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
