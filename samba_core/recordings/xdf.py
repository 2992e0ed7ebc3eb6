"""XDF (LabRecorder): which stream is the EEG, its channels, and the marker streams.

**Stream rule** (:func:`choose_stream`): among the regularly sampled numeric streams with
more than one sample, the EEG streams (stream type ``EEG``, or a majority of channels typed
``EEG``) compete; the widest wins, then the longest. A one-sample stub is never chosen.
``stream=`` (a stream name, or its XDF stream id) overrides the rule.

**Markers**: every stream of strings, and every irregular-rate stream with one channel or
of type ``Markers``/``Events``, is a marker stream; string markers keep their text, numeric markers become their number (``"3"``,
``"2.5"``). Timestamps are pyxdf's (clock-synchronised, dejittered), so the segment rule
sees a recording gap as a jump in the EEG stream's timestamps.

**Channels** come from ``desc/channels/channel`` (``label``, ``type``, ``unit``,
``location`` X/Y/Z in millimetres as in the LSL meta-data conventions); missing entries
get ``Ch<n>``, the stream's type, and no unit.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from ..units import UNIT_TO_MICROVOLTS, parse_unit
from .assemble import Samples
from .recording import VOLTAGE_TYPES, RecordingError

XDF_SUFFIXES = (".xdf", ".xdfz")
_TYPES = {"eeg": "eeg", "eog": "eog", "ecg": "ecg", "emg": "emg", "stim": "stim", "trigger": "stim", "misc": "misc"}


def _first(d, key: str, default=None):
    value = d.get(key) if isinstance(d, dict) else None
    if isinstance(value, list):
        return value[0] if value else default
    return default if value is None else value


def _name(s: dict) -> str:
    return str(_first(s["info"], "name", "?"))


def _rate(s: dict) -> float:
    try:
        return float(_first(s["info"], "nominal_srate", 0) or 0)
    except ValueError:
        return 0.0


def _is_string(s: dict) -> bool:
    return str(_first(s["info"], "channel_format", "")) == "string"


def _is_markers(s: dict) -> bool:
    """String samples, or an irregular rate with one channel or a marker/event stream type."""
    if _is_string(s):
        return True
    kind = str(_first(s["info"], "type", "")).lower()
    return _rate(s) == 0 and (int(_first(s["info"], "channel_count", 0) or 0) == 1 or kind in ("markers", "events"))


def channels(s: dict) -> list[dict]:
    """``label``, ``type``, ``unit``, ``location`` (metres or None) of each channel of a stream."""
    n = int(_first(s["info"], "channel_count", 0) or 0)
    stream_type = str(_first(s["info"], "type", "") or "").lower()
    described = _first(_first(s["info"], "desc") or {}, "channels")
    listed = (described.get("channel") or []) if isinstance(described, dict) else []
    out = []
    for i in range(n):
        c = listed[i] if i < len(listed) and isinstance(listed[i], dict) else {}
        kind = str(_first(c, "type", "") or stream_type).lower()
        loc = _first(c, "location")
        xyz = None
        if isinstance(loc, dict):
            try:
                xyz = [float(_first(loc, axis)) / 1000.0 for axis in ("X", "Y", "Z")]
            except (TypeError, ValueError):
                xyz = None
        out.append({"label": str(_first(c, "label", "") or f"Ch{i + 1}"), "type": _TYPES.get(kind, "misc"),
                    "unit": _first(c, "unit"), "location": xyz})
    return out


def _is_eeg(s: dict) -> bool:
    if str(_first(s["info"], "type", "")).lower() == "eeg":
        return True
    kinds = [c["type"] for c in channels(s)]
    return bool(kinds) and kinds.count("eeg") * 2 > len(kinds)


def choose_stream(streams: list[dict], path: Path, stream: str | int | None = None) -> dict:
    """The EEG stream of an XDF file (see the module docstring for the rule).

    Raises
    ------
    RecordingError
        No stream fits, or ``stream`` names none; the message lists the streams.
    """
    listing = ", ".join(f"{_name(s)!r} (id {s['info'].get('stream_id')}, type {_first(s['info'], 'type', '')!r}, "
                        f"{len(s['time_stamps'])} samples)" for s in streams) or "none"
    candidates = [s for s in streams if not _is_markers(s) and _rate(s) > 0]
    if stream is not None:
        named = [s for s in candidates if _name(s) == str(stream) or str(s["info"].get("stream_id")) == str(stream)]
        if not named:
            raise RecordingError(f"{path}: no regularly sampled numeric stream {stream!r}; streams: {listing}")
        return named[0]
    eeg = [s for s in candidates if _is_eeg(s)]
    if not eeg:
        raise RecordingError(
            f"{path}: no EEG stream (streams: {listing}); set the EEG stream's type to 'EEG' in the recording "
            "software, or choose a stream by name (stream=NAME)"
        )
    real = [s for s in eeg if len(s["time_stamps"]) > 1]
    if not real:
        n = max(len(s["time_stamps"]) for s in eeg)
        raise RecordingError(f"{path}: file too short: its EEG stream(s) hold {n} sample(s); record for longer")
    return max(real, key=lambda s: (int(_first(s["info"], "channel_count", 0)), len(s["time_stamps"])))


def _marker_text(value) -> str:
    if isinstance(value, str):
        return value
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def read_xdf(path: Path, stream: str | int | None = None) -> Samples:
    """Read the EEG stream and every marker stream of an XDF file into :class:`Samples`."""
    import pyxdf

    try:
        streams, _ = pyxdf.load_xdf(str(path))
    except Exception as exc:  # noqa: BLE001 - pyxdf raises anything on damaged files
        raise RecordingError(
            f"{path}: not a readable XDF file, it is corrupt or truncated ({type(exc).__name__}: {exc}); "
            "export it again from the recorder"
        ) from exc
    chosen = choose_stream(streams, path, stream)
    chans = channels(chosen)
    data = np.asarray(chosen["time_series"], dtype=np.float64).T  # (channels, samples)
    if data.shape[0] != len(chans):
        raise RecordingError(f"{path}: stream {_name(chosen)!r} declares {len(chans)} channels, carries {data.shape[0]}")
    units = [parse_unit(c["unit"], strict=False) if c["type"] in VOLTAGE_TYPES else None for c in chans]
    known = Counter(u for u in units if u is not None)
    declared = known.most_common(1)[0][0] if known else None
    for i, u in enumerate(units):  # a channel declaring another unit than the rest is brought to theirs
        if u is not None and u != declared:
            data[i] *= UNIT_TO_MICROVOLTS[u] / UNIT_TO_MICROVOLTS[declared]
    events = []
    for s in streams:
        if s is chosen or not _is_markers(s):
            continue
        for t, value in zip(s["time_stamps"], s["time_series"], strict=False):
            if len(value):
                events.append((float(t), 0.0, _marker_text(value[0])))
    positions = np.array([c["location"] or [np.nan] * 3 for c in chans], dtype=np.float64)
    others = [_name(s) for s in streams if s is not chosen and not _is_markers(s)]
    notes = [f"{path.name}: read stream {_name(chosen)!r}; other streams {others} were left out"] if others else []
    return Samples(
        data=data, rate=_rate(chosen), labels=[c["label"] for c in chans], types=[c["type"] for c in chans],
        declared_unit=declared, times=np.asarray(chosen["time_stamps"], dtype=np.float64), timed_events=events,
        positions=positions if np.isfinite(positions).any() else None, stream=_name(chosen), notes=notes,
    )
