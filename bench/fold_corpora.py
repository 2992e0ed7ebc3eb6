"""Leave-subjects-out views of one prepared pretraining corpus, one per cross-subject fold.

``fold{j}/`` holds a ``corpus.json`` listing every recording except those of fold ``j``'s
subjects (and of ``--exclude`` subjects), with the arrays linked, not copied, and the
excluded subjects named under ``excluded_subjects``. ``samba-pretrain train --corpus
fold{j}`` then pretrains the base that ``bench/cross_subject.py --fold-bases`` scores fold
``j`` with. ``--ship`` adds ``ship/``: every subject except ``--exclude``.

Folds follow the cross-subject protocol's rule: within each evaluated dataset (EEGMMIDB
``S001``..., EEGMAT ``SubjectNN``) subjects are sorted by id and the i-th goes to
fold ``i mod k``. Other recordings (e.g. Muse) are never scored and train every base::

    samba-pretrain prepare --spec checkpoints/samba-base.corpus.json --out corpus_all/
    python bench/fold_corpora.py corpus_all/ --folds 4 --out folds/ --ship --exclude S001
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from json_result import emit  # noqa: E402


def dataset_of(subject: str) -> str | None:
    """The evaluated dataset a corpus subject id belongs to (``S001``: EEGMMIDB; ``Subject01``: EEGMAT),
    or None for never-scored sources (e.g. the Muse recordings)."""
    if re.fullmatch(r"(eegmat-)?Subject\d+", subject):
        return "eegmat"
    if re.fullmatch(r"S\d{3}", subject):
        return "eegmmidb"
    return None


def fold_of_subjects(subjects: list[str], k: int) -> dict[str, int]:
    """Fold index of every evaluated subject: per dataset, sorted by id, the i-th in fold i mod k."""
    folds: dict[str, int] = {}
    for dataset in ("eegmmidb", "eegmat"):
        members = sorted(s for s in set(subjects) if dataset_of(s) == dataset)
        folds.update({s: i % k for i, s in enumerate(members)})
    return folds


def write_view(root: Path, manifest: dict, out: Path, excluded: set[str]) -> int:
    """Write ``out/corpus.json`` without ``excluded`` subjects, linking the kept arrays."""
    out.mkdir(parents=True, exist_ok=True)
    kept = [e for e in manifest["recordings"] if e["subject"] not in excluded]
    for entry in kept:
        link = out / entry["file"]
        if not link.exists():
            os.symlink(os.path.relpath(root / entry["file"], out), link)
    view = dict(manifest, recordings=kept, excluded_subjects=sorted(excluded))
    (out / "corpus.json").write_text(json.dumps(view, indent=1))
    return len(kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path, help="prepared corpus folder (samba-pretrain prepare)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--exclude", nargs="*", default=[], help="subjects left out of every view")
    parser.add_argument("--ship", action="store_true", help="also write ship/: all subjects but --exclude")
    args = parser.parse_args(argv)
    root = args.corpus.resolve()
    manifest = json.loads((root / "corpus.json").read_text())
    subjects = [e["subject"] for e in manifest["recordings"]]
    folds = fold_of_subjects(subjects, args.folds)
    exclude = set(args.exclude)
    result = {"folds": {}}
    for j in range(args.folds):
        members = {s for s, f in folds.items() if f == j}
        n = write_view(root, manifest, args.out / f"fold{j}", members | exclude)
        result["folds"][f"fold{j}"] = {"scored_subjects": sorted(members), "recordings": n}
    if args.ship:
        result["ship"] = {"recordings": write_view(root, manifest, args.out / "ship", exclude),
                          "excluded": sorted(exclude)}
    emit(result, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
