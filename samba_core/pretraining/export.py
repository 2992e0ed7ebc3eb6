"""The pretrained network as a SAMBA-Live checkpoint: weights plus what a user needs to trust them.

The metadata carries the corpus's preprocessing (the live pipeline must apply the same),
the sample rate, the head classes, and the provenance: objective, steps, batch, context,
precision, device, last losses, which recordings were used, rejected or skipped, and the
state of every head (pretraining trains none of them).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..checkpoint import CheckpointMetadata, save_checkpoint
from ..model import Samba
from .config import CropConfig
from .corpus import Corpus


def pretraining_provenance(corpus: Corpus, crops: CropConfig, seed: int, summary: dict[str, Any]) -> dict[str, Any]:
    """Provenance section of a pretrained checkpoint, from the run's ``summary.json`` content."""
    manifest = corpus.manifest
    bidirectional = summary.get("model_config", {}).get("decoder_direction") == "bidirectional"
    return {
        "pretraining": {
            "objective": "TSRM masked reconstruction (" + ("bidirectional pretraining decoder: in-filling hidden spans"
                                                          if bidirectional else "causal: forecasting hidden spans") + ")",
            "masking": dataclasses.asdict(crops.masking),
            "steps": summary["steps_done"], "global_batch": crops.batch_size, "context_s": crops.context_s,
            "seed": seed, "precision": summary["precision"], "world_size": summary["world_size"],
            "device": summary["device"], "mamba_ssm_kernels": summary["mamba_ssm_kernels"], "final": summary["final"],
        },
        "corpus": {
            **corpus.summary(), "recording_names": [r.name for r in corpus.recordings],
            # Mains notch of the recording sites; live use takes the one in "preprocessing".
            "notch_hz": sorted({e.get("notch") for e in manifest.get("recordings", [])}, key=str),
            "skipped_subjects": manifest.get("skipped_subjects", []),
            # Subjects a leave-subjects-out view (bench/fold_corpora.py) withheld from this base.
            "excluded_subjects": manifest.get("excluded_subjects", []),
            "rejected": [{"name": e["name"], "reason": e["reason"]} for e in manifest.get("rejected", [])],
        },
    }


def export_pretrained(
    path: str | Path, model: Samba, corpus: Corpus, crops: CropConfig, seed: int, summary: dict[str, Any]
) -> Path:
    """Write ``model`` (on the CPU) to ``path`` with the corpus's preprocessing and the run's provenance."""
    provenance = pretraining_provenance(corpus, crops, seed, summary)
    provenance["heads"] = {name: "untrained: needs a head-training or calibration step" for name in model.config.head_classes}
    metadata = CheckpointMetadata(
        sample_rate=corpus.sample_rate, preprocessing=dict(corpus.preprocessing),
        classes={k: list(v) for k, v in model.config.head_classes.items()}, provenance=provenance,
    )
    return save_checkpoint(path, model.eval(), metadata)
