"""Timing-anomaly battery against the live pipeline: what was sent, recorded, lost, duplicated and decided.

Each scenario of ``tests/timing_sources.py`` (packetised push-stamped streams, a hiccup
followed by the backlog, clock steps back and forward, a source slower than declared, a
gap, a 5 s outage with re-attachment) runs against a recording :class:`LivePipeline`
on a real LSL outlet on this machine (loopback only: ``tests/lsl_api.cfg``). Per
scenario the JSON has the samples ``sent`` by the source, ``recorded``, ``lost`` (missing
from the recording's span, from its counter channel) next to ``lost_reported`` (what the
pipeline counted from the timestamps: the two must be equal), ``duplicated``,
``decisions`` and whether the pipeline stopped (``stopped_by_error``: must be null).

    python bench/reliability.py [--scenarios NAME ...] [--out FILE]

Prints one line per scenario, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]
from lsl_setup import use_machine_only_lsl  # noqa: E402

use_machine_only_lsl()  # before anything loads liblsl: no traffic leaves this machine

from json_result import emit  # noqa: E402


def main() -> None:
    from helpers.models import save_small_checkpoint
    from samba_core import load_checkpoint
    from timing_sources import SCENARIOS, run_scenario

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = save_small_checkpoint(folder / "small.samba")
        checkpoint = load_checkpoint(path)
        results = []
        for name in args.scenarios:
            tag = uuid.uuid4().hex[:8]
            r = run_scenario(name, checkpoint, path, folder, f"reliability-{tag}", f"reliability-out-{tag}")
            results.append(r)
            print(f"{name:45s} sent {r['sent']:6d} recorded {r.get('recorded', 0):6d} lost {r.get('lost', -1):5d} "
                  f"(reported {r['lost_reported']:5d}) duplicated {r.get('duplicated', -1)} decisions "
                  f"{r['decisions']:4d} stopped: {r['stopped_by_error']}", flush=True)
    emit({
        "scenarios": results,
        "all_lost_counts_exact": all(r.get("lost") == r["lost_reported"] for r in results),
        "unintended_stops": sum(r["stopped_by_error"] is not None for r in results),
    }, args.out)


if __name__ == "__main__":
    main()
