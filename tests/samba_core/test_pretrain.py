"""samba-pretrain end to end on a tiny corpus of real files: prepare, train, resume, DDP, MI head."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import mne
import numpy as np
import pytest
import torch

from samba_core import Samba, SambaConfig, load_checkpoint
from samba_core.masking import MaskingConfig
from samba_core.preprocessing import PreprocessConfig
from samba_core.pretraining.batches import CropSampler
from samba_core.pretraining.config import CropConfig, PretrainConfig
from samba_core.pretraining.objective import _full_length_crop_losses, _per_crop_losses, crop_losses
from samba_core.pretraining.run_folder import EXPORT_FILE
from samba_core.pretraining.trainer import Pretrainer
from samba_core.streaming import StreamingSession
from samba_core.pretraining.cli import main
from samba_core.pretraining.corpus import CorpusError, eegbci_sources, load_corpus
from samba_core.recordings import reserved_subjects
from samba_core.recordings.datasets import EEGMMIDB_DIR

TINY_MODEL = {
    "spatial_channels": 8, "spatial_hidden": 16, "fourier_features": 4, "dims": [16, 24, 32],
    "encoder_depths": [1, 1, 1], "decoder_depths": [1, 1], "factors": [2, 4], "d_state": 8, "headdim": 8,
    "chunk_size": 32,
}
TRAIN = ["--batch-size", "2", "--context-s", "6", "--lr", "3e-3", "--warmup-steps", "2", "--val-every", "4",
         "--save-every", "4", "--no-progress", "--val-fraction", "0.2"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The tiny model's tensors are too small to share: with the cores busy elsewhere, extra
    intra-op threads only wait on each other (seen: 8x slower). Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _eeg(n_channels: int, seconds: float, rate: float, seed: int) -> np.ndarray:
    """EEG-like volts: 1/f-ish noise plus a 10 Hz rhythm whose amplitude varies over the scalp."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    noise = np.cumsum(rng.normal(size=(n_channels, n)), axis=1)
    noise -= noise.mean(axis=1, keepdims=True)
    alpha = np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6, (n_channels, 1))) * rng.uniform(5, 20, (n_channels, 1))
    return (0.5 * noise + alpha + rng.normal(scale=3, size=(n_channels, n))) * 1e-6


def _write_fif(path: Path, labels: list[str], types: list[str], rate: float, seconds: float, seed: int,
               scale: float = 1.0, cues: bool = True) -> Path:
    data = _eeg(len(labels), seconds, rate, seed) * scale
    raw = mne.io.RawArray(data, mne.create_info(labels, rate, types), verbose="error")
    if cues:
        onsets = np.arange(2.0, seconds - 5.0, 5.0)
        raw.set_annotations(mne.Annotations(onsets, 4.0, ["T1" if i % 2 else "T2" for i in range(len(onsets))]))
    raw.save(path, verbose="error")
    return path


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """Three FIF files: 10 channels at 128 Hz, 6 EEG + stim + unknown at 200 Hz, and a saturated one."""
    root = tmp_path_factory.mktemp("pretrain")
    ten = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "Cz", "P3", "P4", "Oz"]
    _write_fif(root / "cap10_raw.fif", ten, ["eeg"] * 10, 128.0, 40.0, 1)
    six = ["FC1", "FC2", "CP1", "CP2", "Pz", "Fz", "STI 014", "XYZ"]
    _write_fif(root / "cap6_raw.fif", six, ["eeg"] * 6 + ["stim", "eeg"], 200.0, 30.0, 2)
    _write_fif(root / "broken_raw.fif", ten, ["eeg"] * 10, 128.0, 20.0, 3, scale=1e3, cues=False)
    spec = {"files": ["cap10_raw.fif", {"path": "cap6_raw.fif", "subject": "P2"}, "broken_raw.fif"]}
    (root / "spec.json").write_text(json.dumps(spec))
    (root / "tiny.json").write_text(json.dumps(TINY_MODEL))
    assert main(["prepare", "--spec", str(root / "spec.json"), "--out", str(root / "corpus")]) == 0
    return root


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_prepare_places_mixed_montages_and_rejects_saturated_data(corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir / "corpus")
    assert [r.name for r in corpus.recordings] == ["cap10_raw", "cap6_raw"]
    assert [r.n_channels for r in corpus.recordings] == [10, 6]  # stim and unplaceable label dropped
    assert corpus.recordings[1].labels == ["FC1", "FC2", "CP1", "CP2", "Pz", "Fz"]
    assert corpus.recordings[0].n_samples == 40 * 256 and corpus.sample_rate == 256.0
    radii = np.linalg.norm(np.concatenate([r.coords for r in corpus.recordings]), axis=1)
    assert np.all((radii > 0.05) & (radii < 0.2))  # metres, on a head
    std = np.asarray(corpus.recordings[0].signal, dtype=np.float32)[:, 512:].std()
    assert 1.0 < std < 200.0  # microvolts after the live preprocessing
    assert corpus.recordings[0].events[0][2] == "T2" and corpus.recordings[0].events[0][0] == 2 * 256
    assert [r["name"] for r in corpus.manifest["rejected"]] == ["broken_raw"]
    assert PreprocessConfig.from_dict(corpus.preprocessing) == PreprocessConfig()


