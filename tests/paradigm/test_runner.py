"""A cued paradigm run headless on a real LSL amplifier (loopback): cues on LSL, recorded, session file written."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import mne
import numpy as np
import pylsl
import pytest

from app.paradigm import ParadigmRun, load_protocol, run_paradigm, trial_order
from app.pipeline import AcquisitionConfig, PipelineConfig, StreamSelector
from helpers.lsl import SyntheticEEGSource, unique_name, wait_until

SHORT = Path(__file__).with_name("short_mi.json")


def config_for(source: SyntheticEEGSource, checkpoint: Path) -> PipelineConfig:
    return PipelineConfig(StreamSelector(name=source.name), checkpoint, outlet_prefix=unique_name("paradigm-out"),
                          acquisition=AcquisitionConfig(resolve_timeout_s=10.0))


def test_a_headless_run_sends_every_cue_on_lsl_and_writes_the_session_file(amplifier, small_checkpoint, tmp_path):
    protocol = load_protocol(SHORT)
    events, decisions = [], []
    result = run_paradigm(protocol, config_for(amplifier, small_checkpoint), tmp_path / "run", seed=4, time_scale=0.5,
                          cue_stream=unique_name("cues"), on_event=events.append, on_decision=decisions.append)
    # The timeline: every step once, the cues in the seeded order, then the end.
    expected = [f"cue/{c}" for c in trial_order(protocol, 4)]
    sent = [m.text for m in result.sent]
    assert sent == ["protocol/start", *expected, "protocol/end"]
    assert [e.marker for e in events if e.kind == "marker"] == sent and events[-1].kind == "finished"
    # Every marker went over LSL into the recording, and the session file gives each cue its duration.
    assert result.session.missing == {} and result.recording.n_markers == len(sent)
    raw = mne.io.read_raw_fif(result.session.path, verbose="error")
    cues = [(d, dur) for d, dur in zip(raw.annotations.description, raw.annotations.duration) if d.startswith("cue/")]
    assert [d for d, _ in cues] == expected
    np.testing.assert_allclose([dur for _, dur in cues], (0.5 + 0.7) * 0.5, atol=1e-6)
    assert raw.ch_names == list(amplifier.labels) and raw.info["sfreq"] == amplifier.rate
    # Cue onsets in the recording are spaced as they were sent (LSL times of the outlet).
    onsets = raw.annotations.onset[[d.startswith("cue/") for d in raw.annotations.description]]
    sent_times = np.array([m.time for m in result.sent if m.text.startswith("cue/")])
    np.testing.assert_allclose(np.diff(onsets), np.diff(sent_times), atol=0.05)
    info = json.loads((result.run_dir / "run.json").read_text())
    assert info["seed"] == 4 and info["protocol"] == "short-mi" and [m["text"] for m in info["markers"]] == sent
    assert Counter(d for d, _ in cues) == {"cue/left": 3, "cue/right": 3}
    # The running model decoded throughout, and its decisions reached the caller and the live recording.
    assert decisions and result.recording.n_decisions == len(decisions)


def test_an_interrupted_run_keeps_the_recording_and_the_markers_sent(amplifier, small_checkpoint, tmp_path):
    def interrupt_at_the_third_cue(event):
        if event.kind == "marker" and event.step.trial == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_paradigm(load_protocol(SHORT), config_for(amplifier, small_checkpoint), tmp_path / "run", seed=1,
                     time_scale=0.5, cue_stream=unique_name("cues"), on_event=interrupt_at_the_third_cue)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert [m["text"] for m in info["markers"]][0] == "protocol/start" and len(info["markers"]) == 4
    raw = mne.io.read_raw_fif(tmp_path / "run" / "live.fif", verbose="error")
    assert raw.n_times > 0 and "protocol/start" in raw.annotations.description


def test_a_run_driven_by_invented_times_sends_its_markers_to_any_lsl_inlet(tmp_path):
    protocol = load_protocol(SHORT)
    run = ParadigmRun(protocol, tmp_path / "run", seed=3, cue_stream=unique_name("cues"))
    inlet = None
    try:
        (info,) = pylsl.resolve_byprop("source_id", run.cue_selector.source_id, 1, 10.0)
        inlet = pylsl.StreamInlet(info)
        inlet.open_stream(5.0)
        assert wait_until(run.recorder_connected)
        events, now = run.start(1000.0), 1000.0
        while not run.finished:
            now += 0.7  # a driver that looks at the clock rarely still sends every marker, in order
            events += run.update(now)
        due = [e.marker for e in events if e.kind == "marker"]
        received = []
        while len(received) < len(due):
            sample, ts = inlet.pull_sample(timeout=5.0)
            assert ts is not None, f"received only {received}"
            received.append(sample[0])
        assert received == due == ["protocol/start", *[f"cue/{c}" for c in trial_order(protocol, 3)], "protocol/end"]
    finally:
        sent = run.close()
        if inlet is not None:
            inlet.close_stream()
    assert [m.text for m in sent] == due and run.outlet is None
    assert run.cue_selector.name in run.not_connected_message(2.0) and "Restricted LSL" in run.not_connected_message(2)
    assert not (tmp_path / "run" / "run.json").exists()
    run.write_run_info("name='amp'", None)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["markers"][1]["text"] == due[1]
