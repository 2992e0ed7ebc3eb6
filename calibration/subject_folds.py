"""The one fold rule of the leave-subject-out protocol, shared by evaluation and fold pretraining.

Subjects are split into ``k`` folds so that every fold base (a network pretrained without
one fold's subjects) and every evaluation that scores that fold agree on who is where:

1. subjects are grouped by dataset (the id without its digits: ``S001`` -> ``S``,
   ``Subject01`` -> ``Subject``), so each dataset is spread over all folds;
2. within a dataset, subjects are sorted by their number (then by id);
3. the i-th subject of a dataset goes to fold ``i mod k``.

The rule needs nothing but the ids, so the GPU script that pretrains ``fold{j}.samba`` and
``bench/cross_subject.py`` compute the same assignment from the subjects on disk.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable


def dataset_of(subject: str) -> str:
    """The dataset part of a subject id: the id with its digits removed (``S001`` -> ``S``)."""
    return re.sub(r"\d+", "", str(subject))


def _number(subject: str) -> int:
    digits = re.findall(r"\d+", str(subject))
    return int(digits[-1]) if digits else -1


def subject_folds(subjects: Iterable[str], k: int) -> dict[str, int]:
    """Fold index (0..k-1) of every subject id, by the rule of the module docstring.

    Raises
    ------
    ValueError
        ``k < 2``, duplicate ids, or fewer subjects than folds (a fold would be empty).
    """
    subjects = [str(s) for s in subjects]
    if k < 2:
        raise ValueError(f"a leave-subject-out split needs at least 2 folds, got {k}")
    if len(set(subjects)) != len(subjects):
        raise ValueError(f"subject ids must be unique, got {sorted(subjects)}")
    if len(subjects) < k:
        raise ValueError(f"{len(subjects)} subject(s) cannot fill {k} folds; use --folds {max(2, len(subjects))} or fewer")
    by_dataset: dict[str, list[str]] = defaultdict(list)
    for s in subjects:
        by_dataset[dataset_of(s)].append(s)
    folds: dict[str, int] = {}
    for members in by_dataset.values():
        for i, s in enumerate(sorted(members, key=lambda s: (_number(s), s))):
            folds[s] = i % k
    return folds


def fold_subjects(subjects: Iterable[str], k: int, fold: int) -> list[str]:
    """The subjects of fold ``fold`` (those a fold base must not be pretrained on), sorted."""
    if not 0 <= fold < k:
        raise ValueError(f"fold {fold} is outside 0..{k - 1}")
    return sorted(s for s, f in subject_folds(subjects, k).items() if f == fold)


def fold_record(subjects: Iterable[str], k: int, fold: int) -> dict:
    """What a fold base stores as ``provenance["fold"]``: ``{"k", "index", "excluded_subjects"}``."""
    return {"k": int(k), "index": int(fold), "excluded_subjects": fold_subjects(subjects, k, fold)}


def check_fold_base(provenance: dict, scored: Iterable[str], name: str) -> list[str]:
    """Refuse a base that was pretrained on subjects it is about to score.

    Reads ``provenance["corpus"]["subjects"]`` (subjects pretrained on) and
    ``provenance["fold"]["excluded_subjects"]`` (subjects left out), when present.

    Returns
    -------
    Notes for the report (e.g. that the base records neither, so the check could not run).

    Raises
    ------
    ValueError
        The base lists a scored subject among its training subjects, or records excluded
        subjects that do not include every scored subject.
    """
    scored = set(scored)
    trained = provenance.get("corpus", {}).get("subjects")
    excluded = provenance.get("fold", {}).get("excluded_subjects")
    if trained is not None and scored & {str(s) for s in trained}:
        raise ValueError(f"{name} was pretrained on {sorted(scored & set(map(str, trained)))}, which it would score; "
                         "pretrain the fold base without its fold's subjects (calibration.subject_folds.fold_subjects)")
    if excluded is not None and not scored <= {str(s) for s in excluded}:
        raise ValueError(f"{name} excludes {sorted(map(str, excluded))} but would score {sorted(scored - set(map(str, excluded)))} "
                         "as well: the fold bases were made with another fold rule, subject list or --folds")
    if trained is None and excluded is None:
        return [f"{name} records neither its training nor its excluded subjects: exclusion was not checked"]
    return []
