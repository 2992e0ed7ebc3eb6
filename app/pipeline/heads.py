"""What a checkpoint's metadata says about each decoder head: trained, calibrated, how accurate.

Only heads with evidence of training are decoders: their probabilities are published,
logged and drawn. A head is

- ``calibrated``: the checkpoint is a subject calibration (``samba-calibrate``, the GUI's
  Calibration tab) of that head; its evaluated accuracy is the cross-validated balanced
  accuracy of SAMBA in ``provenance["scores"]["samba"]``;
- ``trained``: ``provenance["heads"][head]`` is a head-training report (see
  :func:`calibration.cross_subject.train_cross_subject_head`) with an evaluated
  ``mean_trial_accuracy`` (leave-subject-out trial balanced accuracy);
- ``untrained``: the provenance says so (``"untrained: ..."``, written by
  :func:`samba_core.pretraining.export.export_pretrained`), or it reports on other heads
  but not on this one, or its report carries no evaluation;
- ``unknown``: the checkpoint carries no head provenance at all (hand-made or older
  checkpoints); decoded, with a warning that nothing says how good it is.

For a subject calibration the other heads keep the status the base checkpoint gave them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from samba_core import LoadedCheckpoint
from samba_core.recordings import shared_subjects

DECODED = ("calibrated", "trained", "unknown")
#: A decoded head whose evaluated accuracy is within this of chance is reported as decoding at chance.
AT_CHANCE_MARGIN = 0.02


@dataclass(frozen=True)
class HeadInfo:
    """One head of a checkpoint.

    Parameters
    ----------
    head : str
    status : str
        ``calibrated``, ``trained``, ``untrained`` or ``unknown`` (see the module docstring).
    accuracy : float or None
        Evaluated accuracy from the metadata (balanced accuracy for a calibration, mean
        held-out trial accuracy for a trained head).
    chance : float or None
        Chance level of that evaluation, where recorded.
    note : str
        What the metadata says, for a tooltip or a log line.
    seen_in_pretraining : int
        How many of the subjects the accuracy was evaluated on are also in the pretraining
        corpus (their unlabelled EEG shaped the network): the accuracy is then optimistic for
        new users. 0 when none are, or the metadata cannot tell.
    evaluated_subjects : int
        How many subjects the accuracy was evaluated on (0: not recorded).
    """

    head: str
    status: str
    accuracy: float | None = None
    chance: float | None = None
    note: str = ""
    seen_in_pretraining: int = 0
    evaluated_subjects: int = 0

    @property
    def decoded(self) -> bool:
        return self.status in DECODED

    def describe(self) -> str:
        """E.g. ``"calibrated for this user, evaluated accuracy 0.72 (chance 0.50)"``."""
        what = {"calibrated": "calibrated for this user", "trained": "trained, not calibrated for this user",
                "untrained": "untrained", "unknown": "not evaluated (no training record)"}[self.status]
        if self.accuracy is not None:
            what += f", evaluated accuracy {self.accuracy:.2f}"
            if self.chance is not None:
                what += f" (chance {self.chance:.2f})"
            if self.seen_in_pretraining:
                n, seen = self.evaluated_subjects, self.seen_in_pretraining
                share = f"all {n} of its evaluation subjects" if seen == n else f"{seen} of its {n} evaluation subjects"
                what += f"; optimistic for new users: {share} were in the base's pretraining (unlabelled)"
        return what


@dataclass(frozen=True)
class CheckpointHeads:
    """Which checkpoint decodes, and its heads.

    Parameters
    ----------
    name : str
        File name of the checkpoint.
    kind : str
        ``subject calibration`` or ``pretrained``.
    heads : dict head -> HeadInfo
    """

    name: str
    kind: str
    heads: dict[str, HeadInfo]

    @property
    def decoded(self) -> tuple[str, ...]:
        return tuple(h for h, info in self.heads.items() if info.decoded)

    @property
    def hidden(self) -> tuple[str, ...]:
        return tuple(h for h, info in self.heads.items() if not info.decoded)

    def at_chance(self, margin: float = AT_CHANCE_MARGIN) -> tuple[str, ...]:
        """Decoded heads whose evaluated accuracy is not above chance by more than ``margin``
        (their decisions are published, but say nothing about the user yet)."""
        return tuple(h for h, info in self.heads.items() if info.decoded and info.accuracy is not None
                     and info.chance is not None and info.accuracy <= info.chance + margin)


def checkpoint_heads(checkpoint: LoadedCheckpoint) -> CheckpointHeads:
    """Read the status of every head of ``checkpoint`` from its metadata (see the module docstring)."""
    prov = checkpoint.metadata.provenance or {}
    names = list(checkpoint.metadata.classes or checkpoint.config.head_classes)
    if prov.get("kind") == "subject-calibration":
        base = (prov.get("base_checkpoint") or {}).get("provenance") or {}
        heads = {h: _from_heads(h, base.get("heads"), _pretraining_subjects(base)) for h in names}
        task = prov.get("task")
        if task in heads:
            samba = (prov.get("scores") or {}).get("samba") or {}
            acc = samba.get("balanced_accuracy")
            n_classes = len((checkpoint.metadata.classes or {}).get(task, ())) or None
            heads[task] = HeadInfo(task, "calibrated", _float(acc), 1.0 / n_classes if n_classes else None,
                                   "subject calibration (cross-validated balanced accuracy)")
        kind = "subject calibration"
    else:
        heads = {h: _from_heads(h, prov.get("heads"), _pretraining_subjects(prov)) for h in names}
        kind = "pretrained" if prov.get("pretraining") else "checkpoint"
    return CheckpointHeads(Path(str(checkpoint.path)).name, kind, heads)


def _pretraining_subjects(provenance: Mapping) -> set[str]:
    """Subjects of the pretraining corpus a checkpoint records (empty when it records none)."""
    corpus = provenance.get("corpus")
    subjects = corpus.get("subjects") if isinstance(corpus, Mapping) else None
    return {str(s) for s in subjects} if isinstance(subjects, (list, tuple)) else set()


def _from_heads(head: str, reports: Mapping | None, pretrained_on: set[str] = frozenset()) -> HeadInfo:
    if reports is None:
        return HeadInfo(head, "unknown", note="the checkpoint records no head training")
    report = reports.get(head)
    if report is None:
        return HeadInfo(head, "untrained", note="the checkpoint's training record does not mention this head")
    if isinstance(report, str):
        return HeadInfo(head, "untrained" if report.lower().startswith("untrained") else "unknown", note=report)
    acc = _float(report.get("mean_trial_accuracy"))
    if acc is None:
        return HeadInfo(head, "untrained", note="its training record holds no evaluation")
    evaluated = report.get("subjects")
    evaluated = {str(x) for x in evaluated} if isinstance(evaluated, (list, tuple)) else set()
    return HeadInfo(head, "trained", acc, _float(report.get("chance")), str(report.get("kind", "head training")),
                    len(shared_subjects(evaluated, pretrained_on)), len(evaluated))


def _float(v) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def in_sample_notice(checkpoint: LoadedCheckpoint, recording: str | Path) -> str | None:
    """A warning when ``recording`` (a file about to be replayed) is one the checkpoint was calibrated on.

    Matches the file's SHA-256 against ``provenance["sessions"]`` of a subject calibration; the
    accuracy against its cues is then in-sample (optimistic). None when it is not, or cannot be told.
    """
    from samba_core.recordings import file_sha256

    sessions = (checkpoint.metadata.provenance or {}).get("sessions") or []
    hashes = {s.get("sha256") for s in sessions if isinstance(s, Mapping)} - {None}
    path = Path(recording)
    if not hashes or not path.is_file():
        return None
    if file_sha256(path) not in hashes:
        return None
    return (f"{path.name} is one of the recordings {Path(str(checkpoint.path)).name} was calibrated on: its accuracy "
            "against the cues is in-sample, so optimistic; replay a session the calibration did not use")
