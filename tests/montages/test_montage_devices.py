"""Real channel lists of real devices, as their LSL streams and files present them.

Every EEG channel must get a position and every non-EEG channel must be excluded.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from montages import MontageError, resolve_montage
from montages.head_frame import template_positions

EMOTIV_EPOC = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8",
               "AF4"]
EEGMMIDB_EDF = [
    "Fc5.", "Fc3.", "Fc1.", "Fcz.", "Fc2.", "Fc4.", "Fc6.", "C5..", "C3..", "C1..", "Cz..",
    "C2..", "C4..", "C6..", "Cp5.", "Cp3.", "Cp1.", "Cpz.", "Cp2.", "Cp4.", "Cp6.", "Fp1.",
    "Fpz.", "Fp2.", "Af7.", "Af3.", "Afz.", "Af4.", "Af8.", "F7..", "F5..", "F3..", "F1..",
    "Fz..", "F2..", "F4..", "F6..", "F8..", "Ft7.", "Ft8.", "T7..", "T8..", "T9..", "T10.",
    "Tp7.", "Tp8.", "P7..", "P5..", "P3..", "P1..", "Pz..", "P2..", "P4..", "P6..", "P8..",
    "Po7.", "Po3.", "Poz.", "Po4.", "Po8.", "O1..", "Oz..", "O2..", "Iz..",
]
ACTICAP_64 = [
    "Fp1", "Fz", "F3", "F7", "FT9", "FC5", "FC1", "C3", "T7", "TP9", "CP5", "CP1", "Pz", "P3",
    "P7", "O1", "Oz", "O2", "P4", "P8", "TP10", "CP6", "CP2", "Cz", "C4", "T8", "FT10", "FC6",
    "FC2", "F4", "F8", "Fp2", "AF7", "AF3", "AFz", "F1", "F5", "FT7", "FC3", "C1", "C5", "TP7",
    "CP3", "P1", "P5", "PO7", "PO3", "POz", "PO4", "PO8", "P6", "P2", "CPz", "CP4", "TP8", "C6",
    "C2", "FC4", "FT8", "F6", "AF8", "AF4", "F2", "Iz",
]
ANT_64 = [
    "Fp1", "Fpz", "Fp2", "F7", "F3", "Fz", "F4", "F8", "FC5", "FC1", "FC2", "FC6", "M1", "T7",
    "C3", "Cz", "C4", "T8", "M2", "CP5", "CP1", "CP2", "CP6", "P7", "P3", "Pz", "P4", "P8",
    "POz", "O1", "O2", "EOG", "AF7", "AF3", "AF4", "AF8", "F5", "F1", "F2", "F6", "FC3", "FCz",
    "FC4", "C5", "C1", "C2", "C6", "CP3", "CP4", "P5", "P1", "P2", "P6", "PO5", "PO3", "PO4",
    "PO6", "FT7", "FT8", "TP7", "TP8", "PO7", "PO8", "Oz",
]
DSI_24 = [
    "P3", "C3", "F3", "Fz", "F4", "C4", "P4", "Cz", "CM", "A1", "Fp1", "Fp2", "T3", "T5", "O1",
    "O2", "X3", "X2", "F7", "F8", "X1", "A2", "T6", "T4", "TRG",
]
ENOBIO_20 = ["P7", "P4", "Cz", "Pz", "P3", "P8", "O1", "O2", "T8", "F8", "C4", "F4", "Fp2",
             "Fz", "C3", "F3", "Fp1", "T7", "F7"]
TUH_AR = [
    "EEG FP1-REF", "EEG FP2-REF", "EEG F3-REF", "EEG F4-REF", "EEG C3-REF", "EEG C4-REF",
    "EEG P3-REF", "EEG P4-REF", "EEG O1-REF", "EEG O2-REF", "EEG F7-REF", "EEG F8-REF",
    "EEG T3-REF", "EEG T4-REF", "EEG T5-REF", "EEG T6-REF", "EEG A1-REF", "EEG A2-REF",
    "EEG FZ-REF", "EEG CZ-REF", "EEG PZ-REF", "EEG EKG1-REF", "EEG LOC-REF", "EEG ROC-REF",
    "EMG-REF", "PHOTIC-REF", "IBI", "BURSTS", "SUPPR",
]
UNICORN_EXTRA = ["Accelerometer X", "Accelerometer Y", "Accelerometer Z", "Gyroscope X",
                 "Gyroscope Y", "Gyroscope Z", "Battery Level", "Counter", "Validation Indicator"]


def banks(n: int) -> list[str]:
    return [f"{'ABCD'[i // 32]}{i % 32 + 1}" for i in range(n)]


BIOSEMI_EXTRA = [f"EXG{i}" for i in range(1, 9)] + ["Status"]


@dataclass(frozen=True)
class Case:
    """One device's stream as a receiver sees it."""

    id: str
    labels: list[str]
    non_eeg: set[str]
    device: str | None = None
    types: list[str] | None = None
    mapped: dict[str, str] = field(default_factory=dict)  # label -> expected electrode


