"""Model configuration: one frozen dataclass that fully describes a SAMBA network.

The configuration is stored inside every checkpoint, so a checkpoint can rebuild
its network without any code-side defaults leaking in.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: Default decoding heads: name -> class names, in output order.
DEFAULT_HEADS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mi", ("left", "right")),
    ("distraction", ("attentive", "distracted")),
)


@dataclass(frozen=True)
class SambaConfig:
    """Hyper-parameters of the SAMBA encoder-decoder.

    Parameters
    ----------
    sample_rate : float
        Input rate of the network in Hz (the preprocessing resamples to it).
    spatial_channels : int
        K, the number of latent spatial channels that CDSE projects any montage onto.
    spatial_hidden : int
        Width of the coordinate MLP inside CDSE.
    fourier_features : int
        Number of random Fourier frequencies used to encode 3D electrode positions.
    fourier_scale : float
        Standard deviation of those frequencies, in cycles per head radius.
    head_radius_m : float
        Coordinates (metres, head frame) are divided by this before encoding.
    input_scale_uv : float
        Inputs (microvolts) are divided by this so that typical EEG is O(1).
    dims : tuple[int, ...]
        Feature width of each U-Net stage, finest first.
    encoder_depths, decoder_depths : tuple[int, ...]
        Mamba blocks per encoder stage (len(dims)) and per decoder stage (len(dims) - 1).
    factors : tuple[int, ...]
        Causal downsampling factor between consecutive stages (len(dims) - 1).
    d_state, headdim, expand, d_conv : int
        Mamba2 mixer sizes: SSM state per head, channels per head, inner expansion, conv kernel.
    differential : bool
        Use the multi-head differential Mamba mixer (two SSM branches subtracted).
    chunk_size : int
        Chunk length of the SSD parallel scan.
    heads : tuple
        Classification heads on the bottleneck: ``((name, (class, ...)), ...)``.
    """

    sample_rate: float = 256.0
    spatial_channels: int = 32
    spatial_hidden: int = 64
    fourier_features: int = 16
    fourier_scale: float = 1.0
    head_radius_m: float = 0.095
    input_scale_uv: float = 20.0
    dims: tuple[int, ...] = (48, 64, 96)
    encoder_depths: tuple[int, ...] = (1, 1, 2)
    decoder_depths: tuple[int, ...] = (1, 1)
    factors: tuple[int, ...] = (4, 4)
    d_state: int = 16
    headdim: int = 16
    expand: int = 2
    d_conv: int = 4
    differential: bool = True
    chunk_size: int = 64
    heads: tuple[tuple[str, tuple[str, ...]], ...] = field(default=DEFAULT_HEADS)

    def __post_init__(self) -> None:
        n = len(self.dims)
        if n < 1:
            raise ValueError("SambaConfig.dims needs at least one stage")
        if len(self.encoder_depths) != n:
            raise ValueError(f"encoder_depths has {len(self.encoder_depths)} entries; dims has {n}")
        if len(self.decoder_depths) != n - 1 or len(self.factors) != n - 1:
            raise ValueError(
                f"decoder_depths and factors need len(dims) - 1 = {n - 1} entries, got "
                f"{len(self.decoder_depths)} and {len(self.factors)}"
            )
        if any(f < 1 for f in self.factors):
            raise ValueError(f"downsampling factors must be >= 1, got {self.factors}")
        for d in self.dims:
            if (d * self.expand) % self.headdim:
                raise ValueError(f"dim {d} x expand {self.expand} is not a multiple of headdim {self.headdim}")
        names = [name for name, _ in self.heads]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate head names in {names}")
        for name, classes in self.heads:
            if len(classes) < 2:
                raise ValueError(f"head {name!r} needs at least two classes, got {classes}")

    @property
    def hop(self) -> int:
        """Input samples per bottleneck token: one decision every ``hop`` samples."""
        return math.prod(self.factors)

    @property
    def head_classes(self) -> dict[str, tuple[str, ...]]:
        return {name: tuple(classes) for name, classes in self.heads}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["heads"] = [[name, list(classes)] for name, classes in self.heads]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SambaConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(
                f"unknown SambaConfig fields {sorted(unknown)}: the checkpoint was written by a newer "
                "samba-live; upgrade the package"
            )
        kw = dict(d)
        for key in ("dims", "encoder_depths", "decoder_depths", "factors"):
            if key in kw:
                kw[key] = tuple(int(v) for v in kw[key])
        if "heads" in kw:
            kw["heads"] = tuple((str(n), tuple(str(c) for c in cls_)) for n, cls_ in kw["heads"])
        return cls(**kw)
