"""Protocols map markers to classes as data; the right one is picked for a session."""

from __future__ import annotations

import json

import pytest

from calibration.protocols import PROTOCOLS, Protocol, ProtocolError, count_events, get_protocol, select_protocol


def test_eegmmidb_t1_t2_mean_left_right_only_in_imagery_runs():
    markers = [("S001R04.edf", "T1"), ("S001R04.edf", "T2"), ("S001R04.edf", "T0"), ("S001R06.edf", "T1")]
    counts = count_events(PROTOCOLS["eegmmidb-imagery"], markers)
    assert counts == {"left": 1, "right": 1}
    assert count_events(PROTOCOLS["eegmmidb-fists-feet"], markers) == {"both_fists": 1, "feet": 0}


def test_select_protocol_follows_the_markers_present():
    assert select_protocol("mi", [("s.fif", "cue/left"), ("s.fif", "cue/right")]).name == "mi"
    assert select_protocol("mi", [("S002R08.edf", "T1"), ("S002R08.edf", "T2")]).name == "eegmmidb-imagery"
    assert select_protocol("distraction", [("d.xdf", "block/attentive")]).name == "distraction"


def test_select_protocol_without_events_names_what_it_expected():
    with pytest.raises(ProtocolError, match="cue/left") as err:
        select_protocol("mi", [("s.fif", "boundary"), ("s.fif", "BAD_acq")])
    assert "boundary" in str(err.value)


def test_protocol_json_round_trip(tmp_path):
    proto = Protocol(name="lab-mi", task="mi", events=(("769", "left"), ("770", "right")), classes=("left", "right"),
                     tmin=-0.5, window=(0.5, 3.0))
    path = tmp_path / "lab.json"
    path.write_text(json.dumps(proto.to_dict()))
    assert get_protocol(path) == proto
    assert get_protocol("mi") is PROTOCOLS["mi"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"window": (2.0, 1.0)}, "end > start"),
        ({"tmin": 1.0}, "tmin"),
        ({"mode": "sliding"}, "mode"),
        ({"events": (("a", "up"),)}, "not in"),
    ],
)
def test_invalid_protocols_are_refused(bad, message):
    fields = dict(name="x", task="mi", events=(("a", "left"),), classes=("left", "right"))
    fields.update(bad)
    with pytest.raises(ProtocolError, match=message):
        Protocol(**fields)


def test_unknown_protocol_name():
    with pytest.raises(ProtocolError, match="built-in protocols"):
        get_protocol("not-a-protocol")
