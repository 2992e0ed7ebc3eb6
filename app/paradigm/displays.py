"""What the cue screen shows at each moment of a step, as plain values (no drawing).

Changing displays are functions of the run's seed, the trial and the time spent in the
step, so a screen is as deterministic as the protocol timer: the GUI's cue view paints
these values, and the headless runner can log them.
"""

from __future__ import annotations

import math

import numpy as np

from .timer import Step

def arithmetic_problem(seed: int, trial: int, index: int) -> str:
    """A two-digit sum or difference for the distraction task, the same for the same arguments."""
    rng = np.random.default_rng([seed, trial, index])
    a, b = (int(v) for v in rng.integers(12, 99, size=2))
    if rng.random() < 0.5:
        return f"{a} + {b} = ?"
    a, b = max(a, b), min(a, b)
    return f"{a} − {b} = ?"


def step_problem(step: Step, seed: int, elapsed_s: float) -> str:
    """The arithmetic problem on screen ``elapsed_s`` seconds into ``step`` (a new one every ``interval_s``)."""
    k = int(elapsed_s // step.interval_s) if step.interval_s > 0 else 0
    return arithmetic_problem(seed, step.trial or 0, k)


def tracking_position(t: float) -> tuple[float, float]:
    """Where the dot to follow is at ``t`` seconds into a block, in [-1, 1]² (a slow Lissajous path)."""
    return 0.8 * math.sin(2 * math.pi * 0.11 * t), 0.6 * math.sin(2 * math.pi * 0.17 * t + 0.7)


def screen_text(step: Step, seed: int = 0, elapsed_s: float = 0.0) -> str:
    """What is on screen during ``step``, in words (for logs, tests and screen readers).

    Parameters
    ----------
    step : Step
    seed : int
        The run's seed (changing displays depend on it).
    elapsed_s : float
        Seconds spent in the step.
    """
    if step.display == "text":
        return step.text
    if step.display == "arrow":
        return f"arrow {step.label}"
    if step.display == "feedback":
        return f"feedback {step.label}"
    if step.display == "arithmetic":
        return step_problem(step, seed, elapsed_s)
    return step.display
