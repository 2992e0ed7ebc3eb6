"""The on-disk format of a recording in progress: its files, header and sample rows.

:class:`~app.pipeline.recording.RecordingWriter` writes it; :mod:`app.pipeline.recovery`
reads it back (after a crash, or at a normal stop) and converts it to FIF.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .errors import RecordingError

FORMAT = "samba-live-partial-recording"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class PartialPaths:
    """The files of one recording in progress, derived from the final ``.fif`` path."""

    final: Path

    @classmethod
    def from_partial(cls, partial: str | os.PathLike) -> PartialPaths:
        """From the ``OUT.fif.partial`` path a user passes to ``--recover``."""
        p = Path(partial)
        if not p.name.endswith(".partial"):
            raise RecordingError(f"{p} is not a partial recording (the name must end in .partial, e.g. OUT.fif.partial)")
        return cls(p.with_name(p.name[: -len(".partial")]))

    @property
    def samples(self) -> Path:
        return self.final.with_name(self.final.name + ".partial")

    @property
    def header(self) -> Path:
        return self.final.with_name(self.final.name + ".partial.json")

    @property
    def events(self) -> Path:
        return self.final.with_name(self.final.name + ".partial.events")

    @property
    def decisions(self) -> Path:
        """The decisions table written next to the final FIF."""
        stem = self.final.name[: -len(".fif")] if self.final.name.endswith(".fif") else self.final.name
        return self.final.with_name(stem + ".decisions.tsv")

    @property
    def lsl_times(self) -> Path:
        """The LSL time of every sample of the final FIF (float64 .npy), written next to it."""
        stem = self.final.name[: -len(".fif")] if self.final.name.endswith(".fif") else self.final.name
        return self.final.with_name(stem + ".lsl_times.npy")

    def all_partial(self) -> list[Path]:
        return [self.samples, self.header, self.events]


def recording_header(layout, classes: dict, eeg_unit: str | None, model_channels, checkpoint: str) -> dict[str, Any]:
    """The header of a recording of stream ``layout`` (a :class:`~app.pipeline.streams.StreamLayout`)."""
    s = layout.summary
    return {
        "channels": [{"label": lab, "type": typ, "unit": unit}
                     for lab, typ, unit in zip(layout.labels, layout.types, layout.units, strict=True)],
        "rate": layout.physical_rate, "nominal_rate": layout.nominal_rate, "replay_speed": layout.replay_speed,
        "stream": {"name": s.name, "type": s.stype, "source_id": s.source_id, "host": s.host},
        "started_utc": datetime.now(timezone.utc).isoformat(), "checkpoint": checkpoint,
        "classes": {h: list(c) for h, c in classes.items()}, "eeg_unit": eeg_unit,
        "model_channels": list(model_channels),
    }


def sample_dtype(n_channels: int) -> np.dtype:
    """One row of the samples file: LSL time and every channel."""
    return np.dtype([("t", "<f8"), ("x", "<f4", (n_channels,))])
