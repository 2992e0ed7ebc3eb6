"""The main window against real LSL streams: a replayed recording and live synthetic sources."""

from __future__ import annotations

import numpy as np
import pytest

from app.cli import build_parser
from app.gui import GuiOptions
from app.pipeline import DEMO_RECORDING
from helpers.lsl import SyntheticEEGSource, unique_name

WAIT_MS = 30_000


def curve_data(window):
    return [c.getData() for c in window.signal_panel.curves]


def test_samba_live_replay_opens_on_the_replay_and_every_panel_updates(open_window, qtbot, tmp_path,
                                                                        small_checkpoint):
    args = build_parser().parse_args(["--replay", str(DEMO_RECORDING), "--checkpoint", str(small_checkpoint),
                                      "--speed", "2"])
    options = GuiOptions.from_args(args)
    assert options.replay == str(DEMO_RECORDING) and options.checkpoint == small_checkpoint
    window = open_window(GuiOptions(**{**options.__dict__, "data_dir": tmp_path}))

    qtbot.waitUntil(lambda: window.decoding_panel.decision() is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "decisions/s" in window.status.rate.text(), timeout=WAIT_MS)
    assert window.banner.text() == ""
    # Stream picker: the replay is listed and selected.
    qtbot.waitUntil(lambda: window.stream_picker.selected() is not None, timeout=WAIT_MS)
    picked = window.stream_picker.selected()
    assert picked.name == window.session.replay.name and picked.n_channels == 64 and picked.rate == 320
    assert window.session.request.stream.replay_of == str(DEMO_RECORDING)  # its errors name no amplifier
    # Signal panel: 64 channels of finite, scaled traces, all good quality on this recording.
    data = curve_data(window)
    assert len(data) == 64
    assert all(x is not None and len(x) > 100 and np.isfinite(y).mean() > 0.99 for x, y in data)
    assert window.signal_panel.states.count("good") >= 60
    assert "FC5" in [t[1] for t in window.signal_panel.plot.getAxis("left")._tickLevels[0]]
    # Montage panel: 64 electrodes with their resolution on hover, one topomap per spatial channel.
    montage = window.montage_panel
    assert len(montage.electrodes.points()) == 64
    tip = montage.electrodes.points()[0].data()
    assert "source: standard-1005" in tip and "state:" in tip
    assert len(montage.maps) == montage.thumbnails.count() == 8  # small_config: 8 latent spatial channels
    assert np.isfinite(montage.maps[0]).sum() > 1000
    montage.thumbnails.setCurrentRow(3)
    assert montage.selected_channel == 3 and "channel <b>4</b> of 8" in montage.map_label.text()
    assert montage.table.rowCount() == 64 and "Montage: 64 channels" in montage.report.toPlainText()
    # Decoding panel: probabilities per head, decision for the selected task, history drawn.
    head, label, p = window.decoding_panel.decision()
    view = window.decoding_panel.heads["mi"]
    assert head == "mi" and label in ("left", "right") and 0.5 <= p <= 1
    assert view.probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    # The history grows one decision per hop (no start-up burst): wait for a few.
    qtbot.waitUntil(lambda: view.lines[0].getData()[0] is not None and len(view.lines[0].getData()[0]) > 3,
                    timeout=WAIT_MS)
    window.checkpoint_picker.set_task("distraction")
    assert window.decoding_panel.decision()[0] == "distraction"
    # Status bar: latency and losses.
    assert "p50" in window.status.latency.text() and "p99" in window.status.latency.text()
    assert window.status.dropped.text().startswith("dropped 0")
    window.stop_button.click()
    qtbot.waitUntil(lambda: window.session.state == "stopped", timeout=WAIT_MS)
    assert window.session.snapshot() is None


