"""A real LSL source that misbehaves in time the way amplifier programs do (tests and bench).

:class:`ScriptedSource` produces samples at ``actual_rate`` on the local LSL clock in
packets, and pushes them to a pylsl outlet either stamped by the source (the true time
of the packet's last sample; LSL spaces the others at the declared rate) or stamped at
push time, sample by sample (what many amplifier programs do). On request it hiccups
(stops pushing, then pushes the backlog at once), steps its clock, drops samples, or
loses its outlet for a while (an outage) and comes back.

Channel ``Counter`` (type MISC) carries each sample's index, so a test can tell from a
recording exactly which samples arrived, which are missing and which came twice.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pylsl

from helpers.lsl import LABELS_10_20, eeg_samples

COUNTER = "Counter"


class ScriptedSource:
    """A pylsl EEG outlet fed by a thread, with timing faults on request.

    Parameters
    ----------
    name : str
        Stream name and source id (use a unique one per test).
    rate : float
        Declared nominal rate (Hz).
    packet : int
        Samples per push.
    stamping : {"source", "push"}
        ``"source"``: each packet stamped with the true time of its last sample;
        ``"push"``: every sample stamped with the local clock when it is pushed.
    actual_rate : float, optional
        Rate at which samples are produced (default ``rate``).
    labels : sequence of str
        EEG channels (µV); the counter channel is appended.
    """

    def __init__(self, name: str, rate: float = 256.0, packet: int = 8, stamping: str = "source",
                 actual_rate: float | None = None, labels=LABELS_10_20[:4]) -> None:
        if stamping not in ("source", "push"):
            raise ValueError(f"stamping must be 'source' or 'push', not {stamping!r}")
        self.name, self.rate, self.packet, self.stamping = name, float(rate), int(packet), stamping
        self.actual_rate = float(actual_rate or rate)
        self.labels = tuple(labels)
        self.next_index = 0  # next sample to produce
        self.sent = 0  # samples pushed to an outlet
        self.dropped = 0  # samples produced but never pushed (skips, outages)
        self._clock_offset = 0.0
        self._hold_until = 0.0
        self._skip = 0
        self._outage_until: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.outlet: pylsl.StreamOutlet | None = self._open()
        self.t0 = pylsl.local_clock() + 0.05
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    # -- faults ----------------------------------------------------------------------
    def hiccup(self, seconds: float) -> None:
        """Push nothing for ``seconds``, then the whole backlog at once."""
        with self._lock:
            self._hold_until = pylsl.local_clock() + seconds

    def step_clock(self, seconds: float) -> None:
        """The source's clock jumps by ``seconds`` (negative: back) from the next packet on."""
        with self._lock:
            self._clock_offset += seconds

    def skip(self, n: int) -> None:
        """The next ``n`` samples are never sent (their time passes)."""
        with self._lock:
            self._skip += int(n)

    def outage(self, seconds: float) -> None:
        """The outlet vanishes for ``seconds`` (samples produced meanwhile are lost), then comes back."""
        with self._lock:
            self.outlet = None
            self._outage_until = pylsl.local_clock() + seconds

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        with self._lock:
            self.outlet = None

    # -- internals -------------------------------------------------------------------
    def _open(self) -> pylsl.StreamOutlet:
        info = pylsl.StreamInfo(self.name, "EEG", len(self.labels) + 1, self.rate, "float32", self.name)
        channels = info.desc().append_child("channels")
        for label, kind, unit in [*((lab, "EEG", "microvolts") for lab in self.labels), (COUNTER, "MISC", "none")]:
            c = channels.append_child("channel")
            c.append_child_value("label", label)
            c.append_child_value("type", kind)
            c.append_child_value("unit", unit)
        return pylsl.StreamOutlet(info, chunk_size=self.packet)

    def _run(self) -> None:
        while not self._stop.is_set():
            start = self.next_index
            due = self.t0 + (start + self.packet - 1) / self.actual_rate
            wait = max(due, self._hold_until) - pylsl.local_clock()
            if wait > 0:
                time.sleep(min(wait, 0.05))
                continue
            data = np.empty((self.packet, len(self.labels) + 1), dtype=np.float32)
            data[:, :-1] = eeg_samples(start, self.packet, len(self.labels), self.rate)
            data[:, -1] = np.arange(start, start + self.packet)
            with self._lock:
                if self._outage_until is not None and pylsl.local_clock() >= self._outage_until:
                    self._outage_until = None
                    self.outlet = self._open()
                keep = np.ones(self.packet, dtype=bool)
                n_skip = min(self._skip, self.packet)
                keep[:n_skip] = False
                self._skip -= n_skip
                outlet = self.outlet
                if outlet is None:
                    keep[:] = False
                elif keep.any():
                    self._push(outlet, data, keep, due + self._clock_offset)
                self.sent += int(keep.sum())
                self.dropped += int((~keep).sum())
                self.next_index = start + self.packet

    def _push(self, outlet: pylsl.StreamOutlet, data: np.ndarray, keep: np.ndarray, stamp: float) -> None:
        if self.stamping == "source":
            if keep.all():
                outlet.push_chunk(data, stamp)
            else:  # a skip inside the packet: each kept sample with its own true time
                for k in np.flatnonzero(keep):
                    outlet.push_sample(data[k], stamp - (self.packet - 1 - k) / self.actual_rate)
            return
        for k in np.flatnonzero(keep):
            outlet.push_sample(data[k], pylsl.local_clock() + self._clock_offset)


