"""Feedback runs without LSL: cursor position, smoothing, online trial scoring, the Wilson interval."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from app.paradigm import (
    FEEDBACK_NONE, FEEDBACK_START, CursorSmoother, FeedbackLoop, ProtocolFileError, ProtocolTimer, RunScore,
    FeedbackOutcome, build_schedule, combined_score, cursor_position, load_protocol, protocol_from_dict, resolve_protocol,
    wilson_interval,
)
from app.paradigm.feedback import wilson_interval_reference

SHORT = Path(__file__).with_name("short_mi_feedback.json")


@pytest.mark.parametrize("hits,n", [(0, 1), (1, 1), (7, 10), (13, 40), (40, 40), (55, 100), (3, 7)])
def test_the_wilson_interval_matches_the_formula(hits, n):
    lo, hi = wilson_interval(hits, n)
    np.testing.assert_allclose((lo, hi), wilson_interval_reference(hits, n), atol=1e-9)
    assert 0 <= lo <= hits / n <= hi <= 1


def test_the_wilson_interval_narrows_with_more_trials_and_rejects_bad_counts():
    widths = [np.subtract(*wilson_interval(n // 2, n)[::-1]) for n in (10, 40, 160)]
    assert widths[0] > widths[1] > widths[2]
    assert all(math.isnan(v) for v in wilson_interval(0, 0))  # no trial: no interval
    for bad in ((5, 4), (-1, 3)):
        with pytest.raises(ValueError, match="0 <= k <= n"):
            wilson_interval(*bad)


@pytest.mark.parametrize("probs,expected", [
    ({"left": 1.0, "right": 0.0}, (-1.0, 0.0)), ({"left": 0.2, "right": 0.8}, (0.6, 0.0)),
    ({"left": 0.5, "right": 0.5}, (0.0, 0.0)), ({"feet": 1.0, "tongue": 0.0}, (0.0, -1.0)),
    ({"left": 0.25, "right": 0.25, "feet": 0.25, "tongue": 0.25}, (0.0, 0.0)),
])
def test_the_cursor_points_to_the_likely_class(probs, expected):
    np.testing.assert_allclose(cursor_position(probs), expected, atol=1e-12)


def test_the_cursor_needs_a_direction_per_class():
    with pytest.raises(ValueError, match="rest"):
        cursor_position({"left": 0.5, "rest": 0.5})


def test_smoothing_follows_the_exponential_with_elapsed_time():
    s = CursorSmoother(0.5)
    np.testing.assert_allclose(s.update(np.array([1.0, 0.0]), 10.0), [1.0, 0.0])
    out = s.update(np.array([0.0, 1.0]), 10.5)
    a = 1 - math.exp(-1)
    np.testing.assert_allclose(out, [1 - a, a])
    np.testing.assert_allclose(CursorSmoother(0).update(np.array([0.3, 0.7]), 1.0), [0.3, 0.7])
    with pytest.raises(ValueError, match="smoothing"):
        CursorSmoother(-1)


def drive(loop: FeedbackLoop, protocol, probs_for, seed=2, rate_hz=20.0):
    """Walk the protocol's schedule with invented times, feeding ``probs_for(label)`` during feedback."""
    timer = ProtocolTimer(build_schedule(protocol, seed))
    markers, positions = [], []
    events, t = timer.start(0.0), 0.0
    while True:
        for e in events:
            markers += loop.on_event(e)
        if timer.state == "finished":
            return markers, positions
        t += 1 / rate_hz
        step = timer.current
        if step is not None and loop.active:
            loop.on_probabilities(probs_for(step.label), t)
            positions.append((step.label, loop.position()))
        events = timer.update(t)


def test_a_perfect_decoder_scores_every_trial_and_moves_the_cursor_towards_the_cue():
    protocol = load_protocol(SHORT)
    loop = FeedbackLoop(protocol.classes, ("right", "left", "feet"), smoothing_s=0.2)
    # Model order differs from the protocol's, and a class not in the protocol is left out.
    vectors = {"left": np.array([0.1, 0.8, 0.1]), "right": np.array([0.7, 0.2, 0.1])}
    markers, positions = drive(loop, protocol, vectors.__getitem__)
    score = loop.score()
    n = len(protocol.classes) * protocol.trials_per_class
    assert score.n == n and score.hits == n and score.undecided == 0
    assert markers.count(FEEDBACK_START) == n and markers.count("feedback/left") == protocol.trials_per_class
    lo, hi = score.interval
    assert lo < 1.0 == hi and score.p_value < 0.5
    assert all((x < 0) if label == "left" else (x > 0) for label, (x, _) in positions)
    # The smoothed cursor approaches the renormalised probability: p(right) - p(left).
    final_right = [x for label, (x, _) in positions if label == "right"][-1]
    assert 0 < final_right <= 0.7 / 0.9 - 0.2 / 0.9 + 1e-9
    assert "1.00" in score.summary() and "Wilson" in score.summary()


def test_a_decoder_that_always_says_left_is_at_chance_and_trials_without_decisions_are_reported():
    protocol = load_protocol(SHORT)
    loop = FeedbackLoop(protocol.classes, ("left", "right"))
    drive(loop, protocol, lambda label: np.array([0.9, 0.1]))
    score = loop.score()
    assert score.hits == protocol.trials_per_class and score.accuracy == pytest.approx(0.5)
    assert score.per_class() == {"left": (2, 2), "right": (0, 2)}
    silent = FeedbackLoop(protocol.classes, ("left", "right"))
    markers, _ = drive(silent, protocol, lambda label: np.array([np.nan, np.nan]))
    assert silent.score().n == 0 and silent.score().undecided == 4 and markers.count(FEEDBACK_NONE) == 4
    assert "no trial was scored" in silent.score().summary()


def test_outside_feedback_phases_there_is_no_cursor_and_probabilities_are_ignored():
    loop = FeedbackLoop(("left", "right"), ("left", "right"))
    loop.on_probabilities(np.array([1.0, 0.0]), 1.0)
    assert loop.position() is None and loop.score().outcomes == ()


def test_a_head_without_the_protocol_classes_is_refused_with_its_classes():
    with pytest.raises(ValueError, match=r"does not predict \['right'\].*'left', 'feet'"):
        FeedbackLoop(("left", "right"), ("left", "feet"))


def test_runs_combine_into_one_score():
    a = RunScore(("left", "right"), (FeedbackOutcome(0, "left", "left", {}, 3), FeedbackOutcome(1, "right", None, {}, 0)))
    b = RunScore(("left", "right"), (FeedbackOutcome(0, "right", "left", {}, 3),))
    both = combined_score([a, b])
    assert (both.hits, both.n, both.undecided) == (1, 2, 1)
    assert both.to_dict()["trials"][2]["decoded"] == "left"


def test_feedback_protocols_are_validated_and_name_their_classes():
    protocol = resolve_protocol("graz_mi_feedback")
    assert protocol.has_feedback and not resolve_protocol("graz_mi").has_feedback
    assert "feet" not in protocol.instructions_text() and "left hand" in protocol.instructions_text()
    assert "feet" in protocol.with_classes(("feet",)).instructions_text()
    bad = {"name": "x", "task": "mi", "classes": ["left", "rest"],
           "phases": [{"name": "f", "duration_s": 1, "display": "feedback"}]}
    with pytest.raises(ProtocolFileError, match="rest"):
        protocol_from_dict(bad)
    with pytest.raises(ProtocolFileError, match="graz_mi_feedback"):
        resolve_protocol("no-such-protocol")
