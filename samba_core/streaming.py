"""StreamingSession: push EEG chunks of any size, get the decisions that became due.

The session owns every layer state of the multi-rate network. Its outputs equal the
offline forward pass over the concatenated signal whatever the chunking, and its
memory does not grow with the length of the stream (states have fixed size; at most
``hop - 1`` samples wait for the next token).

Three backends compute the same function (``BACKENDS``):

* ``"fused"`` (the default, fastest on one CPU core): :mod:`samba_core.fused_step`, the
  encoder step regrouped into a few large numpy operations, each block one compiled kernel
  when numba is installed (:mod:`samba_core.fused_kernels`); a model it cannot fuse
  (:class:`~samba_core.fused_step.UnsupportedModelError`) falls back to ``"onnx"`` with a
  warning, and so does one whose fused output does not match the torch step at start-up;
* ``"onnx"``: the exported step graph run by onnxruntime (serves any architecture);
* ``"torch"``: the reference; it can also run the decoder and stream the reconstruction.

The two step backends advance one token per call.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .fused_step import FusedStepRunner, UnsupportedModelError, reference_mismatch
from .model import Samba, StreamState
from .onnx_export import OnnxStepRunner, export_step_onnx

#: The streaming backends, the default first.
BACKENDS = ("fused", "onnx", "torch")
DEFAULT_BACKEND = BACKENDS[0]
#: Largest |fused - torch| on the start-up check before the session falls back to ONNX.
FUSED_TOLERANCE = 1e-4


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class StreamOutput:
    """Outputs that became due during one ``push``.

    logits, probs: head -> (tokens, classes); sample_index: (tokens,) index of the input
    sample (counted from the start of the stream or the last reset) that completed each
    token; reconstruction: (channels, samples) microvolts for the pushed samples, or None.
    """

    logits: dict[str, np.ndarray]
    sample_index: np.ndarray
    reconstruction: np.ndarray | None = None
    probs: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.probs = {k: softmax(v) for k, v in self.logits.items()}

    @property
    def n_tokens(self) -> int:
        return int(self.sample_index.size)


class StreamingSession:
    """Stateful step-mode decoding of one EEG stream.

    Parameters
    ----------
    model : Samba
    coords : (channels, 3) electrode positions in metres, head frame (NaN rows allowed where masked).
    mask : (channels,) bool, True = use the channel; default: channels with finite coords.
    backend : one of ``BACKENDS``: "fused" (default), "onnx" or "torch". ``self.backend`` is the
        one in use after any fallback from "fused" to "onnx".
    decoder : also stream the reconstruction (torch backend only).
    onnx_path : where to keep the exported step graph; a temporary file by default.
    """

    def __init__(
        self, model: Samba, coords: np.ndarray, mask: np.ndarray | None = None, backend: str = DEFAULT_BACKEND,
        decoder: bool = False, onnx_path: str | Path | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if decoder and backend != "torch":
            raise ValueError("streaming the reconstruction needs backend='torch'")
        coords = np.asarray(coords, dtype=np.float32)
        if coords.ndim != 2 or coords.shape[1] != 3:
            raise ValueError(f"coords must have shape (channels, 3), got {coords.shape}")
        self.model = model.eval()
        self.backend = backend
        self.decoder = decoder
        self.n_channels = coords.shape[0]
        self.hop = model.config.hop
        self.classes = model.config.head_classes
        self._coords = torch.from_numpy(coords)
        self._runner: OnnxStepRunner | FusedStepRunner | None = None
        self.set_channel_mask(mask)
        if backend == "fused":
            self._runner = self._fused_runner()
            if self._runner is None:
                self.backend = backend = "onnx"
        if backend == "onnx":
            if onnx_path is not None:
                self._runner = OnnxStepRunner(export_step_onnx(model, onnx_path, n_channels=self.n_channels))
            else:  # the session holds the graph in memory: the file is not needed once it is loaded
                with tempfile.TemporaryDirectory(prefix="samba-onnx-") as tmp:
                    path = export_step_onnx(model, Path(tmp) / "step.onnx", n_channels=self.n_channels)
                    self._runner = OnnxStepRunner(path)
        if self._runner is not None:
            self._runner.set_spatial_weights(self._weights_np)
        self.reset()

    def _fused_runner(self) -> FusedStepRunner | None:
        """The fused step, or None (with a warning) when it cannot serve this model exactly."""
        try:
            runner = FusedStepRunner(self.model)
        except UnsupportedModelError as exc:
            warnings.warn(f"{exc}; falling back to the ONNX step", RuntimeWarning, stacklevel=3)
            return None
        error = reference_mismatch(self.model, runner, self._weights_np)
        if not error <= FUSED_TOLERANCE:  # also catches NaN
            warnings.warn(
                f"the fused step differs from the torch step by {error:.2g} (> {FUSED_TOLERANCE:g}) on this model; "
                "falling back to the ONNX step", RuntimeWarning, stacklevel=3,
            )
            return None
        return runner

    # -- configuration ----------------------------------------------------------------
    def set_channel_mask(self, mask: np.ndarray | None) -> None:
        """Change which channels feed the model (e.g. a channel went flat); states are kept."""
        m = None if mask is None else torch.as_tensor(np.asarray(mask, dtype=bool))
        if m is not None and m.shape != (self.n_channels,):
            raise ValueError(f"mask must have shape ({self.n_channels},), got {tuple(m.shape)}")
        with torch.no_grad():
            self._weights = self.model.spatial_weights(self._coords, m)
        self._mask = m
        self._weights_np = self._weights.numpy().astype(np.float32)
        if self._runner is not None:
            self._runner.set_spatial_weights(self._weights_np)

    @property
    def spatial_weights(self) -> np.ndarray:
        """CDSE weights (channels, K) in use; zero rows for masked channels."""
        return self._weights_np.copy()

    def reset(self) -> None:
        """Start a new stream: drop all carried state (after a gap, never mix it in)."""
        self._state: StreamState = self.model.init_state(1, decoder=self.decoder)
        self._pending = np.zeros((self.n_channels, 0), dtype=np.float32)
        self.samples_pushed = 0
        if self._runner is not None:
            self._runner.reset()

    # -- streaming --------------------------------------------------------------------
    def push(self, chunk: np.ndarray) -> StreamOutput:
        """chunk: (channels, samples) microvolts, any number of samples -> outputs now due."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim != 2 or chunk.shape[0] != self.n_channels:
            raise ValueError(f"chunk must have shape ({self.n_channels}, samples), got {chunk.shape}")
        start = self.samples_pushed
        self.samples_pushed += chunk.shape[1]
        if self.backend == "torch":
            return self._push_torch(chunk, start)
        return self._push_steps(chunk, start)

    def _token_indices(self, start: int, n: int) -> np.ndarray:
        first = start // self.hop  # tokens already emitted before this push
        last = (start + n) // self.hop
        return np.arange(first, last, dtype=np.int64) * self.hop + self.hop - 1

    def _push_torch(self, chunk: np.ndarray, start: int) -> StreamOutput:
        with torch.no_grad():
            out = self.model(
                torch.from_numpy(chunk)[None], self._coords, self._mask, spatial_weights=self._weights,
                state=self._state, decoder=self.decoder,
            )
        self._state = out.state
        logits = {k: v[0].numpy() for k, v in out.logits.items()}
        recon = out.reconstruction[0].numpy() if out.reconstruction is not None else None
        return StreamOutput(logits, self._token_indices(start, chunk.shape[1]), recon)

    def _push_steps(self, chunk: np.ndarray, start: int) -> StreamOutput:
        """Step backends: one runner call per completed token."""
        assert self._runner is not None
        data = np.concatenate([self._pending, chunk], axis=1) if self._pending.size else chunk
        n_tokens = data.shape[1] // self.hop
        per_head: dict[str, list[np.ndarray]] = {name: [] for name in self.classes}
        for j in range(n_tokens):
            logits = self._runner.step(data[:, j * self.hop : (j + 1) * self.hop])
            for name in per_head:
                per_head[name].append(logits[name])
        self._pending = data[:, n_tokens * self.hop :].copy()
        logits = {
            k: (np.stack(v) if v else np.zeros((0, len(self.classes[k])), np.float32)) for k, v in per_head.items()
        }
        return StreamOutput(logits, self._token_indices(start, chunk.shape[1]))
