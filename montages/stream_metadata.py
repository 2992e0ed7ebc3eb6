"""Electrode positions carried by the stream itself (LSL/XDF channel meta-data).

We assume stream locations are in the head frame, as the XDF meta-data convention for
EEG describes them (x to the right ear, y to the nose, z up). XDF puts the origin at
"the centre of the head"; MNE's head frame puts it between the pre-auricular points.
The two agree for measured layouts written in the head frame; positions that lie on a
sphere around the origin (template layouts) are taken as sphere-centred and moved up into
the head frame, as for spherical montage files.
The convention says millimetres, but devices send m, cm and mm alike, so the unit comes
from a length unit in the channel's ``unit`` field when there is one (that field usually
holds the *signal* unit, e.g. "microvolts", which is ignored), otherwise from the size of
the positions across the stream. A position that cannot be on a scalp (all zeros, more
than 0.2 m from the centre, inside the head) is never used: the channel falls back to
label lookup and the report says why.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .head_frame import (
    apply_affine,
    fiducial_transform,
    implausibility,
    infer_length_scale,
    is_sphere_centred,
    length_unit_scale,
    sphere_fiducials,
    unit_name,
)


@dataclass(frozen=True)
class StreamLocation:
    """What the stream says about one channel's position.

    Attributes
    ----------
    position_m : np.ndarray | None
        Head-frame position in metres when usable, else None.
    problem : str | None
        Why a location the stream gave is not used (None when usable or absent).
    unit_note : str
        How the unit was determined, e.g. "mm, from the unit field".
    """

    position_m: np.ndarray | None
    problem: str | None = None
    unit_note: str = ""


def _as_xyz(location: object) -> np.ndarray | None:
    """A (3,) float array from a tuple/list/mapping location, or None when absent."""
    if location is None:
        return None
    if isinstance(location, Mapping):
        lowered = {str(k).lower(): v for k, v in location.items()}
        values = [lowered.get(axis) for axis in ("x", "y", "z")]
    elif isinstance(location, str):
        values = location.replace(",", " ").split()
    else:
        values = list(location)
    if len(values) != 3 or any(v is None or v == "" for v in values):
        return None if all(v is None or v == "" for v in values) else np.full(3, np.nan)
    try:
        xyz = np.array([float(v) for v in values], dtype=float)
    except (TypeError, ValueError):
        return np.full(3, np.nan)
    # NaN everywhere is how MNE-LSL and XDF writers say "no location".
    return None if np.all(np.isnan(xyz)) else xyz


def read_stream_locations(
    stream_channels: Sequence[Mapping], n_channels: int
) -> tuple[list[StreamLocation | None], list[str]]:
    """Usable head-frame positions from parsed LSL channel descriptions.

    Parameters
    ----------
    stream_channels : Sequence[Mapping]
        One mapping per channel with optional keys ``label``, ``type``, ``unit``,
        ``location`` (x, y, z tuple, {"x","y","z"} mapping or None) and
        ``location_unit`` ("m", "cm", "mm"; overrides ``unit`` for the location).
    n_channels : int
        Number of channels in the stream, to check the list against.

    Returns
    -------
    locations : list[StreamLocation | None]
        Per channel; None where the stream gives no location.
    notes : list[str]
        Stream-level remarks for the report (e.g. how the unit was inferred).
    """
    raw: list[np.ndarray | None] = [_as_xyz(ch.get("location")) for ch in stream_channels]
    if len(raw) != n_channels:
        raise ValueError(
            f"stream_channels describes {len(raw)} channels but there are {n_channels} "
            "labels; pass one entry per channel, in stream order"
        )
    # An explicit "location_unit" (our extension) wins over "unit", which only counts
    # when it is a length unit.
    declared = [
        length_unit_scale(ch.get("location_unit")) or length_unit_scale(ch.get("unit"))
        for ch in stream_channels
    ]
    undeclared = [
        xyz for xyz, scale in zip(raw, declared, strict=True)
        if xyz is not None and scale is None and np.all(np.isfinite(xyz))
    ]
    notes = []
    inferred = infer_length_scale(np.array(undeclared)) if undeclared else 1.0
    if undeclared:
        median_mm = float(np.median(np.linalg.norm(np.array(undeclared), axis=1))) * inferred * 1000
        notes.append(
            f"stream locations without a length unit read as {unit_name(inferred)} "
            f"(median distance from the head centre then {median_mm:.0f} mm)"
        )
    if any(xyz is not None and scale is not None for xyz, scale in zip(raw, declared, strict=True)):
        notes.append("stream locations with a length unit (m, cm, mm) read in that unit")
    scaled = [
        None if xyz is None else xyz * (inferred if scale is None else scale)
        for xyz, scale in zip(raw, declared, strict=True)
    ]
    usable = [p for p in scaled if p is not None and np.all(np.isfinite(p)) and np.any(p)]
    shift = np.zeros(3)
    if is_sphere_centred(np.array(usable)):
        # A real head-frame layout is never spherical around the origin between the ears;
        # positions on a sphere are centred on the head (the XDF wording), so they get the
        # fiducials MNE's spherical templates assume.
        radius = float(np.median(np.linalg.norm(np.array(usable), axis=1)))
        shift = apply_affine(fiducial_transform(*sphere_fiducials(radius)), np.zeros(3))[0]
        notes.append(
            "stream locations lie on a sphere around the head centre: moved up "
            f"{shift[2] * 1000:.0f} mm into the head frame (origin between the ears)"
        )
    locations: list[StreamLocation | None] = []
    for xyz, scale, position in zip(raw, declared, scaled, strict=True):
        if xyz is None:
            locations.append(None)
            continue
        if scale is None:
            how = f"{unit_name(inferred)}, inferred from magnitude"
        else:
            how = f"{unit_name(scale)}, from the unit field"
        if np.all(np.isfinite(position)) and np.any(position):
            position = position + shift
        problem = implausibility(position)
        if problem is None:
            locations.append(StreamLocation(position, None, how))
        else:
            shown = ", ".join(f"{v:g}" for v in xyz)
            locations.append(
                StreamLocation(None, f"stream location ({shown}) [{how}] is {problem}", how)
            )
    return locations, notes


def stream_channels_from_xml(xml: str) -> list[dict]:
    """Parse the ``<desc><channels>`` of an LSL stream-info XML into ``stream_channels``.

    Understands the XDF convention (``<label>``, ``<type>``, ``<unit>``,
    ``<location><X/><Y/><Z/></location>``) and MNE-LSL's ``<loc><R0x/>...`` (metres),
    e.g. from ``pylsl.StreamInfo.as_xml()`` or ``mne_lsl.lsl.StreamInfo.as_xml``.

    Returns
    -------
    list[dict]
        One dict per ``<channel>`` with keys label, type, unit, location (tuple or None).
        Empty when the stream describes no channels.
    """
    root = ET.fromstring(xml)
    channels = root.find("./desc/channels")
    if channels is None:
        return []

    def text(node: ET.Element, tag: str) -> str | None:
        child = node.find(tag)
        return child.text.strip() if child is not None and child.text else None

    parsed = []
    for ch in channels.findall("channel"):
        location = None
        loc = ch.find("location")
        if loc is not None:
            location = tuple(text(loc, axis) for axis in ("X", "Y", "Z"))
        entry = {
            "label": text(ch, "label"),
            "type": text(ch, "type"),
            "unit": text(ch, "unit"),
            "location": location,
        }
        mne_loc = ch.find("loc")
        if location is None and mne_loc is not None:
            entry["location"] = tuple(text(mne_loc, tag) for tag in ("R0x", "R0y", "R0z"))
            entry["location_unit"] = "m"
        parsed.append(entry)
    return parsed
