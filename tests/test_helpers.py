"""The shared test and bench helpers behave as the tests and benches rely on."""

from __future__ import annotations

import pytest

from helpers.lsl import SyntheticEEGSource, unique_name, wait_until
from helpers.models import save_random_checkpoint, shipped_or_random_checkpoint, small_config
from samba_core import PreprocessConfig, SambaConfig, load_checkpoint


def test_the_shipped_checkpoint_is_preferred_when_installed(tmp_path):
    shipped = save_random_checkpoint(tmp_path / "base.samba", small_config())
    assert shipped_or_random_checkpoint(tmp_path / "x", shipped)[0] == shipped


def test_without_the_shipped_checkpoint_a_random_one_of_the_default_architecture_stands_in(tmp_path):
    path, note = shipped_or_random_checkpoint(tmp_path, tmp_path / "absent.samba", PreprocessConfig(notch=60.0))
    loaded = load_checkpoint(path)
    assert loaded.config == SambaConfig() and "absent" in note
    assert PreprocessConfig.from_dict(loaded.metadata.preprocessing).notch == 60.0


def test_random_checkpoints_are_reproducible(tmp_path):
    a = load_checkpoint(save_random_checkpoint(tmp_path / "a.samba", small_config(), seed=3)).model.state_dict()
    b = load_checkpoint(save_random_checkpoint(tmp_path / "b.samba", small_config(), seed=3)).model.state_dict()
    assert all((a[k] == b[k]).all() for k in a)


def test_a_source_created_unstarted_pushes_nothing_until_started():
    source = SyntheticEEGSource(unique_name("helpers"), rate=256.0, chunk=8, start=False)
    try:
        assert source.pushed == 0
        source.start()
        assert wait_until(lambda: source.pushed >= 64)
    finally:
        source.stop()


def test_channel_types_must_match_the_labels():
    from helpers.lsl import eeg_outlet

    with pytest.raises(ValueError, match="channel types"):
        eeg_outlet(unique_name("helpers"), ["Cz", "Pz"], 256.0, types=["EEG"])
