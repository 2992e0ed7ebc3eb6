"""Calibration protocols as data: which annotation means which class, and which samples form an epoch.

A protocol maps marker descriptions (EDF/FIF annotations, XDF marker strings) to the
class names of one model head, and says how to cut epochs around them. Two kinds:

``cue``
    One epoch per marker (a cue). The model sees ``[onset + tmin, onset + window[1]]``;
    its prediction is taken from the tokens that end inside the *decision window*
    ``[onset + window[0], onset + window[1]]``. The part before the decision window is
    context: a live decoder runs continuously, so when a cue comes it has already seen
    the preceding seconds.
``block``
    A marker opens a block of one condition that lasts ``duration`` seconds (the
    annotation's duration, or up to the next marker when the duration is 0, as for XDF
    markers). The block is cut into consecutive epochs of the same shape as a cue epoch,
    each starting ``stride`` seconds after the previous one. Epochs of one block share
    a group id, so cross-validation never splits a block between training and test.

Built-in protocols (see :data:`PROTOCOLS`):

=========================  ============  =====================================================
name                       task (head)   markers -> classes
=========================  ============  =====================================================
``mi``                     mi            ``cue/left``, ``cue/right`` (+ ``cue/feet``, ``cue/tongue``)
``eegmmidb-imagery``       mi            PhysioNet EEGMMIDB runs 4, 8, 12: ``T1`` = left, ``T2`` = right
``eegmmidb-fists-feet``    mi            EEGMMIDB runs 6, 10, 14: ``T1`` = both fists, ``T2`` = feet
``distraction``            distraction   ``block/attentive``, ``block/distracted`` (blocks)
=========================  ============  =====================================================

The same marker can mean different things in different files (EEGMMIDB's ``T1`` is
left-fist imagery in runs 4/8/12 but both-fists imagery in runs 6/10/14), so a protocol
can restrict itself to files whose name matches ``file_pattern``.

A protocol can also be read from a JSON file with the fields of :class:`Protocol`.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable

from samba_core.recordings.datasets import FISTS_FEET_EVENTS, FISTS_FEET_RUNS, IMAGERY_EVENTS, IMAGERY_RUNS


class ProtocolError(ValueError):
    """A protocol definition is invalid, or no protocol fits a recording."""


@dataclass(frozen=True)
class Protocol:
    """How to turn a marked recording into labelled epochs for one model head.

    Parameters
    ----------
    name : str
        Identifier, recorded in the subject checkpoint.
    task : str
        Model head the classes belong to (``"mi"``, ``"distraction"``).
    events : tuple of (description, class) pairs
        Marker description -> class name. Matching is exact (case-sensitive).
    classes : tuple of str
        All classes the protocol knows, in head output order. A recording may contain a
        subset (e.g. left/right only); then only those classes are calibrated.
    mode : str
        ``"cue"`` or ``"block"`` (see the module docstring).
    tmin : float
        Start of the model input relative to the epoch anchor, in seconds (<= window[0]).
    window : (float, float)
        Decision window relative to the anchor, in seconds.
    stride : float
        Block mode: seconds between consecutive epochs of a block.
    file_pattern : str or None
        Regular expression searched in the file name; markers of other files are ignored.
    description : str
        One line for humans.
    """

    name: str
    task: str
    events: tuple[tuple[str, str], ...]
    classes: tuple[str, ...]
    mode: str = "cue"
    tmin: float = -1.0
    window: tuple[float, float] = (0.5, 4.0)
    stride: float = 2.0
    file_pattern: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.mode not in ("cue", "block"):
            raise ProtocolError(f"protocol {self.name!r}: mode must be 'cue' or 'block', got {self.mode!r}")
        lo, hi = (float(v) for v in self.window)
        if not hi > lo:
            raise ProtocolError(f"protocol {self.name!r}: decision window {self.window} must have end > start")
        if self.tmin > lo:
            raise ProtocolError(f"protocol {self.name!r}: tmin {self.tmin} s must not be after the window start {lo} s")
        if self.mode == "block" and not self.stride > 0:
            raise ProtocolError(f"protocol {self.name!r}: block stride must be > 0 s, got {self.stride}")
        unknown = sorted({cls for _, cls in self.events} - set(self.classes))
        if unknown:
            raise ProtocolError(f"protocol {self.name!r}: events map to classes {unknown} that are not in {self.classes}")
        if self.file_pattern is not None:
            try:
                re.compile(self.file_pattern)
            except re.error as exc:
                raise ProtocolError(f"protocol {self.name!r}: invalid file_pattern {self.file_pattern!r}: {exc}") from exc
        object.__setattr__(self, "window", (lo, hi))

    @property
    def event_map(self) -> dict[str, str]:
        return dict(self.events)

    @property
    def epoch_seconds(self) -> float:
        """Length of the model input of one epoch, in seconds."""
        return self.window[1] - self.tmin

    def applies_to(self, file_name: str) -> bool:
        """Whether markers of a file with this name are read by this protocol."""
        return self.file_pattern is None or re.search(self.file_pattern, file_name) is not None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["events"] = [list(e) for e in self.events]
        d["classes"] = list(self.classes)
        d["window"] = list(self.window)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Protocol":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ProtocolError(f"unknown protocol fields {sorted(unknown)}; known fields are {sorted(known)}")
        kw = dict(d)
        try:
            kw["events"] = tuple((str(a), str(b)) for a, b in kw["events"])
            kw["classes"] = tuple(str(c) for c in kw["classes"])
            if "window" in kw:
                kw["window"] = tuple(float(v) for v in kw["window"])
            return cls(**kw)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ProtocolError):
                raise
            raise ProtocolError(
                f"invalid protocol definition ({exc}); it needs name, task, events [[marker, class], ...] "
                "and classes [...]"
            ) from exc

    @classmethod
    def from_json(cls, path: str | Path) -> "Protocol":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ProtocolError(f"cannot read protocol file {path}: {exc}") from exc
        return cls.from_dict(data)


MOTOR_IMAGERY = Protocol(
    name="mi", task="mi",
    events=(("cue/left", "left"), ("cue/right", "right"), ("cue/feet", "feet"), ("cue/tongue", "tongue")),
    classes=("left", "right", "feet", "tongue"),
    description="SAMBA-Live motor-imagery calibration: cue/<class> markers, 4 s of imagery after each cue",
)

def _runs_pattern(runs: tuple[int, ...]) -> str:
    """File names of EEGMMIDB runs ``runs`` (``S001R04.edf``)."""
    return rf"R({'|'.join(f'{r:02d}' for r in runs)})\D*$"


EEGMMIDB_IMAGERY = Protocol(
    name="eegmmidb-imagery", task="mi",
    events=tuple(IMAGERY_EVENTS.items()), classes=tuple(IMAGERY_EVENTS.values()),
    file_pattern=_runs_pattern(IMAGERY_RUNS),
    description="PhysioNet EEGMMIDB imagined left/right fist (runs 4, 8, 12; T1 = left, T2 = right)",
)

EEGMMIDB_FISTS_FEET = Protocol(
    name="eegmmidb-fists-feet", task="mi",
    events=tuple(FISTS_FEET_EVENTS.items()), classes=tuple(FISTS_FEET_EVENTS.values()),
    file_pattern=_runs_pattern(FISTS_FEET_RUNS),
    description="PhysioNet EEGMMIDB imagined both fists / both feet (runs 6, 10, 14; T1 = fists, T2 = feet)",
)

DISTRACTION = Protocol(
    name="distraction", task="distraction",
    events=(("block/attentive", "attentive"), ("block/distracted", "distracted")),
    classes=("attentive", "distracted"), mode="block", tmin=0.0, window=(1.0, 5.0), stride=2.0,
    description="SAMBA-Live distraction calibration: block/<condition> markers open blocks of one condition",
)

#: Built-in protocols by name.
PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (MOTOR_IMAGERY, EEGMMIDB_IMAGERY, EEGMMIDB_FISTS_FEET, DISTRACTION)}


def get_protocol(spec: str | Path) -> Protocol:
    """A built-in protocol by name, or a protocol read from a JSON file path."""
    if str(spec) in PROTOCOLS:
        return PROTOCOLS[str(spec)]
    path = Path(spec)
    if path.suffix.lower() == ".json" or path.exists():
        return Protocol.from_json(path)
    raise ProtocolError(f"unknown protocol {str(spec)!r}; built-in protocols are {sorted(PROTOCOLS)}, or give a JSON file")


def count_events(protocol: Protocol, markers: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Events per class that ``protocol`` finds in ``(file_name, description)`` pairs."""
    counts = {c: 0 for c in protocol.classes}
    mapping = protocol.event_map
    for file_name, description in markers:
        if description in mapping and protocol.applies_to(file_name):
            counts[mapping[description]] += 1
    return counts


def select_protocol(task: str, markers: list[tuple[str, str]]) -> Protocol:
    """Pick the built-in protocol of ``task`` that finds the most events in the markers.

    Parameters
    ----------
    task : str
        Model head to calibrate.
    markers : list of (file_name, description)
        Every marker of the session.
    """
    candidates = [p for p in PROTOCOLS.values() if p.task == task]
    if not candidates:
        tasks = sorted({p.task for p in PROTOCOLS.values()})
        raise ProtocolError(f"no built-in protocol for task {task!r}; known tasks are {tasks}, or pass --protocol FILE.json")
    scored = [(sum(count_events(p, markers).values()), p) for p in candidates]
    best_count, best = max(scored, key=lambda s: s[0])
    if best_count == 0:
        found = sorted({d for _, d in markers})[:12]
        expected = "; ".join(f"{p.name}: {sorted(p.event_map)}" + (f" in files matching {p.file_pattern!r}" if p.file_pattern else "")
                             for p in candidates)
        raise ProtocolError(
            f"no {task!r} calibration events in the session (markers found: {found or 'none'}). Expected markers: "
            f"{expected}. Record with these markers or pass --protocol with a JSON mapping."
        )
    return best
