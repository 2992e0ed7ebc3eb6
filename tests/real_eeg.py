"""Reading the real EEGMMIDB recordings beside the checkout, for tests that use them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def eegmmidb_run(shared_data: Path, run: int, seconds: float) -> tuple[np.ndarray, float]:
    """The first ``seconds`` of run ``run`` of the first subject present: (data (channels, samples) in volts, rate Hz).

    Skips the test when no such recording is there.
    """
    mne = pytest.importorskip("mne")
    files = sorted(shared_data.glob(f"MNE-eegbci-data/files/eegmmidb/1.0.0/S*/S*R{run:02d}.edf"))
    if not files:
        pytest.skip(f"no EEGMMIDB run {run} found")
    raw = mne.io.read_raw_edf(files[0], preload=True, verbose="error")
    rate = raw.info["sfreq"]
    return raw.get_data()[:, : int(seconds * rate)], rate
