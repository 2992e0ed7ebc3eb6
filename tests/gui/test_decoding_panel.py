"""The decoding panel with a real replay: which model decodes, the cues in the history, accuracy against them."""

from __future__ import annotations

import mne

from app.gui import GuiOptions

WAIT_MS = 30_000


def test_a_replay_shows_its_cues_and_the_running_accuracy(open_window, qtbot, tmp_path, small_checkpoint):
    window = open_window(GuiOptions(data_dir=tmp_path, checkpoint=small_checkpoint), begin=False)
    assert "demo" in window.demo_button.text() and "Replay the demo" in window.status.state.text()
    window.demo_button.click()  # the demo replay at 1x: its first cue (T2 at 4.2 s) is soon on screen
    panel = window.decoding_panel
    qtbot.waitUntil(lambda: window.session.state == "running", timeout=WAIT_MS)
    assert not window.start_button.isEnabled() and window.stop_button.isEnabled()  # Start is off while decoding
    qtbot.waitUntil(lambda: "small.samba" in panel.model_info.text(), timeout=WAIT_MS)
    assert "not evaluated" in panel.model_info.text()
    view = panel.heads["mi"]
    qtbot.waitUntil(lambda: any(line.isVisible() for line in view._cue_lines), timeout=WAIT_MS)
    assert any(line.label.format.startswith("cue ") for line in view._cue_lines if line.isVisible())
    assert view.accuracy.isVisible() and "vs cues" in view.accuracy.text()
    window.stop_button.click()
    qtbot.waitUntil(lambda: window.start_button.isEnabled(), timeout=WAIT_MS)


def test_a_plain_session_is_recorded_from_the_file_menu(open_window, qtbot, tmp_path, small_checkpoint):
    window = open_window(GuiOptions(data_dir=tmp_path, checkpoint=small_checkpoint, replay="", speed=4.0))
    qtbot.waitUntil(lambda: window.session.state == "running", timeout=WAIT_MS)
    actions = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Record a session…" in actions
    out = tmp_path / "plain_raw.fif"
    window.record_session(out)  # what the menu entry does once a file is chosen
    qtbot.waitUntil(lambda: window.session.state == "running" and window.session.request.record == out,
                    timeout=WAIT_MS)
    qtbot.wait(1500)
    window.stop_button.click()
    qtbot.waitUntil(lambda: window.session.state == "stopped", timeout=WAIT_MS)
    raw = mne.io.read_raw_fif(out, verbose="error")
    assert raw.n_times > 160 and any(d.startswith("mi:") for d in raw.annotations.description)


def test_an_untrained_head_is_listed_greyed_and_not_as_a_decoder(qtbot):
    from app.gui.decoding_panel import DecodingPanel
    from app.pipeline.heads import CheckpointHeads, HeadInfo

    panel = DecodingPanel()
    qtbot.addWidget(panel)
    panel.show_model(CheckpointHeads("samba-base.samba", "pretrained", {
        "mi": HeadInfo("mi", "trained", 0.6, 0.51), "distraction": HeadInfo("distraction", "untrained")}))
    text = panel.model_info.text()
    assert "samba-base.samba" in text and "not calibrated for this user" in text and "0.60" in text
    assert 'color:#999">distraction: untrained — not decoded' in text
    assert not panel.heads  # nothing is drawn as a decoder until decisions arrive, and never for distraction
