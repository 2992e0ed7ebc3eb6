"""SAMBA: a causal, multi-rate U-shaped Mamba2 encoder-decoder over EEG from any montage.

Data flow (shapes for one batch; T samples at ``config.sample_rate``, C channels)::

    x: (B, C, T) microvolts, coords: (C, 3) metres
      -> spatial projection (CDSE or SAIE)  (B, T, K)   K: latent channels / virtual sites
      -> stem                               (B, T, d0)      [+ mask token where TSRM hides time]
      -> encoder stage 0 (Mamba blocks)     (B, T, d0)     ----------------------- skip 0
      -> downsample /f0 -> stage 1          (B, T/f0, d1)  ------------ skip 1      |
      -> downsample /f1 -> bottleneck       (B, T/hop, d2) -> classification heads   |
      -> upsample x f1 + skip 1 -> decoder stage 1 -> upsample x f0 + skip 0 -> decoder stage 0
      -> reconstruction                     (B, C, T) microvolts

Every operation of the encoder and heads is causal, and every stateful one carries its
state through the ``state`` argument, so ``forward`` on a stream cut into arbitrary chunks equals
``forward`` on the whole stream. Heads emit one prediction per bottleneck token,
i.e. one decision every ``config.hop`` input samples. The decoder is causal too unless
``config.decoder_direction == "bidirectional"``: that pretraining-only decoder in-fills
hidden spans from both sides, runs on whole windows only and refuses to stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from .adaptation import AdaptationState, build_adaptation
from .config import SambaConfig
from .differential import PairedDifferentialMamba
from .mamba2 import Mamba2Mixer, MixerState, RMSNorm
from .saie import VirtualSiteEmbedding, VirtualSiteReadout
from .spatial import SpatialEmbedding, SpatialReadout
from .token_rate import Downsample, Upsample, UpsampleState


NONCAUSAL_DECODER_ERROR = (
    "this model's decoder is bidirectional (decoder_direction='bidirectional'): it looks ahead to in-fill "
    "hidden spans during pretraining and cannot stream. Stream without the reconstruction (decoder=False); "
    "decisions never depend on the decoder"
)


class MambaBlock(nn.Module):
    """Pre-norm residual block around a (differential) Mamba2 mixer. h: (batch, length, dim).

    ``differential`` picks the differential mixer in ``config.differential_form``.
    """

    def __init__(self, dim: int, config: SambaConfig, layer_index: int, differential: bool) -> None:
        super().__init__()
        c = config
        self.norm = RMSNorm(dim)
        if differential and c.differential_form == "paper":
            self.mixer = PairedDifferentialMamba(dim, c.d_state, c.headdim, c.expand, c.d_conv, c.chunk_size)
        else:
            self.mixer = Mamba2Mixer(
                dim, c.d_state, c.headdim, c.expand, c.d_conv, c.chunk_size, differential=differential,
                layer_index=layer_index,
            )

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> MixerState:
        return self.mixer.init_state(batch, device, dtype)

    def forward(self, h: Tensor, state: MixerState | None = None) -> tuple[Tensor, MixerState]:
        if h.size(1) == 0:  # a chunk too short to complete a coarse token
            return h, state if state is not None else self.init_state(h.size(0), h.device, h.dtype)
        y, state = self.mixer(self.norm(h), state)
        return h + y, state

    def step(self, h: Tensor, state: MixerState) -> tuple[Tensor, MixerState]:
        """h: (batch, dim), one token."""
        y, state = self.mixer.step(self.norm(h), state)
        return h + y, state


class BidirectionalBlock(nn.Module):
    """Pretraining-only decoder block: a causal block, then one over reversed time. Whole windows only."""

    def __init__(self, dim: int, config: SambaConfig, layer_index: int, differential: bool) -> None:
        super().__init__()
        self.forward_block = MambaBlock(dim, config, layer_index, differential)
        self.backward_block = MambaBlock(dim, config, layer_index, differential)

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> None:
        raise ValueError(NONCAUSAL_DECODER_ERROR)

    def forward(self, h: Tensor, state: None = None) -> tuple[Tensor, None]:
        if state is not None:
            raise ValueError(NONCAUSAL_DECODER_ERROR)
        h, _ = self.forward_block(h)
        h, _ = self.backward_block(h.flip(1))
        return h.flip(1), None


@dataclass
class StreamState:
    """Everything a stream carries between chunks. Lists are indexed by stage (finest first).
    ``adaptation``: the input adaptation's state (None: not started yet, or no adaptation)."""

    encoder: list[list[MixerState]]
    downsample: list[Tensor]
    upsample: list[UpsampleState] | None
    decoder: list[list[MixerState]] | None
    adaptation: AdaptationState | None = None


