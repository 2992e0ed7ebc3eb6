"""Timing faults on real LSL outlets (loopback): decoding goes on, lost counts are exact, nothing is lost from the recording."""

from __future__ import annotations

import pytest

from helpers.lsl import unique_name
from timing_sources import SCENARIOS, run_scenario


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_timing_fault_is_survived_and_counted_exactly(name, tmp_path, checkpoint, checkpoint_path):
    r = run_scenario(name, checkpoint, checkpoint_path, tmp_path, unique_name("eeg"), unique_name("out"))
    print(r)  # shown by pytest when an assertion below fails
    assert r["stopped_by_error"] is None
    assert r["decisions_after_fault"] >= 10
    assert r["lost_reported"] == r["lost"]  # exact: the samples missing from the recording's span
    assert r["duplicated"] == 0 and r["in_order"]
    assert r["recorded"] == r["received"]  # every sample received is recorded, backlogs included
    assert r["backlog_not_decoded"] > 0  # what queued while the app started: recorded, not decoded
    assert r["stamped_ahead_of_clock"] == 0
    assert r["decision_rows_in_order"]  # placed on the recorded samples they used, even after a clock step
    if name.startswith("gap_of_"):
        assert r["lost"] == SCENARIOS[name]["fault"][1]
    if name.startswith("outage"):
        assert r["lost"] > 0 and "reattached" in r["notices"]
    if name.startswith(("packets", "hiccup", "source_3pct")):
        assert r["lost"] == 0 and r["resets"] == 0
    if name.startswith("source_3pct"):
        assert "rate" in r["notices"]
        assert abs(r["fif_rate_hz"] / (256.0 * 0.97) - 1) < 0.002  # recorded at the rate it really has
    else:
        assert r["fif_rate_hz"] == SCENARIOS[name]["source"].get("rate", 256.0)
