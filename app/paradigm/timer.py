"""The protocol timer: a deterministic state machine from elapsed time to cue screens and markers.

:func:`build_schedule` draws everything random up front (trial order, random phase
durations) from a seed, so a run is one fixed list of :class:`Step` with start times.
:class:`ProtocolTimer` then only compares elapsed time with that list: given the same
schedule and the same sequence of ``update(now)`` calls it produces the same events,
whatever the clock. The GUI calls :meth:`ProtocolTimer.update` from a QTimer and the
headless runner (:mod:`app.paradigm.runner`) from a plain loop, both with
``time.monotonic()``; tests call it with invented times. ``time_scale`` shrinks every
duration (0.01 runs a 5-minute protocol in 3 s) without changing anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .protocol import CueProtocol

#: States of a :class:`ProtocolTimer`.
READY, RUNNING, FINISHED, ABORTED = "ready", "running", "finished", "aborted"


@dataclass(frozen=True)
class Step:
    """One screen of the run.

    Parameters
    ----------
    index : int
        Position in the schedule.
    trial : int or None
        Trial number (0-based); None for the lead-in and lead-out.
    label : str or None
        The trial's class.
    phase : str
        Phase name (``lead-in``, ``lead-out`` or one of the protocol's phases).
    display, text : str
        What the cue screen shows (see :data:`app.paradigm.protocol.DISPLAYS`).
    start_s, duration_s : float
        Start since the run began and duration, in seconds (time_scale applied).
    marker : str or None
        Marker sent when the step starts.
    marker_duration_s : float
        Duration of the annotation that marker opens (s); 0 when it closes nothing.
    end_marker : str or None
        Marker sent when the step ends.
    interval_s : float
        Seconds between changes of a changing display.
    """

    index: int
    trial: int | None
    label: str | None
    phase: str
    display: str
    text: str
    start_s: float
    duration_s: float
    marker: str | None = None
    marker_duration_s: float = 0.0
    end_marker: str | None = None
    interval_s: float = 4.0

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class TimerEvent:
    """Something the driver of a run (GUI or headless runner) must do now.

    Parameters
    ----------
    kind : str
        ``"step"`` (show ``step``), ``"marker"`` (send ``marker``) or ``"finished"``.
    time_s : float
        Scheduled time of the event since the run began (s).
    step : Step or None
    marker : str or None
    duration_s : float
        For markers: the duration of the annotation they open (s).
    """

    kind: str
    time_s: float
    step: Step | None = None
    marker: str | None = None
    duration_s: float = 0.0


#: Markers framing every run (not class markers: the calibration ignores them).
START_MARKER, END_MARKER = "protocol/start", "protocol/end"


def trial_order(protocol: CueProtocol, seed: int) -> list[str]:
    """The classes of all trials in run order: balanced, shuffled with ``seed`` when randomised."""
    order = [c for c in protocol.classes for _ in range(protocol.trials_per_class)]
    if protocol.randomize:
        order = [order[i] for i in np.random.default_rng(seed).permutation(len(order))]
    return order


def build_schedule(protocol: CueProtocol, seed: int = 0, time_scale: float = 1.0) -> list[Step]:
    """Every step of a run, with start times.

    Parameters
    ----------
    protocol : CueProtocol
    seed : int
        Seeds the trial order and the random phase durations.
    time_scale : float
        Factor on every duration (1 = as written in the protocol; tests use ~0.01).
    """
    if not time_scale > 0:
        raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
    rng = np.random.default_rng(seed + 1)  # a stream of its own, independent of the order's
    steps: list[Step] = []
    t = 0.0

    def add(**kw) -> Step:
        nonlocal t
        step = Step(index=len(steps), start_s=t, **kw)
        steps.append(step)
        t += step.duration_s
        return step

    add(trial=None, label=None, phase="lead-in", display="text", text="Get ready", marker=START_MARKER,
        duration_s=protocol.lead_in_s * time_scale)
    for trial, label in enumerate(trial_order(protocol, seed)):
        durations = [float(rng.uniform(lo, hi)) if hi > lo else lo for lo, hi in (p.duration_s for p in protocol.phases)]
        durations = [d * time_scale for d in durations]
        names = [p.name for p in protocol.phases]
        for k, phase in enumerate(protocol.phases):
            marker_duration = 0.0
            if phase.marker is not None:
                until = names.index(phase.marker_until, k) if phase.marker_until else k
                marker_duration = sum(durations[k : until + 1])
            add(trial=trial, label=label, phase=phase.name, display=phase.display_for(label),
                text=phase.text_for(label), duration_s=durations[k], marker=phase.marker_for(label),
                marker_duration_s=marker_duration, end_marker=phase.end_marker_for(label),
                interval_s=phase.interval_s * time_scale)
    add(trial=None, label=None, phase="lead-out", display="text", text="Well done: hold still a moment",
        duration_s=protocol.lead_out_s * time_scale, end_marker=END_MARKER)
    return steps


class ProtocolTimer:
    """Walks a schedule as time passes.

    Parameters
    ----------
    schedule : list of Step
        From :func:`build_schedule`.
    """

    def __init__(self, schedule: list[Step]) -> None:
        if not schedule:
            raise ValueError("a protocol run needs at least one step")
        self.schedule = schedule
        self.state = READY
        self._t0: float | None = None
        self._current = -1
        self._ended = -1  # index of the last step whose end was handled

    @property
    def total_s(self) -> float:
        return self.schedule[-1].end_s

    @property
    def n_trials(self) -> int:
        return len({s.trial for s in self.schedule if s.trial is not None})

    @property
    def current(self) -> Step | None:
        """The step on screen (None before the start and after the end)."""
        return self.schedule[self._current] if self.state == RUNNING and self._current >= 0 else None

    def elapsed(self, now: float) -> float:
        """Seconds since the start (0 before it)."""
        return 0.0 if self._t0 is None else now - self._t0

    def start(self, now: float) -> list[TimerEvent]:
        """Begin the run at time ``now`` (s, any monotonic clock); returns the first events."""
        if self.state != READY:
            raise RuntimeError(f"this protocol run is {self.state}; build a new ProtocolTimer to run again")
        self._t0 = now
        self.state = RUNNING
        return self.update(now)

    def update(self, now: float) -> list[TimerEvent]:
        """Events due between the previous call and ``now``, in schedule order.

        When the caller was late (a busy GUI), every step that began and ended meanwhile is
        still reported, so no marker is ever skipped.
        """
        if self.state != RUNNING:
            return []
        t = now - self._t0
        events: list[TimerEvent] = []
        while True:
            if self._current >= 0 and self._ended < self._current and t >= self.schedule[self._current].end_s:
                step = self.schedule[self._current]
                self._ended = self._current
                if step.end_marker is not None:
                    events.append(TimerEvent("marker", step.end_s, step, step.end_marker))
            nxt = self._current + 1
            if nxt < len(self.schedule) and t >= self.schedule[nxt].start_s and self._ended == self._current:
                step = self.schedule[nxt]
                self._current = nxt
                events.append(TimerEvent("step", step.start_s, step))
                if step.marker is not None:
                    events.append(TimerEvent("marker", step.start_s, step, step.marker, step.marker_duration_s))
                continue
            if nxt >= len(self.schedule) and self._ended == self._current:
                self.state = FINISHED
                events.append(TimerEvent("finished", self.total_s))
            return events

    def abort(self) -> None:
        """Stop the run where it is (no more events)."""
        if self.state in (READY, RUNNING):
            self.state = ABORTED

    def trial_progress(self) -> tuple[int, int]:
        """(trials begun, trials in the run)."""
        step = self.current
        if self.state == FINISHED:
            return self.n_trials, self.n_trials
        done = 0 if step is None or step.trial is None else step.trial + 1
        if step is not None and step.phase == "lead-out":
            done = self.n_trials
        return done, self.n_trials
