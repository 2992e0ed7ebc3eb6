"""Pretraining corpus: a JSON spec of recordings, turned once into a prepared corpus folder.

A **corpus spec** is a small JSON file naming what to train on::

    {
      "eegbci": {"subjects": "all-available", "runs": [1, 2, 3], "path": "../shared/data",
                 "notch": 60},
      "datasets": [{"dataset": "eegmat", "path": "../shared/data", "notch": 50},
                   {"dataset": "muse", "path": "../shared/data"}],
      "files": ["night1.fif", {"path": "cap32.edf", "unit": "uV", "subject": "P07",
                               "device": "<profile>", "montage_file": "cap32.elc"}],
      "exclude_subjects": ["S004"],
      "preprocessing": {"bandpass": [0.5, 45.0]},
      "quality": {"max_abs_uv": 1000, "max_bad_fraction": 0.05}
    }

``eegbci`` (a dict or a list of dicts) reads PhysioNet EEGMMIDB in the layout of
``mne.datasets.eegbci``; ``"all-available"`` takes every subject present with the runs
it has, a list of numbers asks for those (``mne`` downloads missing runs). ``datasets``
entries do the same for any layout of :mod:`samba_core.recordings.datasets`
(``eegmmidb``, ``eegmat``, ``muse``; ``runs`` = EEGMMIDB runs, EEGMAT file numbers or Muse
sessions). ``files`` lists recordings in any format
:func:`~samba_core.recordings.read_recording` reads. Relative paths are relative to the spec file. ``notch`` overrides
the mains frequency per source (EEGMMIDB was recorded on 60 Hz mains); ``preprocessing``
overrides fields of :class:`~samba_core.preprocessing.PreprocessConfig` for all sources.
``quality`` sets the gate below.

Subjects that a data folder's ``README.md`` reserves for evaluation (its section
"Reserved for evaluation", read by :func:`samba_core.recordings.reserved_subjects`) are
never used: asking for one by number is an error, and ``"all-available"`` skips them.

**Preparing** reads each recording with :func:`~samba_core.recordings.read_recording`
(µV, positions the file carries), places its channels with
:func:`montages.resolve_montage` (channels that cannot be placed are dropped), runs the
live pipeline's causal preprocessing (:func:`~samba_core.preprocessing.preprocess_offline`)
and writes one ``(channels, time)`` float16 µV array per recording (per segment when the
recording was interrupted: a gap is never filtered across) plus ``corpus.json``
(positions, labels, events, provenance). Training reads only that folder, so it needs
neither MNE nor the raw files: a prepared corpus can be copied to a GPU machine as is.

A **quality gate** rejects recordings that are mostly not EEG: when more than
``max_bad_fraction`` of its one-second windows exceed ``max_abs_uv`` after preprocessing
(amplifier saturation, corrupted samples: a flat-out 32 mV in every channel is no brain
signal), the recording is listed under ``rejected`` in ``corpus.json`` with the reason and
left out. Scalp EEG, blinks included, stays far below 1000 µV.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..preprocessing import PreprocessConfig, preprocess_offline
from ..recordings import (
    RecordingError, ReservedSubjectError, discover, read_recording, subject_number, training_subjects,
)
from ..recordings.datasets import DATASETS, eegmmidb_files

CORPUS_FORMAT = "samba-pretrain-corpus"
CORPUS_VERSION = 1
#: Shortest segment of a recording worth preparing (s).
MIN_SEGMENT_S = 2.0


class CorpusError(ValueError):
    """The corpus spec or a prepared corpus is unusable; the message says how to fix it."""


@dataclass(frozen=True)
class QualityGate:
    """max_abs_uv: a one-second window whose largest |sample| exceeds this (µV, preprocessed) is bad;
    max_bad_fraction: recordings with a larger fraction of bad windows are rejected."""

    max_abs_uv: float = 1000.0
    max_bad_fraction: float = 0.05

    def bad_fraction(self, signal: np.ndarray, rate: float) -> float:
        """Fraction of one-second windows of ``signal`` (channels, time) µV with a sample beyond the limit."""
        win = max(1, int(rate))
        n = max(1, signal.shape[1] // win)
        peaks = np.abs(signal[:, : n * win]).reshape(signal.shape[0], n, win).max(axis=(0, 2))
        return float((peaks > self.max_abs_uv).mean())


@dataclass(frozen=True)
class SourceFile:
    """One recording to prepare. ``unit``: overrides the recording's signal unit (see ``read_recording``)."""

    path: Path
    name: str
    subject: str
    source: str
    run: int | None = None
    unit: str | None = None
    notch: float | None = None
    device: str | None = None
    montage_file: str | None = None


