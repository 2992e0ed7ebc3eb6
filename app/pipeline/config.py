"""Configuration of a live decoding session (one frozen dataclass, nested by concern)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .acquisition import AcquisitionConfig
from .chain import MontageOptions
from .decoding import DecodingConfig
from .ground_truth import CueMap
from .streams import StreamSelector


@dataclass(frozen=True)
class PipelineConfig:
    """What to decode, with which checkpoint, and where the output goes.

    Parameters
    ----------
    stream : StreamSelector
        The EEG stream.
    checkpoint : Path
        A samba-live checkpoint (``.samba``).
    decoding : DecodingConfig
        Backend, smoothing and decision rule.
    acquisition : AcquisitionConfig
        Timing rules (gaps, rate check, re-attachment).
    montage : MontageOptions
        How to place the channels on the head.
    markers : StreamSelector, optional
        An event-marker stream to record alongside (e.g. a replay's annotations).
    outlet_prefix : str
        Output streams are ``<prefix>-<head>`` and ``<prefix>-decisions``.
    record : Path, optional
        Record raw EEG, markers and decisions to this ``.fif`` file.
    flush_interval_s : float
        Seconds between flushes of the recording to disk (what a crash can lose).
    trace_seconds : float
        Seconds of raw traces kept for display.
    history_tokens : int
        Probability vectors kept per head for display.
    mains_hz : float, optional
        Local mains frequency for the notch (50 or 60; 0 disables it), overriding the
        checkpoint's: the mains where a model was trained need not be the user's.
    cue_map : CueMap, optional
        How the marker stream's cues name classes, for scoring decisions against them
        (default: EEGMMIDB's T1/T2 plus ``cue/<class>``; see :mod:`app.pipeline.ground_truth`).
    """

    stream: StreamSelector
    checkpoint: Path
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    acquisition: AcquisitionConfig = field(default_factory=AcquisitionConfig)
    montage: MontageOptions = field(default_factory=MontageOptions)
    markers: StreamSelector | None = None
    outlet_prefix: str = "samba"
    record: Path | None = None
    flush_interval_s: float = 0.5
    trace_seconds: float = 10.0
    history_tokens: int = 512
    mains_hz: float | None = None
    cue_map: CueMap | None = None
