"""Decision stability against smoothing: flips per second and trial accuracy on a replay.

The bundled demo recording (or ``--replay FILE``) is replayed over LSL at ``--speed`` and
decoded by the live pipeline with the shipped checkpoint and smoothing off; the raw
probabilities of every decision are kept. Each smoothing time constant is then applied
to them with the pipeline's own :class:`~app.pipeline.ProbabilitySmoother` and
:class:`~app.pipeline.DecisionRule`, and for each one the bench reports

- ``flips_per_s``: changes of the decided class per second of recording (head ``--head``);
- ``trial_accuracy``: accuracy against the recording's cue annotations
  (:mod:`app.pipeline.ground_truth`, with its Wilson interval);
- ``half_rise_s``: the latency cost, the time a step change of the raw probability takes
  to get half-way through the smoother (ln 2 x time constant).

    python bench/decision_stability.py [--speed 4] [--taus 0,0.25,0.5,1,1.5,2,3]

Prints one line per time constant, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import math
import sys
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from lsl_setup import use_machine_only_lsl  # noqa: E402

use_machine_only_lsl()  # before anything loads liblsl

from json_result import emit  # noqa: E402


def flips_per_second(decided: np.ndarray, times: np.ndarray) -> float:
    """Changes of the decided class per second.

    decided : (n,) int class index per decision; times : (n,) s, increasing.
    """
    if decided.size < 2 or times[-1] <= times[0]:
        return 0.0
    return float(np.count_nonzero(np.diff(decided)) / (times[-1] - times[0]))


def decode_raw(replay: Path | None, speed: float, mains: float | None):
    """Raw per-decision probabilities, their LSL times and the cue markers of one replay."""
    from app.cli import SHIPPED_CHECKPOINT
    from app.pipeline import DecodingConfig, LivePipeline, PipelineConfig, ReplayPlayer, StreamSelector, demo_recording

    player = ReplayPlayer(replay or demo_recording(), speed=speed, hold=True)
    cues: list = []
    decisions: list = []
    cfg = PipelineConfig(StreamSelector(name=player.name), SHIPPED_CHECKPOINT, outlet_prefix=f"bench-{uuid.uuid4().hex[:6]}",
                         markers=StreamSelector(name=player.marker_stream) if player.marker_stream else None,
                         decoding=DecodingConfig(smoothing_s=0.0), mains_hz=mains)
    pipeline = LivePipeline(cfg, on_decision=decisions.append, source_end=lambda: player.samples_sent)
    try:
        player.start()
        pipeline.start()
        player.release()
        pipeline.wait(player.duration_s / speed + 60)
    finally:
        pipeline.stop()
        player.stop()
    if pipeline.ground_truth is not None:
        cues = list(pipeline.ground_truth.cues)
    return decisions, cues, pipeline


def main(argv=None) -> dict:
    from app.pipeline import DecisionRule, ProbabilitySmoother
    from app.pipeline.ground_truth import CueMap, HeadScorer

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replay", type=Path)
    p.add_argument("--speed", type=float, default=4.0)
    p.add_argument("--mains", type=float)
    p.add_argument("--head", default="mi")
    p.add_argument("--taus", default="0,0.25,0.5,1,1.5,2,3")
    p.add_argument("--out", type=Path, help="also write the JSON result to this file")
    args = p.parse_args(argv)
    decisions, cues, pipeline = decode_raw(args.replay, args.speed, args.mains)
    if not decisions:
        raise SystemExit("no decision was made; is the checkpoint's head trained?")
    classes = pipeline.snapshot().classes[args.head]
    times = np.array([d.sample_time for d in decisions])
    raw = np.stack([d.probs[args.head] for d in decisions])
    token_period = float(np.median(np.diff(times))) * args.speed  # LSL seconds are 1/speed recording seconds
    rows = []
    for tau in (float(v) for v in args.taus.split(",")):
        smoother = ProbabilitySmoother(tau, token_period)
        rule = DecisionRule({args.head: classes})
        scorer = HeadScorer(args.head, classes, CueMap(), tuple(w / args.speed for w in (0.5, 4.0)))
        for t, text in cues:
            scorer.add_cue(t, text)
        decided = []
        for t, p_raw in zip(times, raw, strict=True):
            s = smoother.update(args.head, p_raw)
            rule.update(args.head, s)
            decided.append(int(np.argmax(s)))
            scorer.add_decision(t, s)
        scorer.finish()
        score = scorer.score()
        lo, hi = score.trials.interval
        row = {"smoothing_s": tau, "flips_per_s": flips_per_second(np.array(decided), (times - times[0]) * args.speed),
               "trial_accuracy": score.trials.accuracy, "trial_ci95": [lo, hi], "trials": score.trials.total,
               "decision_agreement": score.decisions.accuracy, "half_rise_s": math.log(2) * tau}
        rows.append(row)
        print(f"smoothing {tau:4.2f} s: {row['flips_per_s']:.2f} flips/s, trial accuracy "
              f"{score.trials.format()}, half-rise {row['half_rise_s']:.2f} s")
    result = {"bench": "decision_stability", "replay": str(args.replay or "demo"), "head": args.head,
              "decisions": len(decisions), "cues": len(cues), "rows": rows}
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
