"""Where positions come from: stream meta-data, montage files, profiles, the template."""

from __future__ import annotations

import json
import math
from pathlib import Path

import mne
import numpy as np
import pytest

from montages import MontageError, resolve_montage, stream_channels_from_xml
from montages.head_frame import STANDARD_TEMPLATE, sphere_fiducials, template_positions

MNE_MONTAGES = Path(mne.channels.__path__[0]) / "data" / "montages"


def standard(label: str) -> np.ndarray:
    return template_positions(STANDARD_TEMPLATE)[label.upper()][1]


# A plausible head-frame position that is not the template's Fp1 (metres).
CUSTOM_FP1 = np.array([-0.031, 0.090, 0.030])


def stream(locations: dict[str, object], labels: list[str], unit: str | None = "microvolts"):
    return [
        {"label": lab, "type": "EEG", "unit": unit, "location": locations.get(lab)}
        for lab in labels
    ]


# ---------------------------------------------------------------- stream meta-data


def test_stream_location_wins_over_label_lookup() -> None:
    labels = ["Fp1", "Fp2", "C3"]
    locs = {"Fp1": tuple(CUSTOM_FP1 * 1000), "Fp2": (31.0, 90.0, 30.0)}  # mm, no unit field
    res = resolve_montage(labels, stream_channels=stream(locs, labels))

    sources = [c.source for c in res.channels]
    assert sources == ["stream-metadata", "stream-metadata", "standard-1005"]
    np.testing.assert_allclose(res.coords[0], CUSTOM_FP1, atol=1e-6)
    np.testing.assert_allclose(res.coords[2], standard("C3"), atol=1e-6)
    assert any("read as mm" in n for n in res.notes)


@pytest.mark.parametrize(
    ("scale", "unit"),
    [(1.0, "m"), (100.0, "cm"), (1000.0, "mm"), (1.0, None), (100.0, None), (1000.0, "microvolts")],
)
def test_stream_location_units(scale: float, unit: str | None) -> None:
    labels = ["Fp1", "Fp2", "Cz", "Oz", "T7"]
    locs = {lab: tuple(standard(lab) * scale) for lab in labels}
    res = resolve_montage(labels, stream_channels=stream(locs, labels, unit))

    assert {c.source for c in res.channels} == {"stream-metadata"}
    np.testing.assert_allclose(res.coords, np.array([standard(lab) for lab in labels]), atol=1e-6)


def test_location_unit_key_overrides_magnitude() -> None:
    labels = ["Fp1", "Cz"]
    channels = [
        {"label": "Fp1", "location": {"X": -31.0, "Y": 90.0, "Z": 30.0}, "location_unit": "mm"},
        {"label": "Cz", "location": ("0.0", "0.0", "0.14"), "location_unit": "m"},
    ]
    res = resolve_montage(labels, stream_channels=channels)
    np.testing.assert_allclose(res.coords, [CUSTOM_FP1, [0, 0, 0.14]], atol=1e-6)


@pytest.mark.parametrize(
    ("location", "problem"),
    [((0.0, 0.0, 0.0), "all zeros"), ((5.0, 0.0, 0.0), "more than the 200 mm")],
)
def test_implausible_stream_location_is_reported_and_not_used(location, problem) -> None:
    labels = ["Fp1", "Cz"]
    channels = [
        {"label": "Fp1", "location": location, "unit": "m"},
        {"label": "Cz", "location": None},
    ]
    res = resolve_montage(labels, stream_channels=channels)

    assert res.channels[0].source == "standard-1005"
    np.testing.assert_allclose(res.coords[0], standard("Fp1"), atol=1e-6)
    assert problem in res.channels[0].note and "standard-1005" in res.channels[0].note
    assert problem in res.format_report()


def test_implausible_location_without_fallback_is_an_error() -> None:
    channels = [
        {"label": "Fp1", "location": None},
        {"label": "Probe7", "location": (0.0, 0.0, 0.0), "unit": "mm"},
    ]
    with pytest.raises(MontageError) as err:
        resolve_montage(["Fp1", "Probe7"], stream_channels=channels)
    assert err.value.kind == "implausible-location"
    assert err.value.channels == ("Probe7",)
    assert "all zeros" in str(err.value) and "<location>" in str(err.value)

    dropped = resolve_montage(["Fp1", "Probe7"], stream_channels=channels, allow_drop=True)
    assert dropped.mask.tolist() == [True, False]
    assert "all zeros" in dropped.channels[1].excluded_reason


