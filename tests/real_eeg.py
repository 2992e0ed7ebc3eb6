"""Reading the real EEGMMIDB recordings beside the checkout, for tests that use them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from samba_core.recordings import discover, read_recording


def eegmmidb_run(shared_data: Path, run: int, seconds: float) -> tuple[np.ndarray, float]:
    """The first ``seconds`` of run ``run`` of the first subject present: (data (channels, samples) in volts, rate Hz).

    Skips the test when no such recording is there.
    """
    files = [p for s in discover(shared_data, ("eegmmidb",)) for p in s.paths(runs=(run,))]
    if not files:
        pytest.skip(f"no EEGMMIDB run {run} found")
    rec = read_recording(files[0]).crop(seconds)
    return rec.data[rec.eeg_rows] * 1e-6, rec.sample_rate
