"""Configuration of a live decoding session (one frozen dataclass, nested by concern), and the
one mapping from ``samba-live`` options to it (:meth:`PipelineConfig.from_args`), used by the
headless command line and by the window alike."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import checkpoints

from .acquisition import AcquisitionConfig
from .chain import MontageOptions
from .decoding import DecodingConfig
from .errors import PipelineError
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

    @classmethod
    def from_args(cls, args: Any, **overrides: Any) -> PipelineConfig:
        """The configuration that ``samba-live`` options ask for.

        Parameters
        ----------
        args : argparse.Namespace or any object with these attributes
            Parsed ``samba-live`` arguments (:func:`app.cli.build_parser`). Read: ``stream``,
            ``stream_type``, ``source_id``, ``markers``, ``checkpoint``, ``backend``,
            ``smoothing``, ``threshold``, ``timeout``, ``montage``, ``device``, ``allow_drop``,
            ``mains``, ``outlet_prefix``, ``record``, ``cue_map``. An absent attribute, or None, keeps the
            field's default.
        **overrides
            Fields that replace what ``args`` say, e.g. the ``stream`` and ``markers`` of a
            replay, or the ``stream`` and ``checkpoint`` chosen in the window.

        Raises
        ------
        PipelineError
            No stream named (neither in ``args`` nor in ``overrides``), or no checkpoint given
            and the shipped one (:data:`checkpoints.SHIPPED_CHECKPOINT`) is not installed.
        ValueError
            An override that is not a field, or a setting the nested configs refuse.
        """
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"not PipelineConfig fields: {sorted(unknown)}")

        def given(**values: Any) -> dict[str, Any]:
            return {k: v for k, v in values.items() if v is not None}

        def arg(name: str) -> Any:
            return getattr(args, name, None)

        settings: dict[str, Any] = given(
            markers=StreamSelector(name=arg("markers")) if arg("markers") else None,
            record=Path(arg("record")) if arg("record") else None,
            outlet_prefix=arg("outlet_prefix"), mains_hz=arg("mains"), cue_map=arg("cue_map"),
            decoding=DecodingConfig(**given(backend=arg("backend"), smoothing_s=arg("smoothing"),
                                            threshold=arg("threshold"))),
            acquisition=AcquisitionConfig(**given(resolve_timeout_s=arg("timeout"))),
            montage=MontageOptions(montage_file=str(arg("montage")) if arg("montage") else None, device=arg("device"),
                                   allow_drop=bool(arg("allow_drop"))),
        )
        if "stream" not in overrides:
            settings["stream"] = _stream_of(arg("stream"), arg("stream_type"), arg("source_id"))
        if "checkpoint" not in overrides:
            settings["checkpoint"] = _checkpoint_of(arg("checkpoint"))
        return cls(**{**settings, **overrides})


def _stream_of(name: str | None, stype: str | None, source_id: str | None) -> StreamSelector:
    if name is None and stype is None and source_id is None:
        raise PipelineError("say what to decode: --stream NAME (and/or --stream-type TYPE, --source-id ID) for a "
                            "live LSL stream, or --replay [FILE]")
    return StreamSelector(name=name, stype=stype, source_id=source_id)


def _checkpoint_of(path: str | Path | None) -> Path:
    """The given checkpoint, else the shipped one when it is installed."""
    if path:
        return Path(path)
    shipped = checkpoints.SHIPPED_CHECKPOINT
    if shipped.is_file():
        return shipped
    raise PipelineError(
        f"no --checkpoint given and the shipped checkpoint {shipped} is not installed; "
        "pass --checkpoint PATH (a .samba file from samba-pretrain or samba-calibrate)"
    )
