"""The calibration tab end to end: a shortened protocol on a replayed stream, recorded and trained."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import mne
import numpy as np

from app.gui import GuiOptions
from app.paradigm import load_protocol
from samba_core import load_checkpoint

SHORT = Path(__file__).parents[1] / "paradigm" / "short_mi.json"


def test_a_short_protocol_records_cues_trains_and_loads_a_subject_checkpoint(replaying_window, qtbot, tmp_path):
    window = replaying_window
    tab = window.calibration_tab
    tab.add_protocol(load_protocol(SHORT))
    assert tab.trials.value() == 3 and list(tab.optional_checks) == ["feet"]
    shown: list[str] = []
    tab.start_button.click()
    assert tab.stage == "preparing" and not tab.start_button.isEnabled()
    qtbot.waitUntil(lambda: tab.stage == "running", timeout=30_000)
    # While it runs, the cue screen follows the protocol.
    while tab.stage == "running":
        text = tab.cue_view.display_text()
        if not shown or shown[-1] != text:
            shown.append(text)
        qtbot.wait(20)
    assert "arrow left" in shown and "arrow right" in shown and "Get ready" in shown
    qtbot.waitUntil(lambda: tab.stage in ("done", "failed"), timeout=90_000)
    assert tab.stage == "done", tab.last_error

    # The session file: the EEG of the replayed stream with every cue, with durations.
    session = tab.session_file
    raw = mne.io.read_raw_fif(session.path, verbose="error")
    assert len(raw.ch_names) == 64 and raw.info["sfreq"] == 160.0
    cues = [(d, dur) for d, dur in zip(raw.annotations.description, raw.annotations.duration) if d.startswith("cue/")]
    assert Counter(d for d, _ in cues) == {"cue/left": 3, "cue/right": 3}
    # FIF stores annotation times as float32: durations agree to ~1e-6 s (a sample is 6.25 ms here).
    np.testing.assert_allclose([dur for _, dur in cues], 1.2, atol=1e-5)
    assert {"protocol/start", "protocol/end"} <= set(raw.annotations.description)
    assert not any(d.startswith("mi:") for d in raw.annotations.description)
    run = json.loads((session.path.parent / "run.json").read_text())
    sent = [m["text"] for m in run["markers"] if m["text"].startswith("cue/")]
    recorded = [d for d, _ in cues]
    assert recorded == sent and session.missing == {}
    # Marker times went over LSL: each cue lands where it was sent (within the replay's timestamp jitter).
    onsets = raw.annotations.onset[[d.startswith("cue/") for d in raw.annotations.description]]
    sent_times = np.array([m["lsl_time"] for m in run["markers"] if m["text"].startswith("cue/")])
    np.testing.assert_allclose(np.diff(onsets), np.diff(sent_times), atol=0.1)

    # The trainer ran in its own process and wrote a subject checkpoint and a report.
    report = tab.report_view.report
    subject = Path(report.checkpoint)
    assert subject.is_file() and subject.parent == tmp_path / "subjects"
    assert report.task == "mi" and report.counts["left"] >= 2 and report.counts["right"] >= 2
    assert any(p.endswith("learning_curves.png") for p in report.plots)
    assert tab.train_progress.value() == 100
    loaded = load_checkpoint(subject)
    assert loaded.metadata.provenance["kind"] == "subject-calibration"
    assert window.checkpoint_picker.combo.findData(str(subject)) >= 0

    # One click decodes with it.
    assert tab.report_view.load_button.isEnabled()
    tab.report_view.load_button.click()
    qtbot.waitUntil(lambda: window.session.state == "running" and window.session.request.checkpoint == subject,
                    timeout=30_000)
    assert window.tabs.currentIndex() == 0 and window.checkpoint_picker.checkpoint() == subject
    qtbot.waitUntil(lambda: window.decoding_panel.decision() is not None, timeout=30_000)


def test_starting_without_a_stream_says_what_to_do(open_window, qtbot, tmp_path, small_checkpoint):
    window = open_window(GuiOptions(checkpoint=small_checkpoint, data_dir=tmp_path), begin=False)
    window.stream_picker.timer.stop()
    qtbot.waitUntil(lambda: "looking" not in window.stream_picker.status.text(), timeout=10_000)  # first look done
    window.stream_picker.table.setRowCount(0)
    window.stream_picker._streams = []
    tab = window.calibration_tab
    tab.start_button.click()
    assert tab.stage == "failed" and "select an EEG stream" in tab.status.text()
    assert window.banner.isVisible() and tab.start_button.isEnabled()


def test_distraction_blocks_are_recorded_with_their_durations(replaying_window, qtbot, tmp_path):
    window = replaying_window
    tab = window.calibration_tab
    tab.add_protocol(load_protocol(SHORT.with_name("short_distraction.json")))
    tab.train_after.setChecked(False)
    tab.start_button.click()
    shown: set[str] = set()
    controls: set[bool] = set()
    qtbot.waitUntil(lambda: tab.stage == "running", timeout=30_000)
    while tab.stage == "running":
        shown.add(tab.cue_view.display_text())
        controls.add(window.start_button.isEnabled() or window.stream_picker.isEnabled())
        qtbot.wait(20)
    assert "tracking" in shown and any(t.endswith("= ?") for t in shown) and "Next: distracted" in shown
    assert controls == {False}  # the recorder's stream and model cannot be changed under it
    qtbot.waitUntil(lambda: tab.stage in ("done", "failed"), timeout=30_000)
    assert tab.stage == "done", tab.last_error
    raw = mne.io.read_raw_fif(tab.session_file.path, verbose="error")
    blocks = [(d, dur) for d, dur in zip(raw.annotations.description, raw.annotations.duration) if d.startswith("block/")]
    assert Counter(d for d, _ in blocks) == {"block/attentive": 2, "block/distracted": 2, "block/end": 4}
    np.testing.assert_allclose([dur for d, dur in blocks if d != "block/end"], 1.5, atol=1e-5)  # FIF annotation times are float32
    assert not (tmp_path / "subjects").exists() and "train it with samba-calibrate" in tab.status.text()
    # The controls are the user's again (Start while idle, Stop while decoding).
    assert window.stream_picker.isEnabled() and (window.start_button.isEnabled() or window.stop_button.isEnabled())