def test_a_bad_checkpoint_is_a_message_and_the_window_recovers(open_window, qtbot, tmp_path, small_checkpoint):
    bad = tmp_path / "broken.samba"
    bad.write_bytes(b"this is not a checkpoint")
    source = SyntheticEEGSource(unique_name("gui-eeg"))
    try:
        window = open_window(GuiOptions(stream=source.name, checkpoint=bad, data_dir=tmp_path))
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT_MS)
        assert "cannot load the checkpoint" in window.banner.text() and "broken.samba" in window.banner.text()
        assert any("ERROR" in m and "broken.samba" in m for m in window.notices.messages())
        assert window.session.state == "failed" and window.start_button.isEnabled()
        # Pick a good checkpoint and start again: the same window decodes.
        window.checkpoint_picker.set_checkpoint(small_checkpoint)
        qtbot.waitUntil(lambda: window.stream_picker.selected() is not None
                        and window.stream_picker.selected().name == source.name, timeout=WAIT_MS)
        window.start_button.click()
        assert not window.banner.isVisible()
        qtbot.waitUntil(lambda: window.decoding_panel.decision() is not None, timeout=WAIT_MS)
        # The stream vanishes: a notice and the status say so; nothing crashes.
        source.stop()
        qtbot.waitUntil(lambda: any("lost" in m or "no data" in m for m in window.notices.messages()),
                        timeout=WAIT_MS)
        qtbot.waitUntil(lambda: "stream-lost" in window.status.state.text() or "stalled" in window.status.state.text(),
                        timeout=WAIT_MS)
    finally:
        source.stop()


def test_an_unplaceable_montage_is_a_message(open_window, qtbot, tmp_path, small_checkpoint):
    source = SyntheticEEGSource(unique_name("gui-eeg"), labels=("E1", "E2", "E3", "E4", "E5", "E6"))
    try:
        window = open_window(GuiOptions(stream=source.name, checkpoint=small_checkpoint, data_dir=tmp_path))
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT_MS)
        assert "cannot place the channels" in window.banner.text() and "E1" in window.banner.text()
        assert "error" in window.status.state.text()
    finally:
        source.stop()


def test_the_window_opens_without_arguments(open_window, qtbot, tmp_path):
    window = open_window(GuiOptions(data_dir=tmp_path))
    assert window.isVisible() and window.session.state == "idle"
    assert window.tabs.tabText(0) == "Live decoding" and window.tabs.tabText(1) == "Calibration"
    assert window.checkpoint_picker.combo.count() >= 1
    assert [window.stream_picker.table.horizontalHeaderItem(i).text() for i in range(5)] == \
        ["name", "type", "channels", "rate (Hz)", "host"]
    qtbot.waitUntil(lambda: "stream" in window.stream_picker.status.text(), timeout=WAIT_MS)
    assert window.banner.text() == ""


def test_samba_live_without_arguments_opens_the_window(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app import cli
    from app.gui import MainWindow

    monkeypatch.setenv("SAMBA_LIVE_HOME", str(tmp_path))
    seen = []

    def close_windows():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, MainWindow) and w.isVisible():
                seen.append((w.windowTitle(), w.options.data_dir, w.options.replay))
                w.close()
        QApplication.instance().quit()

    QTimer.singleShot(1500, close_windows)
    assert cli.main([]) == 0
    assert seen == [("SAMBA-Live", tmp_path, None)]


def test_no_display_is_said_before_qt_would_abort():
    from app.gui.launch import display_problem

    assert "xvfb-run" in display_problem({}, "linux")
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "darwin") is None


def test_a_stream_that_vanishes_is_never_replaced_by_the_stream_now_in_its_row(qtbot):
    from app.gui.stream_picker import StreamPicker
    from app.pipeline import StreamSummary

    def stream(name: str) -> StreamSummary:
        return StreamSummary(name=name, stype="EEG", n_channels=8, rate=256.0, host="here", source_id=name, uid=name)

    picker = StreamPicker(refresh_s=3600.0)
    qtbot.addWidget(picker)
    picker.timer.stop()
    picker._fill([stream("b-amp"), stream("c-replay")])
    picker.select_name("c-replay")
    assert picker.selected().name == "c-replay"
    picker._fill([stream("a-other"), stream("b-amp")])  # the replay ended; another stream takes its row
    assert picker.selected() is None and picker.selected_selector() is None
    picker._fill([stream("a-other"), stream("b-amp"), stream("c-replay")])  # it returns: selected again
    assert picker.selected().name == "c-replay"
