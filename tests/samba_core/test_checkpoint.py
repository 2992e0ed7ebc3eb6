"""Checkpoints round-trip, and every kind of damage is named."""

from __future__ import annotations

import warnings

import pytest
import torch

from helpers.models import small_config
from samba_core import CheckpointError, CheckpointMetadata, Samba, load_checkpoint, save_checkpoint
from samba_core.checkpoint import FORMAT, CheckpointWarning, _digest, _header, upgrade_checkpoint


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = Samba(small_config())
    meta = CheckpointMetadata(
        sample_rate=256.0, preprocessing={"bandpass": [0.5, 45.0], "notch": 50.0, "input_scale": 20.0},
        provenance={"trained_on": "unit test"}
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


def changed_copy(path, folder, change):
    """A copy of checkpoint ``path`` whose payload went through ``change`` (digest left as it was)."""
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, folder / "changed.samba")
    return folder / "changed.samba"


def test_wrong_format_version(saved, tmp_path):
    _, path = saved
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(changed_copy(path, tmp_path, lambda p: p.update(format_version=99)))


def reseal(payload: dict) -> dict:
    """Recompute the digest, as someone re-exporting an inconsistent checkpoint would."""
    payload["sha256"] = _digest(payload["state_dict"], _header(payload))
    return payload


def test_config_weights_mismatch(saved, tmp_path):
    _, path = saved
    payload = torch.load(path, weights_only=True)
    payload["config"]["dims"] = [16, 24, 40]
    torch.save(reseal(payload), tmp_path / "mismatch.samba")
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(tmp_path / "mismatch.samba")
    payload["config"]["dims"] = [16, 24, 32]
    payload["config"]["warp_drive"] = True
    torch.save(reseal(payload), tmp_path / "unknown.samba")
    with pytest.raises(CheckpointError, match="warp_drive"):
        load_checkpoint(tmp_path / "unknown.samba")


def test_expectations_checked(saved):
    _, path = saved
    with pytest.raises(CheckpointError, match="500.0 Hz"):
        load_checkpoint(path, expect_sample_rate=500.0)
    with pytest.raises(CheckpointError, match="no head"):
        load_checkpoint(path, expect_heads=["sleep"])
    assert torch.load(path, weights_only=True)["format"] == FORMAT


@pytest.mark.parametrize("change", [
    lambda p: p["metadata"]["preprocessing"].update(notch=52.0),
    lambda p: p["metadata"]["preprocessing"].update(input_scale=13824.0),
    lambda p: p["metadata"].update(sample_rate=250.0),
    lambda p: p["metadata"]["classes"].update(mi=["right", "left"]),
    lambda p: p["metadata"]["provenance"].update(trained_on="someone else"),
    lambda p: p["config"].update(dropout=0.5),
    lambda p: p.update(format_version=1),
    lambda p: p["state_dict"]["stem.weight"].view(-1)[0].add_(1e-3),
], ids=["notch", "input_scale", "sample_rate", "classes", "provenance", "config", "format_version", "weight"])
def test_any_change_anywhere_in_the_payload_is_refused(saved, tmp_path, change):
    _, path = saved
    with pytest.raises(CheckpointError, match="integrity"):
        load_checkpoint(changed_copy(path, tmp_path, change))


def test_a_version_1_checkpoint_is_read_with_a_warning_and_upgraded(saved, tmp_path):
    model, path = saved
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = 1
    payload["sha256"] = _digest(payload["state_dict"])  # version 1: weights only
    old = tmp_path / "v1.samba"
    torch.save(payload, old)
    with pytest.warns(CheckpointWarning, match="upgrade"):
        loaded = load_checkpoint(old)
    assert loaded.metadata.preprocessing["notch"] == 50.0
    payload["state_dict"]["stem.weight"].view(-1)[0].add_(1e-3)  # the old rule still guards the weights
    torch.save(payload, tmp_path / "v1-bad.samba")
    with pytest.raises(CheckpointError, match="integrity"):
        load_checkpoint(tmp_path / "v1-bad.samba")
    upgrade_checkpoint(old)
    assert torch.load(old, weights_only=True)["format_version"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load_checkpoint(old)
    for k, v in model.state_dict().items():
        assert torch.equal(again.model.state_dict()[k], v)


def test_a_folder_names_the_checkpoints_inside(saved, tmp_path):
    _, path = saved
    with pytest.raises(CheckpointError, match="is a folder; pass the .samba file itself.*m.samba"):
        load_checkpoint(path.parent)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no .samba file"):
        load_checkpoint(tmp_path / "empty")


@pytest.mark.parametrize("content", ["module", "state_dict", "list"])
def test_other_torch_files_are_named_without_advice_to_run_their_code(saved, tmp_path, content):
    model, _ = saved
    obj = {"module": model, "state_dict": model.state_dict(), "list": [1, 2, 3]}[content]
    torch.save(obj, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a samba-live checkpoint|pickled Python objects") as info:
        load_checkpoint(tmp_path / "other.pt")
    assert "weights_only" not in str(info.value) and "save_checkpoint" in str(info.value)
