"""Reading a calibration session: continuous EEG plus its markers, from FIF/EDF/BDF/GDF or XDF.

Every reader returns a :class:`Recording`: the raw samples in a known unit, the channel
labels and types, and the markers as ``(onset, duration, description)`` in seconds from
the first sample. Nothing is filtered here: preprocessing is the live pipeline's job
(:func:`samba_core.preprocessing.preprocess_offline`), applied to the continuous
recording before epoching.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: File types read through MNE (annotations become markers).
MNE_SUFFIXES = (".fif", ".fif.gz", ".edf", ".bdf", ".gdf")
XDF_SUFFIXES = (".xdf", ".xdfz")


class RecordingError(ValueError):
    """A session file could not be read or carries no usable EEG."""


@dataclass(frozen=True)
class Marker:
    """One event. onset, duration: seconds from the first sample of the recording."""

    onset: float
    duration: float
    description: str


@dataclass
class Recording:
    """A continuous recording with markers.

    Parameters
    ----------
    data : (channels, samples) float64
        Raw samples in ``unit``.
    sample_rate : float
        Hz.
    labels, types : list of str
        Channel names and MNE-style types (``"eeg"``, ``"eog"``, ``"stim"``, ``"misc"`` ...).
    unit : str or None
        ``"V"``, ``"uV"`` ...; None lets the preprocessing detect it from the amplitude.
    markers : list of Marker
    path : Path
    sha256 : str
        Digest of the file's bytes (recorded in the subject checkpoint's provenance).
    """

    data: np.ndarray
    sample_rate: float
    labels: list[str]
    types: list[str]
    unit: str | None
    markers: list[Marker]
    path: Path
    sha256: str
    notes: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.data.shape[1] / self.sample_rate


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_recording(path: str | Path) -> Recording:
    """Read one session file (FIF, EDF, BDF, GDF with annotations, or XDF with a marker stream).

    Raises
    ------
    RecordingError
        Missing, unsupported, truncated or corrupt file; no EEG stream in an XDF file.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"session file {path} does not exist")
    name = path.name.lower()
    if name.endswith(XDF_SUFFIXES):
        return _read_xdf(path)
    if name.endswith(MNE_SUFFIXES):
        return _read_mne(path)
    raise RecordingError(
        f"cannot read {path}: unsupported file type; use one of {', '.join(MNE_SUFFIXES + XDF_SUFFIXES)}"
    )


def _read_mne(path: Path) -> Recording:
    import mne

    def read(**kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # channel-name / highpass notes from the readers
            return mne.io.read_raw(path, preload=True, verbose="error", **kw)

    try:
        try:
            raw = read()
        except UnicodeDecodeError:
            # Some EDF+ writers pad the annotation channel with non-UTF-8 bytes (EEGMMIDB runs 1-2).
            raw = read(encoding="latin1")
    except Exception as exc:  # truncated headers, bad record counts, unreadable tags, ...
        raise RecordingError(
            f"cannot read {path}: the file is corrupt, truncated or not a valid {path.suffix.upper().lstrip('.')} "
            f"recording ({type(exc).__name__}: {exc}). Export the session again from the recorder."
        ) from exc
    if raw.n_times == 0 or len(raw.ch_names) == 0:
        raise RecordingError(f"{path} contains no samples")
    markers = [
        Marker(float(a["onset"]) - raw.first_time, float(a["duration"]), str(a["description"])) for a in raw.annotations
    ]
    return Recording(
        data=raw.get_data(), sample_rate=float(raw.info["sfreq"]), labels=list(raw.ch_names),
        types=list(raw.get_channel_types()), unit="V",  # MNE always returns volts
        markers=markers, path=path, sha256=file_sha256(path),
    )


def _stream_channels(stream: dict) -> tuple[list[str], list[str], str | None]:
    """Labels, types and unit from an XDF stream header (LSL ``desc/channels/channel``)."""
    info = stream["info"]
    n = int(info["channel_count"][0])
    labels, types, unit = [f"ch{i + 1}" for i in range(n)], ["eeg"] * n, None
    try:
        channels = info["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        return labels, types, unit
    for i, ch in enumerate(channels[:n]):
        if ch.get("label"):
            labels[i] = str(ch["label"][0])
        if ch.get("type"):
            types[i] = str(ch["type"][0]).lower() or "eeg"
        if unit is None and ch.get("unit"):
            unit = str(ch["unit"][0]) or None
    return labels, types, unit


def _read_xdf(path: Path) -> Recording:
    import pyxdf

    try:
        streams, _ = pyxdf.load_xdf(str(path))
    except Exception as exc:
        raise RecordingError(
            f"cannot read {path}: the XDF file is corrupt or truncated ({type(exc).__name__}: {exc})"
        ) from exc

    def stype(s: dict) -> str:
        return str(s["info"].get("type", [""])[0]).lower()

    def is_markers(s: dict) -> bool:
        return str(s["info"]["channel_format"][0]) == "string" or stype(s) in ("markers", "marker", "events")

    eeg = [s for s in streams if stype(s) == "eeg" and not is_markers(s) and len(s["time_stamps"])]
    if not eeg:
        found = [f"{s['info']['name'][0]} ({stype(s) or 'no type'})" for s in streams]
        raise RecordingError(f"{path} has no EEG stream with samples (streams: {found or 'none'}); "
                             "the EEG stream must have type 'EEG'")
    stream = max(eeg, key=lambda s: int(s["info"]["channel_count"][0]))
    rate = float(stream["info"]["nominal_srate"][0])
    if not rate > 0:
        raise RecordingError(f"{path}: the EEG stream has an irregular sampling rate; calibration needs a fixed rate")
    stamps = np.asarray(stream["time_stamps"], dtype=np.float64)
    data = np.asarray(stream["time_series"], dtype=np.float64).T
    labels, types, unit = _stream_channels(stream)
    markers: list[Marker] = []
    for s in streams:
        if not is_markers(s):
            continue
        for t, sample in zip(s["time_stamps"], s["time_series"]):
            # Marker time -> the EEG sample recorded at that time (timestamps are dejittered by pyxdf).
            index = int(np.clip(np.searchsorted(stamps, float(t)), 0, len(stamps) - 1))
            markers.append(Marker(index / rate, 0.0, str(sample[0])))
    markers.sort(key=lambda m: m.onset)
    notes = []
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    if span > 0 and abs((len(stamps) - 1) / span - rate) > 0.01 * rate:
        notes.append(f"{path.name}: effective rate {(len(stamps) - 1) / span:.2f} Hz differs from nominal {rate:g} Hz "
                     "(samples lost?); markers were aligned by timestamp")
    return Recording(data, rate, labels, types, unit, markers, path, file_sha256(path), notes)
