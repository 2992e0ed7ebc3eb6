"""Checkpoint files: one file with the configuration, the weights and what a user needs to trust them.

A checkpoint records the model version, sampling rate, the preprocessing the model
expects, the class names of each head and the training provenance. One SHA-256 digest
covers the whole payload (format tags, model configuration, metadata with the
preprocessing, and every weight), so a single changed byte anywhere (the input scale, the
notch frequency, a class name, a weight) is refused rather than decoded into garbage.

Format version 1 (samba-live 0.1) digested the weights only. Such files are still read,
under the old rule, with a ``CheckpointWarning``; :func:`upgrade_checkpoint` (``python -m
samba_core.checkpoint upgrade FILE``) re-saves them as version 2. Every failure raises
``CheckpointError`` with a message naming the problem and what to do.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from .config import SambaConfig
from .model import Samba

FORMAT = "samba-live-checkpoint"
FORMAT_VERSION = 2
#: Version 1 files: the digest covers the weights only (read with a warning, see upgrade_checkpoint).
WEIGHTS_ONLY_DIGEST_VERSION = 1
MODEL_VERSION = "samba-0.1"


class CheckpointError(RuntimeError):
    """A checkpoint could not be read or does not fit the request."""


class CheckpointWarning(UserWarning):
    """A checkpoint was read under a weaker rule (format version 1: weights-only digest)."""


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
    """A verified checkpoint; ``sha256`` is its stored digest (identifies the checkpoint, e.g. in outlet metadata)."""

    model: Samba
    config: SambaConfig
    metadata: CheckpointMetadata
    path: Path
    sha256: str = ""


def _digest(state_dict: dict[str, torch.Tensor], header: dict[str, Any] | None = None) -> str:
    """SHA-256 of the weights, preceded (from format version 2 on) by the canonical JSON of ``header``.

    ``header`` holds everything else in the payload: ``format``, ``format_version``,
    ``config`` and ``metadata``.
    """
    h = hashlib.sha256()
    if header is not None:
        h.update(json.dumps(header, sort_keys=True, separators=(",", ":"), default=str).encode())
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
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": model.config.to_dict(), "metadata": meta}
    payload["sha256"] = _digest(state, _header(payload))
    payload["state_dict"] = state
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def _header(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: payload.get(k) for k in ("format", "format_version", "config", "metadata")}


def _read_payload(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.is_dir():
        inside = sorted(p.name for p in path.glob("*.samba"))
        raise CheckpointError(
            f"checkpoint {path} is a folder; pass the .samba file itself"
            + (f" (found there: {', '.join(inside[:5])})" if inside else " (there is no .samba file in it)")
        )
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes): the file was not written completely")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read ({exc.strerror}); check its permissions") from exc
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise CheckpointError(
            f"checkpoint {path} is truncated or is not a samba-live checkpoint (not a readable torch archive); "
            "copy it again or re-export it"
        )
    try:
        payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # a pickled module or other Python objects: never executed
        raise CheckpointError(
            f"{path} holds pickled Python objects (e.g. a whole model saved with torch.save(model)), not a samba-live "
            "checkpoint; samba-live does not run code from files. Export the model with samba_core.save_checkpoint "
            "(or use a .samba file from samba-pretrain / samba-calibrate)"
        ) from exc
    except Exception as exc:  # corrupt archive members, bad records, ...
        raise CheckpointError(f"checkpoint {path} is corrupted and cannot be decoded ({type(exc).__name__}); copy it "
                              "again or re-export it") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        what = "a bare state_dict" if isinstance(payload, dict) and payload and all(
            isinstance(v, torch.Tensor) for v in payload.values()) else "not a samba-live checkpoint"
        raise CheckpointError(
            f"{path} is a torch file but not a samba-live checkpoint ({what}: missing format tag); export the model "
            "with samba_core.save_checkpoint, which stores its configuration and preprocessing with the weights"
        )
    if payload.get("format_version") not in (FORMAT_VERSION, WEIGHTS_ONLY_DIGEST_VERSION):
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
    _verify(path, payload)
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
    return LoadedCheckpoint(model, config, metadata, path, str(payload["sha256"]))


def _verify(path: Path, payload: dict[str, Any]) -> None:
    """Check the digest: of the whole payload (version 2) or of the weights only (version 1, with a warning)."""
    state = payload["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"checkpoint {path}: its state_dict section is not a set of tensors; re-export it")
    if payload["format_version"] == WEIGHTS_ONLY_DIGEST_VERSION:
        if _digest(state) != payload["sha256"]:
            raise CheckpointError(f"checkpoint {path} failed its integrity check (weights do not match their SHA-256)")
        warnings.warn(
            f"checkpoint {path} is format version 1: its digest covers the weights only, so changes to its "
            f"configuration or preprocessing would go unnoticed. Upgrade it: python -m samba_core.checkpoint upgrade "
            f"{path}", CheckpointWarning, stacklevel=3,
        )
        return
    if _digest(state, _header(payload)) != payload["sha256"]:
        raise CheckpointError(
            f"checkpoint {path} failed its integrity check: its configuration, preprocessing metadata or weights "
            "do not match their SHA-256 (the file was changed after it was saved); use an unmodified copy or "
            "re-export it"
        )


def upgrade_checkpoint(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Re-save a verified format-version-1 checkpoint as version 2 (digest over the whole payload).

    Parameters
    ----------
    path : path-like
        The checkpoint to upgrade (its weights must pass the version-1 check).
    out : path-like, optional
        Where to write (default: replace ``path``, atomically).

    Raises
    ------
    CheckpointError
        The file is not a readable checkpoint.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CheckpointWarning)
        loaded = load_checkpoint(path)
    return save_checkpoint(Path(out) if out is not None else Path(path), loaded.model, loaded.metadata)


def main(argv: list[str] | None = None) -> int:
    """``python -m samba_core.checkpoint upgrade FILE [--out FILE]``."""
    parser = argparse.ArgumentParser(prog="python -m samba_core.checkpoint", description="samba-live checkpoint tools")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="re-save a version-1 checkpoint with a digest over the whole payload")
    up.add_argument("path", type=Path)
    up.add_argument("--out", type=Path, help="write here instead of replacing the file")
    args = parser.parse_args(argv)
    try:
        written = upgrade_checkpoint(args.path, args.out)
    except CheckpointError as exc:
        print(f"error: {exc}")
        return 1
    print(f"wrote {written} (format version {FORMAT_VERSION})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
