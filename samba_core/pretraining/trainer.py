"""Self-supervised TSRM pretraining of SAMBA on a prepared corpus, on one device or many (DDP).

Objective: TSRM masked reconstruction (:mod:`~samba_core.pretraining.objective`), each crop's
loss normalised on its own and a batch's loss the mean over crops. Data-parallel ranks each
average their share and DDP averages the gradients, which is then exactly the gradient of the
global batch mean: with the rank-strided crops of :mod:`~samba_core.pretraining.batches`, one
GPU and N GPUs follow the same training trajectory up to floating-point rounding.

Out folder (:mod:`~samba_core.pretraining.run_folder`): ``state.pt`` (what ``resume`` needs),
``metrics.csv`` (per-step loss, lr, gradient norm, throughput), ``val.csv`` (validation
loss on held-out recording tails), ``summary.json``, and the exported model
``samba-base.samba`` (a :func:`~samba_core.checkpoint.save_checkpoint` file). Only rank 0
writes. Launch on several GPUs with ``torchrun --nproc_per_node N $(which samba-pretrain) train ...``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor

from ..config import SambaConfig
from ..mamba2 import Mamba2Mixer
from ..model import Samba
from .batches import Batch, CropSampler
from .config import PretrainConfig, learning_rate, trajectory_settings
from .corpus import Corpus
from .export import export_pretrained
from .graph import GraphedStep, set_capturable, set_learning_rate
from .objective import forward_losses, update_step
from .loop import PendingStep
from .run_folder import EXPORT_FILE, STATE_FILE, RunLogs, capture_rng, restore_rng, save_state


def build_model(model_config: SambaConfig, config: PretrainConfig) -> Samba:
    """The network at its seeded initialisation; heads frozen (pretraining does not train them)."""
    torch.manual_seed(config.seed)
    model = Samba(model_config)
    for p in model.heads.parameters():
        p.requires_grad_(False)
    for m in model.modules():
        if isinstance(m, Mamba2Mixer):
            m.use_kernels = config.use_kernels
    return model


def _optimizer(model: Samba, config: PretrainConfig, fused: bool | None = None) -> torch.optim.Optimizer:
    """AdamW, weight decay on matrices only. ``fused`` (default: on CUDA) selects the fused
    implementation (one kernel for every parameter's update instead of a dozen per tensor group;
    the same update up to rounding); False leaves PyTorch's default (multi-tensor on CUDA)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    rest = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    if fused is None:
        fused = next(model.parameters()).device.type == "cuda"
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95), fused=fused or None)


def _data_parallel(model: Samba, device: torch.device, graphs: bool) -> torch.nn.Module:
    """``model`` under DDP; built on a side stream when its steps will be captured as CUDA graphs,
    as a captured backward requires (its gradient hooks must not be tied to the default stream)."""
    ids = [device.index] if device.type == "cuda" else None
    if not graphs:
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    torch.cuda.current_stream(device).wait_stream(side)
    return ddp


def init_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device). Under torchrun (WORLD_SIZE > 1) joins the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1 and not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    device = torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
    return rank, world, device


