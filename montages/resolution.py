"""The result of resolving a montage: per-channel decisions, coordinates, model mask."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Where a model-input position came from, in priority order.
SOURCES = ("stream-metadata", "montage-file", "device-profile", "standard-1005")
#: The coordinate frame and unit of :attr:`MontageResolution.coords`.
FRAME = "head"
UNITS = "m"
FRAME_DESCRIPTION = (
    "MNE head frame (origin between the ears; +x towards the right pre-auricular "
    "point, +y towards the nasion, +z up), metres"
)


@dataclass(frozen=True)
class ChannelResolution:
    """What was decided for one channel.

    Attributes
    ----------
    index : int
        Position of the channel in the stream.
    label : str
        The label as given.
    normalized_label : str
        Cleaned, canonical spelling (``EEG FP1-REF`` -> ``Fp1``, ``T3`` -> ``T7``).
    kind : str
        "eeg" for scalp EEG; otherwise what the channel measures ("eog", "emg", "ecg",
        "stim", "accel", "gyro", "aux", "battery", "counter", "timestamp", "misc", ...).
    source : str | None
        Where the position came from (one of :data:`SOURCES`), None when not placed.
    excluded_reason : str | None
        Why the channel is not model input; None for channels that are.
    mapped_label : str | None
        The name the position was found under (e.g. "Fp1" for BioSemi's "A1").
    note : str | None
        Anything else worth knowing (e.g. an unusable stream location that was skipped).
    """

    index: int
    label: str
    normalized_label: str
    kind: str
    source: str | None
    excluded_reason: str | None
    mapped_label: str | None = None
    note: str | None = None

    @property
    def used(self) -> bool:
        """Whether the channel is model input."""
        return self.excluded_reason is None


@dataclass(frozen=True, eq=False)
class MontageResolution:
    """Head-frame positions for a stream's channels and which of them feed the model.

    Attributes
    ----------
    labels : tuple[str, ...]
        Channel labels as given, in stream order.
    coords : np.ndarray, shape (n_channels, 3), float32
        Positions in metres in the MNE head frame (see the package docstring); NaN rows
        for channels that are not model input. Read-only.
    mask : np.ndarray, shape (n_channels,), bool
        True for EEG channels used as model input. Read-only.
    channels : tuple[ChannelResolution, ...]
        Per-channel decisions, in stream order.
    device : str | None
        Device profile used, if any.
    montage_file : str | None
        Montage file used, if any.
    notes : tuple[str, ...]
        Stream-level remarks (inferred units, missing fiducials, positional reading...).
    """

    labels: tuple[str, ...]
    coords: np.ndarray
    mask: np.ndarray
    channels: tuple[ChannelResolution, ...]
    device: str | None = None
    montage_file: str | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Frozen means frozen: callers share these arrays, so nobody may edit them.
        self.coords.flags.writeable = False
        self.mask.flags.writeable = False

    @property
    def eeg_indices(self) -> np.ndarray:
        """Stream indices of the model-input channels, shape (n_used,), ascending."""
        return np.flatnonzero(self.mask)

    @property
    def n_used(self) -> int:
        """Number of model-input channels."""
        return int(self.mask.sum())

    def format_report(self) -> str:
        """A readable table of every channel and what became of it (for the CLI)."""
        eeg = [c for c in self.channels if c.kind == "eeg"]
        dropped = [c for c in eeg if not c.used]
        lines = [
            f"Montage: {len(self.channels)} channels, {self.n_used} EEG used as model "
            f"input, {len(dropped)} EEG dropped, {len(self.channels) - len(eeg)} "
            "non-EEG excluded",
            f"Frame: {FRAME_DESCRIPTION}",
        ]
        if self.device:
            lines.append(f"Device profile: {self.device}")
        if self.montage_file:
            lines.append(f"Montage file: {self.montage_file}")
        rows = [("#", "label", "normalized", "kind", "source", "x mm", "y mm", "z mm", "status")]
        for ch, xyz in zip(self.channels, self.coords, strict=True):
            pos = ("", "", "") if not ch.used else tuple(f"{v * 1000:.1f}" for v in xyz)
            status = "used" if ch.used else f"excluded: {ch.excluded_reason}"
            if ch.used and ch.mapped_label and ch.mapped_label != ch.normalized_label:
                status += f" (as {ch.mapped_label})"
            rows.append(
                (str(ch.index), ch.label, ch.normalized_label, ch.kind, ch.source or "-",
                 *pos, status)
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            cells = [
                cell.rjust(w) if i in (0, 5, 6, 7) else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=False))
            ]
            lines.append("  " + "  ".join(cells) + "  " + row[-1])
        notes = list(self.notes) + [
            f"channel {c.index} '{c.label}': {c.note}" for c in self.channels if c.note
        ]
        if notes:
            lines.append("Notes:")
            lines.extend(f"  - {n}" for n in notes)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-serialisable description (for the GUI and for logs)."""
        return {
            "frame": FRAME,
            "units": UNITS,
            "frame_description": FRAME_DESCRIPTION,
            "n_channels": len(self.channels),
            "n_used": self.n_used,
            "device": self.device,
            "montage_file": self.montage_file,
            "notes": list(self.notes),
            "channels": [
                {
                    "index": c.index,
                    "label": c.label,
                    "normalized_label": c.normalized_label,
                    "kind": c.kind,
                    "source": c.source,
                    "used": c.used,
                    "excluded_reason": c.excluded_reason,
                    "mapped_label": c.mapped_label,
                    "note": c.note,
                    "position_m": (
                        [float(v) for v in xyz] if c.used else None
                    ),
                }
                for c, xyz in zip(self.channels, self.coords, strict=True)
            ],
        }
