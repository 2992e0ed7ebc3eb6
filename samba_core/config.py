"""Model configuration: one frozen dataclass that fully describes a SAMBA network.

The configuration is stored inside every checkpoint, so a checkpoint can rebuild
its network without any code-side defaults leaking in.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: Spatial front ends: our coordinate-driven CDSE, or the paper's SAIE onto virtual standard sites.
SPATIAL_KINDS = ("cdse", "virtual-sites")
#: Places a differential mixer can sit: encoder stages above the bottleneck, the bottleneck, the decoder.
DIFFERENTIAL_STAGES = ("encoder", "bottleneck", "decoder")
#: "diff-transformer": one mixer, two SSM branches, lambda re-parameterised as in Differential
#: Transformer (ours); "paper": each head a pair of independent Mamba2 layers, lambda per channel.
DIFFERENTIAL_FORMS = ("diff-transformer", "paper")
#: "causal": the decoder streams like the encoder; "bidirectional": a pretraining-only decoder
#: that in-fills hidden spans from both sides (never streamed, never used for decisions).
DECODER_DIRECTIONS = ("causal", "bidirectional")
#: Unsupervised online adaptation of the input (:mod:`samba_core.adaptation`): "none", or "recentre":
#: causal per-electrode re-centring and re-scaling by the running moments of the newest minutes.
ADAPTATIONS = ("none", "recentre")

#: The fidelity options (samba_core/FIDELITY.md) at our values: what every checkpoint written before
#: the options existed used, so a stored configuration that lacks one of them loads with these.
OUR_OPTIONS: dict[str, Any] = {"spatial": "cdse", "differential_stages": DIFFERENTIAL_STAGES,
                               "differential_form": "diff-transformer", "decoder_direction": "causal"}
#: The same options at the paper's values (SAIE, the paper's differential form at the bottleneck only,
#: the pretraining-only bidirectional decoder).
PAPER_OPTIONS: dict[str, Any] = {"spatial": "virtual-sites", "differential_stages": ("bottleneck",),
                                 "differential_form": "paper", "decoder_direction": "bidirectional"}

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
    spatial : str
        Spatial front end. ``"cdse"``: our coordinate-driven variant (positions -> K signed,
        L1-normalised latent patterns). ``"virtual-sites"``: the paper's SAIE (spatial-adaptive
        input embedding, arXiv 2511.18571): softmax interpolation onto the standard sites of
        ``virtual_sites``; see :mod:`samba_core.saie`.
    spatial_channels : int
        K, the number of latent spatial channels that CDSE projects any montage onto (CDSE only;
        SAIE's width is the number of virtual sites).
    spatial_hidden : int
        Width of the coordinate MLP inside CDSE.
    fourier_features : int
        Number of random Fourier frequencies used to encode 3D electrode positions.
    fourier_scale : float
        Standard deviation of those frequencies, in cycles per head radius.
    head_radius_m : float
        Coordinates (metres, head frame) are divided by this before encoding.
    virtual_sites : str
        MNE built-in montage whose positions (head frame, as :mod:`montages` places them) are
        SAIE's fixed target sites. ``"standard_1020"``: the 94 sites of the paper's code.
    saie_hidden : int
        Width of SAIE's offset MLP (3 -> hidden -> ReLU -> 1).
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
        Use the multi-head differential Mamba mixer (two SSM branches subtracted) at all.
    differential_stages : tuple[str, ...]
        Where the differential mixer sits, among ``"encoder"`` (stages above the bottleneck),
        ``"bottleneck"`` (the coarsest encoder stage) and ``"decoder"``. The paper: bottleneck only.
    differential_form : str
        ``"diff-transformer"`` (ours, :class:`~samba_core.mamba2.Mamba2Mixer`) or ``"paper"``
        (:class:`~samba_core.differential.PairedDifferentialMamba`).
    decoder_direction : str
        ``"causal"`` or ``"bidirectional"`` (pretraining only; the encoder and heads stay causal).
    chunk_size : int
        Chunk length of the SSD parallel scan.
    heads : tuple
        Classification heads on the bottleneck: ``((name, (class, ...)), ...)``.
    adaptation : str
        ``"none"`` or ``"recentre"``: unsupervised, causal re-centring of each electrode by the
        running mean and variance of the user's own EEG (:mod:`samba_core.adaptation`), carried in
        the stream state. Checkpoints written before this option load with ``"none"``. Off by
        default: on frozen fold bases it did not raise leave-one-subject-out zero-calibration MI
        accuracy (``bench/adaptation_effect.py``).
    adaptation_tau_s : float
        Time constant of the exponential forgetting of ``"recentre"``, in seconds (120 s: the
        statistics follow the newest ~2 minutes; a sample's weight falls by e every 120 s).
    adaptation_warmup_s : float
        Warm-up of ``"recentre"``: the input passes unchanged until this much signal (seconds) was seen.
    """

    sample_rate: float = 256.0
    spatial: str = "cdse"
    spatial_channels: int = 32
    spatial_hidden: int = 64
    fourier_features: int = 16
    fourier_scale: float = 1.0
    head_radius_m: float = 0.095
    virtual_sites: str = "standard_1020"
    saie_hidden: int = 32
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
    differential_stages: tuple[str, ...] = DIFFERENTIAL_STAGES
    differential_form: str = "diff-transformer"
    decoder_direction: str = "causal"
    chunk_size: int = 64
    heads: tuple[tuple[str, tuple[str, ...]], ...] = field(default=DEFAULT_HEADS)
    adaptation: str = "none"
    adaptation_tau_s: float = 120.0
    adaptation_warmup_s: float = 10.0

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
        for value, allowed, what in (
            (self.spatial, SPATIAL_KINDS, "spatial"), (self.differential_form, DIFFERENTIAL_FORMS, "differential_form"),
            (self.decoder_direction, DECODER_DIRECTIONS, "decoder_direction"), (self.adaptation, ADAPTATIONS, "adaptation"),
        ):
            if value not in allowed:
                raise ValueError(f"SambaConfig.{what} must be one of {allowed}, got {value!r}")
        if not (self.adaptation_tau_s > 0 and self.adaptation_warmup_s >= 0):
            raise ValueError(f"adaptation_tau_s must be > 0 and adaptation_warmup_s >= 0 seconds, got "
                             f"{self.adaptation_tau_s} and {self.adaptation_warmup_s}")
        object.__setattr__(self, "differential_stages", tuple(self.differential_stages))  # a list from JSON too
        wrong = [s for s in self.differential_stages if s not in DIFFERENTIAL_STAGES]
        if wrong:
            raise ValueError(f"differential_stages {wrong} unknown; choose from {DIFFERENTIAL_STAGES}")
        if self.differential and self.differential_form == "paper":
            for i, d in enumerate(self.dims):
                if self.is_differential(i, decoder=False) or (i < n - 1 and self.is_differential(i, decoder=True)):
                    if d % self.headdim:
                        raise ValueError(f"the paper's differential form splits dim {d} into heads of "
                                         f"headdim {self.headdim}: make it a multiple")
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

    def is_differential(self, stage: int, decoder: bool) -> bool:
        """Whether the Mamba blocks of encoder (or decoder) stage ``stage`` (finest = 0) are differential."""
        if not self.differential:
            return False
        if decoder:
            where = "decoder"
        else:
            where = "bottleneck" if stage == len(self.dims) - 1 else "encoder"
        return where in self.differential_stages

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
        kw = {**{k: v for k, v in OUR_OPTIONS.items() if k not in d}, **d}  # older files: our options
        for key in ("dims", "encoder_depths", "decoder_depths", "factors"):
            if key in kw:
                kw[key] = tuple(int(v) for v in kw[key])
        if "heads" in kw:
            kw["heads"] = tuple((str(n), tuple(str(c) for c in cls_)) for n, cls_ in kw["heads"])
        return cls(**kw)
