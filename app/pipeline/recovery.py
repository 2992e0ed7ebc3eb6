"""Converting a partial recording (see :mod:`app.pipeline.recording`) into FIF.

The same conversion serves a clean stop and the recovery after a crash. The FIF holds
every recorded channel in SI units, with annotations for the input markers (as sent,
e.g. ``T1``), the decoder's discrete decisions (``mi:left``...) and discontinuities
(``BAD_ACQ_SKIP`` where samples were lost or the stream was re-attached), and, where the
input had cues, each scored trial at its cue (``trial/<head>/<true class>/<decided class>``,
see :mod:`app.pipeline.ground_truth`). The FIF's
samples are the received samples back to back, so an event is placed on the first
sample at or after its LSL time (or on the recorded sample an event names). The
per-token probabilities go to a tab-separated ``OUT.decisions.tsv`` with the FIF sample
of each decision, and the raw LSL time of every sample to ``OUT.lsl_times.npy``.

Memory stays bounded: the samples file is memory-mapped and read by MNE one buffer at a
time while it writes the FIF (:class:`PartialRaw`), and the events file is streamed. Only
the LSL time column is held whole (8 bytes per sample: 118 MB for two hours at 2048 Hz,
against 15 GB of samples), so a two-hour 256-channel 2048 Hz session converts in a few
hundred MB (``bench/long_session.py``). The FIF's sampling rate is the declared
one, or the measured one when the pipeline reported the stream off its declared rate;
every sample's LSL time stays in the partial file and the FIF description keeps the
first one.
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

from mne._fiff.utils import _mult_cal_one

from .conditioning import channel_unit
from .errors import RecordingError
from .partial_format import FORMAT, PartialPaths, sample_dtype

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
    lsl_times_path : Path
        (n_samples,) float64 .npy: the raw LSL time of every FIF sample.
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
    lsl_times_path: Path | None = None


class PartialRaw(mne.io.BaseRaw):
    """The samples file of a partial recording as an MNE Raw that reads from disk on demand.

    Parameters
    ----------
    path : Path
        The ``.partial`` samples file.
    dtype : numpy.dtype
        Its row layout (:func:`~app.pipeline.recording.sample_dtype`).
    n_rows : int
        Complete rows to use.
    info : mne.Info
    scale : (channels,) float
        Factor from stream units to SI units per channel.
    """

    def __init__(self, path: Path, dtype: np.dtype, n_rows: int, info, scale: np.ndarray) -> None:
        extras = {"path": Path(path), "dtype": dtype, "n_rows": int(n_rows), "scale": np.asarray(scale, np.float64)}
        super().__init__(info, preload=False, first_samps=[0], last_samps=[n_rows - 1], filenames=[None],
                         raw_extras=[extras], verbose="error")

    def _read_segment_file(self, data, idx, fi, start, stop, cals, mult):
        """Rows ``start:stop`` from disk, in SI units (MNE calls it one buffer at a time)."""
        extras = self._raw_extras[fi]
        rows = np.memmap(extras["path"], dtype=extras["dtype"], mode="r", shape=(extras["n_rows"],))
        block = rows["x"][start:stop].T.astype(np.float64) * extras["scale"][:, None]
        _mult_cal_one(data, block, idx, cals, mult)


def recover_recording(partial: str | os.PathLike, out: str | os.PathLike | None = None) -> RecordingSummary:
    """Convert ``OUT.fif.partial`` (+ its ``.json`` and ``.events``) into ``OUT.fif``, in bounded memory.

    Parameters
    ----------
    partial : path-like
        The ``.partial`` samples file.
    out : path-like, optional
        Where to write the FIF (default: the partial path without ``.partial``); e.g.
        another disk when this one is full. The partial files are removed only when the
        FIF was written next to them.

    Returns
    -------
    RecordingSummary

    Raises
    ------
    RecordingError
        A file is missing or unreadable, or the FIF cannot be written (the partial files
        are then kept, and the message says how to write elsewhere).
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
    if n_rows == 0:
        raise RecordingError(f"{paths.samples} holds no complete sample: nothing was recorded")
    times = _read_times(paths.samples, dtype, n_rows)
    small = _small_events(paths.events)
    rate = _rate(header, small["rates"])
    info = mne.create_info(_unique(ch["label"] for ch in channels), rate, [_mne_type(ch.get("type")) for ch in channels])
    eeg_unit = small["unit"] or header.get("eeg_unit") or "uV"
    scale = np.array([_scale_to_si(ch, eeg_unit) for ch in channels])
    raw = PartialRaw(paths.samples, dtype, n_rows, info, scale)
    started = header.get("started_utc")
    if started:
        raw.set_meas_date(datetime.fromisoformat(started).astimezone(timezone.utc))
    onsets, descriptions = small["onsets"], small["descriptions"]
    samples = _place(times, onsets)
    raw.set_annotations(
        mne.Annotations(samples / rate, np.zeros(len(samples)), descriptions, orig_time=raw.info["meas_date"])
    )
    summary = {
        "stream": header.get("stream"), "checkpoint": header.get("checkpoint"), "classes": header.get("classes"),
        "first_sample_lsl_time": float(times[0]), "samples_lost": small["lost"], "declared_rate": header.get("rate"),
        "decisions_file": _decisions_path(final).name, "lsl_times_file": PartialPaths(final).lsl_times.name,
    }
    with raw.info._unlock():
        raw.info["description"] = json.dumps({"samba_live": summary})
    decisions_path, times_path = _decisions_path(final), PartialPaths(final).lsl_times
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # The user chose the name; MNE would warn that it does not end in raw.fif.
            warnings.simplefilter("ignore", RuntimeWarning)
            raw.save(final, overwrite=True, verbose="error")
        n_decisions = _write_decisions(decisions_path, paths.events, header.get("classes") or {}, times)
        np.save(times_path, times)
    except OSError as exc:
        for written in (final, decisions_path, times_path):
            if written.is_file():  # a half-written file, never a device
                written.unlink()
        raise RecordingError(
            f"could not write {final} ({exc}); nothing is lost: the partial files are kept. Free space, or write "
            f"onto another disk: `samba-live --recover {paths.samples} --out OTHER_DISK/{final.name}`"
        ) from exc
    finally:
        del raw
    if out is None:
        for p in paths.all_partial():
            p.unlink(missing_ok=True)
    return RecordingSummary(final, decisions_path, n_rows, small["n_markers"], n_decisions, small["n_decision_markers"],
                            small["n_gaps"], times_path)


