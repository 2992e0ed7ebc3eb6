"""Listening to an event-marker stream (cues of a paradigm, a replay's annotations).

Markers are recorded next to the EEG so that decisions can be scored against the cues.
The listener runs in its own thread: waiting for a marker stream to appear, or for its
next sample, must never delay decoding.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass

from mne_lsl.lsl import StreamInlet
from mne_lsl.lsl._utils import LostError

from .streams import StreamSelector, resolve_stream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Marker:
    """One event marker: ``text`` at LSL time ``time`` (local clock, seconds)."""

    time: float
    text: str


class MarkerListener:
    """Collects the markers of one stream in a background thread.

    String streams give their first channel as the text; numeric streams (e.g. MNE-LSL's
    one-hot annotations) give the label of the first non-zero channel.

    Parameters
    ----------
    selector : StreamSelector
    retry_s : float
        Seconds between attempts to find the stream (and to find it again once lost).
    """

    def __init__(self, selector: StreamSelector, retry_s: float = 1.0) -> None:
        self.selector = selector
        self.retry_s = retry_s
        self._queue: deque[Marker] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="samba-markers", daemon=True)
        self.connected = threading.Event()
        self.count = 0

    def start(self) -> MarkerListener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def drain(self) -> list[Marker]:
        """Markers received since the last call, oldest first."""
        out = []
        while self._queue:
            out.append(self._queue.popleft())
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            sinfo = resolve_stream(self.selector, timeout=self.retry_s, quiet=True)
            if sinfo is None:
                continue
            inlet = StreamInlet(sinfo, recover=False, processing_flags=["clocksync"])
            try:
                inlet.open_stream(timeout=2.0)
                labels = inlet.get_sinfo(timeout=2.0).get_channel_names() or []
                self.connected.set()
                while not self._stop.is_set():
                    sample, ts = inlet.pull_sample(timeout=0.2)
                    if ts is not None:
                        self._push(sample, ts, labels)
            except (LostError, TimeoutError) as exc:
                log.info("marker stream %s lost (%s); waiting for it to return", self.selector.describe(), exc)
            finally:
                self.connected.clear()
                inlet._del()

    def _push(self, sample, ts: float, labels: list[str]) -> None:
        if isinstance(sample, list):
            text = str(sample[0]) if sample else ""
        else:
            nonzero = [i for i, v in enumerate(sample) if v != 0]
            if not nonzero:
                return
            i = nonzero[0]
            text = labels[i] if i < len(labels) else str(i)
        self._queue.append(Marker(float(ts), text))
        self.count += 1
