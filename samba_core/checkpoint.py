"""Checkpoint files: one file with the configuration, the weights and what a user needs to trust them.

A checkpoint records the model version, sampling rate, the preprocessing the model
expects, the class names of each head and the training provenance. The weights are
covered by a SHA-256 digest, so a file damaged on disk is refused rather than decoded
into garbage. Every failure raises ``CheckpointError`` with a message naming the problem.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from .config import SambaConfig
from .model import Samba

FORMAT = "samba-live-checkpoint"
FORMAT_VERSION = 1
MODEL_VERSION = "samba-0.1"


class CheckpointError(RuntimeError):
    """A checkpoint could not be read or does not fit the request."""


@dataclass
class CheckpointMetadata:
    """What travels with the weights. ``preprocessing`` is a ``PreprocessConfig.to_dict()``."""

    sample_rate: float
    preprocessing: dict[str, Any] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    model_version: str = MODEL_VERSION
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "sample_rate": float(self.sample_rate),
            "preprocessing": dict(self.preprocessing),
            "classes": {k: list(v) for k, v in self.classes.items()},
            "provenance": dict(self.provenance),
            "model_version": self.model_version,
            "created": self.created,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CheckpointMetadata":
        return cls(
            sample_rate=float(d["sample_rate"]), preprocessing=dict(d.get("preprocessing", {})),
            classes={k: list(v) for k, v in d.get("classes", {}).items()}, provenance=dict(d.get("provenance", {})),
            model_version=str(d.get("model_version", "")), created=str(d.get("created", "")),
        )


@dataclass
class LoadedCheckpoint:
    model: Samba
    config: SambaConfig
    metadata: CheckpointMetadata
    path: Path


def _digest(state_dict: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(str(t.dtype).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(path: str | os.PathLike, model: Samba, metadata: CheckpointMetadata) -> Path:
    """Write ``model`` and ``metadata`` to ``path`` atomically (a crash never leaves half a file)."""
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    meta = metadata.to_dict()
    meta["classes"] = meta["classes"] or {k: list(v) for k, v in model.config.head_classes.items()}
    meta["created"] = meta["created"] or datetime.now(timezone.utc).isoformat(timespec="seconds")
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "config": model.config.to_dict(),
        "metadata": meta, "state_dict": state, "sha256": _digest(state),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def _read_payload(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes): the file was not written completely")
    raw = path.read_bytes()
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise CheckpointError(
            f"checkpoint {path} is truncated or is not a samba-live checkpoint (not a readable torch archive); "
            "copy it again or re-export it"
        )
    try:
        payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt archive members, bad pickle opcodes, ...
        raise CheckpointError(f"checkpoint {path} is corrupted and cannot be decoded: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a torch file but not a samba-live checkpoint (missing format tag)")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {payload.get('format_version')}; this samba-live reads version "
            f"{FORMAT_VERSION}: use a matching samba-live release"
        )
    for key in ("config", "metadata", "state_dict", "sha256"):
        if key not in payload:
            raise CheckpointError(f"checkpoint {path} lacks its {key!r} section")
    return payload


def load_checkpoint(
    path: str | os.PathLike, *, expect_heads: list[str] | None = None, expect_sample_rate: float | None = None
) -> LoadedCheckpoint:
    """Read a checkpoint, verify it, and rebuild its model (in eval mode, on the CPU).

    ``expect_heads`` / ``expect_sample_rate`` check that the checkpoint fits the caller.
    """
    path = Path(path)
    payload = _read_payload(path)
    state = payload["state_dict"]
    if _digest(state) != payload["sha256"]:
        raise CheckpointError(f"checkpoint {path} failed its integrity check (weights do not match their SHA-256)")
    try:
        config = SambaConfig.from_dict(payload["config"])
        metadata = CheckpointMetadata.from_dict(payload["metadata"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} has an invalid configuration: {exc}") from exc
    model = Samba(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint {path} does not match its configuration: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise CheckpointError(
                f"checkpoint {path}: parameter {name} has shape {tuple(tensor.shape)}, the configuration needs "
                f"{tuple(expected[name].shape)}"
            )
    model.load_state_dict(state)
    model.eval()
    if expect_sample_rate is not None and abs(metadata.sample_rate - expect_sample_rate) > 1e-6:
        raise CheckpointError(
            f"checkpoint {path} was trained at {metadata.sample_rate} Hz, not {expect_sample_rate} Hz"
        )
    if expect_heads:
        absent = [h for h in expect_heads if h not in config.head_classes]
        if absent:
            raise CheckpointError(
                f"checkpoint {path} has no head {absent}; it provides {sorted(config.head_classes)}"
            )
    return LoadedCheckpoint(model, config, metadata, path)
