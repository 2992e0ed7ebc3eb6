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

Each block runs either as those numpy calls (the reference fast path) or, when numba is
installed (a dependency; the default then), as one call of a compiled kernel,
:func:`samba_core.fused_kernels.mixer_block`, which computes the same function (its scan as
the token-by-token recurrence); both are checked against the torch step in the tests.

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
from .mamba2 import Mamba2Mixer, RMSNorm
from .model import MambaBlock, Samba
from .onnx_export import EncoderStep
from .spatial import SpatialEmbedding
from .token_rate import Downsample

#: SambaConfig fields whose every value this module implements. A new field is accepted
#: only while it keeps its default value, i.e. while it cannot change the step's math.
FUSED_CONFIG_FIELDS = frozenset({
    "sample_rate", "spatial_channels", "spatial_hidden", "fourier_features", "fourier_scale", "head_radius_m",
    "input_scale_uv", "dims", "encoder_depths", "decoder_depths", "factors", "d_state", "headdim", "expand",
    "d_conv", "differential", "chunk_size", "heads", "adaptation", "adaptation_tau_s", "adaptation_warmup_s",
})


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
        if getattr(config, f.name) != default:
            problems.append(f"config option {f.name}={getattr(config, f.name)!r}")
    if type(model) is not Samba:
        problems.append(f"model class {type(model).__name__}")
    if type(model.spatial) is not SpatialEmbedding:
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
            "the fused step does not implement " + "; ".join(problems)
            + ": use backend='onnx' (generic) or extend samba_core/fused_step.py"
        )


def _rms_scale(v: np.ndarray, eps: float) -> np.ndarray:
    """1 / sqrt(sum(v^2, last axis) + d eps), v: (..., d) -> (..., 1): the per-row scale of RMSNorm,
    1 / sqrt(mean(v^2) + eps), divided by sqrt(d); the callers' weights carry that sqrt(d)."""
    ss = np.add.reduce(v * v, axis=-1, keepdims=True)  # ufunc reduce: no Python-level mean()
    ss += v.shape[-1] * eps
    return np.reciprocal(np.sqrt(ss, out=ss), out=ss)


def _softplus(v: np.ndarray) -> np.ndarray:
    """log(1 + exp(v)) without overflow: max(log1p(exp(min(v, 80))), v), exact since softplus(v) >= v
    and float32 softplus(v) == v beyond 80."""
    sp = np.minimum(v, 80.0)
    np.exp(sp, out=sp)
    np.log1p(sp, out=sp)
    return np.maximum(sp, v, out=sp)


def _silu(z: np.ndarray) -> np.ndarray:
    """z * sigmoid(z) as z / (1 + exp(-z)): a few ufunc calls, several times faster than scipy's float32 expit.
    z is first raised to -80 (exp cannot overflow): below that the result is ~1e-33 instead of ~z exp(z), both ~0."""
    z = np.maximum(z, -80.0)
    e = np.negative(z)
    np.exp(e, out=e)
    e += 1.0
    return np.divide(z, e, out=e)


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().to(torch.float32).numpy())


