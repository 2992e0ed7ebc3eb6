"""The one coordinate frame every resolved position is expressed in, and how to get there.

All positions leaving this package are in metres in MNE's "head" frame, defined by three
anatomical fiducials: the x axis runs from the left pre-auricular point (LPA) through the
right one (RPA), the y axis is perpendicular to it through the nasion, z points up
(x cross y). The origin is where the y axis meets the LPA-RPA line, i.e. midway between
LPA and RPA for a symmetric head. Scalp electrodes therefore sit 0.06-0.16 m from the
origin; Cz is about 0.14 m above it.

Anything that carries fiducials (MNE's built-in montages, most digitiser files) is
brought into this frame with the fiducial transform, so sources agree up to the head and
cap model they describe: MNE's spherical cap templates (BioSemi, EasyCap) and the
MRI-derived 10-05 template differ by about 2 cm on average, less than head-to-head
variation between people.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterable, Mapping

import numpy as np

#: Positions closer to the head-frame origin than this are not on a scalp (metres).
MIN_SCALP_DISTANCE_M = 0.03
#: Positions farther from the head-frame origin than this are not on a scalp (metres).
MAX_SCALP_DISTANCE_M = 0.2
#: Head radius MNE gives spherical templates; used for unit-sphere layouts (metres).
HEAD_RADIUS_M = 0.095
#: A typical scalp-electrode distance from the origin, used to guess units (metres).
TYPICAL_SCALP_DISTANCE_M = 0.1

#: Length units we accept, as metres per unit. Keys are lower-case.
LENGTH_UNITS: dict[str, float] = {
    "m": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "cm": 0.01,
    "centimeter": 0.01,
    "centimeters": 0.01,
    "centimetre": 0.01,
    "centimetres": 0.01,
    "mm": 0.001,
    "millimeter": 0.001,
    "millimeters": 0.001,
    "millimetre": 0.001,
    "millimetres": 0.001,
}
_UNIT_NAMES = {1.0: "m", 0.01: "cm", 0.001: "mm"}

#: The 10-05 template; MNE 1.13 renamed ``standard_1005`` to ``colin27_1005``.
STANDARD_TEMPLATE = "standard_1005"
_TEMPLATE_RENAMES = {"standard_1005": "colin27_1005", "standard_1020": "colin27_1020"}


def length_unit_scale(unit: str | None) -> float | None:
    """Metres per unit for a length-unit string, or None when it is not a length unit.

    Signal units such as "microvolts" (the usual content of an LSL ``<unit>``) give None.
    """
    if unit is None:
        return None
    return LENGTH_UNITS.get(str(unit).strip().lower())


def unit_name(scale: float) -> str:
    """Short name ("m", "cm", "mm") of a metres-per-unit scale."""
    return _UNIT_NAMES.get(scale, f"x{scale:g} m")


def infer_length_scale(points: np.ndarray) -> float:
    """Guess whether head positions are in m, cm or mm from their size.

    Parameters
    ----------
    points : np.ndarray, shape (n, 3)
        Positions in an unknown length unit, origin inside the head. Rows that are
        all-zero or non-finite are ignored.

    Returns
    -------
    float
        Metres per unit (1, 0.01 or 0.001): the unit whose median distance from the
        origin comes closest (on a log scale) to a typical scalp distance of 0.1 m.
        1.0 when no usable row is left.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    norms = np.linalg.norm(points, axis=1)
    norms = norms[np.isfinite(norms) & (norms > 0)]
    if norms.size == 0:
        return 1.0
    median = float(np.median(norms))
    return min(
        (1.0, 0.01, 0.001),
        key=lambda s: abs(math.log10(median * s / TYPICAL_SCALP_DISTANCE_M)),
    )


def implausibility(position_m: Iterable[float]) -> str | None:
    """Why a head-frame position (metres) cannot be a scalp electrode, or None if it can."""
    pos = np.asarray(list(position_m), dtype=float)
    if pos.shape != (3,) or not np.all(np.isfinite(pos)):
        return "not three finite numbers"
    if not np.any(pos):
        return "all zeros (a placeholder, not a measured position)"
    dist = float(np.linalg.norm(pos))
    if dist > MAX_SCALP_DISTANCE_M:
        return (
            f"{dist * 1000:.0f} mm from the head centre, more than the "
            f"{MAX_SCALP_DISTANCE_M * 1000:.0f} mm any scalp position can be"
        )
    if dist < MIN_SCALP_DISTANCE_M:
        return (
            f"{dist * 1000:.0f} mm from the head centre, inside the head "
            f"(scalp positions are at least {MIN_SCALP_DISTANCE_M * 1000:.0f} mm out)"
        )
    return None


def fiducial_transform(
    nasion: np.ndarray, lpa: np.ndarray, rpa: np.ndarray
) -> np.ndarray:
    """4x4 affine taking points of the fiducials' frame into the head frame."""
    from mne.transforms import get_ras_to_neuromag_trans

    return get_ras_to_neuromag_trans(
        np.asarray(nasion, float), np.asarray(lpa, float), np.asarray(rpa, float)
    )


