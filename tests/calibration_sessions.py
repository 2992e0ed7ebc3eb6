"""Synthetic calibration sessions for the calibration tests: real FIF files with motor imagery.

The synthetic subject has a sensorimotor mu rhythm (11 Hz) over C3 and C4 that
desynchronises over the hemisphere opposite to the imagined hand: "left" trials weaken
it over C4, "right" trials over C3. Any working pipeline (right markers, right epochs,
right labels) can separate the classes; a pipeline that misaligns epochs cannot.
"""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np

#: A 10-20 montage with both sensorimotor sites.
LABELS_10_20 = ("Fp1", "Fp2", "F3", "F4", "C3", "Cz", "C4", "P3", "P4", "O1", "O2", "Pz")


def synthetic_mi(
    n_per_class: int = 12, sfreq: float = 160.0, labels=LABELS_10_20, classes=("left", "right"),
    prefix: str = "cue/", seed: int = 0, rest_s: float = 2.5, trial_s: float = 4.0,
) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Data (channels, samples) in volts and annotations (onset s, duration s, description)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(np.repeat(np.arange(len(classes)), n_per_class))
    n = int((2.0 + len(order) * (rest_s + trial_s) + rest_s) * sfreq)
    t = np.arange(n) / sfreq
    # Background: smoothed noise, ~10 µV.
    noise = rng.normal(size=(len(labels), n))
    kernel = np.exp(-np.arange(int(0.05 * sfreq)) / (0.01 * sfreq))
    background = np.array([np.convolve(row, kernel / kernel.sum(), "same") for row in noise]) * 25e-6
    mu = 12e-6 * np.sin(2 * np.pi * 11.0 * t + np.cumsum(rng.normal(scale=0.05, size=n)))
    gain = {"C3": np.ones(n), "C4": np.ones(n)}
    annotations = []
    onset = 2.0
    for k in order:
        onset += rest_s
        cls = classes[k]
        a, b = int(onset * sfreq), int((onset + trial_s) * sfreq)
        side = {"left": "C4", "right": "C3"}.get(cls)
        if side is not None:
            gain[side][a:b] = 0.15  # event-related desynchronisation over the contralateral hemisphere
        annotations.append((onset, trial_s, f"{prefix}{cls}"))
        onset += trial_s
    data = background
    for site in ("C3", "C4"):
        if site in labels:
            data[list(labels).index(site)] += mu * gain[site]
    return data, annotations


def write_fif(path: Path, data: np.ndarray, sfreq: float, labels, annotations, types=None) -> Path:
    info = mne.create_info(list(labels), sfreq, types or "eeg")
    raw = mne.io.RawArray(data, info, verbose="error")
    if annotations:
        onset, duration, description = zip(*annotations)
        raw.set_annotations(mne.Annotations(onset, duration, description))
    raw.save(path, overwrite=True, verbose="error")
    return path
