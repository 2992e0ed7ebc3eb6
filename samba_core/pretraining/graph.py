"""A pretraining step replayed as one CUDA graph: forward, loss, backward, clipping and AdamW in a single launch.

SAMBA is small (about 0.3 M parameters) and one TSRM step issues about 1,700 GPU kernels,
most of them tiny. With the mamba_ssm kernels the GPU finishes a 4 x 16k-sample step in
about 16 ms of work but the host needs about 70 ms to issue it: the step is launch-bound,
and faster kernels cannot help. Captured once, the same kernels replay from one host call.

The graph holds device addresses, so replaying it is only correct when

- every batch has the captured shapes and only full-length crops (:meth:`GraphedStep.accepts`;
  the trainer pads batches to a fixed channel count). Any other batch runs eagerly,
  through the same step function, on the same parameters and optimiser state;
- parameters, gradients and optimiser state are updated in place (AdamW made capturable by
  :func:`set_capturable`, its learning rate a device tensor set with ``fill_`` before a replay);
- nothing in the step reads device values on the host (no ``.item()``, no data-dependent
  Python branches). ``SpatialEmbedding.weights`` skips its all-masked check while capturing.

The first ``warmup`` graph-compatible calls run eagerly on a side stream, as capture requires:
they autotune the Triton kernels and create the optimiser state. They are real training
steps, so a graphed run follows the eager trajectory up to floating-point rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .batches import Batch

_TENSOR_FIELDS = ("x", "coords", "channel_mask", "time_mask", "valid")


class GraphedStep:
    """Run ``step_fn(batch) -> tensors`` eagerly for ``warmup`` calls, then as a captured CUDA graph."""

    def __init__(self, step_fn: Callable[[Batch], tuple[Tensor, ...]], warmup: int = 2) -> None:
        if not torch.cuda.is_available():
            raise RuntimeError("CUDA graphs need a CUDA device")
        self.step_fn = step_fn
        self.warmup = warmup
        self.warmed = 0
        self.replays = 0
        # Its own stream for warm-up and capture: libraries keep per-stream scratch memory (cuBLAS
        # workspaces), so graphs captured on one shared stream would share it, and race when
        # several runs replay their graphs at once (train-many).
        self.stream = torch.cuda.Stream()
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static: Batch | None = None
        self.outputs: tuple[Tensor, ...] = ()

    def accepts(self, batch: Batch) -> bool:
        """True when ``batch`` can reuse the captured graph (same shapes, every crop full length)."""
        if not batch.full_length:
            return False
        return self.static is None or all(getattr(batch, k).shape == getattr(self.static, k).shape for k in _TENSOR_FIELDS)

    def __call__(self, batch: Batch) -> tuple[Tensor, ...]:
        if not self.accepts(batch):
            return self.step_fn(batch)
        if self.graph is None and self.warmed < self.warmup:
            self.warmed += 1
            self.stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.stream):
                out = self.step_fn(batch)
            torch.cuda.current_stream().wait_stream(self.stream)
            return out
        if self.graph is None:
            self._capture(batch)
        else:
            for k in _TENSOR_FIELDS:
                getattr(self.static, k).copy_(getattr(batch, k), non_blocking=True)
        self.graph.replay()
        self.replays += 1
        return self.outputs

    def _capture(self, batch: Batch) -> None:
        self.static = Batch(*(getattr(batch, k).clone() for k in _TENSOR_FIELDS), list(batch.lengths),
                            list(batch.widths))
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        # thread_local: the trainer's prefetch thread pins host memory while this thread captures;
        # in the default (global) mode that call would invalidate the capture.
        with torch.cuda.graph(graph, stream=self.stream, capture_error_mode="thread_local"):
            outputs = self.step_fn(self.static)
        self.outputs = tuple(t.detach() for t in outputs)
        self.graph = graph


def set_capturable(optimizer: torch.optim.Optimizer, capturable: bool, device: torch.device) -> None:
    """Put an Adam-family optimiser, its state included, in the form a CUDA graph can replay, or back.

    Capturable: the learning rate is a device tensor (set it with ``set_learning_rate``) and
    the step counters live on ``device``. Eager: a float learning rate, counters on the host
    (on the device for the fused implementation, which reads them there).
    Also applied after loading a state, which may have been saved in the other form.
    """
    for group in optimizer.param_groups:
        lr = float(group["lr"])
        group["lr"] = torch.tensor(lr, device=device) if capturable else lr
        group["capturable"] = capturable
    # The fused implementation keeps its step counters on the device in either form.
    on_device = capturable or any(group.get("fused") for group in optimizer.param_groups)
    for state in optimizer.state.values():
        if "step" in state:
            state["step"] = torch.as_tensor(state["step"], dtype=torch.float32).to(device if on_device else "cpu")


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every group's learning rate, in place where it is a tensor (read by a captured step)."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


__all__ = ["GraphedStep", "set_capturable", "set_learning_rate"]
