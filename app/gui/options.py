"""What the window is opened with: the ``samba-live`` command line, as one frozen dataclass."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.cli import build_parser
from app.pipeline import PipelineConfig
from app.paradigm.run import default_data_dir


@dataclass(frozen=True)
class GuiOptions:
    """Start-up choices of the window.

    Parameters
    ----------
    replay : str or None
        Recording to replay at start ("" = the bundled demo, None = no replay).
    stream : str or None
        Name of an LSL stream to decode at start.
    checkpoint : Path or None
        Checkpoint to select (default: the shipped one).
    loop, speed
        Replay options.
    args : argparse.Namespace
        The ``samba-live`` arguments. The decoding settings (backend, smoothing, threshold,
        montage, device, allow-drop, mains, outlet prefix, timeout) are read from them by
        :meth:`PipelineConfig.from_args`, as ``--headless`` reads them (:meth:`pipeline_config`).
        Default: ``samba-live`` with no options.
    data_dir : Path
        Sessions and subject checkpoints are written here.
    refresh_hz : float
        Display refresh rate (30-60 Hz).
    time_scale : float
        Factor on calibration protocol durations (1 for real runs).
    """

    replay: str | None = None
    stream: str | None = None
    checkpoint: Path | None = None
    loop: bool = False
    speed: float = 1.0
    args: argparse.Namespace = field(default_factory=lambda: build_parser().parse_args([]))
    data_dir: Path = field(default_factory=default_data_dir)
    refresh_hz: float = 30.0
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 1.0 <= self.refresh_hz <= 60.0:
            raise ValueError(f"refresh_hz must be within 1..60 Hz, got {self.refresh_hz}")
        if not self.speed > 0:
            raise ValueError(f"replay speed must be > 0, got {self.speed}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> GuiOptions:
        """From the ``samba-live`` arguments; anything absent keeps its default."""
        get = lambda name, default=None: getattr(args, name, default)  # noqa: E731
        return cls(
            replay=get("replay"), stream=get("stream"),
            checkpoint=Path(get("checkpoint")) if get("checkpoint") else None,
            loop=bool(get("loop", False)), speed=float(get("speed") or 1.0), args=args,
        )

    def pipeline_config(self, **overrides: Any) -> PipelineConfig:
        """What the window decodes with: :meth:`PipelineConfig.from_args` of :attr:`args` and ``overrides``.

        The window chooses the stream and checkpoint (pass them), and records only what it is
        asked to (``record`` and ``markers`` are None unless given).

        Raises
        ------
        PipelineError, ValueError
            See :meth:`PipelineConfig.from_args`.
        """
        return PipelineConfig.from_args(self.args, **{"record": None, "markers": None, **overrides})