def test_sphere_centred_stream_positions_move_into_the_head_frame() -> None:
    # BioSemi's spherical template, written sphere-centred (as a device might stream it).
    biosemi = template_positions("biosemi64")
    labels = ["Fp1", "Cz", "Oz", "T7", "T8", "Pz"]
    radius = 0.095
    shift = -radius * math.cos(math.radians(115))
    locs = {lab: tuple(biosemi[lab.upper()][1] - [0, 0, shift]) for lab in labels}
    res = resolve_montage(labels, stream_channels=stream(locs, labels, "m"))
    expected = np.array([biosemi[lab.upper()][1] for lab in labels])
    np.testing.assert_allclose(res.coords, expected, atol=1e-5)
    assert any("sphere" in n for n in res.notes)


def test_vertex_cluster_in_the_head_frame_is_not_taken_for_a_sphere() -> None:
    # Equally far from the head-frame origin, but all near the top: no sphere shift.
    labels = ["C1", "C2", "Cz", "FCz", "CPz", "FC1", "FC2"]
    locs = {lab: tuple(standard(lab)) for lab in labels}
    res = resolve_montage(labels, stream_channels=stream(locs, labels, "m"))
    np.testing.assert_allclose(res.coords, [standard(lab) for lab in labels], atol=1e-6)
    assert not any("sphere" in n for n in res.notes)


def test_stream_channels_from_real_lsl_stream_info() -> None:
    pylsl = pytest.importorskip("pylsl")
    info = pylsl.StreamInfo("montage-test", "EEG", 3, 250, "float32", "montage-test-uid")
    channels = info.desc().append_child("channels")
    for label, kind, xyz in [("Fp1", "EEG", CUSTOM_FP1 * 1000), ("Cz", "EEG", None),
                             ("TRIG", "STIM", None)]:
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("type", kind)
        ch.append_child_value("unit", "microvolts")
        if xyz is not None:
            loc = ch.append_child("location")
            for axis, value in zip("XYZ", xyz, strict=True):
                loc.append_child_value(axis, f"{value:.3f}")

    parsed = stream_channels_from_xml(info.as_xml())
    res = resolve_montage([c["label"] for c in parsed], stream_channels=parsed)

    assert [c.source for c in res.channels] == ["stream-metadata", "standard-1005", None]
    assert res.channels[2].kind == "stim"
    np.testing.assert_allclose(res.coords[0], CUSTOM_FP1, atol=1e-6)


# ---------------------------------------------------------------- montage files


def test_priority_stream_then_file_then_profile_then_template(tmp_path: Path) -> None:
    file_pos = {"FP1": [-0.029, 0.088, 0.035], "C3": [-0.066, 0.020, 0.100]}
    path = tmp_path / "cap.json"
    path.write_text(json.dumps({"units": "m", "frame": "head", "channels": file_pos}))
    labels = ["Fp1", "C3", "O1", "Pz"]  # the openbci-cyton profile knows Fp1, C3, O1
    channels = stream({"Fp1": tuple(CUSTOM_FP1)}, labels, "m")

    def sources(**kwargs) -> list[str | None]:
        return [c.source for c in resolve_montage(labels, **kwargs).channels]

    full = dict(stream_channels=channels, montage_file=path, device="openbci-cyton")
    assert sources(**full) == ["stream-metadata", "montage-file", "device-profile", "standard-1005"]
    full.pop("stream_channels")
    assert sources(**full) == ["montage-file", "montage-file", "device-profile", "standard-1005"]
    full.pop("montage_file")
    assert sources(**full) == ["device-profile"] * 3 + ["standard-1005"]
    assert sources() == ["standard-1005"] * 4

    res = resolve_montage(labels, montage_file=path)
    np.testing.assert_allclose(res.coords[:2], [file_pos["FP1"], file_pos["C3"]], atol=1e-6)


def test_file_position_found_under_the_profile_name_of_a_device_label(tmp_path: Path) -> None:
    path = tmp_path / "cap.json"
    path.write_text(json.dumps({"units": "mm", "channels": {"Fp1": (CUSTOM_FP1 * 1000).tolist()}}))
    res = resolve_montage(["A1", "A2"], montage_file=path, device="biosemi64")
    assert [c.source for c in res.channels] == ["montage-file", "device-profile"]
    np.testing.assert_allclose(res.coords[0], CUSTOM_FP1, atol=1e-6)