@dataclass
class SambaOutput:
    """logits: head -> (batch, tokens, classes); features: (batch, tokens, d_last);
    reconstruction: (batch, channels, time) microvolts or None; state: carried stream state."""

    logits: dict[str, Tensor]
    features: Tensor
    reconstruction: Tensor | None
    state: StreamState


def build_spatial(config) -> tuple[nn.Module, nn.Module]:
    """(embedding, readout) for ``config.spatial``: CDSE (``"cdse"``) or SAIE (``"virtual-sites"``).

    Both embeddings offer ``weights(coords, mask) -> (…, channels, width)``, ``width``,
    ``kind`` and ``map_names``; both readouts map (batch, time, width) back to
    (batch, channels, time).
    """
    c = config
    if c.spatial == "virtual-sites":
        embedding = VirtualSiteEmbedding(c.virtual_sites, c.saie_hidden, c.head_radius_m)
        return embedding, VirtualSiteReadout(embedding.sites, c.saie_hidden, c.head_radius_m)
    args = (c.spatial_channels, c.spatial_hidden, c.fourier_features, c.fourier_scale, c.head_radius_m)
    return SpatialEmbedding(*args), SpatialReadout(*args)


class Samba(nn.Module):
    """The SAMBA network. See the module docstring for the data flow."""

    def __init__(self, config: SambaConfig) -> None:
        super().__init__()
        self.config = c = config
        n = len(c.dims)
        self.spatial, self.readout = build_spatial(c)
        self.adaptation = build_adaptation(c)  # no parameters: checkpoints are the same with and without
        width = self.spatial.width
        self.stem = nn.Linear(width, c.dims[0])
        self.mask_token = nn.Parameter(torch.zeros(c.dims[0]))
        layer = iter(range(10_000))
        self.encoder = nn.ModuleList(
            nn.ModuleList(MambaBlock(c.dims[i], c, next(layer), c.is_differential(i, decoder=False))
                          for _ in range(c.encoder_depths[i]))
            for i in range(n)
        )
        self.downsample = nn.ModuleList(Downsample(c.factors[i], c.dims[i], c.dims[i + 1]) for i in range(n - 1))
        self.upsample = nn.ModuleList(Upsample(c.factors[i], c.dims[i + 1], c.dims[i]) for i in range(n - 1))
        block = BidirectionalBlock if c.decoder_direction == "bidirectional" else MambaBlock
        self.decoder = nn.ModuleList(
            nn.ModuleList(block(c.dims[i], c, next(layer), c.is_differential(i, decoder=True))
                          for _ in range(c.decoder_depths[i]))
            for i in range(n - 1)
        )
        self.recon_norm = RMSNorm(c.dims[0])
        self.recon_proj = nn.Linear(c.dims[0], width)
        self.heads = nn.ModuleDict(
            {name: nn.Sequential(RMSNorm(c.dims[-1]), nn.Linear(c.dims[-1], len(classes))) for name, classes in c.heads}
        )

    # -- state ------------------------------------------------------------------------
    @property
    def causal_decoder(self) -> bool:
        return self.config.decoder_direction == "causal"

    def init_state(self, batch: int = 1, decoder: bool = True, device=None, dtype=torch.float32) -> StreamState:
        """The state at the start of a stream.

        Raises ValueError for ``decoder=True`` when the decoder is bidirectional (it cannot stream).
        """
        if decoder and not self.causal_decoder:
            raise ValueError(NONCAUSAL_DECODER_ERROR)
        return StreamState(
            encoder=[[b.init_state(batch, device, dtype) for b in stage] for stage in self.encoder],
            downsample=[d.init_state(batch, device, dtype) for d in self.downsample],
            upsample=[u.init_state(batch, device, dtype) for u in self.upsample] if decoder else None,
            decoder=[[b.init_state(batch, device, dtype) for b in stage] for stage in self.decoder] if decoder else None,
        )

    def spatial_weights(self, coords: Tensor, mask: Tensor | None = None) -> Tensor:
        """Spatial weights (channels, K) for a montage: what the app draws as topomaps.

        CDSE: signed latent patterns; SAIE: interpolation weights onto the virtual sites
        (``self.spatial.map_names`` names the columns).
        """
        return self.spatial.weights(coords, mask)

    # -- forward --------------------------------------------------------------------------
    def embed(
        self, x: Tensor, spatial_weights: Tensor, time_mask: Tensor | None = None, finite: bool = False
    ) -> Tensor:
        """x: (batch, channels, time) microvolts -> stem tokens (batch, time, d0).

        ``finite=True`` promises x holds no NaN/inf (the caller cleaned it), saving that pass.
        """
        x = (x if finite else torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)) / self.config.input_scale_uv
        if spatial_weights.dim() == 2:
            s = torch.einsum("bct,ck->btk", x, spatial_weights)
        else:
            s = torch.einsum("bct,bck->btk", x, spatial_weights)
        h = self.stem(s)
        if time_mask is not None:
            h = torch.where(time_mask.unsqueeze(-1), self.mask_token.to(h.dtype), h)
        return h

    def encode(self, h: Tensor, state: StreamState) -> tuple[Tensor, list[Tensor], StreamState]:
        """Stem tokens -> bottleneck tokens, the skip tensors, and the updated state."""
        skips: list[Tensor] = []
        enc_states: list[list[MixerState]] = []
        down_states: list[Tensor] = []
        for i, stage in enumerate(self.encoder):
            stage_states = []
            for block, s in zip(stage, state.encoder[i]):
                h, s = block(h, s)
                stage_states.append(s)
            enc_states.append(stage_states)
            if i < len(self.downsample):
                skips.append(h)
                h, left = self.downsample[i](h, state.downsample[i])
                down_states.append(left)
        return h, skips, StreamState(enc_states, down_states, state.upsample, state.decoder, state.adaptation)

    def decode(self, h: Tensor, skips: list[Tensor], state: StreamState) -> tuple[Tensor, StreamState]:
        """Bottleneck tokens + skips -> finest-rate features (batch, time, d0).

        A bidirectional decoder runs on the whole window: ``state`` must be fresh and carries no decoder state.
        """
        if not self.causal_decoder:
            fresh = [[None] * len(stage) for stage in self.decoder]
            state = StreamState(state.encoder, state.downsample, [None] * len(self.upsample), fresh,  # type: ignore[arg-type]
                                state.adaptation)
        assert state.upsample is not None and state.decoder is not None, "state was created without a decoder"
        up_states = list(state.upsample)
        dec_states = [list(s) for s in state.decoder]
        for i in reversed(range(len(self.upsample))):
            h, up_states[i] = self.upsample[i](h, skips[i].size(1), up_states[i])
            h = h + skips[i]
            for j, block in enumerate(self.decoder[i]):
                h, dec_states[i][j] = block(h, dec_states[i][j])
        if not self.causal_decoder:
            return h, StreamState(state.encoder, state.downsample, None, None, state.adaptation)
        return h, StreamState(state.encoder, state.downsample, up_states, dec_states, state.adaptation)

    def forward(
        self,
        x: Tensor,
        coords: Tensor | None = None,
        mask: Tensor | None = None,
        *,
        spatial_weights: Tensor | None = None,
        time_mask: Tensor | None = None,
        state: StreamState | None = None,
        decoder: bool = True,
    ) -> SambaOutput:
        """Run the network on a whole sequence or on the next chunk of a stream.

        Parameters
        ----------
        x : (batch, channels, time) microvolts, preprocessed as the checkpoint specifies.
        coords : (channels, 3) or (batch, channels, 3) metres in the head frame; NaN rows allowed for masked channels.
        mask : (channels,) or (batch, channels) bool, True = use the channel. Default: channels with finite coords.
        spatial_weights : precomputed ``spatial_weights(coords, mask)``; saves the MLP when streaming.
        time_mask : (batch, time) bool, True = hidden from the model (TSRM pretraining).
        state : carried stream state; None starts a new stream. With ``config.adaptation`` set, x is
            first re-centred causally (:mod:`samba_core.adaptation`) and the state carries its statistics.
        decoder : also run the decoder and return the reconstruction (needs ``coords``).
        """
        if spatial_weights is None:
            if coords is None:
                raise ValueError("pass electrode coords (or precomputed spatial_weights)")
            spatial_weights = self.spatial_weights(coords, mask)
        if decoder and not self.causal_decoder and state is not None:
            raise ValueError(NONCAUSAL_DECODER_ERROR)
        if state is None:
            state = self.init_state(x.size(0), decoder and self.causal_decoder, x.device, x.dtype)
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        if self.adaptation is not None:
            x, adapted = self.adaptation(x, state.adaptation)
            state = StreamState(state.encoder, state.downsample, state.upsample, state.decoder, adapted)
        h = self.embed(x, spatial_weights, time_mask, finite=True)
        h, skips, state = self.encode(h, state)
        logits = {name: head(h) for name, head in self.heads.items()}
        recon = None
        if decoder:
            if coords is None:
                raise ValueError("the reconstruction head needs electrode coords")
            fine, state = self.decode(h, skips, state)
            latent = self.recon_proj(self.recon_norm(fine))
            recon = self.readout(latent, coords, mask) * self.config.input_scale_uv
        return SambaOutput(logits, h, recon, state)


def with_adaptation(model, adaptation: str = "recentre", **options):
    """A copy of ``model`` (a Samba) with ``config.adaptation`` (and e.g. ``adaptation_tau_s``) changed,
    same weights: adaptation has no parameters, so a base pretrained without it can be run with it."""
    config = replace(model.config, adaptation=adaptation, **options)
    copy = Samba(config)
    copy.load_state_dict(model.state_dict())
    return copy.eval() if not model.training else copy
