"""The live pipeline's side of a recording: what it writes, what it could not, and the finish.

Wraps a :class:`~app.pipeline.recording.RecordingWriter` so that the pipeline only says
*what* happened (samples, markers, decisions, timing events); this class knows how each
is written, reports the first time the disk fails or falls behind, and finishes the
recording at stop.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .decoding import Decision
from .notices import NoticeBoard
from .recording import RecordingWriter
from .recovery import RecordingSummary


class SessionRecording:
    """Recording of one pipeline run.

    Parameters
    ----------
    path : path-like
        The final ``.fif``.
    header : dict
        From :func:`~app.pipeline.recording.recording_header`.
    flush_interval_s : float

    Raises
    ------
    RecordingError
        The recording cannot be started (see :class:`RecordingWriter`).
    """

    def __init__(self, path: str | os.PathLike, header: dict[str, Any], flush_interval_s: float) -> None:
        self.writer = RecordingWriter(path, header, flush_interval_s)
        self._reported = False
        self.unrecorded_samples = 0

    def samples(self, data: np.ndarray, ts: np.ndarray) -> None:
        """Every received sample, with its raw LSL time: data (channels, n), ts (n,)."""
        self.writer.add_samples(data, ts)
        self.unrecorded_samples = self.writer.unrecorded_samples

    def event(self, event: dict[str, Any]) -> None:
        self.writer.add_event(event)

    def decision(self, d: Decision, row: int) -> None:
        """A decision; ``row`` is the recording row of its newest input sample."""
        self.writer.add_event({
            "kind": "decision", "t": d.sample_time, "sample": int(row), "received_at": d.received_at,
            "pushed_at": d.pushed_at,
            "segment": d.segment, "model_index": d.model_index, "sample_index": d.sample_index, "probs": d.probs,
            "smoothed": d.smoothed, "markers": list(d.markers),
        })

    def new_problem(self) -> str | None:
        """A message the first time samples stop being recorded (failed or stalled disk), else None."""
        writer = self.writer
        if self._reported or not (writer.error is not None or writer.unrecorded_samples):
            return None
        self._reported = True
        if writer.error is not None:
            return writer.failure_message() + "; decoding goes on"
        return (f"the disk does not keep up with the recording to {writer.paths.samples}: "
                f"{writer.unrecorded_samples} sample(s) not recorded so far; decoding goes on")

    def finish(self, notices: NoticeBoard) -> RecordingSummary | None:
        """Write what is queued, convert to FIF and say so. None, with a warning and no files left,
        when the stop came before the first sample (there is nothing to keep or recover).

        Raises
        ------
        RecordingError
            The disk failed; the message names the partial file and ``--recover ... --out``.
        """
        if self.writer.samples_added == 0 and self.writer.error is None:
            self.writer.discard()
            notices.post("warning", "recording", "nothing was recorded: the stop came before the first sample; "
                         f"{self.writer.paths.final} was not written")
            return None
        try:
            summary = self.writer.close(finalize=True)
        finally:
            self.unrecorded_samples = self.writer.unrecorded_samples
        notices.post("info", "recording", f"recording saved to {summary.path} ({summary.n_samples} samples, "
                     f"{summary.n_markers} markers, {summary.n_decisions} decisions)")
        return summary

    def finish_or_keep(self, notices: NoticeBoard) -> tuple[RecordingSummary | None, Exception | None]:
        """:meth:`finish`, or, when it fails, an error notice saying where the partial recording is kept.

        Returns ``(summary, None)`` or ``(None, the error)``; nothing is raised, so a stop always completes.
        """
        try:
            return self.finish(notices), None
        except Exception as exc:  # noqa: BLE001 - report, keep the partial files for --recover
            hint = "" if "--recover" in str(exc) else (
                f"; what was recorded is kept: samba-live --recover {self.writer.paths.samples}")
            notices.post("error", "recording", f"could not finish the recording: {exc}{hint}")
            return None, exc

    def discard(self) -> None:
        self.writer.discard()
