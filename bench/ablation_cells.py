"""The fidelity ablation's measured cells: the cross-subject protocol per variant, seed and task.

Layout read (written by ``bench/gpu_ablation_run.sh train``)::

    ROOT/<variant>/seed<s>/fold<j>.samba          one pretraining run per fold and seed
    ROOT/<variant>/seed<s>/fold<j>.summary.json   its summary (steps done, final validation)

A folder ``ROOT/<variant>`` holding ``fold0.samba`` itself counts as one seed.
For every seed folder and task, ``bench/cross_subject.py --fold-bases SEED_DIR --samba-only``
runs once; its last-line JSON is kept beside the bases as ``<task>.json`` and read again
unless ``rerun``. A cell is one (task, method) of :data:`CELLS`; its score per subject is the
mean over seeds, and it is reported as the mean over subjects with a 95 % interval over
subjects, the spread of the per-seed means, and a paired test against the reference variant
over the same subjects (:func:`calibration.stats.paired_comparison`).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from calibration.metrics import METRICS  # noqa: E402
from calibration.stats import mean_interval, paired_comparison  # noqa: E402

#: cell name -> (task, protocol method); the four metrics of calibration.metrics for each.
CELLS = {
    "MI zero-calibration": ("mi", "zero_calibration_samba"),
    "MI calibrated": ("mi", "calibrated_samba"),
    "EEGMAT cross-subject": ("distraction", "cross_subject_samba"),
}
#: The classic baselines on the same subject folds (the protocol runs them with ``baselines``):
#: row name -> {cell: (task, protocol method)}.
BASELINE_CELLS = {
    "CSP+LDA": {"MI calibrated": ("mi", "csp_lda")},
    "TS+LR": {"MI calibrated": ("mi", "ts_lr")},
    "recentred TS+LR": {"MI zero-calibration": ("mi", "recentred_ts_lr"),
                        "EEGMAT cross-subject": ("distraction", "recentred_ts_lr")},
}
#: Protocol arguments per task (the cross-subject protocol, SAMBA alone, heads fitted on the other folds).
TASK_ARGS = {
    "mi": ["--task", "mi", "--zero-head", "folds", "--samba-only"],
    "distraction": ["--task", "distraction", "--zero-head", "folds", "--samba-only", "--windows", "4"],
}


def seed_folders(variant_dir: Path) -> list[Path]:
    """The seed folders of one variant (``seed*`` holding ``fold0.samba``; the folder itself if it does)."""
    if (variant_dir / "fold0.samba").is_file():
        return [variant_dir]
    return sorted(p for p in variant_dir.glob("seed*") if (p / "fold0.samba").is_file())


def fold_count(seed_dir: Path) -> int:
    return len(list(seed_dir.glob("fold*.samba")))


def last_json_line(text: str) -> dict:
    """The JSON object on the last non-empty line of a benchmark's output."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the protocol printed nothing")
    return json.loads(lines[-1])


