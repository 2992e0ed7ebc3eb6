"""What callers get back: the result object, its report, its dict, and the CLI."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from montages import ChannelResolution, MontageResolution, resolve_montage
from montages.__main__ import main

MUSE = ["TP9", "AF7", "AF8", "TP10", "Right AUX"]


def test_result_shapes_and_immutability() -> None:
    res = resolve_montage(MUSE, ["EEG"] * 5, device="muse")
    assert isinstance(res, MontageResolution)
    assert res.labels == tuple(MUSE)
    assert res.coords.shape == (5, 3) and res.coords.dtype == np.float32
    assert res.mask.dtype == bool and res.eeg_indices.tolist() == [0, 1, 2, 3]
    assert all(isinstance(c, ChannelResolution) for c in res.channels)
    assert [c.index for c in res.channels] == list(range(5))
    with pytest.raises(ValueError):
        res.coords[0, 0] = 1.0
    with pytest.raises(ValueError):
        res.mask[4] = True
    # Left is left: TP9/AF7 on the left (x < 0), AF7/AF8 in front (y > 0).
    assert res.coords[0, 0] < 0 < res.coords[3, 0] and res.coords[1, 1] > 0


def test_report_and_dict() -> None:
    res = resolve_montage(MUSE, ["EEG"] * 5, device="muse")
    report = res.format_report()
    for label in MUSE:
        assert label in report
    assert "4 EEG used as model input" in report and "excluded: the muse profile" in report
    assert "head frame" in report

    data = json.loads(json.dumps(res.to_dict()))
    assert data["frame"] == "head" and data["units"] == "m" and data["n_used"] == 4
    assert data["channels"][4]["used"] is False and data["channels"][4]["position_m"] is None
    np.testing.assert_allclose(data["channels"][0]["position_m"], res.coords[0], atol=1e-6)
    assert data["channels"][0]["source"] == "device-profile"


def test_cli_prints_report_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--device", "muse", *MUSE]) == 0
    assert "Right AUX" in capsys.readouterr().out

    assert main(["Fp1", "Foo"]) == 2
    assert "unknown-label" in capsys.readouterr().err

    assert main(["--list-devices"]) == 0
    assert "biosemi64" in capsys.readouterr().out


def test_cli_reads_a_live_lsl_stream(capsys: pytest.CaptureFixture[str]) -> None:
    from mne_lsl.lsl import StreamInfo, StreamOutlet

    name = f"montage-cli-{time.monotonic_ns()}"
    info = StreamInfo(name, "EEG", 3, 250.0, "float32", name)
    info.set_channel_names(["Fp1", "Cz", "TRIGGER"])
    info.set_channel_types(["eeg", "eeg", "stim"])
    outlet = StreamOutlet(info)
    try:
        assert main(["--lsl", name, "--json", "--timeout", "5"]) == 0
    finally:
        del outlet
    data = json.loads(capsys.readouterr().out)
    assert [c["used"] for c in data["channels"]] == [True, True, False]
