"""One recorded run of a cued paradigm, whoever keeps the time.

A :class:`ParadigmRun` owns what a run needs besides the EEG recorder: the run folder,
the seeded schedule and its :class:`~app.paradigm.timer.ProtocolTimer`, the cue marker
outlet, and the files written when the run ends (``run.json`` and the session file).
Its driver only supplies the clock and the recorder:

- the GUI (:class:`app.gui.calibration_run.CalibrationRun`) calls :meth:`ParadigmRun.update`
  from a 60 Hz QTimer and records with its live session;
- the headless runner (:func:`app.paradigm.runner.run_paradigm`) calls it from a plain
  loop and records with a :class:`~app.pipeline.LivePipeline` of its own.

Markers go out on the cue outlet as their events come due, so every driver sends the
same markers at the same schedule times.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from app.pipeline import StreamSelector

from .cue_outlet import CueOutlet, SentMarker
from .protocol import CueProtocol
from .session_file import SessionFile, finalize_session
from .timer import ProtocolTimer, TimerEvent, build_schedule

#: File names inside a run folder.
LIVE_RECORDING, SESSION_FILE, RUN_INFO = "live.fif", "session_raw.fif", "run.json"


def default_data_dir() -> Path:
    """Where sessions and subject checkpoints go: ``$SAMBA_LIVE_HOME`` or ``~/samba-live``."""
    return Path(os.environ.get("SAMBA_LIVE_HOME") or Path.home() / "samba-live")


def new_run_dir(data_dir: str | Path, protocol: CueProtocol) -> Path:
    """``<data_dir>/sessions/<YYYYmmdd-HHMMSS>-<protocol>/`` (not created here)."""
    return Path(data_dir) / "sessions" / f"{time.strftime('%Y%m%d-%H%M%S')}-{protocol.name}"


def default_seed() -> int:
    """A seed that differs between runs (written to ``run.json``, so a run can be reproduced)."""
    return int(time.time()) % 100_000


class ParadigmRun:
    """The timeline, cue markers and files of one run of ``protocol``.

    Parameters
    ----------
    protocol : CueProtocol
    run_dir : Path
        Folder of the run (created on :meth:`start`); see :func:`new_run_dir`.
    seed : int, optional
        Seeds the trial order and the random durations (default: :func:`default_seed`).
    time_scale : float
        Factor on every duration (tests run whole protocols in seconds).
    cue_stream : str
        Name of the LSL cue stream (its source id is unique per run).

    Raises
    ------
    ValueError
        ``time_scale`` is not > 0.
    """

    def __init__(self, protocol: CueProtocol, run_dir: str | Path, seed: int | None = None, time_scale: float = 1.0,
                 cue_stream: str = "samba-cues") -> None:
        self.protocol, self.run_dir, self.time_scale = protocol, Path(run_dir), float(time_scale)
        self.seed = default_seed() if seed is None else int(seed)
        self.timer = ProtocolTimer(build_schedule(protocol, self.seed, self.time_scale))
        self.outlet: CueOutlet | None = CueOutlet(cue_stream)
        self.cue_selector = StreamSelector(name=self.outlet.name, source_id=self.outlet.source_id)
        self.sent: list[SentMarker] = []

    @property
    def live_recording(self) -> Path:
        """Where the recorder writes EEG, cues and decisions (FIF)."""
        return self.run_dir / LIVE_RECORDING

    @property
    def session_path(self) -> Path:
        """Where :meth:`finish` writes the session file for ``samba-calibrate``."""
        return self.run_dir / SESSION_FILE

    def recorder_connected(self) -> bool:
        """Whether a recorder receives the cue stream (markers sent before that would be lost)."""
        return self.outlet is not None and self.outlet.has_consumers()

    def not_connected_message(self, timeout_s: float) -> str:
        """Why a run cannot begin when no recorder received the cue stream within ``timeout_s`` seconds."""
        return (f"the recorder did not connect to the cue stream {self.cue_selector.name!r} within {timeout_s:g} s; "
                "check that LSL works on this machine (firewall, or a liblsl config that hides local streams: "
                "see 'Restricted LSL configurations' in the README) and try again")

    def start(self, now: float) -> list[TimerEvent]:
        """Start the timeline at ``now`` (s, a monotonic clock); sends due markers, returns the events."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        return self._send(self.timer.start(now))

    def update(self, now: float) -> list[TimerEvent]:
        """Events due since the previous call (markers among them are already sent)."""
        return self._send(self.timer.update(now))

    @property
    def finished(self) -> bool:
        return self.timer.state == "finished"

    def _send(self, events: list[TimerEvent]) -> list[TimerEvent]:
        for event in events:
            if event.kind == "marker":
                if self.outlet is None:
                    raise RuntimeError("the cue outlet of this run is closed")
                self.outlet.push(event.marker, event.duration_s)
        return events

    def send(self, text: str, duration_s: float = 0.0) -> SentMarker:
        """Send a marker now that the timeline does not schedule (e.g. a feedback run's outcome)."""
        if self.outlet is None:
            raise RuntimeError("the cue outlet of this run is closed")
        return self.outlet.push(text, duration_s)

    def abort(self) -> None:
        """Stop the timeline where it is and withdraw the cue stream (what was recorded stays)."""
        self.timer.abort()
        self.close()

    def close(self) -> list[SentMarker]:
        """Withdraw the cue stream; returns every marker sent (also kept in :attr:`sent`)."""
        if self.outlet is not None:
            self.sent = list(self.outlet.sent)
            self.outlet.close()
            self.outlet = None
        return self.sent

    def write_run_info(self, stream: str, checkpoint: str | Path | None) -> Path:
        """``run.json``: protocol, seed and every marker as sent, to reproduce or audit the run.

        Parameters
        ----------
        stream : str
            The recorded EEG stream, described (``StreamSelector.describe()``).
        checkpoint : path, optional
            The checkpoint decoding during the run.
        """
        info = {"protocol": self.protocol.name, "protocol_file": str(self.protocol.path), "seed": self.seed,
                "time_scale": self.time_scale, "classes": list(self.protocol.classes),
                "trials_per_class": self.protocol.trials_per_class, "stream": stream,
                "checkpoint": None if checkpoint is None else str(checkpoint),
                "markers": [{"lsl_time": m.time, "text": m.text, "duration_s": m.duration_s} for m in self.close()]}
        path = self.run_dir / RUN_INFO
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(info, indent=2))
        return path

    def finish(self, recorded: str | Path) -> SessionFile:
        """Write the session file from the recorder's FIF ``recorded`` (call after :meth:`write_run_info`).

        Raises
        ------
        SessionFileError
            The recording is unreadable or holds none of the sent markers.
        """
        return finalize_session(recorded, self.close(), self.session_path)
