"""Device profiles ship as package data and each one resolves its own channels."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from montages import list_device_profiles, resolve_montage
from montages.profiles import all_device_profiles, find_device_profile

REQUIRED = {
    "muse", "openbci-cyton", "openbci-cyton-daisy", "emotiv-epoc-x", "emotiv-insight",
    "gtec-unicorn", "dsi-24", "enobio-8", "enobio-20", "enobio-32", "biosemi32", "biosemi64",
    "biosemi128", "acticap-32", "acticap-64", "egi-hydrocel-128", "ant-waveguard-64",
    "eegmmidb-64",
}
PROFILES = all_device_profiles()


def test_profiles_are_package_data_found_through_importlib_resources() -> None:
    folder = resources.files("montages") / "profiles"
    files = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))
    assert files == list_device_profiles()
    assert REQUIRED <= set(files)
    for name in files:
        data = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        assert data["name"] == name and len(data["source"]) > 40


@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
def test_profile_resolves_its_labels_native_labels_and_numbers(profile) -> None:
    eeg = set(profile.eeg_channels)
    expected_mask = [c in eeg for c in profile.channel_order]
    by_label = resolve_montage(list(profile.channel_order), device=profile.name)
    assert by_label.mask.tolist() == expected_mask
    assert {c.source for c in by_label.channels if c.kind == "eeg"} == {"device-profile"}

    numbered = resolve_montage([str(i + 1) for i in range(len(profile.channel_order))],
                               device=profile.name)
    np.testing.assert_array_equal(numbered.coords, by_label.coords)

    if profile.native_labels:
        native = resolve_montage(list(profile.native_labels), device=profile.name)
        np.testing.assert_array_equal(native.coords, by_label.coords)


@pytest.mark.parametrize(
    ("alias", "name"),
    [("Muse-S", "muse"), ("muse_2", "muse"), ("BioSemi 64", "biosemi64"),
     ("cyton-daisy", "openbci-cyton-daisy"), ("GSN-HydroCel-128", "egi-hydrocel-128"),
     ("physionet-eegmmidb", "eegmmidb-64"), ("unicorn", "gtec-unicorn")],
)
def test_aliases(alias: str, name: str) -> None:
    assert find_device_profile(alias).name == name


def test_number_beyond_the_profile_is_explained() -> None:
    res = resolve_montage([str(i) for i in range(1, 10)], device="openbci-cyton", allow_drop=True)
    assert res.mask.tolist() == [True] * 8 + [False]
    assert "outside the 8 channels" in res.channels[8].excluded_reason