def test_json_montage_with_fiducials_is_converted(tmp_path: Path) -> None:
    # Head-frame positions seen from a rotated, shifted digitiser frame, in cm.
    angle = math.radians(30)
    rot = np.array([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0],
                    [0, 0, 1]])
    offset = np.array([0.01, -0.02, 0.05])

    def native(p: np.ndarray) -> list[float]:
        return ((rot @ p + offset) * 100).tolist()

    fids = {"nasion": np.array([0, 0.1, 0.0]), "lpa": np.array([-0.08, 0, 0]),
            "rpa": np.array([0.08, 0, 0])}
    labels = ["Fp1", "Cz", "O2"]
    data = {
        "units": "cm", "frame": "digitizer",
        "channels": {lab: native(standard(lab)) for lab in labels},
        "fiducials": {k: native(v) for k, v in fids.items()},
    }
    path = tmp_path / "digitised.json"
    path.write_text(json.dumps(data))

    res = resolve_montage(labels, montage_file=path)
    np.testing.assert_allclose(res.coords, [standard(lab) for lab in labels], atol=1e-6)


@pytest.mark.parametrize(
    ("name", "template"),
    [("biosemi64.txt", "biosemi64"), ("easycap-M1.txt", "easycap-M1"),
     ("fsaverage_1005.tsv", "fsaverage_1005")],
)
def test_mne_format_files_land_where_mne_templates_do(name: str, template: str) -> None:
    expected = template_positions(template)
    labels = [v[0] for v in expected.values()][:40]
    res = resolve_montage(labels, montage_file=MNE_MONTAGES / name)
    assert {c.source for c in res.channels} == {"montage-file"}
    np.testing.assert_allclose(
        res.coords, [expected[lab.upper()][1] for lab in labels], atol=1e-5
    )


def test_digitised_elc_and_sfp_files_use_their_fiducials() -> None:
    # colin27_1005.elc: mm with Nz/LPA/RPA; GSN-HydroCel-129.sfp: cm with FidNz/FidT9/FidT10.
    res = resolve_montage(["Fp1", "Cz", "O2", "T7"], montage_file=MNE_MONTAGES / "colin27_1005.elc")
    assert res.coords[1][2] > 0.09 and abs(res.coords[1][0]) < 0.01  # Cz on top, midline
    assert res.coords[3][0] < -0.06  # T7 on the left

    labels = [f"E{i}" for i in range(1, 129)] + ["Cz"]
    res = resolve_montage(labels, montage_file=MNE_MONTAGES / "GSN-HydroCel-129.sfp")
    assert res.n_used == 129
    assert any("as cm" in n for n in res.notes)
    profile = resolve_montage(labels, device="egi-hydrocel-128")
    # Same layout; the profile's template is scaled to a 95 mm sphere, the file is not.
    ratio = np.linalg.norm(res.coords, axis=1) / np.linalg.norm(profile.coords, axis=1)
    assert ratio.std() < 0.01
    cosine = np.sum(res.coords * profile.coords, axis=1) / (
        np.linalg.norm(res.coords, axis=1) * np.linalg.norm(profile.coords, axis=1))
    assert cosine.min() > 0.999


def _write_eeglab_loc(path: Path) -> list[str]:
    # EEGLAB polar layout: number, angle (deg, 0 = nose, 90 = right ear), radius, label.
    rows = [(1, -18, 0.511, "Fp1"), (2, 18, 0.511, "Fp2"), (3, -90, 0.256, "C3"),
            (4, 90, 0.256, "C4"), (5, 0, 0.0, "Cz"), (6, 180, 0.511, "Oz"), (7, -90, 0.511, "T7")]
    path.write_text("".join(f"{n}\t{a}\t{r}\t{lab}\n" for n, a, r, lab in rows))
    return [row[3] for row in rows]


