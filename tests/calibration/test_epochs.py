"""Epochs: cut after the live preprocessing, aligned to the markers at any input rate; bad sessions refused."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.epochs import EpochingError, build_epochs
from calibration.protocols import PROTOCOLS
from samba_core.recordings import Marker, Recording, read_recording
from calibration_sessions import LABELS_10_20, synthetic_mi, write_fif
from montages import MontageError
from samba_core.preprocessing import PreprocessConfig

PRE = PreprocessConfig()


def pulse_recording(tmp_path, sfreq: float, n_per_class: int = 10) -> Recording:
    """A 30 µV, 20 ms pulse on C3 at every cue onset, nothing else but weak noise."""
    rng = np.random.default_rng(1)
    onsets = 3.0 + 6.0 * np.arange(2 * n_per_class)
    n = int((onsets[-1] + 6.0) * sfreq)
    data = rng.normal(scale=0.5e-6, size=(len(LABELS_10_20), n))
    c3 = LABELS_10_20.index("C3")
    for t in onsets:
        data[c3, int(t * sfreq) : int((t + 0.02) * sfreq)] += 30e-6
    ann = [(t, 4.0, "cue/left" if k % 2 else "cue/right") for k, t in enumerate(onsets)]
    return read_recording(write_fif(tmp_path / f"pulse_{int(sfreq)}_raw.fif", data, sfreq, LABELS_10_20, ann))


@pytest.mark.parametrize("sfreq", [160.0, 500.0])
def test_epochs_are_locked_to_the_cues_at_any_input_rate(tmp_path, sfreq):
    epochs = build_epochs([pulse_recording(tmp_path, sfreq)], PROTOCOLS["mi"], PRE)
    proto = PROTOCOLS["mi"]
    assert epochs.sample_rate == 256.0
    assert epochs.x.shape == (20, len(LABELS_10_20), round(proto.epoch_seconds * 256))
    assert epochs.decision_start == round((proto.window[0] - proto.tmin) * 256)
    assert epochs.counts == {"left": 10, "right": 10}
    c3 = epochs.labels.index("C3")
    cue = round(-proto.tmin * 256)  # the cue's sample inside each epoch
    peaks = np.abs(epochs.x[:, c3]).argmax(axis=1)
    # Causal filters only delay the pulse (band-pass + resampler group delay), never advance it.
    assert np.all(peaks >= cue) and np.all(peaks <= cue + 20)
    assert np.ptp(peaks) <= 1


def test_too_few_trials_per_class_states_the_minimum(tmp_path):
    data, ann = synthetic_mi(n_per_class=4)
    rec = read_recording(write_fif(tmp_path / "short_raw.fif", data, 160.0, LABELS_10_20, ann))
    with pytest.raises(EpochingError, match=r"too few trials per class.*'left': 4.*at least 10 per class"):
        build_epochs([rec], PROTOCOLS["mi"], PRE)
    assert len(build_epochs([rec], PROTOCOLS["mi"], PRE, min_trials_per_class=4)) == 8


def test_one_class_only_is_refused(tmp_path):
    data, ann = synthetic_mi(n_per_class=10)
    ann = [a for a in ann if a[2] == "cue/left"]
    rec = read_recording(write_fif(tmp_path / "left_raw.fif", data, 160.0, LABELS_10_20, ann))
    with pytest.raises(EpochingError, match="one class only"):
        build_epochs([rec], PROTOCOLS["mi"], PRE)


def test_session_without_markers_is_refused(tmp_path):
    data, _ = synthetic_mi(n_per_class=2)
    rec = read_recording(write_fif(tmp_path / "plain_raw.fif", data, 160.0, LABELS_10_20, []))
    with pytest.raises(EpochingError, match="no markers/annotations at all"):
        build_epochs([rec], PROTOCOLS["mi"], PRE)


def test_too_few_eeg_channels(tmp_path):
    labels = ("C3", "Cz", "C4")
    data, ann = synthetic_mi(n_per_class=10, labels=labels)
    rec = read_recording(write_fif(tmp_path / "three_raw.fif", data, 160.0, labels, ann))
    with pytest.raises(EpochingError, match="needs at least 4"):
        build_epochs([rec], PROTOCOLS["mi"], PRE)


def test_unplaceable_labels_raise_a_montage_error_unless_dropped(tmp_path):
    labels = LABELS_10_20[:-2] + ("Foo1", "Bar2")
    data, ann = synthetic_mi(n_per_class=10, labels=labels)
    rec = read_recording(write_fif(tmp_path / "odd_raw.fif", data, 160.0, labels, ann))
    with pytest.raises(MontageError, match="Foo1"):
        build_epochs([rec], PROTOCOLS["mi"], PRE)
    epochs = build_epochs([rec], PROTOCOLS["mi"], PRE, allow_drop=True)
    assert epochs.labels == LABELS_10_20[:-2]
    assert np.isfinite(epochs.coords).all() and epochs.coords.shape == (10, 3)


def test_non_eeg_channels_are_left_out(tmp_path):
    labels = LABELS_10_20 + ("EOG1", "STI")
    data, ann = synthetic_mi(n_per_class=10, labels=labels)
    types = ["eeg"] * len(LABELS_10_20) + ["eog", "stim"]
    rec = read_recording(write_fif(tmp_path / "mixed_raw.fif", data, 160.0, labels, ann, types=types))
    assert build_epochs([rec], PROTOCOLS["mi"], PRE).labels == LABELS_10_20


def test_bad_annotations_drop_the_epochs_they_touch(tmp_path):
    data, ann = synthetic_mi(n_per_class=10)
    ann = ann + [(ann[0][0] + 1.0, 0.5, "BAD_movement")]
    rec = read_recording(write_fif(tmp_path / "bad_raw.fif", data, 160.0, LABELS_10_20, ann))
    epochs = build_epochs([rec], PROTOCOLS["mi"], PRE, min_trials_per_class=5)
    assert len(epochs) == 19 and epochs.dropped == 1
    assert all(onset != pytest.approx(ann[0][0]) for _, onset in epochs.sources)


def test_blocks_are_cut_into_grouped_epochs():
    rate = 128.0
    data = np.random.default_rng(0).normal(scale=10.0, size=(len(LABELS_10_20), int(200 * rate)))
    markers = [Marker.at(10 * rate, rate, "block/attentive"), Marker.at(40 * rate, rate, "block/distracted"),
               Marker.at(70 * rate, rate, "block/end"), Marker.at(100 * rate, rate, "block/attentive", 30.0),
               Marker.at(150 * rate, rate, "block/distracted", 30.0)]
    rec = Recording(data, rate, list(LABELS_10_20), ["eeg"] * len(LABELS_10_20), markers, [(0, data.shape[1])],
                    __import__("pathlib").Path("drive.xdf"), "0" * 64)
    proto = PROTOCOLS["distraction"]
    epochs = build_epochs([rec], proto, PRE, min_trials_per_class=5)
    per_block = int((30.0 - proto.window[1]) // proto.stride) + 1  # a block lasts until the next marker
    assert len(epochs) == 4 * per_block
    assert epochs.counts == {"attentive": 2 * per_block, "distracted": 2 * per_block}
    assert np.unique(epochs.groups).size == 4
    for g in np.unique(epochs.groups):
        assert np.unique(epochs.y[epochs.groups == g]).size == 1


def test_files_of_a_session_must_share_a_montage(tmp_path):
    data, ann = synthetic_mi(n_per_class=5)
    a = read_recording(write_fif(tmp_path / "a_raw.fif", data, 160.0, LABELS_10_20, ann))
    other = tuple(reversed(LABELS_10_20))
    b = read_recording(write_fif(tmp_path / "b_raw.fif", data, 160.0, other, ann))
    with pytest.raises(EpochingError, match="same montage"):
        build_epochs([a, b], PROTOCOLS["mi"], PRE)
    both = build_epochs([a, a], PROTOCOLS["mi"], PRE)
    assert len(both) == 20 and np.unique(both.groups).size == 20
