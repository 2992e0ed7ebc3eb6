"""Acquisition: one LSL inlet on the EEG stream, read without losing or repeating a sample.

We use MNE-LSL's low-level :class:`~mne_lsl.lsl.StreamInlet` rather than its
:class:`~mne_lsl.stream.StreamLSL` ring buffer: the decoder must see every sample
exactly once, with its own timestamp, so that gaps can be detected and every decision
can be traced to the sample that completed it. ``StreamLSL`` hands out windows of the
latest data, which suits viewers, not exact accounting.

- Clock offsets: the inlet's ``clocksync`` post-processing adds LSL's running estimate
  of the source-to-local clock offset to every timestamp, so all times in the pipeline
  are on the local LSL clock (:func:`mne_lsl.lsl.local_clock`).
- Irregular chunk sizes: :meth:`StreamReader.pull` blocks until at least one sample is
  there, then takes whatever else is waiting, so latency does not depend on how the
  source chunks its data.
- Loss: the inlet is opened with ``recover=False``, so a vanished outlet raises at once
  (:class:`StreamLost`) instead of LSL silently reconnecting behind our back; the
  pipeline then reports it and re-attaches itself, with a reset of the model state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from mne_lsl.lsl import StreamInlet
from mne_lsl.lsl._utils import LostError

from .errors import PipelineError, StreamRateError
from .notices import NoticeBoard
from .streams import StreamLayout, StreamSelector, resolve_stream


class StreamLost(PipelineError):
    """The outlet of the stream went away."""


@dataclass(frozen=True)
class AcquisitionConfig:
    """Timing rules of acquisition.

    Parameters
    ----------
    resolve_timeout_s : float
        Seconds to wait for the stream at start.
    gap_periods, gap_min_s : float
        Largest jitter tolerance, ``max(gap_periods / rate, gap_min_s)``: a stamp further
        off the stream's time line is always suspect; the tolerance shrinks to the
        stream's own jitter when it is cleaner (see :mod:`.clockmap`).
    settle_s : float
        Seconds of samples that must stay off the line before a gap (model reset, samples
        counted as lost) or a clock step is declared.
    rate_window_s, rate_tolerance, rate_fail_s : float
        Delivery is judged per window (see :class:`.timing.RateCheck`); decoding stops
        when it is off by more than the tolerance for ``rate_fail_s`` in a row.
    rate_warn : float
        A measured rate this far (relative) from the declared one is reported.
    stale_after_s : float
        No sample for this long is reported (the stream may have stalled).
    reattach_poll_s : float
        Seconds per attempt to find a lost stream again.
    """

    resolve_timeout_s: float = 5.0
    gap_periods: float = 4.0
    gap_min_s: float = 0.02
    settle_s: float = 0.25
    rate_window_s: float = 2.0
    rate_tolerance: float = 0.1
    rate_fail_s: float = 10.0
    rate_warn: float = 0.02
    stale_after_s: float = 1.0
    reattach_poll_s: float = 0.5


class StreamReader:
    """A connected inlet on one numeric, regularly sampled stream.

    Parameters
    ----------
    sinfo : mne_lsl.lsl.StreamInfo
        A resolved stream.
    open_timeout : float
        Seconds to wait for the connection and the full stream description.

    Raises
    ------
    StreamRateError
        The stream is irregularly sampled (nominal rate 0).
    PipelineError
        The stream carries strings, or does not answer.
    """

    def __init__(self, sinfo, open_timeout: float = 3.0) -> None:
        if sinfo.sfreq <= 0:
            raise StreamRateError(
                f"stream {sinfo.name!r} has an irregular sampling rate (nominal rate 0): EEG decoding needs a regular "
                "rate. Pick the EEG stream of the device, not a marker or event stream."
            )
        if sinfo.dtype == "string":
            raise PipelineError(f"stream {sinfo.name!r} carries strings, not EEG samples; pick the device's EEG stream")
        self.inlet = StreamInlet(sinfo, max_buffered=60, recover=False, processing_flags=["clocksync"])
        try:
            self.inlet.open_stream(timeout=open_timeout)
            full = self.inlet.get_sinfo(timeout=open_timeout)
            self.time_correction = self.inlet.time_correction(timeout=open_timeout)
        except (TimeoutError, LostError) as exc:
            self.close()
            raise PipelineError(
                f"stream {sinfo.name!r} was found but did not answer ({exc}); is a firewall blocking LSL's TCP ports?"
            ) from exc
        self.layout = StreamLayout.from_info(full)
        self._max_samples = max(1024, int(self.layout.nominal_rate))

    @classmethod
    def connect(cls, selector: StreamSelector, timeout: float) -> StreamReader:
        """Resolve ``selector`` and connect (raises :class:`StreamNotFoundError` if absent)."""
        return cls(resolve_stream(selector, timeout))

    def pull(self, timeout: float) -> tuple[np.ndarray, np.ndarray]:
        """Wait up to ``timeout`` s for samples; return all that are there.

        Returns
        -------
        data : (channels, n) float64
            In the stream's units; ``n`` is 0 when nothing arrived.
        timestamps : (n,) float64
            Local LSL time of each sample.

        Raises
        ------
        StreamLost
            The outlet disappeared.
        """
        try:
            first, ts = self.inlet.pull_sample(timeout=timeout)
            if ts is None:
                return np.zeros((self.layout.summary.n_channels, 0)), np.zeros(0)
            rest, rest_ts = self.inlet.pull_chunk(timeout=0.0, max_samples=self._max_samples)
        except LostError as exc:
            raise StreamLost(f"stream {self.layout.summary.name!r} was lost") from exc
        # The inlet reuses its buffers: copy before the next pull overwrites them.
        data = np.empty((self.layout.summary.n_channels, 1 + len(rest_ts)), dtype=np.float64)
        data[:, 0] = first
        if len(rest_ts):
            data[:, 1:] = np.asarray(rest).T
        return data, np.concatenate([[ts], np.asarray(rest_ts, dtype=np.float64)])

    def drain(self) -> tuple[np.ndarray, np.ndarray]:
        """Everything queued so far (e.g. while the model was being built), without waiting.

        The pipeline records these samples but does not decode them: decoding a backlog
        would only produce stale decisions in a burst.

        Returns
        -------
        data : (channels, n) float64
        timestamps : (n,) float64
        """
        parts, stamps = [], []
        try:
            while True:
                chunk, ts = self.inlet.pull_chunk(timeout=0.0, max_samples=self._max_samples)
                if len(ts) == 0:
                    break
                parts.append(np.array(chunk, dtype=np.float64).T)
                stamps.append(np.array(ts, dtype=np.float64))
        except LostError as exc:
            raise StreamLost(f"stream {self.layout.summary.name!r} was lost") from exc
        if not parts:
            return np.zeros((self.layout.summary.n_channels, 0)), np.zeros(0)
        return np.concatenate(parts, axis=1), np.concatenate(stamps)

    def close(self) -> None:
        inlet, self.inlet = getattr(self, "inlet", None), None
        if inlet is not None:
            try:
                inlet._del()  # disconnect now rather than at garbage collection
            except Exception:  # noqa: BLE001 - closing a dead inlet may fail in liblsl; nothing to do
                pass


def wait_for_return(selector: StreamSelector, layout: StreamLayout, stop: threading.Event, poll_s: float,
                    on_poll: Callable[[], None], notices: NoticeBoard) -> StreamReader | None:
    """Wait for a lost stream to come back with the same channels and rate.

    Parameters
    ----------
    selector : StreamSelector
    layout : StreamLayout
        What the stream looked like before it was lost.
    stop : threading.Event
        Give up (return None) once set.
    poll_s : float
        Seconds per attempt.
    on_poll : callable
        Called at every attempt (e.g. to keep reading markers).
    notices : NoticeBoard
        Where "back but unusable" is reported.

    Raises
    ------
    PipelineError
        The stream came back with different channels or rate.
    """
    while not stop.is_set():
        on_poll()
        sinfo = resolve_stream(selector, timeout=poll_s, quiet=True)
        if sinfo is None:
            continue
        try:
            reader = StreamReader(sinfo)
        except PipelineError as exc:
            notices.post("warning", "lost", f"stream {layout.summary.name!r} is back but unusable: {exc}")
            time.sleep(poll_s)
            continue
        if not layout.same_channels(reader.layout):
            reader.close()
            raise PipelineError(
                f"stream {layout.summary.name!r} came back with different channels or rate; restart samba-live "
                "to decode it with a montage resolved for the new layout"
            )
        return reader
    return None


class StallWatch:
    """Says when a connected stream stops delivering without vanishing, and when it resumes.

    Parameters
    ----------
    stream_name : str
    stale_after_s : float
        Seconds without a sample before the stream counts as stalled.
    notices : NoticeBoard
        Where ``stalled`` / ``resumed`` are posted.
    """

    def __init__(self, stream_name: str, stale_after_s: float, notices: NoticeBoard) -> None:
        self.stream_name, self.stale_after_s, self.notices = stream_name, stale_after_s, notices
        self.stalled = False
        self.restart()

    def restart(self) -> None:
        """Data is flowing (again) from now: start, re-attachment."""
        self._last_data = time.monotonic()
        self.stalled = False

    @property
    def silent_s(self) -> float:
        """Seconds since the last pull that brought samples."""
        return time.monotonic() - self._last_data

    def data(self) -> None:
        """A pull brought samples."""
        self._last_data = time.monotonic()
        if self.stalled:
            self.stalled = False
            self.notices.post("info", "resumed", f"data from {self.stream_name!r} resumed")

    def idle(self) -> None:
        """A pull brought nothing."""
        silent = time.monotonic() - self._last_data
        if not self.stalled and silent > self.stale_after_s:
            self.stalled = True
            self.notices.post(
                "warning", "stalled", f"no data from {self.stream_name!r} for {silent:.1f} s; is the amplifier still "
                "streaming?",
            )
