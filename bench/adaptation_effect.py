"""Does unsupervised online adaptation help a new subject? Zero-calibration MI with ``recentre`` on vs off.

What it measures (for the model card): leave-one-subject-out, zero-calibration balanced
accuracy of imagined left vs right fist (EEGMMIDB runs 4, 8, 12; T1 = left, T2 = right)
decoded by a logistic-regression head on the frozen SAMBA encoder's bottleneck features,
once with the input as the base was pretrained on it (``adaptation="none"``) and once with
causal per-electrode re-centring (``adaptation="recentre"``, :mod:`samba_core.adaptation`).

* Subjects: every EEGMMIDB subject found under ``--data-root`` with at least one imagery
  run (minus those the data README reserves for evaluation, unless named with ``--subjects``).
* Bases: ``--bases`` (fold bases, each pretrained without some subjects). A subject is
  scored only with a base whose ``provenance["corpus"]["excluded_subjects"]`` lists it,
  preferring the base of its fold (subjects sorted by id, the i-th in fold i mod #bases).
* Each run is one stream through the live preprocessing; the adaptation restarts with it
  (its warm-up covers the first ``--warmup-s`` seconds). A trial's feature is the mean of
  the bottleneck features of the tokens that end in [cue + 0.5 s, cue + 4 s].
* Head: standardise + L2 logistic regression, fitted on the trials of all other subjects
  (features from the held-out subject's base, same adaptation setting), scored on the
  held-out subject's trials: no label of the subject is used.
* Statistics: per-subject balanced accuracy, means with a 95 % t interval over subjects, and
  the paired on - off difference with its 95 % t interval, a paired t-test and a Wilcoxon
  signed-rank test.

    python bench/adaptation_effect.py --data-root ../shared/data --bases runs_local/bases/fold*.samba

Prints one JSON object as the last line (and writes it to ``--json-out``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from json_result import emit  # noqa: E402
from calibration.epochs import select_channels  # noqa: E402
from samba_core.recordings import discover, read_recording  # noqa: E402
from samba_core.recordings.datasets import IMAGERY_RUNS  # noqa: E402
from samba_core import Samba, load_checkpoint  # noqa: E402
from samba_core.adaptation import recentre_offline  # noqa: E402
from samba_core.model import with_adaptation  # noqa: E402
from samba_core.preprocessing import PreprocessConfig, parse_unit, preprocess_offline  # noqa: E402

CUES = {"T1": 0, "T2": 1}  # left, right
DECISION_WINDOW_S = (0.5, 4.0)


def imagery_runs(root: Path) -> dict[int, list[Path]]:
    """Non-reserved subject -> its imagery run files present under ``root`` (any of runs 4, 8, 12), ascending."""
    return {s.subject: s.paths(runs=IMAGERY_RUNS) for s in discover(root, ("eegmmidb",))
            if not s.reserved and s.paths(runs=IMAGERY_RUNS)}


def load_runs(files: list[Path], preprocessing: PreprocessConfig) -> list[tuple[np.ndarray, np.ndarray, list]]:
    """Each run through the live preprocessing: (data (channels, time) microvolts, coords (channels, 3), markers)."""
    out = []
    for path in files:
        rec = read_recording(path)
        sel = select_channels(rec)
        unit = parse_unit(rec.unit, strict=False)
        out.append((preprocess_offline(rec.data[sel.indices], rec.sample_rate, preprocessing, unit=unit).astype(np.float32),
                    sel.coords, list(rec.markers)))
    return out


def trial_features(model: Samba, runs: list[tuple[np.ndarray, np.ndarray, list]], fs: float,
                   adapt: bool) -> tuple[np.ndarray, np.ndarray]:
    """Frozen bottleneck features of a subject's cued trials, each run one stream.

    ``adapt``: re-centre each run with :func:`~samba_core.adaptation.recentre_offline` (the map a
    model with ``adaptation="recentre"`` applies inside its forward pass) before the frozen,
    unadapted ``model``. Runs are batched, end-padded (causal: padding cannot reach earlier tokens).
    Returns X (trials, d_last), the mean feature of the tokens ending in the decision window,
    and y (trials,) 0 = T1, 1 = T2.
    """
    config = replace(model.config, adaptation="recentre") if adapt else model.config
    datas = [recentre_offline(d, config) if adapt else d for d, _, _ in runs]
    longest = max(d.shape[1] for d in datas)
    batch = np.stack([np.pad(d, ((0, 0), (0, longest - d.shape[1]))) for d in datas])
    with torch.no_grad():
        feats = model(torch.from_numpy(batch), torch.from_numpy(runs[0][1]), decoder=False).features.numpy()
    hop = model.config.hop
    xs, ys = [], []
    for (data, _, markers), f in zip(runs, feats):
        f = f[: data.shape[1] // hop]
        ends_s = (np.arange(f.shape[0]) * hop + hop - 1) / fs
        for m in markers:
            if m.description not in CUES:
                continue
            keep = (ends_s >= m.onset + DECISION_WINDOW_S[0]) & (ends_s <= m.onset + DECISION_WINDOW_S[1])
            if keep.any():
                xs.append(f[keep].mean(axis=0))
                ys.append(CUES[m.description])
    return np.asarray(xs, np.float32), np.asarray(ys, np.int64)


def adaptation_features(checkpoint: str | Path, files: list[Path], **options) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Evaluation hook: a subject's trial features from ``checkpoint`` without and with adaptation.

    ``files``: the subject's recordings (one stream each, all of one montage); ``options``
    override the adaptation's config (e.g. ``adaptation_tau_s=120.0``). Returns
    ``{"off": (X, y), "on": (X, y)}`` as :func:`trial_features`.
    """
    loaded = load_checkpoint(checkpoint)
    model = with_adaptation(loaded.model, "none", **options)
    prep = PreprocessConfig.from_dict(loaded.metadata.preprocessing)
    runs = load_runs(files, prep)
    fs = float(prep.target_rate)
    return {"off": trial_features(model, runs, fs, False), "on": trial_features(model, runs, fs, True)}


