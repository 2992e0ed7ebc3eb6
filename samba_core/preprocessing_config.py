"""Preprocessing settings (:class:`PreprocessConfig`): what a checkpoint stores so that live
streaming, calibration and pretraining filter, resample and re-reference the same way.

The steps themselves, and why they run in that order, are in :mod:`samba_core.preprocessing`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .resampling import validate_rate
from .units import parse_unit

__all__ = ["PreprocessConfig"]


@dataclass(frozen=True)
class PreprocessConfig:
    """Preprocessing settings; stored in model checkpoints via :meth:`to_dict`.

    Parameters
    ----------
    target_rate : float
        Output (model) sampling rate in Hz.
    bandpass : (float, float) or None
        Band-pass edges in Hz, ``0 < low < high``; ``high`` must lie below the Nyquist
        frequency of both the input and the target rate. None disables it.
    filter_order : int
        Butterworth order of each band-pass edge.
    notch : float or None
        Mains frequency in Hz (50 or 60) removed by a notch; None disables it. Only the
        fundamental is notched: harmonics lie above the band-pass.
    notch_q : float
        Quality factor of the notch (bandwidth = notch / notch_q).
    common_average : bool
        Re-reference every channel to the mean of the good channels.
    input_unit : str
        ``"V"``, ``"mV"``, ``"uV"``, ``"nV"`` or ``"auto"`` (see :func:`~samba_core.units.detect_unit`).
        An explicit unit given to :class:`OnlinePreprocessor` wins over this.
    anti_alias_db : float
        Attenuation (dB) of what the resampler would alias into the pass band.
    """

    target_rate: float = 256.0
    bandpass: tuple[float, float] | None = (0.5, 45.0)
    filter_order: int = 4
    notch: float | None = 50.0
    notch_q: float = 30.0
    common_average: bool = True
    input_unit: str = "auto"
    anti_alias_db: float = 60.0

    def __post_init__(self) -> None:
        validate_rate(self.target_rate, "target_rate")
        if self.bandpass is not None:
            band = tuple(float(f) for f in self.bandpass)
            if len(band) != 2 or not 0.0 < band[0] < band[1]:
                raise ValueError(
                    f"bandpass must be (low, high) in Hz with 0 < low < high, got "
                    f"{self.bandpass!r}; use None to disable the band-pass."
                )
            object.__setattr__(self, "bandpass", band)
        if int(self.filter_order) != self.filter_order or self.filter_order < 1:
            raise ValueError(f"filter_order must be an integer >= 1, got {self.filter_order!r}.")
        if self.notch is not None and not self.notch > 0:
            raise ValueError(f"notch must be the mains frequency in Hz (> 0) or None, got "
                             f"{self.notch!r}.")
        if not self.notch_q > 0:
            raise ValueError(f"notch_q must be > 0, got {self.notch_q!r}.")
        if not self.anti_alias_db > 20:
            raise ValueError(f"anti_alias_db must be > 20 dB, got {self.anti_alias_db!r}.")
        object.__setattr__(self, "filter_order", int(self.filter_order))
        object.__setattr__(self, "input_unit", parse_unit(self.input_unit, strict=True) or "auto")

    def to_dict(self) -> dict:
        """Plain JSON-compatible dict (``bandpass`` as a list)."""
        d = asdict(self)
        if self.bandpass is not None:
            d["bandpass"] = list(self.bandpass)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error, missing keys take defaults."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(
                f"unknown PreprocessConfig keys {sorted(unknown)}; known keys are "
                f"{sorted(known)}. The checkpoint may come from a newer SAMBA-Live version."
            )
        return cls(**d)
