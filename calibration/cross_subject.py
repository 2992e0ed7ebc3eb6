"""A cross-subject head: fitted on many subjects' labelled trials, so a new user starts with a decoder.

The network stays frozen. Each subject's epochs (the live preprocessing, then the task's
protocol: context + decision window) run through it once; the task head's linear layer is
then fitted on the bottleneck tokens of the decision windows of every training subject by
the calibration's own linear probe (:func:`calibration.probe.fit_linear_probe`: L-BFGS to
convergence, L2 strength chosen by inner cross-validation *grouped by subject*, so the
regularisation is the one that transfers to unseen people). A user's calibration report and
the model card therefore use the same fitter and the same metric.

Decisions, as the live decoder makes them: a *trial* decision is the class of the mean token
logits over the decision window; a *per-decision* score classifies every token of the window
on its own (one decision every ``hop`` samples). Both are scored with
:func:`calibration.metrics.classification_metrics`.

:func:`train_cross_subject_head` (``samba-calibrate cross-subject``) evaluates the head by
subject folds (:func:`calibration.subject_folds.subject_folds`) and then writes the head fitted
on all subjects into a checkpoint, with that evaluation in the provenance.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from samba_core import CheckpointMetadata, Samba, load_checkpoint, save_checkpoint
from samba_core.preprocessing import PreprocessConfig

from .epochs import EpochSet, EpochingError
from .finetune import adapt_heads, decision_token_start, frozen_prefix
from .metrics import METRICS, classification_metrics
from .probe import fit_linear_probe
from samba_core.recordings import file_sha256, shared_subjects
from .stats import mean_interval
from .subject_data import select_subjects, subject_epochs, task_protocol
from .subject_folds import subject_folds

FITTER = ("calibration.probe.fit_linear_probe: L-BFGS logistic regression on standardised bottleneck tokens, "
          "L2 chosen by inner cross-validation grouped by subject (held-out trial loss)")


@dataclass
class SubjectFeatures:
    """One subject's epochs as the frozen network sees them.

    features : (trials, tokens, d) bottleneck tokens; y : (trials,) index into the head's classes;
    first_token : first token of the decision window.
    """

    subject: str
    features: Tensor
    y: np.ndarray
    first_token: int


def head_model(model: Samba, task: str, classes: tuple[str, ...], seed: int = 0) -> Samba:
    """A copy of ``model`` whose ``task`` head predicts ``classes`` (replaced if it predicts others)."""
    adapted, _ = adapt_heads(copy.deepcopy(model), task, tuple(classes), seed)
    return adapted.eval()


def subject_features(model: Samba, subject: str, epochs: EpochSet, classes: tuple[str, ...]) -> SubjectFeatures:
    """Run ``epochs`` through the frozen network; labels re-indexed to ``classes`` (the head's order).

    Raises
    ------
    EpochingError
        The epochs hold a class the head does not predict.
    """
    unknown = sorted(set(epochs.classes) - set(classes))
    if unknown:
        raise EpochingError(f"{subject}: classes {unknown} are not among the head's {list(classes)}")
    y = np.array([classes.index(epochs.classes[i]) for i in epochs.y], dtype=np.int64)
    feats = frozen_prefix(model, "heads", torch.from_numpy(epochs.x), torch.from_numpy(epochs.coords))
    return SubjectFeatures(subject, feats, y, decision_token_start(epochs.decision_start, model.config.hop))


def fit_cross_subject_head(head: nn.Sequential, train: list[SubjectFeatures], seed: int = 0) -> tuple[float, list[dict]]:
    """Fit ``head`` (RMSNorm -> Linear) in place on every trial of ``train``; returns the probe's (l2, path).

    Raises
    ------
    ValueError
        No training subject, or subjects whose epochs differ in shape.
    """
    if not train:
        raise ValueError("a cross-subject head needs at least one training subject")
    shapes = {tuple(s.features.shape[1:]) + (s.first_token,) for s in train}
    if len(shapes) != 1:
        raise ValueError(f"training subjects have epochs of different shapes (tokens, d, first token): {sorted(shapes)}")
    features = torch.cat([s.features for s in train])
    y = torch.from_numpy(np.concatenate([s.y for s in train]))
    groups = np.concatenate([np.full(s.y.size, i) for i, s in enumerate(train)])
    return fit_linear_probe(head, features, y, groups, np.arange(y.numel()), train[0].first_token, seed=seed)


@torch.no_grad()
def score_head(head: nn.Module, subject: SubjectFeatures) -> dict[str, dict[str, float]]:
    """``{"trial": metrics, "per_decision": metrics}`` of ``head`` on one subject's decision windows."""
    logits = head(subject.features[:, subject.first_token :]).numpy()  # (trials, tokens, classes)
    tokens = logits.shape[1]
    return {
        "trial": classification_metrics(subject.y, logits.mean(1), logits=True),
        "per_decision": classification_metrics(np.repeat(subject.y, tokens), logits.reshape(-1, logits.shape[-1]),
                                               logits=True),
    }


def fit_and_score(head: nn.Sequential, train: list[SubjectFeatures], test: list[SubjectFeatures],
                  seed: int = 0) -> dict[str, dict]:
    """Fit a copy of ``head`` on ``train``; per test subject, its scores (see :func:`score_head`)."""
    fitted = copy.deepcopy(head)
    l2, _ = fit_cross_subject_head(fitted, train, seed)
    return {s.subject: {**score_head(fitted, s), "l2": l2, "trained_on": [t.subject for t in train]} for s in test}


def summarise(per_subject: dict[str, dict]) -> dict:
    """Mean and 95% intervals over subjects of every trial and per-decision metric."""
    return {level: {m: mean_interval([r[level][m] for r in per_subject.values()]) for m in METRICS}
            for level in ("trial", "per_decision")}


def base_training_subjects(metadata: CheckpointMetadata) -> set[str] | None:
    """Subjects the checkpoint's provenance says it was pretrained on, or None when it does not say."""
    subjects = metadata.provenance.get("corpus", {}).get("subjects")
    return None if subjects is None else {str(s) for s in subjects}


def train_cross_subject_head(
    base: str | Path, data_root: str | Path, task: str, out: str | Path, subjects: list[str] | None = None,
    folds: int = 5, seed: int = 0, log: Callable[[str], None] = print,
) -> dict:
    """Fit the ``task`` head of ``base`` across subjects, evaluate it by subject folds, save it to ``out``.

    Parameters
    ----------
    base : checkpoint whose network stays frozen
    data_root : folder in the shared-data layout (see :mod:`calibration.subject_data`)
    task : ``"mi"`` or ``"distraction"``
    subjects : ids or numbers; default every present, non-reserved subject
    folds : subject folds of the evaluation (at most the number of subjects; 0 skips it)

    Returns
    -------
    The report stored as ``provenance["heads"][task]`` of the written checkpoint.

    Raises
    ------
    SubjectDataError, EpochingError, CheckpointError, ValueError
        With a message naming the subject or file and what to change.
    """
    loaded = load_checkpoint(base)
    protocol = task_protocol(task)
    classes = tuple(protocol.classes)
    model = head_model(loaded.model, task, classes, seed)
    pre = PreprocessConfig.from_dict(loaded.metadata.preprocessing) if loaded.metadata.preprocessing else PreprocessConfig()
    chosen = select_subjects(data_root, task, subjects)
    features, skipped = [], {}
    for s in chosen:
        try:
            features.append(subject_features(model, s, subject_epochs(data_root, s, task, pre, protocol), classes))
        except EpochingError as exc:
            skipped[s] = str(exc)
            log(f"{s}: skipped ({exc})")
    if not features:
        raise EpochingError(f"no subject under {data_root} gave usable {task} epochs: {skipped}")
    head = model.heads[task]
    k = min(folds, len(features))
    evaluation: dict = {}
    if k >= 2:
        assignment = subject_folds([f.subject for f in features], k)
        per_subject: dict[str, dict] = {}
        for j in range(k):
            test = [f for f in features if assignment[f.subject] == j]
            per_subject.update(fit_and_score(head, [f for f in features if assignment[f.subject] != j], test, seed))
            for f in test:
                log(f"{task} head, {f.subject} held out: balanced accuracy {per_subject[f.subject]['trial']['balanced_accuracy']:.3f}")
        evaluation = {"folds": k, "assignment": assignment, "per_subject": per_subject, "summary": summarise(per_subject)}
    l2, path = fit_cross_subject_head(head, features, seed)
    seen = base_training_subjects(loaded.metadata)
    report = {
        "kind": "cross-subject", "task": task, "classes": list(classes), "fitter": FITTER, "l2": l2, "probe_path": path,
        "protocol": protocol.to_dict(), "data_root": str(data_root), "subjects": [f.subject for f in features],
        "skipped": skipped, "trials": int(sum(f.y.size for f in features)),
        "class_counts": {c: int(sum((f.y == i).sum() for f in features)) for i, c in enumerate(classes)},
        "evaluation": evaluation, "backbone": "frozen",
        # What the app shows and uses to call the head trained (app.pipeline.heads): the
        # leave-subject-out trial balanced accuracy, beside chance.
        "mean_trial_accuracy": evaluation.get("summary", {}).get("trial", {}).get("balanced_accuracy", {}).get("mean"),
        "chance": 1.0 / len(classes), "metric": "leave-subject-out trial balanced accuracy",
        "base": {"path": str(base), "sha256": file_sha256(base),
                 "pretrained_on_scored_subjects": None if seen is None else shared_subjects({f.subject for f in features}, seen)},
        "seed": seed,
    }
    provenance = dict(loaded.metadata.provenance)
    provenance["heads"] = {**provenance.get("heads", {}), task: report}
    meta = CheckpointMetadata(
        sample_rate=loaded.metadata.sample_rate, preprocessing=loaded.metadata.preprocessing,
        classes={name: list(c) for name, c in model.config.head_classes.items()}, provenance=provenance,
        model_version=loaded.metadata.model_version,
    )
    save_checkpoint(out, model.eval(), meta)
    return report