def interval(values: np.ndarray) -> list[float]:
    """95 % t interval of the mean (degenerate for fewer than two values)."""
    from scipy import stats

    v = np.asarray(values, float)
    if v.size < 2:
        return [float(v.mean()), float(v.mean())] if v.size else [float("nan")] * 2
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return [float(v.mean() - half), float(v.mean() + half)]


def loso_scores(features: dict[int, tuple[np.ndarray, np.ndarray]], subject: int) -> float:
    """Balanced accuracy on ``subject`` of a head fitted on every other subject's trials."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = [s for s in features if s != subject]
    X = np.concatenate([features[s][0] for s in train])
    y = np.concatenate([features[s][1] for s in train])
    head = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(X, y)
    Xs, ys = features[subject]
    return float(balanced_accuracy_score(ys, head.predict(Xs)))


def choose_bases(subjects: list[int], all_subjects: list[int], bases: list[Path]) -> dict[int, Path]:
    """Subject -> a base that excluded it (its fold's base first); subjects no base excluded are left out."""
    excluded = {b: set(load_checkpoint(b).metadata.provenance.get("corpus", {}).get("excluded_subjects", []))
                for b in bases}
    chosen = {}
    for s in subjects:
        fold = bases[all_subjects.index(s) % len(bases)]
        ok = [b for b in [fold, *bases] if f"S{s:03d}" in excluded[b]]
        if ok:
            chosen[s] = ok[0]
    return chosen


def main() -> None:
    from scipy import stats

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--bases", type=Path, nargs="+", required=True, help="fold bases (.samba), in fold order")
    p.add_argument("--subjects", type=int, nargs="*", help="default: all present and not reserved")
    p.add_argument("--tau-s", type=float, default=120.0, help="adaptation time constant, seconds")
    p.add_argument("--warmup-s", type=float, default=10.0, help="adaptation warm-up, seconds")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cache", type=Path, help="folder to keep each (base, subject)'s features in (resumable)")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    runs = imagery_runs(args.data_root)
    all_subjects = sorted(runs)
    subjects = args.subjects or list(all_subjects)
    base_of = choose_bases(subjects, all_subjects, sorted(args.bases))
    options = {"adaptation_tau_s": args.tau_s, "adaptation_warmup_s": args.warmup_s}
    per_base: dict[Path, dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]] = {}
    for base in sorted(set(base_of.values())):
        per_base[base] = {"off": {}, "on": {}}
        for s in subjects:
            cached = args.cache / f"{base.stem}-S{s:03d}-tau{args.tau_s:g}-warm{args.warmup_s:g}.npz" if args.cache else None
            if cached is not None and cached.is_file():
                z = np.load(cached)
                feats = {m: (z[f"{m}_X"], z[f"{m}_y"]) for m in ("off", "on")}
            else:
                feats = adaptation_features(base, runs[s], **options)
                if cached is not None:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    np.savez(cached, **{f"{m}_{k}": v for m in feats for k, v in zip("Xy", feats[m])})
            for mode in ("off", "on"):
                per_base[base][mode][s] = feats[mode]
            print(f"{base.name} S{s:03d}: {feats['off'][0].shape[0]} trials", file=sys.stderr, flush=True)
    scored = sorted(base_of)
    acc = {mode: np.array([loso_scores(per_base[base_of[s]][mode], s) for s in scored]) for mode in ("off", "on")}
    diff = acc["on"] - acc["off"]
    t_p = float(stats.ttest_rel(acc["on"], acc["off"]).pvalue) if len(scored) > 1 else float("nan")
    w_p = float(stats.wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
    result = {
        "bench": "adaptation_effect", "task": "eegmmidb imagined left/right fist, zero calibration, LOSO",
        "adaptation": {"kind": "recentre", **options},
        "subjects": {f"S{s:03d}": {"base": base_of[s].name, "off": float(acc["off"][i]), "on": float(acc["on"][i])}
                     for i, s in enumerate(scored)},
        "not_scored": [f"S{s:03d}" for s in subjects if s not in base_of],
        "mean": {"off": float(acc["off"].mean()), "on": float(acc["on"].mean()), "on_minus_off": float(diff.mean())},
        "ci95": {"off": interval(acc["off"]), "on": interval(acc["on"]), "on_minus_off": interval(diff)},
        "paired": {"n": len(scored), "ttest_p": t_p, "wilcoxon_p": w_p, "on_better": int((diff > 0).sum()),
                   "off_better": int((diff < 0).sum())},
    }
    emit(result, args.json_out)


if __name__ == "__main__":
    main()
