"""From what a format reader found to a :class:`Recording`: the shared rules applied once.

Format readers (:mod:`.mne_formats`, :mod:`.xdf`, :mod:`.muse_csv`) return
:class:`Samples`; :func:`assemble` then settles the unit
(:func:`samba_core.units.reconcile_unit`), disambiguates duplicated labels, finds the
segments and places every event on its sample (:mod:`.timeline`).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..units import UNIT_TO_MICROVOLTS, parse_unit, reconcile_unit
from .recording import VOLTAGE_TYPES, Marker, Recording, RecordingError, file_sha256
from .timeline import find_segments, nearest_sample, split_segments


@dataclass
class Samples:
    """What one file holds, before the shared rules.

    Parameters
    ----------
    data : (channels, samples) float64
        Voltage channels in ``declared_unit`` (or unknown), others as stored.
    rate : float
        Nominal sampling rate, Hz.
    labels, types : list of str
        As the file names them (labels may repeat); MNE channel types.
    declared_unit : str or None
        Unit the file declares for its voltage channels; None when it declares none.
    times : (samples,) float or None
        Time of each sample in seconds on the events' clock; None = regular from 0.
    timed_events : list of (time s, duration s, description)
        Events placed by time (annotations, XDF markers).
    sample_events : list of (sample, duration s, description)
        Events already on a sample (stim channels, a marker column).
    jitter_s : float
        Known timestamp jitter of ``times`` (segment rule).
    breaks : list of int
        Samples that start a segment whatever the times say (MNE's ``EDGE boundary``).
    positions : (channels, 3) float or None
        Metres; NaN rows where unknown.
    stream : str or None
    notes : list of str
    """

    data: np.ndarray
    rate: float
    labels: list[str]
    types: list[str]
    declared_unit: str | None
    times: np.ndarray | None = None
    timed_events: list[tuple[float, float, str]] = field(default_factory=list)
    sample_events: list[tuple[int, float, str]] = field(default_factory=list)
    jitter_s: float = 0.0
    breaks: list[int] = field(default_factory=list)
    positions: np.ndarray | None = None
    stream: str | None = None
    notes: list[str] = field(default_factory=list)


def unique_labels(labels: list[str]) -> list[str]:
    """Labels with only the duplicated ones disambiguated (``AUX`` twice -> ``AUX-1``, ``AUX-2``)."""
    counts = Counter(labels)
    taken = set(labels)
    seen: Counter = Counter()
    out = []
    for label in labels:
        if counts[label] == 1:
            out.append(label)
            continue
        seen[label] += 1
        name, k = f"{label}-{seen[label]}", seen[label]
        while name in taken:
            k += 1
            name = f"{label}-{k}"
        taken.add(name)
        out.append(name)
    return out


def assemble(path: Path, found: Samples, *, unit: str | None = None, min_seconds: float = 1.0) -> Recording:
    """Apply the unit, label, segment and placement rules to ``found``.

    Parameters
    ----------
    unit : str, optional
        Overrides the unit of the voltage channels (no amplitude check).
    min_seconds : float
        Shortest recording accepted.

    Raises
    ------
    RecordingError
        Too short, or no EEG channel.
    """
    n = found.data.shape[1] if found.data.ndim == 2 else 0
    if n == 0 or found.data.shape[0] == 0:
        raise RecordingError(f"{path}: the file holds no samples; record again or choose another file")
    if n < min_seconds * found.rate:
        raise RecordingError(
            f"{path}: file too short: {n} sample(s), {n / found.rate:.3g} s at {found.rate:g} Hz; "
            f"a recording needs at least {min_seconds:g} s. Record for longer or choose another file"
        )
    types = list(found.types)
    if "eeg" not in types:
        raise RecordingError(
            f"{path}: no EEG channel (channel types {sorted(set(types))}); this is not an EEG recording, "
            "or its channel types are wrong: mark the EEG channels as type EEG in the recording software"
        )
    notes = list(found.notes)
    voltage = np.array([t in VOLTAGE_TYPES for t in types])
    if unit is not None:
        source_unit = parse_unit(unit, strict=True)
    else:
        eeg = np.asarray(types) == "eeg"
        source_unit, note = reconcile_unit(found.data[eeg], found.declared_unit)
        if note:
            notes.append(f"{path.name}: {note}")
            warnings.warn(f"{path}: {note}", RuntimeWarning, stacklevel=3)
    data = np.array(found.data, dtype=np.float64)
    data[voltage] *= UNIT_TO_MICROVOLTS[source_unit]
    times = found.times if found.times is not None else np.arange(n) / found.rate
    segments = split_segments(find_segments(times, found.rate, found.jitter_s), found.breaks)
    markers = [Marker.at(s, found.rate, d, dur) for s, dur, d in found.sample_events if 0 <= s < n]
    if found.timed_events:
        onsets = np.array([e[0] for e in found.timed_events])
        samples = nearest_sample(times, onsets)
        slack = 1.0 / found.rate + found.jitter_s
        inside = (onsets >= times.min() - slack) & (onsets <= times.max() + slack)
        markers += [Marker.at(s, found.rate, d, dur)
                    for s, ok, (_, dur, d) in zip(samples, inside, found.timed_events, strict=True) if ok]
        if not inside.all():
            notes.append(f"{path.name}: {int((~inside).sum())} marker(s) lie outside the recorded samples and were left out")
    markers.sort(key=lambda m: m.sample)
    if len(segments) > 1:
        notes.append(f"{path.name}: {len(segments)} segments (the recording was interrupted {len(segments) - 1} time(s))")
    return Recording(
        data=data, sample_rate=float(found.rate), labels=unique_labels(found.labels), types=types, markers=markers,
        segments=segments, path=path, sha256=file_sha256(path), positions=found.positions, unit="uV",
        source_unit=source_unit, stream=found.stream, notes=notes,
    )