@dataclass
class Recording:
    """A prepared recording. signal: (channels, time) µV at the corpus rate (float16 memory map)."""

    name: str
    subject: str
    signal: np.ndarray
    coords: np.ndarray  # (channels, 3) metres, head frame
    labels: list[str]
    events: list[tuple[int, int, str]]  # (onset sample, duration samples, description)
    run: int | None = None

    @property
    def n_channels(self) -> int:
        return self.signal.shape[0]

    @property
    def n_samples(self) -> int:
        return self.signal.shape[1]


@dataclass
class Corpus:
    """A prepared corpus: recordings at one rate, preprocessed with one configuration."""

    root: Path
    sample_rate: float
    preprocessing: dict[str, Any]
    recordings: list[Recording]
    manifest: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Counts for logs and checkpoint provenance."""
        total = sum(r.n_samples for r in self.recordings)
        return {
            "recordings": len(self.recordings),
            "subjects": sorted({r.subject for r in self.recordings}),
            "hours": round(total / self.sample_rate / 3600.0, 4),
            "channels": sorted({r.n_channels for r in self.recordings}),
            "sample_rate": self.sample_rate,
        }


# ----------------------------------------------------------------------------- spec
def _subject_id(subject: int | str) -> str:
    try:
        return f"S{subject_number(subject):03d}"
    except ValueError as exc:
        raise CorpusError(f"subject {subject!r} is not a subject number (e.g. 7 or 'S007')") from exc


def dataset_sources(entry: dict[str, Any], base: Path, exclude: set[str],
                    dataset: str | None = None) -> tuple[list[SourceFile], list[str]]:
    """Source files of one dataset entry (``eegbci`` or ``datasets``) and the subjects skipped as reserved or excluded."""
    dataset = dataset or entry.get("dataset")
    allowed = {"subjects", "runs", "path", "notch"} | ({"dataset"} if "dataset" in entry else set())
    unknown = set(entry) - allowed
    if unknown:
        raise CorpusError(f"unknown {dataset or 'dataset'} keys {sorted(unknown)}; use {', '.join(sorted(allowed))}")
    if dataset not in DATASETS:
        raise CorpusError(f"a dataset entry needs \"dataset\": one of {sorted(DATASETS)}, got {dataset!r}")
    if "path" not in entry:
        raise CorpusError(f'a {dataset} entry needs "path": the data folder that holds it')
    folder = (base / entry["path"]).resolve()
    runs = tuple(int(r) for r in entry["runs"]) if "runs" in entry else None
    if dataset == "eegmmidb" and (runs == () or any(not 1 <= r <= 14 for r in runs or ())):
        raise CorpusError(f"eegbci runs must be numbers 1..14, got {list(runs)}")
    subjects = entry.get("subjects", "all-available")
    requested = None if subjects == "all-available" else [subjects] if isinstance(subjects, (str, int)) else subjects
    try:
        chosen = training_subjects(folder, dataset, requested=requested)
    except ReservedSubjectError as exc:
        raise CorpusError(f"{exc}; remove them from the spec") from exc
    except ValueError as exc:
        raise CorpusError(f"{dataset} subjects must be numbers or 'all-available': {exc}") from exc
    skipped = [s.name for s in chosen if s.name in exclude or s.key in exclude]
    chosen = [s for s in chosen if s.name not in skipped]
    if requested is None:
        skipped += [s.name for s in discover(folder, (dataset,)) if s.reserved]
        if not chosen:
            raise CorpusError(f"no usable {dataset} subject under {folder} (skipped: {skipped}); check the path")
    out = []
    for subject in chosen:
        if dataset == "eegmmidb" and requested is not None:
            try:
                paths = eegmmidb_files(folder, subject.subject, runs or tuple(range(1, 15)), download=True)
            except FileNotFoundError as exc:
                raise CorpusError(str(exc)) from exc
            files = [(p, r) for p, r in zip(paths, runs or range(1, 15), strict=True)]
        else:
            files = [(f.path, f.run) for f in subject.files if runs is None or f.run in runs]
            if requested is not None and not files:
                raise CorpusError(f"{dataset} subject {subject.name} has no file{f' of runs {list(runs)}' if runs else ''} "
                                  f"under {folder}; put the files there or remove the subject from the spec")
        for path, run in files:
            name = path.stem if dataset != "muse" else f"{subject.name}-{path.parent.parent.parent.name}-{run}"
            out.append(SourceFile(path, name, subject.name, dataset if dataset != "eegmmidb" else "eegbci", run,
                                  None, entry.get("notch")))
    return out, skipped


def eegbci_sources(entry: dict[str, Any], base: Path, exclude: set[str]) -> tuple[list[SourceFile], list[str]]:
    """Source files of one ``eegbci`` spec entry (EEGMMIDB, see :func:`dataset_sources`)."""
    return dataset_sources(entry, base, exclude, "eegmmidb")


def load_spec(path: str | Path) -> tuple[list[SourceFile], PreprocessConfig, QualityGate, dict[str, Any]]:
    """Read a corpus spec. Returns the source files, the preprocessing, the quality gate and notes for the manifest."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusError(f"cannot read corpus spec {path}: {exc}") from exc
    if not isinstance(spec, dict):
        raise CorpusError(f"corpus spec {path} must hold a JSON object with 'eegbci' and/or 'files'")
    unknown = set(spec) - {"eegbci", "datasets", "files", "exclude_subjects", "preprocessing", "quality"}
    if unknown:
        raise CorpusError(
            f"unknown corpus spec keys {sorted(unknown)}; use eegbci, datasets, files, exclude_subjects, "
            "preprocessing, quality"
        )
    base = path.resolve().parent
    exclude = {str(s) for s in spec.get("exclude_subjects", [])}
    exclude |= {_subject_id(s) for s in exclude if s.upper().lstrip("S").isdigit()}
    sources: list[SourceFile] = []
    skipped: list[str] = []
    entries = spec.get("eegbci", [])
    for entry in [entries] if isinstance(entries, dict) else entries:
        found, skip = eegbci_sources(entry, base, exclude)
        sources += found
        skipped += skip
    for entry in spec.get("datasets", []):
        found, skip = dataset_sources(entry, base, exclude)
        sources += found
        skipped += skip
    for item in spec.get("files", []):
        sources.append(_file_source(item, base, exclude))
    sources = [s for s in sources if s is not None]
    if not sources:
        raise CorpusError(f"corpus spec {path} names no recording; add 'eegbci', 'datasets' or 'files'")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise CorpusError(f"two recordings share a name in {path}: give files distinct names ('name' key)")
    try:
        preprocessing = PreprocessConfig.from_dict(spec.get("preprocessing", {}))
        quality = QualityGate(**spec.get("quality", {}))
    except (TypeError, ValueError) as exc:
        raise CorpusError(f"bad 'preprocessing' or 'quality' in {path}: {exc}") from exc
    notes = {"spec": str(path), "skipped_subjects": sorted(set(skipped)), "quality": asdict(quality)}
    return sources, preprocessing, quality, notes


