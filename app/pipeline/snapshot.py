"""A consistent, read-only picture of the running pipeline for the GUI (no Qt here)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .ground_truth import HeadScore
from .heads import CheckpointHeads
from .markers import Marker
from .ring import TimedRing
from .streams import StreamSummary


class DisplayBuffers:
    """What the display shows of the recent past; written by the worker, read by any thread.

    Parameters
    ----------
    n_channels : int
        Model channels.
    trace_samples : int
        Raw samples kept per channel.
    classes : dict head -> tuple of class names
    history_tokens : int
        Probability vectors kept per head.
    """

    def __init__(self, n_channels: int, trace_samples: int, classes: dict[str, tuple[str, ...]],
                 history_tokens: int) -> None:
        self.traces = TimedRing(n_channels, trace_samples)
        self.history = {h: TimedRing(len(c), history_tokens) for h, c in classes.items()}
        self.latest = {h: np.full(len(c), np.nan, dtype=np.float32) for h, c in classes.items()}
        self.markers: deque[Marker] = deque(maxlen=20)

    def add_tokens(self, smoothed: list[dict[str, np.ndarray]], times: np.ndarray) -> None:
        """smoothed: per token, head -> (classes,); times: (tokens,) LSL times."""
        for head, ring in self.history.items():
            ring.append(np.stack([s[head] for s in smoothed], axis=1), times)
            self.latest[head] = np.asarray(smoothed[-1][head], dtype=np.float32)

    def probabilities(self) -> tuple[dict, dict, dict]:
        """Latest vectors, histories (n, classes) and their times, per head."""
        history, times = {}, {}
        for head, ring in self.history.items():
            data, t = ring.snapshot()
            history[head], times[head] = data.T.copy(), t
        return {h: p.copy() for h, p in self.latest.items()}, history, times


@dataclass(frozen=True)
class PipelineSnapshot:
    """Everything a display needs, copied out of the worker's state.

    Parameters
    ----------
    status : str
        ``idle``, ``running``, ``stalled`` (no data for a while), ``stream-lost``,
        ``paused`` (no usable channel), ``stopped`` or ``error``.
    stream : StreamSummary or None
    labels : tuple of str
        The model's EEG channels, in the order of every per-channel array below.
    traces : (channels, n) float32
        Recent raw samples in µV (before filtering) at the stream's rate.
    trace_times : (n,) float64
        Their LSL times.
    quality : tuple of str
        Per-channel verdict (``good``, ``flat``, ``noisy``, ``saturated``, ``nan``).
    amplitude_uv : (channels,) float
        Detrended standard deviation over the quality window.
    good : (channels,) bool
        The channel mask in use.
    montage_report : str
        Human-readable montage table.
    montage : dict
        The same as data (``MontageResolution.to_dict()``); shared, do not modify.
    spatial_weights : (channels, K) float32
        Spatial weights in use (zero rows for masked channels): CDSE latent patterns, or SAIE
        interpolation weights onto K virtual sites.
    spatial_kind : str
        ``"cdse"`` or ``"virtual-sites"`` (SAIE): what the columns of ``spatial_weights`` are.
    spatial_names : tuple of str
        One name per column (a latent channel's number, or a virtual site's 10-20 label).
    classes : dict head -> tuple of class names
    probabilities : dict head -> (classes,)
        Latest (smoothed) probabilities.
    history : dict head -> (n, classes)
        Recent (smoothed) probabilities, oldest first.
    history_times : dict head -> (n,)
        LSL time of the newest input sample behind each.
    latency : dict
        End-to-end decision latency (push - newest input sample's LSL time): ``count``,
        ``p50_ms``, ``p99_ms``, ``mean_ms``, ``max_ms``.
    processing_latency : dict
        The pipeline's own share (push - pull of the newest sample), same keys.
    samples_received, samples_lost, resets, decisions, markers_received : int
    measured_rate : float or None
        Rate (Hz) of the timestamps over the last check window.
    recent_markers : tuple of Marker
        Last input markers received.
    heads : CheckpointHeads or None
        The checkpoint that decodes and the status of every head (untrained ones are not
        in ``classes``).
    ground_truth : dict head -> HeadScore
        Running accuracy against the input's cue markers (empty without cues).
    """

    status: str
    stream: StreamSummary | None
    labels: tuple[str, ...]
    traces: np.ndarray
    trace_times: np.ndarray
    quality: tuple[str, ...]
    amplitude_uv: np.ndarray
    good: np.ndarray
    montage_report: str
    montage: dict
    spatial_weights: np.ndarray
    classes: dict[str, tuple[str, ...]]
    probabilities: dict[str, np.ndarray]
    history: dict[str, np.ndarray]
    history_times: dict[str, np.ndarray]
    latency: dict
    processing_latency: dict
    samples_received: int
    samples_lost: int
    resets: int
    decisions: int
    markers_received: int
    measured_rate: float | None
    recent_markers: tuple[Marker, ...]
    spatial_kind: str = "cdse"
    spatial_names: tuple[str, ...] = ()
    heads: CheckpointHeads | None = None
    ground_truth: dict[str, HeadScore] = field(default_factory=dict)


def counts_line(pipeline, with_truth: bool = False) -> str:
    """One line of a :class:`~app.pipeline.LivePipeline`'s counts: samples, losses, samples not recorded,
    resets, decisions, end-to-end latency, and with ``with_truth`` the accuracy against the input's cues."""
    lat = pipeline.latency.summary()
    unrecorded = f"{pipeline.samples_unrecorded} NOT RECORDED, " if pipeline.samples_unrecorded else ""
    latency = (f"latency p50 {lat['p50_ms']:.1f} ms p99 {lat['p99_ms']:.1f} ms" if np.isfinite(lat["p50_ms"])
               else "no latency measured yet")  # no decision yet: no figure rather than "nan ms"
    line = (f"{pipeline.samples_received} samples, {pipeline.samples_lost} lost, {unrecorded}{pipeline.resets} reset(s), "
            f"{pipeline.n_decisions} decisions, {latency}")
    truth = pipeline.ground_truth
    if with_truth and truth is not None and truth.scores():
        line += "; " + truth.summary()
    return line


def take_snapshot(pipeline, chain, display: DisplayBuffers, measured_rate: float | None,
                  trace_samples: int | None = None) -> PipelineSnapshot:
    """A consistent copy of a running :class:`~app.pipeline.LivePipeline`'s state for display.

    Parameters
    ----------
    pipeline : LivePipeline
        Its counters, latencies, notices' status and ground truth are read.
    chain : DecodingChain
        The stream's layout, conditioner, decoder and montage.
    display : DisplayBuffers
    measured_rate : float or None
        Hz, the stream's last measured rate.
    trace_samples : int, optional
        Newest raw samples to include (default: the whole trace buffer).
    """
    traces, trace_times = display.traces.snapshot(trace_samples)
    verdicts, amplitude = chain.conditioner.verdicts
    latest, history, history_times = display.probabilities()
    session = chain.decoder.session
    return PipelineSnapshot(
        status=pipeline.status, stream=chain.layout.summary, labels=chain.labels, traces=traces,
        trace_times=trace_times, quality=tuple(q.value for q in verdicts), amplitude_uv=np.asarray(amplitude).copy(),
        good=chain.good.copy(), montage_report=chain.montage_report,
        montage=chain.montage_dict, spatial_weights=session.spatial_weights,
        spatial_kind=session.model.spatial.kind, spatial_names=session.model.spatial.map_names,
        classes=dict(chain.classes), probabilities=latest,
        history=history, history_times=history_times, latency=pipeline.latency.summary(),
        processing_latency=pipeline.processing_latency.summary(),
        samples_received=pipeline.samples_received, samples_lost=pipeline.samples_lost, resets=pipeline.resets,
        decisions=pipeline.n_decisions, markers_received=pipeline.markers_received,
        measured_rate=measured_rate, recent_markers=tuple(display.markers),
        heads=chain.heads, ground_truth=pipeline.ground_truth.scores() if pipeline.ground_truth is not None else {},
    )
