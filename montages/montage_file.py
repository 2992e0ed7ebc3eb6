"""Electrode positions from a file: every format MNE reads, plus a small JSON format.

Positions are brought into the head frame with the file's fiducials (nasion, LPA, RPA,
also when stored as channels named Nz/LPA/RPA or FidNz/FidT9/FidT10). Without fiducials,
positions on a sphere around the origin (EEGLAB .loc, BESA, unit-sphere layouts) get the
fiducials MNE's own spherical templates assume, so they land where MNE's BioSemi/EasyCap
templates do; anything else is taken as head frame already, and the report says so.
Units come from the file where the format defines them (.elc, our JSON) and are
otherwise checked against the size of a head, so a file in millimetres is not read as
metres.

Our JSON format::

    {"units": "mm", "frame": "head",
     "channels": {"Fp1": [-29.4, 83.9, -7.0], "Fp2": [29.8, 84.1, -7.0]}}

``frame`` is ``"head"`` (kept as it is), ``"sphere"`` (positions on a sphere around its
centre, e.g. exported from a spherical layout: moved into the head frame with the
fiducials MNE's spherical templates assume) or any other name together with
``"fiducials": {"nasion": [...], "lpa": [...], "rpa": [...]}`` in the same units.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import MontageError
from .head_frame import (
    HEAD_RADIUS_M,
    LENGTH_UNITS,
    apply_affine,
    fiducial_transform,
    implausibility,
    infer_length_scale,
    is_sphere_centred,
    positions_to_head,
    sphere_fiducials,
    unit_name,
)
from .labels import label_key

# Formats mne.channels.read_custom_montage reads. head_size=None keeps measured
# coordinates as they are (units then come from the file or from their size); the others
# are unit-sphere or angle formats that need a head radius.
_MNE_CUSTOM_MEASURED = {".elc", ".sfp", ".xyz", ".csv", ".tsv"}
_MNE_CUSTOM_SPHERICAL = {".loc", ".locs", ".eloc", ".csd", ".elp", ".bvef", ".txt"}
_OTHER_MNE = {".hpts", ".bvct", ".fif"}
SUPPORTED_SUFFIXES = tuple(
    sorted(_MNE_CUSTOM_MEASURED | _MNE_CUSTOM_SPHERICAL | _OTHER_MNE | {".json"})
)
_HOW_NOTES = {
    "sphere": "positions lie on a sphere around the origin and the file has no fiducials: "
    "moved into the head frame with the fiducials MNE's spherical templates assume "
    "(nasion and pre-auricular points 25 degrees below the equator)",
    "assumed-head": "the file has no nasion/LPA/RPA fiducials: its positions are taken "
    "as already in the head frame (x right, y front, z up, origin between the ears)",
}
_JSON_KEYS = {"units", "frame", "channels", "fiducials", "description", "source", "name"}


@dataclass(frozen=True)
class MontageFile:
    """Head-frame positions read from one montage file.

    Attributes
    ----------
    path : str
        The file, as given.
    positions : dict[str, tuple[str, np.ndarray]]
        ``label key -> (label as written in the file, (3,) position in metres)``.
    notes : tuple[str, ...]
        Remarks for the report (missing fiducials, inferred units, skipped entries).
    """

    path: str
    positions: dict[str, tuple[str, np.ndarray]]
    notes: tuple[str, ...]

    def lookup(self, *labels: str | None) -> tuple[str, np.ndarray] | None:
        """(file label, position) of the first of ``labels`` the file knows, else None."""
        for label in labels:
            if label:
                hit = self.positions.get(label_key(label))
                if hit is not None:
                    return hit
        return None


def _error(path: str, problem: str) -> MontageError:
    return MontageError(
        f"Montage file '{path}' cannot be used: {problem}. Fix the file, or leave "
        "montage_file out to place channels by device profile or 10-05 label.",
        kind="montage-file",
        channels=(),
    )


def _read_json(path: str) -> tuple[dict[str, np.ndarray], list[str]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _error(path, f"not readable as JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise _error(path, "the top level must be a JSON object")
    unknown = set(data) - _JSON_KEYS
    if unknown:
        raise _error(path, f"unknown keys {sorted(unknown)} (allowed: {sorted(_JSON_KEYS)})")
    units = data.get("units")
    if units not in ("m", "cm", "mm"):
        raise _error(path, f'"units" must be "m", "cm" or "mm", not {units!r}')
    scale = LENGTH_UNITS[units]
    channels = data.get("channels")
    if not isinstance(channels, dict) or not channels:
        raise _error(path, '"channels" must be a non-empty object {"label": [x, y, z]}')

    def xyz(name: str, value: object) -> np.ndarray:
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            arr = np.empty(0)
        if arr.shape != (3,) or not np.all(np.isfinite(arr)):
            raise _error(path, f"{name} must be three finite numbers [x, y, z], got {value!r}")
        return arr * scale

    points = {str(k): xyz(f"channel {k!r}", v) for k, v in channels.items()}
    frame = data.get("frame", "head")
    if frame == "head":
        return points, []
    if frame == "sphere":
        radius = float(np.median([np.linalg.norm(p) for p in points.values()]))
        trans = fiducial_transform(*sphere_fiducials(radius))
        moved = apply_affine(trans, np.array(list(points.values())))
        return dict(zip(points, moved, strict=True)), [_HOW_NOTES["sphere"]]
    fids = data.get("fiducials")
    if not isinstance(fids, dict) or not {"nasion", "lpa", "rpa"} <= set(fids):
        raise _error(
            path,
            f'frame {frame!r} needs "fiducials": {{"nasion": [...], "lpa": [...], '
            '"rpa": [...]}} to convert to the head frame (or use "frame": "head" or '
            '"sphere")',
        )
    fiducials = {k: xyz(f"fiducial {k!r}", fids[k]) for k in ("nasion", "lpa", "rpa")}
    points, _ = positions_to_head(points, fiducials)
    return points, [f"converted from frame {frame!r} to the head frame with its fiducials"]


def _read_with_mne(path: str, suffix: str) -> tuple[dict, dict, bool]:
    """(channel positions, fiducials, declared head frame) as MNE's reader gives them."""
    import mne

    try:
        if suffix in _MNE_CUSTOM_MEASURED:
            montage = mne.channels.read_custom_montage(path, head_size=None)
        elif suffix in _MNE_CUSTOM_SPHERICAL:
            montage = mne.channels.read_custom_montage(path)
        elif suffix == ".hpts":
            montage = mne.channels.read_dig_hpts(path)
        elif suffix == ".bvct":
            montage = mne.channels.read_dig_captrak(path)
        else:
            montage = mne.channels.read_dig_fif(path)
        pos = montage.get_positions()
    except Exception as exc:  # noqa: BLE001 - MNE's readers raise many types
        raise _error(path, f"MNE could not read it ({type(exc).__name__}: {exc})") from exc
    fiducials = {k: pos.get(k) for k in ("nasion", "lpa", "rpa")}
    return dict(pos["ch_pos"]), fiducials, pos["coord_frame"] == "head"


