"""SambaClassifier: a scikit-learn classifier that fine-tunes exactly the parts it says, like the live decoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from calibration.estimator import SambaClassifier
from calibration.finetune import adapt_heads, decision_token_start
from calibration.probe import L2_GRID, fit_linear_probe
from helpers.models import random_montage, small_config
from samba_core import Samba, StreamingSession
from samba_core.mamba2 import RMSNorm

C, T, START = 8, 384, 96


def localized_rhythm(n: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class "a": an 11 Hz rhythm on channel 0; class "b": on channel 5 (µV, 256 Hz)."""
    rng = np.random.default_rng(seed)
    y = np.array(["a", "b"] * (n // 2))
    t = np.arange(T) / 256.0
    x = rng.normal(scale=5.0, size=(n, C, T)).astype(np.float32)
    for i, label in enumerate(y):
        x[i, 0 if label == "a" else 5] += 20.0 * np.sin(2 * np.pi * 11.0 * t + rng.uniform(0, 2 * np.pi))
    return x, y


def classifier(**kw) -> SambaClassifier:
    params = dict(coords=random_montage(C), decision_start=START, init_config=small_config(), max_epochs=3)
    params.update(kw)
    return SambaClassifier(None, **params)


def test_fit_predict_proba_learns_a_separable_rhythm():
    x, y = localized_rhythm(48)
    clf = clone(classifier(train="heads")).fit(x[:32], y[:32])
    proba = clf.predict_proba(x[32:])
    assert proba.shape == (16, 2) and np.allclose(proba.sum(1), 1.0, atol=1e-5)
    assert list(clf.classes_) == ["a", "b"]
    assert np.mean(clf.predict(x[32:]) == y[32:]) >= 0.8
    assert clf.history_ == [] and clf.best_phase_ == "probe"  # head only: no fine-tuning epochs
    assert clf.probe_l2_ in clf.probe_l2 and len(clf.probe_path_) == len(clf.probe_l2)
    assert clf.n_train_ == 32 and clf.n_val_ == 0


@pytest.mark.parametrize("mode, changed, frozen", [
    ("heads", ["heads.mi.1."], ["encoder.", "spatial.", "heads.mi.0.", "heads.distraction."]),
    ("last-stage", ["heads.mi.1.", "encoder.2."], ["encoder.0.", "encoder.1.", "spatial.", "stem."]),
    ("all", ["heads.mi.1.", "encoder.2.", "encoder.0.", "spatial."], ["heads.distraction.", "decoder."]),
])
def test_train_modes_change_only_what_they_train(mode, changed, frozen):
    x, y = localized_rhythm(16)
    # No early-stopping split: the last epoch is kept, so every trainable layer has moved.
    clf = classifier(train=mode, max_epochs=2, patience=5, val_fraction=0.0, class_names=("left", "right"))
    clf.fit(x, y)
    torch.manual_seed(0)
    before = Samba(small_config()).state_dict()
    after = clf.model_.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    for prefix in changed:
        assert any(k.startswith(prefix) for k in moved), f"{mode}: nothing under {prefix} was trained"
    for prefix in frozen:
        assert not any(k.startswith(prefix) for k in moved), f"{mode}: {prefix} changed but must stay frozen"


def test_epoch_decision_equals_the_mean_of_live_token_logits():
    x, y = localized_rhythm(8)
    clf = classifier(train="heads").fit(x, y)
    session = StreamingSession(clf.model_, random_montage(C), backend="torch")
    logits, index = [], []
    for chunk in np.array_split(x[3], 7, axis=1):  # live: arbitrary chunks
        out = session.push(chunk)
        logits.append(out.logits["mi"])
        index.append(out.sample_index)
    logits, index = np.concatenate(logits), np.concatenate(index)
    in_window = index >= START
    assert np.argmax(in_window) == decision_token_start(START, clf.model_.config.hop)
    assert np.allclose(clf.decision_logits(x[3:4])[0], logits[in_window].mean(0), atol=1e-4)


def test_a_four_class_protocol_replaces_only_the_head():
    torch.manual_seed(0)
    base = Samba(small_config())
    model, replaced = adapt_heads(base, "mi", ("left", "right", "feet", "tongue"))
    assert replaced and model.config.head_classes["mi"] == ("left", "right", "feet", "tongue")
    assert model.heads["mi"][1].out_features == 4
    same = {k: v for k, v in base.state_dict().items() if not k.startswith("heads.mi.")}
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in same.items())
    unchanged, replaced = adapt_heads(base, "mi", ("left", "right"))
    assert unchanged is base and not replaced
    renamed, replaced = adapt_heads(base, "mi", ("right", "left"))  # same names, other order: a new head
    assert replaced


def test_linear_probe_copes_with_a_large_shared_offset():
    """Token features with a big common component and a small class signal: the folded head separates them."""
    g = torch.Generator().manual_seed(0)
    n, tokens, d = 40, 12, 16
    y = torch.arange(n) % 2
    features = 5.0 + 0.05 * torch.randn(n, tokens, d, generator=g)
    features[:, :, 3] += 0.05 * (2 * y[:, None] - 1)
    head = torch.nn.Sequential(RMSNorm(d), torch.nn.Linear(d, 2))
    l2, path = fit_linear_probe(head, features, y, np.arange(n), np.arange(30), first_token=2)
    with torch.no_grad():
        pred = head(features[:, 2:]).mean(1).argmax(-1)
    assert (pred[30:] == y[30:]).float().mean() >= 0.9  # trials the probe never saw
    assert [r["l2"] for r in path] == list(L2_GRID) and l2 == min(path, key=lambda r: r["val_loss"])["l2"]


@pytest.mark.parametrize("share", [0.75, 0.9])
def test_probe_weighs_classes_as_balanced_accuracy_does(share):
    """A weak signal and a majority class: the probe must not settle for always predicting the majority."""
    g = torch.Generator().manual_seed(2)
    n, tokens, d = 80, 6, 8
    y = (torch.arange(n) >= int(share * n)).long()
    features = torch.randn(n, tokens, d, generator=g)
    features[:, :, 0] += 0.6 * (2 * y[:, None] - 1)
    head = torch.nn.Sequential(RMSNorm(d), torch.nn.Linear(d, 2))
    fit_linear_probe(head, features, y, np.arange(n), np.arange(n), first_token=0, l2_grid=(1e-2,))
    with torch.no_grad():
        pred = head(features).mean(1).argmax(-1)
    recalls = [float((pred[y == c] == c).float().mean()) for c in (0, 1)]
    assert min(recalls) > 0.6


def test_probe_folds_standardisation_exactly_into_the_head():
    g = torch.Generator().manual_seed(1)
    features = torch.randn(12, 6, 8, generator=g) * 3 + 2
    y = torch.arange(12) % 2
    head = torch.nn.Sequential(RMSNorm(8), torch.nn.Linear(8, 2))
    fit_linear_probe(head, features, y, np.arange(12), np.arange(12), first_token=0, l2_grid=(0.1,))
    z = head[0](features).detach()
    flat = z.reshape(-1, 8)
    zs = (z - flat.mean(0)) / flat.std(0)
    w = head[1].weight.detach() * flat.std(0)  # the standardised-space weights
    b = head[1].bias.detach() + (head[1].weight.detach() @ flat.mean(0))
    assert torch.allclose(head(features).detach(), zs @ w.T + b, atol=1e-4)


def test_bad_arguments_are_named():
    x, y = localized_rhythm(8)
    with pytest.raises(ValueError, match="train must be one of"):
        classifier(train="everything").fit(x, y)
    with pytest.raises(ValueError, match="needs coords"):
        classifier(coords=None).fit(x, y)
    with pytest.raises(ValueError, match=r"\(channels, 3\)"):
        classifier(coords=random_montage(C + 1)).fit(x, y)
