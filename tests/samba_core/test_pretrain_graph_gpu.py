"""CUDA-graph pretraining steps against eager ones (GPU only; skipped elsewhere).

The corpus is built in memory (no file reader needed on a bare GPU machine): two recordings
of EEG-like signals, 10 and 6 channels, so batches mix widths and channel subsets and are
padded to the fixed width that a captured graph needs.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.mamba_stub import register_selective_scan_stub

register_selective_scan_stub()

from dataclasses import replace  # noqa: E402

from samba_core.config import SambaConfig  # noqa: E402
from samba_core.masking import MaskingConfig  # noqa: E402
from samba_core.preprocessing import PreprocessConfig  # noqa: E402
from samba_core.pretraining.config import CropConfig, PretrainConfig  # noqa: E402
from samba_core.pretraining.trainer import Pretrainer  # noqa: E402
from samba_core.pretraining.corpus import Corpus, Recording  # noqa: E402

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")]

TINY = SambaConfig(spatial_channels=8, spatial_hidden=16, fourier_features=4, dims=(16, 24, 32),
                   encoder_depths=(1, 1, 1), decoder_depths=(1, 1), factors=(2, 4), d_state=8, headdim=8, chunk_size=32)
RATE = 256.0


def _recording(name: str, n_channels: int, seconds: float, seed: int) -> Recording:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    alpha = np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6, (n_channels, 1))) * rng.uniform(5, 20, (n_channels, 1))
    signal = (alpha + np.cumsum(rng.normal(size=(n_channels, n)), axis=1) * 0.3 + rng.normal(scale=3, size=(n_channels, n)))
    signal -= signal.mean(axis=0, keepdims=True)
    v = rng.normal(size=(n_channels, 3))
    v[:, 2] = np.abs(v[:, 2])
    coords = (0.09 * v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return Recording(name, "P1", signal.astype(np.float16), coords, [f"E{i}" for i in range(n_channels)], [])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    recordings = [_recording("cap10", 10, 40.0, 1), _recording("cap6", 6, 30.0, 2)]
    preprocessing = PreprocessConfig().to_dict()
    return Corpus(tmp_path_factory.mktemp("corpus"), RATE, preprocessing, recordings,
                  {"sample_rate": RATE, "preprocessing": preprocessing, "recordings": [], "rejected": []})


def _trainer(corpus: Corpus, out: Path, precision: str, graphs: bool, stop_after: int | None = None,
             resume: bool = False, model: SambaConfig = TINY, masking: MaskingConfig = MaskingConfig(),
             steps: int = 8, **options) -> Pretrainer:
    config = PretrainConfig(steps=steps, lr=3e-3, warmup_steps=2, precision=precision, cuda_graphs=graphs,
                            val_every=4, save_every=4, stop_after=stop_after,
                            crops=CropConfig(context_s=6, batch_size=2, val_fraction=0.2, masking=masking), **options)
    return Pretrainer(corpus, model, config, out, resume=resume, progress=False, log=lambda *a: None)


def _run(*args, **kwargs) -> Pretrainer:
    trainer = _trainer(*args, **kwargs)
    trainer.run()
    return trainer


def _column(path: Path, name: str) -> list[float]:
    with path.open() as f:
        return [float(r[name]) for r in csv.DictReader(f)]


@pytest.mark.parametrize("precision, rtol", [("fp32", 1e-3), ("bf16", 2e-2)])
def test_graphed_steps_follow_the_eager_trajectory_and_resume_either_way(
    corpus: Corpus, tmp_path: Path, precision: str, rtol: float
) -> None:
    _run(corpus, tmp_path / "eager", precision, graphs=False)
    graphed = _run(corpus, tmp_path / "graphed", precision, graphs=True)
    assert graphed.graphs and graphed._update.replays == 6  # two eager warm-up steps, then replays
    for log, column in (("metrics.csv", "loss"), ("val.csv", "val_loss")):
        eager, graph = (_column(tmp_path / k / log, column) for k in ("eager", "graphed"))
        assert len(graph) == len(eager) > 0 and all(np.isfinite(graph))
        np.testing.assert_allclose(graph, eager, rtol=rtol)
    # A graphed run's saved state resumes eagerly (device-tensor learning rates converted back) ...
    _run(corpus, tmp_path / "mixed", precision, graphs=True, stop_after=4)
    _run(corpus, tmp_path / "mixed", precision, graphs=False, resume=True)
    # ... and an eager run's state resumes graphed.
    _run(corpus, tmp_path / "mixed2", precision, graphs=False, stop_after=4)
    resumed = _run(corpus, tmp_path / "mixed2", precision, graphs=True, resume=True)
    assert resumed._update.replays == 2
    reference = _column(tmp_path / "graphed" / "metrics.csv", "loss")
    for run in ("mixed", "mixed2"):
        np.testing.assert_allclose(_column(tmp_path / run / "metrics.csv", "loss"), reference, rtol=rtol)


def test_paper_options_train_graphed_like_eager(corpus: Corpus, tmp_path: Path) -> None:
    """SAIE, the paired differential bottleneck, the bidirectional decoder and the paper's objective."""
    paper = replace(TINY, spatial="virtual-sites", differential_form="paper", differential_stages=("bottleneck",),
                    decoder_direction="bidirectional")
    eager = _run(corpus, tmp_path / "eager", "fp32", graphs=False, model=paper, masking=MaskingConfig.paper())
    graphed = _run(corpus, tmp_path / "graphed", "fp32", graphs=True, model=paper, masking=MaskingConfig.paper())
    assert graphed.graphs and graphed._update.replays == 6 and not eager.graphs
    losses = [_column(tmp_path / k / "metrics.csv", "loss") for k in ("eager", "graphed")]
    assert all(np.isfinite(losses[1]))
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-3)


