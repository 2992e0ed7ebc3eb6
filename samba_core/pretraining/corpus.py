"""Pretraining corpus: a JSON spec of recordings, turned once into a prepared corpus folder.

A **corpus spec** is a small JSON file naming what to train on::

    {
      "eegbci": {"subjects": "all-available", "runs": [1, 2, 3], "path": "../shared/data",
                 "notch": 60},
      "files": ["night1.fif", {"path": "cap32.edf", "unit": "uV", "subject": "P07",
                               "device": "<profile>", "montage_file": "cap32.elc"}],
      "exclude_subjects": ["S004"],
      "preprocessing": {"bandpass": [0.5, 45.0]},
      "quality": {"max_abs_uv": 1000, "max_bad_fraction": 0.05}
    }

``eegbci`` (a dict or a list of dicts) reads PhysioNet EEGMMIDB in the layout of
``mne.datasets.eegbci``; ``"all-available"`` takes every subject folder present, a list
of numbers asks for those (``mne`` downloads missing ones). ``files`` lists recordings in
any format MNE reads. Relative paths are relative to the spec file. ``notch`` overrides
the mains frequency per source (EEGMMIDB was recorded on 60 Hz mains); ``preprocessing``
overrides fields of :class:`~samba_core.preprocessing.PreprocessConfig` for all sources.
``quality`` sets the gate below.

Subjects that a data folder's ``README.md`` reserves for evaluation (its section
"Reserved for evaluation") are never used: asking for one by number is an error, and
``"all-available"`` skips them.

**Preparing** reads each recording with MNE, places its channels with
:func:`montages.resolve_montage` (channels that cannot be placed are dropped), runs the
live pipeline's causal preprocessing (:func:`~samba_core.preprocessing.preprocess_offline`)
and writes one ``(channels, time)`` float16 µV array per recording plus ``corpus.json``
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
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..preprocessing import PreprocessConfig, preprocess_offline

CORPUS_FORMAT = "samba-pretrain-corpus"
CORPUS_VERSION = 1
EEGBCI_SUBDIR = Path("MNE-eegbci-data", "files", "eegmmidb", "1.0.0")
_RESERVED_HEADING = re.compile(r"^#+\s*reserved for evaluation\s*$", re.IGNORECASE | re.MULTILINE)


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
    """One recording to prepare. ``unit``: signal unit when MNE does not know it (MNE data is in V)."""

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
def reserved_subjects(data_folder: str | Path) -> set[str]:
    """Subjects (``"S007"``) that ``<data_folder>/README.md`` reserves for evaluation.

    Reads the section headed "Reserved for evaluation" up to the next heading and
    collects every ``S`` + three digits in it. No README or no such section: none.
    """
    readme = Path(data_folder) / "README.md"
    if not readme.is_file():
        return set()
    text = readme.read_text(encoding="utf-8", errors="replace")
    match = _RESERVED_HEADING.search(text)
    if match is None:
        return set()
    rest = text[match.end():]
    end = re.search(r"^#+\s", rest, re.MULTILINE)
    section = rest[: end.start()] if end else rest
    return {f"S{int(n):03d}" for n in re.findall(r"\bS(\d{3})\b", section)}


def _subject_id(subject: int | str) -> str:
    text = str(subject).strip().upper().lstrip("S")
    if not text.isdigit():
        raise CorpusError(f"eegbci subject {subject!r} is not a subject number (1..109 or 'S001')")
    return f"S{int(text):03d}"


def eegbci_sources(entry: dict[str, Any], base: Path, exclude: set[str]) -> tuple[list[SourceFile], list[str]]:
    """Source files of one ``eegbci`` spec entry and the subjects skipped as reserved or excluded."""
    unknown = set(entry) - {"subjects", "runs", "path", "notch"}
    if unknown:
        raise CorpusError(f"unknown eegbci keys {sorted(unknown)}; use subjects, runs, path, notch")
    if "path" not in entry:
        raise CorpusError('an eegbci entry needs "path": the folder that holds MNE-eegbci-data')
    folder = (base / entry["path"]).resolve()
    runs = [int(r) for r in entry.get("runs", range(1, 15))]
    if not runs or any(not 1 <= r <= 14 for r in runs):
        raise CorpusError(f"eegbci runs must be numbers 1..14, got {runs}")
    reserved = reserved_subjects(folder)
    subjects = entry.get("subjects", "all-available")
    skipped: list[str] = []
    if subjects == "all-available":
        present = sorted(p.name for p in (folder / EEGBCI_SUBDIR).glob("S[0-9][0-9][0-9]") if p.is_dir())
        chosen = [s for s in present if s not in reserved and s not in exclude]
        skipped = [s for s in present if s in reserved or s in exclude]
        if not chosen:
            raise CorpusError(
                f"no usable eegbci subject under {folder / EEGBCI_SUBDIR} (present: {present}, reserved: "
                f"{sorted(reserved)}, excluded: {sorted(exclude)}); check the path"
            )
    else:
        if isinstance(subjects, (str, int)):
            subjects = [subjects]
        chosen = [_subject_id(s) for s in subjects]
        bad = sorted(set(chosen) & reserved)
        if bad:
            raise CorpusError(
                f"subjects {bad} are reserved for evaluation by {folder / 'README.md'}: never train on them; "
                "remove them from the spec"
            )
        skipped = [s for s in chosen if s in exclude]
        chosen = [s for s in chosen if s not in exclude]
    notch = entry.get("notch")
    out = []
    for subject in chosen:
        for run in runs:
            path = folder / EEGBCI_SUBDIR / subject / f"{subject}R{run:02d}.edf"
            if not path.is_file():
                _download_eegbci(int(subject[1:]), runs, folder)
            out.append(SourceFile(path, f"{subject}R{run:02d}", subject, "eegbci", run, None, notch))
    return out, skipped


def _download_eegbci(subject: int, runs: list[int], folder: Path) -> None:
    """Fetch a missing subject with MNE (needs internet), into the same layout."""
    from mne.datasets import eegbci

    try:
        eegbci.load_data(subject, runs, path=str(folder), update_path=False)
    except Exception as exc:  # no network, server down, ...
        raise CorpusError(
            f"eegbci subject S{subject:03d} is not under {folder} and could not be downloaded ({exc}); "
            "put the files there or remove the subject from the spec"
        ) from exc


def load_spec(path: str | Path) -> tuple[list[SourceFile], PreprocessConfig, QualityGate, dict[str, Any]]:
    """Read a corpus spec. Returns the source files, the preprocessing, the quality gate and notes for the manifest."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusError(f"cannot read corpus spec {path}: {exc}") from exc
    if not isinstance(spec, dict):
        raise CorpusError(f"corpus spec {path} must hold a JSON object with 'eegbci' and/or 'files'")
    unknown = set(spec) - {"eegbci", "files", "exclude_subjects", "preprocessing", "quality"}
    if unknown:
        raise CorpusError(
            f"unknown corpus spec keys {sorted(unknown)}; use eegbci, files, exclude_subjects, preprocessing, quality"
        )
    base = path.resolve().parent
    exclude = {str(s) for s in spec.get("exclude_subjects", [])}
    exclude |= {_subject_id(s) for s in exclude if re.fullmatch(r"[Ss]?\d{1,3}", s)}
    sources: list[SourceFile] = []
    skipped: list[str] = []
    entries = spec.get("eegbci", [])
    for entry in [entries] if isinstance(entries, dict) else entries:
        found, skip = eegbci_sources(entry, base, exclude)
        sources += found
        skipped += skip
    for item in spec.get("files", []):
        sources.append(_file_source(item, base, exclude))
    sources = [s for s in sources if s is not None]
    if not sources:
        raise CorpusError(f"corpus spec {path} names no recording; add 'eegbci' or 'files'")
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
def _read_raw(path: Path):
    import mne

    if path.suffix.lower() in (".edf", ".bdf"):
        # latin1: some EDF+ annotation channels carry non-UTF-8 padding bytes (EEGMMIDB runs 1, 2).
        reader = mne.io.read_raw_edf if path.suffix.lower() == ".edf" else mne.io.read_raw_bdf
        return reader(path, preload=True, encoding="latin1", verbose="error")
    return mne.io.read_raw(path, preload=True, verbose="error")


