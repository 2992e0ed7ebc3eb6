"""The subjects a data folder's README reserves for evaluation: never train, tune or select on them.

The README's section headed "Reserved for evaluation" (any heading level, up to the next
heading) is read clause by clause (clauses end at ``. ``, ``;`` or a line break). A
clause reserves:

- every ``S``-prefixed number (``S009``, ``S9``) and BIDS ``sub-09``;
- the list after "subject(s)" / "participant(s)" / "Subject05": numbers joined by
  commas, "and", "or", "plus", "&", with ranges ``10-12``, ``10–12``, ``10 to 12``,
  ``10 through 12``, ``S010-S012``.

A clause that names exactly one dataset (see :data:`DATASET_NAMES`, e.g. "EEGMAT
Subject05") reserves for that dataset only; any other clause reserves for every dataset,
because over-reserving costs a little data while under-reserving leaks evaluation
subjects into training. So "Subjects 7 and 8 are held out, plus S009" reserves 7, 8 and 9.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

#: Dataset keys and the words that name them in a README.
DATASET_NAMES = {
    "eegmmidb": ("eegmmidb", "eegbci", "motor movement/imagery", "motor movement"),
    "eegmat": ("eegmat", "mental arithmetic"),
    "muse": ("muse", "eeg-notebooks"),
}
_HEADING = re.compile(r"^#+\s*reserved for evaluation\b.*$", re.IGNORECASE | re.MULTILINE)
_NEXT_HEADING = re.compile(r"^#+\s", re.MULTILINE)
_CLAUSE_END = re.compile(r"\.(?=\s|$)|;|\n")
_PREFIXED = re.compile(r"\b(?:S|sub-)(\d{1,4})(?:\s*(?:-|–|—|to|through)\s*(?:S|sub-)(\d{1,4}))?\b")
_LIST = re.compile(
    r"\b(?:subjects?|participants?)\s*(?:ids?|numbers?|nos?\.?)?\s*:?\s*"
    r"((?:(?:S|sub-)?\d{1,4}\b|\s+|,|&|-|–|—|\b(?:and|or|plus|to|through)\b)+)",
    re.IGNORECASE,
)
_ITEM = re.compile(r"(?:S|sub-)?(\d{1,4})(?:\s*(?:-|–|—|to|through)\s*(?:S|sub-)?(\d{1,4}))?", re.IGNORECASE)
_MAX_RANGE = 1000


class ReservedSubjectError(ValueError):
    """Someone asked to train, tune or select on a subject reserved for evaluation."""


@dataclass(frozen=True)
class ReservedSubjects:
    """Subjects reserved for evaluation.

    Parameters
    ----------
    everywhere : frozenset of int
        Subject numbers reserved in every dataset.
    by_dataset : dict of str -> frozenset of int
        Subject numbers reserved in one dataset only (keys of :data:`DATASET_NAMES`).
    source : Path or None
        The README read.
    """

    everywhere: frozenset[int] = frozenset()
    by_dataset: dict[str, frozenset[int]] = field(default_factory=dict)
    source: Path | None = None

    def of(self, dataset: str | None = None) -> frozenset[int]:
        """Subject numbers reserved in ``dataset`` (None: those reserved everywhere plus in any dataset)."""
        if dataset is None:
            return self.everywhere.union(*self.by_dataset.values())
        return self.everywhere | self.by_dataset.get(dataset, frozenset())

    def covers(self, subject: int | str, dataset: str | None = None) -> bool:
        """Whether ``subject`` (a number, ``"S007"``, ``"Subject07"``) is reserved in ``dataset``."""
        return subject_number(subject) in self.of(dataset)

    def __bool__(self) -> bool:
        return bool(self.of())

    def refuse(self, subjects, dataset: str | None = None) -> None:
        """Raise :class:`ReservedSubjectError` if any of ``subjects`` is reserved in ``dataset``."""
        bad = sorted({subject_number(s) for s in subjects} & self.of(dataset))
        if bad:
            raise ReservedSubjectError(
                f"subject(s) {bad}{f' of {dataset}' if dataset else ''} are reserved for evaluation by {self.source}: "
                "never train, tune or select on them; leave them out (take the subjects the data folder offers)"
            )


def subject_number(subject: int | str) -> int:
    """7 from ``7``, ``"7"``, ``"S007"``, ``"Subject07"``, ``"sub-07"``, ``"subject7"``.

    Raises
    ------
    ValueError
        No number in ``subject``.
    """
    if isinstance(subject, int):
        return subject
    match = re.search(r"(\d+)\s*$", str(subject))
    if match is None:
        raise ValueError(f"{subject!r} is not a subject number (e.g. 7, 'S007', 'Subject07')")
    return int(match.group(1))


def subject_key(subject: int | str | None) -> str | None:
    """One spelling of a subject id, for comparing ids that were written two ways: the id's letters in
    lower case without separators, then its trailing number without leading zeros. ``"S002"``,
    ``"s2"``, ``"S 002"`` -> ``"s2"``; ``"Subject01"``, ``"subject-1"`` -> ``"subject1"``; a bare
    number (``2``, ``"002"``) -> ``"2"``; an id without a trailing number keeps its letters and digits
    (``"muse-visual-N170"`` -> ``"musevisualn170"``). None for no id (None, empty, separators only)."""
    if isinstance(subject, float):  # 2.0 is 2; NaN, inf and 2.5 name no subject
        subject = int(subject) if subject.is_integer() else None
    if subject is None:
        return None
    text = str(subject).strip()
    match = re.search(r"([0-9]+)$", text)
    head = re.sub(r"[^0-9a-z]", "", (text[: match.start()] if match else text).lower())
    key = head + (str(int(match.group(1))) if match else "")
    return key or None


def _trailing_digits(key: str) -> str:
    match = re.search(r"[0-9]+$", key)
    return match.group(0) if match else ""


def shared_subjects(ids, others) -> list[str]:
    """The ids among ``ids`` that name a subject of ``others`` however either spells it (:func:`subject_key`),
    sorted. A bare number matches any id with that number (``2`` ~ ``"S002"``, ``"Subject02"``): it names no
    dataset, and a caution is better shown once too often than missed. Ids without a key never match."""
    ids, others = ([x] if isinstance(x, (str, int)) else x for x in (ids, others))
    keys = {k for k in map(subject_key, others) if k is not None}
    numbers = {n for n in map(_trailing_digits, keys) if n}
    bare = {k for k in keys if k.isdigit()}

    def seen(s) -> bool:
        k = subject_key(s)
        return k is not None and (k in keys or (k.isdigit() and k in numbers) or _trailing_digits(k) in bare)

    return sorted({str(s) for s in ids if seen(s)})


def _numbers(text: str) -> set[int]:
    out: set[int] = set()
    for m in _ITEM.finditer(text):
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        out |= set(range(lo, hi + 1)) if lo <= hi <= lo + _MAX_RANGE else {lo, hi}
    return out


def _clause_subjects(clause: str) -> set[int]:
    found = set()
    for m in _PREFIXED.finditer(clause):
        found |= _numbers(m.group(0))
    for m in _LIST.finditer(clause):
        found |= _numbers(m.group(1))
    return found


def section(text: str) -> str:
    """The text of the "Reserved for evaluation" section ("" when there is none)."""
    match = _HEADING.search(text)
    if match is None:
        return ""
    rest = text[match.end():]
    end = _NEXT_HEADING.search(rest)
    return rest[: end.start()] if end else rest


def parse_reserved(text: str, source: Path | None = None) -> ReservedSubjects:
    """The subjects a README's text reserves (see the module docstring for the grammar)."""
    everywhere: set[int] = set()
    by_dataset: dict[str, set[int]] = {}
    for clause in _CLAUSE_END.split(section(text)):
        subjects = _clause_subjects(clause)
        if not subjects:
            continue
        lower = clause.lower()
        named = [key for key, words in DATASET_NAMES.items() if any(w in lower for w in words)]
        if len(named) == 1:
            by_dataset.setdefault(named[0], set()).update(subjects)
        else:
            everywhere |= subjects
    return ReservedSubjects(frozenset(everywhere), {k: frozenset(v) for k, v in by_dataset.items()}, source)


def reserved_subjects(data_root: str | Path) -> ReservedSubjects:
    """What ``<data_root>/README.md`` reserves for evaluation (nothing when there is no README)."""
    readme = Path(data_root) / "README.md"
    if not readme.is_file():
        return ReservedSubjects(source=None)
    return parse_reserved(readme.read_text(encoding="utf-8", errors="replace"), readme)
