"""Calibration paradigms as data files: what the subject sees, for how long, and which markers go out.

A protocol file (JSON, see ``app/protocols/``) describes one paradigm:

- ``classes`` (and ``optional_classes`` the user may add, e.g. feet/tongue) and
  ``trials_per_class``: one trial per class instance, in random order when ``randomize``;
- ``phases``: the sequence every trial runs through, each with a ``duration_s`` (a number,
  or ``[min, max]`` for a uniformly random duration), a ``display`` (what the cue screen
  shows; a name, or one per class) and optionally a ``marker`` sent when the phase starts
  (``{class}`` is replaced by the trial's class), ``marker_until`` (the phase up to whose
  end the marker's annotation lasts) and ``end_marker`` sent when the phase ends;
- ``lead_in_s`` / ``lead_out_s``: a get-ready screen before the first trial and a last
  recording stretch after the last one (the final epochs need data after their cue);
- ``training``: options passed to ``samba-calibrate`` when the recording ends.

A phase whose display is ``feedback`` makes the protocol a *feedback run*: during it the
cue screen shows a cursor moving with the decoded probabilities, and each trial is scored
online (:mod:`app.paradigm.feedback`). Such protocols need motor-imagery classes with a
cue direction (left, right, feet, tongue). In ``instructions``, ``{classes}`` is replaced
by the classes in use, in words (see :meth:`CueProtocol.instructions_text`).

The markers are those :mod:`calibration.protocols` reads: ``cue/<class>`` for motor
imagery, ``block/<condition>`` for the distraction blocks.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from calibration import MIN_TRIALS_PER_CLASS, PROTOCOLS

from .cue_classes import ARROWS, imagery_words

#: Folder of the protocol files shipped with the app.
PROTOCOL_DIR = Path(__file__).resolve().parents[1] / "protocols"

#: What the cue screen can show (see :mod:`app.paradigm.displays`).
DISPLAYS = ("blank", "cross", "arrow", "text", "arithmetic", "tracking", "feedback")

#: Training options understood in a protocol's ``training`` section (``samba-calibrate`` flags).
TRAINING_OPTIONS = {
    "protocol": str, "train": str, "folds": int, "max_epochs": int, "patience": int, "lr": float,
    "seed": int, "threads": int, "baselines": bool, "min_trials_per_class": int, "mains": float,
}


class ProtocolFileError(ValueError):
    """A protocol file is missing, unreadable or inconsistent; the message says what to fix."""


@dataclass(frozen=True)
class Phase:
    """One phase of a trial.

    Parameters
    ----------
    name : str
        Phase name (``fixation``, ``cue``, ``imagery``, ``rest``...).
    duration_s : (float, float)
        Shortest and longest duration in seconds; equal for a fixed duration.
    display : dict class -> display name
        What the cue screen shows during the phase, per class (``"*"`` for any class).
    text : dict class -> str
        Text for the ``text`` display, per class (``"*"`` for any class).
    marker : str, optional
        Marker sent at the phase start; ``{class}`` is replaced by the trial's class.
    marker_until : str, optional
        Name of the phase (this one or a later one) whose end closes the marker's annotation.
    end_marker : str, optional
        Marker sent at the phase end.
    interval_s : float
        For changing displays (arithmetic problems), seconds between changes.
    """

    name: str
    duration_s: tuple[float, float]
    display: dict[str, str] = field(default_factory=lambda: {"*": "blank"})
    text: dict[str, str] = field(default_factory=dict)
    marker: str | None = None
    marker_until: str | None = None
    end_marker: str | None = None
    interval_s: float = 4.0

    def display_for(self, label: str) -> str:
        return self.display.get(label, self.display.get("*", "blank"))

    def text_for(self, label: str) -> str:
        return self.text.get(label, self.text.get("*", "")).format(**{"class": label})

    def marker_for(self, label: str) -> str | None:
        return None if self.marker is None else self.marker.format(**{"class": label})

    def end_marker_for(self, label: str) -> str | None:
        return None if self.end_marker is None else self.end_marker.format(**{"class": label})


@dataclass(frozen=True)
class CueProtocol:
    """A calibration paradigm read from a protocol file (see the module docstring).

    Parameters
    ----------
    name, title, task : str
        Identifier, a title for the picker, and the model head it calibrates (``mi``, ``distraction``).
    classes : tuple of str
        Classes always run.
    optional_classes : tuple of str
        Classes the user may add (e.g. ``feet``, ``tongue``).
    trials_per_class : int
        Trials (or blocks) per class.
    phases : tuple of Phase
        What every trial runs through.
    randomize : bool
        Shuffle the trial order (seeded, so a run can be reproduced).
    lead_in_s, lead_out_s : float
        Seconds before the first and after the last trial.
    instructions : str
        Shown to the subject on the cue screen before the start.
    description : str
        One line for the operator.
    training : dict
        ``samba-calibrate`` options (see :data:`TRAINING_OPTIONS`).
    path : Path, optional
        The file it came from.
    """

    name: str
    title: str
    task: str
    classes: tuple[str, ...]
    phases: tuple[Phase, ...]
    trials_per_class: int = 20
    optional_classes: tuple[str, ...] = ()
    randomize: bool = True
    lead_in_s: float = 3.0
    lead_out_s: float = 4.0
    instructions: str = ""
    description: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def with_classes(self, extra: tuple[str, ...] = (), trials_per_class: int | None = None) -> CueProtocol:
        """This protocol with some optional classes added and/or another trial count."""
        unknown = sorted(set(extra) - set(self.optional_classes))
        if unknown:
            raise ProtocolFileError(f"protocol {self.name!r}: {unknown} are not optional classes "
                                    f"(optional: {list(self.optional_classes)})")
        n = self.trials_per_class if trials_per_class is None else int(trials_per_class)
        if n < 1:
            raise ProtocolFileError(f"trials per class must be at least 1, got {n}")
        return replace(self, classes=self.classes + tuple(c for c in self.optional_classes if c in extra),
                       trials_per_class=n)

    @property
    def has_feedback(self) -> bool:
        """Whether this is a feedback run (a phase shows the decoder's cursor)."""
        return any("feedback" in p.display.values() for p in self.phases)

    def instructions_text(self) -> str:
        """The instructions with ``{classes}`` replaced by the classes in use, in words."""
        return self.instructions.replace("{classes}", imagery_words(self.classes))

    def markers(self) -> list[str]:
        """Every class marker this protocol can send (optional classes included)."""
        out = []
        for label in self.classes + self.optional_classes:
            for p in self.phases:
                for m in (p.marker_for(label), p.end_marker_for(label)):
                    if m is not None and m not in out:
                        out.append(m)
        return out

    def nominal_trial_s(self) -> float:
        """Mean duration of one trial (s)."""
        return sum((a + b) / 2 for a, b in (p.duration_s for p in self.phases))

    def nominal_total_s(self) -> float:
        """Expected duration of the whole run (s)."""
        return self.lead_in_s + self.lead_out_s + len(self.classes) * self.trials_per_class * self.nominal_trial_s()


def trial_count_warning(protocol: CueProtocol) -> str | None:
    """Why ``samba-calibrate`` would refuse this many trials, or None.

    Cue trials are epochs of their own (at least ``min_trials_per_class``, default 10, and
    one per fold); blocks give many epochs each but cross-validation keeps a block whole,
    so each class needs at least one block per fold.
    """
    folds = int(protocol.training.get("folds", 5))
    calibration_protocol = PROTOCOLS.get(str(protocol.training.get("protocol")))
    if calibration_protocol is not None and calibration_protocol.mode == "block":
        if folds and protocol.trials_per_class < folds:
            return f"{folds}-fold cross-validation needs at least {folds} blocks per class"
        return None
    needed = max(int(protocol.training.get("min_trials_per_class", MIN_TRIALS_PER_CLASS)), folds)
    if protocol.trials_per_class < needed:
        return f"the trainer needs at least {needed} trials per class"
    return None


def load_protocol(path: str | Path) -> CueProtocol:
    """Read and check a protocol file.

    Raises
    ------
    ProtocolFileError
        Missing or unreadable file, unknown or missing fields, bad durations or displays.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ProtocolFileError(f"cannot read protocol file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ProtocolFileError(f"protocol file {path} is not valid JSON: {exc}") from exc
    try:
        return replace(protocol_from_dict(data), path=path)
    except ProtocolFileError as exc:
        raise ProtocolFileError(f"protocol file {path}: {exc}") from exc


def builtin_protocols() -> list[CueProtocol]:
    """The protocols shipped in ``app/protocols/``, sorted by file name."""
    return [load_protocol(p) for p in sorted(PROTOCOL_DIR.glob("*.json"))]


def protocol_from_dict(data: dict[str, Any]) -> CueProtocol:
    """Build a :class:`CueProtocol` from the JSON structure of a protocol file."""
    if not isinstance(data, dict):
        raise ProtocolFileError("the top level must be a JSON object")
    known = {f.name for f in fields(CueProtocol)} - {"path"}
    unknown = sorted(set(data) - known - {"format"})
    if unknown:
        raise ProtocolFileError(f"unknown fields {unknown}; known fields are {sorted(known)}")
    missing = [k for k in ("name", "task", "classes", "phases") if k not in data]
    if missing:
        raise ProtocolFileError(f"missing fields {missing}")
    classes = tuple(str(c) for c in data["classes"])
    optional = tuple(str(c) for c in data.get("optional_classes", ()))
    if not classes or len(set(classes + optional)) != len(classes + optional):
        raise ProtocolFileError(f"classes {list(classes)} + optional {list(optional)} must be non-empty and distinct")
    if not isinstance(data["phases"], list) or not data["phases"]:
        raise ProtocolFileError("phases must be a non-empty list of phase objects")
    phases = tuple(_phase(p, i) for i, p in enumerate(data["phases"]))
    names = [p.name for p in phases]
    for i, p in enumerate(phases):
        if p.marker_until is not None and p.marker_until not in names[i:]:
            raise ProtocolFileError(f"phase {p.name!r}: marker_until {p.marker_until!r} must name this or a later phase "
                                    f"(phases: {names})")
        if p.marker_until is not None and p.marker is None:
            raise ProtocolFileError(f"phase {p.name!r}: marker_until needs a marker")
    if any("feedback" in p.display.values() for p in phases):
        no_direction = [c for c in classes + optional if c not in ARROWS]
        if no_direction:
            raise ProtocolFileError(f"a feedback phase moves a cursor towards each class's cue direction, but "
                                    f"{no_direction} have none (classes with one: {sorted(ARROWS)})")
    training = dict(data.get("training", {}))
    for key, value in training.items():
        kind = TRAINING_OPTIONS.get(key)
        if kind is None:
            raise ProtocolFileError(f"unknown training option {key!r}; known: {sorted(TRAINING_OPTIONS)}")
        if not isinstance(value, kind) and not (kind is float and isinstance(value, int)):
            raise ProtocolFileError(f"training option {key!r} must be a {kind.__name__}, got {value!r}")
    trials = data.get("trials_per_class", 20)
    if not isinstance(trials, int) or trials < 1:
        raise ProtocolFileError(f"trials_per_class must be a positive integer, got {trials!r}")
    lead_in, lead_out = (_seconds(data.get(k, d), k) for k, d in (("lead_in_s", 3.0), ("lead_out_s", 4.0)))
    return CueProtocol(
        name=str(data["name"]), title=str(data.get("title", data["name"])), task=str(data["task"]), classes=classes,
        optional_classes=optional, trials_per_class=trials, phases=phases, randomize=bool(data.get("randomize", True)),
        lead_in_s=lead_in, lead_out_s=lead_out, instructions=str(data.get("instructions", "")),
        description=str(data.get("description", "")), training=training,
    )


_PHASE_FIELDS = {"name", "duration_s", "display", "text", "marker", "marker_until", "end_marker", "interval_s"}


def _phase(d: Any, index: int) -> Phase:
    if not isinstance(d, dict):
        raise ProtocolFileError(f"phase {index} must be an object with name, duration_s and display")
    unknown = sorted(set(d) - _PHASE_FIELDS)
    if unknown:
        raise ProtocolFileError(f"phase {index}: unknown fields {unknown}; known: {sorted(_PHASE_FIELDS)}")
    if "name" not in d or "duration_s" not in d:
        raise ProtocolFileError(f"phase {index} needs a name and a duration_s")
    name = str(d["name"])
    duration = d["duration_s"]
    if isinstance(duration, (int, float)):
        lo = hi = _seconds(duration, f"phase {name!r} duration_s", positive=True)
    elif isinstance(duration, list) and len(duration) == 2:
        lo, hi = (_seconds(v, f"phase {name!r} duration_s", positive=True) for v in duration)
        if hi < lo:
            raise ProtocolFileError(f"phase {name!r}: duration_s range [{lo}, {hi}] must have min <= max")
    else:
        raise ProtocolFileError(f"phase {name!r}: duration_s must be seconds or [min, max], got {duration!r}")
    display = _per_class(d.get("display", "blank"), f"phase {name!r} display")
    bad = sorted(set(display.values()) - set(DISPLAYS))
    if bad:
        raise ProtocolFileError(f"phase {name!r}: unknown display {bad}; displays are {list(DISPLAYS)}")
    for key in ("marker", "end_marker"):
        if d.get(key) is not None:
            _check_template(str(d[key]), f"phase {name!r} {key}")
    return Phase(
        name=name, duration_s=(lo, hi), display=display, text=_per_class(d.get("text", {}), f"phase {name!r} text"),
        marker=None if d.get("marker") is None else str(d["marker"]),
        marker_until=None if d.get("marker_until") is None else str(d["marker_until"]),
        end_marker=None if d.get("end_marker") is None else str(d["end_marker"]),
        interval_s=_seconds(d.get("interval_s", 4.0), f"phase {name!r} interval_s", positive=True),
    )


def _per_class(value: Any, what: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"*": value}
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    raise ProtocolFileError(f"{what} must be a string or an object class -> string, got {value!r}")


def _check_template(template: str, what: str) -> None:
    fields_used = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    if fields_used - {"class"}:
        raise ProtocolFileError(f"{what} {template!r}: only {{class}} may be substituted")


def _seconds(value: Any, what: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (positive and value <= 0):
        raise ProtocolFileError(f"{what} must be a number of seconds {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)
