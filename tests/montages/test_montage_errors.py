"""Each kind of bad input gets its own error, naming the channels and the fixes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from montages import MontageError, list_device_profiles, resolve_montage


def test_unknown_label_lists_channels_and_every_fix() -> None:
    with pytest.raises(MontageError) as err:
        resolve_montage(["Fp1", "Cz", "Foo3", "Status"])
    exc = err.value
    assert isinstance(exc, ValueError)
    assert exc.kind == "unknown-label" and exc.channels == ("Foo3",)
    message = str(exc)
    assert "channel 2 'Foo3'" in message
    assert "montage_file=" in message and "device=" in message and "allow_drop=True" in message
    assert all(name in message for name in list_device_profiles())  # the profiles to pick from
    assert "2 of 3 EEG channels would remain" in message


def test_bipolar_derivation_is_explained() -> None:
    with pytest.raises(MontageError) as err:
        resolve_montage(["EEG FP1-F7", "Cz"])
    assert "bipolar derivation" in str(err.value)


def test_allow_drop_masks_unknown_channels_and_says_so() -> None:
    res = resolve_montage(["Fp1", "Cz", "Foo3", "Status"], allow_drop=True)
    assert res.mask.tolist() == [True, True, False, False]
    assert res.channels[2].kind == "eeg" and "no position" in res.channels[2].excluded_reason
    assert np.all(np.isnan(res.coords[2]))
    assert any("allow_drop" in note for note in res.notes)
    assert "excluded: no position" in res.format_report()


@pytest.mark.parametrize(
    "labels", [["Fp1", "FP1", "Cz"], ["T3", "T7", "Cz"], ["Fp1", "EEG Fp1-REF", "Cz"]]
)
def test_duplicate_electrodes(labels: list[str]) -> None:
    with pytest.raises(MontageError) as err:
        resolve_montage(labels)
    assert err.value.kind == "duplicate-label"
    assert err.value.channels == (labels[1],)
    assert f"channel 0 '{labels[0]}'" in str(err.value)

    res = resolve_montage(labels, allow_drop=True)
    assert res.mask.tolist() == [True, False, True]
    assert "duplicate" in res.channels[1].excluded_reason


def test_numbered_duplicate_of_a_named_channel() -> None:
    with pytest.raises(MontageError) as err:
        resolve_montage(["1", "Fp1"], device="openbci-cyton")
    assert err.value.kind == "duplicate-label"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("cap.elc", "this is not an electrode file\n", "MNE could not read it"),
        ("cap.json", "{not json", "not readable as JSON"),
        ("cap.json", json.dumps({"frame": "head", "channels": {"Fp1": [0, 0.09, 0.03]}}),
         '"units"'),
        ("cap.json", json.dumps({"units": "m", "channels": {"Fp1": [0, 0.09]}}),
         "three finite numbers"),
        ("cap.json",
         json.dumps({"units": "m", "frame": "mri", "channels": {"Fp1": [0, 0.09, 0.03]}}),
         "fiducials"),
        ("cap.json", json.dumps({"units": "m", "chanels": {}}), "unknown keys"),
        ("cap.json", json.dumps({"units": "m", "channels": {"Fp1": [0, 90, 30]}}), "plausible"),
        ("cap.xyz.bak", "Fp1 0 0 0\n", "unknown format"),
    ],
)
def test_bad_montage_file(tmp_path: Path, name: str, content: str, problem: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(MontageError) as err:
        resolve_montage(["Fp1"], montage_file=path)
    assert err.value.kind == "montage-file"
    assert str(path) in str(err.value) and problem in str(err.value)


def test_missing_montage_file(tmp_path: Path) -> None:
    with pytest.raises(MontageError) as err:
        resolve_montage(["Fp1"], montage_file=tmp_path / "nope.elc")
    assert err.value.kind == "montage-file" and "no such file" in str(err.value)


def test_no_eeg_at_all() -> None:
    labels = ["Status", "AccX", "Battery", "Counter"]
    for allow_drop in (False, True):
        with pytest.raises(MontageError) as err:
            resolve_montage(labels, allow_drop=allow_drop)
        assert err.value.kind == "no-eeg"
        assert "'AccX' (accel)" in str(err.value)


def test_nothing_resolvable_is_an_error_even_with_allow_drop() -> None:
    with pytest.raises(MontageError) as err:
        resolve_montage(["Foo", "Bar", "TRIGGER"], allow_drop=True)
    assert err.value.kind == "no-eeg" and "unknown-label" in err.value.kinds
    assert "allow_drop cannot help" in str(err.value)


def test_unknown_device_suggests_close_names() -> None:
    with pytest.raises(MontageError) as err:
        resolve_montage(["Fp1"], device="biosemi-46")
    assert err.value.kind == "unknown-device"
    assert "biosemi" in str(err.value) and "muse" in str(err.value)


@pytest.mark.parametrize(
    ("labels", "kwargs"),
    [
        ("Fp1,Fp2", {}),
        (["Fp1", 3], {}),
        (["Fp1", "Fp2"], {"types": ["EEG"]}),
        (["Fp1", "Fp2"], {"stream_channels": [{"label": "Fp1"}]}),
    ],
)
def test_invalid_input(labels, kwargs) -> None:
    with pytest.raises(MontageError) as err:
        resolve_montage(labels, **kwargs)
    assert err.value.kind == "invalid-input"


def test_empty_stream() -> None:
    with pytest.raises(MontageError) as err:
        resolve_montage([])
    assert err.value.kind == "no-eeg"