class Pretrainer:
    """One pretraining run writing to ``out_dir``; see the module docstring."""

    def __init__(
        self, corpus: Corpus, model_config: SambaConfig, config: PretrainConfig, out_dir: str | Path,
        *, resume: bool = False, progress: bool = True, log=print,
    ) -> None:
        if abs(model_config.sample_rate - corpus.sample_rate) > 1e-6:
            raise ValueError(
                f"the model runs at {model_config.sample_rate} Hz but the corpus was prepared at "
                f"{corpus.sample_rate} Hz; prepare it with preprocessing.target_rate = {model_config.sample_rate}"
            )
        self.rank, self.world, self.device = init_distributed()
        if config.crops.batch_size % self.world:
            raise ValueError(f"batch size {config.crops.batch_size} must be a multiple of the {self.world} ranks")
        self.corpus, self.model_config, self.config = corpus, model_config, config
        self.out = Path(out_dir)
        self.logs = RunLogs(self.out)
        self.log = log if self.rank == 0 else (lambda *a, **k: None)
        self.progress = progress and self.rank == 0
        self.graphs = config.cuda_graphs and self.device.type == "cuda"
        if config.cuda_graphs and not self.graphs:
            self.log("CUDA graphs need a CUDA device: training eagerly")
        # A captured graph needs one batch shape: pad every batch to the corpus's widest montage.
        width = max(r.n_channels for r in corpus.recordings) if self.graphs else None
        self.sampler = CropSampler(corpus, config.crops, config.seed, width=width)
        self.model = build_model(model_config, config).to(self.device)
        self.optimizer = _optimizer(self.model, config)
        self.step = 0
        if resume and (self.out / STATE_FILE).is_file():
            self._load_state()
        elif resume:
            self.log(f"no {STATE_FILE} in {self.out}: starting from scratch")
        # Also converts a resumed state saved in the other mode (device-tensor vs float learning rates).
        set_capturable(self.optimizer, self.graphs, self.device)
        self.ddp = self.model
        if dist.is_initialized():
            self.ddp = _data_parallel(self.model, self.device, self.graphs)
        # Under DDP a captured backward (its all-reduce hooks included) needs 11 eager steps first
        # (PyTorch's CUDA-graph notes: DDP sets up its gradient buckets over the first iterations).
        warmup = 11 if self.ddp is not self.model else 2
        self._update = GraphedStep(self._eager_update, warmup=warmup) if self.graphs else self._eager_update
        if config.compile:  # validation and export keep the plain module
            self.ddp = torch.compile(self.ddp)
        self.autocast = config.precision == "bf16" and self.device.type == "cuda"
        if self.device.type == "cuda":
            torch.set_float32_matmul_precision("high")

    # -- state ------------------------------------------------------------------------
    def _load_state(self) -> None:
        """Resume from ``out/state.pt``. Raises ``ValueError`` naming the file and the problem: unreadable
        (e.g. cut short), incomplete, settings this version cannot read, or other trajectory settings (named)."""
        path = self.out / STATE_FILE
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - torch/pickle raise many kinds on a damaged file
            raise ValueError(f"{path} is not a readable training state ({type(exc).__name__}: {exc}); it may have "
                             "been cut short: resume from an intact copy, or use a new out folder") from exc
        if not isinstance(state, dict):
            raise ValueError(f"{path} is not a complete training state (it holds a {type(state).__name__}): "
                             "use a new out folder")
        missing = sorted({"model", "optimizer", "step", "rng", "config", "model_config"} - set(state))
        if missing:
            raise ValueError(f"{path} is not a complete training state (missing {', '.join(missing)}): "
                             "use a new out folder")
        try:
            model_config = SambaConfig.from_dict(state["model_config"])  # older states: our options
            stored = PretrainConfig.from_dict(state["config"]).to_dict()  # older states: our objective's missing fields
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path} holds settings this version cannot read ({exc}): use a new out folder") from exc
        if model_config != self.model_config:
            raise ValueError(f"{path} was trained with another model configuration "
                             f"({_differences(model_config.to_dict(), self.model_config.to_dict())}); "
                             "use a new out folder or the same --model-config and network flags")
        stored, given = trajectory_settings(stored), trajectory_settings(self.config.to_dict())
        if stored != given:
            raise ValueError(f"{path} was trained with other settings ({_differences(stored, given)}); "
                             "resume with the same ones")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        restore_rng(state["rng"])
        self.log(f"resumed from step {self.step}")

    def save_state(self) -> None:
        if self.rank != 0:
            return
        save_state(self.out, {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step,
            "rng": capture_rng(), "config": self.config.to_dict(), "model_config": self.model_config.to_dict(),
        })

    # -- steps ------------------------------------------------------------------------
    def _forward_losses(self, model, batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
        return forward_losses(model, batch, self.config.crops.masking, self.model_config.input_scale_uv,
                              autocast=self.autocast, graphs=self.graphs)

    def launch(self, batch: Batch) -> PendingStep:
        """Issue one optimiser step on the device and return its outputs unread (the host does not wait)."""
        lr = learning_rate(self.config, self.step)
        set_learning_rate(self.optimizer, lr)
        self.ddp.train()
        return PendingStep(lr, *self._update(batch))

    def complete(self, pending: PendingStep) -> dict[str, float]:
        """Wait for a launched step, advance the step counter and return its global-mean metrics."""
        stats = torch.stack([pending.loss.sum(), pending.mse.sum(), pending.nmse.sum()]).float()
        if self.world > 1:
            dist.all_reduce(stats)
        stats = (stats / self.config.crops.batch_size).tolist()
        self.step += 1
        return {"loss": stats[0], "mse": stats[1], "nmse": stats[2], "lr": pending.lr,
                "grad_norm": float(pending.grad_norm)}

    def _eager_update(self, batch: Batch) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """:func:`update_step` with this run's model, optimiser and settings."""
        return update_step(self.ddp, self.optimizer, batch, self.config.crops.masking, self.model_config.input_scale_uv,
                           self.config.grad_clip, autocast=self.autocast, graphs=self.graphs)

    @torch.no_grad()
    def validate(self) -> dict[str, float] | None:
        """Mean loss over the fixed held-out crops (rank 0; None when the corpus has no tails)."""
        crops = self.sampler.validation_crops()
        if not crops:
            return None
        self.model.eval()
        per_batch = max(1, self.config.crops.batch_size // self.world)
        totals = np.zeros(3)
        width = max(len(c.channels) for c in crops)
        for i in range(0, len(crops), per_batch):
            part = crops[i : i + per_batch]
            batch = self.sampler.assemble(part, width, max(c.length for c in part)).to(self.device)
            totals += np.array([t.sum().item() for t in self._forward_losses(self.model, batch)])
        totals /= len(crops)
        return {"val_loss": totals[0], "val_mse": totals[1], "val_nmse": totals[2]}

    def _log_val(self) -> dict[str, float] | None:
        if self.rank != 0:
            return None
        val = self.validate()
        if val is not None:
            self.logs.append("val.csv", self.step, val)
            self.log(f"step {self.step}: validation loss {val['val_loss']:.4f} (nmse {val['val_nmse']:.3f})")
        return val

    def prepare(self, step: int) -> Batch:
        """This rank's batch of ``step`` on the host (pinned when training on CUDA)."""
        batch = self.sampler.batch(step, self.rank, self.world)
        if self.device.type == "cuda":
            batch = Batch(*(t.pin_memory() for t in (batch.x, batch.coords, batch.channel_mask, batch.time_mask, batch.valid)),
                          batch.lengths, batch.widths)
        return batch

    def begin(self) -> None:
        """Start this invocation: the step-0 validation, the step and time budgets, the progress bar."""
        from tqdm import tqdm

        cfg = self.config
        if self.rank == 0:  # only now: building a run leaves its folder as it was
            self.out.mkdir(parents=True, exist_ok=True)
            self.logs.trim(self.step)
        self.start_step, self.started = self.step, time.perf_counter()
        self.end_step = cfg.steps if cfg.stop_after is None else min(cfg.steps, self.step + cfg.stop_after)
        self.stopped = False
        if self.step == 0:
            self._log_val()
        self._bar = tqdm(total=cfg.steps, initial=self.step, disable=not self.progress, unit="step", dynamic_ncols=True)
        self._last = time.perf_counter()

    @property
    def active(self) -> bool:
        """True while this invocation has steps left and budget to take them."""
        return self.step < self.end_step and not self.stopped

    def record(self, metrics: dict[str, float]) -> None:
        """Log a completed step; validate, save and check the time budget as configured."""
        cfg = self.config
        now = time.perf_counter()
        metrics.update(samples_per_s=cfg.crops.batch_size * self.sampler.context / (now - self._last),
                       elapsed_s=now - self.started)
        if self.rank == 0:
            self.logs.append("metrics.csv", self.step, metrics)
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{metrics['loss']:.4f}", nmse=f"{metrics['nmse']:.3f}")
            if not self.progress and (self.step % cfg.log_every == 0 or self.step == self.end_step):
                self.log(f"step {self.step}/{cfg.steps} loss {metrics['loss']:.4f} nmse {metrics['nmse']:.3f} "
                         f"lr {metrics['lr']:.2e} {metrics['samples_per_s']:.0f} samples/s")
        if self.step % cfg.val_every == 0 or self.step == cfg.steps:
            self._log_val()
        if self.step % cfg.save_every == 0:
            self.save_state()
        self._last = time.perf_counter()  # validation and saving stay out of the throughput
        if cfg.max_minutes is not None and (self._last - self.started) / 60.0 > cfg.max_minutes:
            self.log(f"stopping at step {self.step}: the {cfg.max_minutes} min budget is spent")
            if self.step % cfg.val_every != 0:  # the exported base's validation loss is its own
                self._log_val()
            self.stopped = True

    def end(self) -> dict[str, Any]:
        """Close this invocation: save the state, write the summary and the exported base."""
        self._bar.close()
        self.save_state()
        return self.finish(self.start_step, time.perf_counter() - self.started)

    def run(self) -> dict[str, Any]:
        """Train until ``steps`` (or ``stop_after`` / ``max_minutes``), saving state as configured."""
        from .loop import train_together

        return train_together([self])[0]

    # -- results ------------------------------------------------------------------------
    def finish(self, start_step: int, seconds: float) -> dict[str, Any]:
        """Write summary.json and the exported checkpoint (rank 0); return the summary."""
        from ..ssd import kernels_available

        summary = {
            "out": str(self.out), "steps_done": self.step, "steps": self.config.steps, "steps_this_run": self.step - start_step,
            "seconds_this_run": round(seconds, 2), "world_size": self.world, "device": self._device_name(),
            "precision": "bf16-autocast" if self.autocast else "fp32",
            "mamba_ssm_kernels": bool(self.config.use_kernels and self.device.type == "cuda" and kernels_available()),
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "config": self.config.to_dict(), "model_config": self.model_config.to_dict(),
            "corpus": self.corpus.summary(), "final": self.logs.last_rows() if self.rank == 0 else {},
        }
        if self.rank == 0:
            (self.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
            self.export(self.out / EXPORT_FILE, summary)
        if self.world > 1:
            dist.barrier()
        return summary

    def _device_name(self) -> str:
        return torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"

    def export(self, path: Path, summary: dict[str, Any]) -> Path:
        """Save the network as a SAMBA-Live checkpoint with preprocessing, classes and provenance."""
        model = Samba(self.model_config)
        model.load_state_dict({k: v.detach().cpu() for k, v in self.model.state_dict().items()})
        return export_pretrained(path, model, self.corpus, self.config.crops, self.config.seed, summary)


def pretrain(
    corpus: Corpus, model_config: SambaConfig, config: PretrainConfig, out_dir: str | Path,
    *, resume: bool = False, progress: bool = True, log=print,
) -> dict[str, Any]:
    """Run (or resume) a pretraining; returns the summary that ``summary.json`` holds."""
    return Pretrainer(corpus, model_config, config, out_dir, resume=resume, progress=progress, log=log).run()


def _differences(stored: dict, given: dict, prefix: str = "") -> str:
    """``"key: <stored> stored, <given> given"`` for every (nested) setting that differs, comma-separated."""
    out = []
    for key in sorted(set(stored) | set(given), key=str):
        a, b = stored.get(key, "(none)"), given.get(key, "(none)")
        if isinstance(a, dict) and isinstance(b, dict):
            inner = _differences(a, b, f"{prefix}{key}.")
            out += [inner] if inner else []
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} stored, {b!r} given")
    return ", ".join(out)


__all__ = ["Pretrainer", "build_model", "init_distributed", "pretrain"]
