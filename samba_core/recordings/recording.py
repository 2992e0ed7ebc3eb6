"""A recording as every consumer sees it: µV samples, channels, markers on samples, segments.

Replay plays it (:meth:`Recording.to_raw`), calibration cuts epochs from it and the
pretraining corpus preprocesses it; none of them reads a file itself (see
:func:`samba_core.recordings.read_recording`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

#: Channel types whose samples are voltages (held in µV by a :class:`Recording`).
VOLTAGE_TYPES = ("eeg", "eog", "ecg", "emg", "seeg", "ecog")
#: MNE annotation descriptions that mark a join between two segments (as ``mne.concatenate_raws`` writes them).
BOUNDARY = ("BAD boundary", "EDGE boundary")


class RecordingError(ValueError):
    """A recording cannot be read or holds no usable EEG; the message names the file, the problem and the fix."""


@dataclass(frozen=True)
class Marker:
    """One event of a recording.

    Parameters
    ----------
    onset : float
        Seconds from the first sample, always ``sample / sample_rate``.
    duration : float
        Seconds (0 for point events such as XDF markers and stim-channel codes).
    description : str
        The annotation text, marker string, or the code of a numeric marker / stim event.
    sample : int
        Index of the sample the event is placed on (see
        :func:`samba_core.recordings.timeline.nearest_sample`).
    """

    onset: float
    duration: float
    description: str
    sample: int = -1

    @classmethod
    def at(cls, sample: int, rate: float, description: str, duration: float = 0.0) -> Marker:
        """The marker on ``sample`` of a recording sampled at ``rate`` Hz."""
        return cls(int(sample) / rate, float(duration), str(description), int(sample))


@dataclass
class Recording:
    """A continuous recording, possibly made of several segments.

    Parameters
    ----------
    data : (channels, samples) float64
        Voltage channels (types in :data:`VOLTAGE_TYPES`) in µV; other channels (stim,
        misc) as stored in the file. Segments follow each other without padding.
    sample_rate : float
        Hz.
    labels, types : list of str
        Channel names (unique) and MNE channel types (``"eeg"``, ``"eog"``, ``"stim"``, ``"misc"`` ...).
    markers : list of Marker
        Sorted by sample.
    segments : list of (start, stop)
        Sample ranges ``[start, stop)`` recorded without interruption; consecutive, covering
        ``data``. Two segments are never one signal (EDF+D records apart, XDF timestamp gaps).
    path : Path
    sha256 : str
        Digest of the file's bytes (provenance).
    positions : (channels, 3) float or None
        Electrode positions in metres (head frame), NaN rows where the file gives none;
        None when the file carries no positions at all.
    unit : str
        Unit of the voltage channels in ``data``: always ``"uV"``.
    source_unit : str
        The unit the samples were read in (after :func:`samba_core.units.reconcile_unit`).
    stream : str or None
        For XDF: the name of the stream read.
    notes : list of str
        What a user should know (unit overruled, markers outside the data, ...).
    """

    data: np.ndarray
    sample_rate: float
    labels: list[str]
    types: list[str]
    markers: list[Marker]
    segments: list[tuple[int, int]]
    path: Path
    sha256: str
    positions: np.ndarray | None = None
    unit: str = "uV"
    source_unit: str = "uV"
    stream: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate

    @property
    def eeg_rows(self) -> np.ndarray:
        """Row indices of the EEG channels."""
        return np.flatnonzero(np.asarray(self.types) == "eeg")

    def crop(self, seconds: float) -> Recording:
        """The first ``seconds`` of the recording (segments and markers that fall inside)."""
        n = min(self.n_samples, int(round(seconds * self.sample_rate)))
        return replace(
            self, data=self.data[:, :n], markers=[m for m in self.markers if m.sample < n],
            segments=[(a, min(b, n)) for a, b in self.segments if a < n],
        )

    def channel_metadata(self) -> list[dict]:
        """One mapping per channel (``label``, ``type``, ``location`` in metres or None, ``location_unit``),
        the ``stream_channels`` form of :func:`montages.resolve_montage`, so that file positions are used."""
        out = []
        for i, (label, kind) in enumerate(zip(self.labels, self.types, strict=True)):
            pos = None if self.positions is None or not np.isfinite(self.positions[i]).all() else self.positions[i]
            out.append({"label": label, "type": kind, "location": None if pos is None else tuple(map(float, pos)),
                        "location_unit": "m"})
        return out

    def to_raw(self):
        """The recording as an ``mne.io.RawArray`` (volts), markers as annotations.

        Each segment join gets MNE's ``"BAD boundary"`` / ``"EDGE boundary"`` annotations
        (as :func:`mne.concatenate_raws` writes them), so that nothing downstream mistakes
        a gap for signal. Positions, when known, go into the channels' ``loc``.
        """
        import mne

        scale = np.array([1e-6 if t in VOLTAGE_TYPES else 1.0 for t in self.types])
        info = mne.create_info(list(self.labels), self.sample_rate, list(self.types))
        if self.positions is not None:
            for ch, pos in zip(info["chs"], self.positions, strict=True):
                if np.isfinite(pos).all():
                    ch["loc"][:3] = pos
        raw = mne.io.RawArray(self.data * scale[:, None], info, verbose="error")
        onsets = [m.onset for m in self.markers]
        durations = [m.duration for m in self.markers]
        texts = [m.description for m in self.markers]
        for start, _ in self.segments[1:]:
            for text in BOUNDARY:
                onsets.append(start / self.sample_rate)
                durations.append(0.0)
                texts.append(text)
        if onsets:
            raw.set_annotations(mne.Annotations(onsets, durations, texts, orig_time=None))
        return raw


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
