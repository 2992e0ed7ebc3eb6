"""Fixtures of the paradigm tests: a small real checkpoint and a synthetic LSL amplifier for the headless runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_lsl_sources import SyntheticEEGSource, unique_name
from model_fixtures import save_small_checkpoint


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> Path:
    """A small random SAMBA model saved as a real checkpoint (256 Hz, default preprocessing)."""
    return save_small_checkpoint(tmp_path_factory.mktemp("paradigm-ckpt") / "small.samba")


@pytest.fixture
def amplifier():
    """A synthetic EEG amplifier on LSL (loopback), under a name of its own."""
    source = SyntheticEEGSource(unique_name("paradigm-eeg"))
    yield source
    source.stop()