def prepare_recording(source: SourceFile, config: PreprocessConfig) -> tuple[np.ndarray, dict[str, Any]]:
    """Read, place and preprocess one recording: (signal (channels, time) float16 µV, manifest entry)."""
    from montages import resolve_montage

    raw = _read_raw(source.path)
    resolution = resolve_montage(
        raw.ch_names, raw.get_channel_types(), device=source.device, montage_file=source.montage_file,
        allow_drop=True,
    )
    keep = np.flatnonzero(resolution.mask)
    if source.notch is not None:
        config = replace(config, notch=float(source.notch))
    # MNE holds data in volts unless the spec says the file lies about its unit.
    signal = preprocess_offline(raw.get_data(picks=keep), raw.info["sfreq"], config, unit=source.unit or "V")
    rate = config.target_rate
    events = []
    offset = raw.first_time if raw.annotations.orig_time is not None else 0.0
    for ann in raw.annotations:
        onset = int(round((ann["onset"] - offset) * rate))
        if 0 <= onset < signal.shape[1]:
            events.append([onset, int(round(ann["duration"] * rate)), str(ann["description"])])
    entry = {
        "name": source.name, "subject": source.subject, "source": source.source, "run": source.run,
        "source_path": str(source.path), "source_bytes": source.path.stat().st_size,
        "input_rate": float(raw.info["sfreq"]), "notch": config.notch,
        "labels": [raw.ch_names[i] for i in keep], "coords": resolution.coords[keep].tolist(),
        "dropped_channels": [raw.ch_names[i] for i in np.flatnonzero(~resolution.mask)],
        "n_channels": int(len(keep)), "n_samples": int(signal.shape[1]), "events": events,
        "file": f"{source.name}.npy",
    }
    return np.clip(signal, -60000, 60000).astype(np.float16), entry