def read_montage_file(path: str | os.PathLike) -> MontageFile:
    """Read a montage file into head-frame positions in metres.

    Parameters
    ----------
    path : str | os.PathLike
        A file in any format of :data:`SUPPORTED_SUFFIXES`.

    Raises
    ------
    MontageError
        (kind "montage-file") naming the file and what is wrong with it.
    """
    shown = os.fspath(path)
    suffix = Path(shown).suffix.lower()
    if not Path(shown).is_file():
        raise _error(shown, "no such file")
    if suffix not in SUPPORTED_SUFFIXES:
        raise _error(
            shown, f"unknown format {suffix or '(no extension)'!r}; supported: "
            + " ".join(SUPPORTED_SUFFIXES)
        )
    if suffix == ".json":
        points, notes = _read_json(shown)
    else:
        raw, fiducials, declared_head = _read_with_mne(shown, suffix)
        finite = [p for p in raw.values() if np.all(np.isfinite(p))]
        if not finite:
            raise _error(shown, "it holds no electrode positions")
        notes = []
        scale = _length_scale(np.array(finite, dtype=float), notes)
        points, how = positions_to_head(
            {n: np.asarray(p, float) * scale for n, p in raw.items()},
            {k: None if v is None else np.asarray(v, float) * scale for k, v in fiducials.items()},
            declared_head=declared_head,
        )
        notes += [_HOW_NOTES[how]] if how in _HOW_NOTES else []
    if not points:
        raise _error(shown, "it holds no electrode positions")

    names = list(points)
    array = np.array([points[n] for n in names], dtype=float)
    positions: dict[str, tuple[str, np.ndarray]] = {}
    skipped = []
    for name, pos in zip(names, array, strict=True):
        problem = implausibility(pos)
        if problem is not None:
            skipped.append(f"{name} ({problem})")
            continue
        positions.setdefault(label_key(name), (name, pos))
    if skipped and not positions:
        raise _error(shown, "none of its positions is plausible for a head: " + _first(skipped))
    if skipped:
        notes.append("implausible positions not used: " + _first(skipped))
    return MontageFile(shown, positions, tuple(notes))


def _first(items: list[str], limit: int = 5) -> str:
    more = f"; ... and {len(items) - limit} more" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more


def _length_scale(array: np.ndarray, notes: list[str]) -> float:
    """Metres per file unit for a format that does not state its unit."""
    radius = float(np.median(np.linalg.norm(array, axis=1)))
    if is_sphere_centred(array) and 0.5 < radius < 2.0:
        # A unit sphere: no length unit fits, so use the head radius MNE gives templates.
        notes.append(
            f"positions lie on a unit sphere: scaled to a {HEAD_RADIUS_M * 1000:.0f} mm "
            "head radius"
        )
        return HEAD_RADIUS_M / radius
    scale = infer_length_scale(array)
    if scale != 1.0:
        notes.append(f"positions are only plausible as {unit_name(scale)}; read them so")
    return scale
