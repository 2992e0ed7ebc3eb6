"""From marked recordings to labelled epochs, through exactly the live pipeline's preprocessing.

Order matters: each continuous recording (each segment of it: a gap in a recording is
never filtered across) is preprocessed as a whole, as if it had been streamed (causal filters, resampling and common average reference from
:func:`samba_core.preprocessing.preprocess_offline`), and only then cut into epochs.
Filtering epochs one by one, or with zero-phase filters, would show the model signals
it never sees live.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from samba_core.preprocessing import PreprocessConfig, preprocess_offline
from samba_core.recordings import Recording
from samba_core.recordings.timeline import segment_of
from samba_core.resampling import rational_ratio

from .protocols import Protocol

#: Fewest trials (cue mode) or blocks' epochs (block mode) per class that a calibration accepts by default.
#: Below it, a 5-fold score rests on one or two test trials per class per fold and means little.
MIN_TRIALS_PER_CLASS = 10
#: Fewest usable EEG channels (with known positions) that a calibration accepts by default.
MIN_EEG_CHANNELS = 4


class EpochingError(ValueError):
    """The session cannot give a usable training set (no markers, too few trials or channels)."""


@dataclass
class EpochSet:
    """Labelled epochs of one session, ready for cross-validation.

    Parameters
    ----------
    x : (epochs, channels, samples) float32
        Preprocessed µV at ``sample_rate``; the model input of each epoch (context + decision window).
    y : (epochs,) int
        Index into ``classes``.
    classes : tuple of str
        Class names present in the session, in head output order.
    groups : (epochs,) int
        Epochs that must stay on the same side of a split share a group (a block, or one trial).
    sample_rate : float
        Hz (the model rate).
    decision_start : int
        Sample index, within each epoch, where the decision window starts.
    labels : tuple of str
        Channel labels (the EEG channels used, in order).
    coords : (channels, 3) float32
        Electrode positions in metres (head frame).
    sources : list of (file name, onset in s)
    """

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    groups: np.ndarray
    sample_rate: float
    decision_start: int
    labels: tuple[str, ...]
    coords: np.ndarray
    sources: list[tuple[str, float]] = field(default_factory=list)
    dropped: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {c: int(np.sum(self.y == i)) for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return int(self.y.size)


@dataclass
class ChannelSelection:
    """Which rows of a recording feed the model, and where those electrodes are."""

    indices: np.ndarray  # (channels,) rows of the recording
    labels: tuple[str, ...]
    coords: np.ndarray  # (channels, 3) metres


def select_channels(recording: Recording, min_channels: int = MIN_EEG_CHANNELS, allow_drop: bool = False,
                    montage_file: str | None = None, device: str | None = None) -> ChannelSelection:
    """Resolve electrode positions (the file's own where it has them) and keep the EEG channels that have one.

    Raises
    ------
    montages.MontageError
        Labels that cannot be resolved (unless ``allow_drop``).
    EpochingError
        Fewer than ``min_channels`` usable EEG channels.
    """
    from montages import resolve_montage

    res = resolve_montage(recording.labels, recording.types, stream_channels=recording.channel_metadata(),
                          montage_file=montage_file, device=device, allow_drop=allow_drop)
    coords = np.asarray(res.coords, dtype=np.float32)
    usable = np.asarray(res.mask, dtype=bool) & np.isfinite(coords).all(axis=1)
    indices = np.flatnonzero(usable)
    if indices.size < min_channels:
        raise EpochingError(
            f"{recording.path.name} has {indices.size} EEG channel(s) with known positions "
            f"({[recording.labels[i] for i in indices]}); calibration needs at least {min_channels}. "
            "Check the channel labels/types, or pass a montage file."
        )
    return ChannelSelection(indices, tuple(recording.labels[i] for i in indices), coords[indices])


def _anchors(recording: Recording, protocol: Protocol) -> list[tuple[float, str, int]]:
    """(anchor time in s, class, group key) for every epoch the protocol defines in this recording."""
    mapping = protocol.event_map
    if not protocol.applies_to(recording.path.name):
        return []
    markers = sorted(recording.markers, key=lambda m: m.onset)
    out: list[tuple[float, str, int]] = []
    for k, m in enumerate(markers):
        if m.description not in mapping:
            continue
        cls = mapping[m.description]
        if protocol.mode == "cue":
            out.append((m.onset, cls, k))
            continue
        # A block lasts its annotated duration, or until the next marker (XDF markers have none).
        end = m.onset + m.duration if m.duration > 0 else (
            markers[k + 1].onset if k + 1 < len(markers) else recording.duration_s)
        anchor = m.onset - protocol.tmin  # the first epoch's context starts at the block onset
        while anchor + protocol.window[1] <= end + 1e-9:
            out.append((anchor, cls, k))
            anchor += protocol.stride
    return out


def build_epochs(
    recordings: list[Recording], protocol: Protocol, preprocessing: PreprocessConfig, *,
    min_trials_per_class: int = MIN_TRIALS_PER_CLASS, min_channels: int = MIN_EEG_CHANNELS,
    allow_drop: bool = False, montage_file: str | None = None, device: str | None = None,
) -> EpochSet:
    """Preprocess each recording as a continuous stream, then cut the protocol's epochs.

    Parameters
    ----------
    recordings : list of Recording
        One session, possibly split over several files (e.g. EEGMMIDB runs); all must
        have the same channels. Each file is preprocessed as a separate stream.
    protocol : Protocol
    preprocessing : PreprocessConfig
        The base checkpoint's preprocessing (the live pipeline's).
    min_trials_per_class : int
        Refuse a session with fewer epochs in any present class.
    min_channels, allow_drop, montage_file, device
        See :func:`select_channels` (``montages.resolve_montage`` options).
    """
    fs = float(preprocessing.target_rate)
    n_in = int(round((protocol.window[1] - protocol.tmin) * fs))
    decision_start = int(round((protocol.window[0] - protocol.tmin) * fs))
    xs, ys, groups, sources = [], [], [], []
    dropped = 0
    selection: ChannelSelection | None = None
    for r_index, rec in enumerate(recordings):
        sel = select_channels(rec, min_channels, allow_drop, montage_file, device)
        if selection is None:
            selection = sel
        elif sel.labels != selection.labels:
            raise EpochingError(
                f"{rec.path.name} has channels {list(sel.labels)[:8]}... but {recordings[0].path.name} has "
                f"{list(selection.labels)[:8]}...: all files of a session must come from the same montage"
            )
        anchors = _anchors(rec, protocol)
        if not anchors:
            continue
        bad = [(m.onset, m.onset + m.duration) for m in rec.markers if m.description.lower().startswith("bad")]
        up, down = rational_ratio(rec.sample_rate, fs)
        out_rate = rec.sample_rate * up / down
        pieces: dict[int, np.ndarray] = {}
        for anchor, cls, key in anchors:
            t0, t1 = anchor + protocol.tmin, anchor + protocol.window[1]
            seg = segment_of(rec.segments, int(np.floor(t0 * rec.sample_rate)), int(np.ceil(t1 * rec.sample_rate)))
            if t0 < 0 or seg is None:
                dropped += 1  # the epoch's context or window runs past the recording, or across a gap in it
                continue
            a, b = rec.segments[seg]
            if seg not in pieces:  # each segment is one stream for the causal preprocessing
                pieces[seg] = preprocess_offline(rec.data[sel.indices, a:b], rec.sample_rate, preprocessing,
                                                 unit=rec.unit)
            data = pieces[seg]
            start = int(round((t0 - a / rec.sample_rate) * out_rate))
            if start < 0 or start + n_in > data.shape[1]:
                dropped += 1
                continue
            if any(b0 < t1 and t0 < b1 for b0, b1 in bad):
                dropped += 1  # MNE convention: spans annotated BAD_* are artefacts (or gaps), never training data
                continue
            xs.append(data[:, start : start + n_in])
            ys.append(cls)
            groups.append(r_index * 1_000_000 + key)
            sources.append((rec.path.name, float(anchor)))
    names = ", ".join(r.path.name for r in recordings)
    if not ys:
        found = sorted({m.description for r in recordings for m in r.markers})
        hint = f" (markers found: {found[:12]})" if found else " (the files carry no markers/annotations at all)"
        raise EpochingError(
            f"no {protocol.name!r} epochs in {names}{hint}; protocol {protocol.name!r} expects "
            f"{sorted(protocol.event_map)}" + (f" in files matching {protocol.file_pattern!r}" if protocol.file_pattern else "")
            + (f"; {dropped} epoch(s) ran past the recording's ends, across a gap or overlapped BAD annotations" if dropped else "")
        )
    classes = tuple(c for c in protocol.classes if c in ys)
    counts = {c: ys.count(c) for c in classes}
    if len(classes) < 2:
        raise EpochingError(f"{names} has epochs of one class only ({counts}); calibration needs at least two classes")
    short = {c: n for c, n in counts.items() if n < min_trials_per_class}
    if short:
        raise EpochingError(
            f"too few trials per class in {names}: {counts}; at least {min_trials_per_class} per class are needed "
            "(record a longer session, or add more files of the same subject)"
        )
    assert selection is not None
    y = np.array([classes.index(c) for c in ys], dtype=np.int64)
    _, group_ids = np.unique(np.asarray(groups), return_inverse=True)
    return EpochSet(
        x=np.stack(xs).astype(np.float32), y=y, classes=classes, groups=group_ids.astype(np.int64), sample_rate=fs,
        decision_start=decision_start, labels=selection.labels, coords=selection.coords, sources=sources,
        dropped=dropped,
    )
