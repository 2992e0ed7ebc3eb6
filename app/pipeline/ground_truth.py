"""Ground truth beside the decisions: score live decisions against the cues of the input.

When the input carries cue markers (a replayed file's annotations, a paradigm's cue
stream given with ``--markers``), each cue that names a class of a decoded head opens a
*trial*: the imagery window ``[cue + window[0], cue + window[1])`` (seconds, LSL time),
cut short by the next cue. The trial's decision is the class of the mean probability
vector over the decisions stamped inside that window (the published, smoothed
probabilities: what the user and any LSL client saw) (the rule ``samba-calibrate`` uses
offline: one decision per epoch from the tokens of its decision window), and every
decision inside a window is also scored on its own (per-decision agreement).

Cue -> class goes through a :class:`CueMap`: a protocol or annotation table such as
EEGMMIDB's (``T1`` = left fist, ``T2`` = right fist; ``T0`` = rest is not a trial),
SAMBA-Live's own paradigm markers (``cue/<class>``), or a marker that is the class name.

Accuracy intervals are Wilson score intervals (E. B. Wilson, "Probable inference, the law
of succession, and statistical inference", JASA 22(158):209-212, 1927), computed by
:meth:`scipy.stats.binomtest` ``.proportion_ci(method="wilson")``.

No Qt and no LSL here: the live pipeline feeds :class:`GroundTruth`; tests feed it
synthetic sequences.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import binomtest

#: PhysioNet EEGMMIDB annotations of the imagined left/right fist runs (4, 8, 12) and of
#: the executed ones (3, 7, 11). T0 (rest) opens no trial. Runs 5/6, 9/10, 13/14 use T1/T2
#: for both fists / both feet: pass a cue map for those.
EEGMMIDB_CUES: dict[str, str] = {"T1": "left", "T2": "right"}

#: Imagery window after the cue (s) when the checkpoint says nothing: EEGMMIDB's 4.1 s
#: trials, without the first half second (the cue's visual evoked response).
DEFAULT_WINDOW_S = (0.5, 4.0)

#: Decisions kept waiting for a late cue marker (s of LSL time).
_KEEP_S = 30.0


@dataclass(frozen=True)
class CueMap:
    """Marker text -> class name.

    Parameters
    ----------
    table : mapping of str -> str
        Explicit markers (e.g. :data:`EEGMMIDB_CUES`); checked first.

    A marker not in the table maps to ``<class>`` when it reads ``cue/<class>`` (the
    paradigm's cues) or is itself a class name; anything else (``T0``, ``fixation``...)
    opens no trial.
    """

    table: Mapping[str, str] = field(default_factory=lambda: dict(EEGMMIDB_CUES))

    @classmethod
    def parse(cls, text: str) -> CueMap:
        """From ``"T1=left,T2=right"`` (the ``--cue-map`` flag).

        Raises
        ------
        ValueError
            An entry is not ``MARKER=CLASS``.
        """
        table = {}
        for item in filter(None, (s.strip() for s in text.split(","))):
            marker, sep, cls_name = item.partition("=")
            if not sep or not marker.strip() or not cls_name.strip():
                raise ValueError(f"cue map entry {item!r} is not MARKER=CLASS (e.g. --cue-map T1=left,T2=right)")
            table[marker.strip()] = cls_name.strip()
        return cls(table)

    def class_of(self, text: str) -> str | None:
        """The class a marker cues, or None (not a cue)."""
        text = text.strip()
        if text in self.table:
            return self.table[text]
        if text.startswith("cue/"):
            return text[len("cue/"):]
        return text or None


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (see the module docstring), the one used for
    every accuracy the app reports (running accuracy against cues, feedback runs).

    Returns ``(nan, nan)`` for ``n == 0``.

    Raises
    ------
    ValueError
        ``k`` outside [0, n] or ``confidence`` outside (0, 1).
    """
    if not 0 <= k <= n or not 0 < confidence < 1:
        raise ValueError(f"need 0 <= k <= n and 0 < confidence < 1, got k={k}, n={n}, confidence={confidence}")
    if n == 0:
        return math.nan, math.nan
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def trial_decision(probabilities) -> tuple[np.ndarray, int | None]:
    """The decision of one trial, the one rule for cue scoring and feedback runs.

    Parameters
    ----------
    probabilities : (decisions, classes) array-like
        The probability vectors stamped inside the trial's window, in arrival order.

    Returns
    -------
    mean : (classes,) float
        Mean probability per class; NaN when no decision came (pass a (0, classes) array).
    decided : int or None
        Index of the class of the mean vector (argmax), None when the window holds no decision.

    Raises
    ------
    ValueError
        ``probabilities`` is not two-dimensional.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"trial probabilities must be (decisions, classes), got shape {p.shape}")
    if p.shape[0] == 0:
        return np.full(p.shape[1], np.nan), None
    mean = p.mean(axis=0)
    return mean, int(np.argmax(mean))


@dataclass(frozen=True)
class TrialOutcome:
    """One scored trial.

    Parameters
    ----------
    head : str
    cue : str
        The marker text.
    cue_time : float
        LSL time of the cue (s).
    true_class, predicted : str
    probabilities : (classes,) float
        Mean probability over the window's decisions.
    n_decisions, n_agree : int
        Decisions inside the window, and how many of them had the true class as argmax.
    """

    head: str
    cue: str
    cue_time: float
    true_class: str
    predicted: str
    probabilities: np.ndarray
    n_decisions: int
    n_agree: int

    @property
    def correct(self) -> bool:
        return self.predicted == self.true_class

    def describe(self) -> str:
        """E.g. ``trial T1 (mi:left): decided left p=0.62 correct``."""
        return (f"trial {self.cue} ({self.head}:{self.true_class}): decided {self.predicted} "
                f"p={max(self.probabilities):.2f} {'correct' if self.correct else 'wrong'}")

    def to_event(self) -> dict:
        """JSON-shaped, for the recording's event log."""
        return {"kind": "trial", "t": self.cue_time, "head": self.head, "cue": self.cue, "true": self.true_class,
                "predicted": self.predicted, "probs": [float(p) for p in self.probabilities],
                "n_decisions": self.n_decisions, "n_agree": self.n_agree}


@dataclass(frozen=True)
class Score:
    """Trials (or decisions) right out of a total, with a Wilson 95 % interval."""

    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.total)

    def format(self) -> str:
        if not self.total:
            return "no trial yet"
        lo, hi = self.interval
        return f"{self.accuracy:.2f} [{lo:.2f}, {hi:.2f}] ({self.correct}/{self.total})"