def test_reserved_subjects_are_never_used(tmp_path: Path) -> None:
    base = tmp_path / EEGMMIDB_DIR
    for subject in ("S001", "S002"):
        (base / subject).mkdir(parents=True)
        (base / subject / f"{subject}R04.edf").write_bytes(b"")
    (tmp_path / "README.md").write_text("# Data\n\n## Reserved for evaluation\nS002 (all runs).\n\n## Other\nS001\n")
    assert reserved_subjects(tmp_path).of("eegmmidb") == {2}
    sources, skipped = eegbci_sources({"subjects": "all-available", "runs": [4], "path": str(tmp_path)}, tmp_path, set())
    assert [s.name for s in sources] == ["S001R04"] and skipped == ["S002"]
    with pytest.raises(CorpusError, match="reserved for evaluation"):
        eegbci_sources({"subjects": [2], "runs": [4], "path": str(tmp_path)}, tmp_path, set())


def test_global_batch_is_the_same_for_one_and_two_ranks(corpus_dir: Path) -> None:
    crops = CropConfig(context_s=8, batch_size=4, masking=MaskingConfig.ours())  # 40 % hidden
    sampler = CropSampler(load_corpus(corpus_dir / "corpus"), crops, seed=3)
    for step in (0, 7):
        whole = sampler.batch(step)
        halves = [sampler.batch(step, rank, 2) for rank in (0, 1)]
        for name in ("x", "coords", "channel_mask", "time_mask", "valid"):
            interleaved = torch.stack([getattr(halves[i % 2], name)[i // 2] for i in range(4)])
            assert torch.equal(interleaved, getattr(whole, name)), name
    widths = {w for s in range(20) for w in sampler.batch(s).widths}
    assert len(widths) > 2  # montages (and channel subsets) mix within and across batches
    b = sampler.batch(0)
    assert b.x.shape[1] == max(b.widths) and int(b.channel_mask.sum()) == sum(b.widths)
    assert not (b.time_mask & ~b.valid).any() and 0.3 < b.time_mask.float().mean() < 0.5


def test_full_length_batches_are_scored_like_crop_by_crop(corpus_dir: Path) -> None:
    sampler = CropSampler(load_corpus(corpus_dir / "corpus"), CropConfig(context_s=8, batch_size=6), seed=1)
    batch = sampler.batch(2)
    assert len(set(batch.widths)) > 1 and all(n == batch.x.size(-1) for n in batch.lengths)
    gen = torch.Generator().manual_seed(0)
    recon = (torch.randn(batch.x.shape, generator=gen) * 15) * batch.channel_mask.unsqueeze(-1)
    for masking in (MaskingConfig(spectral_weight=0.0), MaskingConfig(), MaskingConfig.paper()):
        whole = _full_length_crop_losses(recon, batch, masking, 20.0)
        each = _per_crop_losses(recon, batch, masking, 20.0)
        for a, b in zip(whole, each):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # A crop shorter than the batch is scored on its own length, by the crop-by-crop path.
    short = sampler.assemble(sampler.global_crops(2)[:1] + [replace(sampler.global_crops(2)[1], length=1000)],
                             max(batch.widths), sampler.context)
    recon = torch.randn(short.x.shape, generator=gen) * short.channel_mask.unsqueeze(-1)
    for a, b in zip(crop_losses(recon, short, MaskingConfig(), 20.0), _per_crop_losses(recon, short, MaskingConfig(), 20.0)):
        assert torch.equal(a, b)


def test_fixed_width_batches_train_on_the_same_losses(corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir / "corpus")
    config = CropConfig(context_s=6, batch_size=3)
    widest, fixed = CropSampler(corpus, config, seed=4), CropSampler(corpus, config, seed=4, width=16)
    model = Samba(SambaConfig.from_dict(TINY_MODEL)).eval()
    for step in range(3):
        a, b = widest.batch(step), fixed.batch(step)
        assert b.x.shape[1] == 16 and a.widths == b.widths
        with torch.no_grad():
            la = crop_losses(model(a.x, a.coords, a.channel_mask, time_mask=a.time_mask).reconstruction, a,
                             MaskingConfig(), 20.0)
            lb = crop_losses(model(b.x, b.coords, b.channel_mask, time_mask=b.time_mask).reconstruction, b,
                             MaskingConfig(), 20.0)
        for x, y in zip(la, lb):
            torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="narrower"):
        CropSampler(corpus, config, width=4)


def test_cuda_graphs_requested_without_a_gpu_train_eagerly_and_say_so(corpus_dir: Path, tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: test_pretrain_graph_gpu.py covers graphed runs")
    said: list[str] = []
    config = PretrainConfig(steps=1, cuda_graphs=True, precision="fp32", crops=CropConfig(context_s=6, batch_size=2))
    trainer = Pretrainer(load_corpus(corpus_dir / "corpus"), SambaConfig.from_dict(TINY_MODEL), config, tmp_path,
                         progress=False, log=said.append)
    assert not trainer.graphs and any("training eagerly" in line for line in said)
    assert trainer.run()["steps_done"] == 1


def test_pretrain_learns_resumes_identically_and_writes_a_loadable_checkpoint(corpus_dir: Path) -> None:
    common = ["train", "--corpus", str(corpus_dir / "corpus"), "--model-config", str(corpus_dir / "tiny.json"),
              "--steps", "8", *TRAIN]
    full, split = corpus_dir / "full", corpus_dir / "split"
    assert main([*common, "--out", str(full)]) == 0
    rows = _rows(full / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    val = _rows(full / "val.csv")
    assert [int(r["step"]) for r in val] == [0, 4, 8] and float(val[-1]["val_loss"]) < float(val[0]["val_loss"])

    assert main([*common, "--out", str(split), "--stop-after", "5"]) == 0
    assert len(_rows(split / "metrics.csv")) == 5
    state = torch.load(split / "state.pt", weights_only=False)  # as written before the fidelity options existed
    for key in ("scheme", "visible_blocks", "loss", "region"):
        del state["config"]["crops"]["masking"][key]
    for key in ("spatial", "virtual_sites", "saie_hidden", "differential_stages", "differential_form", "decoder_direction"):
        del state["model_config"][key]
    torch.save(state, split / "state.pt")
    assert main([*common, "--out", str(split), "--resume"]) == 0  # an older state is ours, and resumes
    assert _rows(split / "metrics.csv") == [
        {**r, "samples_per_s": s["samples_per_s"], "elapsed_s": s["elapsed_s"]}
        for r, s in zip(rows, _rows(split / "metrics.csv"))
    ]
    a = torch.load(full / "state.pt", weights_only=False)["model"]
    b = torch.load(split / "state.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)

    loaded = load_checkpoint(full / EXPORT_FILE, expect_heads=["mi", "distraction"], expect_sample_rate=256.0)
    meta = loaded.metadata
    assert PreprocessConfig.from_dict(meta.preprocessing) == PreprocessConfig()
    assert meta.classes == {"mi": ["left", "right"], "distraction": ["attentive", "distracted"]}
    assert meta.provenance["pretraining"]["steps"] == 8
    assert meta.provenance["pretraining"]["masking"] == dataclasses.asdict(MaskingConfig())  # the objective it had
    assert "causal: forecasting" in meta.provenance["pretraining"]["objective"]
    assert meta.provenance["corpus"]["recording_names"] == ["cap10_raw", "cap6_raw"]
    assert meta.provenance["corpus"]["rejected"][0]["name"] == "broken_raw"
    assert "untrained" in meta.provenance["heads"]["distraction"]
    assert torch.equal(loaded.model.stem.weight, a["stem.weight"])


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "not a readable training state .*cut short"),
    (lambda p: p.write_bytes(b""), "not a readable training state"),
    (lambda p: p.write_text("hello"), "not a readable training state"),
    (lambda p: torch.save({k: v for k, v in torch.load(p, weights_only=False).items() if k != "step"}, p),
     "not a complete training state .missing step"),
    (lambda p: torch.save([1, 2], p), "not a complete training state"),
])
def test_a_damaged_training_state_is_a_clear_error(corpus_dir: Path, tmp_path: Path, capsys, damage, message) -> None:
    common = ["train", "--corpus", str(corpus_dir / "corpus"), "--model-config", str(corpus_dir / "tiny.json"),
              "--steps", "4", *TRAIN, "--out", str(tmp_path / "run")]
    assert main([*common, "--stop-after", "1"]) == 0
    damage(tmp_path / "run" / "state.pt")
    assert main([*common, "--resume"]) == 2
    err = capsys.readouterr().err
    assert re.search(f"samba-pretrain: error: .*state.pt is {message}", err) and "Traceback" not in err, err


def test_resuming_with_other_settings_names_the_ones_that_differ(corpus_dir: Path, tmp_path: Path, capsys) -> None:
    common = ["train", "--corpus", str(corpus_dir / "corpus"), "--model-config", str(corpus_dir / "tiny.json"),
              "--steps", "4", *TRAIN, "--out", str(tmp_path / "run")]
    assert main([*common, "--stop-after", "1", "--objective", "ours"]) == 0
    assert main([*common, "--resume", "--objective", "ours", "--lr", "1e-3", "--mask-ratio", "0.3"]) == 2
    err = capsys.readouterr().err
    assert "lr: 0.003 stored, 0.001 given" in err and "crops.masking.ratio: 0.4 stored, 0.3 given" in err, err
    assert "seed" not in err  # only what differs
    assert main([*common, "--resume", "--objective", "ours", "--spatial", "virtual-sites"]) == 2
    assert "another model configuration (spatial: 'cdse' stored, 'virtual-sites' given)" in capsys.readouterr().err


def test_paper_objective_and_options_train_and_export_a_streamable_encoder(corpus_dir: Path) -> None:
    """The paper's TSRM, loss, SAIE, paired differential bottleneck and bidirectional decoder, via the CLI."""
    out = corpus_dir / "paper"
    assert main(["train", "--corpus", str(corpus_dir / "corpus"), "--model-config", str(corpus_dir / "tiny.json"),
                 "--steps", "4", *TRAIN, "--out", str(out), "--paper-objective", "--spatial", "virtual-sites",
                 "--differential-form", "paper", "--differential-stages", "bottleneck",
                 "--decoder-direction", "bidirectional"]) == 0
    assert all(np.isfinite(float(r["loss"])) for r in _rows(out / "metrics.csv"))
    saved = torch.load(out / "state.pt", weights_only=False)
    assert saved["config"]["crops"]["masking"]["scheme"] == "visible-blocks"
    loaded = load_checkpoint(out / "samba-base.samba")
    assert loaded.config.decoder_direction == "bidirectional" and loaded.config.spatial == "virtual-sites"
    pretraining = loaded.metadata.provenance["pretraining"]
    assert pretraining["masking"] == dataclasses.asdict(MaskingConfig.paper())
    assert "bidirectional pretraining decoder" in pretraining["objective"]
    coords = np.array([[0.05, 0.0, 0.07], [-0.05, 0.0, 0.07], [0.0, 0.06, 0.07]], dtype=np.float32)
    StreamingSession(loaded.model, coords, backend="torch").push(np.zeros((3, 40), np.float32))
    with pytest.raises(ValueError, match="cannot stream"):
        StreamingSession(loaded.model, coords, backend="torch", decoder=True)


def test_two_process_ddp_follows_the_single_process_losses(corpus_dir: Path) -> None:
    common = ["train", "--corpus", str(corpus_dir / "corpus"), "--model-config", str(corpus_dir / "tiny.json"),
              "--steps", "3", *TRAIN, "--val-every", "100", "--precision", "fp32"]
    assert main([*common, "--out", str(corpus_dir / "one")]) == 0
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
         "samba_core.pretraining.cli", *common, "--out", str(corpus_dir / "two")],
        env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, two = _rows(corpus_dir / "one" / "metrics.csv"), _rows(corpus_dir / "two" / "metrics.csv")
    assert len(two) == 3  # only rank 0 wrote
    np.testing.assert_allclose([float(r["loss"]) for r in two], [float(r["loss"]) for r in one], rtol=1e-4)
    assert json.loads((corpus_dir / "two" / "summary.json").read_text())["world_size"] == 2


def test_runs_trained_together_follow_their_solo_trajectories_exactly(corpus_dir: Path, tmp_path: Path) -> None:
    """train-many: two different runs in one process end bit-identical to each trained alone."""
    base = ["--corpus", str(corpus_dir / "corpus"), "--model-config", str(corpus_dir / "tiny.json"), "--steps", "5",
            *TRAIN, "--precision", "fp32"]
    variants = [["--seed", "1"], ["--seed", "2", "--paper-objective", "--spatial", "virtual-sites"]]
    for i, extra in enumerate(variants):
        assert main(["train", *base, *extra, "--out", str(tmp_path / f"solo{i}")]) == 0
    runs = tmp_path / "runs.txt"
    runs.write_text("# two runs\n\n" + "\n".join(
        " ".join([*base, *extra, "--out", str(tmp_path / f"together{i}")]) for i, extra in enumerate(variants)) + "\n")
    assert main(["train-many", "--runs", str(runs)]) == 0
    for i in range(2):
        solo = torch.load(tmp_path / f"solo{i}" / "state.pt", weights_only=False)
        together = torch.load(tmp_path / f"together{i}" / "state.pt", weights_only=False)
        assert solo["step"] == together["step"] == 5
        assert all(torch.equal(solo["model"][k], together["model"][k]) for k in solo["model"])
        drop = ("samples_per_s", "elapsed_s")
        assert [{k: v for k, v in r.items() if k not in drop} for r in _rows(tmp_path / f"solo{i}" / "metrics.csv")] \
            == [{k: v for k, v in r.items() if k not in drop} for r in _rows(tmp_path / f"together{i}" / "metrics.csv")]
        assert (tmp_path / f"together{i}" / EXPORT_FILE).is_file()
    solo0 = torch.load(tmp_path / "solo0" / "state.pt", weights_only=False)["model"]
    assert not all(torch.equal(solo0[k], solo["model"][k]) for k in solo0 if k in solo["model"])  # runs differ


@pytest.mark.parametrize("fail_at", [0, 2])
def test_a_failing_run_is_reported_and_the_others_finish(corpus_dir: Path, tmp_path: Path, fail_at: int) -> None:
    from samba_core.pretraining.loop import RunsFailed, train_together

    config = PretrainConfig(steps=4, precision="fp32", val_every=100, save_every=100,
                            crops=CropConfig(context_s=6, batch_size=2, val_fraction=0.2))
    corpus = load_corpus(corpus_dir / "corpus")
    trainers = [Pretrainer(corpus, SambaConfig.from_dict(TINY_MODEL), replace(config, seed=s), tmp_path / f"run{s}",
                           progress=False, log=lambda *a: None) for s in range(3)]
    launch = trainers[1].launch

    def broken(batch):
        if trainers[1].step >= fail_at:
            raise RuntimeError("device fell over")
        return launch(batch)

    trainers[1].launch = broken
    with pytest.raises(RunsFailed, match="1 of 3 runs failed.*run1.*device fell over") as failed:
        train_together(trainers)
    summaries = failed.value.summaries
    assert summaries[1] is None and [s["steps_done"] for s in (summaries[0], summaries[2])] == [4, 4]
    assert (tmp_path / "run0" / EXPORT_FILE).is_file() and not (tmp_path / "run1" / EXPORT_FILE).exists()
    assert torch.load(tmp_path / "run1" / "state.pt", weights_only=False)["step"] == fail_at  # kept, resumable


@pytest.mark.parametrize(("content", "message"), [
    (None, "no runs file"),
    ("# nothing\n\n", "names no runs"),
    ("# a comment\n--corpus {c} --steps many --out o", "runs.txt:2: not a valid 'train' command line"),
    ("--corpus {c} --out o\n\n--corpus {c} --out o", "runs.txt:3: --out o is also line 1's"),
    ("--corpus {c} --out o --val-every 0", "runs.txt:1: val_every must be >= 1"),
    ("--corpus {c} --out o --stop-after -1", "runs.txt:1: stop_after must be >= 1"),
    ("--corpus {c} --out o --model-config nowhere.json", "runs.txt:1: --model-config nowhere.json"),
    ("--corpus {c} --out o --model-config {bad}", "runs.txt:1: --model-config"),
    ("--corpus nowhere --out o", "nowhere is not a prepared corpus"),
    ("--corpus {c} --out 'unclosed", "runs.txt:1: No closing quotation"),
])
def test_bad_runs_files_are_refused_by_name(corpus_dir: Path, tmp_path: Path, capsys, content, message) -> None:
    runs = tmp_path / "runs.txt"
    (tmp_path / "bad.json").write_text("{not json")
    if content is not None:
        runs.write_text(content.format(c=corpus_dir / "corpus", bad=tmp_path / "bad.json"))
    assert main(["train-many", "--runs", str(runs)]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_line_leaves_every_run_folder_untouched(corpus_dir: Path, tmp_path: Path) -> None:
    """Every line is checked and every run built before any folder is written."""
    line = (f"train --corpus {corpus_dir / 'corpus'} --model-config {corpus_dir / 'tiny.json'} --steps 2 "
            f"{' '.join(TRAIN)} --out {tmp_path / 'a'}  # 'train' and comments are allowed")
    runs = tmp_path / "runs.txt"
    runs.write_text(line + "\n")
    assert main(["train-many", "--runs", str(runs)]) == 0
    before = (tmp_path / "a" / "metrics.csv").read_text()
    runs.write_text(line + f"\n--corpus {tmp_path / 'nowhere'} --out {tmp_path / 'b'}\n")
    assert main(["train-many", "--runs", str(runs)]) == 2
    assert (tmp_path / "a" / "metrics.csv").read_text() == before and not (tmp_path / "b").exists()


def test_ctrl_c_stops_between_steps_and_every_run_resumes_exactly(corpus_dir: Path, tmp_path: Path) -> None:
    """SIGINT during train-many: the steps in flight finish, every run is saved at a step boundary,
    and --resume reaches the weights of an uninterrupted run."""
    import signal
    import threading

    from samba_core.pretraining.loop import train_together

    config = PretrainConfig(steps=6, precision="fp32", val_every=100, save_every=100,
                            crops=CropConfig(context_s=6, batch_size=2, val_fraction=0.2))
    corpus = load_corpus(corpus_dir / "corpus")

    def trainers(folder: str, resume: bool = False) -> list[Pretrainer]:
        return [Pretrainer(corpus, SambaConfig.from_dict(TINY_MODEL), replace(config, seed=s), tmp_path / folder / str(s),
                           resume=resume, progress=False, log=lambda *a: None) for s in range(2)]

    train_together(trainers("whole"))
    interrupted = trainers("cut")
    launch = interrupted[1].launch

    def interrupt_mid_round(batch):  # SIGINT while run 1 is inside its third step, run 0's already done
        if interrupted[1].step == 2:
            threading.Timer(0.0, lambda: signal.raise_signal(signal.SIGINT)).start()
            threading.Event().wait(0.2)
        return launch(batch)

    interrupted[1].launch = interrupt_mid_round
    with pytest.raises(KeyboardInterrupt):
        train_together(interrupted)
    for s in range(2):
        state = torch.load(tmp_path / "cut" / str(s) / "state.pt", weights_only=False)
        adam_steps = {int(v["step"]) for v in state["optimizer"]["state"].values()}
        assert state["step"] == 3 and adam_steps == {3}  # saved at the boundary, not half-way
    train_together(trainers("cut", resume=True))
    for s in range(2):
        whole = torch.load(tmp_path / "whole" / str(s) / "state.pt", weights_only=False)["model"]
        cut = torch.load(tmp_path / "cut" / str(s) / "state.pt", weights_only=False)["model"]
        assert all(torch.equal(whole[k], cut[k]) for k in whole)


def test_mi_head_points_to_the_cross_subject_calibration(capsys) -> None:
    assert main(["mi-head", "--checkpoint", "base.samba", "--corpus", "corpus", "--out", "x.samba"]) == 2
    assert "samba-calibrate cross-subject" in capsys.readouterr().err


def test_real_eegbci_run_prepares_with_its_64_channels(shared_data: Path, tmp_path: Path) -> None:
    spec = {"eegbci": {"subjects": "all-available", "runs": [4], "path": str(shared_data), "notch": 60}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    assert main(["prepare", "--spec", str(tmp_path / "spec.json"), "--out", str(tmp_path / "corpus")]) == 0
    corpus = load_corpus(tmp_path / "corpus")
    rec = corpus.recordings[0]
    assert rec.name.endswith("R04") and rec.n_channels == 64 and rec.run == 4
    assert {"T0", "T1", "T2"} <= {e[2] for e in rec.events}
    assert corpus.manifest["recordings"][0]["notch"] == 60
