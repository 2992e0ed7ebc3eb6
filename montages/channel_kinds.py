"""What a channel measures, judged from its declared type or, failing that, its label.

Only scalp EEG is model input; everything else a headset streams (EOG, ECG, motion
sensors, triggers, battery, packet counters, timestamps, auxiliary inputs) is excluded
with a reason. Many sources declare every channel "EEG" (EDF readers, Muse's LSL stream,
OpenBCI), so an EEG (or missing) type is cross-checked against the label, while an
explicit non-EEG type is always believed.
"""

from __future__ import annotations

import re

#: The kind of a scalp EEG channel, the only kind used as model input.
EEG = "eeg"

# Type strings as LSL/XDF, MNE, BrainFlow and vendors write them (lower-case).
_TYPE_KINDS: dict[str, str] = {
    "eog": "eog",
    "heog": "eog",
    "veog": "eog",
    "emg": "emg",
    "ecg": "ecg",
    "ekg": "ecg",
    "stim": "stim",
    "trig": "stim",
    "trigger": "stim",
    "triggers": "stim",
    "marker": "stim",
    "markers": "stim",
    "event": "stim",
    "events": "stim",
    "misc": "misc",
    "other": "misc",
    "bio": "misc",
    "syst": "misc",
    "resp": "resp",
    "respiration": "resp",
    "gsr": "gsr",
    "eda": "gsr",
    "ppg": "ppg",
    "temp": "temp",
    "temperature": "temp",
    "acc": "accel",
    "accel": "accel",
    "accelerometer": "accel",
    "gyro": "gyro",
    "gyroscope": "gyro",
    "mag": "magnetometer",
    "magnetometer": "magnetometer",
    "aux": "aux",
    "auxiliary": "aux",
    "bat": "battery",
    "battery": "battery",
    "counter": "counter",
    "timestamp": "timestamp",
    "seeg": "seeg",
    "ecog": "ecog",
    "dbs": "dbs",
    "ref_meg": "meg",
    "mag_meg": "meg",
    "grad": "meg",
    "fnirs_cw_amplitude": "fnirs",
    "hbo": "fnirs",
    "hbr": "fnirs",
}
# Types that say "scalp EEG" or nothing at all: the label decides.
_EEG_LIKE_TYPES = {"", "eeg", "exg", "unknown", "n/a", "na", "none", "signal", "data"}

# (kind, pattern on the cleaned, upper-cased label, what the label says). Checked in
# order. None of these matches a 10-05 electrode name (a test keeps it that way).
_LABEL_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (kind, re.compile(pattern), meaning)
    for kind, pattern, meaning in (
        ("stim", r"^(STI ?\d*|STIM.*|STATUS|TRIG(GER)?S? ?\d*|TRG|MARKERS?|"
                 r"HARDWARE ?MARKERS?|MARKER_HARDWARE|EVENTS?|TTL|DIN ?\d*|DIGITAL|"
                 r"PHOTIC.*)$", "a trigger/marker channel"),
        ("eog", r"EOG|^(LOC|ROC)$", "an EOG channel"),
        ("ecg", r"ECG|EKG", "an ECG channel"),
        ("emg", r"EMG|^CHIN", "an EMG channel"),
        ("resp", r"^RESP|^BREATH|^THOR|^ABDO?M?|AIRFLOW", "a respiration channel"),
        ("gsr", r"^(GSR|EDA)", "a skin-conductance channel"),
        ("ppg", r"^(PPG|PLET|SPO2|PULSE)", "a pulse/PPG channel"),
        ("temp", r"^TEMP", "a temperature channel"),
        ("accel", r"^(ACC|ACCEL|ACCELEROMETER)[ _\-]?[XYZ0-9]?$|^ACC|^A[XYZ]$|^[XYZ]$",
                  "an accelerometer axis"),
        ("gyro", r"^GYRO", "a gyroscope axis"),
        ("magnetometer", r"^MAG(NETOMETER)?[ _\-]?[XYZ]$", "a magnetometer axis"),
        ("misc", r"^Q[0-3]$|QUATERNION", "an orientation quaternion component"),
        ("battery", r"BATT", "a battery level"),
        ("counter", r"COUNTER|^COUNT$|PACKET|^SAMPLE ?(INDEX|NUMBER|COUNT)|"
                    r"^INTERPOLATED?$|VALIDATION|^SEQ(UENCE)?$|ADC_SEQUENCE",
                    "a packet/sample counter"),
        ("timestamp", r"TIME ?STAMP|^TIME$|TIME_OFFSET|^LSL ?TIME|^CLOCK$",
                      "a timestamp"),
        ("aux", r"AUX|^X\d+$|^ANALOG|^ADC", "an auxiliary input"),
        ("misc", r"^EXG\d+$", "an external (EXG) electrode with user-chosen placement"),
        ("misc", r"^(REF|GND|GROUND|CMS|DRL|CM|VREF|COM|BIAS)$",
                 "a reference/ground electrode"),
        ("misc", r"^(MISC|BIP|ERG|DC)\s*\d*$|^IBI$|^BURSTS$|^SUPPR$|^ADC_STATUS$|"
                 r"^COMMENTS$|^OVERALL$|^SIGNAL$", "a non-EEG channel"),
    )
)


def kind_from_type(channel_type: str | None) -> str | None:
    """The kind a declared channel type names, or None when it leaves the label to decide.

    Returns ``"eeg"`` never: an EEG type is confirmed only after the label check.
    Unrecognised type strings also give None (the label decides).
    """
    if channel_type is None:
        return None
    key = str(channel_type).strip().lower()
    if key in _EEG_LIKE_TYPES:
        return None
    return _TYPE_KINDS.get(key)


def kind_from_label(cleaned_label: str) -> tuple[str, str] | None:
    """(kind, what the label says) for a label naming a non-EEG channel, else None.

    Parameters
    ----------
    cleaned_label : str
        The label after :func:`montages.labels.clean_label`.
    """
    key = cleaned_label.strip().upper()
    for kind, pattern, meaning in _LABEL_RULES:
        if pattern.search(key):
            return kind, meaning
    return None