def run_protocol(script: Path, seed_dir: Path, extra: list[str], timeout: float | None) -> dict:
    """Run the cross-subject protocol on one seed's fold bases; its last-line JSON.

    Raises FileNotFoundError (no protocol script) or RuntimeError (the protocol failed, with its stderr tail).
    """
    if not script.is_file():
        raise FileNotFoundError(f"{script} not found: the cross-subject protocol (bench/cross_subject.py) is needed "
                                "for --fold-bases; pass --protocol PATH")
    cmd = [sys.executable, str(script), "--fold-bases", str(seed_dir), "--folds", str(fold_count(seed_dir)), *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return last_json_line(done.stdout)


def _has(result: dict, method: str) -> bool:
    return any(method in s["methods"] for s in result.get("subjects", {}).values())


def task_result(script: Path, seed_dir: Path, task: str, calibrate: bool, extra: list[str], rerun: bool,
                timeout: float | None, baselines: bool = False) -> dict:
    """The protocol's result for one seed and task, from ``<task>.json`` when it holds what is asked
    (MI calibration where ``calibrate``; the classic baselines too where ``baselines``)."""
    cache = seed_dir / f"{task}.json"
    wanted = [m for cells in BASELINE_CELLS.values() for t, m in cells.values() if t == task and baselines]
    wanted += ["calibrated_samba"] if task == "mi" and calibrate else []
    if cache.is_file() and not rerun:
        result = json.loads(cache.read_text())
        if all(_has(result, m) for m in wanted):
            return result
    args = [a for a in TASK_ARGS[task] if not (baselines and a == "--samba-only")]
    args += ([] if task != "mi" or calibrate or baselines else ["--calibration-folds", "0"]) + extra
    result = run_protocol(script, seed_dir, args, timeout)
    cache.write_text(json.dumps(result))
    return result


def per_subject(result: dict, method: str, metric: str) -> dict[str, float]:
    """``{subject: trial metric}`` of one method in a protocol result (subjects without it are left out)."""
    out = {}
    for subject, r in result.get("subjects", {}).items():
        value = r["methods"].get(method, {}).get("trial", {}).get(metric)
        if value is not None:
            out[subject] = float(value)
    return out


def pretraining(seed_dirs: list[Path]) -> dict[str, list[float]]:
    """Steps done and final validation loss / nMSE of every fold base (its ``fold<j>.summary.json``)."""
    out: dict[str, list[float]] = {"steps": [], "val_loss": [], "val_nmse": []}
    for seed_dir in seed_dirs:
        for summary in sorted(seed_dir.glob("fold*.summary.json")):
            d = json.loads(summary.read_text())
            val = d.get("final", {}).get("val.csv", {})
            out["steps"].append(float(d.get("steps_done", np.nan)))
            for key in ("val_loss", "val_nmse"):
                out[key].append(float(val.get(key, np.nan)))
    return {k: v for k, v in out.items() if v}


def variant_scores(results: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    """``{seed: {task: result}}`` -> ``{cell: {metric: {"seeds": [per-seed means], "subjects": {id: seed mean}}}}``."""
    cells: dict[str, dict[str, dict]] = {}
    for cell, (task, method) in CELLS.items():
        for metric in METRICS:
            seed_means, by_subject = [], {}
            for by_task in results.values():
                scores = per_subject(by_task.get(task, {}), method, metric)
                if scores:
                    seed_means.append(float(np.mean(list(scores.values()))))
                    for s, v in scores.items():
                        by_subject.setdefault(s, []).append(v)
            if seed_means:
                cells.setdefault(cell, {})[metric] = {
                    "seeds": seed_means, "subjects": {s: float(np.mean(v)) for s, v in sorted(by_subject.items())}}
    return cells


def baseline_cells(by_task: dict[str, dict]) -> dict[str, dict[str, dict]]:
    """``{task: result}`` of a run with the baselines -> ``{row: {cell: {metric: {"seeds", "subjects"}}}}``."""
    rows: dict[str, dict[str, dict]] = {}
    for row, cells in BASELINE_CELLS.items():
        for cell, (task, method) in cells.items():
            for metric in METRICS:
                scores = per_subject(by_task.get(task, {}), method, metric)
                if scores:
                    rows.setdefault(row, {}).setdefault(cell, {})[metric] = {
                        "seeds": [float(np.mean(list(scores.values())))], "subjects": scores}
    return rows


def summarise(cells: dict, reference: dict | None) -> dict:
    """Add ``interval`` (over subjects) and ``versus_reference`` (paired over common subjects) to every cell."""
    out = {}
    for cell, metrics in cells.items():
        out[cell] = {}
        for metric, c in metrics.items():
            entry = dict(c, interval=mean_interval(list(c["subjects"].values())),
                         seed_range=[min(c["seeds"]), max(c["seeds"])])
            ref = (reference or {}).get(cell, {}).get(metric)
            if ref is not None:
                common = sorted(set(c["subjects"]) & set(ref["subjects"]))
                entry["versus_reference"] = paired_comparison([c["subjects"][s] for s in common],
                                                              [ref["subjects"][s] for s in common])
            out[cell][metric] = entry
    return out


def _fmt(entry: dict | None, delta: bool) -> str:
    if entry is None:
        return "not measured"
    iv = entry["interval"]
    low, high = iv["ci95_t"]
    text = f"{iv['mean']:.3f} [{low:.3f}, {high:.3f}]"
    vs = entry.get("versus_reference")
    if delta and vs is not None:
        text += f" Δ{vs['mean_difference']:+.3f} p={vs['sign_flip_p']:.2f}"
    return text + f" ({len(entry['seeds'])}s)"


def markdown_tables(rows: dict[str, dict], reference: str) -> str:
    """Two tables: balanced accuracy per cell with cost columns, then F1 / Cohen's κ / AUROC per cell."""
    head = ["variant", "parameters (all / streamed)", "ONNX step p50 / p99 (ms)", "fused step p50 / p99 (ms)",
            "pretraining steps", "val nMSE", *CELLS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in rows.items():
        pre, ms, params = row.get("pretraining", {}), row["onnx_step_ms"], row["parameters"]
        steps = f"{np.mean(pre['steps']):.0f} ({min(pre['steps']):.0f}-{max(pre['steps']):.0f})" if pre.get("steps") else "-"
        nmse = f"{np.nanmean(pre['val_nmse']):.3f}" if pre.get("val_nmse") else "-"
        cells = [_fmt(row.get("cells", {}).get(c, {}).get("balanced_accuracy"), name != reference) for c in CELLS]
        fused = row.get("fused_step_ms")
        fused = "not implemented (ONNX)" if fused is None else f"{fused['p50_ms']:.3f} / {fused['p99_ms']:.3f}"
        lines.append(f"| {name} | {params['all']:,} / {params['streamed']:,} | {ms['p50_ms']:.3f} / {ms['p99_ms']:.3f} | "
                     f"{fused} | {steps} | {nmse} | " + " | ".join(cells) + " |")
    other = [m for m in METRICS if m != "balanced_accuracy"]
    head2 = ["variant", *[f"{c}: {m}" for c in CELLS for m in other]]
    lines += ["", "| " + " | ".join(head2) + " |", "|" + "---|" * len(head2)]
    for name, row in rows.items():
        cells = []
        for c in CELLS:
            for m in other:
                e = row.get("cells", {}).get(c, {}).get(m)
                cells.append("not measured" if e is None else f"{e['interval']['mean']:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def baseline_table(rows: dict[str, dict], reference: str) -> str:
    """The classic baselines on the same subject folds, balanced accuracy, each against ``reference``
    (Δ = baseline − reference, paired over the same subjects)."""
    head = ["classic baseline (same folds)", *CELLS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in rows.items():
        cells = [_fmt(row["cells"].get(c, {}).get("balanced_accuracy"), True) if c in row["cells"] else "-"
                 for c in CELLS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\nΔ: baseline minus `{reference}`, paired over the same subjects (sign-flip p).\n"
