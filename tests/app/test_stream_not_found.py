"""A stream that does not appear: the advice fits its source (a device, or a replay played on this machine)."""

from __future__ import annotations

import pytest

from app.pipeline import StreamNotFoundError, StreamSelector
from app.pipeline.streams import not_found_advice, resolve_stream
from helpers.lsl import unique_name


@pytest.mark.parametrize("recording", ["/data/S001R04.edf", "run.xdf", None])
def test_a_missing_replay_stream_points_at_lsl_on_this_machine_not_at_hardware(recording):
    selector = StreamSelector.of_replay(unique_name("samba-replay"), recording)
    with pytest.raises(StreamNotFoundError) as info:
        resolve_stream(selector, timeout=0.2)
    message = str(info.value)
    assert selector.name in message and "amplifier" not in message.lower() and "hardware" in message
    assert "Restricted LSL configurations" in message and "--list-streams" in message
    assert (str(recording) if recording else "a recording in memory") in message


@pytest.mark.parametrize("selector", [StreamSelector(name="x"), StreamSelector(stype="EEG"), StreamSelector(source_id="y")])
def test_a_missing_live_stream_points_at_the_device(selector):
    assert "amplifier software is streaming" in not_found_advice(selector)
    with pytest.raises(StreamNotFoundError, match="amplifier software"):
        resolve_stream(StreamSelector(name=unique_name("absent-amp")), timeout=0.2)


def test_a_replay_selector_matches_like_a_name_selector():
    replay = StreamSelector.of_replay("samba-replay-ab12", "a.edf")
    assert replay.name == "samba-replay-ab12" and replay.describe() == StreamSelector(name="samba-replay-ab12").describe()
    assert replay.stype is None and replay.source_id is None