@pytest.mark.parametrize("suffix", [".loc", ".locs"])
def test_eeglab_spherical_file_lands_on_spherical_templates(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"cap{suffix}"
    labels = _write_eeglab_loc(path)
    res = resolve_montage(labels, montage_file=path)
    coords = dict(zip(labels, res.coords, strict=True))
    # Cz on top at the template's height, T7 on the equator, 95 mm from the sphere centre.
    np.testing.assert_allclose(coords["Cz"], template_positions("biosemi64")["CZ"][1], atol=1e-3)
    assert coords["T7"][0] < -0.09 and coords["Fp1"][1] > 0.08 and coords["Oz"][1] < -0.08
    assert any("sphere" in n for n in res.notes)


def test_besa_elp_and_csd_spherical_files(tmp_path: Path) -> None:
    # BESA spherical: type, label, azimuth (deg), horizontal angle (deg), radius (%).
    rows = [("Fp1", -92, -72), ("Fp2", 92, 72), ("Cz", 0, 0), ("Oz", 92, -90), ("T7", -92, 0),
            ("T8", 92, 0)]
    elp = tmp_path / "cap.elp"
    elp.write_text("".join(f"EEG {lab} {az} {hz} 100\n" for lab, az, hz in rows))
    labels = [row[0] for row in rows]
    res = resolve_montage(labels, montage_file=elp)
    biosemi = template_positions("biosemi64")
    np.testing.assert_allclose(
        res.coords, [biosemi[lab.upper()][1] for lab in labels], atol=1e-3
    )

    labels = [f"E{i}" for i in range(1, 257)]
    res = resolve_montage(labels, montage_file=MNE_MONTAGES / "EGI_256.csd")
    assert res.n_used == 256 and {c.source for c in res.channels} == {"montage-file"}


def test_brainvision_bvef(tmp_path: Path) -> None:
    pytest.importorskip("defusedxml", reason="MNE reads .bvef only with defusedxml installed")
    electrodes = "".join(
        f"<Electrode><Name>{lab}</Name><Theta>{th}</Theta><Phi>{ph}</Phi>"
        f"<Radius>1</Radius></Electrode>"
        for lab, th, ph in [("Fp1", -90, -72), ("Cz", 0, 0), ("Oz", 90, -90), ("T7", -90, 0)]
    )
    path = tmp_path / "cap.bvef"
    path.write_text(f'<?xml version="1.0"?><Electrodes>{electrodes}</Electrodes>')
    res = resolve_montage(["Fp1", "Cz", "Oz", "T7"], montage_file=path)
    assert res.coords[1][2] > 0.12 and res.coords[3][0] < -0.09


def test_hpts_and_fif_digitisations(tmp_path: Path) -> None:
    labels = ["Fp1", "Fp2", "Cz", "Oz", "T7", "T8"]
    lines = ["cardinal 1 -80.0 0.0 0.0", "cardinal 2 0.0 100.0 0.0", "cardinal 3 80.0 0.0 0.0"]
    lines += [f"eeg {lab} " + " ".join(f"{v * 1000:.3f}" for v in standard(lab)) for lab in labels]
    hpts = tmp_path / "cap.hpts"
    hpts.write_text("\n".join(lines) + "\n")
    res = resolve_montage(labels, montage_file=hpts)
    np.testing.assert_allclose(res.coords, [standard(lab) for lab in labels], atol=1e-5)

    # MNE's own -dig.fif, digitised in a shifted native frame with fiducials.
    shift = np.array([0.0, 0.02, -0.03])
    montage = mne.channels.make_dig_montage(
        ch_pos={lab: standard(lab) + shift for lab in labels},
        nasion=np.array([0, 0.1, 0]) + shift, lpa=np.array([-0.08, 0, 0]) + shift,
        rpa=np.array([0.08, 0, 0]) + shift, coord_frame="unknown",
    )
    fif = tmp_path / "cap-dig.fif"
    montage.save(fif, verbose="error")
    res = resolve_montage(labels, montage_file=fif)
    np.testing.assert_allclose(res.coords, [standard(lab) for lab in labels], atol=1e-5)


def test_sphere_json_frame(tmp_path: Path) -> None:
    biosemi = template_positions("biosemi64")
    labels = ["Fp1", "Cz", "Oz", "T7", "T8"]
    nasion, _, _ = sphere_fiducials(95.0)
    centred = {
        lab: (biosemi[lab.upper()][1] * 1000 - [0, 0, -nasion[2]]).tolist() for lab in labels
    }
    path = tmp_path / "sphere.json"
    path.write_text(json.dumps({"units": "mm", "frame": "sphere", "channels": centred}))
    res = resolve_montage(labels, montage_file=path)
    np.testing.assert_allclose(res.coords, [biosemi[lab.upper()][1] for lab in labels], atol=1e-5)