def test_compiled_steps_follow_the_eager_trajectory(corpus: Corpus, tmp_path: Path) -> None:
    """torch.compile around the mamba_ssm scan, eager and graphed, against the plain eager run."""
    reference = _column(_run(corpus, tmp_path / "eager", "fp32", graphs=False).out / "metrics.csv", "loss")
    for graphs in (False, True):
        run = _run(corpus, tmp_path / f"compiled{graphs}", "fp32", graphs=graphs, compile=True)
        losses = _column(run.out / "metrics.csv", "loss")
        assert all(np.isfinite(losses))
        np.testing.assert_allclose(losses, reference, rtol=1e-3)


def test_runs_trained_together_on_streams_follow_their_solo_runs(corpus: Corpus, tmp_path: Path) -> None:
    """train-many on one GPU: each run on its own stream, graphed, follows its solo run.

    On the plain-PyTorch scan: the mamba_ssm kernels accumulate with atomics, whose order
    changes with what else runs on the GPU, and such rounding grows over training steps
    (seen: 0.4 % apart after 8 steps, though equal through the first replays).
    """
    from samba_core.pretraining.loop import train_together

    paper = replace(TINY, spatial="virtual-sites", differential_form="paper", differential_stages=("bottleneck",))
    settings = [dict(model=TINY), dict(model=paper), dict(model=TINY, masking=MaskingConfig.paper())]
    solo = [_column(_run(corpus, tmp_path / f"solo{i}", "fp32", graphs=True, use_kernels=False, **kw).out
                    / "metrics.csv", "loss") for i, kw in enumerate(settings)]
    trainers = [_trainer(corpus, tmp_path / f"together{i}", "fp32", graphs=True, use_kernels=False, **kw)
                for i, kw in enumerate(settings)]
    summaries = train_together(trainers)
    assert [s["steps_done"] for s in summaries] == [8, 8, 8]
    assert all(t._update.replays == 6 for t in trainers)
    for i in range(3):
        np.testing.assert_allclose(_column(tmp_path / f"together{i}" / "metrics.csv", "loss"), solo[i], rtol=1e-5)


def test_graphed_steps_under_ddp_follow_the_eager_ddp_trajectory(corpus: Corpus, tmp_path: Path) -> None:
    """A one-rank NCCL group: the captured backward holds DDP's all-reduce hooks (11 eager steps first)."""
    import socket

    import torch.distributed as dist

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    try:
        eager = _run(corpus, tmp_path / "eager", "fp32", graphs=False, steps=16)
        graphed = _run(corpus, tmp_path / "graphed", "fp32", graphs=True, steps=16)
        assert isinstance(graphed.ddp, torch.nn.parallel.DistributedDataParallel)
        assert graphed._update.replays == 16 - 11
    finally:
        dist.destroy_process_group()
    losses = [_column(run.out / "metrics.csv", "loss") for run in (eager, graphed)]
    assert all(np.isfinite(losses[1]))
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-3)
