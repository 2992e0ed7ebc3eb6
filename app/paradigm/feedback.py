"""Feedback runs (the second half of the Graz protocol): a cursor that follows the decoder, trials scored online.

During a protocol phase whose display is ``feedback``, the cue screen shows the fixation
cross and a cursor that moves continuously with the decoded class probabilities (the
Graz-BCI bar / BCI2000 cursor task, Pfurtscheller & Neuper 2001, *Proc. IEEE* 89(7)).
Each trial is scored when its feedback phase ends: the decoded class is the argmax of the
mean probability over the phase (:func:`~app.pipeline.ground_truth.trial_decision`, the rule
cue scoring uses too), and the run's online accuracy comes with a Wilson
score interval (Wilson 1927, *JASA* 22(158)) and a one-sided binomial test against chance.

:class:`FeedbackLoop` is driven by any run driver (headless runner, GUI): it takes the
protocol timer's events and the model's probabilities, gives the cursor position, the
markers to record (``feedback/start`` when the cursor appears, ``feedback/<decoded>``
when it is scored) and the :class:`RunScore`. Nothing here imports Qt.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import binomtest

from app.pipeline.ground_truth import trial_decision, wilson_interval

from .cue_classes import ARROWS
from .timer import Step, TimerEvent

#: The display name of feedback phases in protocol files.
FEEDBACK_DISPLAY = "feedback"
#: Marker sent when a feedback phase starts; ``feedback/<class>`` (or ``feedback/none``) when it is scored.
FEEDBACK_START, FEEDBACK_NONE = "feedback/start", "feedback/none"
#: Default time constant (s) of the cursor's exponential smoothing.
DEFAULT_CURSOR_SMOOTHING_S = 0.4


def wilson_interval_reference(hits: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson (1927) formula written out: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = hits / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / (1 + z * z / n)), min(1.0, (centre + half) / (1 + z * z / n))


def cursor_position(probs: Mapping[str, float]) -> tuple[float, float]:
    """Cursor position in [-1, 1]² from class probabilities: Σ p_c · u_c.

    ``u_c`` is the unit vector of the class's cue arrow (:data:`~app.paradigm.cue_classes.ARROWS`;
    x to the right, y up), so with left/right probabilities summing to one the cursor sits at
    x = p(right) − p(left).

    Raises
    ------
    ValueError
        A class has no arrow direction.
    """
    x = y = 0.0
    for label, p in probs.items():
        if label not in ARROWS:
            raise ValueError(f"class {label!r} has no feedback direction; feedback needs classes among {sorted(ARROWS)}")
        a = math.radians(ARROWS[label])
        x += float(p) * math.cos(a)
        y += float(p) * math.sin(a)
    return max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y))


class CursorSmoother:
    """Exponential smoothing of the probabilities shown by the cursor, by elapsed time.

    ``s ← s + α (p − s)`` with ``α = 1 − exp(−Δt / τ)``; ``τ = 0`` shows every vector as it comes.
    """

    def __init__(self, smoothing_s: float = DEFAULT_CURSOR_SMOOTHING_S) -> None:
        if smoothing_s < 0:
            raise ValueError(f"smoothing must be >= 0 s, got {smoothing_s}")
        self.smoothing_s = float(smoothing_s)
        self.reset()

    def reset(self) -> None:
        self.state: np.ndarray | None = None
        self._t: float | None = None

    def update(self, probs: np.ndarray, t: float) -> np.ndarray:
        probs = np.asarray(probs, dtype=np.float64)
        if self.state is None or self.smoothing_s == 0:
            self.state = probs.copy()
        else:
            dt = max(0.0, t - self._t)
            self.state = self.state + (1 - math.exp(-dt / self.smoothing_s)) * (probs - self.state)
        self._t = t
        return self.state


@dataclass(frozen=True)
class FeedbackOutcome:
    """One scored feedback trial.

    Parameters
    ----------
    trial : int
    label : str
        The cued class.
    decoded : str or None
        Argmax of the mean probability over the feedback phase; None when no decision came.
    mean_probs : dict class -> float
        Mean probability per class over the phase (renormalised over the protocol's classes).
    n_decisions : int
        Probability vectors that arrived during the phase.
    """

    trial: int
    label: str
    decoded: str | None
    mean_probs: dict[str, float]
    n_decisions: int

    @property
    def correct(self) -> bool:
        return self.decoded == self.label


@dataclass(frozen=True)
class RunScore:
    """Online accuracy of one feedback run.

    Parameters
    ----------
    classes : tuple of str
    outcomes : tuple of FeedbackOutcome
        Every trial whose feedback phase ended (undecided ones included).
    confidence : float
        Level of the Wilson interval.
    """

    classes: tuple[str, ...]
    outcomes: tuple[FeedbackOutcome, ...] = field(default_factory=tuple)
    confidence: float = 0.95

    @property
    def scored(self) -> tuple[FeedbackOutcome, ...]:
        """Trials with a decision (the accuracy's denominator)."""
        return tuple(o for o in self.outcomes if o.decoded is not None)

    @property
    def n(self) -> int:
        return len(self.scored)

    @property
    def hits(self) -> int:
        return sum(o.correct for o in self.scored)

    @property
    def undecided(self) -> int:
        return len(self.outcomes) - self.n

    @property
    def accuracy(self) -> float:
        return self.hits / self.n if self.n else float("nan")

    @property
    def chance(self) -> float:
        return 1.0 / len(self.classes)

    @property
    def interval(self) -> tuple[float, float]:
        return (0.0, 1.0) if self.n == 0 else wilson_interval(self.hits, self.n, self.confidence)

    @property
    def p_value(self) -> float:
        """One-sided binomial test of the hits against chance (1 when nothing was scored)."""
        return float(binomtest(self.hits, self.n, self.chance, alternative="greater").pvalue) if self.n else 1.0

    def per_class(self) -> dict[str, tuple[int, int]]:
        """class -> (hits, scored trials)."""
        return {c: (sum(o.correct for o in self.scored if o.label == c), sum(o.label == c for o in self.scored))
                for c in self.classes}

    def summary(self) -> str:
        """One line: accuracy with its interval, chance, p-value, per class, undecided trials."""
        if not self.n:
            return f"no trial was scored ({self.undecided} without any decision)"
        lo, hi = self.interval
        per = ", ".join(f"{c} {h}/{k}" for c, (h, k) in self.per_class().items())
        text = (f"online accuracy {self.accuracy:.2f} ({self.hits}/{self.n}; {self.confidence:.0%} Wilson interval "
                f"{lo:.2f}-{hi:.2f}; chance {self.chance:.2f}, p = {self.p_value:.3g}; {per})")
        return text + (f"; {self.undecided} trial(s) without a decision" if self.undecided else "")

    def to_dict(self) -> dict:
        lo, hi = self.interval
        return {"classes": list(self.classes), "hits": self.hits, "n": self.n, "undecided": self.undecided,
                "accuracy": None if not self.n else self.accuracy, "interval": [lo, hi], "confidence": self.confidence,
                "chance": self.chance, "p_value": self.p_value,
                "trials": [{"trial": o.trial, "label": o.label, "decoded": o.decoded, "n_decisions": o.n_decisions,
                            "mean_probs": o.mean_probs} for o in self.outcomes]}


def combined_score(scores: Sequence[RunScore]) -> RunScore:
    """All runs' trials as one score (classes of the first run)."""
    if not scores:
        raise ValueError("no run to combine")
    return RunScore(scores[0].classes, tuple(o for s in scores for o in s.outcomes), scores[0].confidence)


class FeedbackLoop:
    """The cursor and the online scoring of one feedback run.

    Parameters
    ----------
    classes : sequence of str
        The protocol's classes (the cursor and the score use these only).
    model_classes : sequence of str
        The decoding head's classes, in the order of its probability vectors.
    head : str
        The head whose decisions :meth:`on_decision` reads.
    smoothing_s : float
        Time constant of the cursor's smoothing (s); the score uses the probabilities as given.

    Raises
    ------
    ValueError
        A protocol class is not decoded by the head, or has no feedback direction.

    Call :meth:`on_event` with every timer event (it returns the markers to send now) and
    :meth:`on_probabilities` (or :meth:`on_decision`) with every probability vector; the
    latter may come from another thread.
    """

    def __init__(self, classes: Sequence[str], model_classes: Sequence[str], head: str = "mi",
                 smoothing_s: float = DEFAULT_CURSOR_SMOOTHING_S) -> None:
        self.classes, self.model_classes, self.head = tuple(classes), tuple(model_classes), head
        absent = [c for c in self.classes if c not in self.model_classes]
        if absent:
            raise ValueError(f"the decoding head does not predict {absent} (its classes: {list(self.model_classes)}); "
                             "choose a checkpoint calibrated for these classes, or a protocol without them")
        cursor_position({c: 0.0 for c in self.classes})  # every class has a direction
        self._index = [self.model_classes.index(c) for c in self.classes]
        self.smoother = CursorSmoother(smoothing_s)
        self._lock = threading.Lock()
        self._step: Step | None = None
        self._phase: list[np.ndarray] = []  # the probability vectors of the feedback phase on screen
        self._outcomes: list[FeedbackOutcome] = []

    @property
    def active(self) -> bool:
        """Whether a feedback phase is on screen."""
        return self._step is not None

    def on_event(self, event: TimerEvent) -> list[str]:
        """Follow the timeline; returns the markers to send now (``feedback/start``, ``feedback/<class>``)."""
        if event.kind not in ("step", "finished"):
            return []
        markers: list[str] = []
        with self._lock:
            if self._step is not None:
                markers.append(self._score())
            step = event.step if event.kind == "step" else None
            if step is not None and step.display == FEEDBACK_DISPLAY and step.label is not None:
                self._step, self._phase = step, []
                self.smoother.reset()
                markers.append(FEEDBACK_START)
        return markers

    def on_probabilities(self, probs: np.ndarray, t: float) -> None:
        """One probability vector of the head (model class order) at LSL time ``t`` (s)."""
        p = np.asarray(probs, dtype=np.float64)[self._index]
        total = p.sum()
        if not np.isfinite(total) or total <= 0:
            return
        p = p / total
        with self._lock:
            if self._step is None:
                return
            self._phase.append(p)
            self.smoother.update(p, t)

    def on_decision(self, decision) -> None:
        """A :class:`~app.pipeline.Decision` of the running model.

        Reads the head's probabilities as the pipeline publishes them (``smoothed``: after the
        pipeline's own smoothing, off by default), the same vectors the GUI's display buffers
        hold, so headless and GUI runs score alike.
        """
        self.on_probabilities(decision.smoothed[self.head], decision.sample_time)

    def position(self) -> tuple[float, float] | None:
        """Where the cursor is (see :func:`cursor_position`); None outside feedback phases."""
        with self._lock:
            if self._step is None:
                return None
            state = self.smoother.state
            if state is None:
                return 0.0, 0.0
            return cursor_position(dict(zip(self.classes, state)))

    def score(self) -> RunScore:
        """The trials scored so far."""
        with self._lock:
            return RunScore(self.classes, tuple(self._outcomes))

    def _score(self) -> str:
        step, self._step = self._step, None
        mean, decided = trial_decision(np.reshape(self._phase, (len(self._phase), len(self.classes))))
        decoded = None if decided is None else self.classes[decided]
        self._outcomes.append(FeedbackOutcome(step.trial, step.label, decoded,
                                              {c: float(v) for c, v in zip(self.classes, mean)}, len(self._phase)))
        return FEEDBACK_NONE if decoded is None else f"feedback/{decoded}"