CASES = [
    Case("muse-lsl", ["TP9", "AF7", "AF8", "TP10", "Right AUX"], {"Right AUX"},
         types=["EEG"] * 5),
    Case("muse-lsl-profile", ["TP9", "AF7", "AF8", "TP10", "Right AUX"], {"Right AUX"},
         device="muse-s", types=["EEG"] * 5),
    Case("openbci-gui-lsl-1based", [str(i) for i in range(1, 9)], set(), "openbci-cyton",
         ["EEG"] * 8, {"1": "Fp1", "5": "P7", "8": "O2"}),
    Case("openbci-daisy-mne-lsl-0based", [str(i) for i in range(16)], set(),
         "openbci-cyton-daisy", mapped={"0": "Fp1", "8": "F7", "15": "P4"}),
    Case("openbci-brainflow", [f"EXG Channel {i}" for i in range(8)]
         + ["Accel Channel 0", "Accel Channel 1", "Accel Channel 2"],
         {"Accel Channel 0", "Accel Channel 1", "Accel Channel 2"}, "openbci-cyton",
         mapped={"EXG Channel 0": "Fp1", "EXG Channel 7": "O2"}),
    Case("openbci-labelled", ["Fp1", "Fp2", "C3", "C4", "P7", "P8", "O1", "O2", "F7", "F8",
                              "F3", "F4", "T7", "T8", "P3", "P4"], set()),
    Case("emotiv-epoc-x-lsl", ["Timestamp", "Counter", "Interpolate", *EMOTIV_EPOC,
                               "HardwareMarker", "Markers"],
         {"Timestamp", "Counter", "Interpolate", "HardwareMarker", "Markers"}, "emotiv-epoc-x"),
    Case("emotiv-epoc-x-no-profile", ["Timestamp", "Counter", "Interpolate", *EMOTIV_EPOC,
                                      "HardwareMarker", "Markers"],
         {"Timestamp", "Counter", "Interpolate", "HardwareMarker", "Markers"}),
    Case("emotiv-insight-lsl", ["Timestamp", "Counter", "Interpolate", "AF3", "T7", "Pz",
                                "T8", "AF4", "HardwareMarker", "Markers"],
         {"Timestamp", "Counter", "Interpolate", "HardwareMarker", "Markers"}, "emotiv-insight"),
    Case("unicorn-lsl", [f"EEG {i}" for i in range(1, 9)] + UNICORN_EXTRA, set(UNICORN_EXTRA),
         "gtec-unicorn", mapped={"EEG 1": "Fz", "EEG 6": "PO7", "EEG 8": "PO8"}),
    Case("dsi-24-lsl", DSI_24, {"CM", "X1", "X2", "X3", "TRG"}, "dsi-24",
         mapped={"T3": "T7", "T5": "P7", "A1": "A1"}),
    Case("dsi-24-no-profile", DSI_24, {"CM", "X1", "X2", "X3", "TRG"}),
    Case("enobio-8-numbered", [f"Ch{i}" for i in range(1, 9)], set(), "enobio-8",
         mapped={"Ch1": "P7", "Ch8": "O2"}),
    Case("enobio-20-numbered", [f"Ch{i}" for i in range(1, 21)], {"Ch20"}, "enobio-20",
         mapped={"Ch1": "P7", "Ch19": "F7"}),
    Case("enobio-20-named", ENOBIO_20, set()),
    Case("enobio-32-numbered", [f"Ch{i}" for i in range(1, 33)], set(), "enobio-32",
         mapped={"Ch20": "Oz", "Ch32": "PO4"}),
    Case("biosemi32-bdf", banks(32) + BIOSEMI_EXTRA, set(BIOSEMI_EXTRA), "biosemi32",
         mapped={"A1": "Fp1", "A32": "Cz"}),
    Case("biosemi64-bdf", banks(64) + BIOSEMI_EXTRA, set(BIOSEMI_EXTRA), "biosemi64",
         mapped={"A1": "Fp1", "B1": "Fpz", "B32": "O2"}),
    Case("biosemi128-bdf", banks(128) + BIOSEMI_EXTRA + ["GSR1", "Erg1", "Resp", "Plet", "Temp"],
         set(BIOSEMI_EXTRA) | {"GSR1", "Erg1", "Resp", "Plet", "Temp"}, "biosemi128"),
    Case("acticap-32-named", ACTICAP_64[:32] + ["ECG", "HEOG", "VEOG"], {"ECG", "HEOG", "VEOG"}),
    Case("acticap-64-named", ACTICAP_64, set(), "acticap-64"),
    Case("acticap-64-numbered", [str(i) for i in range(1, 65)], set(), "acticap-64",
         mapped={"1": "Fp1", "64": "Iz"}),
    Case("egi-hydrocel-128", [f"E{i}" for i in range(1, 129)] + ["Cz"], set(),
         "egi-hydrocel-128"),
    Case("egi-hydrocel-128-vref", [f"E{i}" for i in range(1, 129)] + ["VREF"], set(),
         "gsn-hydrocel-128", mapped={"VREF": "Cz"}),
    Case("ant-waveguard-64", ANT_64, {"EOG"}, "ant-waveguard-64"),
    Case("ant-waveguard-64-no-profile", ANT_64 + ["TRIGGER"], {"EOG", "TRIGGER"}),
    Case("eegmmidb-edf", EEGMMIDB_EDF, set(), mapped={"Fc5.": "FC5", "Iz..": "Iz"}),
    Case("eegmmidb-edf-profile", EEGMMIDB_EDF, set(), "eegmmidb-64"),
    Case("tuh-edf", TUH_AR,
         {"EEG EKG1-REF", "EEG LOC-REF", "EEG ROC-REF", "EMG-REF", "PHOTIC-REF", "IBI",
          "BURSTS", "SUPPR"}, mapped={"EEG T3-REF": "T7", "EEG FZ-REF": "Fz"}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_eeg_channel_resolves_and_non_eeg_is_excluded(case: Case) -> None:
    res = resolve_montage(case.labels, case.types, device=case.device)

    expected_mask = np.array([label not in case.non_eeg for label in case.labels])
    np.testing.assert_array_equal(res.mask, expected_mask)
    assert res.coords.shape == (len(case.labels), 3) and res.coords.dtype == np.float32
    assert np.all(np.isfinite(res.coords[res.mask]))
    assert np.all(np.isnan(res.coords[~res.mask]))
    norms = np.linalg.norm(res.coords[res.mask], axis=1)
    assert np.all((norms > 0.03) & (norms < 0.2))
    for ch in res.channels:
        if ch.label in case.non_eeg:
            assert ch.kind != "eeg" and ch.excluded_reason and ch.source is None
        else:
            assert ch.kind == "eeg" and ch.excluded_reason is None and ch.source is not None
    by_label = {c.label: c for c in res.channels}
    for label, electrode in case.mapped.items():
        assert by_label[label].mapped_label == electrode


@pytest.mark.parametrize("case_id", ["biosemi64-bdf", "openbci-daisy-mne-lsl-0based",
                                     "eegmmidb-edf", "emotiv-epoc-x-lsl", "unicorn-lsl"])
def test_channel_order_changes_nothing_but_order(case_id: str) -> None:
    case = next(c for c in CASES if c.id == case_id)
    perm = np.random.default_rng(0).permutation(len(case.labels))
    labels = [case.labels[i] for i in perm]
    types = None if case.types is None else [case.types[i] for i in perm]

    ref = resolve_montage(case.labels, case.types, device=case.device)
    res = resolve_montage(labels, types, device=case.device)

    np.testing.assert_array_equal(res.mask, ref.mask[perm])
    np.testing.assert_array_equal(res.coords, ref.coords[perm])
    assert [c.source for c in res.channels] == [ref.channels[i].source for i in perm]
    assert [c.kind for c in res.channels] == [ref.channels[i].kind for i in perm]


def test_biosemi_without_profile_names_the_profile_to_pick() -> None:
    labels = banks(64) + BIOSEMI_EXTRA
    with pytest.raises(MontageError) as err:
        resolve_montage(labels)
    assert err.value.kind == "unknown-label"
    assert "biosemi64" in str(err.value)
    assert "A3" in err.value.channels and "EXG1" not in err.value.channels


def test_numbered_labels_without_profile_ask_for_one() -> None:
    with pytest.raises(MontageError) as err:
        resolve_montage([str(i) for i in range(1, 9)], ["EEG"] * 8)
    message = str(err.value)
    assert "device profile" in message and "openbci-cyton" in message


def test_profile_positions_match_mne_set_montage() -> None:
    """Our head frame is MNE's: positions equal what MNE puts in info after set_montage."""
    import mne

    names = template_positions("biosemi64")
    labels = [v[0] for v in names.values()]
    info = mne.create_info(labels, 256.0, "eeg")
    info.set_montage("biosemi64")
    mne_pos = np.array([ch["loc"][:3] for ch in info["chs"]])

    res = resolve_montage(banks(64), device="biosemi64")
    np.testing.assert_allclose(res.coords, mne_pos, atol=1e-6)


def test_real_eegmmidb_edf_resolves_fully_and_matches_mne(shared_data: Path) -> None:
    from samba_core.recordings import discover

    files = [f.path for s in discover(shared_data, ("eegmmidb",)) for f in s.files]
    if not files:
        pytest.skip(f"no EEGMMIDB EDF file under {shared_data}")
    import mne
    from mne.datasets import eegbci

    for path in files:  # every run of every subject present: headers only, fast
        raw = mne.io.read_raw_edf(path, preload=False, verbose="error")  # the independent reference: MNE itself
        res = resolve_montage(raw.ch_names, raw.get_channel_types())
        assert res.n_used == len(raw.ch_names) == 64, path.name
        assert {c.source for c in res.channels} == {"standard-1005"}
    # The independent reference: MNE's own renaming and template placement.
    eegbci.standardize(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # renamed to colin27_1005 in MNE 1.13
        raw.set_montage("standard_1005")
    mne_pos = np.array([ch["loc"][:3] for ch in raw.info["chs"]])
    np.testing.assert_allclose(res.coords, mne_pos, atol=1e-6)
    assert [c.normalized_label for c in res.channels] == raw.ch_names