def _file_source(item: str | dict[str, Any], base: Path, exclude: set[str]) -> SourceFile | None:
    item = {"path": item} if isinstance(item, str) else dict(item)
    unknown = set(item) - {"path", "name", "subject", "unit", "notch", "device", "montage_file"}
    if unknown or "path" not in item:
        raise CorpusError(f"file entry {item} needs 'path' and may have name, subject, unit, notch, device, montage_file")
    path = (base / item["path"]).resolve()
    if not path.is_file():
        raise CorpusError(f"recording {path} listed in the corpus spec does not exist")
    subject = str(item.get("subject", path.stem))
    if subject in exclude:
        return None
    montage_file = item.get("montage_file")
    return SourceFile(
        path, str(item.get("name", path.stem)), subject, "file", None, item.get("unit"), item.get("notch"),
        item.get("device"), str((base / montage_file).resolve()) if montage_file else None,
    )


# ------------------------------------------------------------------------ prepare
def prepare_recording(source: SourceFile, config: PreprocessConfig) -> list[tuple[np.ndarray, dict[str, Any]]]:
    """Read, place and preprocess one recording: a (signal (channels, time) float16 µV, manifest entry) per segment.

    Raises
    ------
    CorpusError
        The file cannot be read (the reader's message).
    """
    from montages import resolve_montage

    try:
        rec = read_recording(source.path, unit=source.unit)
    except RecordingError as exc:
        raise CorpusError(str(exc)) from exc
    resolution = resolve_montage(
        rec.labels, rec.types, stream_channels=rec.channel_metadata(), device=source.device,
        montage_file=source.montage_file, allow_drop=True,
    )
    keep = np.flatnonzero(resolution.mask)
    if source.notch is not None:
        config = replace(config, notch=float(source.notch))
    rate = config.target_rate
    segments = [(a, b) for a, b in rec.segments if b - a >= MIN_SEGMENT_S * rec.sample_rate]
    out = []
    for k, (a, b) in enumerate(segments):
        signal = preprocess_offline(rec.data[keep, a:b], rec.sample_rate, config, unit=rec.unit)
        events = [[int(round((m.sample - a) / rec.sample_rate * rate)), int(round(m.duration * rate)), m.description]
                  for m in rec.markers if a <= m.sample < b]
        name = source.name if len(segments) == 1 else f"{source.name}.{k + 1}"
        entry = {
            "name": name, "source_name": source.name, "subject": source.subject, "source": source.source,
            "run": source.run, "source_path": str(source.path), "source_bytes": source.path.stat().st_size,
            "segment": [int(a), int(b)], "input_rate": rec.sample_rate, "notch": config.notch,
            "labels": [rec.labels[i] for i in keep], "coords": resolution.coords[keep].tolist(),
            "dropped_channels": [rec.labels[i] for i in np.flatnonzero(~resolution.mask)],
            "n_channels": int(len(keep)), "n_samples": int(signal.shape[1]), "events": events,
            "file": f"{name}.npy",
        }
        out.append((np.clip(signal, -60000, 60000).astype(np.float16), entry))
    return out


