"""The paper's window-level quantile probe and its four scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from calibration.quantile_probe import (
    STATISTICS, QuantileProbeClassifier, intermediate_tokens, quantile_statistics, window_metrics,
)
from helpers.models import random_montage
from samba_core import load_checkpoint

C, T, START = 8, 384, 96


def test_quantile_statistics_of_a_ramp():
    ramp = np.arange(101, dtype=float)  # 0..100: quantile q is q
    tokens = np.stack([ramp, -ramp], axis=-1)[None]  # (1, 101, 2)
    stats = quantile_statistics(tokens).reshape(len(STATISTICS), 2)
    np.testing.assert_allclose(stats[:, 0], [0, 100, 50, np.std(ramp), 5, 25, 50, 75, 95])
    np.testing.assert_allclose(stats[:, 1], [-100, 0, -50, np.std(ramp), -95, -75, -50, -25, -5])
    with pytest.raises(ValueError, match="at least one token"):
        quantile_statistics(np.zeros((2, 0, 3)))


def test_window_metrics_perfect_chance_and_inverted():
    y = np.array([0, 0, 1, 1, 1, 1])
    perfect = np.eye(2)[y] * 0.8 + 0.1
    m = window_metrics(y, perfect)
    assert m == {"balanced_accuracy": 1.0, "f1": 1.0, "cohen_kappa": 1.0, "auroc": 1.0}
    inverted = window_metrics(y, perfect[:, ::-1])
    assert inverted["balanced_accuracy"] == 0.0 and inverted["auroc"] == 0.0 and inverted["cohen_kappa"] < 0
    constant = window_metrics(y, np.tile([0.6, 0.4], (6, 1)))
    assert constant["balanced_accuracy"] == 0.5 and constant["cohen_kappa"] == 0.0 and constant["auroc"] == 0.5
    three = window_metrics(np.array([0, 1, 2, 2]), np.eye(3)[[0, 1, 2, 1]])
    assert three["balanced_accuracy"] == pytest.approx((1 + 1 + 0.5) / 3) and 0 < three["auroc"] < 1


def test_pooled_tokens_are_the_bottleneck_input(base_checkpoint):
    model = load_checkpoint(base_checkpoint).model
    x = np.random.default_rng(0).normal(size=(3, C, 120)).astype(np.float32) * 10
    pooled = intermediate_tokens(model, x, random_montage(C), "pooled")
    out = intermediate_tokens(model, x, random_montage(C), "bottleneck")
    h = torch.from_numpy(pooled)
    with torch.no_grad():
        for block in model.encoder[-1]:
            h, _ = block(h)
    np.testing.assert_allclose(h.numpy(), out, atol=1e-5)
    assert pooled.shape == (3, 120 // model.config.hop, model.config.dims[-1])


@pytest.mark.parametrize("layer", ["pooled", "bottleneck"])
def test_probe_separates_rhythm_amplitudes(base_checkpoint, layer):
    rng = np.random.default_rng(1)
    y = np.array([0, 1] * 20)
    t = np.arange(T) / 256.0
    x = rng.normal(scale=5.0, size=(40, C, T)).astype(np.float32)
    x[y == 1] += (40.0 * np.sin(2 * np.pi * 10 * t)).astype(np.float32)
    probe = clone(QuantileProbeClassifier(base_checkpoint, random_montage(C), START, layer)).fit(x[:30], y[:30])
    proba = probe.predict_proba(x[30:])
    assert proba.shape == (10, 2) and np.allclose(proba.sum(1), 1)
    assert probe.score_windows(x[30:], y[30:])["balanced_accuracy"] >= 0.8
    with pytest.raises(ValueError, match="layer"):
        QuantileProbeClassifier(base_checkpoint, random_montage(C), START, "stem").fit(x[:4], y[:4])
