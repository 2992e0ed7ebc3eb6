"""Scalp maps without a toolkit: electrode positions to a 2D head plot, values to an image.

Electrode positions arrive in the montage head frame (metres; +x right ear, +y nose,
+z up; see :mod:`montages`). They are drawn on a flat disc with the *azimuthal
equidistant* projection around the vertical axis through :data:`HEAD_CENTRE`: the
distance from the centre of the disc is the polar angle from the top of the head, so
the ring of electrodes at ear level (Fpz, T7, Oz, T8) lies near the head circle of
radius 1 and lower sites (Iz, the T9/T10 row) fall just outside it, as in MNE's plots.

Topomaps interpolate one value per electrode over the disc with a thin-plate spline,
masked outside the head. All functions are pure numpy/scipy so that they can be tested alone.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RBFInterpolator
from scipy.spatial import cKDTree

#: Centre of the projection in the montage head frame (m): roughly the centre of the
#: sphere through the 10-20 electrodes, lowered so the ear-level ring sits on the circle.
HEAD_CENTRE = np.array([0.0, 0.018, 0.035])

#: Radius (disc units) beyond which the map is not drawn: the head circle plus a margin
#: for the electrodes below ear level.
MAP_RADIUS = 1.2


def project_electrodes(coords: np.ndarray, centre: np.ndarray = HEAD_CENTRE) -> np.ndarray:
    """Azimuthal equidistant projection of electrode positions onto the head disc.

    Parameters
    ----------
    coords : (channels, 3) float
        Positions in metres in the montage head frame; NaN rows stay NaN.
    centre : (3,) float
        Projection centre in metres.

    Returns
    -------
    (channels, 2) float
        Disc coordinates: the vertex at (0, 0), the ear-level ring at radius ~1, the nose
        towards +y and the right ear towards +x.
    """
    v = np.asarray(coords, dtype=np.float64) - centre
    norm = np.linalg.norm(v, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        polar = np.arccos(np.clip(v[:, 2] / norm, -1.0, 1.0))
    azimuth = np.arctan2(v[:, 1], v[:, 0])
    rho = polar / (np.pi / 2)
    return np.stack([rho * np.cos(azimuth), rho * np.sin(azimuth)], axis=1)


def interpolate_maps(xy: np.ndarray, values: np.ndarray, resolution: int = 64,
                     radius: float = MAP_RADIUS) -> np.ndarray:
    """Interpolate electrode values over the head disc, several maps at once.

    A thin-plate spline through the electrodes (scipy's ``RBFInterpolator``): smooth,
    exact at the electrodes, and continued gently to the edge of the disc. Solving once
    for all maps costs a few milliseconds for 64 electrodes and 32 maps.

    Parameters
    ----------
    xy : (channels, 2) float
        Disc coordinates (see :func:`project_electrodes`); rows with NaN are ignored.
    values : (channels,) or (channels, maps) float
        Values per electrode (per map); electrodes with a NaN value in any map are ignored.
    resolution : int
        Pixels per side of each square image.
    radius : float
        Half-width of the images in disc units; pixels outside this circle are NaN.

    Returns
    -------
    (maps, resolution, resolution) float, or (resolution, resolution) for 1-D ``values``
        ``image[i, j]`` is the value at ``x = grid[i]``, ``y = grid[j]`` (x-major, as
        pyqtgraph's ImageItem expects), with ``grid = linspace(-radius, radius, resolution)``.
        All NaN when fewer than 3 electrodes are usable.
    """
    xy = np.asarray(xy, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    single = values.ndim == 1
    v = values[:, None] if single else values
    ok = np.isfinite(xy).all(axis=1) & np.isfinite(v).all(axis=1)
    grid = np.linspace(-radius, radius, resolution)
    gx, gy = np.meshgrid(grid, grid, indexing="ij")
    images = np.full((v.shape[1], resolution, resolution), np.nan)
    if ok.sum() >= 3:
        points = np.stack([gx.ravel(), gy.ravel()], axis=1)
        try:
            spline = RBFInterpolator(xy[ok], v[ok], kernel="thin_plate_spline")
            images = spline(points).T.reshape(v.shape[1], resolution, resolution)
        except np.linalg.LinAlgError:  # degenerate layouts (e.g. collinear electrodes): nearest electrode
            _, nearest = cKDTree(xy[ok]).query(points)
            images = v[ok][nearest].T.reshape(v.shape[1], resolution, resolution)
        images[:, gx**2 + gy**2 > radius**2] = np.nan
    return images[0] if single else images


def head_outline(n: int = 101) -> dict[str, np.ndarray]:
    """Head circle, nose and ears as polylines in disc units, for drawing.

    Returns
    -------
    dict
        ``"head"``, ``"nose"``, ``"left_ear"``, ``"right_ear"``: (points, 2) arrays.
    """
    t = np.linspace(0, 2 * np.pi, n)
    head = np.stack([np.cos(t), np.sin(t)], axis=1)
    nose = np.array([[-0.09, 0.995], [0.0, 1.12], [0.09, 0.995]])
    ear_y = np.array([0.1, 0.16, 0.12, -0.05, -0.18, -0.16])
    ear_x = np.array([1.0, 1.04, 1.08, 1.09, 1.05, 1.0])
    return {"head": head, "nose": nose, "right_ear": np.stack([ear_x, ear_y], axis=1),
            "left_ear": np.stack([-ear_x, ear_y], axis=1)}


def symmetric_limits(values: np.ndarray) -> tuple[float, float]:
    """Colour limits centred on zero (signed weights read as red/blue around white)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    m = float(np.abs(finite).max()) if finite.size else 1.0
    m = m if m > 0 else 1.0
    return -m, m


#: How each spatial front end's weights read on screen: (panel title, what one map is, colour legend).
SPATIAL_MAP_WORDING = {
    "cdse": ("CDSE latent patterns", "CDSE latent spatial channel", "signed weight per electrode (blue − / red +)"),
    "virtual-sites": ("SAIE virtual-site weights", "SAIE virtual site",
                      "interpolation weight per electrode (white 0 → red; each map sums to 1)"),
}


def spatial_map_title(kind: str, names: tuple[str, ...], k: int, n: int) -> tuple[str, str]:
    """(thumbnail label, rich-text caption) of map ``k`` of ``n`` for the spatial front end ``kind``.

    CDSE maps are numbered latent patterns; SAIE maps are named by their virtual site.
    Raises KeyError for an unknown kind.
    """
    _, what, legend = SPATIAL_MAP_WORDING[kind]
    if kind == "virtual-sites" and k < len(names):
        return names[k], f"{what} <b>{names[k]}</b> ({k + 1} of {n}): {legend}"
    return f"#{k + 1}", f"{what} <b>{k + 1}</b> of {n}: {legend}"
