"""Finding LSL streams and reading what they say about themselves.

Discovery (:func:`list_streams`, :func:`resolve_stream`) works on the short stream info
LSL broadcasts; the channel meta-data (``<desc><channels>``: labels, types, units,
locations) only arrives once an inlet is connected, so :class:`StreamLayout` is read from
the inlet's full info.

A replay at a speed other than real time (see :mod:`app.pipeline.replay`) declares its
time-compressed rate as the nominal rate, so that every LSL client sees consistent
timestamps, and adds ``<desc><samba_replay><speed>`` so that this pipeline can recover
the physical rate of the data (nominal rate / speed) for filtering and decoding.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from mne_lsl.lsl import resolve_streams

from montages import stream_channels_from_xml

from .errors import StreamNotFoundError

#: Name of the ``<desc>`` child that marks a time-compressed replay.
REPLAY_TAG = "samba_replay"


@dataclass(frozen=True)
class StreamSelector:
    """Which stream to attach to; every field given must match.

    Parameters
    ----------
    name : str, optional
        LSL stream name.
    stype : str, optional
        LSL stream type, e.g. ``"EEG"``.
    source_id : str, optional
        LSL source id (survives outlet restarts, so it identifies a device best).
    replay_of : str, optional
        Set for the stream of a replay this program plays (see :meth:`of_replay`): the
        recording it plays. A replay involves no hardware, so when it is not found the
        advice is about LSL on this machine, not about an amplifier.
    """

    name: str | None = None
    stype: str | None = None
    source_id: str | None = None
    replay_of: str | None = None

    def __post_init__(self) -> None:
        if self.name is None and self.stype is None and self.source_id is None:
            raise ValueError("a StreamSelector needs a name, a type or a source_id; e.g. StreamSelector(name='EEG')")

    @classmethod
    def of_replay(cls, name: str, recording: object = None) -> StreamSelector:
        """The selector of the replay stream ``name`` playing ``recording`` (a path; None: one in memory)."""
        return cls(name=name, replay_of=str(recording) if recording is not None else "a recording in memory")

    def describe(self) -> str:
        parts = [f"{k}={v!r}" for k, v in (("name", self.name), ("type", self.stype), ("source_id", self.source_id)) if v]
        return ", ".join(parts)


@dataclass(frozen=True)
class StreamSummary:
    """One stream as the stream picker shows it.

    Parameters
    ----------
    name, stype, source_id, host, uid : str
        LSL identity of the stream.
    n_channels : int
        Channel count.
    rate : float
        Nominal sampling rate in Hz (0 for irregular streams).
    """

    name: str
    stype: str
    n_channels: int
    rate: float
    host: str
    source_id: str
    uid: str

    @classmethod
    def from_info(cls, sinfo) -> StreamSummary:
        return cls(
            name=sinfo.name, stype=sinfo.stype, n_channels=int(sinfo.n_channels), rate=float(sinfo.sfreq),
            host=sinfo.hostname, source_id=sinfo.source_id, uid=sinfo.uid,
        )


def list_streams(timeout: float = 1.0, stype: str | None = None) -> list[StreamSummary]:
    """Every LSL stream visible on the network, sorted by name.

    Parameters
    ----------
    timeout : float
        Seconds to listen for stream announcements (below ~0.5 s remote streams may be missed).
    stype : str, optional
        Keep only streams of this type (e.g. ``"EEG"``), compared case-insensitively.
    """
    found = [StreamSummary.from_info(s) for s in resolve_streams(timeout=timeout)]
    if stype is not None:
        found = [s for s in found if s.stype.lower() == stype.lower()]
    return sorted(found, key=lambda s: (s.name, s.host, s.uid))


def resolve_stream(selector: StreamSelector, timeout: float = 5.0, *, quiet: bool = False):
    """The stream info of the one stream matching ``selector``.

    Parameters
    ----------
    selector : StreamSelector
    timeout : float
        Seconds to wait for the stream to appear.
    quiet : bool
        Return None instead of raising when nothing matches (used while waiting for a
        lost stream to come back).

    Raises
    ------
    StreamNotFoundError
        Nothing matches; the message lists the streams that are visible.
    """
    matches = resolve_streams(
        timeout=timeout, name=selector.name, stype=selector.stype, source_id=selector.source_id
    )
    if matches:
        # Several outlets may share a name (e.g. a restarted device); the newest is the live one.
        return max(matches, key=lambda s: s.created_at)
    if quiet:
        return None
    visible = list_streams(timeout=0.5)
    listing = "; ".join(f"{s.name!r} ({s.stype}, {s.n_channels} ch, {s.rate:g} Hz, {s.host})" for s in visible)
    raise StreamNotFoundError(
        f"no LSL stream with {selector.describe()} appeared within {timeout:g} s. "
        + (f"Visible streams: {listing}. " if visible else "No LSL stream is visible at all. ")
        + not_found_advice(selector)
    )


def not_found_advice(selector: StreamSelector) -> str:
    """What to check when ``selector`` matched no stream: the device for a live stream, LSL itself for a replay."""
    if selector.replay_of is not None:
        return (
            f"This stream is the replay of {selector.replay_of}, played by SAMBA-Live on this machine (no hardware "
            "is involved); a replay that plays but is not found means LSL does not see this machine's own "
            "streams: a liblsl configuration file "
            "(LSLAPICFG, lsl_api.cfg) may restrict discovery (ResolveScope, KnownPeers) or a firewall may block "
            "UDP on the loopback interface. See 'Restricted LSL configurations' in the README; "
            "`samba-live --list-streams` shows what LSL sees."
        )
    return ("Check that the amplifier software is streaming and that the name is spelled exactly "
            "(use `samba-live --list-streams`).")


@dataclass(frozen=True)
class StreamLayout:
    """Channels and timing of a connected stream.

    Parameters
    ----------
    summary : StreamSummary
    labels, types, units : tuple of str
        Per channel, from ``<desc><channels>``; labels default to ``Ch1..ChN`` when the
        stream describes no channels (a device profile can then place them by position).
    channels : tuple of dict
        Parsed channel descriptions for :func:`montages.resolve_montage` (``stream_channels``).
    replay_speed : float
        1 for live streams; the speed-up of a time-compressed replay.
    """

    summary: StreamSummary
    labels: tuple[str, ...]
    types: tuple[str | None, ...]
    units: tuple[str | None, ...]
    channels: tuple[dict, ...]
    replay_speed: float = 1.0

    @property
    def nominal_rate(self) -> float:
        """Rate (Hz) that the stream's timestamps follow."""
        return self.summary.rate

    @property
    def physical_rate(self) -> float:
        """Rate (Hz) at which the data was sampled: what filters and the model must assume."""
        return self.summary.rate / self.replay_speed

    @classmethod
    def from_info(cls, sinfo) -> StreamLayout:
        """Read the layout from a full stream info (``StreamInlet.get_sinfo()``)."""
        xml = sinfo.as_xml
        summary = StreamSummary.from_info(sinfo)
        parsed = stream_channels_from_xml(xml)
        if len(parsed) != summary.n_channels:
            parsed = [{"label": f"Ch{i + 1}", "type": None, "unit": None, "location": None} for i in range(summary.n_channels)]
        labels = tuple(ch.get("label") or f"Ch{i + 1}" for i, ch in enumerate(parsed))
        return cls(
            summary=summary, labels=labels, types=tuple(ch.get("type") for ch in parsed),
            units=tuple(ch.get("unit") for ch in parsed), channels=tuple(parsed), replay_speed=_replay_speed(xml),
        )

    def same_channels(self, other: StreamLayout) -> bool:
        """Whether ``other`` can reuse this layout's montage and model session."""
        return (
            self.labels == other.labels and self.types == other.types and self.units == other.units
            and math.isclose(self.physical_rate, other.physical_rate)
        )


def _replay_speed(xml: str) -> float:
    node = ET.fromstring(xml).find(f"./desc/{REPLAY_TAG}/speed")
    if node is None or not (node.text or "").strip():
        return 1.0
    speed = float(node.text)
    return speed if math.isfinite(speed) and speed > 0 else 1.0
