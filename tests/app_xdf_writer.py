"""A minimal XDF writer (file header, stream headers, samples, footers) for replay tests.

Follows the XDF 1.0 specification (https://github.com/sccn/xdf/wiki/Specifications):
chunks of [length-size byte][length][2-byte tag][content], little endian.
"""

from __future__ import annotations

import struct
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


def _header_xml(sid: int, name: str, stype: str, labels: list[str], rate: float, fmt: str, unit: str) -> bytes:
    channels = "".join(
        f"<channel><label>{lab}</label><type>{stype}</type><unit>{unit}</unit></channel>" for lab in labels
    )
    return (
        f'<?xml version="1.0"?><info><name>{name}</name><type>{stype}</type><channel_count>{len(labels)}'
        f"</channel_count><nominal_srate>{rate}</nominal_srate><channel_format>{fmt}</channel_format>"
        f"<source_id>{name}</source_id><created_at>0</created_at><uid>{sid}</uid>"
        f"<desc><channels>{channels}</channels></desc></info>"
    ).encode()


def write_xdf(path: Path, eeg: np.ndarray, rate: float, labels: list[str], t0: float,
              markers: list[tuple[float, str]]) -> Path:
    """Write ``eeg`` (samples, channels) µV at ``rate`` from LSL time ``t0``, plus string markers."""
    out = bytearray(b"XDF:")
    out += _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')
    out += _chunk(2, struct.pack("<I", 1) + _header_xml(1, "EEG-rec", "EEG", labels, rate, "float32", "microvolts"))
    out += _chunk(2, struct.pack("<I", 2) + _header_xml(2, "Cues", "Markers", ["cue"], 0, "string", "none"))
    times = t0 + np.arange(len(eeg)) / rate
    for start in range(0, len(eeg), 100):
        block = eeg[start : start + 100]
        content = bytearray(struct.pack("<I", 1) + _varlen(len(block)))
        for k, row in enumerate(block):
            content += bytes([8]) + struct.pack("<d", times[start + k]) + np.asarray(row, "<f4").tobytes()
        out += _chunk(3, bytes(content))
    content = bytearray(struct.pack("<I", 2) + _varlen(len(markers)))
    for t, text in markers:
        raw = text.encode()
        content += bytes([8]) + struct.pack("<d", t) + _varlen(len(raw)) + raw
    out += _chunk(3, bytes(content))
    for sid, first, last, count in ((1, times[0], times[-1], len(eeg)),
                                    (2, markers[0][0], markers[-1][0], len(markers))):
        footer = (f'<?xml version="1.0"?><info><first_timestamp>{first}</first_timestamp><last_timestamp>{last}'
                  f"</last_timestamp><sample_count>{count}</sample_count></info>").encode()
        out += _chunk(6, struct.pack("<I", sid) + footer)
    path.write_bytes(bytes(out))
    return path
