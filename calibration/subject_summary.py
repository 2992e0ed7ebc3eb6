"""Per-subject scores -> means with 95% intervals, paired tests across subjects, and the issue's targets.

Input: the ``subjects`` block of :func:`calibration.subject_eval.evaluate` (``{id: {"methods":
{name: {"trial": metrics, "per_decision": metrics}}}}``). Every statistic treats the subject as the
unit (see :mod:`calibration.stats`); the paired tests use trial balanced accuracy, and the
"pretrained beats random" target reads the exact sign-flip permutation test (Wilcoxon beside it).
"""

from __future__ import annotations

import numpy as np

from .metrics import METRICS
from .stats import mean_interval, paired_comparison

#: Method pairs compared per task: (method, reference).
PAIRS = {
    "mi": [("calibrated_samba", "csp_lda"), ("calibrated_samba", "ts_lr"), ("calibrated_samba", "random_init_samba"),
           ("zero_calibration_samba", "recentred_ts_lr"), ("fold_head_samba", "recentred_ts_lr")],
    "distraction": [("cross_subject_samba", "recentred_ts_lr")],
}
#: Balanced accuracies the ``mean`` block must hold per task.
MEAN_KEYS = {"mi": ("calibrated_samba", "csp_lda", "ts_lr", "zero_calibration_samba", "recentred_ts_lr"),
             "distraction": ("cross_subject_samba", "recentred_ts_lr")}


def _values(subjects: dict, method: str, level: str = "trial", metric: str = "balanced_accuracy") -> list[float]:
    return [s["methods"].get(method, {}).get(level, {}).get(metric, float("nan")) for s in subjects.values()]


def summarise_subjects(subjects: dict, task: str, windows_s: tuple[float, ...] = ()) -> dict:
    """``{"mean", "per_subject", "intervals", "paired", "targets"}`` over the scored subjects."""
    methods = sorted({m for s in subjects.values() for m in s["methods"]})
    levels = ("trial", "per_decision")
    intervals = {m: {lv: {k: mean_interval(_values(subjects, m, lv, k)) for k in METRICS}
                     for lv in levels if any(lv in s["methods"].get(m, {}) for s in subjects.values())}
                 for m in methods}
    mean = {m: intervals[m]["trial"]["balanced_accuracy"]["mean"] for m in methods}
    for key in MEAN_KEYS[task]:
        mean.setdefault(key, float("nan"))
    pairs = list(PAIRS[task])
    if task == "distraction":
        pairs += [(f"cross_subject_samba/{w:g}s", f"recentred_ts_lr/{w:g}s") for w in windows_s]
    paired = {f"{a} - {b}": paired_comparison(_values(subjects, a), _values(subjects, b))
              for a, b in pairs if a in methods and b in methods}
    out = {
        "mean": mean,
        "per_subject": {m: dict(zip(subjects, _values(subjects, m))) for m in methods},
        "intervals": intervals, "paired": paired, "targets": _targets(task, mean, paired),
    }
    seen = [s for s, r in subjects.items() if r.get("base_pretrained_on_subject")]
    if seen:  # the targets are about subjects the base never saw: the same numbers without the others
        unseen = {s: r for s, r in subjects.items() if s not in seen}
        out["unseen_by_base"] = {"left_out": seen, "subjects": sorted(unseen)}
        if unseen:
            out["unseen_by_base"].update({k: v for k, v in summarise_subjects(unseen, task, windows_s).items()
                                          if k in ("mean", "paired", "targets")})
    return out


def _targets(task: str, mean: dict, paired: dict) -> dict:
    """The issue's targets on the means over scored subjects (``met`` is None when a number is missing)."""
    def met(condition: bool, *values: float):
        return None if any(not np.isfinite(v) for v in values) else bool(condition)

    if task == "distraction":
        x = mean.get("cross_subject_samba", float("nan"))
        return {"cross_subject_4s_at_least_0.80": met(x >= 0.80, x)}
    cal, csp, ts = mean["calibrated_samba"], mean["csp_lda"], mean["ts_lr"]
    zero, rts = mean["zero_calibration_samba"], mean["recentred_ts_lr"]
    p = paired.get("calibrated_samba - random_init_samba", {})
    return {
        "calibrated_beats_best_classic_by_0.05": met(cal >= max(csp, ts) + 0.05, cal, csp, ts),
        "zero_calibration_at_least_0.65": met(zero >= 0.65, zero),
        "zero_calibration_above_recentred_ts_lr": met(zero > rts, zero, rts),
        "pretrained_beats_random_p_below_0.05": met(
            p.get("mean_difference", np.nan) > 0 and p.get("sign_flip_p", 1.0) < 0.05,
            p.get("mean_difference", np.nan)),
    }
