"""EDF, BDF, GDF, FIF (and BrainVision, EEGLAB, Neuroscan) through MNE: annotations, stim events, EDF+D.

- **Encoding**: EDF+/BDF+ annotation text is read as UTF-8; when that fails (MNE 1.13
  raises a plain ``Exception`` chained to a ``UnicodeDecodeError``) it is read once more
  as latin-1, which decodes any byte.
- **Events**: annotations become timed events; every stim channel (e.g. BioSemi's
  ``Status``) is decoded with :func:`mne.find_events` and its codes become events too.
- **Segments**: EDF+D records apart in time (:mod:`.edfplus`) and MNE's ``EDGE boundary``
  annotations (left by :func:`mne.concatenate_raws`, and by :meth:`Recording.to_raw`) end
  a segment.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from ..units import UNIT_TO_MICROVOLTS, parse_unit
from .assemble import Samples
from .edfplus import record_onsets
from .recording import BOUNDARY, VOLTAGE_TYPES
from .timeline import nearest_sample

#: Files MNE reads for us; the value says whether the reader takes an ``encoding``.
MNE_SUFFIXES = {".edf": True, ".bdf": True, ".gdf": False, ".fif": False, ".fif.gz": False,
                ".vhdr": False, ".set": False, ".cnt": False}
#: BioSemi keeps trigger codes in the low 16 bits of ``Status``; the high byte is amplifier state (CMS, battery).
_BDF_TRIGGER_MASK = 0xFFFF


def _is_decoding_error(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, UnicodeDecodeError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def read_raw(path: Path, suffix: str, encoding: str | None = None):
    """(the MNE Raw of ``path``, preloaded; the encoding that read it), with the latin-1 retry for EDF+/BDF+."""
    import mne

    def read(enc: str | None):
        kw = {"encoding": enc} if enc and MNE_SUFFIXES[suffix] else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # channel-name / highpass notes of the readers
            return mne.io.read_raw(path, preload=True, verbose="error", **kw)

    try:
        return read(encoding), encoding
    except Exception as exc:
        if encoding is not None or not MNE_SUFFIXES[suffix] or not _is_decoding_error(exc):
            raise
    return read("latin1"), "latin1"


def _declared_unit(raw, eeg: list[int]) -> str | None:
    """The unit the file declares for its EEG channels (FIF: volts)."""
    orig = getattr(raw, "_orig_units", None) or {}
    if not orig:
        return "V"
    units = Counter(parse_unit(orig.get(raw.ch_names[i]), strict=False) for i in eeg)
    return units.most_common(1)[0][0] if units else None


def _stim_events(raw, suffix: str) -> list[tuple[int, float, str]]:
    import mne

    out = []
    for name in (raw.ch_names[i] for i in np.flatnonzero(np.asarray(raw.get_channel_types()) == "stim")):
        mask = _BDF_TRIGGER_MASK if suffix == ".bdf" else None
        events = mne.find_events(raw, stim_channel=name, shortest_event=1, initial_event=True, mask=mask,
                                 mask_type="and", verbose="error")
        out += [(int(s) - raw.first_samp, 0.0, str(int(code))) for s, _, code in events if code]
    return out


def read_mne(path: Path, suffix: str, encoding: str | None = None) -> Samples:
    """Read an EDF/BDF/GDF/FIF file into :class:`Samples` (voltage channels in the declared unit)."""
    import mne

    raw, encoding = read_raw(path, suffix, encoding)
    n, rate = raw.n_times, float(raw.info["sfreq"])
    types = list(raw.get_channel_types())
    eeg = [i for i, t in enumerate(types) if t == "eeg"]
    declared = _declared_unit(raw, eeg)
    data = raw.get_data()
    voltage = np.array([t in VOLTAGE_TYPES for t in types])
    # MNE holds volts; give the samples back in the unit the file declared (physical values when it declared none).
    data[voltage] *= 1e6 / UNIT_TO_MICROVOLTS[declared] if declared else 1.0
    times = np.arange(n) / rate
    onsets = record_onsets(path) if suffix in (".edf", ".bdf") else None
    if onsets is not None and onsets.size:
        per_record = n // onsets.size
        times = (onsets[:, None] + np.arange(per_record)[None, :] / rate).ravel()[:n]
    ann = raw.annotations
    if onsets is not None:  # the Raw keeps only annotations inside its glued records; the file has them all
        ann = mne.read_annotations(path, encoding=encoding or "utf8")
    offset = raw.first_time if ann.orig_time is not None else 0.0
    onset = ann.onset - offset
    boundary = np.isin(ann.description, BOUNDARY)
    events = [(float(onset[i]), float(ann.duration[i]), str(ann.description[i])) for i in np.flatnonzero(~boundary)]
    edges = onset[ann.description == BOUNDARY[1]]
    breaks = nearest_sample(times, edges).tolist() if edges.size else []
    loc = np.array([ch["loc"][:3] for ch in raw.info["chs"]], dtype=np.float64)
    placed = np.isfinite(loc).all(axis=1) & (np.abs(loc).sum(axis=1) > 0)
    positions = np.where(placed[:, None], loc, np.nan) if placed.any() else None
    return Samples(
        data=data, rate=rate, labels=list(raw.ch_names), types=types, declared_unit=declared, times=times,
        timed_events=events, sample_events=_stim_events(raw, suffix), breaks=breaks, positions=positions,
    )
