"""Reading an XDF recording (LabRecorder's format) into an MNE Raw for replay.

The EEG is the regularly sampled numeric stream of type ``EEG`` (else the numeric
regular stream with the most channels); every string stream with an irregular rate
becomes annotations (text = first channel), placed relative to the EEG's first sample.
"""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np

from samba_core.preprocessing import UNIT_TO_MICROVOLTS

from .conditioning import channel_unit
from .errors import ReplayFileError


def _first(d: dict, key: str, default=None):
    value = d.get(key)
    if isinstance(value, list):
        return value[0] if value else default
    return default if value is None else value


def _channels(info: dict, n: int) -> list[dict]:
    desc = _first(info, "desc") or {}
    chans = _first(desc, "channels") if isinstance(desc, dict) else None
    listed = chans.get("channel", []) if isinstance(chans, dict) else []
    if len(listed) != n:
        return [{"label": f"Ch{i + 1}", "type": None, "unit": None} for i in range(n)]
    return [{"label": _first(c, "label", f"Ch{i + 1}"), "type": _first(c, "type"), "unit": _first(c, "unit")}
            for i, c in enumerate(listed)]


def _is_regular_numeric(stream: dict) -> bool:
    info = stream["info"]
    return float(_first(info, "nominal_srate", 0)) > 0 and _first(info, "channel_format", "") != "string"


def read_raw_xdf(path: Path) -> mne.io.RawArray:
    """EEG stream of ``path`` as a Raw (volts) with the marker streams as annotations.

    Raises
    ------
    ReplayFileError
        No regularly sampled numeric stream in the file.
    """
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(path))
    regular = [s for s in streams if _is_regular_numeric(s) and len(s["time_stamps"]) > 1]
    if not regular:
        raise ReplayFileError(f"cannot replay {path}: the XDF file holds no regularly sampled numeric (EEG) stream")
    eeg = [s for s in regular if str(_first(s["info"], "type", "")).lower() == "eeg"]
    stream = (eeg or sorted(regular, key=lambda s: -int(_first(s["info"], "channel_count", 0))))[0]
    info = stream["info"]
    data = np.asarray(stream["time_series"], dtype=np.float64).T  # (channels, samples)
    channels = _channels(info, data.shape[0])
    types = [(c["type"] or "eeg").lower() for c in channels]
    types = [t if t in ("eeg", "eog", "ecg", "emg", "stim", "misc") else "misc" for t in types]
    # XDF's meta-data convention gives EEG in microvolts when no unit is declared.
    scale = np.array([UNIT_TO_MICROVOLTS[channel_unit(c["unit"]) or "uV"] * 1e-6 if t in ("eeg", "eog", "ecg", "emg")
                      else 1.0 for c, t in zip(channels, types, strict=True)])
    labels = [str(c["label"]) for c in channels]
    if len(set(labels)) != len(labels):
        labels = [f"{label}-{i}" for i, label in enumerate(labels)]
    rate = float(_first(info, "nominal_srate"))
    raw = mne.io.RawArray(data * scale[:, None], mne.create_info(labels, rate, types), verbose="error")
    t0 = float(stream["time_stamps"][0])
    onsets, texts = [], []
    for s in streams:
        if _first(s["info"], "channel_format", "") == "string" and float(_first(s["info"], "nominal_srate", 0)) == 0:
            for ts, value in zip(s["time_stamps"], s["time_series"], strict=False):
                onsets.append(float(ts) - t0)
                texts.append(str(value[0]) if len(value) else "")
    keep = [i for i, o in enumerate(onsets) if 0 <= o < raw.times[-1]]
    if keep:
        raw.set_annotations(mne.Annotations([onsets[i] for i in keep], [0.0] * len(keep), [texts[i] for i in keep]))
    return raw
