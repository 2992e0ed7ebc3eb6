"""The fused decoding step: one bottleneck token of the encoder in a few large numpy operations.

It computes exactly what :class:`~samba_core.onnx_export.EncoderStep` (the torch reference)
computes, with the work regrouped into about 60 numpy calls per Mamba block (~250 per decision
at the default size), no shape arithmetic at run time, and each call cheaper to dispatch than
an onnxruntime node (the exported step has 960 nodes, 262 after onnxruntime's optimisation):

* CDSE and the stem are one matmul: ``W = spatial_weights @ stem.weight.T / input_scale``
  is precomputed for the montage (again whenever the channel mask changes);
* every RMSNorm weight is folded into the matmul that follows it, and the per-token
  ``rsqrt`` scale is applied after that matmul (``(h r) W == r (h W)``);
* one SiLU call serves both the gate ``z`` and the convolution output;
* the causal depthwise convolution is ``d_conv`` shifted multiply-adds over the carried
  window of the last ``d_conv - 1`` inputs (kept time-major, as the step produces them);
* the SSD scan over the tokens of one stage and decision is the chunked form of Mamba2
  (Dao & Gu 2024, "ssd_minimal"): one (L, L) decay matrix per head, ``C B^T`` per group,
  one batched matmul for the tokens, one for the carried state and one for the new state;
* the heads share one matmul (their RMSNorm weights folded in) and one bias;
* input adaptation (``config.adaptation="recentre"``) runs first, on the block of ``hop``
  samples, through :func:`~samba_core.adaptation.recentre_step_np`; its three state tensors
  follow the blocks' states.

Each block runs as those numpy calls (the reference fast path, :mod:`samba_core.fused_mixer`)
or, when numba is installed (a dependency; the default then), the whole decision runs as one
compiled call, :func:`samba_core.fused_kernels.encoder_step`, each block computed by
:func:`~samba_core.fused_kernels.mixer_block` (the same function, its scan as the token-by-token
recurrence); :class:`FusedStepRunner` keeps the states packed between calls
(:meth:`FusedStep.step_packed`). Both paths are checked against the torch step in the tests.

Every state is an explicit input and output (:meth:`FusedStep.step`);
:class:`FusedStepRunner` carries them between calls with the interface of
:class:`~samba_core.onnx_export.OnnxStepRunner`. Models this module does not know how to
fuse are refused by :func:`check_supported` with :class:`UnsupportedModelError`; the
streaming session then falls back to the generic ONNX step.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from . import fused_kernels
from .adaptation import RecentreConstants, recentre_step_np
from .config import OUR_OPTIONS
from .fused_mixer import FusedMixer, float32_array, rms_scale_np
from .mamba2 import Mamba2Mixer, RMSNorm
from .model import MambaBlock, Samba
from .onnx_export import EncoderStep
from .saie import VirtualSiteEmbedding
from .spatial import SpatialEmbedding
from .token_rate import Downsample

#: SambaConfig fields whose every value this module implements. A new field is accepted
#: only while it keeps its default value, i.e. while it cannot change the step's math.
FUSED_CONFIG_FIELDS = frozenset({
    "sample_rate", "spatial_channels", "spatial_hidden", "fourier_features", "fourier_scale", "head_radius_m",
    "input_scale_uv", "dims", "encoder_depths", "decoder_depths", "factors", "d_state", "headdim", "expand",
    "d_conv", "differential", "chunk_size", "heads", "adaptation", "adaptation_tau_s", "adaptation_warmup_s",
    "decoder_direction",  # the step never runs the (pretraining) decoder
    "spatial", "virtual_sites", "saie_hidden",  # CDSE or SAIE: either gives (channels, K) weights, read the same way
})
#: The one value this module implements of every other field that changes the step's math (ours;
#: the paper's differential form and placement run through the ONNX step).
FUSED_ONLY_VALUES = {k: v for k, v in OUR_OPTIONS.items() if k not in FUSED_CONFIG_FIELDS}


class UnsupportedModelError(ValueError):
    """The model uses a module or option the fused step does not implement; use the ONNX step."""


def check_supported(model: Samba) -> None:
    """Raise :class:`UnsupportedModelError` naming the first part of ``model`` the fused step cannot run."""
    problems = []
    config = model.config
    for f in dataclasses.fields(config):
        if f.name in FUSED_CONFIG_FIELDS:
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default  # type: ignore[misc]
        if getattr(config, f.name) != FUSED_ONLY_VALUES.get(f.name, default):
            problems.append(f"config option {f.name}={getattr(config, f.name)!r}")
    if type(model) is not Samba:
        problems.append(f"model class {type(model).__name__}")
    if type(model.spatial) not in (SpatialEmbedding, VirtualSiteEmbedding):
        problems.append(f"spatial embedding {type(model.spatial).__name__}")
    for stage in model.encoder:
        for block in stage:
            if type(block) is not MambaBlock or type(block.mixer) is not Mamba2Mixer or type(block.norm) is not RMSNorm:
                problems.append(f"encoder block {type(block).__name__}/{type(getattr(block, 'mixer', None)).__name__}")
    for down in model.downsample:
        if type(down) is not Downsample:
            problems.append(f"downsampling {type(down).__name__}")
    for name, head in model.heads.items():
        if len(head) != 2 or type(head[0]) is not RMSNorm or type(head[1]) is not torch.nn.Linear:
            problems.append(f"head {name!r} layout")
    if problems:
        raise UnsupportedModelError(
            "the fused step does not implement " + "; ".join(dict.fromkeys(problems))  # each once
            + ": use backend='onnx' (samba-live --backend onnx; generic) or extend samba_core/fused_step.py"
        )


class FusedStep:
    """Stateless fused encoder step of ``model`` (eval mode); the weights are copied (folded) here,
    so later changes to ``model`` need a new ``FusedStep``, as they need a new ONNX export.

    Parameters
    ----------
    model : Samba; refused with :class:`UnsupportedModelError` if it uses a module this step lacks.
    compiled : bool, optional
        Run each block as one compiled kernel (:mod:`samba_core.fused_kernels`, numba) instead of
        numpy calls; default: when numba is installed.

    Raises
    ------
    UnsupportedModelError
    RuntimeError
        ``compiled=True`` without numba.
    """

    def __init__(self, model: Samba, compiled: bool | None = None) -> None:
        check_supported(model)
        if compiled and not fused_kernels.available():
            raise RuntimeError("compiled fused step asked for, but numba is not installed: pip install numba")
        self.compiled = fused_kernels.available() if compiled is None else bool(compiled)
        c = model.config
        self.hop = c.hop
        self.head_names = list(model.heads.keys())
        self.input_scale = c.input_scale_uv
        self.adaptation = RecentreConstants.from_config(c) if model.adaptation is not None else None
        with torch.no_grad():
            self.stem_w = float32_array(model.stem.weight.T)  # (K, d0)
            self.stem_b = float32_array(model.stem.bias)
            lengths = [c.hop // int(np.prod(c.factors[:i])) for i in range(len(c.dims))]
            self.stages = [[FusedMixer(b, lengths[i]) for b in stage] for i, stage in enumerate(model.encoder)]
            self.down = [(d.factor, float32_array(d.proj.weight.T), float32_array(d.proj.bias)) for d in model.downsample]
            norms = [model.heads[k][0] for k in self.head_names]
            self.head_eps = norms[0].eps
            if any(nm.eps != self.head_eps for nm in norms):
                raise UnsupportedModelError("heads with different RMSNorm eps: use backend='onnx'")
            self.head_w = np.concatenate([float32_array(nm.weight[:, None] * model.heads[k][1].weight.T * c.dims[-1] ** 0.5)
                                          for nm, k in zip(norms, self.head_names)], axis=1)
            self.head_b = np.concatenate([float32_array(model.heads[k][1].bias) for k in self.head_names])
        sizes = [len(c.head_classes[k]) for k in self.head_names]
        self.head_slices = dict(zip(self.head_names, np.split(np.arange(sum(sizes)), np.cumsum(sizes)[:-1])))
        self._n_mixer_states = 2 * sum(len(stage) for stage in self.stages)
        self._kernel_operands = self._pack_operands() if self.compiled else None

    def _pack_operands(self) -> tuple:
        """The operands of :func:`~samba_core.fused_kernels.encoder_step` (typed lists, built once)."""
        from numba import types
        from numba.typed import List

        mats, vecs = List.empty_list(types.float32[:, ::1]), List.empty_list(types.float32[::1])
        ints, floats = [], []
        for mixer in (m for stage in self.stages for m in stage):
            for m in mixer.kernel_mats:
                mats.append(np.ascontiguousarray(m, np.float32))
            for v in mixer.kernel_vecs:
                vecs.append(np.ascontiguousarray(v, np.float32))
            ints.append(mixer.kernel_ints)
            floats.append(mixer.kernel_floats)
        down_w, down_b = List.empty_list(types.float32[:, ::1]), List.empty_list(types.float32[::1])
        for _, w, b in self.down:
            down_w.append(np.ascontiguousarray(w))
            down_b.append(np.ascontiguousarray(b))
        return (np.array([len(stage) for stage in self.stages], np.int64), mats, vecs, np.array(ints, np.int64),
                np.array(floats, np.float64)), (down_w, down_b, np.array([f for f, _, _ in self.down], np.int64))

    def pack_states(self, states: list[np.ndarray]):
        """States (as :meth:`initial_states` gives them) in the form :meth:`step_packed` takes."""
        if not self.compiled:
            return list(states)
        from numba import types
        from numba.typed import List

        n = self._n_mixer_states
        convs, ssms = List.empty_list(types.float32[:, ::1]), List.empty_list(types.float32[:, :, ::1])
        for i in range(0, n, 2):
            convs.append(np.ascontiguousarray(states[i], np.float32))
            ssms.append(np.ascontiguousarray(states[i + 1], np.float32))
        return convs, ssms, list(states[n:])

    def unpack_states(self, packed) -> list[np.ndarray]:
        """The inverse of :meth:`pack_states`."""
        if not self.compiled:
            return list(packed)
        convs, ssms, adapted = packed
        return [t for pair in zip(convs, ssms) for t in pair] + list(adapted)

    def step_packed(self, x: np.ndarray, input_weights: np.ndarray, packed):
        """As :meth:`step` on packed states (:meth:`pack_states`): one compiled call for the whole
        encoder and the heads when ``compiled``. Returns (logits, new packed states)."""
        if not self.compiled:
            logits, states = self.step(x, input_weights, packed)
            return logits, states
        convs, ssms, adapted = packed
        if self.adaptation is not None:
            x, *adapted = recentre_step_np(x, *adapted, self.adaptation)
        head, tail = self._kernel_operands
        logits, convs, ssms = fused_kernels.encoder_step(
            np.ascontiguousarray(x, np.float32), input_weights, self.stem_b, *head, convs, ssms, *tail,
            self.head_w, self.head_b, float(self.head_eps))
        return logits, (convs, ssms, adapted)

    def input_weights(self, spatial_weights: np.ndarray) -> np.ndarray:
        """Spatial weights (channels, K; CDSE patterns or SAIE sites) -> the fused input projection (channels, d0),
        microvolts in."""
        return np.ascontiguousarray((np.asarray(spatial_weights, np.float32) @ self.stem_w) / self.input_scale)

    def initial_states(self, n_channels: int = 8) -> list[np.ndarray]:
        """Zero states, two per encoder block: conv window (k-1, conv_dim), ssm (heads, headdim, d_state);
        then, with adaptation, weight (1, 1), mean and power (1, n_channels)."""
        states = [t for stage in self.stages for mixer in stage for t in mixer.initial_state()]
        if self.adaptation is not None:
            states += [np.zeros((1, 1), np.float32), *np.zeros((2, 1, n_channels), np.float32)]
        return states

    def step(self, x: np.ndarray, input_weights: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Advance one token.

        x: (channels, hop) microvolts, finite; input_weights: from :meth:`input_weights`;
        states: as :meth:`initial_states`. Returns (logits of all heads concatenated, new states).
        """
        if self.compiled:
            logits, packed = self.step_packed(x, input_weights, self.pack_states(states))
            return logits, self.unpack_states(packed)
        h, new_states = self.encode(x, input_weights, states)
        return (h @ self.head_w) * rms_scale_np(h, self.head_eps) + self.head_b, new_states

    def encode(self, x: np.ndarray, input_weights: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """As :meth:`step` (numpy path), but returns the bottleneck token's features (d_last,) instead of the logits."""
        adapted: list[np.ndarray] = []
        if self.adaptation is not None:
            x, *adapted = recentre_step_np(x, *states[-3:], self.adaptation)
        h = x.T @ input_weights + self.stem_b  # (hop, d0)
        new_states: list[np.ndarray] = []
        it = iter(states)
        for i, stage in enumerate(self.stages):
            for mixer in stage:
                h, conv, ssm = mixer(h, next(it), next(it))
                new_states += (conv, ssm)
            if i < len(self.down):
                factor, w, b = self.down[i]
                h = h.reshape(h.shape[0] // factor, factor * h.shape[1]) @ w + b
        return h[0], new_states + adapted

    def torch_layout(self, states: list[np.ndarray]) -> list[np.ndarray]:
        """States in the layout of the torch/ONNX step: conv (1, conv_dim, k-1), ssm (1, heads, headdim, d_state);
        the adaptation's have it already."""
        n = 2 * sum(len(stage) for stage in self.stages)
        return [s.T[None] if i % 2 == 0 else s[None] for i, s in enumerate(states[:n])] + list(states[n:])


class FusedStepRunner:
    """Runs :class:`FusedStep`, carrying the states between calls (interface of ``OnnxStepRunner``)."""

    def __init__(self, model: Samba, compiled: bool | None = None) -> None:
        self.fused = FusedStep(model, compiled)
        self.head_names = self.fused.head_names
        self._input_weights: np.ndarray | None = None
        self.reset()

    def reset(self) -> None:
        self._packed = None  # zeros at the first step, sized by its channels

    @property
    def states(self) -> list[np.ndarray] | None:
        """The carried states (as :meth:`FusedStep.initial_states` lays them out), None before the first step."""
        return None if self._packed is None else self.fused.unpack_states(self._packed)

    def set_spatial_weights(self, spatial_weights: np.ndarray) -> None:
        """Precompute the input projection for new CDSE weights (channels, K); states are kept."""
        self._input_weights = self.fused.input_weights(spatial_weights)

    def step(self, x: np.ndarray, spatial_weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """x: (channels, hop) microvolts (NaN/inf read as 0) -> head -> logits (classes,).

        spatial_weights: (channels, K); default: the last ones set (passing them re-folds the projection).
        """
        if spatial_weights is not None:
            self.set_spatial_weights(spatial_weights)
        if self._input_weights is None:
            raise RuntimeError("call set_spatial_weights(weights) before the first step")
        x = np.asarray(x, dtype=np.float32)
        if not math.isfinite(np.add.reduce(x, axis=None)):  # any NaN/inf makes the sum non-finite
            x = np.where(np.isfinite(x), x, np.float32(0.0))
        if self._packed is None:
            self._packed = self.fused.pack_states(self.fused.initial_states(x.shape[0]))
        logits, self._packed = self.fused.step_packed(x, self._input_weights, self._packed)
        return {name: logits[sl] for name, sl in self.fused.head_slices.items()}


def reference_mismatch(model: Samba, runner: FusedStepRunner, spatial_weights: np.ndarray, steps: int = 3) -> float:
    """Largest |fused - torch step| over all logits and states after ``steps`` random EEG-scale tokens.

    The torch reference is :class:`~samba_core.onnx_export.EncoderStep`; ``runner``'s own states
    are not touched. spatial_weights: (channels, K).
    """
    fused, reference = runner.fused, EncoderStep(model.eval())
    w = np.asarray(spatial_weights, np.float32)
    input_weights = fused.input_weights(w)
    states, ref_states = fused.initial_states(w.shape[0]), reference.initial_states(w.shape[0])
    rng = np.random.default_rng(0)
    error = 0.0
    for _ in range(steps):
        x = (rng.standard_normal((w.shape[0], fused.hop)) * 20.0).astype(np.float32)
        logits, states = fused.step(x, input_weights, states)
        with torch.no_grad():
            out = reference(torch.from_numpy(x)[None], torch.from_numpy(w), *ref_states)
        n = len(fused.head_names)
        ref_states = list(out[n:])
        ref = [np.concatenate([o[0].numpy() for o in out[:n]]), *(t.numpy() for t in ref_states)]
        for a, b in zip([logits, *fused.torch_layout(states)], ref):
            error = max(error, float(np.abs(a - b).max()))
    return error
