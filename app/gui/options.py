"""What the window is opened with: the ``samba-live`` command line, as one frozen dataclass."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from app.paradigm.run import default_data_dir
from app.pipeline import MontageOptions

#: The checkpoint shipped with the package.
SHIPPED_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "samba-base.samba"


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
    backend : str
        ``onnx`` or ``torch``.
    loop, speed
        Replay options.
    smoothing_s, threshold
        Decoding options (see :class:`app.pipeline.DecodingConfig`).
    montage : MontageOptions
    outlet_prefix : str
    resolve_timeout_s : float
    data_dir : Path
        Sessions and subject checkpoints are written here.
    refresh_hz : float
        Display refresh rate (30-60 Hz).
    time_scale : float
        Factor on calibration protocol durations (1 for real runs).
    mains_hz : float or None
        Local mains frequency for the notch (0 disables it); None keeps the checkpoint's.
    """

    replay: str | None = None
    stream: str | None = None
    checkpoint: Path | None = None
    backend: str = "onnx"
    loop: bool = False
    speed: float = 1.0
    smoothing_s: float = 0.0
    threshold: float | None = None
    montage: MontageOptions = field(default_factory=MontageOptions)
    outlet_prefix: str = "samba"
    resolve_timeout_s: float = 10.0
    data_dir: Path = field(default_factory=default_data_dir)
    refresh_hz: float = 30.0
    time_scale: float = 1.0
    mains_hz: float | None = None

    def __post_init__(self) -> None:
        if not 1.0 <= self.refresh_hz <= 60.0:
            raise ValueError(f"refresh_hz must be within 1..60 Hz, got {self.refresh_hz}")
        if not self.speed > 0:
            raise ValueError(f"replay speed must be > 0, got {self.speed}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> GuiOptions:
        """From the ``samba-live`` arguments; anything absent keeps its default."""
        get = lambda name, default=None: getattr(args, name, default)  # noqa: E731
        montage_file = get("montage")
        return cls(
            replay=get("replay"), stream=get("stream"),
            checkpoint=Path(get("checkpoint")) if get("checkpoint") else None,
            backend=get("backend") or "onnx", loop=bool(get("loop", False)), speed=float(get("speed") or 1.0),
            smoothing_s=float(get("smoothing") or 0.0), threshold=get("threshold"),
            montage=MontageOptions(montage_file=str(montage_file) if montage_file else None, device=get("device"),
                                   allow_drop=bool(get("allow_drop", False))),
            outlet_prefix=get("outlet_prefix") or "samba", resolve_timeout_s=float(get("timeout") or 10.0),
            mains_hz=get("mains"),
        )
