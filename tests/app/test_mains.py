"""The notch follows the user's mains, not the mains where the checkpoint was trained."""

from __future__ import annotations

import pytest

from app.cli import build_parser
from app.pipeline.chain import preprocess_config_of
from app.pipeline.errors import PipelineError
from helpers.models import save_random_checkpoint
from samba_core import PreprocessConfig, load_checkpoint


@pytest.fixture
def checkpoint(tmp_path):
    return load_checkpoint(save_random_checkpoint(tmp_path / "m.samba", preprocessing=PreprocessConfig(notch=50.0)))


def test_checkpoint_notch_is_kept_by_default(checkpoint):
    assert preprocess_config_of(checkpoint).notch == 50.0


def test_mains_overrides_or_disables_the_notch(checkpoint):
    assert preprocess_config_of(checkpoint, 60.0).notch == 60.0
    assert preprocess_config_of(checkpoint, 0.0).notch is None
    assert preprocess_config_of(checkpoint, 60.0).bandpass == preprocess_config_of(checkpoint).bandpass
    with pytest.raises(PipelineError, match="mains"):
        preprocess_config_of(checkpoint, -50.0)


def test_cli_flag():
    assert build_parser().parse_args(["--headless", "--replay", "--mains", "60"]).mains == 60.0
