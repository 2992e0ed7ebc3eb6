"""Checkpoints round-trip, and every kind of damage is named."""

from __future__ import annotations

import pytest
import torch

from helpers.models import small_config
from samba_core import CheckpointError, CheckpointMetadata, Samba, load_checkpoint, save_checkpoint
from samba_core.checkpoint import FORMAT


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = Samba(small_config())
    meta = CheckpointMetadata(
        sample_rate=256.0, preprocessing={"bandpass": [0.5, 45.0]}, provenance={"trained_on": "unit test"}
    )
    return model, save_checkpoint(tmp_path / "m.samba", model, meta)


def test_round_trip(saved):
    model, path = saved
    loaded = load_checkpoint(path, expect_heads=["mi"], expect_sample_rate=256.0)
    assert loaded.config == model.config
    assert loaded.metadata.classes == {"mi": ["left", "right"], "distraction": ["attentive", "distracted"]}
    assert loaded.metadata.provenance == {"trained_on": "unit test"}
    assert loaded.metadata.created and loaded.metadata.model_version
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v)
    assert not loaded.model.training


def test_truncated(saved, tmp_path):
    _, path = saved
    raw = path.read_bytes()
    bad = tmp_path / "truncated.samba"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(bad)


def test_empty_and_missing(tmp_path):
    (tmp_path / "empty.samba").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(tmp_path / "empty.samba")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nothing.samba")


def test_flipped_weight_bytes_fail_integrity_check(saved, tmp_path):
    model, path = saved
    payload = torch.load(path, weights_only=True)
    name = "stem.weight"
    payload["state_dict"][name] = payload["state_dict"][name].clone()
    payload["state_dict"][name][0, 0] += 1e-3  # silent damage that still unpickles
    bad = tmp_path / "flipped.samba"
    torch.save(payload, bad)
    with pytest.raises(CheckpointError, match="integrity"):
        load_checkpoint(bad)


def test_garbage_inside_archive(saved, tmp_path):
    _, path = saved
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 2
    raw[mid : mid + 64] = b"\xff" * 64
    bad = tmp_path / "garbage.samba"
    bad.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):
        load_checkpoint(bad)


def test_not_a_checkpoint(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a samba-live checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_wrong_format_version(saved, tmp_path):
    _, path = saved
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, tmp_path / "future.samba")
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(tmp_path / "future.samba")


def test_config_weights_mismatch(saved, tmp_path):
    _, path = saved
    payload = torch.load(path, weights_only=True)
    payload["config"]["dims"] = [16, 24, 40]
    torch.save(payload, tmp_path / "mismatch.samba")
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(tmp_path / "mismatch.samba")
    payload["config"]["dims"] = [16, 24, 32]
    payload["config"]["warp_drive"] = True
    torch.save(payload, tmp_path / "unknown.samba")
    with pytest.raises(CheckpointError, match="warp_drive"):
        load_checkpoint(tmp_path / "unknown.samba")


def test_expectations_checked(saved):
    _, path = saved
    with pytest.raises(CheckpointError, match="500.0 Hz"):
        load_checkpoint(path, expect_sample_rate=500.0)
    with pytest.raises(CheckpointError, match="no head"):
        load_checkpoint(path, expect_heads=["sleep"])
    assert torch.load(path, weights_only=True)["format"] == FORMAT
