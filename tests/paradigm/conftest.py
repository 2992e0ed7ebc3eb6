"""Fixtures of the paradigm tests: a small real checkpoint for the headless runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_fixtures import save_small_checkpoint


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> Path:
    """A small random SAMBA model saved as a real checkpoint (256 Hz, default preprocessing)."""
    return save_small_checkpoint(tmp_path_factory.mktemp("paradigm-ckpt") / "small.samba")
