"""Ground truth: decisions scored against cue markers (synthetic sequences, no LSL)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.pipeline.ground_truth import CueMap, GroundTruth, HeadScorer, trial_decision, trial_windows, wilson_interval

CLASSES = ("left", "right")
RATE = 16.0  # decisions per second


def run(cues, predict, duration, window=(0.5, 4.0), cue_map=None, cue_delay=0.0):
    """Feed cues (time, text) and decisions at RATE whose argmax is predict(t) (class index).

    ``cue_delay`` delivers each cue that many seconds after its time (marker latency).
    """
    scorer = HeadScorer("mi", CLASSES, cue_map or CueMap(), window)
    pending = sorted(cues)
    for t in np.arange(0.0, duration, 1.0 / RATE):
        while pending and pending[0][0] + cue_delay <= t:
            scorer.add_cue(*pending.pop(0))
        p = np.full(2, 0.2)
        p[predict(t)] = 0.8
        scorer.add_decision(float(t), p)
    for cue in pending:
        scorer.add_cue(*cue)
    scorer.finish()
    return scorer


def eegmmidb_cues(labels, trial_s=4.1, rest_s=4.2):
    """EEGMMIDB-like: T1/T2 trials separated by T0 rests; returns cues and (start, end, class) of each trial."""
    cues, trials, t = [], [], 0.0
    for label in labels:
        cues.append((t, "T0"))
        t += rest_s
        cues.append((t, {"left": "T1", "right": "T2"}[label]))
        trials.append((t, t + trial_s, label))
        t += trial_s
    cues.append((t, "T0"))
    return cues, trials, t + rest_s


def truth_at(trials, t):
    return next((CLASSES.index(c) for a, b, c in trials if a <= t < b), 0)


@pytest.mark.parametrize("cue_delay", [0.0, 0.3, 5.0])
def test_a_perfect_decoder_scores_every_trial_and_every_decision(cue_delay):
    cues, trials, end = eegmmidb_cues(["left", "right", "right", "left", "right"])
    s = run(cues, lambda t: truth_at(trials, t), end, cue_delay=cue_delay).score()
    assert (s.trials.correct, s.trials.total) == (5, 5)
    assert s.per_class["left"].total == 2 and s.per_class["right"].total == 3
    assert s.decisions.correct == s.decisions.total == 5 * 56  # 3.5 s window at 16 Hz
    lo, hi = s.trials.interval
    assert lo < 1.0 and math.isclose(hi, 1.0)


def test_an_always_left_decoder_is_right_on_left_trials_only():
    cues, trials, end = eegmmidb_cues(["left", "right", "left", "right", "right", "right"])
    s = run(cues, lambda t: 0, end).score()
    assert (s.per_class["left"].correct, s.per_class["left"].total) == (2, 2)
    assert (s.per_class["right"].correct, s.per_class["right"].total) == (0, 4)
    assert s.trials.accuracy == pytest.approx(2 / 6)
    assert s.chance == pytest.approx(4 / 6)


def test_the_trial_decision_is_the_mean_probability_over_the_window():
    # Right for the first 40 % of each window, left after: per decision mostly left, and so is the mean.
    cues, trials, end = eegmmidb_cues(["right", "right"])
    s = run(cues, lambda t: 1 if any(a + 0.5 <= t < a + 0.5 + 1.4 for a, _, _ in trials) else 0, end).score()
    assert s.trials.correct == 0
    assert 2 * (round(1.4 * RATE) - 1) <= s.decisions.correct <= 2 * (round(1.4 * RATE) + 1) < s.decisions.total / 2


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_one_trial_decision_rule_mean_then_argmax(n_classes):
    rng = np.random.default_rng(n_classes)
    probs = rng.dirichlet(np.ones(n_classes), size=7)
    mean, decided = trial_decision(probs)
    np.testing.assert_allclose(mean, probs.mean(axis=0))
    assert decided == int(np.argmax(probs.mean(axis=0)))
    # The mean, not a vote: two weak votes for class 0 lose to one confident vector for class 1.
    votes = np.full((3, n_classes), 0.0)
    votes[:2, 0], votes[:2, 1], votes[2, 1] = 0.5, 0.45, 1.0
    votes[:2, 2:] = 0.05 / max(1, n_classes - 2)
    assert trial_decision(votes)[1] == 1
    empty_mean, none = trial_decision(np.zeros((0, n_classes)))
    assert none is None and empty_mean.shape == (n_classes,) and np.isnan(empty_mean).all()
    with pytest.raises(ValueError, match="decisions, classes"):
        trial_decision(np.ones(n_classes))


def test_rest_and_unknown_markers_open_no_trial_and_the_next_cue_ends_a_window():
    scorer = HeadScorer("mi", CLASSES, CueMap(), (0.0, 10.0))
    scorer.add_cue(0.0, "T0")
    scorer.add_cue(1.0, "cue/right")   # the paradigm's markers
    scorer.add_cue(3.0, "fixation")     # ends the right trial's window early
    scorer.add_cue(5.0, "left")         # a class name
    for t in np.arange(0.0, 20.0, 0.25):
        scorer.add_decision(t, np.array([0.3, 0.7]) if t < 3.0 else np.array([0.9, 0.1]))
    s = scorer.score()
    assert [o.true_class for o in scorer.outcomes] == ["right", "left"]
    assert s.trials.correct == 2 and scorer.outcomes[0].n_decisions == 8


def test_cue_map_parsing_and_windows_from_the_checkpoint():
    from app.cli import build_parser

    m = build_parser().parse_args(["--headless", "--replay", "--cue-map", "T1=both, T2=feet"]).cue_map
    assert m.class_of("T1") == "both" and m.class_of("T0") == "T0"
    with pytest.raises(ValueError, match="MARKER=CLASS"):
        CueMap.parse("T1")
    prov = {"heads": {"mi": {"config": {"window_s": [0.5, 3.5]}}, "distraction": "untrained: ..."},
            "task": "distraction", "decoding": {"decision_window_s": [1.0, 5.0]}}
    assert trial_windows(prov) == {"mi": (0.5, 3.5), "distraction": (1.0, 5.0)}


def test_wilson_interval_matches_the_formula():
    k, n, z = 7, 10, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    np.testing.assert_allclose(wilson_interval(k, n), (centre - half, centre + half), rtol=1e-9)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_only_heads_with_cues_of_theirs_are_scored():
    gt = GroundTruth({"mi": CLASSES, "distraction": ("attentive", "distracted")})
    gt.add_cue(0.0, "T1")
    for t in np.arange(0.0, 6.0, 0.1):
        gt.add_decision(t, {"mi": np.array([0.6, 0.4]), "distraction": np.array([0.5, 0.5])})
    gt.finish()
    assert list(gt.scores()) == ["mi"]
    assert "mi: trial accuracy 1.00" in gt.summary()
    assert "none cues" in GroundTruth({"mi": CLASSES}).summary()
