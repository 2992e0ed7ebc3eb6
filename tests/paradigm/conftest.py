"""Fixtures of the paradigm tests: a synthetic LSL amplifier for the headless runs (the small checkpoint is tests/conftest.py's)."""

from __future__ import annotations

import pytest

from helpers.lsl import SyntheticEEGSource, unique_name


@pytest.fixture
def amplifier():
    """A synthetic EEG amplifier on LSL (loopback), under a name of its own."""
    source = SyntheticEEGSource(unique_name("paradigm-eeg"))
    yield source
    source.stop()
