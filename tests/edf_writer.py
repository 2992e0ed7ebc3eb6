"""A minimal EDF+/BDF+ writer for reader tests: discontinuous records, raw annotation bytes, a Status channel.

Follows the EDF+ specification (Kemp & Olivan 2003): a 256-byte header, 256 bytes per
signal, then data records of 16-bit (EDF) or 24-bit (BDF) little-endian samples, with
an annotation signal whose first TAL in each record keeps the record's start time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pad(text: str | bytes, size: int) -> bytes:
    raw = text.encode("latin-1") if isinstance(text, str) else text
    assert len(raw) <= size, (text, size)
    return raw + b" " * (size - len(raw))


def _num(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e8:
        return str(int(value))
    return next(t for t in (f"{value:.{p}g}" for p in range(6, 0, -1)) if len(t) <= 8)


def _tal(onset: float, text: bytes = b"", duration: float | None = None) -> bytes:
    head = f"{onset:+.4f}".rstrip("0").rstrip(".").encode()
    if duration is not None:
        head += b"\x15" + f"{duration:g}".encode()
    return head + b"\x14" + (text + b"\x14" if text else b"\x14") + b"\x00"


def write_edf(
    path: Path, data: np.ndarray, rate: float, labels: list[str], *, unit: str = "uV",
    annotations: list[tuple[float, float, bytes]] = (), record_onsets: list[float] | None = None,
    status: np.ndarray | None = None, bdf: bool = False,
) -> Path:
    """Write ``data`` (channels, samples) in ``unit``, one-second records.

    ``annotations``: (onset s, duration s, text bytes, in any encoding). ``record_onsets``:
    start time of each record (seconds); given, the file is EDF+D / BDF+D. ``status``:
    (samples,) integer codes written as a ``Status`` channel (BioSemi's trigger channel).
    """
    spr = int(rate)
    n_records = data.shape[1] // spr
    data = data[:, : n_records * spr]
    onsets = list(record_onsets) if record_onsets is not None else [float(k) for k in range(n_records)]
    assert len(onsets) == n_records
    bits = 24 if bdf else 16
    dmax, dmin = 2 ** (bits - 1) - 1, -(2 ** (bits - 1))
    peak = float(np.abs(data).max()) or 1.0
    signals = [(lab, unit, -peak, peak, dmin, dmax, data[i]) for i, lab in enumerate(labels)]
    if status is not None:
        signals.append(("Status", "Boolean", dmin, dmax, dmin, dmax, np.asarray(status[: n_records * spr], float)))
    # Annotation texts go into the record that covers their onset; each record starts with its time-keeping TAL.
    tals = [[_tal(o)] for o in onsets]
    for onset, duration, text in annotations:
        k = max(i for i, o in enumerate(onsets) if o <= onset + 1e-9)
        tals[k].append(_tal(onset, text, duration or None))
    ann_bytes = max(len(b"".join(t)) for t in tals) + 8
    ann_samples = -(-ann_bytes // (bits // 8))
    ns = len(signals) + 1
    kind = ("BDF+D" if bdf else "EDF+D") if record_onsets is not None else ("BDF+C" if bdf else "EDF+C")
    head = (b"\xffBIOSEMI" if bdf else _pad("0", 8)) + _pad("X X X X", 80) + _pad("Startdate 01-JAN-2020 X X X", 80)
    head += _pad("01.01.20", 8) + _pad("00.00.00", 8) + _pad(str(256 * (ns + 1)), 8) + _pad(kind, 44)
    head += _pad(str(n_records), 8) + _pad("1", 8) + _pad(str(ns), 4)
    ann_label = "BDF Annotations" if bdf else "EDF Annotations"
    rows = [(s[0], s[1], s[2], s[3], s[4], s[5], spr) for s in signals] + [(ann_label, "", -1, 1, dmin, dmax, ann_samples)]
    for size, values in ((16, [r[0] for r in rows]), (80, [""] * ns), (8, [r[1] for r in rows]),
                         (8, [_num(r[2]) for r in rows]), (8, [_num(r[3]) for r in rows]),
                         (8, [str(r[4]) for r in rows]), (8, [str(r[5]) for r in rows]), (80, [""] * ns),
                         (8, [str(r[6]) for r in rows]), (32, [""] * ns)):
        head += b"".join(_pad(v, size) for v in values)
    body = bytearray()
    dtype = "<i4" if bdf else "<i2"
    for k in range(n_records):
        for _, _, pmin, pmax, lo, hi, values in signals:
            x = values[k * spr : (k + 1) * spr]
            digital = np.round((x - pmin) / (pmax - pmin) * (hi - lo) + lo).astype(np.int64)
            raw = np.clip(digital, lo, hi).astype(dtype).tobytes()
            body += b"".join(raw[i : i + 3] for i in range(0, len(raw), 4)) if bdf else raw
        text = b"".join(tals[k])
        body += text + b"\x00" * (ann_samples * (bits // 8) - len(text))
    path.write_bytes(head + bytes(body))
    return path
