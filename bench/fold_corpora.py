"""Leave-subjects-out views of one prepared pretraining corpus, one per cross-subject fold.

``fold{j}/`` holds a ``corpus.json`` listing every recording except those of fold ``j``'s
subjects (and of ``--exclude`` subjects), with the arrays linked, not copied, and the
excluded subjects named under ``excluded_subjects``. ``samba-pretrain train --corpus
fold{j}`` then pretrains the base that ``bench/cross_subject.py --fold-bases`` scores fold
``j`` with. ``--ship`` adds ``ship/``: every subject except ``--exclude``.

Folds follow the cross-subject protocol's one rule (:mod:`calibration.subject_folds`) over the
evaluated subjects (EEGMMIDB ``S001``..., EEGMAT ``SubjectNN``); the view's ``fold`` record
(``k``, ``index``, ``excluded_subjects``) ends up in the base's provenance. Other recordings
(e.g. Muse) are never scored and train every base::

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from calibration.subject_folds import fold_record  # noqa: E402


def evaluated(subject: str) -> bool:
    """Whether the cross-subject protocol scores this corpus subject (EEGMMIDB ``S001``, EEGMAT ``Subject01``)."""
    return re.fullmatch(r"S\d{3}|Subject\d+", subject) is not None


def write_view(root: Path, manifest: dict, out: Path, excluded: set[str], fold: dict | None = None) -> int:
    """Write ``out/corpus.json`` without ``excluded`` subjects, linking the kept arrays; ``fold``: its fold record."""
    out.mkdir(parents=True, exist_ok=True)
    kept = [e for e in manifest["recordings"] if e["subject"] not in excluded]
    for entry in kept:
        link = out / entry["file"]
        if not link.exists():
            os.symlink(os.path.relpath(root / entry["file"], out), link)
    view = dict(manifest, recordings=kept, excluded_subjects=sorted(excluded))
    if fold is not None:
        view["fold"] = fold
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
    scored = sorted({e["subject"] for e in manifest["recordings"] if evaluated(e["subject"])})
    exclude = set(args.exclude)
    result = {"folds": {}}
    for j in range(args.folds):
        record = fold_record(scored, args.folds, j)
        members = set(record["excluded_subjects"])
        n = write_view(root, manifest, args.out / f"fold{j}", members | exclude, record)
        result["folds"][f"fold{j}"] = {"scored_subjects": sorted(members), "recordings": n}
    if args.ship:
        result["ship"] = {"recordings": write_view(root, manifest, args.out / "ship", exclude),
                          "excluded": sorted(exclude)}
    emit(result, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
