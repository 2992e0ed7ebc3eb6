"""calibrate(): a marked session in, a subject checkpoint and a CalibrationReport out.

Steps: read the base checkpoint (its preprocessing is the live pipeline's) -> read the
session files -> pick the protocol -> preprocess each continuous recording and cut
epochs -> assign cross-validation folds once -> score SAMBA fine-tuning, CSP + LDA and
TS + LR on those folds -> fine-tune SAMBA on all epochs (inner split for early
stopping) -> write the subject checkpoint with provenance -> write the report.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from samba_core import CheckpointMetadata, LoadedCheckpoint, SambaConfig, load_checkpoint, save_checkpoint
from samba_core.preprocessing import PreprocessConfig
from samba_core.recordings import Recording, file_sha256, read_recording

from .baselines import baseline_estimators
from .epochs import MIN_EEG_CHANNELS, MIN_TRIALS_PER_CLASS, EpochSet, build_epochs
from .estimator import DEFAULT_LR, SambaClassifier
from .finetune import DEFAULT_TRAIN_MODE, TRAIN_MODES
from .protocols import Protocol, ProtocolError, get_protocol, select_protocol
from .report import CalibrationReport
from .validation import cross_validate, make_folds


class CalibrationError(ValueError):
    """The calibration cannot run with these inputs; the message says what to change."""


@dataclass(frozen=True)
class CalibrationConfig:
    """Settings of one calibration run (all recorded in the report and the checkpoint).

    Parameters
    ----------
    task : str
        Model head to calibrate: ``"mi"`` or ``"distraction"``.
    protocol : str or None
        Built-in protocol name or JSON file; None picks the task's protocol whose markers occur.
    train : str
        Fine-tuning mode: ``"heads"`` (default), ``"last-stage"`` or ``"all"``. With the tens of
        trials of a calibration session, training more than the head overfits: on EEGMMIDB S001
        (45 trials) both deeper modes scored below the head alone.
    folds : int
        Cross-validation folds for the reported scores (0 skips cross-validation).
    seed : int
        Seeds the folds, the early-stopping split and the network initialisation.
    max_epochs, patience, lr, batch_size
        Fine-tuner settings (see :class:`SambaClassifier`).
    min_trials_per_class, min_channels : int
        Refuse sessions below these (see :mod:`calibration.epochs`).
    allow_drop_channels, montage_file, device
        Electrode placement options of ``montages.resolve_montage``.
    mains : float or None
        Mains frequency (Hz) for the notch, overriding the base checkpoint's; stored in the
        subject checkpoint so the live pipeline notches the same frequency.
    baselines : bool
        Also score CSP + LDA and TS + LR.
    """

    task: str = "mi"
    protocol: str | None = None
    train: str = DEFAULT_TRAIN_MODE
    folds: int = 5
    seed: int = 0
    max_epochs: int = 40
    patience: int = 8
    lr: float | None = None
    batch_size: int = 16
    min_trials_per_class: int = MIN_TRIALS_PER_CLASS
    min_channels: int = MIN_EEG_CHANNELS
    allow_drop_channels: bool = False
    montage_file: str | None = None
    device: str | None = None
    mains: float | None = None
    baselines: bool = True

    def __post_init__(self) -> None:
        if self.train not in TRAIN_MODES:
            raise CalibrationError(f"train must be one of {TRAIN_MODES}, got {self.train!r}")
        if self.folds == 1 or self.folds < 0:
            raise CalibrationError(f"folds must be 0 (no cross-validation) or at least 2, got {self.folds}")
        if self.min_trials_per_class < max(2, self.folds):
            raise CalibrationError(
                f"min_trials_per_class ({self.min_trials_per_class}) must be at least the number of folds "
                f"({self.folds}) and 2: every test fold needs a trial of every class"
            )


def _preprocessing(base: LoadedCheckpoint | None, config: CalibrationConfig, notes: list[str]) -> PreprocessConfig:
    if base is not None and base.metadata.preprocessing:
        pre = PreprocessConfig.from_dict(base.metadata.preprocessing)
    else:
        pre = PreprocessConfig()
        notes.append("the base checkpoint records no preprocessing: the default PreprocessConfig was used")
    if config.mains is not None:
        pre = dataclasses.replace(pre, notch=float(config.mains) if config.mains > 0 else None)
    rate = base.config.sample_rate if base is not None else SambaConfig().sample_rate
    if abs(pre.target_rate - rate) > 1e-6:
        raise CalibrationError(
            f"the base checkpoint's preprocessing resamples to {pre.target_rate} Hz but its network runs at {rate} Hz; "
            "the checkpoint is inconsistent: export it again"
        )
    return pre


def _protocol(config: CalibrationConfig, recordings: list[Recording]) -> Protocol:
    markers = [(r.path.name, m.description) for r in recordings for m in r.markers]
    if not markers:
        names = ", ".join(r.path.name for r in recordings)
        raise CalibrationError(
            f"{names} carries no markers: calibration needs the cue/block events as annotations or "
            "stim-channel codes (FIF/EDF/BDF/GDF), or as a marker stream (XDF)"
        )
    if config.protocol is None:
        return select_protocol(config.task, markers)
    protocol = get_protocol(config.protocol)
    if protocol.task != config.task:
        raise CalibrationError(f"protocol {protocol.name!r} calibrates the {protocol.task!r} head, not {config.task!r}")
    return protocol


def samba_estimator(base_path: str | Path | None, epochs: EpochSet, task: str, config: CalibrationConfig,
                    progress: bool = False, init_config: SambaConfig | None = None) -> SambaClassifier:
    """The SAMBA fine-tuner for these epochs, configured from ``config``."""
    return SambaClassifier(
        base_checkpoint=None if base_path is None else str(base_path), task=task, coords=epochs.coords,
        decision_start=epochs.decision_start, class_names=epochs.classes, train=config.train,
        max_epochs=config.max_epochs, patience=config.patience, lr=config.lr, batch_size=config.batch_size,
        init_config=init_config, random_state=config.seed, progress=progress,
    )


def _describe(base: LoadedCheckpoint | None, base_checkpoint, recordings: list[Recording], final: SambaClassifier,
              epochs: EpochSet, protocol: Protocol, config: CalibrationConfig, folds: np.ndarray, scores: dict,
              timings: dict) -> tuple:
    """The records that go into the checkpoint's provenance and the report (JSON-shaped)."""
    base_info = None
    if base is not None:
        base_info = {"path": str(Path(base_checkpoint)), "sha256": file_sha256(base_checkpoint),
                     "model_version": base.metadata.model_version, "provenance": base.metadata.provenance}
    session_info = [
        {"path": str(r.path), "sha256": r.sha256, "sample_rate": r.sample_rate, "duration_s": round(r.duration_s, 3),
         "n_markers": len(r.markers)} for r in recordings
    ]
    fine_tuner = {k: v for k, v in final.get_params().items() if k not in ("coords", "init_config", "progress")}
    fine_tuner["lr"] = fine_tuner["lr"] or DEFAULT_LR[config.train]
    # JSON-shaped (lists, not tuples), so a report reads back equal to what was written.
    fine_tuner["class_names"] = list(fine_tuner["class_names"])
    fine_tuner["probe_l2"] = list(fine_tuner["probe_l2"])
    final_fit = {
        "history": [dataclasses.asdict(r) for r in final.history_], "best_epoch": final.best_epoch_,
        "best_phase": final.best_phase_, "probe_l2": final.probe_l2_, "probe_path": final.probe_path_,
        "n_train": final.n_train_, "n_early_stopping": final.n_val_, "head_replaced": final.head_replaced_,
        "seconds": timings["final_fit_s"],
    }
    decoding = {
        "task": config.task, "classes": list(epochs.classes), "hop": final.model_.config.hop,
        "context_s": protocol.window[0] - protocol.tmin, "decision_window_s": list(protocol.window),
        "aggregation": "per-token probabilities; an epoch's decision is the softmax of its mean token logits "
                       "over the decision window",
    }
    provenance = {
        "kind": "subject-calibration", "base_checkpoint": base_info, "sessions": session_info,
        "channels": list(epochs.labels), "protocol": protocol.to_dict(), "task": config.task,
        "counts": epochs.counts, "train": config.train, "fine_tuner": fine_tuner, "decoding": decoding,
        "folds": {"n": config.folds, "seed": config.seed, "assignment": folds.tolist()},
        "scores": {name: {"balanced_accuracy": s["balanced_accuracy"], "std": s["std"], "fold_scores": s["fold_scores"]}
                   for name, s in scores.items()},
        "config": dataclasses.asdict(config),
    }
    return base_info, session_info, fine_tuner, final_fit, provenance