def prepare_corpus(spec_path: str | Path, out_dir: str | Path, log=print) -> Corpus:
    """Prepare every recording of a spec into ``out_dir`` (reusing recordings prepared before)."""
    sources, config, quality, notes = load_spec(spec_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    previous = {}
    if (out / "corpus.json").is_file():
        old = json.loads((out / "corpus.json").read_text())
        if old.get("preprocessing") == config.to_dict() and old.get("quality") == asdict(quality):
            previous = {e["name"]: e for e in old.get("recordings", [])}
    entries, rejected = [], []
    for i, source in enumerate(sources):
        old = previous.get(source.name)
        if (
            old is not None and old["source_path"] == str(source.path) and (out / old["file"]).is_file()
            and old["source_bytes"] == source.path.stat().st_size
        ):
            entries.append(old)
            continue
        signal, entry = prepare_recording(source, config)
        bad = quality.bad_fraction(signal, config.target_rate)
        if bad > quality.max_bad_fraction:
            reason = (f"{bad:.0%} of its seconds exceed {quality.max_abs_uv:g} uV after preprocessing "
                      "(saturated or corrupted samples)")
            rejected.append({"name": source.name, "source_path": str(source.path), "reason": reason})
            log(f"rejected {i + 1}/{len(sources)} {source.name}: {reason}")
            continue
        np.save(out / entry["file"], signal)
        entries.append(entry)
        log(f"prepared {i + 1}/{len(sources)} {source.name}: {entry['n_channels']} channels, "
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