@dataclass(frozen=True)
class HeadScore:
    """Running score of one head against the cues.

    Parameters
    ----------
    head : str
    trials : Score
        Trial accuracy (one decision per trial, see the module docstring).
    per_class : dict class -> Score
        Trials of each true class (the class's recall).
    decisions : Score
        Per-decision agreement inside the trial windows.
    chance : float
        Accuracy of always answering the most frequent true class so far.
    """

    head: str
    trials: Score
    per_class: dict[str, Score]
    decisions: Score
    chance: float

    def format(self) -> str:
        classes = ", ".join(f"{c} {s.correct}/{s.total}" for c, s in self.per_class.items())
        agree = (f"{self.decisions.accuracy:.0%} of {self.decisions.total} decisions agree" if self.decisions.total
                 else "no decision inside a trial yet")
        # Always answering the most frequent cued class so far: 1.00 after one trial, the class balance later.
        chance = f", majority-class baseline {self.chance:.2f}" if self.trials.total else ""
        return f"{self.head}: trial accuracy {self.trials.format()}{chance}; {classes}; {agree}"


class HeadScorer:
    """Trials of one head: cues in, decisions in, outcomes out.

    Parameters
    ----------
    head : str
    classes : tuple of str
        The head's classes, in the order of its probability vectors.
    cue_map : CueMap
    window_s : (float, float)
        Imagery window after the cue (s).
    """

    def __init__(self, head: str, classes: tuple[str, ...], cue_map: CueMap,
                 window_s: tuple[float, float] = DEFAULT_WINDOW_S) -> None:
        if not window_s[0] < window_s[1]:
            raise ValueError(f"trial window must be (start, end) with start < end, got {window_s}")
        self.head = head
        self.classes = tuple(classes)
        self.cue_map = cue_map
        self.window_s = (float(window_s[0]), float(window_s[1]))
        self.outcomes: list[TrialOutcome] = []
        self._cues: list[tuple[float, str, str | None]] = []  # (time, text, class or None), time order
        self._next = 0  # first cue not yet scored
        self._decisions: deque[tuple[float, np.ndarray]] = deque()
        self._newest = -math.inf

    def add_cue(self, time: float, text: str) -> None:
        cls_name = self.cue_map.class_of(text)
        entry = (float(time), text, cls_name if cls_name in self.classes else None)
        self._cues.append(entry)
        if len(self._cues) > 1 and self._cues[-2][0] > entry[0]:
            self._cues.sort(key=lambda c: c[0])

    def add_decision(self, time: float, probs: np.ndarray) -> list[TrialOutcome]:
        """One decision; returns the trials it completed."""
        self._decisions.append((float(time), np.asarray(probs, dtype=np.float64)))
        self._newest = max(self._newest, float(time))
        while self._decisions and self._decisions[0][0] < self._newest - _KEEP_S:
            self._decisions.popleft()
        return self._score(final=False)

    def finish(self) -> list[TrialOutcome]:
        """End of input: score the trials whose window has started; drop those without decisions."""
        return self._score(final=True)

    def _score(self, final: bool) -> list[TrialOutcome]:
        done = []
        while self._next < len(self._cues):
            t0, text, true_class = self._cues[self._next]
            start, end = t0 + self.window_s[0], t0 + self.window_s[1]
            if self._next + 1 < len(self._cues):
                end = min(end, self._cues[self._next + 1][0])
            if self._newest < end and not final:
                break
            self._next += 1
            if true_class is None:
                continue
            inside = [p for t, p in self._decisions if start <= t < end]
            if not inside:
                continue
            mean, decided = trial_decision(inside)
            truth = self.classes.index(true_class)
            outcome = TrialOutcome(self.head, text, t0, true_class, self.classes[decided], mean,
                                   len(inside), sum(int(np.argmax(p)) == truth for p in inside))
            self.outcomes.append(outcome)
            done.append(outcome)
        return done

    def score(self) -> HeadScore:
        n = len(self.outcomes)
        per_class = {}
        for c in self.classes:
            of_c = [o for o in self.outcomes if o.true_class == c]
            per_class[c] = Score(sum(o.correct for o in of_c), len(of_c))
        return HeadScore(
            self.head, Score(sum(o.correct for o in self.outcomes), n), per_class,
            Score(sum(o.n_agree for o in self.outcomes), sum(o.n_decisions for o in self.outcomes)),
            max((s.total for s in per_class.values()), default=0) / n if n else math.nan,
        )


