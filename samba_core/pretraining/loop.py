"""The training loop: one pretraining run, or several at once on one GPU, each on its own CUDA stream.

SAMBA is small: one step of a 30 s, batch-8 crop issues about 1,500 kernels over a few
thousand tokens, far too little work to fill a large GPU, even replayed as one CUDA graph.
Separate processes on one GPU take turns (time slicing), so running several in parallel
adds little throughput. Several runs in one process, each replaying its step on its own CUDA
stream, do overlap: their kernels share the multiprocessors (on an H200, 16 runs together
cost 9.98 ms per run-step against 18.6 ms alone; ``bench/README.md``). :func:`train_together` runs
any number of runs (:class:`Run`, i.e. :class:`~samba_core.pretraining.trainer.Pretrainer`) this way, round-robin;
each keeps its own model, optimiser, sampler, graph, run folder and budgets, so every run
follows the trajectory it would follow alone (up to floating-point rounding), and a run that
fails is reported without stopping the others.

Per round: each active run takes its prefetched batch (assembled on the host by a thread
pool while the device works), issues its step on its stream without waiting, then each
run's metrics are read (waiting for that stream only), logged, validated and saved as
configured. With one run this is exactly the single-run loop, on the current stream.
Ctrl-C ends the loop at the next round's end, so that every run is saved between steps.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, NamedTuple, Protocol

import torch
from torch import Tensor

from .batches import Batch

PREFETCH = 2  # batches assembled ahead per run


class PendingStep(NamedTuple):
    """A launched step's outputs, still on the device: per-crop loss, mse, nmse (B,), gradient norm ()."""

    lr: float
    loss: Tensor
    mse: Tensor
    nmse: Tensor
    grad_norm: Tensor


class Run(Protocol):
    """What the loop drives: one pretraining run (:class:`~samba_core.pretraining.trainer.Pretrainer`)."""

    out: Path
    step: int
    end_step: int
    started: float
    world: int
    device: torch.device
    log: Callable[..., None]
    active: bool

    def begin(self) -> None: ...
    def prepare(self, step: int) -> Batch: ...
    def launch(self, batch: Batch) -> PendingStep: ...
    def complete(self, pending: PendingStep) -> dict[str, float]: ...
    def record(self, metrics: dict[str, float]) -> None: ...
    def end(self) -> dict[str, Any]: ...
    def save_state(self) -> None: ...


class RunsFailed(RuntimeError):
    """Some of several runs trained together failed; ``errors`` maps run folder -> exception,
    ``summaries`` holds the finished runs' summaries (None for the failed ones)."""

    def __init__(self, errors: dict[str, BaseException], summaries: list[dict[str, Any] | None]) -> None:
        names = "; ".join(f"{k}: {type(v).__name__}: {v}" for k, v in errors.items())
        super().__init__(f"{len(errors)} of {len(summaries)} runs failed ({names})")
        self.errors, self.summaries = errors, summaries


class _StopRequest:
    """Ctrl-C (SIGINT) during training asks the loop to stop after the round in flight, so that no
    run is saved half-way through an update; a second Ctrl-C interrupts at once. Outside the main
    thread (where signals cannot be caught), and under data parallelism (ranks could stop at
    different steps and wait for each other forever), Ctrl-C interrupts at once, as usual."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def __enter__(self) -> "_StopRequest":
        self.requested, self._previous = False, None
        if self.enabled and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous)
        print("stopping after the steps in flight (Ctrl-C again to stop at once, without saving them)", flush=True)

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _streams(trainers: list[Run]) -> list[torch.cuda.Stream | None]:
    """One CUDA stream per run when several share a CUDA device; else None (the current stream)."""
    if len(trainers) > 1 and all(t.device.type == "cuda" for t in trainers):
        return [torch.cuda.Stream(t.device) for t in trainers]
    return [None for _ in trainers]


def _on(stream: torch.cuda.Stream | None) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext() if stream is None else torch.cuda.stream(stream)


def train_together(trainers: list[Run]) -> list[dict[str, Any]]:
    """Train every run to its end (steps, ``stop_after`` or ``max_minutes``); returns their summaries.

    Raises
    ------
    ValueError
        Several runs under data parallelism (train them together on one process per GPU instead).
    RunsFailed
        With several runs, after the others finished: which failed and why (a single run's
        exception propagates as it is).
    KeyboardInterrupt
        Ctrl-C: the steps in flight finish, every run saves its state (resume with
        ``--resume``), then this is raised. A second Ctrl-C stops at once; a run stopped
        inside a step is then not saved (its last saved state stays).
    """
    if len(trainers) > 1 and any(t.world > 1 for t in trainers):
        raise ValueError("several runs in one process cannot also be data-parallel: run them without torchrun")
    single = len(trainers) == 1
    streams = _streams(trainers)
    errors: dict[int, BaseException] = {}
    futures: list[dict[int, Future]] = [{} for _ in trainers]
    pool = ThreadPoolExecutor(max_workers=min(len(trainers), 8))

    def fail(i: int, exc: BaseException) -> None:
        if single:
            raise exc
        errors[i] = exc
        trainers[i].log(f"failed at step {trainers[i].step}: {type(exc).__name__}: {exc}")

    def top_up(i: int) -> None:
        t = trainers[i]
        for s in range(t.step, min(t.step + PREFETCH, t.end_step)):
            if s not in futures[i]:
                futures[i][s] = pool.submit(t.prepare, s)

    def live() -> list[int]:
        return [i for i, t in enumerate(trainers) if i not in errors and t.active]

    for i, t in enumerate(trainers):
        try:
            with _on(streams[i]):
                t.begin()
            top_up(i)
        except Exception as exc:  # noqa: BLE001 - one run's failure must not stop the others
            fail(i, exc)
    if not single:  # the time budgets start together, once every run has begun (lock-step rounds: equal steps)
        now = time.perf_counter()
        for t in trainers:
            t.started = now
    clean, interrupted, inflight = False, False, set()
    try:
        with _StopRequest(enabled=all(t.world == 1 for t in trainers)) as stop:
            while live() and not stop.requested:
                launched = []
                for i in live():
                    t = trainers[i]
                    try:
                        batch = futures[i].pop(t.step).result()
                        inflight.add(i)
                        with _on(streams[i]):
                            launched.append((i, t.launch(batch.to(t.device))))
                    except Exception as exc:  # noqa: BLE001
                        inflight.discard(i)
                        fail(i, exc)
                for i, pending in launched:
                    t = trainers[i]
                    try:
                        with _on(streams[i]):
                            t.record(t.complete(pending))
                        top_up(i)
                    except Exception as exc:  # noqa: BLE001
                        fail(i, exc)
                    finally:
                        inflight.discard(i)
        if stop.requested:
            raise KeyboardInterrupt
        clean = True
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        summaries: list[dict[str, Any] | None] = []
        for i, t in enumerate(trainers):
            if clean and i not in errors:
                with _on(streams[i]):
                    summaries.append(t.end())
                continue
            summaries.append(None)
            if i in inflight:  # stopped inside a step: its weights may be half-updated, keep the last save
                t.log(f"interrupted inside step {t.step + 1}: not saved; --resume continues from its last saved state")
                continue
            if interrupted:
                t.log(f"interrupted at step {t.step}: saving state, resume with --resume")
            with contextlib.suppress(Exception):
                t.save_state()  # what it learnt stays resumable
    if errors:
        raise RunsFailed({str(trainers[i].out): e for i, e in errors.items()}, summaries)
    return summaries  # type: ignore[return-value]


__all__ = ["PendingStep", "Run", "RunsFailed", "train_together"]
