"""Motor-imagery head trained across the corpus's subjects, so a new user starts with a decoder.

The pretrained network stays frozen: it runs once over every selected recording, as the
live app would stream it (causal, from the start of the recording), and only the ``mi``
head (RMSNorm + linear on the bottleneck tokens) is fitted to the tokens that fall inside
imagery trials. Bottleneck token ``k`` has seen input samples ``0 .. (k + 1) * hop - 1``;
it belongs to a trial when that last sample lies in ``[onset + window_s[0], onset + window_s[1])``.

Honest evaluation comes first: folds leave one subject out when the corpus has several
(a cross-subject estimate), otherwise one recording out (then it is a within-subject
estimate, and the report says so). A trial's decision is the class of its mean logits.
The head written to the checkpoint is then fitted on all selected trials.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .checkpoint import CheckpointMetadata, load_checkpoint, save_checkpoint
from .pretraining.corpus import Corpus, Recording


@dataclass(frozen=True)
class MIHeadConfig:
    """labels: event description -> class name (order of ``classes``); runs: EEGMMIDB imagined
    left/right-fist runs; window_s: seconds after the cue whose tokens are trained and scored."""

    classes: tuple[str, ...] = ("left", "right")
    labels: dict[str, str] = field(default_factory=lambda: {"T1": "left", "T2": "right"})
    runs: tuple[int, ...] = (4, 8, 12)
    window_s: tuple[float, float] = (0.5, 4.0)
    iterations: int = 300
    lr: float = 1e-2
    weight_decay: float = 1e-2
    seed: int = 0


@dataclass
class Trial:
    recording: int
    tokens: np.ndarray  # indices of bottleneck tokens inside the trial window
    label: int


def select_recordings(corpus: Corpus, config: MIHeadConfig, names: list[str] | None = None) -> list[Recording]:
    """The recordings named, or else the EEGMMIDB runs ``config.runs``; each must hold labelled trials."""
    if names:
        chosen = [r for r in corpus.recordings if r.name in set(names)]
        missing = sorted(set(names) - {r.name for r in chosen})
        if missing:
            raise ValueError(f"recordings {missing} are not in the corpus {corpus.root}")
    else:
        chosen = [r for r in corpus.recordings if r.run in set(config.runs)]
    chosen = [r for r in chosen if any(desc in config.labels for _, _, desc in r.events)]
    if not chosen:
        raise ValueError(
            f"no recording with {sorted(config.labels)} events in {corpus.root}: include EEGMMIDB runs "
            f"{list(config.runs)} in the corpus or name recordings with --recordings"
        )
    return chosen


def trials_of(recording: Recording, index: int, hop: int, rate: float, config: MIHeadConfig) -> list[Trial]:
    """Imagery trials of one recording, as bottleneck-token indices."""
    n_tokens = recording.n_samples // hop
    last_sample = (np.arange(n_tokens) + 1) * hop - 1
    out = []
    for onset, _, desc in recording.events:
        if desc not in config.labels:
            continue
        lo, hi = onset + config.window_s[0] * rate, onset + config.window_s[1] * rate
        tokens = np.flatnonzero((last_sample >= lo) & (last_sample < hi))
        if len(tokens):
            out.append(Trial(index, tokens, config.classes.index(config.labels[desc])))
    return out


@torch.no_grad()
def recording_features(model, recording: Recording, device: torch.device) -> Tensor:
    """Bottleneck features (tokens, dim) of a whole recording, streamed causally from its start."""
    x = torch.from_numpy(np.asarray(recording.signal, dtype=np.float32))[None].to(device)
    coords = torch.from_numpy(recording.coords).to(device)
    return model(x, coords, decoder=False).features[0].float().cpu()


def _fit(head: nn.Module, feats: Tensor, labels: Tensor, config: MIHeadConfig) -> nn.Module:
    torch.manual_seed(config.seed)
    head = copy.deepcopy(head)
    for p in head.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    counts = torch.bincount(labels, minlength=len(config.classes)).clamp_min(1).float()
    weight = counts.sum() / counts / len(config.classes)  # balanced classes
    for _ in range(config.iterations):
        opt.zero_grad()
        nn.functional.cross_entropy(head(feats), labels, weight=weight).backward()
        opt.step()
    return head.eval()


def _tokens(features: list[Tensor], trials: list[Trial]) -> tuple[Tensor, Tensor]:
    feats = torch.cat([features[t.recording][t.tokens] for t in trials])
    labels = torch.cat([torch.full((len(t.tokens),), t.label) for t in trials])
    return feats, labels


@torch.no_grad()
def _accuracy(head: nn.Module, features: list[Tensor], trials: list[Trial]) -> tuple[float, float]:
    """(trial accuracy from mean logits, token accuracy)."""
    hits, token_hits, tokens = 0, 0, 0
    for t in trials:
        logits = head(features[t.recording][t.tokens])
        hits += int(logits.mean(0).argmax()) == t.label
        token_hits += int((logits.argmax(-1) == t.label).sum())
        tokens += len(t.tokens)
    return hits / len(trials), token_hits / max(1, tokens)


def train_mi_head(
    checkpoint: str | Path, corpus: Corpus, out_path: str | Path, config: MIHeadConfig = MIHeadConfig(),
    names: list[str] | None = None, device: torch.device | None = None, log=print,
) -> dict[str, Any]:
    """Fit the ``mi`` head of ``checkpoint`` on the corpus, evaluate it by held-out folds, save to ``out_path``."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    loaded = load_checkpoint(checkpoint, expect_heads=["mi"])
    model = loaded.model.to(device).eval()
    if tuple(loaded.config.head_classes["mi"]) != tuple(config.classes):
        raise ValueError(f"the checkpoint's mi head predicts {loaded.config.head_classes['mi']}, not {config.classes}")
    recordings = select_recordings(corpus, config, names)
    hop, rate = loaded.config.hop, corpus.sample_rate
    features = [recording_features(model, r, device) for r in recordings]
    trials = [t for i, r in enumerate(recordings) for t in trials_of(r, i, hop, rate, config)]
    subjects = sorted({r.subject for r in recordings})
    by_subject = len(subjects) > 1
    groups = [recordings[t.recording].subject if by_subject else recordings[t.recording].name for t in trials]
    head = model.heads["mi"].cpu()
    folds = []
    for held in sorted(set(groups)) if len(set(groups)) > 1 else []:  # one group: nothing to hold out
        train = [t for t, g in zip(trials, groups) if g != held]
        test = [t for t, g in zip(trials, groups) if g == held]
        fitted = _fit(head, *_tokens(features, train), config)
        acc, token_acc = _accuracy(fitted, features, test)
        folds.append({"held_out": held, "trials": len(test), "trial_accuracy": acc, "token_accuracy": token_acc})
        log(f"mi head, held out {held}: trial accuracy {acc:.3f} ({len(test)} trials), token accuracy {token_acc:.3f}")
    final = _fit(head, *_tokens(features, trials), config)
    model = model.cpu()
    model.heads["mi"].load_state_dict(final.state_dict())
    report = {
        "kind": "cross-subject" if by_subject else "within-subject (one subject: leave-one-recording-out)",
        "subjects": subjects, "recordings": [r.name for r in recordings], "trials": len(trials),
        "class_counts": {c: sum(t.label == i for t in trials) for i, c in enumerate(config.classes)},
        "folds": folds,
        "mean_trial_accuracy": float(np.mean([f["trial_accuracy"] for f in folds])) if folds else None,
        "chance": max(sum(t.label == i for t in trials) for i in range(len(config.classes))) / len(trials),
        "config": {**asdict(config), "window_s": list(config.window_s)}, "backbone": "frozen",
    }
    provenance = dict(loaded.metadata.provenance)
    provenance["heads"] = {**provenance.get("heads", {}), "mi": report}
    meta = CheckpointMetadata(
        sample_rate=loaded.metadata.sample_rate, preprocessing=loaded.metadata.preprocessing,
        classes=loaded.metadata.classes, provenance=provenance, model_version=loaded.metadata.model_version,
    )
    save_checkpoint(out_path, model.eval(), meta)
    return report
