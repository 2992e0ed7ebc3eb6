"""Decoding: model-rate EEG -> class probabilities per head -> discrete decisions.

The :class:`~samba_core.StreamingSession` gives one probability vector per head every
``hop`` model samples (the token rate). Optional exponential smoothing trades latency for
stability; the :class:`DecisionRule` turns the (smoothed) probabilities into discrete
decisions, emitted as string markers ``"<head>:<class>"`` (e.g. ``"mi:left"``):

- without a threshold, a marker whenever the most probable class of a head changes
  (including the first token of a segment, so that every segment starts with a decision);
- with a threshold ``p``, a marker when a class's probability rises to ``p`` or above
  while that class is not already the head's decision; the decision is released (no
  marker) when its probability falls below ``p``, so a class held above threshold emits
  once.

A fresh recurrent state (start-up, after a gap, after decoding resumed) says nothing yet: its
first tokens are extreme (p = 1.00 after one hop, seen on the shipped checkpoint). The tokens
that complete within the first ``settle_s`` seconds of a state only warm it; smoothing and
the decision rule start with the first token after them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from samba_core import StreamingSession
from samba_core.streaming import BACKENDS, DEFAULT_BACKEND


#: Default smoothing time constant (s). On the bundled replay with the shipped checkpoint
#: it cuts the mi decision's flips from 4.6 to 0.6 per second (``bench/decision_stability.py``)
#: at the cost of reacting later: a step change of the raw probability is half-way
#: through after ln 2 x 0.5 s = 0.35 s. Longer constants flip less but carry the previous
#: trial into the next one (trial accuracy falls; see the README).
DEFAULT_SMOOTHING_S = 0.5

#: Default seconds of a fresh model state that warm it without decisions (see the module docstring).
DEFAULT_SETTLE_S = 1.0


@dataclass(frozen=True)
class DecodingConfig:
    """How probabilities are computed and turned into decisions.

    Parameters
    ----------
    backend : str
        One of ``samba_core.streaming.BACKENDS``: ``"fused"`` (default: fastest on one CPU core),
        ``"onnx"`` (onnxruntime, serves any architecture) or ``"torch"`` (the reference).
    smoothing_s : float
        Time constant (s) of exponential smoothing of the probabilities; 0 disables it
        (default :data:`DEFAULT_SMOOTHING_S`).
    threshold : float, optional
        Probability at which a class becomes a decision; None: every argmax change is one.
    settle_s : float
        Seconds at the start of every model state whose tokens only warm it (default
        :data:`DEFAULT_SETTLE_S`); 0 decides from the first token.
    """

    backend: str = DEFAULT_BACKEND
    smoothing_s: float = DEFAULT_SMOOTHING_S
    threshold: float | None = None
    settle_s: float = DEFAULT_SETTLE_S

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not (self.smoothing_s >= 0 and math.isfinite(self.smoothing_s)):
            raise ValueError(f"smoothing_s is a time constant in seconds >= 0, got {self.smoothing_s!r}")
        if not (self.settle_s >= 0 and math.isfinite(self.settle_s)):
            raise ValueError(f"settle_s is a duration in seconds >= 0, got {self.settle_s!r}")
        if self.threshold is not None and not 0 < self.threshold < 1:
            raise ValueError(f"threshold is a probability in (0, 1), got {self.threshold!r}")


@dataclass(frozen=True)
class TokenOutput:
    """What one token produced.

    Parameters
    ----------
    model_index : int
        Model-rate sample index (since the session's reset) that completed the token.
    probs, smoothed : dict head -> (classes,) float32
        Raw and smoothed class probabilities.
    markers : tuple of str
        Discrete decisions emitted by this token.
    """

    model_index: int
    probs: dict[str, np.ndarray]
    smoothed: dict[str, np.ndarray]
    markers: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """One token's output with its timing (all times on the local LSL clock, seconds).

    Parameters
    ----------
    segment : int
        Stream segment (incremented at every reset of the model state).
    model_index : int
        Model-rate sample index that completed the token, since the segment start.
    sample_index : int
        Input sample index of the newest stream sample the token used, since the segment start.
    sample_time : float
        LSL timestamp of that sample; also the timestamp of the outlet samples.
    received_at : float
        LSL time at which the chunk holding that sample was pulled from the inlet.
    pushed_at : float
        LSL time at which the probabilities were pushed to the outlets.
    probs, smoothed : dict head -> (classes,)
    markers : tuple of str
    """

    segment: int
    model_index: int
    sample_index: int
    sample_time: float
    received_at: float
    pushed_at: float
    probs: dict[str, np.ndarray]
    smoothed: dict[str, np.ndarray]
    markers: tuple[str, ...]

    @property
    def latency_s(self) -> float:
        """Time from the newest input sample to the push of this decision (end to end)."""
        return self.pushed_at - self.sample_time

    @property
    def processing_s(self) -> float:
        """Time from pulling the newest input sample to the push (the pipeline's own share)."""
        return self.pushed_at - self.received_at


class ProbabilitySmoother:
    """Exponential moving average of probability vectors, per head.

    Parameters
    ----------
    time_constant_s : float
        0 disables smoothing.
    token_period_s : float
        Seconds between tokens.
    """

    def __init__(self, time_constant_s: float, token_period_s: float) -> None:
        self.alpha = 1.0 if time_constant_s <= 0 else 1.0 - math.exp(-token_period_s / time_constant_s)
        self.reset()

    def reset(self) -> None:
        self._state: dict[str, np.ndarray] = {}

    def update(self, head: str, probs: np.ndarray) -> np.ndarray:
        previous = self._state.get(head)
        value = probs if previous is None else self.alpha * probs + (1.0 - self.alpha) * previous
        self._state[head] = value
        return value


class DecisionRule:
    """Discrete decisions from probabilities; see the module docstring for the rule.

    Parameters
    ----------
    classes : dict head -> tuple of class names
    threshold : float, optional
    """

    def __init__(self, classes: dict[str, tuple[str, ...]], threshold: float | None = None) -> None:
        self.classes = classes
        self.threshold = threshold
        self.reset()

    def reset(self) -> None:
        self._current: dict[str, int | None] = {head: None for head in self.classes}

    def held(self, head: str) -> str | None:
        """The marker of ``head``'s current decision, None when it holds none (e.g. released
        below the threshold)."""
        current = self._current[head]
        return None if current is None else f"{head}:{self.classes[head][current]}"

    def update(self, head: str, probs: np.ndarray) -> str | None:
        """The marker this token emits for ``head``, if any."""
        best = int(np.argmax(probs))
        current = self._current[head]
        if self.threshold is None:
            if best == current:
                return None
            self._current[head] = best
            return f"{head}:{self.classes[head][best]}"
        if current is not None and probs[current] < self.threshold:
            self._current[head] = current = None
        if probs[best] >= self.threshold and best != current:
            self._current[head] = best
            return f"{head}:{self.classes[head][best]}"
        return None


class Decoder:
    """A streaming session plus smoothing and the decision rule.

    Parameters
    ----------
    session : StreamingSession
    config : DecodingConfig
    model_rate : float
        Model input rate (Hz), for the smoothing time constant.
    heads : sequence of str, optional
        The heads to decode (default: all); the others are computed by the model but
        neither smoothed nor turned into decisions (e.g. untrained heads, see
        :mod:`app.pipeline.heads`).

    Raises
    ------
    ValueError
        ``heads`` names a head the model does not have.
    """

    def __init__(self, session: StreamingSession, config: DecodingConfig, model_rate: float,
                 heads: tuple[str, ...] | None = None) -> None:
        self.session = session
        self.config = config
        unknown = set(heads or ()) - set(session.classes)
        if unknown:
            raise ValueError(f"the model has no head(s) {sorted(unknown)}; its heads: {sorted(session.classes)}")
        self.classes = {head: tuple(c) for head, c in session.classes.items() if heads is None or head in heads}
        self.token_period_s = session.hop / model_rate
        self.smoother = ProbabilitySmoother(config.smoothing_s, self.token_period_s)
        self.rule = DecisionRule(self.classes, config.threshold)
        #: Index (since a reset) of the first token that is decided: token k completes (k + 1)
        #: periods into the state, so the first one completing at ``settle_s`` or later.
        self.first_decided = max(0, math.ceil(config.settle_s / self.token_period_s - 1 - 1e-9))
        self._tokens = 0

    def reset(self) -> None:
        """Drop every carried state: recurrent model state, smoothing, current decisions; the
        next ``settle_s`` seconds warm the new state again."""
        self.session.reset()
        self.smoother.reset()
        self.rule.reset()
        self._tokens = 0

    def set_channel_mask(self, good: np.ndarray) -> None:
        self.session.set_channel_mask(good)

    def push(self, chunk: np.ndarray) -> list[TokenOutput]:
        """chunk: (model channels, n) µV at the model rate -> the tokens that became due
        (none of a fresh state's settling period)."""
        out = self.session.push(chunk)
        tokens = []
        for j in range(out.n_tokens):
            self._tokens += 1
            if self._tokens <= self.first_decided:
                continue  # a settling token: it warmed the recurrent state, nothing more
            probs = {head: out.probs[head][j] for head in self.classes}
            smoothed, markers = {}, []
            for head in self.classes:
                smoothed[head] = self.smoother.update(head, probs[head])
                marker = self.rule.update(head, smoothed[head])
                if marker is not None:
                    markers.append(marker)
            tokens.append(TokenOutput(int(out.sample_index[j]), probs, smoothed, tuple(markers)))
        return tokens
