"""Timing several decoders side by side in one process, so that machine load hits them all alike.

``run_rounds`` calls every candidate in each of many rounds, in a fresh random order per
round, twice over:

* back to back: ``burst`` consecutive calls, the first discarded (it warms the caches),
  the others recorded: the cost of a decision with warm caches;
* live-paced: one call per tick of ``period_s`` (62.5 ms = 16 decisions/s), every
  candidate on its own tick, so each sees what a live decoder sees: caches and branch
  predictors cold after a sleep and after the other candidates ran.

``matmul_peak_gflops`` measures this core's single-thread float32 GEMM rate in-process, the
denominator of the arithmetic limit.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

#: Live decision period at 16 decisions/s, seconds.
LIVE_PERIOD_S = 1.0 / 16.0


@dataclass
class Candidate:
    """name: label in the results; call: one decision (it fetches its own next input);
    burst: back-to-back calls per round (the first is discarded), smaller for slow candidates."""

    name: str
    call: Callable[[], object]
    burst: int = 4


def parser(doc: str, rounds: int) -> argparse.ArgumentParser:
    """The options every interleaved bench shares: ``--rounds`` and ``--out``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=rounds, help=f"shuffled rounds (default {rounds})")
    ap.add_argument("--out", type=Path, help="also write the JSON result here")
    return ap


def single_thread() -> None:
    """One thread everywhere (torch, the BLAS under numpy/scipy): the live decoder's budget."""
    torch.set_num_threads(1)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def montage(n: int, seed: int = 0) -> np.ndarray:
    """n random electrode positions on the upper half of a head-sized sphere: (n, 3) metres."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 3))
    v[:, 2] = np.abs(v[:, 2])
    return (0.09 * v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


class SignalFeed:
    """An endless random EEG-scale signal (channels, samples) handed out hop by hop, or as the
    window ending at the newest sample (what a sliding-window decoder re-reads every decision)."""

    def __init__(self, channels: int, samples: int = 8192, seed: int = 1) -> None:
        self.signal = (np.random.default_rng(seed).normal(size=(channels, samples)) * 20.0).astype(np.float32)
        self.position = 0

    def next_chunk(self, hop: int) -> np.ndarray:
        start = self.position % (self.signal.shape[1] - hop)
        self.position += hop
        return self.signal[:, start : start + hop]

    def window(self, length: int, hop: int) -> np.ndarray:
        end = length + self.position % (self.signal.shape[1] - length)
        self.position += hop
        return self.signal[:, end - length : end]


def summarise(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
            "mean_ms": float(a.mean()), "n": int(a.size)}


def run_rounds(candidates: list[Candidate], rounds: int, period_s: float = LIVE_PERIOD_S, seed: int = 0,
               warmup: int = 5) -> dict[str, dict[str, dict[str, float]]]:
    """Interleaved timing: name -> {"back_to_back": summary, "paced": summary} (milliseconds)."""
    rng = np.random.default_rng(seed)
    for c in candidates:
        for _ in range(warmup if c.burst > 2 else 1):
            c.call()
    b2b: dict[str, list[float]] = {c.name: [] for c in candidates}
    paced: dict[str, list[float]] = {c.name: [] for c in candidates}
    for _ in range(rounds):
        for i in rng.permutation(len(candidates)):
            c = candidates[i]
            for k in range(c.burst):
                t0 = time.perf_counter()
                c.call()
                if k:
                    b2b[c.name].append((time.perf_counter() - t0) * 1e3)
        tick = time.perf_counter()
        for i in rng.permutation(len(candidates)):
            tick = max(tick + period_s, time.perf_counter())
            time.sleep(max(0.0, tick - time.perf_counter()))
            t0 = time.perf_counter()
            candidates[i].call()
            paced[candidates[i].name].append((time.perf_counter() - t0) * 1e3)
    return {c.name: {"back_to_back": summarise(b2b[c.name]), "paced": summarise(paced[c.name])} for c in candidates}


def matmul_peak_gflops(n: int = 256, seconds: float = 0.3) -> dict[str, float]:
    """Best single-thread float32 GEMM rate (GFLOP/s, 2 n^3 per product) of torch and numpy here."""
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    an, bn = a.numpy(), b.numpy()
    rates = {}
    for name, fn in (("torch", lambda: torch.mm(a, b)), ("numpy", lambda: an @ bn)):
        best = float("inf")
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            for _ in range(5):
                fn()
            best = min(best, (time.perf_counter() - t0) / 5)
        rates[name] = 2 * n**3 / best / 1e9
    rates["peak"] = max(rates.values())
    return rates


def load_average() -> list[float]:
    """1/5/15-minute load averages (a busy machine inflates every figure; compare within one run)."""
    return [round(v, 2) for v in os.getloadavg()]


def print_table(results: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"{'candidate':28s} {'b2b p50':>10s} {'b2b p99':>10s} {'paced p50':>10s} {'paced p99':>10s}  (ms)")
    for name, r in results.items():
        b, p = r["back_to_back"], r["paced"]
        print(f"{name:28s} {b['p50_ms']:10.3f} {b['p99_ms']:10.3f} {p['p50_ms']:10.3f} {p['p99_ms']:10.3f}")