def apply_affine(trans: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 affine to points of shape (n, 3)."""
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    return points @ trans[:3, :3].T + trans[:3, 3]


#: Fiducials of a sphere-centred cap lie 25 degrees below the equator (polar angle 115),
#: where MNE's spherical templates (BioSemi, EasyCap) put them.
_SPHERE_FIDUCIAL_POLAR = math.radians(115.0)
#: Positions whose distances from the origin vary less than this (relative standard
#: deviation) lie on a sphere around it: a real head-frame layout varies by ~20 %.
_SPHERICAL_SPREAD = 0.03
#: Channel names that are really fiducials in files that do not set them apart.
_FIDUCIAL_NAMES = {
    "nasion": ("NASION", "NAS", "NZ", "FIDNZ"),
    "lpa": ("LPA", "FIDT9"),
    "rpa": ("RPA", "FIDT10"),
}


def is_sphere_centred(points: np.ndarray) -> bool:
    """Whether positions cover a cap on one sphere around the origin.

    At least four positions, equally far from the origin (within 3 %) and spread from
    the vertex down towards the equator (heights differing by more than half the
    radius). A head-frame layout never passes: its origin sits between the ears, so
    equatorial electrodes (T7, Oz) are much nearer to it than Cz; a cluster of
    electrodes around the vertex, which can be equally far, fails the height test.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    norms = np.linalg.norm(points, axis=1)
    keep = np.isfinite(norms) & (norms > 0)
    points, norms = points[keep], norms[keep]
    if norms.size < 4 or float(norms.std() / norms.mean()) >= _SPHERICAL_SPREAD:
        return False
    return float(np.ptp(points[:, 2])) > 0.5 * float(norms.mean())


def sphere_fiducials(radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nasion, lpa, rpa) MNE's spherical templates assume for a cap of this radius."""
    s, c = math.sin(_SPHERE_FIDUCIAL_POLAR), math.cos(_SPHERE_FIDUCIAL_POLAR)
    return (
        np.array([0.0, radius * s, radius * c]),
        np.array([-radius * s, 0.0, radius * c]),
        np.array([radius * s, 0.0, radius * c]),
    )


def positions_to_head(
    positions: Mapping[str, np.ndarray],
    fiducials: Mapping[str, np.ndarray | None] | None = None,
    *,
    declared_head: bool = False,
) -> tuple[dict[str, np.ndarray], str]:
    """Bring electrode positions into the head frame by the best evidence available.

    Parameters
    ----------
    positions : Mapping[str, np.ndarray]
        Channel name to (3,) position in metres, in any frame. Channels named like
        fiducials (Nasion/NAS/Nz/FidNz, LPA/FidT9, RPA/FidT10) are used as fiducials when
        ``fiducials`` lacks them, and dropped.
    fiducials : Mapping[str, np.ndarray | None] | None
        "nasion", "lpa", "rpa" in the same frame and unit.
    declared_head : bool
        Whether the source says the positions are in the head frame already.

    Returns
    -------
    positions : dict[str, np.ndarray]
        Finite positions in the head frame.
    how : str
        "fiducials" (converted with fiducials), "head" (declared head frame, kept),
        "sphere" (on a sphere around the origin: converted with the fiducials MNE's
        spherical templates assume) or "assumed-head" (no evidence; kept as they are).
    """
    fids = {k: (None if v is None else np.asarray(v, float)) for k, v in (fiducials or {}).items()}
    points = {}
    for name, pos in positions.items():
        role = next((k for k, names in _FIDUCIAL_NAMES.items() if name.upper() in names), None)
        if role is not None:
            if fids.get(role) is None:
                fids[role] = np.asarray(pos, float)
            continue
        points[name] = np.asarray(pos, float)
    points = {n: p for n, p in points.items() if np.all(np.isfinite(p))}
    names = list(points)
    array = np.array([points[n] for n in names]).reshape(-1, 3)
    trio = [fids.get(k) for k in ("nasion", "lpa", "rpa")]
    if all(f is not None and np.all(np.isfinite(f)) for f in trio):
        array, how = apply_affine(fiducial_transform(*trio), array), "fiducials"
    elif is_sphere_centred(array):
        radius = float(np.median(np.linalg.norm(array, axis=1)))
        array, how = apply_affine(fiducial_transform(*sphere_fiducials(radius)), array), "sphere"
    else:
        how = "head" if declared_head else "assumed-head"
    return dict(zip(names, array, strict=True)), how


def montage_to_head(montage) -> tuple[dict[str, np.ndarray], str]:
    """Channel positions of an MNE DigMontage in the head frame.

    Parameters
    ----------
    montage : mne.channels.DigMontage
        Any montage; its units must already be metres.

    Returns
    -------
    positions, how
        As :func:`positions_to_head`.
    """
    pos = montage.get_positions()
    return positions_to_head(
        pos["ch_pos"],
        {k: pos.get(k) for k in ("nasion", "lpa", "rpa")},
        declared_head=pos["coord_frame"] == "head",
    )


def builtin_montage_name(name: str) -> str:
    """The name MNE knows a built-in montage by in the installed version.

    Raises
    ------
    KeyError
        When the installed MNE has no montage of that name.
    """
    from mne.channels import get_builtin_montages

    available = set(get_builtin_montages())
    renamed = _TEMPLATE_RENAMES.get(name)
    if renamed in available:
        return renamed
    if name in available:
        return name
    raise KeyError(name)


@functools.cache
def template_positions(name: str) -> Mapping[str, tuple[str, np.ndarray]]:
    """Head-frame positions of a built-in MNE montage, keyed by upper-case channel name.

    Parameters
    ----------
    name : str
        A name from ``mne.channels.get_builtin_montages()`` (``standard_1005`` is
        accepted on every MNE version).

    Returns
    -------
    Mapping[str, tuple[str, np.ndarray]]
        ``KEY -> (name as MNE spells it, (3,) position in metres)``. Cached; do not
        modify the arrays.
    """
    from mne.channels import make_standard_montage

    with warnings.catch_warnings():
        # Deprecation notices for renamed templates are handled by builtin_montage_name.
        warnings.simplefilter("ignore", FutureWarning)
        montage = make_standard_montage(builtin_montage_name(name))
    positions, _ = montage_to_head(montage)
    table = {}
    for ch, pos in positions.items():
        pos = pos.copy()
        pos.flags.writeable = False
        table[ch.upper()] = (ch, pos)
    return table
