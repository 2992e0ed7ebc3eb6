"""Scalp projection, topomap interpolation and trace decimation (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from app.gui.topography import MAP_RADIUS, interpolate_maps, project_electrodes, symmetric_limits
from app.gui.traces import decimate_peaks, robust_scales
from montages import resolve_montage

LABELS = ["Fpz", "Cz", "Oz", "T7", "T8", "C3", "C4", "Fz", "Pz", "O1", "O2", "F7", "F8", "P7", "P8"]


def test_projection_puts_the_vertex_in_the_middle_and_the_ear_ring_on_the_circle():
    coords = resolve_montage(LABELS, ["eeg"] * len(LABELS)).coords
    xy = dict(zip(LABELS, project_electrodes(coords)))
    assert np.linalg.norm(xy["Cz"]) < 0.15
    assert xy["Fpz"][1] > 0.8 and xy["Oz"][1] < -0.6  # nose up, back down
    assert xy["T7"][0] < -0.8 and xy["T8"][0] > 0.8  # left ear left
    for ring in ("Fpz", "T7", "T8", "Oz"):
        assert 0.75 < np.linalg.norm(xy[ring]) < 1.15, ring
    assert np.linalg.norm(xy["C3"]) < np.linalg.norm(xy["T7"])
    nan = project_electrodes(np.array([[np.nan] * 3, [0.0, 0.0, 0.1]]))
    assert np.isnan(nan[0]).all() and np.isfinite(nan[1]).all()


def test_maps_pass_through_the_electrodes_and_are_masked_outside_the_head():
    coords = resolve_montage(LABELS, ["eeg"] * len(LABELS)).coords
    xy = project_electrodes(coords)
    values = np.stack([xy[:, 0], 2.0 - xy[:, 1]], axis=1)  # two linear fields: left-right, front-back
    res = 81
    images = interpolate_maps(xy, values, resolution=res)
    assert images.shape == (2, res, res)
    grid = np.linspace(-MAP_RADIUS, MAP_RADIUS, res)
    i, j = np.abs(grid - xy[1, 0]).argmin(), np.abs(grid - xy[1, 1]).argmin()  # the pixel nearest to Cz
    assert images[0, i, j] == pytest.approx(grid[i], abs=0.05)
    assert images[1, i, j] == pytest.approx(2.0 - grid[j], abs=0.05)
    assert np.isnan(images[:, 0, 0]).all() and np.isfinite(images[:, res // 2, res // 2]).all()
    one = interpolate_maps(xy, values[:, 0], resolution=res)
    np.testing.assert_allclose(one, images[0], atol=1e-9, equal_nan=True)
    assert np.isnan(interpolate_maps(xy[:2], values[:2, 0], resolution=8)).all()  # too few electrodes


def test_symmetric_limits_centre_signed_weights_on_zero():
    assert symmetric_limits(np.array([-0.2, 0.5, np.nan])) == (-0.5, 0.5)
    assert symmetric_limits(np.zeros(3)) == (-1.0, 1.0)


def test_decimation_keeps_spikes_and_the_newest_sample():
    t = np.arange(10_000) / 1000.0
    x = np.zeros((2, t.size))
    x[0, 1234] = 50.0
    x[1, 5000:5003] = np.nan
    td, y = decimate_peaks(t, x, max_points=200)
    assert y.shape == (2, 200) and td.shape == (200,)
    assert y[0].max() == 50.0 and td[-1] == t[-1] and td[0] <= t[50]  # the whole window is drawn
    assert np.all(np.diff(td) >= 0)
    td, y = decimate_peaks(t[:1600], x[:, :1600], max_points=1200)
    assert y.shape[1] <= 1200 and td[0] <= t[2] and td[-1] == t[1599]
    short_t, short_y = decimate_peaks(t[:100], x[:, :100], max_points=200)
    assert short_y.shape == (2, 100)


def test_robust_scales_ignore_spikes_and_floor_flat_channels():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 10.0, (3, 2000))
    x[0, ::100] = 1e4
    x[1] = 0.0
    x[2, :500] = np.nan
    s = robust_scales(x)
    assert 20 < s[0] < 35 and s[1] == 1.0 and 20 < s[2] < 35
