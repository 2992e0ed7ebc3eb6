"""What the cue screen shows, as plain values: reproducible, and the same words the GUI shows."""

from __future__ import annotations

from pathlib import Path

from app.paradigm import arithmetic_problem, build_schedule, load_protocol, screen_text, tracking_position

SHORT = Path(__file__).with_name("short_mi.json")


def test_arithmetic_problems_are_reproducible_and_vary():
    problems = {arithmetic_problem(7, 0, k) for k in range(10)}
    assert len(problems) > 5 and arithmetic_problem(7, 0, 3) == arithmetic_problem(7, 0, 3)
    assert all(p.endswith("= ?") for p in problems)


def test_screens_follow_the_schedule_and_changing_displays_follow_the_time_in_the_step():
    schedule = build_schedule(load_protocol(SHORT), seed=2)
    texts = [screen_text(s) for s in schedule]
    assert texts[0] == "Get ready" and texts[-1].startswith("Well done")
    cues = [s for s in schedule if s.phase == "cue"]
    assert [screen_text(s) for s in cues] == [f"arrow {s.label}" for s in cues]
    block = load_protocol(SHORT.with_name("short_distraction.json"))
    sums = next(s for s in build_schedule(block, seed=5) if s.display == "arithmetic")
    first, same, later = (screen_text(sums, 5, t) for t in (0.0, sums.interval_s * 0.9, sums.interval_s * 1.1))
    assert first == same == arithmetic_problem(5, sums.trial, 0) and later == arithmetic_problem(5, sums.trial, 1)
    x, y = tracking_position(3.0)
    assert -1 <= x <= 1 and -1 <= y <= 1 and tracking_position(3.0) != tracking_position(4.0)
