"""Crash-safe recording of a live session: raw EEG, markers and decisions.

While recording, everything goes to three append-only files next to the requested
``OUT.fif``:

- ``OUT.fif.partial``: the samples, one fixed-size row per sample: the LSL timestamp
  (float64) followed by every channel of the stream (float32, stream units), little endian;
- ``OUT.fif.partial.json``: the header (channels, units, rates, provenance), written once;
- ``OUT.fif.partial.events``: one JSON object per line: input markers, decisions (with
  probabilities, markers and timing), gaps and resets.

A writer thread drains a queue and flushes both append-only files to the operating
system every ``flush_interval_s`` (0.5 s by default). The queue is bounded
(``max_queue_bytes``): if the disk cannot keep up, or fails (full, removed), decoding
never waits and memory never grows; what cannot be written is counted
(:attr:`RecordingWriter.unrecorded_samples`), the failure is reported at once, and the
final message names the partial file and the ``--recover ... --out`` command that
converts it onto another disk. Killing the process (even with
SIGKILL) therefore loses at most the last flush interval plus what was still queued,
well under a second; an interrupted last row or line is ignored on recovery. A clean
stop drains everything and converts the partial files into ``OUT.fif`` (EEG and markers
as annotations) plus ``OUT.decisions.tsv`` (one row per decision) and
``OUT.lsl_times.npy`` (every sample's LSL time, so the time map can always be rebuilt)
and removes them;
:func:`app.pipeline.recovery.recover_recording` does the same conversion after a crash
(``samba-live --recover OUT.fif.partial``).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .errors import RecordingError
from .partial_format import FORMAT, FORMAT_VERSION, PartialPaths, sample_dtype

log = logging.getLogger(__name__)

class RecordingWriter:
    """Appends samples and events to the partial files from a background thread.

    Parameters
    ----------
    path : path-like
        The final ``.fif`` file.
    header : dict
        JSON-serialisable description; must hold ``channels`` (list of dicts with
        ``label``, ``type``, ``unit``) and ``rate`` (physical sampling rate in Hz).
    flush_interval_s : float
        Seconds between flushes to the operating system.
    max_queue_bytes : int
        Largest amount of data waiting for the disk; beyond it (a stalled or failed disk)
        new data is dropped and counted instead of queued.

    Raises
    ------
    RecordingError
        The folder does not exist, or a partial recording of the same name is there
        (recover it or delete it first).
    """

    def __init__(self, path: str | os.PathLike, header: dict[str, Any], flush_interval_s: float = 0.5,
                 max_queue_bytes: int = 64 * 2**20) -> None:
        self.paths = PartialPaths(Path(path))
        if not self.paths.final.parent.is_dir():
            raise RecordingError(f"cannot record to {self.paths.final}: folder {self.paths.final.parent} does not exist")
        if self.paths.samples.exists():
            raise RecordingError(
                f"{self.paths.samples} exists: an earlier recording was interrupted. Recover it with "
                f"`samba-live --recover {self.paths.samples}` or delete the .partial files, then record again."
            )
        self.n_channels = len(header["channels"])
        self._dtype = sample_dtype(self.n_channels)
        full_header = {"format": FORMAT, "format_version": FORMAT_VERSION, **header}
        tmp = self.paths.header.with_name(self.paths.header.name + ".tmp")
        tmp.write_text(json.dumps(full_header, indent=1))
        os.replace(tmp, self.paths.header)
        self._samples = open(self.paths.samples, "wb")
        self._events = open(self.paths.events, "w", encoding="utf-8")
        self.flush_interval_s = flush_interval_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self.max_queue_bytes = int(max_queue_bytes)
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self.n_samples = 0
        self.n_events = 0
        #: Samples and events that could not be recorded (disk failed or too slow).
        self.unrecorded_samples = 0
        self.unrecorded_events = 0
        self._added = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="samba-recorder", daemon=True)
        self._thread.start()

    # -- producer side (worker thread) -----------------------------------------------
    @property
    def queued_bytes(self) -> int:
        """Data waiting for the disk (bytes)."""
        return self._queued_bytes

    @property
    def samples_added(self) -> int:
        """Samples handed to the writer so far, recorded or not."""
        return self._added

    @property
    def error(self) -> BaseException | None:
        """The error that stopped the writer (None while it works)."""
        return self._error

    def add_samples(self, data: np.ndarray, timestamps: np.ndarray) -> bool:
        """data: (channels, n) stream units; timestamps: (n,) LSL seconds. False if they will not be recorded."""
        rows = np.empty(len(timestamps), dtype=self._dtype)
        rows["t"] = timestamps
        rows["x"] = np.asarray(data).T
        self._added += rows.size
        if not self._enqueue(rows, rows.nbytes):
            self.unrecorded_samples += rows.size
            return False
        return True

    def add_event(self, event: dict[str, Any]) -> bool:
        """One JSON-serialisable event (``kind`` plus fields). False if it will not be recorded."""
        if not self._enqueue(event, 256):
            self.unrecorded_events += 1
            return False
        return True

    def _enqueue(self, item, nbytes: int) -> bool:
        with self._lock:
            if self._error is not None or self._queued_bytes + nbytes > self.max_queue_bytes:
                return False
            self._queued_bytes += nbytes
        self._queue.put((item, nbytes))
        return True

    # -- writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        last_flush = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=self.flush_interval_s / 2)
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            if item is not None:
                item, nbytes = item
                with self._lock:
                    self._queued_bytes -= nbytes
            if self._error is not None:  # the disk failed: count, do not keep, what still arrives
                self._count_unrecorded(item)
                continue
            try:
                if isinstance(item, np.ndarray):
                    self._samples.write(item.tobytes())
                    self.n_samples += item.size
                elif item is not None:
                    self._events.write(json.dumps(item, default=_jsonable) + "\n")
                    self.n_events += 1
                if time.monotonic() - last_flush >= self.flush_interval_s:
                    self._samples.flush()
                    self._events.flush()
                    last_flush = time.monotonic()
            except OSError as exc:  # disk full, device removed: stop writing, say so now and on close
                with self._lock:
                    self._error = exc
                self._count_unrecorded(item)
                log.error("recording to %s failed: %s", self.paths.samples, exc)

    def _count_unrecorded(self, item) -> None:
        if isinstance(item, np.ndarray):
            self.unrecorded_samples += item.size
        elif item is not None:
            self.unrecorded_events += 1

    def failure_message(self) -> str:
        """What was not recorded and how to recover the rest (for a failed writer)."""
        return (
            f"recording to {self.paths.samples} failed ({self._error}): {self.unrecorded_samples} sample(s) and "
            f"{self.unrecorded_events} event(s) could not be written. What was written is kept in "
            f"{self.paths.samples}; convert it, onto another disk if this one is full, with "
            f"`samba-live --recover {self.paths.samples} --out OTHER_DISK/{self.paths.final.name}`"
        )

    def discard(self) -> None:
        """Stop and delete the partial files (nothing worth keeping was recorded)."""
        self.close(finalize=False)
        for p in self.paths.all_partial():
            p.unlink(missing_ok=True)

    def close(self, finalize: bool = True):
        """Write everything still queued, then (by default) convert to FIF.

        Returns
        -------
        RecordingSummary or None
            What the FIF holds, or None without ``finalize``.
        """
        if self._closed:
            return None
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        for f in (self._samples, self._events):
            try:
                f.flush()
                os.fsync(f.fileno())
            except OSError as exc:  # the last buffered bytes did not fit either
                self._error = self._error or exc
            finally:
                try:
                    f.close()
                except OSError:
                    pass
        if self._error is not None:
            self.unrecorded_samples = self._added - self.paths.samples.stat().st_size // self._dtype.itemsize
            raise RecordingError(self.failure_message())
        if not finalize:
            return None
        from .recovery import recover_recording  # the converter needs MNE; keep it off the writer's import path

        return recover_recording(self.paths.samples)


_STOP = object()


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to the events file")