class GroundTruth:
    """Scores every decoded head that the cues address; thread-safe.

    Parameters
    ----------
    classes : dict head -> tuple of class names
        The decoded heads.
    cue_map : CueMap
    windows : dict head -> (start, end), optional
        Imagery window per head (s of recording after the cue); default :data:`DEFAULT_WINDOW_S`.
    speed : float
        Replay speed: the input's clock runs this many times faster than the recording's,
        so the windows shrink by this factor.
    """

    def __init__(self, classes: Mapping[str, tuple[str, ...]], cue_map: CueMap | None = None,
                 windows: Mapping[str, tuple[float, float]] | None = None, speed: float = 1.0) -> None:
        cue_map = cue_map or CueMap()
        windows = windows or {}
        self.scorers = {
            h: HeadScorer(h, tuple(c), cue_map, tuple(w / speed for w in windows.get(h, DEFAULT_WINDOW_S)))
            for h, c in classes.items()
        }
        self.n_cues = 0
        #: Every marker received: (LSL time, text).
        self.cues: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def add_cue(self, time: float, text: str) -> None:
        with self._lock:
            self.n_cues += 1
            self.cues.append((float(time), text))
            for scorer in self.scorers.values():
                scorer.add_cue(time, text)

    def add_decision(self, time: float, probs: Mapping[str, np.ndarray]) -> list[TrialOutcome]:
        """One decision's probabilities per head; returns the trials it completed."""
        with self._lock:
            return [o for h, s in self.scorers.items() if h in probs for o in s.add_decision(time, probs[h])]

    def finish(self) -> list[TrialOutcome]:
        with self._lock:
            return [o for s in self.scorers.values() for o in s.finish()]

    def scores(self) -> dict[str, HeadScore]:
        """Heads that have at least one cue of theirs (others are not scored)."""
        with self._lock:
            return {h: s.score() for h, s in self.scorers.items() if any(c[2] for c in s._cues)}

    def summary(self) -> str:
        """One line per scored head, or a note that no cue named a decoded class."""
        scores = self.scores()
        if not scores:
            return f"ground truth: {self.n_cues} marker(s), none cues a class of the decoded heads"
        return "; ".join(s.format() for s in scores.values())


def trial_windows(provenance: Mapping) -> dict[str, tuple[float, float]]:
    """Imagery windows per head from a checkpoint's provenance, where it records them.

    Reads ``heads[<head>]["protocol"]["window"]`` (the epoching window of a cross-subject head,
    :func:`calibration.cross_subject.train_cross_subject_head`; older head reports:
    ``heads[<head>]["config"]["window_s"]``) and, for a subject calibration, the ``decoding``
    section's ``decision_window_s`` for its ``task`` head.
    """
    out = {}
    for head, report in (provenance.get("heads") or {}).items():
        if not isinstance(report, Mapping):
            continue
        protocol = report.get("protocol") or {}
        window = (protocol.get("window") if protocol.get("mode") == "cue" else None) or \
            (report.get("config") or {}).get("window_s")
        if window and len(window) == 2:
            out[head] = (float(window[0]), float(window[1]))
    decoding = provenance.get("decoding") or {}
    if provenance.get("task") and decoding.get("decision_window_s"):
        w = decoding["decision_window_s"]
        out[provenance["task"]] = (float(w[0]), float(w[1]))
    return out
