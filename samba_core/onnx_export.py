"""ONNX export of the decoding step, and an onnxruntime runner for it.

The exported graph advances the encoder by exactly one bottleneck token: it takes
``hop`` new input samples and every recurrent state tensor as explicit inputs, and
returns the head logits for that token and the new states as outputs. Because each
call starts on a token boundary, the downsampling buffers are always empty between
calls and need not be carried. The spatial weights are an input too, so a channel
dropping out at run time needs no re-export. The channel count is fixed at export
time unless a dynamic axis is asked for.

Graph inputs: ``x`` (1, channels, hop) microvolts, ``spatial_weights`` (channels, K),
then ``conv_{i}`` / ``ssm_{i}`` for each encoder block i, then, for a model with input
adaptation (:mod:`samba_core.adaptation`), ``adapt_weight`` (1, 1), ``adapt_mean`` and
``adapt_power`` (1, channels). Outputs: ``logits_{head}`` (1, classes) for each head, then
``<state>_out`` for each state input, in the same order.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from .mamba2 import MixerState
from .model import Samba, StreamState

#: Names of the adaptation's state tensors in the step graph (models with ``config.adaptation``).
ADAPTATION_STATES = ("adapt_weight", "adapt_mean", "adapt_power")


class EncoderStep(nn.Module):
    """One bottleneck token of the encoder, states flattened into tensors for export."""

    def __init__(self, model: Samba) -> None:
        super().__init__()
        self.model = model
        self.head_names = list(model.heads.keys())
        self.block_counts = [len(stage) for stage in model.encoder]

    def state_names(self) -> list[str]:
        n = sum(self.block_counts)
        names = [f"{kind}_{i}" for i in range(n) for kind in ("conv", "ssm")]
        return names + (list(ADAPTATION_STATES) if self.model.adaptation is not None else [])

    def initial_states(self, n_channels: int = 8) -> list[Tensor]:
        """Zero states in ``state_names`` order; ``n_channels`` sizes the adaptation's."""
        state = self.model.init_state(1, decoder=False)
        flat = [t for stage in state.encoder for s in stage for t in (s.conv, s.ssm)]
        if self.model.adaptation is not None:
            a = self.model.adaptation.init_state(1, n_channels)
            flat += [a.weight, a.mean, a.power]
        return flat

    def forward(self, x: Tensor, spatial_weights: Tensor, *flat_states: Tensor) -> tuple[Tensor, ...]:
        it = iter(flat_states)
        encoder = [[MixerState(next(it), next(it)) for _ in range(n)] for n in self.block_counts]
        state = StreamState(encoder, [None] * len(self.model.downsample), None, None)  # type: ignore[list-item]
        adapted: tuple[Tensor, ...] = ()
        if self.model.adaptation is not None:  # x is one whole block: no unfinished samples to carry
            x, *adapted = self.model.adaptation.step(x, *it)
        h = self.model.embed(x, spatial_weights, finite=True)  # OnnxStepRunner cleans its input
        h, _, state = self.model.encode(h, state)
        logits = [self.model.heads[name](h)[:, -1] for name in self.head_names]
        flat = [t for stage in state.encoder for s in stage for t in (s.conv, s.ssm)]
        return (*logits, *flat, *adapted)


def export_step_onnx(
    model: Samba, path: str | os.PathLike, n_channels: int = 8, opset: int = 17, dynamic_channels: bool = False
) -> Path:
    """Export ``model``'s decoding step to ``path`` (ONNX); returns the path.

    With ``dynamic_channels`` the graph accepts any channel count; without it the graph is
    fixed to ``n_channels``, which lets onnxruntime fold every shape computation away
    (fewer nodes per token, lower latency). A streaming session knows its channel count
    and exports a fixed graph.
    """
    path = Path(path)
    step = EncoderStep(model.eval()).eval()
    hop = model.config.hop
    x = torch.randn(1, n_channels, hop)
    w = torch.randn(n_channels, model.spatial.width) * 0.1
    states = step.initial_states(n_channels)
    state_names = step.state_names()
    inputs = ["x", "spatial_weights", *state_names]
    outputs = [f"logits_{h}" for h in step.head_names] + [f"{n}_out" for n in state_names]
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python ints taken from shapes: hop is fixed
        torch.onnx.export(
            step, (x, w, *states), str(path), input_names=inputs, output_names=outputs, opset_version=opset,
            dynamic_axes=({"x": {1: "channels"}, "spatial_weights": {0: "channels"},
                           **{n: {1: "channels"} for n in state_names if n in ADAPTATION_STATES[1:]}}
                          if dynamic_channels else None),
            dynamo=False,
        )
    return path


class OnnxStepRunner:
    """Runs an exported step with onnxruntime, carrying the states between calls."""

    def __init__(self, path: str | os.PathLike, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One thread: a single token is far too little work to amortise thread hand-offs.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.state_names = self.input_names[2:]
        self.head_names = [n[len("logits_"):] for n in self.output_names if n.startswith("logits_")]
        self._state_shapes = {i.name: i.shape for i in self.session.get_inputs()[2:]}
        self.states: dict[str, np.ndarray] | None = None  # zeros at the first step, sized by its channels
        self.spatial_weights: np.ndarray | None = None

    def reset(self) -> None:
        self.states = None

    def _initial(self, n_channels: int) -> dict[str, np.ndarray]:
        """Zero states; a dynamic axis (the adaptation's channels) takes ``n_channels``."""
        return {k: np.zeros([d if isinstance(d, int) else n_channels for d in shape], dtype=np.float32)
                for k, shape in self._state_shapes.items()}

    def set_spatial_weights(self, spatial_weights: np.ndarray) -> None:
        """CDSE weights (channels, K) used by later calls of ``step`` without weights; states are kept."""
        self.spatial_weights = np.asarray(spatial_weights, np.float32)

    def step(self, x: np.ndarray, spatial_weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """x: (channels, hop) microvolts (NaN/inf read as 0) -> head -> logits (classes,).

        spatial_weights: (channels, K); default: the last ones set.
        """
        if spatial_weights is not None:
            self.set_spatial_weights(spatial_weights)
        if self.spatial_weights is None:
            raise RuntimeError("call set_spatial_weights(weights) before the first step")
        x = np.asarray(x, dtype=np.float32)
        x = np.where(np.isfinite(x), x, np.float32(0.0))
        if self.states is None:
            self.states = self._initial(x.shape[0])
        feeds = {"x": x[None], "spatial_weights": self.spatial_weights, **self.states}
        out = self.session.run(None, feeds)
        n = len(self.head_names)
        self.states = dict(zip(self.state_names, out[n:]))
        return {name: out[i][0] for i, name in enumerate(self.head_names)}