class _FusedMixer:
    """One pre-norm Mamba2 block (``h + mixer(norm(h))``) over the L tokens of one decision."""

    def __init__(self, block: MambaBlock, length: int) -> None:
        m: Mamba2Mixer = block.mixer
        self.length, self.d_model = length, m.d_model
        self.di, self.cd, self.k = m.d_inner, m.conv_dim, m.d_conv
        self.g, self.nh, self.p, self.n = m.branches, m.nheads, m.headdim, m.d_state
        self.eps = block.norm.eps
        # RMSNorm weights (and the sqrt(d) of _rms_scale) folded into the next matmul.
        self.w_in = _np(block.norm.weight[:, None] * m.in_proj.weight.T * m.d_model**0.5)  # (d, di + cd + heads)
        self.conv_w = _np(m.conv.weight[:, 0, :].T)  # (k, conv_dim): tap j multiplies input t - (k - 1) + j
        self.conv_b = _np(m.conv.bias)
        self.dt_bias = _np(m.dt_bias)
        self.A = _np(-torch.exp(m.A_log)).reshape(m.branches, m.nheads, 1, 1)
        self.D = _np(m.D)[:, None, None]  # (nh, 1, 1)
        self.differential = m.differential
        if m.differential:
            self.lam = _np(m.lambdas())[:, None, None]
            self.head_eps = m.head_norm.eps
            self.head_w = _np((1.0 - m.lambda_init) * m.head_norm.weight * m.headdim**0.5)
            self.w_out = _np(m.out_proj.weight.T)  # (di, d)
        else:
            self.head_eps = m.norm.eps
            self.w_out = _np(m.norm.weight[:, None] * m.out_proj.weight.T * m.d_inner**0.5)
        # Operands of the compiled kernel (fused_kernels.mixer_block).
        self._kernel_args = (self.w_in, self.conv_w, self.conv_b, self.dt_bias, np.ascontiguousarray(self.A.reshape(self.g, self.nh)),
                             np.ascontiguousarray(self.D.reshape(self.nh)),
                             np.ascontiguousarray(self.lam.reshape(self.nh)) if m.differential else np.zeros(self.nh, np.float32),
                             self.head_w if m.differential else np.ones(self.p, np.float32), self.w_out,
                             float(self.eps), float(self.head_eps), bool(m.differential), self.di, self.cd, self.g, self.nh,
                             self.p, self.n)
        self.upper = np.triu(np.ones((length, length), np.float32))  # cumsum as a matmul: [s, t] = s <= t
        self.causal = np.where(self.upper.T > 0, 0.0, -np.inf).astype(np.float32)  # (t, s): 0 where s <= t

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(conv window (k-1, conv_dim) time-major, ssm (ssm_heads, headdim, d_state))."""
        return (np.zeros((self.k - 1, self.cd), np.float32), np.zeros((self.g * self.nh, self.p, self.n), np.float32))

    def compiled(self, h: np.ndarray, conv: np.ndarray, ssm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`__call__`, in one call of the compiled kernel (:func:`~samba_core.fused_kernels.mixer_block`)."""
        return fused_kernels.mixer_block(h, conv, ssm, *self._kernel_args)

    def __call__(self, h: np.ndarray, conv: np.ndarray, ssm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """h: (L, d) -> (h + mixer(norm(h)): (L, d), new conv window, new ssm state). The numpy reference."""
        L, di, cd, g, nh, p, n = self.length, self.di, self.cd, self.g, self.nh, self.p, self.n
        zxbcdt = (h @ self.w_in) * _rms_scale(h, self.eps)
        # Causal depthwise convolution: shifted multiply-adds over [carried window, new inputs],
        # written over the inputs' slot so that one SiLU call serves the gate z and the conv output.
        window = np.concatenate([conv, zxbcdt[:, di : di + cd]])  # (k - 1 + L, cd)
        acc = np.multiply(window[:L], self.conv_w[0], out=zxbcdt[:, di : di + cd])
        for j in range(1, self.k):
            acc += window[j : j + L] * self.conv_w[j]
        acc += self.conv_b
        act = _silu(zxbcdt[:, : di + cd])
        gate, xbc = act[:, :di], act[:, di:]
        x = xbc[:, :di].reshape(L, nh, p).transpose(1, 0, 2)  # (nh, L, p)
        B = xbc[:, di : di + g * n].reshape(L, g, n).transpose(1, 0, 2)  # (g, L, n)
        C = xbc[:, di + g * n :].reshape(L, g, n).transpose(1, 0, 2)
        dt = _softplus(zxbcdt[:, di + cd :] + self.dt_bias).T.reshape(g, nh, 1, L)
        state = ssm.reshape(g, nh, p, n)
        if L == 1:  # one token: the recurrence S' = exp(dt A) S + dt x B^T, y = S' C
            new_ssm = state * np.exp(dt * self.A) + (dt[..., 0] * x[:, 0]).reshape(g, nh, p, 1) * B.reshape(g, 1, 1, n)
            y = new_ssm @ C.reshape(g, 1, n, 1)  # (g, nh, p, 1) = (g, nh, L, p) for L = 1
            y = y.reshape(g, nh, 1, p)
        else:
            cum = (dt * self.A) @ self.upper  # (g, nh, 1, L): cumulative log-decay
            # decay[t, s] = exp(cum_t - cum_s) for s <= t, else exp(-inf) = 0.
            decay = cum.transpose(0, 1, 3, 2) - cum
            decay += self.causal
            weight = np.exp(decay, out=decay)
            weight *= dt  # (g, nh, L, L): contribution of input s to output t
            y = (weight * (C @ B.transpose(0, 2, 1))[:, None]) @ x  # within the decision
            decay_in = np.exp(cum)  # (g, nh, 1, L): decay of the carried state up to each token
            y += (C[:, None] @ state.transpose(0, 1, 3, 2)) * decay_in.transpose(0, 1, 3, 2)  # carried state
            new_ssm = state * decay_in[..., -1:, -1:]
            new_ssm += (x * weight[:, :, -1, :, None]).transpose(0, 1, 3, 2) @ B[:, None]
        if self.differential:
            y = y[0] - self.lam * y[1]  # (nh, L, p)
            y *= self.head_w * _rms_scale(y, self.head_eps)
            y += self.D * x
            out = (y.transpose(1, 0, 2).reshape(L, di) * gate) @ self.w_out
        else:
            y = ((y[0] + self.D * x).transpose(1, 0, 2).reshape(L, di)) * gate
            out = (y @ self.w_out) * _rms_scale(y, self.head_eps)
        out += h
        return out, window[L:], new_ssm.reshape(g * nh, p, n)


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
            self.stem_w = _np(model.stem.weight.T)  # (K, d0)
            self.stem_b = _np(model.stem.bias)
            lengths = [c.hop // int(np.prod(c.factors[:i])) for i in range(len(c.dims))]
            self.stages = [[_FusedMixer(b, lengths[i]) for b in stage] for i, stage in enumerate(model.encoder)]
            self.down = [(d.factor, _np(d.proj.weight.T), _np(d.proj.bias)) for d in model.downsample]
            norms = [model.heads[k][0] for k in self.head_names]
            self.head_eps = norms[0].eps
            if any(nm.eps != self.head_eps for nm in norms):
                raise UnsupportedModelError("heads with different RMSNorm eps: use backend='onnx'")
            self.head_w = np.concatenate([_np(nm.weight[:, None] * model.heads[k][1].weight.T * c.dims[-1] ** 0.5)
                                          for nm, k in zip(norms, self.head_names)], axis=1)
            self.head_b = np.concatenate([_np(model.heads[k][1].bias) for k in self.head_names])
        sizes = [len(c.head_classes[k]) for k in self.head_names]
        self.head_slices = dict(zip(self.head_names, np.split(np.arange(sum(sizes)), np.cumsum(sizes)[:-1])))

    def input_weights(self, spatial_weights: np.ndarray) -> np.ndarray:
        """CDSE weights (channels, K) -> the fused input projection (channels, d0), microvolts in."""
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
        h, new_states = self.encode(x, input_weights, states)
        return (h @ self.head_w) * _rms_scale(h, self.head_eps) + self.head_b, new_states

    def encode(self, x: np.ndarray, input_weights: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """As :meth:`step`, but returns the bottleneck token's features (d_last,) instead of the logits."""
        adapted: list[np.ndarray] = []
        if self.adaptation is not None:
            x, *adapted = recentre_step_np(x, *states[-3:], self.adaptation)
        h = x.T @ input_weights + self.stem_b  # (hop, d0)
        new_states: list[np.ndarray] = []
        it = iter(states)
        for i, stage in enumerate(self.stages):
            for mixer in stage:
                h, conv, ssm = (mixer.compiled if self.compiled else mixer)(h, next(it), next(it))
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
        self.states: list[np.ndarray] | None = None  # zeros at the first step, sized by its channels

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
        if self.states is None:
            self.states = self.fused.initial_states(x.shape[0])
        logits, self.states = self.fused.step(x, self._input_weights, self.states)
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
