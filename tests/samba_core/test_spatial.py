"""CDSE: a function of electrode positions, invariant to channel order, robust to dropped channels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.models import random_montage
from samba_core.spatial import SpatialEmbedding


@pytest.fixture
def cdse():
    torch.manual_seed(0)
    return SpatialEmbedding(k=6, hidden=16, n_freq=4, scale=1.0, head_radius_m=0.095)


def test_weights_shape_and_l1_normalisation(cdse):
    coords = torch.from_numpy(random_montage(19))
    w = cdse.weights(coords)
    assert w.shape == (19, 6)
    torch.testing.assert_close(w.abs().sum(0), torch.ones(6), atol=1e-4, rtol=0)


def test_permuting_channels_with_coords_leaves_output_unchanged(cdse):
    coords = torch.from_numpy(random_montage(32))
    x = torch.randn(2, 32, 50)
    perm = torch.randperm(32)
    with torch.no_grad():
        torch.testing.assert_close(cdse(x[:, perm], coords[perm]), cdse(x, coords), rtol=1e-5, atol=1e-6)


def test_masked_channel_equals_montage_without_it(cdse):
    coords = torch.from_numpy(random_montage(10))
    x = torch.randn(1, 10, 30)
    mask = torch.ones(10, dtype=torch.bool)
    mask[3] = False
    x_bad = x.clone()
    x_bad[:, 3] = float("nan")  # a dead channel may deliver NaN: it must not leak
    coords_bad = coords.clone()
    coords_bad[3] = float("nan")
    keep = torch.arange(10) != 3
    with torch.no_grad():
        masked = cdse(x_bad, coords_bad, mask)
        reduced = cdse(x[:, keep], coords[keep])
    torch.testing.assert_close(masked, reduced, rtol=1e-5, atol=1e-6)
    assert torch.all(cdse.weights(coords_bad, mask)[3] == 0)


def test_any_channel_count_maps_to_same_latent_size(cdse):
    for c in (4, 19, 64, 128):
        assert cdse(torch.randn(1, c, 8), torch.from_numpy(random_montage(c, seed=c))).shape == (1, 8, 6)


def test_all_masked_is_a_clear_error(cdse):
    coords = torch.from_numpy(random_montage(4))
    with pytest.raises(ValueError, match="at least one usable EEG channel"):
        cdse.weights(coords, torch.zeros(4, dtype=torch.bool))


def test_nearby_positions_get_similar_weights(cdse):
    """Weights vary smoothly over the scalp: what makes them drawable as topomaps."""
    coords = torch.from_numpy(random_montage(64))
    w = cdse.encoder(coords).detach().numpy()
    d = np.linalg.norm(coords.numpy()[:, None] - coords.numpy()[None], axis=-1)
    dw = np.linalg.norm(w[:, None] - w[None], axis=-1)
    near = dw[(d > 0) & (d < 0.02)].mean()
    far = dw[d > 0.12].mean()
    assert near < far
