"""Exceptions of the live pipeline; every message says what went wrong and how to fix it."""

from __future__ import annotations


class PipelineError(RuntimeError):
    """The live pipeline cannot start or cannot go on."""


class StreamNotFoundError(PipelineError):
    """No LSL stream matches the request."""


class StreamRateError(PipelineError):
    """The stream's sampling rate is irregular, unsupported, or not what it declares."""


class ReplayFileError(PipelineError):
    """A recording to replay is missing, unreadable, corrupt or of an unsupported format."""


class RecordingError(PipelineError):
    """A recording could not be written, finalised or recovered."""