def calibrate(
    sessions: Sequence[str | Path], base_checkpoint: str | Path | None, out: str | Path,
    config: CalibrationConfig = CalibrationConfig(), report_dir: str | Path | None = None, progress: bool = True,
    init_config: SambaConfig | None = None,
) -> CalibrationReport:
    """Calibrate the ``config.task`` head on a session; write the subject checkpoint and report.

    Parameters
    ----------
    sessions : paths of the session's files (one montage; each file is its own stream)
    base_checkpoint : starting checkpoint; None starts from a random network (``init_config``), for comparisons
    out : subject checkpoint to write
    report_dir : folder for ``report.json`` and the PNG plots (default: ``<out without suffix>_report``)

    Raises
    ------
    CalibrationError, RecordingError, EpochingError, ProtocolError, CheckpointError, MontageError
        Each with a message that says what was wrong and how to fix it.
    """
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    notes: list[str] = []
    out = Path(out)
    report_dir = Path(report_dir) if report_dir is not None else out.with_name(out.stem + "_report")
    if not sessions:
        raise CalibrationError("no session files given")
    base = load_checkpoint(base_checkpoint) if base_checkpoint is not None else None
    if base is None:
        notes.append("no base checkpoint: SAMBA was fine-tuned from a random initialisation")
    pre = _preprocessing(base, config, notes)

    recordings = [read_recording(p) for p in sessions]
    notes += [n for r in recordings for n in r.notes]
    try:
        protocol = _protocol(config, recordings)
    except ProtocolError as exc:
        raise CalibrationError(str(exc)) from exc
    epochs = build_epochs(
        recordings, protocol, pre, min_trials_per_class=config.min_trials_per_class, min_channels=config.min_channels,
        allow_drop=config.allow_drop_channels, montage_file=config.montage_file, device=config.device,
    )
    if epochs.dropped:
        notes.append(f"{epochs.dropped} epoch(s) ran past the start or end of a recording, across a gap in it, or "
                     "overlapped a BAD annotation and were left out")
    timings["load_and_epoch_s"] = time.perf_counter() - t_start

    folds = np.zeros(len(epochs), dtype=np.int64)
    scores: dict[str, dict] = {}
    if config.folds:
        try:
            folds = make_folds(epochs.y, epochs.groups, config.folds, config.seed)
        except ValueError as exc:
            raise CalibrationError(str(exc)) from exc
        estimators = {"samba": samba_estimator(base_checkpoint, epochs, config.task, config, False, init_config)}
        if config.baselines:
            estimators.update(baseline_estimators(config.task, epochs.decision_start, epochs.sample_rate))
        t0 = time.perf_counter()
        results = cross_validate(estimators, epochs.x, epochs.y, folds, epochs.groups, epochs.classes, progress)
        scores = {name: r.to_dict() for name, r in results.items()}
        timings["cross_validation_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    final = samba_estimator(base_checkpoint, epochs, config.task, config, progress, init_config)
    final.fit(epochs.x, epochs.y, groups=epochs.groups)
    timings["final_fit_s"] = time.perf_counter() - t0
    if final.head_replaced_:
        old = base.config.head_classes.get(config.task) if base is not None else SambaConfig().head_classes.get(config.task)
        notes.append(f"the {config.task!r} head was replaced: base classes {old}, calibrated classes {epochs.classes}")

    base_info, session_info, fine_tuner, final_fit, provenance = _describe(
        base, base_checkpoint, recordings, final, epochs, protocol, config, folds, scores, timings)
    metadata = CheckpointMetadata(
        sample_rate=final.model_.config.sample_rate, preprocessing=pre.to_dict(),
        classes={k: list(v) for k, v in final.model_.config.head_classes.items()}, provenance=provenance,
    )
    save_checkpoint(out, final.model_, metadata)
    timings["total_s"] = time.perf_counter() - t_start

    report = CalibrationReport(
        sessions=session_info, task=config.task, protocol=protocol.to_dict(), classes=list(epochs.classes),
        counts=epochs.counts, channels=list(epochs.labels), sample_rate=epochs.sample_rate, preprocessing=pre.to_dict(),
        base_checkpoint=None if base_info is None else {k: base_info[k] for k in ("path", "sha256")},
        train=config.train, fine_tuner=fine_tuner, folds=config.folds, seed=config.seed,
        fold_assignment=folds.tolist(), scores=scores, final_fit=final_fit, checkpoint=str(out), timings=timings,
        notes=notes,
    )
    report.save(report_dir)
    return report


def set_cpu_threads(n: int | None) -> None:
    """Limit torch's intra-op threads (calibration runs beside the live app on small machines)."""
    if n:
        torch.set_num_threads(int(n))
