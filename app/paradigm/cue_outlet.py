"""The cue marker stream: every marker of a calibration run goes out on LSL as it is shown.

Any LSL recorder (LabRecorder, the live pipeline's own recorder) sees an ordinary string
marker stream of type ``Markers``. The outlet also keeps the list of what it sent, so the
session file can be checked against it when the run ends.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pylsl


@dataclass(frozen=True)
class SentMarker:
    """One marker as sent.

    Parameters
    ----------
    time : float
        LSL timestamp (local clock, s).
    text : str
        The marker, e.g. ``cue/left``.
    duration_s : float
        How long the condition it opens lasts (s); 0 for point events.
    """

    time: float
    text: str
    duration_s: float = 0.0


class CueOutlet:
    """A pylsl string marker outlet.

    Parameters
    ----------
    name : str
        Stream name (``samba-cues`` unless several runs must be told apart).
    source_id : str, optional
        Unique per run by default, so that a recorder never attaches to a stale outlet.
    """

    def __init__(self, name: str = "samba-cues", source_id: str | None = None) -> None:
        self.name = name
        self.source_id = source_id or f"{name}-{uuid.uuid4().hex[:10]}"
        info = pylsl.StreamInfo(name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, self.source_id)
        info.desc().append_child_value("manufacturer", "SAMBA-Live")
        self._outlet: pylsl.StreamOutlet | None = pylsl.StreamOutlet(info)
        self.sent: list[SentMarker] = []

    def push(self, text: str, duration_s: float = 0.0, timestamp: float | None = None) -> SentMarker:
        """Send ``text`` now (or stamped ``timestamp``, LSL local clock) and remember it."""
        if self._outlet is None:
            raise RuntimeError("the cue outlet is closed")
        t = pylsl.local_clock() if timestamp is None else float(timestamp)
        self._outlet.push_sample([text], t)
        marker = SentMarker(t, text, float(duration_s))
        self.sent.append(marker)
        return marker

    def has_consumers(self) -> bool:
        """Whether a recorder is connected (markers sent before that would be lost)."""
        return self._outlet is not None and bool(self._outlet.have_consumers())

    def close(self) -> None:
        """Withdraw the stream from the network."""
        outlet, self._outlet = self._outlet, None
        del outlet