def _reusable(previous: dict[str, list[dict]], source: SourceFile, out: Path) -> list[dict] | None:
    """The entries prepared before from this very file, if all their arrays are still there."""
    old = previous.get(source.name)
    if old and all(
        e["source_path"] == str(source.path) and e["source_bytes"] == source.path.stat().st_size
        and (out / e["file"]).is_file() for e in old
    ):
        return old
    return None


def prepare_corpus(spec_path: str | Path, out_dir: str | Path, log=print) -> Corpus:
    """Prepare every recording of a spec into ``out_dir`` (reusing recordings prepared before)."""
    sources, config, quality, notes = load_spec(spec_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    previous: dict[str, list[dict]] = {}
    if (out / "corpus.json").is_file():
        old = json.loads((out / "corpus.json").read_text())
        if old.get("preprocessing") == config.to_dict() and old.get("quality") == asdict(quality):
            for e in old.get("recordings", []):
                previous.setdefault(e.get("source_name", e["name"]), []).append(e)
    entries, rejected = [], []
    for i, source in enumerate(sources):
        reused = _reusable(previous, source, out)
        if reused is not None:
            entries += reused
            continue
        for signal, entry in prepare_recording(source, config):
            bad = quality.bad_fraction(signal, config.target_rate)
            if bad > quality.max_bad_fraction:
                reason = (f"{bad:.0%} of its seconds exceed {quality.max_abs_uv:g} uV after preprocessing "
                          "(saturated or corrupted samples)")
                rejected.append({"name": entry["name"], "source_path": str(source.path), "reason": reason})
                log(f"rejected {i + 1}/{len(sources)} {entry['name']}: {reason}")
                continue
            np.save(out / entry["file"], signal)
            entries.append(entry)
            log(f"prepared {i + 1}/{len(sources)} {entry['name']}: {entry['n_channels']} channels, "
                f"{entry['n_samples'] / config.target_rate:.1f} s")
    manifest = {
        "format": CORPUS_FORMAT, "version": CORPUS_VERSION, "sample_rate": config.target_rate,
        "preprocessing": config.to_dict(), **notes, "rejected": rejected, "recordings": entries,
    }
    (out / "corpus.json").write_text(json.dumps(manifest, indent=1))
    return load_corpus(out)


def load_corpus(root: str | Path) -> Corpus:
    """Open a prepared corpus folder (arrays are memory-mapped, not read)."""
    root = Path(root)
    path = root / "corpus.json"
    if not path.is_file():
        raise CorpusError(f"{root} is not a prepared corpus (no corpus.json); run `samba-pretrain prepare` first")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != CORPUS_FORMAT or manifest.get("version") != CORPUS_VERSION:
        raise CorpusError(f"{path} is not a version-{CORPUS_VERSION} samba pretraining corpus; prepare it again")
    recordings = []
    for e in manifest["recordings"]:
        signal = np.load(root / e["file"], mmap_mode="r")
        if signal.shape != (e["n_channels"], e["n_samples"]):
            raise CorpusError(f"{root / e['file']} has shape {signal.shape}, corpus.json says "
                              f"{(e['n_channels'], e['n_samples'])}; prepare the corpus again")
        recordings.append(Recording(
            e["name"], e["subject"], signal, np.asarray(e["coords"], dtype=np.float32), list(e["labels"]),
            [(int(a), int(b), str(c)) for a, b, c in e["events"]], e.get("run"),
        ))
    if not recordings:
        raise CorpusError(f"prepared corpus {root} holds no recording")
    return Corpus(root, float(manifest["sample_rate"]), dict(manifest["preprocessing"]), recordings, manifest)