#: Timing-fault scenarios: the source's settings and the fault applied once decoding runs.
SCENARIOS: dict[str, dict] = {
    "packets_9_every_30ms_300hz_push_stamped": dict(source=dict(rate=300.0, packet=9, stamping="push"), fault=None),
    "hiccup_1s_then_backlog_push_stamped": dict(source=dict(stamping="push"), fault=("hiccup", 1.0)),
    "hiccup_1s_then_backlog_source_stamped": dict(source=dict(), fault=("hiccup", 1.0)),
    "clock_step_back_2s": dict(source=dict(), fault=("step_clock", -2.0)),
    "clock_step_back_0.5s_push_stamped": dict(source=dict(rate=300.0, packet=9, stamping="push"),
                                              fault=("step_clock", -0.5)),
    "clock_step_forward_30s_push_stamped": dict(source=dict(stamping="push"), fault=("step_clock", 30.0)),
    "source_3pct_slower_than_declared": dict(source=dict(actual_rate=256.0 * 0.97), fault=None),
    "gap_of_40_samples_push_stamped": dict(source=dict(rate=300.0, packet=9, stamping="push"), fault=("skip", 40)),
    "gap_of_3_samples_source_stamped": dict(source=dict(), fault=("skip", 3)),
    "outage_5s_then_reattach": dict(source=dict(), fault=("outage", 5.0)),
}


def count_recorded(path) -> dict[str, int]:
    """From a finished recording: samples recorded, missing inside its span, and recorded twice."""
    import mne

    raw = mne.io.read_raw_fif(path, preload=True, verbose="error")
    counter = np.rint(raw.get_data(picks=[COUNTER])[0]).astype(np.int64)
    unique = np.unique(counter)
    return {
        "recorded": int(counter.size), "fif_rate_hz": float(raw.info["sfreq"]), "lost": int(unique[-1] - unique[0] + 1 - unique.size),
        "duplicated": int(counter.size - unique.size), "in_order": bool(np.all(np.diff(counter) > 0)),
    }


def run_scenario(name: str, checkpoint, checkpoint_path, folder, stream_name: str, outlet_prefix: str,
                 after_s: float = 2.0) -> dict:
    """Run scenario ``name`` against a recording LivePipeline; return what happened.

    Decoding runs until 10 decisions are out, the fault is applied, and the pipeline runs
    for the fault's duration plus ``after_s`` and until 10 more decisions are out. Waits
    are on events, with generous timeouts only against a hung run.
    """
    from app.pipeline import LivePipeline, PipelineConfig, StreamSelector
    from helpers.lsl import wait_until

    spec = SCENARIOS[name]
    source = ScriptedSource(stream_name, **spec["source"])
    decisions: list = []
    out = folder / f"{name}.fif"
    pipeline = LivePipeline(PipelineConfig(StreamSelector(name=stream_name), checkpoint_path, record=out,
                                           outlet_prefix=outlet_prefix),
                            checkpoint=checkpoint, on_decision=decisions.append)
    try:
        pipeline.start()
        wait_until(lambda: len(decisions) >= 10, 60.0)
        n_before = len(decisions)
        duration = 0.0
        if spec["fault"] is not None:
            kind, value = spec["fault"]
            getattr(source, kind)(value)
            duration = abs(value) if kind in ("hiccup", "outage") else 0.0
        deadline = time.monotonic() + duration + after_s
        wait_until(lambda: time.monotonic() >= deadline and len(decisions) >= n_before + 10, duration + after_s + 60.0)
    finally:
        pipeline.stop()
        source.stop()
    result = {
        "scenario": name, "sent": source.sent, "dropped_by_source": source.dropped,
        "received": pipeline.samples_received, "lost_reported": pipeline.samples_lost, "resets": pipeline.resets,
        "backlog_not_decoded": pipeline.samples_not_decoded,
        "decisions": len(decisions), "decisions_after_fault": len(decisions) - n_before,
        "stamped_ahead_of_clock": int(sum(d.sample_time > d.pushed_at for d in decisions)),
        "stopped_by_error": None if pipeline.error is None else str(pipeline.error),
        "notices": sorted({n.code for n in pipeline.notices.history()}),
    }
    if pipeline.recording is not None:
        result.update(count_recorded(out))
        rows = np.genfromtxt(pipeline.recording.decisions_path, delimiter="\t", names=True, usecols=["fif_sample"])
        result["decision_rows_in_order"] = bool(np.all(np.diff(np.atleast_1d(rows["fif_sample"])) >= 0))
    return result
