"""The TSRM objective as the trainer computes it: per-crop masked-reconstruction losses and one update step.

Temporal Semantic Random Masking hides stretches of time from the network (replaced by its
mask token after the spatial embedding) and the decoder must reconstruct them in every
channel; the mask and loss (ours or the paper's) are chosen by
:class:`~samba_core.masking.MaskingConfig` (:func:`~samba_core.masking.reconstruction_loss`).
With a causal decoder this is forecasting a hidden stretch from its past.

Each crop's loss is normalised on its own (its channels, its hidden samples) and a batch's
loss is the mean over crops. :func:`crop_losses` has two paths with the same values: crop by
crop (the reference, any crop lengths) and one pass over a batch of full-length crops (the
fast path, free of data-dependent shapes so a CUDA graph can capture it); a parity test
keeps them equal.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..masking import MaskingConfig, reconstruction_loss
from .batches import Batch


def crop_losses(recon: Tensor, batch: Batch, masking: MaskingConfig, scale_uv: float) -> tuple[Tensor, Tensor, Tensor]:
    """Per-crop (loss, mse, nmse), each (B,), on the crop's own channels and samples (padding excluded).

    ``nmse`` = squared error / target power on the hidden samples: 1 for predicting zeros.
    A batch of full-length crops (the usual case) is scored in one pass over the batch; a batch
    with shorter crops crop by crop, so that each spectrum is taken over the crop's own length.
    """
    if batch.full_length:
        return _full_length_crop_losses(recon, batch, masking, scale_uv)
    return _per_crop_losses(recon, batch, masking, scale_uv)


def _per_crop_losses(recon: Tensor, batch: Batch, masking: MaskingConfig, scale_uv: float) -> tuple[Tensor, Tensor, Tensor]:
    """``crop_losses`` one crop at a time, each on its own length and channels."""
    losses, mses, nmses = [], [], []
    for i, (length, width) in enumerate(zip(batch.lengths, batch.widths)):
        r = recon[i : i + 1, :width, :length].float()
        t = batch.x[i : i + 1, :width, :length]
        m = batch.time_mask[i : i + 1, :length]
        losses.append(reconstruction_loss(r, t, m, None, masking, scale_uv)[0])
        w = m.unsqueeze(1).float()
        err = ((r - t).pow(2) * w).sum()
        power = (t.pow(2) * w).sum()
        mses.append(err / (w.sum() * width).clamp_min(1) / scale_uv**2)
        nmses.append(err / power.clamp_min(1e-12))
    return torch.stack(losses), torch.stack(mses).detach(), torch.stack(nmses).detach()


def _full_length_crop_losses(recon: Tensor, batch: Batch, masking: MaskingConfig, scale_uv: float) -> tuple[Tensor, Tensor, Tensor]:
    """``crop_losses`` for crops that fill the batch's length, with channel padding masked instead of sliced.

    Same values as scoring each crop on its own (up to summation order), with no per-crop
    operations and no shapes taken from the batch's contents: what a captured CUDA graph needs.
    """
    r = recon.float()
    cm = batch.channel_mask.float()  # (B, C)
    tm = batch.time_mask.float()  # (B, T)
    weight = cm.unsqueeze(-1) * tm.unsqueeze(1)  # (B, C, T)
    hidden, width = tm.sum(-1), cm.sum(-1)
    loss = reconstruction_loss(r, batch.x, batch.time_mask, batch.channel_mask, masking, scale_uv)
    raw = r - batch.x
    err = (raw.pow(2) * weight).sum((1, 2))
    power = (batch.x.pow(2) * weight).sum((1, 2))
    mse = err / (width * hidden).clamp_min(1.0) / scale_uv**2
    nmse = err / power.clamp_min(1e-12)
    return loss, mse.detach(), nmse.detach()


def forward_losses(model: torch.nn.Module, batch: Batch, masking: MaskingConfig, scale_uv: float, *,
                   autocast: bool, graphs: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """TSRM forward pass over a batch and its per-crop (loss, mse, nmse); ``autocast``: bf16.

    ``graphs``: the pass is (or will be) captured as a CUDA graph, which must not keep
    autocast's cast weights from one replay to the next.
    """
    with torch.autocast(batch.x.device.type, dtype=torch.bfloat16, enabled=autocast, cache_enabled=not graphs):
        out = model(batch.x, batch.coords, batch.channel_mask, time_mask=batch.time_mask, decoder=True)
    return crop_losses(out.reconstruction, batch, masking, scale_uv)


def update_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: Batch, masking: MaskingConfig,
                scale_uv: float, grad_clip: float, *, autocast: bool, graphs: bool = False) -> tuple[Tensor, ...]:
    """One training step: forward, loss, backward, gradient clipping and the optimiser step.

    Returns (per-crop loss, mse, nmse, gradient norm) as device tensors, read by the caller
    when it needs them, so the step itself never waits on the device.
    """
    loss, mse, nmse = forward_losses(model, batch, masking, scale_uv, autocast=autocast, graphs=graphs)
    optimizer.zero_grad(set_to_none=True)
    loss.mean().backward()
    grad_norm = torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], grad_clip)
    optimizer.step()
    return loss.detach(), mse, nmse, grad_norm


__all__ = ["crop_losses", "forward_losses", "update_step"]