def _read_times(path: Path, dtype: np.dtype, n_rows: int, block: int = 1 << 16) -> np.ndarray:
    """The LSL time column (n_rows,) float64, read block by block (each block's mapping released at once)."""
    times = np.empty(n_rows, dtype=np.float64)
    for start in range(0, n_rows, block):
        n = min(block, n_rows - start)
        rows = np.memmap(path, dtype=dtype, mode="r", offset=start * dtype.itemsize, shape=(n,))
        times[start : start + n] = rows["t"]
        del rows
    return times


def _small_events(path: Path) -> dict:
    """One pass over the events file, keeping only what is small: annotations, unit, rates, lost count."""
    onsets: list[tuple[float, int | None]] = []
    descriptions: list[str] = []
    out = {"unit": None, "rates": [], "lost": 0, "n_markers": 0, "n_decision_markers": 0, "n_gaps": 0}
    for e in _iter_events(path):
        kind = e.get("kind")
        if kind == "marker":
            onsets.append((e["t"], None))
            descriptions.append(str(e["text"]))
            out["n_markers"] += 1
        elif kind == "decision":
            for m in e.get("markers", []):
                onsets.append((e["t"], e.get("sample")))
                descriptions.append(m)
                out["n_decision_markers"] += 1
        elif kind in ("gap", "reattach", "clock_step"):
            onsets.append((e.get("t"), e.get("sample")))
            descriptions.append("BAD_ACQ_SKIP" if kind != "clock_step" else "clock_step")
            out["lost"] += int(e.get("lost", 0))
            out["n_gaps"] += kind == "gap"
        elif kind == "trial":  # scored against the cues: trial/<head>/<true>/<decided>
            onsets.append((e["t"], None))
            descriptions.append(f"trial/{e['head']}/{e['true']}/{e['predicted']}")
        elif kind == "unit" and out["unit"] is None:
            out["unit"] = e["unit"]
        elif kind == "rate_warning" and e.get("measured_rate"):
            out["rates"].append(float(e["measured_rate"]))
    out["onsets"], out["descriptions"] = onsets, descriptions
    return out


def _rate(header: dict, measured: list[float]) -> float:
    """The FIF's sampling rate: the declared physical rate, or the last measured one if it was reported off."""
    if not measured:
        return float(header["rate"])
    return measured[-1] / float(header.get("replay_speed") or 1.0)


def _place(times: np.ndarray, onsets: list[tuple[float | None, int | None]]) -> np.ndarray:
    """Recorded sample of each (time, sample) pair: the sample when recorded, else the first at or after the time."""
    t = np.array([np.nan if o[0] is None else o[0] for o in onsets], dtype=np.float64)
    placed = _sample_at(times, np.nan_to_num(t))
    for k, (_, sample) in enumerate(onsets):
        if sample is not None:
            placed[k] = min(int(sample), len(times) - 1)
    return placed


def _iter_events(path: Path, kind: str | None = None):
    """The events of ``path`` one by one (optionally of one kind); a line a crash cut short is skipped."""
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if kind is None or event.get("kind") == kind:
                yield event


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


def _write_decisions(path: Path, events: Path, classes: dict, times: np.ndarray) -> int:
    """Stream the decision events into a TSV (one row per decision); returns the row count."""
    heads = list(classes)
    prob_cols = [f"{h}:{c}" for h in heads for c in classes[h]]
    columns = ["segment", "model_index", "sample_index", "sample_time", "received_at", "pushed_at", "latency_ms",
               "fif_sample",
               *prob_cols, *[f"{c}:smoothed" for c in prob_cols], "markers"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        n = 0
        for e in _iter_events(events, "decision"):
            sample = _place(times, [(e["t"], e.get("sample"))])[0]
            n += 1
            raw_p = [p for h in heads for p in e["probs"][h]]
            smooth_p = [p for h in heads for p in e["smoothed"][h]]
            writer.writerow([
                e["segment"], e["model_index"], e["sample_index"], f"{e['t']:.6f}", f"{e['received_at']:.6f}",
                f"{e['pushed_at']:.6f}",
                f"{(e['pushed_at'] - e['t']) * 1e3:.3f}", int(sample), *(f"{p:.6f}" for p in raw_p),
                *(f"{p:.6f}" for p in smooth_p), ";".join(e.get("markers", [])),
            ])
    return n
