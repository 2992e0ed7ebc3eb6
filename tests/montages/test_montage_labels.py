"""Label normalisation and channel-kind detection."""

from __future__ import annotations

import pytest

from montages import resolve_montage
from montages.channel_kinds import kind_from_label, kind_from_type
from montages.head_frame import STANDARD_TEMPLATE, template_positions
from montages.labels import clean_label, normalize_label, positional_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("EEG Fp1-REF", "Fp1"),
        ("EEG FP1-REF", "Fp1"),
        ("EEG C4-LE", "C4"),
        ("Fc5.", "FC5"),
        ("C3..", "C3"),
        ("T10.", "T10"),
        ("Iz..", "Iz"),
        ("Afz.", "AFz"),
        ("T3", "T7"),
        ("t4", "T8"),
        ("T5-LE", "P7"),
        ("T6-A1", "P8"),
        ("fcz", "FCz"),
        ("POZ", "POz"),
        (" Cz ", "Cz"),
        ("Cz-M1", "Cz"),
        ("Pz-Ref", "Pz"),
        ("O1-A2", "O1"),
        ("Fp2-AVG", "Fp2"),
        ("EEG\tF3", "F3"),
        ("Right  AUX", "Right AUX"),
        ("E101", "E101"),
    ],
)
def test_normalize_label(raw: str, expected: str) -> None:
    assert normalize_label(raw) == expected


def test_clean_label_keeps_labels_that_are_only_decoration() -> None:
    assert clean_label("EEG") == "EEG"
    assert clean_label("-REF") == "-REF"


@pytest.mark.parametrize(
    ("raw", "number"),
    [("3", 3), ("0", 0), ("Ch3", 3), ("CH12", 12), ("EEG 3", 3), ("EEG001", 1),
     ("EXG Channel 2", 2), ("Channel 7", 7), ("Fp1", None), ("E3", None), ("EXG1", None),
     ("A1", None)],
)
def test_positional_number(raw: str, number: int | None) -> None:
    assert positional_number(raw) == number


def test_no_10_05_name_reads_as_a_non_eeg_channel() -> None:
    names = [name for name, _ in template_positions(STANDARD_TEMPLATE).values()]
    assert len(names) > 300
    flagged = [n for n in names if kind_from_label(clean_label(n)) is not None]
    assert flagged == []


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("AccX", "accel"), ("Accel X", "accel"), ("ACC_Y", "accel"), ("Accelerometer Z", "accel"),
        ("X", "accel"), ("Y", "accel"), ("Z", "accel"), ("Gyro X", "gyro"),
        ("Gyroscope Y", "gyro"), ("Status", "stim"), ("TRIGGER", "stim"), ("STI 014", "stim"),
        ("STI101", "stim"), ("Marker", "stim"), ("Markers", "stim"), ("TRG", "stim"),
        ("Battery", "battery"), ("Battery Level", "battery"), ("Counter", "counter"),
        ("Packet Counter", "counter"), ("Interpolate", "counter"), ("Timestamp", "timestamp"),
        ("Time", "timestamp"), ("Resp", "resp"), ("GSR", "gsr"), ("GSR1", "gsr"),
        ("EDA", "gsr"), ("ECG", "ecg"), ("EKG1", "ecg"), ("EOG", "eog"), ("VEOG", "eog"),
        ("HEOG-L", "eog"), ("LOC", "eog"), ("EMG1", "emg"), ("AUX1", "aux"),
        ("Right AUX", "aux"), ("X1", "aux"), ("EXG1", "misc"), ("CM", "misc"),
        ("Plet", "ppg"), ("Temp", "temp"),
    ],
)
def test_non_eeg_labels_are_recognised(label: str, kind: str) -> None:
    found = kind_from_label(clean_label(label))
    assert found is not None and found[0] == kind


@pytest.mark.parametrize(
    ("channel_type", "kind"),
    [("EEG", None), ("eeg", None), ("", None), (None, None), ("ExG", None), ("EOG", "eog"),
     ("emg", "emg"), ("ECG", "ecg"), ("TRIG", "stim"), ("stim", "stim"), ("Markers", "stim"),
     ("MISC", "misc"), ("ACC", "accel"), ("seeg", "seeg")],
)
def test_kind_from_type(channel_type: str | None, kind: str | None) -> None:
    assert kind_from_type(channel_type) == kind


def test_type_decides_when_given_label_when_not() -> None:
    res = resolve_montage(
        ["Fp1", "Fp2", "Status", "Cz", "EOG1", "C3"],
        ["EOG", "EEG", "EEG", "misc", None, "eeg"],
    )
    kinds = [c.kind for c in res.channels]
    # Declared non-EEG types win even over EEG-looking labels; an EEG type does not
    # rescue a label that names a trigger; no type leaves it to the label.
    assert kinds == ["eog", "eeg", "stim", "misc", "eog", "eeg"]
    assert res.mask.tolist() == [False, True, False, False, False, True]
    assert "declared type 'EOG'" in res.channels[0].excluded_reason
    assert "trigger" in res.channels[2].excluded_reason
