"""Converting a partial recording (see :mod:`app.pipeline.recording`) into FIF.

The same conversion serves a clean stop and the recovery after a crash. The FIF holds
every recorded channel in SI units, with annotations for the input markers (as sent,
e.g. ``T1``), the decoder's discrete decisions (``mi:left``...) and discontinuities
(``BAD_ACQ_SKIP`` where samples were lost or the stream was re-attached), and, where the
input had cues, each scored trial at its cue (``trial/<head>/<true class>/<decided class>``,
see :mod:`app.pipeline.ground_truth`). The FIF's
samples are the received samples back to back, so an event is placed on the first
sample at or after its LSL time. The per-token probabilities go to a tab-separated
``OUT.decisions.tsv`` with the FIF sample of each decision.
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import mne
import numpy as np

from samba_core.preprocessing import UNIT_TO_MICROVOLTS

from .conditioning import channel_unit
from .errors import RecordingError
from .recording import FORMAT, PartialPaths, sample_dtype

_MNE_TYPES = {
    "eeg": "eeg", "eog": "eog", "ecg": "ecg", "emg": "emg", "stim": "stim", "trigger": "stim", "trig": "stim",
    "resp": "resp", "bio": "bio", "gsr": "gsr", "temp": "temperature", "misc": "misc",
}
_VOLTAGE_TYPES = {"eeg", "eog", "ecg", "emg"}


@dataclass(frozen=True)
class RecordingSummary:
    """What a finished recording holds.

    Parameters
    ----------
    path, decisions_path : Path
        The FIF file and the decisions table.
    n_samples : int
        Samples per channel in the FIF.
    n_markers, n_decisions, n_decision_markers, n_gaps : int
        Input markers, decision rows, discrete decisions and discontinuities recorded.
    """

    path: Path
    decisions_path: Path
    n_samples: int
    n_markers: int
    n_decisions: int
    n_decision_markers: int
    n_gaps: int


def recover_recording(partial: str | os.PathLike, out: str | os.PathLike | None = None) -> RecordingSummary:
    """Convert ``OUT.fif.partial`` (+ its ``.json`` and ``.events``) into ``OUT.fif``.

    Parameters
    ----------
    partial : path-like
        The ``.partial`` samples file.
    out : path-like, optional
        Where to write the FIF (default: the partial path without ``.partial``).

    Returns
    -------
    RecordingSummary

    Raises
    ------
    RecordingError
        A file is missing or unreadable.
    """
    paths = PartialPaths.from_partial(partial)
    final = Path(out) if out is not None else paths.final
    for p in (paths.samples, paths.header):
        if not p.exists():
            raise RecordingError(f"cannot recover {paths.samples}: {p} is missing")
    try:
        header = json.loads(paths.header.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RecordingError(f"cannot recover {paths.samples}: header {paths.header} is unreadable ({exc})") from exc
    if header.get("format") != FORMAT:
        raise RecordingError(f"{paths.header} is not a samba-live recording header")
    channels = header["channels"]
    dtype = sample_dtype(len(channels))
    n_rows = paths.samples.stat().st_size // dtype.itemsize  # a row cut by a crash is dropped
    rows = np.fromfile(paths.samples, dtype=dtype, count=n_rows)
    if n_rows == 0:
        raise RecordingError(f"{paths.samples} holds no complete sample: nothing was recorded")
    events = _read_events(paths.events)
    rate = float(header["rate"])
    times = rows["t"]

    info = mne.create_info(_unique(ch["label"] for ch in channels), rate, [_mne_type(ch.get("type")) for ch in channels])
    eeg_unit = next((e["unit"] for e in events if e.get("kind") == "unit"), None) or header.get("eeg_unit") or "uV"
    scale = np.array([_scale_to_si(ch, eeg_unit) for ch in channels])
    raw = mne.io.RawArray(rows["x"].T.astype(np.float64) * scale[:, None], info, verbose="error")
    started = header.get("started_utc")
    if started:
        raw.set_meas_date(datetime.fromisoformat(started).astimezone(timezone.utc))

    onsets, descriptions = [], []
    markers = [e for e in events if e.get("kind") == "marker"]
    decisions = [e for e in events if e.get("kind") == "decision"]
    gaps = [e for e in events if e.get("kind") in ("gap", "reattach")]
    for e in markers:
        onsets.append(e["t"])
        descriptions.append(str(e["text"]))
    n_decision_markers = 0
    for e in decisions:
        for m in e.get("markers", []):
            onsets.append(e["t"])
            descriptions.append(m)
            n_decision_markers += 1
    for e in gaps:
        onsets.append(e["t"])
        descriptions.append("BAD_ACQ_SKIP")
    for e in (e for e in events if e.get("kind") == "trial"):  # scored against the cues: trial/<head>/<true>/<decided>
        onsets.append(e["t"])
        descriptions.append(f"trial/{e['head']}/{e['true']}/{e['predicted']}")
    samples = _sample_at(times, np.array(onsets, dtype=np.float64))
    raw.set_annotations(
        mne.Annotations(samples / rate, np.zeros(len(samples)), descriptions, orig_time=raw.info["meas_date"])
    )
    summary = {
        "stream": header.get("stream"), "checkpoint": header.get("checkpoint"), "classes": header.get("classes"),
        "first_sample_lsl_time": float(times[0]), "samples_lost": int(sum(e.get("lost", 0) for e in gaps)),
        "decisions_file": _decisions_path(final).name,
    }
    with raw.info._unlock():
        raw.info["description"] = json.dumps({"samba_live": summary})
    final.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # The user chose the name; MNE would warn that it does not end in raw.fif.
        warnings.simplefilter("ignore", RuntimeWarning)
        raw.save(final, overwrite=True, verbose="error")
    decisions_path = _decisions_path(final)
    _write_decisions(decisions_path, decisions, header.get("classes") or {}, _sample_at(times, _times_of(decisions)))
    for p in paths.all_partial():
        if out is None and p.exists():
            p.unlink()
    return RecordingSummary(final, decisions_path, n_rows, len(markers), len(decisions), n_decision_markers, len(gaps))


def _read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    events = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # the line a crash cut short
    return events


def _times_of(events: list[dict]) -> np.ndarray:
    return np.array([e["t"] for e in events], dtype=np.float64)


def _sample_at(times: np.ndarray, t: np.ndarray) -> np.ndarray:
    """First recorded sample at or after each time (clipped to the recording)."""
    return np.clip(np.searchsorted(times, t - 1e-9, side="left"), 0, len(times) - 1)


def _decisions_path(final: Path) -> Path:
    return PartialPaths(final).decisions


def _unique(labels) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        label = str(label)
        if label in seen:
            seen[label] += 1
            label = f"{label}-{seen[label]}"
        else:
            seen[label] = 0
        out.append(label)
    return out


def _mne_type(stream_type: str | None) -> str:
    return _MNE_TYPES.get((stream_type or "eeg").strip().lower(), "misc")


def _scale_to_si(channel: dict, eeg_unit: str) -> float:
    """Factor from the stream's unit to volts for voltage channels, 1 otherwise."""
    if _mne_type(channel.get("type")) not in _VOLTAGE_TYPES:
        return 1.0
    return UNIT_TO_MICROVOLTS[channel_unit(channel.get("unit")) or eeg_unit] * 1e-6


def _write_decisions(path: Path, decisions: list[dict], classes: dict, samples: np.ndarray) -> None:
    heads = list(classes)
    prob_cols = [f"{h}:{c}" for h in heads for c in classes[h]]
    columns = ["segment", "model_index", "sample_index", "sample_time", "received_at", "pushed_at", "latency_ms",
               "fif_sample",
               *prob_cols, *[f"{c}:smoothed" for c in prob_cols], "markers"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for e, sample in zip(decisions, samples, strict=True):
            raw_p = [p for h in heads for p in e["probs"][h]]
            smooth_p = [p for h in heads for p in e["smoothed"][h]]
            writer.writerow([
                e["segment"], e["model_index"], e["sample_index"], f"{e['t']:.6f}", f"{e['received_at']:.6f}",
                f"{e['pushed_at']:.6f}",
                f"{(e['pushed_at'] - e['t']) * 1e3:.3f}", int(sample), *(f"{p:.6f}" for p in raw_p),
                *(f"{p:.6f}" for p in smooth_p), ";".join(e.get("markers", [])),
            ])
