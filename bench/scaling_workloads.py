"""The workloads that the scaling benchmarks train: SAMBA and a matched patch-Transformer baseline.

Shared by ``memory_scaling.py`` and ``kernel_speed.py``. Every workload takes EEG-like
input (batch, 64 channels, time) in microvolts and trains on the same loss: MSE of the
reconstruction plus the mean of every head's logits, so every parameter takes part in
the backward. See ``memory_scaling.py`` for why the baseline is matched as it is.
"""

from __future__ import annotations

import contextlib
import math
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from samba_core.config import SambaConfig
from samba_core.mamba2 import Mamba2Mixer
from samba_core.model import Samba
from samba_core.ssd import kernels_available

CHANNELS = 64
CUDA_GRID_LIMIT = 65_535  # CUDA's limit on a launch grid's y and z dimensions
WORKLOADS = ("samba_kernels", "samba_reference", "transformer_math", "transformer_fused")


def kernel_length_cap(config: SambaConfig, batch: int = 1) -> int:
    """Longest sequence (samples) the mamba_ssm kernels accept: batch x chunks and chunks x groups <= 65,535."""
    groups = 2 if config.differential else 1
    return CUDA_GRID_LIMIT // max(batch, groups) * config.chunk_size



class PatchTransformer(nn.Module):
    """Transformer-encoder baseline on patch tokens. x: (batch, channels, time) -> reconstruction, logits.

    Parameters
    ----------
    channels : int
        EEG channels; a token holds ``hop`` samples of all of them.
    hop : int
        Samples per token (SAMBA's bottleneck hop).
    d_model, nhead, layers : int
        Width, attention heads and number of encoder blocks.
    heads : tuple
        Classification heads ``((name, (class, ...)), ...)`` as in ``SambaConfig``.
    """

    def __init__(self, channels: int, hop: int, d_model: int, nhead: int, layers: int, heads) -> None:
        super().__init__()
        self.channels, self.hop, self.d_model = channels, hop, d_model
        self.embed = nn.Linear(channels * hop, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward=4 * d_model, dropout=0.0, activation="gelu",
            batch_first=True, norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.reconstruct = nn.Linear(d_model, channels * hop)
        self.heads = nn.ModuleDict({name: nn.Linear(d_model, len(classes)) for name, classes in heads})

    def positions(self, tokens: int, device: torch.device) -> Tensor:
        """Fixed sinusoidal positions (tokens, d_model): no parameters, no length limit."""
        pos = torch.arange(tokens, device=device, dtype=torch.float32)[:, None]
        even = torch.arange(0, self.d_model, 2, device=device, dtype=torch.float32)
        freq = torch.exp(even * (-math.log(1e4) / self.d_model))
        pe = torch.zeros(tokens, self.d_model, device=device)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
        return pe

    def forward(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        b, c, t = x.shape
        n = t // self.hop
        patches = x[..., : n * self.hop].reshape(b, c, n, self.hop).permute(0, 2, 1, 3).reshape(b, n, c * self.hop)
        h = self.embed(patches / 20.0) + self.positions(n, x.device)
        h = self.norm(self.encoder(h))
        recon = self.reconstruct(h).reshape(b, n, c, self.hop).permute(0, 2, 1, 3).reshape(b, c, n * self.hop)
        return recon * 20.0, {name: head(h) for name, head in self.heads.items()}


def transformer_for(config: SambaConfig, channels: int = CHANNELS) -> PatchTransformer:
    """The baseline matched to ``config``: see the module docstring."""
    d_model = max(config.dims)
    return PatchTransformer(
        channels, config.hop, d_model, d_model // config.headdim,
        sum(config.encoder_depths) + sum(config.decoder_depths), config.heads,
    )


def set_reference_scan(model: nn.Module, reference: bool) -> None:
    """Switch every Mamba2 mixer of ``model`` to the plain-PyTorch scan (True) or the kernels (False)."""
    for m in model.modules():
        if isinstance(m, Mamba2Mixer):
            m.use_kernels = not reference


def build_model(workload: str, device: torch.device) -> nn.Module:
    torch.manual_seed(0)
    config = SambaConfig()
    if workload.startswith("samba"):
        if workload == "samba_kernels" and not (device.type == "cuda" and kernels_available()):
            raise RuntimeError("samba_kernels needs CUDA and mamba_ssm (pip install samba-live[cuda])")
        model = Samba(config)
        set_reference_scan(model, workload == "samba_reference")
    else:
        model = transformer_for(config)
    return model.to(device)


def eeg_coords(channels: int = CHANNELS) -> Tensor:
    """Fixed electrode positions (channels, 3) in metres on a 9 cm sphere."""
    g = torch.Generator().manual_seed(1)
    return 0.09 * F.normalize(torch.randn(channels, 3, generator=g), dim=-1)


def eeg_batch(batch: int, length: int, device: torch.device, channels: int = CHANNELS) -> Tensor:
    """Random EEG-like input (batch, channels, length) in microvolts."""
    return 20.0 * torch.randn(batch, channels, length, device=device)


def training_loss(model: nn.Module, x: Tensor, coords: Tensor) -> Tensor:
    """Reconstruction MSE plus mean head logits: a loss that reaches every parameter."""
    if isinstance(model, Samba):
        out = model(x, coords)
        recon, logits = out.reconstruction, out.logits
    else:
        recon, logits = model(x)
    return F.mse_loss(recon, x[..., : recon.size(-1)]) + sum(v.mean() for v in logits.values())


def fused_sdpa_backend(device: torch.device) -> str | None:
    """The fused attention backend PyTorch can run for float32 training here, or None."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q = torch.randn(1, 6, 256, 16, device=device, requires_grad=True)
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("efficient", SDPBackend.EFFICIENT_ATTENTION)):
        try:
            with sdpa_kernel([backend]):
                F.scaled_dot_product_attention(q, q, q).sum().backward()
            return name
        except RuntimeError:
            continue
    return None


def attention_context(workload: str, device: torch.device):
    """Pin the attention backend of a Transformer workload; a no-op for SAMBA."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    if workload == "transformer_math":
        return sdpa_kernel([SDPBackend.MATH])
    if workload == "transformer_fused":
        name = fused_sdpa_backend(device)
        if name is None:
            raise RuntimeError("no fused attention backend supports float32 training on this device")
        return sdpa_kernel([SDPBackend.FLASH_ATTENTION if name == "flash" else SDPBackend.EFFICIENT_ATTENTION])
    return contextlib.nullcontext()


def sync(device: torch.device) -> None:
    """Wait for the device: host timers and memory counters read after it are complete."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_step(model: nn.Module, x: Tensor, coords: Tensor) -> None:
    """One forward + backward; gradients are freed first so that every step allocates alike."""
    model.zero_grad(set_to_none=True)
    training_loss(model, x, coords).backward()


def timed_train_step(model: nn.Module, x: Tensor, coords: Tensor) -> float:
    """Seconds of one ``train_step``: CUDA events on the GPU, the wall clock on the CPU."""
    if x.is_cuda:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        train_step(model, x, coords)
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3
    t0 = time.perf_counter()
    train_step(model, x, coords)
    return time.perf_counter() - t0
