"""samba_core: the SAMBA EEG model, built for exact step-by-step streaming.

Public API::

    from samba_core import SambaConfig, Samba, StreamingSession, save_checkpoint, load_checkpoint

    model = Samba(SambaConfig())                       # causal multi-rate U-Net over any montage
    out = model(x, coords)                             # x: (batch, channels, time) µV; coords: (channels, 3) m
    session = StreamingSession(model, coords)          # fused numpy step by default (or "onnx", "torch")
    decisions = session.push(chunk)                    # chunk: (channels, any samples) -> probs per head
"""

from .checkpoint import CheckpointError, CheckpointMetadata, LoadedCheckpoint, load_checkpoint, save_checkpoint
from .config import SambaConfig
from .masking import MaskingConfig, masked_reconstruction_loss, temporal_span_mask
from .model import Samba, SambaOutput, StreamState
from .preprocessing import OnlinePreprocessor, preprocess_offline
from .preprocessing_config import PreprocessConfig
from .quality import ChannelQuality, ChannelQualityMonitor, QualityConfig
from .streaming import StreamingSession, StreamOutput

__all__ = [
    "ChannelQuality", "ChannelQualityMonitor", "CheckpointError", "CheckpointMetadata", "LoadedCheckpoint",
    "MaskingConfig", "OnlinePreprocessor", "PreprocessConfig", "QualityConfig", "Samba", "SambaConfig",
    "SambaOutput", "StreamOutput", "StreamState", "StreamingSession", "load_checkpoint",
    "masked_reconstruction_loss", "preprocess_offline", "save_checkpoint", "temporal_span_mask",
]
