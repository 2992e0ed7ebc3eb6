"""Random long-context crops of a prepared corpus, batched across montages, the same for any GPU count.

Every global batch is a pure function of ``(seed, step)``: which recording, where the crop
starts, which channels it keeps and which spans TSRM hides are drawn from a generator
seeded with ``(seed, step, crop index)``. Rank ``r`` of ``W`` data-parallel workers takes
the crops ``r, r + W, r + 2W, ...`` of that batch, so one GPU and W GPUs see exactly the
same global batch at every step, and a resumed run continues with exactly the batches an
uninterrupted run would have seen, with no sampler state to save.

Batches mix montages: each crop keeps its own channels (optionally a random subset, to
imitate smaller headsets); the batch is padded to the widest crop of the *global* batch
with a channel mask, and shorter crops (recordings shorter than the context) are padded
at the end with a validity mask. Padding never reaches the loss, and because the network
is causal and CDSE ignores masked channels, it never changes another crop's output.

A subset of a common-average-referenced recording is re-referenced to the subset's own
average: CAR is linear and per sample, so this gives exactly what the live pipeline
produces for a headset that has only those channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..masking import temporal_span_mask
from .config import CropConfig
from .corpus import Corpus, CorpusError


@dataclass(frozen=True)
class Crop:
    """One crop: recording index, first sample, length (samples), kept channel indices, mask seed."""

    recording: int
    start: int
    length: int
    channels: tuple[int, ...]
    mask_seed: int


@dataclass
class Batch:
    """x: (B, C, T) µV; coords: (B, C, 3) m; channel_mask: (B, C); time_mask: (B, T) hidden by TSRM;
    valid: (B, T) real samples; lengths/widths: per crop valid samples and channels (padding is at the end)."""

    x: Tensor
    coords: Tensor
    channel_mask: Tensor
    time_mask: Tensor
    valid: Tensor
    lengths: list[int]
    widths: list[int]

    @property
    def full_length(self) -> bool:
        """True when every crop fills the batch's time axis (no crop was shorter than the context)."""
        return all(length == self.x.size(-1) for length in self.lengths)

    def to(self, device: torch.device) -> "Batch":
        move = {k: getattr(self, k).to(device, non_blocking=True) for k in ("x", "coords", "channel_mask", "time_mask", "valid")}
        return Batch(**move, lengths=self.lengths, widths=self.widths)


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, np.uint64)[0] >> 1)


class CropSampler:
    """Deterministic crops and batches of a corpus; see the module docstring."""

    def __init__(self, corpus: Corpus, config: CropConfig, seed: int = 0, width: int | None = None) -> None:
        """``width``: pad every batch to this many channels (a fixed shape, for CUDA graphs);
        None pads to the widest crop of each global batch."""
        self.corpus, self.config, self.seed = corpus, config, int(seed)
        widest = max(r.n_channels for r in corpus.recordings)
        if width is not None and width < widest:
            raise ValueError(f"width {width} is narrower than the corpus's widest recording ({widest} channels)")
        self.width = width
        self.context = int(round(config.context_s * corpus.sample_rate))
        self.common_average = bool(corpus.preprocessing.get("common_average", False))
        # Training region of each recording: everything but the held-out tail.
        self.train_len = np.array(
            [r.n_samples - int(r.n_samples * config.val_fraction) for r in corpus.recordings], dtype=np.int64
        )
        if self.train_len.sum() <= 0:
            raise CorpusError("the corpus has no training samples left after the validation tail")
        self.weights = self.train_len / self.train_len.sum()

    def global_crops(self, step: int) -> list[Crop]:
        """The crops of global batch ``step``: recordings drawn in proportion to their training length."""
        rng = np.random.default_rng(_seed(self.seed, step))
        crops = []
        for i in range(self.config.batch_size):
            rec = int(rng.choice(len(self.weights), p=self.weights))
            length = int(min(self.context, self.train_len[rec]))
            start = int(rng.integers(0, self.train_len[rec] - length + 1))
            n = self.corpus.recordings[rec].n_channels
            channels = tuple(range(n))
            lo = min(self.config.min_channels, n)
            if n > lo and rng.random() < self.config.channel_subset_prob:
                k = int(rng.integers(lo, n + 1))
                channels = tuple(sorted(int(c) for c in rng.choice(n, size=k, replace=False)))
            crops.append(Crop(rec, start, length, channels, _seed(self.seed, step, i)))
        return crops

    def validation_crops(self) -> list[Crop]:
        """One fixed crop per recording from its held-out tail (all channels)."""
        crops = []
        for i, rec in enumerate(self.corpus.recordings):
            tail = rec.n_samples - int(self.train_len[i])
            length = int(min(self.context, tail))
            if length >= self.corpus.sample_rate:  # at least a second to mask spans in
                crops.append(Crop(i, rec.n_samples - length, length, tuple(range(rec.n_channels)), _seed(self.seed, 2**40, i)))
        return crops

    def batch(self, step: int, rank: int = 0, world: int = 1) -> Batch:
        """This rank's share of global batch ``step`` (crops rank, rank + world, ...)."""
        if self.config.batch_size % world:
            raise ValueError(f"global batch {self.config.batch_size} is not divisible by {world} ranks")
        crops = self.global_crops(step)
        width = self.width or max(len(c.channels) for c in crops)
        return self.assemble(crops[rank::world], width, self.context)

    def assemble(self, crops: list[Crop], width: int, length: int) -> Batch:
        """Pad crops to ``width`` channels and ``length`` samples and draw their TSRM masks."""
        b = len(crops)
        x = np.zeros((b, width, length), dtype=np.float32)
        coords = np.zeros((b, width, 3), dtype=np.float32)
        channel_mask = np.zeros((b, width), dtype=bool)
        time_mask = torch.zeros(b, length, dtype=torch.bool)
        valid = torch.zeros(b, length, dtype=torch.bool)
        for j, crop in enumerate(crops):
            rec = self.corpus.recordings[crop.recording]
            ch = np.asarray(crop.channels)
            seg = np.asarray(rec.signal[:, crop.start : crop.start + crop.length], dtype=np.float32)[ch]
            if self.common_average and len(ch) < rec.n_channels:
                seg = seg - seg.mean(axis=0, keepdims=True)
            x[j, : len(ch), : crop.length] = seg
            coords[j, : len(ch)] = rec.coords[ch]
            channel_mask[j, : len(ch)] = True
            generator = torch.Generator().manual_seed(crop.mask_seed)
            time_mask[j, : crop.length] = temporal_span_mask(
                1, crop.length, self.corpus.sample_rate, self.config.masking, generator
            )[0]
            valid[j, : crop.length] = True
        return Batch(
            torch.from_numpy(x), torch.from_numpy(coords), torch.from_numpy(channel_mask), time_mask, valid,
            [c.length for c in crops], [len(c.channels) for c in crops],
        )
