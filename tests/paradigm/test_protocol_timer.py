"""Protocol files and the protocol timer: deterministic schedules, markers in order, clear errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from app.paradigm import (
    END_MARKER, START_MARKER, ProtocolFileError, ProtocolTimer, build_schedule, builtin_protocols, load_protocol,
    protocol_from_dict, trial_count_warning, trial_order,
)
from calibration import PROTOCOLS

SHORT = Path(__file__).with_name("short_mi.json")


def run_to_end(timer: ProtocolTimer, frame_s: float, start: float = 100.0) -> list:
    events = timer.start(start)
    now = start
    while timer.state == "running":
        now += frame_s
        events += timer.update(now)
    return events


def test_shipped_protocols_send_the_markers_the_calibration_reads():
    protocols = {p.name: p for p in builtin_protocols()}
    assert {"graz-mi", "distraction"} <= set(protocols)
    for p in protocols.values():
        calibration = PROTOCOLS[p.training["protocol"]]
        assert calibration.task == p.task
        class_markers = [m for m in p.markers() if m != "block/end"]
        assert class_markers and set(class_markers) <= set(calibration.event_map), p.name
        assert {calibration.event_map[m] for m in class_markers} == set(p.classes + p.optional_classes)
    graz = protocols["graz-mi"]
    cue = next(ph for ph in graz.phases if ph.marker)
    # The calibration's decision window (0.5-4 s after the cue) lies inside cue + imagery.
    assert sum(ph.duration_s[0] for ph in graz.phases[1:3]) >= PROTOCOLS["mi"].window[1]
    assert cue.display_for("left") == "arrow" and graz.optional_classes == ("feet", "tongue")


def test_schedule_is_balanced_seeded_and_scaled():
    p = load_protocol(SHORT)
    order = trial_order(p, seed=3)
    assert Counter(order) == {"left": 3, "right": 3}
    assert order == trial_order(p, seed=3) and any(trial_order(p, s) != order for s in range(4, 10))
    full, fast = build_schedule(p, seed=3), build_schedule(p, seed=3, time_scale=0.1)
    assert [s.label for s in full] == [s.label for s in fast]
    assert fast[-1].end_s == pytest.approx(full[-1].end_s * 0.1)
    rests = [s.duration_s for s in full if s.phase == "rest"]
    assert all(0.2 <= d <= 0.4 for d in rests) and len(set(rests)) > 1
    for a, b in zip(full, full[1:]):
        assert b.start_s == pytest.approx(a.end_s)
    cue = next(s for s in full if s.phase == "cue")
    assert cue.marker == f"cue/{cue.label}" and cue.marker_duration_s == pytest.approx(0.5 + 0.7)


def test_timer_emits_every_step_and_marker_once_in_order_even_when_late():
    p = load_protocol(SHORT)
    schedule = build_schedule(p, seed=1)
    smooth = run_to_end(ProtocolTimer(schedule), frame_s=1 / 60)
    late = run_to_end(ProtocolTimer(schedule), frame_s=2.5)  # a GUI stalled for seconds at a time
    markers = [e.marker for e in smooth if e.kind == "marker"]
    assert markers == [e.marker for e in late if e.kind == "marker"]
    assert markers[0] == START_MARKER and markers[-1] == END_MARKER
    assert markers[1:-1] == [f"cue/{c}" for c in trial_order(p, 1)]
    assert [e.step.index for e in smooth if e.kind == "step"] == list(range(len(schedule)))
    assert smooth[-1].kind == "finished" and [e.kind for e in smooth].count("finished") == 1
    times = [e.time_s for e in smooth]
    assert times == sorted(times)


def test_timer_state_progress_and_abort():
    schedule = build_schedule(load_protocol(SHORT), seed=0)
    timer = ProtocolTimer(schedule)
    assert timer.state == "ready" and timer.update(5.0) == [] and timer.current is None
    first = timer.start(0.0)
    assert [e.kind for e in first] == ["step", "marker"] and timer.current.phase == "lead-in"
    t_cue = next(s for s in schedule if s.phase == "cue" and s.trial == 2).start_s
    timer.update(t_cue + 0.01)
    assert timer.current.phase == "cue" and timer.trial_progress() == (3, 6)
    timer.abort()
    assert timer.state == "aborted" and timer.update(1e6) == []
    with pytest.raises(RuntimeError, match="build a new ProtocolTimer"):
        timer.start(0.0)


def test_optional_classes_and_trial_count_can_be_chosen():
    p = load_protocol(SHORT).with_classes(("feet",), trials_per_class=2)
    assert p.classes == ("left", "right", "feet")
    assert Counter(s.label for s in build_schedule(p) if s.phase == "cue") == {"left": 2, "right": 2, "feet": 2}
    with pytest.raises(ProtocolFileError, match="not optional classes"):
        p.with_classes(("tongue",))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phases": []}, "non-empty list"),
        ({"colour": "red"}, "unknown fields"),
        ({"trials_per_class": 0}, "positive integer"),
        ({"phases": [{"name": "cue", "duration_s": -1}]}, "seconds > 0"),
        ({"phases": [{"name": "cue", "duration_s": [2, 1]}]}, "min <= max"),
        ({"phases": [{"name": "cue", "duration_s": 1, "display": "hologram"}]}, "unknown display"),
        ({"phases": [{"name": "cue", "duration_s": 1, "marker": "cue/{subject}"}]}, "only {class}"),
        ({"phases": [{"name": "cue", "duration_s": 1, "marker": "x", "marker_until": "rest"}]}, "marker_until"),
        ({"training": {"epochs": 3}}, "unknown training option"),
        ({"training": {"folds": "five"}}, "must be a int"),
    ],
)
def test_invalid_protocol_files_are_refused_with_a_reason(tmp_path, change, message):
    data = json.loads(SHORT.read_text())
    data.update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ProtocolFileError, match=message) as info:
        load_protocol(path)
    assert str(path) in str(info.value)


def test_unreadable_protocol_files_name_the_problem(tmp_path):
    with pytest.raises(ProtocolFileError, match="cannot read"):
        load_protocol(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ProtocolFileError, match="not valid JSON"):
        load_protocol(tmp_path / "broken.json")
    with pytest.raises(ProtocolFileError, match="missing fields"):
        protocol_from_dict({"name": "x"})


def test_too_few_trials_for_the_trainer_are_flagged_before_recording():
    protocols = {p.name: p for p in builtin_protocols()}
    graz, distraction = protocols["graz-mi"], protocols["distraction"]
    assert trial_count_warning(graz) is None and trial_count_warning(distraction) is None
    assert "at least 10 trials" in trial_count_warning(graz.with_classes(trials_per_class=6))
    assert "at least 5 blocks" in trial_count_warning(distraction.with_classes(trials_per_class=4))
    assert trial_count_warning(load_protocol(SHORT)) is None  # folds 0, minimum 2
