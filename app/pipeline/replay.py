"""Replaying a recording as a real LSL stream, so that it is decoded exactly like a live one.

:class:`ReplayPlayer` is MNE-LSL's :class:`~mne_lsl.player.PlayerLSL`: the EEG goes out
on a regular LSL stream and the recording's annotations on a string marker stream
``<name>-annotations``. Any LSL client sees an ordinary device.

Speed. ``PlayerLSL`` has no speed option; it paces samples by the recording's sampling
rate. A replay at ``speed`` X is therefore played from a copy of the recording whose
sampling rate is declared X times higher (annotation onsets scaled to match): the
stream's nominal rate and its timestamps stay consistent with each other (any client's
gap and rate checks hold), timestamps stay on the real LSL clock (so latencies are real),
and the data themselves are untouched. The stream says so in ``<desc><samba_replay>``
(``speed``, ``source_rate``), from which the live pipeline takes the physical rate
(nominal / speed) for filtering and decoding. At speed 1 the stream is a plain copy.

Timestamps. ``PlayerLSL`` pushes each chunk one chunk period before the time it stamps
on its last sample (it pushes, then sleeps until that time). A live amplifier can only
stamp a sample once it exists, so the replay shifts every data and annotation timestamp
back by one chunk period: the newest sample of each chunk is stamped with the moment it
is pushed, and latencies measured on a replay are those of a live device.

Lifecycle. A player made with ``hold=True`` creates its outlets at :meth:`~ReplayPlayer.start`
but pushes nothing until :meth:`~ReplayPlayer.release`, so that a decoder can attach
first and no opening second of the file is skipped; on release it also waits (briefly)
for a reader of the annotation stream, so that the first cue is not sent to nobody.
At the end of a non-looping file the outlets stay open until :meth:`~ReplayPlayer.stop`
(deleting them at once could drop the last chunk in transit) and
:attr:`~ReplayPlayer.samples_sent` tells a reader when it has received the whole file.

Looping. The timestamps run on across the end of the file (no gap is seen), while the
data jump from the last sample to the first, as if the amplifier had been moved; the
player's chunk size is chosen not to divide the file length, which MNE-LSL 1.14's
player mishandles at the wrap (it re-sent the whole file as one chunk).
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import mne
import numpy as np
from mne_lsl.lsl import local_clock
from mne_lsl.player import PlayerLSL

from samba_core.recordings import RecordingError, read_recording

from .errors import ReplayFileError
from .streams import REPLAY_TAG

#: The recording shipped with the package (see app/data/README.md).
DEMO_RECORDING = Path(__file__).resolve().parents[1] / "data" / "eegmmidb_S001R04_0-90s.edf"


def demo_recording() -> Path:
    """Path of the bundled demo recording (PhysioNet EEGMMIDB S001R04, first 90 s)."""
    if not DEMO_RECORDING.is_file():
        raise ReplayFileError(
            f"the demo recording {DEMO_RECORDING} is missing from this installation; reinstall samba-live "
            "or pass a file: samba-live --headless --replay FILE"
        )
    return DEMO_RECORDING


def load_recording(path: str | os.PathLike) -> mne.io.BaseRaw:
    """Read a recording for replay (any format of :func:`samba_core.recordings.read_recording`).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    mne.io.BaseRaw
        Preloaded, in volts, markers (annotations, XDF marker streams, stim-channel events)
        as annotations, segment joins as ``BAD boundary`` / ``EDGE boundary`` annotations
        (see :meth:`samba_core.recordings.Recording.to_raw`).

    Raises
    ------
    ReplayFileError
        Missing, unsupported, unreadable, empty or too short file; the message names the problem.
    """
    try:
        return read_recording(path).to_raw()
    except RecordingError as exc:
        raise ReplayFileError(f"cannot replay {exc}") from exc


def time_compressed(raw: mne.io.BaseRaw, speed: float) -> mne.io.BaseRaw:
    """A copy of ``raw`` declared at ``speed`` times its rate, annotations scaled to match."""
    info = raw.info.copy()
    with info._unlock():
        info["sfreq"] = raw.info["sfreq"] * speed
        info["lowpass"] = raw.info["lowpass"] * speed
        info["highpass"] = raw.info["highpass"] * speed
    fast = mne.io.RawArray(raw.get_data(), info, verbose="error")
    ann = raw.annotations
    if len(ann):
        onsets = (ann.onset - raw.first_time if ann.orig_time is not None else ann.onset) / speed
        fast.set_annotations(mne.Annotations(onsets, ann.duration / speed, ann.description, orig_time=None))
    return fast


class ReplayPlayer(PlayerLSL):
    """Plays a recording on LSL: EEG stream ``name``, annotations on ``name-annotations``.

    Parameters
    ----------
    recording : path-like or mne.io.BaseRaw
        File to play (see :func:`load_recording`) or an already loaded recording.
    speed : float
        Playback speed (1 = real time); see the module docstring for how it is done.
    loop : bool
        Start over at the end instead of stopping.
    name : str, optional
        Stream name (default ``samba-replay-<random>``: unique, so that several replays
        never cross-talk).
    chunk_s : float
        Wall-clock duration of each pushed chunk (s).
    hold : bool
        Create the streams at :meth:`start` but push nothing until :meth:`release`.
    """

    #: Seconds a released player waits for a reader of its annotation stream.
    ANNOTATION_READER_WAIT_S = 5.0

    def __init__(
        self, recording: str | os.PathLike | mne.io.BaseRaw, *, speed: float = 1.0, loop: bool = False,
        name: str | None = None, chunk_s: float = 0.01, hold: bool = False,
    ) -> None:
        if not (np.isfinite(speed) and speed > 0):
            raise ValueError(f"replay speed must be > 0 (1 = real time), got {speed!r}")
        raw = recording if isinstance(recording, mne.io.BaseRaw) else load_recording(recording)
        self.source = None if isinstance(recording, mne.io.BaseRaw) else Path(recording)
        self.source_rate = float(raw.info["sfreq"])
        #: Mains frequency the recording declares (Hz), or None.
        self.line_freq = float(raw.info["line_freq"]) if raw.info.get("line_freq") else None
        self.speed = float(speed)
        self.duration_s = raw.n_times / self.source_rate
        if self.speed != 1.0:
            raw = time_compressed(raw, self.speed)
        name = name or f"samba-replay-{uuid.uuid4().hex[:8]}"
        chunk_size = max(1, int(round(chunk_s * raw.info["sfreq"])))
        # PlayerLSL (MNE-LSL 1.14) mishandles a file whose length is a multiple of the chunk
        # size: at the end it re-sends the whole file as one chunk (looping) or an empty one.
        while raw.n_times % chunk_size == 0 and chunk_size < raw.n_times:
            chunk_size += 1
        super().__init__(
            raw, chunk_size=chunk_size, n_repeat=np.inf if loop else 1, name=name, source_id=name,
            annotations=len(raw.annotations) > 0, annotations_encoding="string",
        )
        if self.speed != 1.0:
            tag = self._sinfo.desc.append_child(REPLAY_TAG)
            tag.append_child_value("speed", repr(self.speed))
            tag.append_child_value("source_rate", repr(self.source_rate))
        self._was_started = False
        self.n_times = int(raw.n_times)
        self._released = threading.Event()
        if not hold:
            self._released.set()
        self._waited = self._stopping = False
        self._ended = threading.Event()
        self._ended_outlets: list = []

    def release(self) -> ReplayPlayer:
        """Begin pushing samples (a player made with ``hold=True`` waits for this)."""
        self._released.set()
        return self

    @property
    def samples_sent(self) -> int | None:
        """Samples the whole file holds once a non-looping replay has pushed its last one, else None."""
        return self.n_times if self._ended.is_set() else None

    @property
    def marker_stream(self) -> str | None:
        """Name of the annotation stream, None when the recording has no annotations."""
        return f"{self.name}-annotations" if self._annotations else None

    def _stream(self) -> None:
        # Runs in the player's own thread, before each push: wrapping here cannot race.
        if not self._waited:
            self._wait_for_release()
            if self._stopping:
                return
        lag = self._streaming_delay or 0.0
        if self._outlet is not None and not isinstance(self._outlet, _LaggedOutlet):
            self._outlet = _LaggedOutlet(self._outlet, lag)
        if self._outlet_annotations is not None and not isinstance(self._outlet_annotations, _LaggedOutlet):
            self._outlet_annotations = _LaggedOutlet(self._outlet_annotations, lag)
        super()._stream()

    def _wait_for_release(self) -> None:
        self._released.wait()
        if self._stopping:
            return
        if self._outlet_annotations is not None:
            self._outlet_annotations.wait_for_consumers(self.ANNOTATION_READER_WAIT_S)
        self._waited = True
        self._target_timestamp = local_clock()  # the clock starts now, not at start()

    def _del_outlets(self) -> None:
        if self._end_streaming:  # the natural end: keep the outlets until stop(), see the module docstring
            self._ended_outlets = [getattr(self, "_outlet", None), getattr(self, "_outlet_annotations", None)]
            self._ended.set()
            return
        super()._del_outlets()

    def start(self) -> ReplayPlayer:
        self._waited = self._stopping = False
        super().start()
        self._was_started = True
        return self

    @property
    def finished(self) -> bool:
        """True once a non-looping replay has played its last sample."""
        return self._ended.is_set()

    def stop(self) -> ReplayPlayer:
        """Stop playing (also fine after the replay ended by itself); withdraws the streams."""
        self._stopping = True
        self._released.set()
        if self._executor is not None:
            super().stop()
        for outlet in self._ended_outlets:
            if outlet is not None:
                try:
                    outlet._del()
                except Exception:  # noqa: BLE001 - a dead outlet may fail to close in liblsl; nothing to do
                    pass
        self._ended_outlets = []
        return self


def end_of_source(samples_sent, received: int, skipped: int, silent_s: float, quiet_s: float,
                  lost: bool = False) -> str | None:
    """The message that a finite source was decoded to its end, or None while it is not.

    Parameters
    ----------
    samples_sent : callable or None
        Returns None while the source plays, then how many samples it sent in all
        (:attr:`ReplayPlayer.samples_sent`); None: a live source, which never ends.
    received, skipped : int
        Samples received, and dropped at the start (set-up backlog).
    silent_s : float
        Seconds since the last sample arrived.
    quiet_s : float
        Silence after which samples still missing at the end are given up.
    lost : bool
        The stream went away (after the end: the source withdrew it).
    """
    total = samples_sent() if samples_sent is not None else None
    if total is None:
        return None
    missing = total - received - skipped
    if missing > 0 and not lost and silent_s < quiet_s:
        return None
    return (f"end of the replay: {received} of its {total} samples decoded"
            + (f" ({skipped} skipped at the start)" if skipped else "")
            + (f"; {missing} never arrived" if missing > 0 else ""))


class _LaggedOutlet:
    """Forwards to an outlet with every explicit timestamp moved ``lag`` seconds earlier."""

    def __init__(self, outlet, lag: float) -> None:
        self._inner = outlet
        self._lag = lag

    def push_chunk(self, x, timestamp=None, pushThrough: bool = True) -> None:  # noqa: N803 - MNE-LSL's name
        if timestamp is not None:
            timestamp = np.asarray(timestamp, dtype=np.float64) - self._lag
            timestamp = float(timestamp) if timestamp.ndim == 0 else timestamp
        if len(x) == 1:  # one annotation, or the file's last chunk of one sample
            t = 0.0 if timestamp is None else float(np.ravel(timestamp)[-1])
            self._inner.push_sample(x[0], timestamp=t, pushThrough=pushThrough)
            return
        self._inner.push_chunk(x, timestamp=timestamp, pushThrough=pushThrough)

    def push_sample(self, x, timestamp: float = 0.0, pushThrough: bool = True) -> None:  # noqa: N803
        self._inner.push_sample(x, timestamp=timestamp - self._lag if timestamp else 0.0, pushThrough=pushThrough)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)
