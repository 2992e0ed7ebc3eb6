"""``read_recording``: the one way a file of EEG becomes a :class:`Recording`."""

from __future__ import annotations

import os
from pathlib import Path

from .assemble import assemble
from .mne_formats import MNE_SUFFIXES, read_mne
from .muse_csv import read_muse_csv
from .recording import Recording, RecordingError
from .xdf import XDF_SUFFIXES, read_xdf

#: Every file type :func:`read_recording` reads.
SUPPORTED_SUFFIXES = (*MNE_SUFFIXES, *XDF_SUFFIXES, ".csv")
#: Shortest recording accepted by default (s): less cannot be replayed, calibrated on or learnt from.
MIN_SECONDS = 1.0


def _suffix(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True) if name.endswith(s)), None)


def read_recording(
    path: str | os.PathLike, *, stream: str | int | None = None, unit: str | None = None,
    encoding: str | None = None, min_seconds: float = MIN_SECONDS,
) -> Recording:
    """Read EDF, BDF, GDF, FIF, XDF, an eeg-notebooks Muse CSV (or BrainVision, EEGLAB, Neuroscan through MNE).

    Parameters
    ----------
    path : path-like
    stream : str or int, optional
        XDF only: the EEG stream's name or id, overriding the stream rule
        (:func:`samba_core.recordings.xdf.choose_stream`).
    unit : str, optional
        Unit of the voltage channels, overriding what the file declares and the amplitude
        check of :func:`samba_core.units.reconcile_unit`.
    encoding : str, optional
        EDF+/BDF+ annotation text encoding; by default UTF-8, retried once as latin-1.
    min_seconds : float
        Refuse recordings shorter than this ("file too short").

    Returns
    -------
    Recording
        Voltage channels in µV, markers on samples, segments (see :class:`Recording`).
        When the declared unit and the amplitude disagree by orders of magnitude, the
        amplitude wins, a ``RuntimeWarning`` names both, and ``notes`` keeps it.

    Raises
    ------
    RecordingError
        Missing, empty, unsupported, truncated or corrupt file; no EEG; too short. The
        message names the file, the problem and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: the file does not exist (or is not a file); check the path")
    suffix = _suffix(path)
    if suffix is None:
        raise RecordingError(
            f"{path}: unsupported file type {path.suffix or '(no extension)'!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)} (CSV in the eeg-notebooks Muse layout)"
        )
    if path.stat().st_size == 0:
        raise RecordingError(f"{path}: the file is empty (0 bytes); record again or choose another file")
    if suffix in XDF_SUFFIXES:
        found = read_xdf(path, stream)
    elif suffix == ".csv":
        found = read_muse_csv(path)
    else:
        try:
            found = read_mne(path, suffix, encoding)
        except Exception as exc:  # noqa: BLE001 - MNE raises anything on truncated headers, bad record counts...
            raise RecordingError(
                f"{path}: not a readable {suffix[1:].upper()} file; it is corrupt or truncated "
                f"({type(exc).__name__}: {exc}). Export the recording again from the recording software"
            ) from exc
    return assemble(path, found, unit=unit, min_seconds=min_seconds)
