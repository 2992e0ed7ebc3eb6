"""A minimal XDF writer (file header, stream headers, samples, footers) for reader and replay tests.

Follows the XDF 1.0 specification (https://github.com/sccn/xdf/wiki/Specifications):
chunks of [length-size byte][length][2-byte tag][content], little endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def _varlen(n: int) -> bytes:
    if n < 256:
        return bytes([1]) + struct.pack("<B", n)
    if n < 2**32:
        return bytes([4]) + struct.pack("<I", n)
    return bytes([8]) + struct.pack("<Q", n)


def _chunk(tag: int, content: bytes) -> bytes:
    body = struct.pack("<H", tag) + content
    return _varlen(len(body)) + body


@dataclass
class XdfStream:
    """One stream to write: ``values`` (samples, channels) numbers, or a list of strings for a string stream.

    ``unit``: per-stream channel unit (None writes no ``<unit>``); ``channel_types``: per channel
    (default: the stream type); ``locations``: per channel (x, y, z) mm or None.
    """

    name: str
    stype: str
    labels: list[str]
    rate: float
    times: np.ndarray
    values: np.ndarray | list[str]
    fmt: str = "float32"
    unit: str | None = "microvolts"
    channel_types: list[str] | None = None
    locations: list[tuple[float, float, float] | None] | None = None


_FORMATS = {"float32": "<f4", "double64": "<f8", "int32": "<i4", "int16": "<i2"}


def _header_xml(sid: int, s: XdfStream) -> bytes:
    kinds = s.channel_types or [s.stype] * len(s.labels)
    locs = s.locations or [None] * len(s.labels)
    channels = "".join(
        f"<channel><label>{lab}</label><type>{kind}</type>" + (f"<unit>{s.unit}</unit>" if s.unit else "")
        + (f"<location><X>{loc[0]}</X><Y>{loc[1]}</Y><Z>{loc[2]}</Z></location>" if loc else "") + "</channel>"
        for lab, kind, loc in zip(s.labels, kinds, locs, strict=True)
    )
    return (
        f'<?xml version="1.0"?><info><name>{s.name}</name><type>{s.stype}</type><channel_count>{len(s.labels)}'
        f"</channel_count><nominal_srate>{s.rate}</nominal_srate><channel_format>{s.fmt}</channel_format>"
        f"<source_id>{s.name}</source_id><created_at>0</created_at><uid>{sid}</uid>"
        f"<desc><channels>{channels}</channels></desc></info>"
    ).encode()


def _samples(sid: int, s: XdfStream, start: int, stop: int) -> bytes:
    content = bytearray(struct.pack("<I", sid) + _varlen(stop - start))
    for k in range(start, stop):
        content += bytes([8]) + struct.pack("<d", s.times[k])
        if s.fmt == "string":
            raw = str(s.values[k]).encode()
            content += _varlen(len(raw)) + raw
        else:
            content += np.asarray(s.values[k], _FORMATS[s.fmt]).reshape(-1).tobytes()
    return bytes(content)


def write_streams(path: Path, streams: list[XdfStream]) -> Path:
    """Write several streams (ids 1, 2, ...) with their samples in chunks of 100, then the footers."""
    out = bytearray(b"XDF:")
    out += _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')
    for sid, s in enumerate(streams, 1):
        out += _chunk(2, struct.pack("<I", sid) + _header_xml(sid, s))
    for sid, s in enumerate(streams, 1):
        for start in range(0, len(s.times), 100):
            out += _chunk(3, _samples(sid, s, start, min(start + 100, len(s.times))))
    for sid, s in enumerate(streams, 1):
        if not len(s.times):
            continue
        footer = (f'<?xml version="1.0"?><info><first_timestamp>{s.times[0]}</first_timestamp><last_timestamp>'
                  f"{s.times[-1]}</last_timestamp><sample_count>{len(s.times)}</sample_count></info>").encode()
        out += _chunk(6, struct.pack("<I", sid) + footer)
    path.write_bytes(bytes(out))
    return path


def write_xdf(path: Path, eeg: np.ndarray, rate: float, labels: list[str], t0: float,
              markers: list[tuple[float, str]]) -> Path:
    """Write ``eeg`` (samples, channels) µV at ``rate`` from LSL time ``t0``, plus string markers."""
    times = t0 + np.arange(len(eeg)) / rate
    return write_streams(path, [
        XdfStream("EEG-rec", "EEG", labels, rate, times, eeg),
        XdfStream("Cues", "Markers", ["cue"], 0, np.array([t for t, _ in markers]), [m for _, m in markers],
                  fmt="string", unit="none"),
    ])
