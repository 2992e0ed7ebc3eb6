"""The live pipeline of SAMBA-Live: LSL acquisition, decoding, outlets, recording and replay.

Public API::

    from app.pipeline import LivePipeline, PipelineConfig, StreamSelector, list_streams

    pipeline = LivePipeline(PipelineConfig(StreamSelector(name="EEG"), Path("model.samba")))
    pipeline.start()                  # raises with a clear message if anything is wrong
    snap = pipeline.snapshot()        # traces, quality, probabilities, latency... (any thread)
    notices = pipeline.drain_notices()
    pipeline.stop()                   # finishes the recording, if any

No GUI toolkit is imported here: a GUI polls ``snapshot()`` on its own timer.
"""

from .acquisition import AcquisitionConfig, StreamReader
from .chain import MontageOptions
from .config import PipelineConfig
from .decoding import Decision, DecisionRule, DecodingConfig, ProbabilitySmoother
from .errors import PipelineError, RecordingError, ReplayFileError, StreamNotFoundError, StreamRateError
from .ground_truth import CueMap, GroundTruth, HeadScore
from .heads import CheckpointHeads, HeadInfo, checkpoint_heads
from .latency import LatencyStats
from .notices import Notice
from .pipeline import LivePipeline
from .recovery import RecordingSummary, recover_recording
from .replay import DEMO_RECORDING, ReplayPlayer, demo_recording, load_recording
from .snapshot import PipelineSnapshot
from .streams import StreamLayout, StreamSelector, StreamSummary, list_streams

__all__ = [
    "AcquisitionConfig", "CheckpointHeads", "CueMap", "DEMO_RECORDING", "GroundTruth", "HeadInfo", "HeadScore", "Decision", "DecisionRule", "DecodingConfig", "LatencyStats",
    "LivePipeline", "MontageOptions", "Notice", "PipelineConfig", "PipelineError", "PipelineSnapshot",
    "ProbabilitySmoother", "RecordingError", "RecordingSummary", "ReplayFileError", "ReplayPlayer",
    "StreamLayout", "StreamNotFoundError", "StreamRateError", "StreamReader", "StreamSelector", "StreamSummary",
    "checkpoint_heads", "demo_recording", "list_streams", "load_recording", "recover_recording",
]
