"""Statistics across subjects: a mean with its 95% interval, and paired tests of two methods.

The unit of analysis is the subject (one score per subject and method), never the trial:
trials of one person are not independent samples of the population of users.

- :func:`mean_interval`: Student-t interval of the mean and a percentile bootstrap over
  subjects (``scipy.stats.bootstrap``).
- :func:`paired_comparison`: per-subject differences ``a - b``; their mean with a t interval,
  the Wilcoxon signed-rank test (``scipy.stats.wilcoxon``, two-sided, exact for small n)
  and the sign-flip permutation test of the mean difference (``scipy.stats.permutation_test``
  with ``permutation_type="samples"``, exact when ``2**n <= n_resamples``).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return v[np.isfinite(v)]


def t_interval(values, confidence: float = CONFIDENCE) -> list[float]:
    """Student-t interval ``[lo, hi]`` of the mean of ``values``; NaNs for fewer than 2 values."""
    v = _finite(values)
    if v.size < 2:
        return [float("nan"), float("nan")]
    if np.ptp(v) == 0:
        return [float(v[0]), float(v[0])]
    lo, hi = stats.t.interval(confidence, v.size - 1, loc=v.mean(), scale=stats.sem(v))
    return [float(lo), float(hi)]


def bootstrap_interval(values, confidence: float = CONFIDENCE, n_resamples: int = 10_000, seed: int = 0) -> list[float]:
    """Percentile bootstrap interval ``[lo, hi]`` of the mean, resampling subjects; NaNs below 2 values."""
    v = _finite(values)
    if v.size < 2:
        return [float("nan"), float("nan")]
    if np.ptp(v) == 0:
        return [float(v[0]), float(v[0])]
    res = stats.bootstrap((v,), np.mean, confidence_level=confidence, n_resamples=n_resamples, method="percentile",
                          random_state=np.random.default_rng(seed))
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]


def mean_interval(values, confidence: float = CONFIDENCE) -> dict:
    """``{"n", "mean", "ci95_t", "ci95_bootstrap"}`` of per-subject ``values`` (NaNs are left out)."""
    v = _finite(values)
    return {"n": int(v.size), "mean": float(v.mean()) if v.size else float("nan"),
            "ci95_t": t_interval(v, confidence), "ci95_bootstrap": bootstrap_interval(v, confidence)}


def paired_comparison(a, b, n_resamples: int = 10_000, seed: int = 0) -> dict:
    """Paired comparison of per-subject scores ``a`` and ``b`` (same subjects, same order).

    Returns ``{"n", "mean_difference", "ci95_t", "wins", "losses", "ties", "wilcoxon_p",
    "sign_flip_p"}``; p-values are two-sided, NaN below 2 subjects, 1.0 when all differences are 0.

    Raises
    ------
    ValueError
        ``a`` and ``b`` differ in length.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired scores need one value per subject on both sides, got {a.shape} and {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]
    out = {"n": int(d.size), "mean_difference": float(d.mean()) if d.size else float("nan"),
           "ci95_t": t_interval(d), "wins": int((d > 0).sum()), "losses": int((d < 0).sum()),
           "ties": int((d == 0).sum()), "wilcoxon_p": float("nan"), "sign_flip_p": float("nan")}
    if d.size < 2:
        return out
    if not np.any(d != 0):
        out["wilcoxon_p"] = out["sign_flip_p"] = 1.0
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample / ties notes from scipy
        out["wilcoxon_p"] = float(stats.wilcoxon(d, alternative="two-sided").pvalue)
        res = stats.permutation_test((d,), np.mean, permutation_type="samples", alternative="two-sided",
                                     n_resamples=n_resamples, random_state=np.random.default_rng(seed))
    out["sign_flip_p"] = float(res.pvalue)
    return out
