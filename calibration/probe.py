"""Linear probe: fit a head's linear layer on frozen bottleneck tokens, exactly and with chosen regularisation.

The head is ``RMSNorm -> Linear`` on each bottleneck token. The probe

1. standardises the normalised tokens per feature (mean ``mu``, std ``sigma`` over the
   training tokens): raw token features share a large constant component that would make
   plain gradient descent crawl and would make one L2 penalty mean different things for
   different features;
2. fits an L2-regularised multinomial logistic regression to every token of the decision
   window (each trial has the same number of tokens, so each trial weighs the same; classes
   are weighted to weigh the same, as balanced accuracy weighs them), to convergence with L-BFGS: the problem is convex, so the result does not depend on a
   learning rate or a step count;
3. chooses the L2 strength by grouped, stratified inner cross-validation on the training
   trials, scoring held-out trials on their mean token logits (the epoch decision);
4. folds the standardisation into the linear layer, ``W' = W / sigma``,
   ``b' = b - W' mu``: the head keeps its architecture and the live decoder, which reads
   per-token probabilities, needs nothing new.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import StratifiedGroupKFold
from torch import Tensor, nn

#: L2 strengths tried (penalty ``l2 * ||W||^2`` added to the mean token cross-entropy).
L2_GRID = (1e-3, 1e-2, 1e-1, 1.0)


def class_weights(y: Tensor, n_classes: int) -> Tensor:
    """Balanced class weights ``n / (classes present * count_c)``: each class weighs the same in the loss.

    The decisions are scored by balanced accuracy, so the loss weighs classes as the metric does;
    with equal trials per class every weight is 1 (plain cross-entropy).
    """
    counts = torch.bincount(y, minlength=n_classes).float()
    present = counts > 0
    w = torch.zeros(n_classes)
    w[present] = counts.sum() / (present.sum() * counts[present])
    return w


def _fit(z: Tensor, y: Tensor, l2: float, n_classes: int) -> tuple[Tensor, Tensor]:
    """Class-balanced logistic regression on standardised tokens z: (trials, tokens, d); returns (W: (k, d), b: (k,))."""
    d = z.size(-1)
    weight = torch.zeros(n_classes, d, requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    optimiser = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=200, line_search_fn="strong_wolfe")
    tokens, targets = z.reshape(-1, d), y.repeat_interleave(z.size(1))
    balance = class_weights(y, n_classes)

    def closure() -> Tensor:
        optimiser.zero_grad()
        loss = F.cross_entropy(tokens @ weight.T + bias, targets, weight=balance) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return weight.detach(), bias.detach()


def trial_scores(token_logits: Tensor, y: Tensor) -> tuple[float, float]:
    """Cross-entropy (nats) and balanced accuracy of trials decided by their mean token logits.

    token_logits: (trials, tokens, classes); y: (trials,).
    """
    if y.numel() == 0:
        return float("nan"), float("nan")
    logits = token_logits.mean(1)
    pred = logits.argmax(-1)
    recalls = [float((pred[y == c] == c).float().mean()) for c in torch.unique(y)]
    return float(F.cross_entropy(logits, y)), sum(recalls) / len(recalls)


def fit_linear_probe(
    head: nn.Sequential, features: Tensor, y: Tensor, groups: np.ndarray, train_idx: np.ndarray, first_token: int, *,
    l2_grid: tuple[float, ...] = L2_GRID, inner_folds: int = 4, seed: int = 0,
) -> tuple[float, list[dict]]:
    """Fit ``head[1]`` (the linear layer) in place on the training trials.

    Parameters
    ----------
    head : RMSNorm -> Linear
    features : (trials, tokens, d) bottleneck tokens of the frozen network
    y : (trials,) class indices; groups : (trials,) ids kept on one side of inner splits
    train_idx : trials to fit on
    first_token : first token of the decision window

    Returns
    -------
    (l2, path) : the chosen L2 strength and, per strength, the inner-CV held-out loss and
    balanced accuracy (``[{"l2", "val_loss", "val_balanced_accuracy"}, ...]``).
    """
    norm, linear = head[0], head[1]
    k = linear.out_features
    train_idx = np.asarray(train_idx)
    with torch.no_grad():
        z = norm(features[train_idx, first_token:])  # (trials, window tokens, d)
        flat = z.reshape(-1, z.size(-1))
        mu, sigma = flat.mean(0), flat.std(0).clamp_min(1e-6)
        z = (z - mu) / sigma
    yt, gt = y[train_idx], np.asarray(groups)[train_idx]
    per_class = min(np.unique(gt[yt.numpy() == c]).size for c in np.unique(yt.numpy()))
    n_splits = min(inner_folds, per_class)
    path: list[dict] = []
    if n_splits >= 2:
        splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)
        splits = list(splitter.split(np.zeros(len(yt)), yt.numpy(), gt))
        for l2 in l2_grid:
            scores = []
            for fit_idx, val_idx in splits:
                w, b = _fit(z[fit_idx], yt[fit_idx], l2, k)
                scores.append(trial_scores(z[val_idx] @ w.T + b, yt[val_idx]))
            path.append({"l2": l2, "val_loss": float(np.mean([s[0] for s in scores])),
                         "val_balanced_accuracy": float(np.mean([s[1] for s in scores]))})
        best = min(path, key=lambda r: r["val_loss"])["l2"]
    else:  # too few trials for an inner split: the middle of the grid
        best = l2_grid[len(l2_grid) // 2]
    w, b = _fit(z, yt, best, k)
    with torch.no_grad():
        linear.weight.copy_(w / sigma)
        linear.bias.copy_(b - (w / sigma) @ mu)
    return best, path
