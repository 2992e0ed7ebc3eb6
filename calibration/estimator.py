"""SambaClassifier: fine-tuning a SAMBA checkpoint as a scikit-learn classifier.

Wrapping the fine-tuner as an estimator lets SAMBA and the classic baselines run
through one cross-validation loop, on the same epochs and the same folds.

Epoch decision and training target, consistent with the live decoder
---------------------------------------------------------------------
The network emits one logit vector per bottleneck token (every ``config.hop`` input
samples), and the live decoder shows one probability vector per token. Training
therefore applies the cross-entropy to *every token* of the decision window (so each
token, as seen live, is trained to classify), and an epoch's prediction is the softmax
of the *mean token logits* over the decision window, which is what the live app
obtains by averaging a trial's token logits. The tokens before the window are context
(warm-up of the causal state) and carry no loss.

Training runs in two phases. First a linear probe fits the head on the frozen network's
bottleneck tokens (:mod:`calibration.probe`: convex, L2 chosen by inner cross-validation);
with ``train="heads"`` that is all. The other modes then fine-tune the deeper layers from
that head with AdamW; early stopping holds out ``val_fraction`` of the training groups
(stratified, so blocks are never split; the probe never sees them) and keeps the weights of
the epoch with the lowest held-out loss, the probe's own if no epoch beats it.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedGroupKFold
from tqdm.auto import tqdm

from samba_core import Samba, SambaConfig, load_checkpoint

from .finetune import (
    TRAIN_MODES, adapt_heads, bottleneck_features, decision_token_start, frozen_prefix, set_trainable, trainable_forward,
)
from .probe import L2_GRID, fit_linear_probe

#: Default learning rate per mode: the fewer weights are trained, the larger the step they tolerate.
DEFAULT_LR = {"heads": 3e-3, "last-stage": 1e-3, "all": 3e-4}


@dataclass
class EpochRecord:
    """One fine-tuning epoch: mean losses (cross-entropy, nats) and held-out balanced accuracy."""

    epoch: int
    train_loss: float
    val_loss: float
    val_balanced_accuracy: float
    seconds: float


class SambaClassifier(ClassifierMixin, BaseEstimator):
    """Fine-tune SAMBA on labelled epochs; predict class probabilities per epoch.

    Parameters
    ----------
    base_checkpoint : str or Path or None
        Checkpoint to start from; None starts from a random network built from ``init_config``.
    task : str
        Head to train (``"mi"``, ``"distraction"``); replaced when its classes differ from ``class_names``.
    coords : (channels, 3) array
        Electrode positions in metres, in the channel order of ``X``.
    decision_start : int
        Sample index within each epoch where the decision window starts (see module docstring).
    class_names : sequence of str or None
        Head class names for ``classes_`` in order; default: ``str`` of the labels.
    train : str
        ``"heads"``, ``"last-stage"`` or ``"all"`` (see :mod:`calibration.finetune`).
    max_epochs, patience : int
        Training epochs at most; stop after ``patience`` epochs without a better held-out loss.
    lr, weight_decay : float
        AdamW settings; ``lr=None`` takes :data:`DEFAULT_LR` of the mode.
    batch_size : int
    val_fraction : float
        Share of the training groups held out for early stopping; 0 trains on everything and
        stops on the training loss instead.
    max_shift : float
        Augmentation: each batch drops a random 0..max_shift seconds of the context at the
        epoch start (whole tokens), so the decision does not hinge on one state warm-up.
    gain_jitter : float
        Augmentation (``train="all"`` only): epochs are scaled by ``1 + N(0, gain_jitter)``.
    probe_l2 : tuple of float
        L2 strengths the linear probe chooses from by inner cross-validation (see :mod:`calibration.probe`).
    init_config : SambaConfig or None
        Network for ``base_checkpoint=None`` (default ``SambaConfig()``).
    random_state : int
    progress : bool
        Show a tqdm bar over training epochs.
    """

    def __init__(
        self, base_checkpoint: str | Path | None = None, task: str = "mi", coords=None, decision_start: int = 0,
        class_names=None, train: str = "heads", max_epochs: int = 40, patience: int = 8, lr: float | None = None,
        weight_decay: float = 1e-2, batch_size: int = 16, val_fraction: float = 0.2, max_shift: float = 0.5,
        gain_jitter: float = 0.1, probe_l2: tuple[float, ...] = L2_GRID, init_config: SambaConfig | None = None,
        random_state: int = 0, progress: bool = False,
    ) -> None:
        self.base_checkpoint = base_checkpoint
        self.task = task
        self.coords = coords
        self.decision_start = decision_start
        self.class_names = class_names
        self.train = train
        self.max_epochs = max_epochs
        self.patience = patience
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.max_shift = max_shift
        self.gain_jitter = gain_jitter
        self.probe_l2 = probe_l2
        self.init_config = init_config
        self.random_state = random_state
        self.progress = progress

    # -- set-up -----------------------------------------------------------------------
    def _base_model(self) -> Samba:
        if self.base_checkpoint is not None:
            return load_checkpoint(self.base_checkpoint).model
        torch.manual_seed(self.random_state)
        return Samba(self.init_config or SambaConfig())

    def _coords(self, n_channels: int) -> torch.Tensor:
        if self.coords is None:
            raise ValueError("SambaClassifier needs coords: the (channels, 3) electrode positions in metres")
        coords = torch.as_tensor(np.asarray(self.coords, dtype=np.float32))
        if coords.shape != (n_channels, 3):
            raise ValueError(f"coords has shape {tuple(coords.shape)}; X has {n_channels} channels, so (channels, 3) is needed")
        return coords

    def _split(self, y: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training / early-stopping indices, stratified by class, whole groups on one side."""
        if self.val_fraction <= 0:
            return np.arange(y.size), np.arange(0)
        n_splits = max(2, int(round(1.0 / self.val_fraction)))
        groups_per_class = min(np.unique(groups[y == k]).size for k in np.unique(y))
        n_splits = min(n_splits, groups_per_class)  # each side needs a whole group of every class
        if n_splits < 2:
            return np.arange(y.size), np.arange(0)
        splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=self.random_state)
        train, val = next(splitter.split(np.zeros(y.size), y, groups))
        return train, val

    # -- training ---------------------------------------------------------------------
    def fit(self, X, y, groups=None) -> "SambaClassifier":
        """X: (epochs, channels, samples) µV at the model rate; y: (epochs,) labels; groups: (epochs,) ids."""
        if self.train not in TRAIN_MODES:
            raise ValueError(f"train must be one of {TRAIN_MODES}, got {self.train!r}")
        X = np.asarray(X, dtype=np.float32)
        self.classes_, y_idx = np.unique(np.asarray(y), return_inverse=True)
        names = tuple(str(c) for c in (self.class_names if self.class_names is not None else self.classes_))
        if len(names) != len(self.classes_):
            raise ValueError(f"class_names {names} do not match the {len(self.classes_)} labels in y")
        groups = np.arange(y_idx.size) if groups is None else np.asarray(groups)
        coords = self._coords(X.shape[1])
        model, self.head_replaced_ = adapt_heads(self._base_model(), self.task, names, self.random_state)
        params = set_trainable(model, self.train, self.task)
        hop = model.config.hop
        first = decision_token_start(self.decision_start, hop)
        if X.shape[2] // hop <= first:
            raise ValueError(f"epochs of {X.shape[2]} samples end before the decision window (sample {self.decision_start})")

        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        # The head-only mode has no fine-tuning phase to stop early: its probe uses every trial
        # (it picks its regularisation by inner cross-validation).
        tr, va = (np.arange(y_idx.size), np.arange(0)) if self.train == "heads" else self._split(y_idx, groups)
        targets = torch.from_numpy(y_idx.astype(np.int64))
        inputs = frozen_prefix(model, self.train, torch.from_numpy(X), coords)
        # Linear probe first (exact, seconds), then fine-tune from it: starting the deeper layers from a
        # fitted head instead of a random one keeps them from being distorted by its early gradients.
        self.probe_l2_, self.probe_path_ = fit_linear_probe(
            model.heads[self.task], bottleneck_features(model, self.train, inputs, coords), targets, groups, tr, first,
            l2_grid=tuple(self.probe_l2), seed=self.random_state,
        )
        self.history_: list[EpochRecord] = []
        self.best_epoch_, self.best_phase_ = 0, "probe"
        if self.train != "heads" and self.max_epochs > 0:
            self._fine_tune(model, params, inputs, targets, y_idx, tr, va, coords, first, rng)
        for p in model.parameters():
            p.requires_grad_(False)
        self.model_ = model.eval()
        self.n_train_, self.n_val_ = int(tr.size), int(va.size)
        return self

    def _fine_tune(self, model: Samba, params, inputs, targets, y_idx, tr, va, coords, first, rng) -> None:
        """Mini-batch AdamW on the trainable layers with early stopping on the held-out loss."""
        hop = model.config.hop
        optimiser = torch.optim.AdamW(params, lr=self.lr or DEFAULT_LR[self.train], weight_decay=self.weight_decay)
        max_shift_tokens = min(int(self.max_shift * model.config.sample_rate) // hop, first)
        best_loss, _ = self._evaluate(model, inputs, y_idx, va, coords, first)
        if not va.size:
            best_loss = np.inf
        best_state, waited = copy.deepcopy(model.state_dict()), 0
        bar = tqdm(range(1, self.max_epochs + 1), desc=f"fine-tune ({self.train})", leave=False, disable=not self.progress)
        for epoch in bar:
            t0 = time.perf_counter()
            model.train()
            losses = []
            for batch in np.array_split(rng.permutation(tr), max(1, int(np.ceil(tr.size / self.batch_size)))):
                xb = inputs[batch]
                shift = int(rng.integers(0, max_shift_tokens + 1))
                if self.train == "last-stage":
                    xb = xb[:, shift:]  # cached tokens: drop context tokens
                else:
                    xb = xb[..., shift * hop :]
                    if self.gain_jitter > 0:
                        gain = 1.0 + self.gain_jitter * torch.randn(xb.size(0), 1, 1)
                        xb = xb * gain.clamp(0.5, 1.5)
                logits = trainable_forward(model, self.train, self.task, xb, coords)[:, first - shift :]
                loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)),
                                       targets[batch].repeat_interleave(logits.size(1)))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                losses.append(float(loss.detach()) * batch.size)
            train_loss = float(np.sum(losses) / tr.size)
            val_loss, val_bacc = self._evaluate(model, inputs, y_idx, va, coords, first)
            self.history_.append(EpochRecord(epoch, train_loss, val_loss, val_bacc, time.perf_counter() - t0))
            bar.set_postfix(train=f"{train_loss:.3f}", val=f"{val_loss:.3f}", bacc=f"{val_bacc:.2f}")
            score = val_loss if va.size else train_loss
            if score < best_loss - 1e-4:
                best_loss, waited = score, 0
                best_state = copy.deepcopy(model.state_dict())
                self.best_epoch_, self.best_phase_ = epoch, "fine-tune"
            else:
                waited += 1
                if waited >= self.patience:
                    break
        bar.close()
        model.load_state_dict(best_state)

    @torch.no_grad()
    def _evaluate(self, model: Samba, inputs, y_idx, idx, coords, first) -> tuple[float, float]:
        if idx.size == 0:
            return float("nan"), float("nan")
        model.eval()
        logits = torch.cat([
            trainable_forward(model, self.train, self.task, inputs[idx[i : i + 32]], coords)[:, first:].mean(1)
            for i in range(0, idx.size, 32)
        ])
        targets = torch.from_numpy(y_idx[idx].astype(np.int64))
        pred = logits.argmax(-1).numpy()
        recalls = [np.mean(pred[y_idx[idx] == k] == k) for k in np.unique(y_idx[idx])]
        return float(F.cross_entropy(logits, targets)), float(np.mean(recalls))

    # -- prediction -------------------------------------------------------------------
    @torch.no_grad()
    def token_logits(self, X) -> np.ndarray:
        """Logits of every token of the decision window, as the live decoder emits them: (epochs, tokens, classes)."""
        model = self.model_
        X = torch.from_numpy(np.asarray(X, dtype=np.float32))
        coords = self._coords(X.shape[1])
        first = decision_token_start(self.decision_start, model.config.hop)
        weights = model.spatial_weights(coords)
        out = [model(X[i : i + 32], spatial_weights=weights, decoder=False).logits[self.task][:, first:]
               for i in range(0, X.size(0), 32)]
        return torch.cat(out).numpy()

    def decision_logits(self, X) -> np.ndarray:
        """Mean token logits over the decision window: (epochs, classes)."""
        return self.token_logits(X).mean(axis=1)

    def predict_proba(self, X) -> np.ndarray:
        """(epochs, classes) probabilities, columns in the order of ``classes_``."""
        z = self.decision_logits(X)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_logits(X), axis=1)]
