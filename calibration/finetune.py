"""Model surgery for fine-tuning: head replacement, what is trained, and caching what is not.

Fine-tuning modes (``train``):

``heads``
    Only the task's classification head (RMSNorm + linear on the bottleneck tokens).
    The frozen network runs once per epoch set; training then touches cached bottleneck
    features only, which takes seconds.
``last-stage``
    The bottleneck encoder stage (its Mamba blocks) plus the head. The frozen part up to
    the last downsampling runs once; its output tokens are cached.
``all``
    Every parameter, spatial embedding included, on the raw epochs.

A cached prefix is exact, not an approximation: the frozen layers are deterministic
and causal, so their output for an epoch does not depend on what is trained after them.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import Tensor, nn

from samba_core import Samba, SambaConfig

TRAIN_MODES = ("heads", "last-stage", "all")
#: The training mode of ``samba-calibrate`` and of the GUI's calibration when a protocol names none.
DEFAULT_TRAIN_MODE = "heads"


def with_head(config: SambaConfig, task: str, classes: tuple[str, ...]) -> SambaConfig:
    """``config`` whose head ``task`` predicts ``classes`` (added if absent, replaced if different)."""
    heads = [(name, tuple(c)) for name, c in config.heads]
    names = [name for name, _ in heads]
    if task in names:
        heads[names.index(task)] = (task, tuple(classes))
    else:
        heads.append((task, tuple(classes)))
    return dataclasses.replace(config, heads=tuple(heads))


def adapt_heads(model: Samba, task: str, classes: tuple[str, ...], seed: int = 0) -> tuple[Samba, bool]:
    """A model whose ``task`` head predicts ``classes``, keeping every other weight of ``model``.

    When the head already predicts exactly these classes (same names, same order) the
    model is returned as is. Otherwise a network is built with the new head and all
    weights are copied except that head's (freshly initialised from ``seed``).

    Returns
    -------
    (model, replaced) : the model to fine-tune and whether the head was replaced.
    """
    if tuple(model.config.head_classes.get(task, ())) == tuple(classes):
        return model, False
    torch.manual_seed(seed)
    new = Samba(with_head(model.config, task, classes))
    prefix = f"heads.{task}."
    state = {k: v for k, v in model.state_dict().items() if not k.startswith(prefix)}
    missing, unexpected = new.load_state_dict(state, strict=False)
    assert all(k.startswith(prefix) for k in missing) and not unexpected, (missing, unexpected)
    return new, True


def set_trainable(model: Samba, mode: str, task: str) -> list[nn.Parameter]:
    """Freeze everything except what ``mode`` trains; return the trainable parameters."""
    if mode not in TRAIN_MODES:
        raise ValueError(f"train mode must be one of {TRAIN_MODES}, got {mode!r}")
    for p in model.parameters():
        p.requires_grad_(mode == "all")
    if mode == "all":
        return [p for p in model.parameters()]
    trained: list[nn.Module] = [model.heads[task]]
    if mode == "last-stage":
        trained.append(model.encoder[-1])
    params = [p for module in trained for p in module.parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


def decision_token_start(decision_start: int, hop: int) -> int:
    """First bottleneck token emitted inside the decision window.

    Token ``j`` is emitted when input sample ``(j + 1) * hop - 1`` arrives; it belongs to
    the decision window when that sample does (``>= decision_start``). The live decoder's
    per-token probabilities for a trial are those of the tokens from this one on.
    """
    return max(0, math.ceil((decision_start + 1) / hop) - 1)


@torch.no_grad()
def frozen_prefix(model: Samba, mode: str, x: Tensor, coords: Tensor, batch_size: int = 16) -> Tensor:
    """What the frozen part of the network computes for ``x``; the input of :func:`trainable_forward`.

    x: (epochs, channels, samples) µV; coords: (channels, 3) m. Returns ``x`` for
    ``all``, the last stage's input tokens (epochs, tokens, d_last) for ``last-stage``,
    and the bottleneck tokens (epochs, tokens, d_last) for ``heads``.
    """
    if mode == "all":
        return x
    was_training = model.training
    model.eval()
    weights = model.spatial_weights(coords)
    out = []
    for i in range(0, x.size(0), batch_size):
        xb = x[i : i + batch_size]
        if mode == "heads":
            out.append(model(xb, spatial_weights=weights, decoder=False).features)
            continue
        h = model.embed(xb, weights)
        for stage, down in zip(model.encoder[:-1], model.downsample):
            for block in stage:
                h, _ = block(h)
            h, _ = down(h)
        out.append(h)
    model.train(was_training)
    return torch.cat(out)


def trainable_forward(model: Samba, mode: str, task: str, inputs: Tensor, coords: Tensor) -> Tensor:
    """Logits (batch, tokens, classes) of head ``task`` from :func:`frozen_prefix` outputs."""
    if mode == "all":
        return model(inputs, coords, decoder=False).logits[task]
    h = inputs
    if mode == "last-stage":
        for block in model.encoder[-1]:
            h, _ = block(h)
    return model.heads[task](h)


@torch.no_grad()
def bottleneck_features(model: Samba, mode: str, inputs: Tensor, coords: Tensor, batch_size: int = 16) -> Tensor:
    """Bottleneck tokens (epochs, tokens, d_last) from :func:`frozen_prefix` outputs, without gradients."""
    if mode == "heads":
        return inputs
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, inputs.size(0), batch_size):
        h = inputs[i : i + batch_size]
        if mode == "all":
            out.append(model(h, coords, decoder=False).features)
            continue
        for block in model.encoder[-1]:
            h, _ = block(h)
        out.append(h)
    model.train(was_training)
    return torch.cat(out)

