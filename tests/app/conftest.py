"""Fixtures of the live-pipeline tests: a small real checkpoint, as a path and loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from samba_core import load_checkpoint


@pytest.fixture(scope="session")
def checkpoint_path(small_checkpoint) -> Path:
    """The session's small random checkpoint (``small_checkpoint`` of tests/conftest.py)."""
    return small_checkpoint


@pytest.fixture(scope="session")
def checkpoint(checkpoint_path):
    return load_checkpoint(checkpoint_path)
