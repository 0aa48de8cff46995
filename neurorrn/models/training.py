"""Training loop for speech networks: EARSHOT's schedule, checkpoints, resume, DDP.

What EARSHOT does (Magnuson et al. 2020, ``EARShot.py`` at 9bbc247) and how to get it here:

* Adam (beta 0.9/0.999, eps 1e-8) with the Noam warm-up
  ``lr(step) = 0.002 * 4000**0.5 * min(step * 4000**-1.5, step**-0.5)`` (peak 0.002 at step
  4000; ``OptimConfig(kind="adam_noam")``) and global-norm gradient clipping at 1.0.
* Batches of 1000 tokens padded to the batch's longest token.
* ``hidden_Reset=False``: the final state of each batch row seeds the same row of the next batch
  (``TrainConfig.carry_state``).  We take each row's state at its last valid frame (packed
  sequences), as ``dynamic_decode`` does.

Brodbeck et al. (2025) use RMSprop at 1e-3 (``kind="rmsprop"``).

Checkpoints (:func:`save_checkpoint`) hold the model, optimiser, scheduler, AMP scaler, the
trainer's random generator and the global torch RNG states, the current epoch's permutation and
position in it, the carried state, the step, the metrics history, the early-stopping counters
and the config; they are written atomically (temporary file, then rename).  Resuming from one
continues bit-identically on CPU (tested).

The output folder (``out_dir``) is guarded: the first :meth:`Trainer.fit` takes an exclusive lock
on it (``.neurorrn.lock``; a second process training into it fails with a message naming the
holder), refuses to start a fresh run over a folder that holds one (``checkpoint.pt``,
``model.pt`` or ``summary.json``: resume it or choose another folder), and on resume rewrites
``metrics.jsonl`` from the checkpoint's history, so epochs logged after the last checkpoint by a
killed run are not duplicated.  :meth:`Trainer.resume` compares the checkpoint's whole training
configuration (optimiser, loop settings and the experiment's ``run_config``) with this
trainer's and refuses a change unless ``allow_config_change=True``; only the settings in
:data:`RESUME_FREE_KEYS` (when to stop, the device) may change freely.  With
``allow_config_change=True`` the new optimiser settings (learning rate, betas, eps...) take
effect from the next step.

Several GPUs: launch any script that calls :meth:`Trainer.fit` under ``torchrun``, after
``torch.distributed.init_process_group`` (:func:`init_distributed` does it from the torchrun
environment).  Each rank takes every ``world_size``-th token of each global batch, gradients
are averaged by :class:`~torch.nn.parallel.DistributedDataParallel`, rank 0 writes checkpoints
and logs.  On CPU use the ``gloo`` backend (tested with 2 processes).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn

from ..config import ConfigModel
from ..utils._check import check_device, check_option
from ..utils._io import atomic_path, write_text_atomic
from ..utils._lock import FolderLock
from ..utils._logging import logger, progress, use_log_level

CHECKPOINT_FORMAT = "neurorrn-checkpoint"
#: settings that may differ on resume without ``allow_config_change``: when to stop, and where
RESUME_FREE_KEYS = ("max_epochs", "max_steps", "max_time_s", "device", "checkpoint_every")
_CHECKPOINT_KEYS = ("model", "network_config", "optimizer", "scheduler", "step", "epoch", "history")
#: A snapshot over training (``snapshots/epochNNNNN.pt``) holds the weights only.
_SNAPSHOT_KEYS = ("model", "network_config", "step", "epoch")
#: files whose presence means ``out_dir`` holds a run that reached a checkpoint
RUN_FILES = ("checkpoint.pt", "model.pt", "summary.json")
CHECKPOINT_VERSION = 1
OPTIMIZERS = ("adam_noam", "adam", "rmsprop")


class OptimConfig(ConfigModel):
    """Optimiser and learning-rate schedule.

    ``adam_noam`` is EARSHOT's: Adam with the Noam warm-up peaking at ``lr`` after
    ``warmup_steps`` steps.  ``adam`` and ``rmsprop`` use a constant ``lr``.
    """

    kind: Literal["adam_noam", "adam", "rmsprop"] = "adam_noam"
    lr: float = Field(0.002, gt=0)
    warmup_steps: int = Field(4000, ge=1)
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    eps: float = Field(1e-8, gt=0)
    rho: float = Field(0.9, ge=0, lt=1)
    clip_norm: float | None = Field(1.0, gt=0)


class EarlyStoppingConfig(ConfigModel):
    """Stop when ``monitor`` stops improving (or reaches ``stop_value``).

    ``monitor`` names a metric of the per-epoch log (``train_loss``, or one produced by the
    validation function, e.g. ``val_trained_accuracy``).  ``patience`` counts evaluations.
    """

    monitor: str = "train_loss"
    mode: Literal["min", "max"] = "min"
    patience: int | None = Field(None, ge=1)
    min_delta: float = Field(0.0, ge=0)
    stop_value: float | None = None


class TrainConfig(ConfigModel):
    """Loop settings (EARSHOT: batch 1000, state carried, clip 1.0 in :class:`OptimConfig`).

    Training ends on ``max_epochs``, ``max_steps`` or ``early_stopping``: quantities that do not
    depend on how fast the machine is.  ``max_time_s`` is only a safety net: when the wall clock
    reaches it first, the trainer saves its checkpoint (so a later call resumes) and, with
    ``on_time_limit="error"`` (the default), raises :class:`TrainingBudgetError` instead of
    returning a model weaker than the configured schedule would give.  ``on_time_limit="stop"``
    returns the partly trained model; its result then depends on the machine's speed and load
    (time-budgeted benchmarks only, never a cached pipeline stage).
    """

    batch_size: int = Field(1000, ge=1)
    max_epochs: int = Field(2000, ge=1)
    max_steps: int | None = Field(None, ge=1)
    max_time_s: float | None = Field(None, gt=0)
    on_time_limit: Literal["error", "stop"] = "error"
    carry_state: bool = True
    random_state: int = 0
    device: str = "cpu"
    amp: bool = True
    eval_every: int = Field(10, ge=1)
    checkpoint_every: int = Field(50, ge=0)
    #: epochs after which the weights go to ``snapshots/epochNNNNN.pt`` (analyses over training)
    snapshot_epochs: list[int] = []
    early_stopping: EarlyStoppingConfig = EarlyStoppingConfig()


def apply_gradients(loss, model, optimizer, scheduler, scaler, clip_norm=None) -> None:
    """One optimiser step from ``loss``: backward (AMP-scaled), optional global-norm clipping of
    ``model``'s gradients at ``clip_norm``, the step, the scaler update and the scheduler step."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if clip_norm:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()


class TrainingBudgetError(RuntimeError):
    """Training reached ``max_time_s`` before its configured schedule (epochs/steps) ended."""


def _rounded(rec: dict) -> str:
    """``name value`` pairs of an epoch record with 4 significant digits (no step/lr/time noise)."""
    parts = []
    for k, v in rec.items():
        if k in ("epoch", "time_s"):
            continue
        parts.append(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}")
    return ", ".join(parts)


def noam_factor(step: int, warmup_steps: int) -> float:
    """Noam multiplier of the peak learning rate at 1-based ``step`` (1.0 at ``warmup_steps``)."""
    step = max(int(step), 1)
    return warmup_steps**0.5 * min(step * warmup_steps**-1.5, step**-0.5)


def make_optimizer(params, config: OptimConfig):
    """Optimiser and LR scheduler for ``config`` (the scheduler is stepped once per step)."""
    check_option(config.kind, OPTIMIZERS, "optimizer kind")
    if config.kind in ("adam_noam", "adam"):
        opt = torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps)
    else:
        opt = torch.optim.RMSprop(params, lr=config.lr, alpha=config.rho, eps=config.eps)
    if config.kind == "adam_noam":
        w = int(config.warmup_steps)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: noam_factor(s + 1, w))
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    return opt, sched


# ------------------------------------------------------------------------------------------
# distributed helpers
# ------------------------------------------------------------------------------------------
def init_distributed(backend: str | None = None) -> tuple[int, int]:
    """Initialise the default process group from torchrun's environment; return ``(rank, world)``.

    Does nothing (returns ``(0, 1)``) outside torchrun.  ``backend`` defaults to ``nccl`` when
    CUDA is available, else ``gloo``.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) <= 1:
        return 0, 1
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    dist.init_process_group(backend)
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    return dist.get_rank(), dist.get_world_size()


def _dist():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist, dist.get_rank(), dist.get_world_size()
    return None, 0, 1


# ------------------------------------------------------------------------------------------
# checkpoints
# ------------------------------------------------------------------------------------------
def save_checkpoint(path, payload: dict, overwrite: bool = True) -> Path:
    """Write a checkpoint dict atomically with :func:`torch.save`."""
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path, map_location="cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors and plain Python only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at '{path}'")
    try:
        ck = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - a truncated or foreign file fails in many ways
        raise ValueError(f"'{path}' cannot be read as a checkpoint (truncated, corrupt or not written by "
                         f"torch.save): {type(err).__name__}: {str(err)[:200]}") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"'{path}' is not a neurorrn checkpoint (format {ck.get('format') if isinstance(ck, dict) else None!r})")
    if int(ck.get("version", 0)) > CHECKPOINT_VERSION:
        raise ValueError(f"'{path}' has checkpoint version {ck['version']}; this neurorrn reads up to "
                         f"{CHECKPOINT_VERSION}")
    snapshot = bool(ck.get("snapshot"))
    missing = [k for k in (_SNAPSHOT_KEYS if snapshot else _CHECKPOINT_KEYS) if k not in ck]
    if missing:
        what = "weights snapshot" if snapshot else "checkpoint"
        raise ValueError(f"{what} '{path}' lacks {missing}; it cannot "
                         f"{'be read' if snapshot else 'resume a run'}")
    return ck


# ------------------------------------------------------------------------------------------
# the trainer
# ------------------------------------------------------------------------------------------
class Trainer:
    """Train a :class:`~neurorrn.models.networks.SpeechRNN` on isolated tokens.

    Parameters
    ----------
    model : SpeechRNN
    targets : TargetSet
        Target of each word (row per word).
    loss : callable
        ``loss(logits, target, lengths) -> scalar`` (see :func:`~neurorrn.models.losses.make_loss`).
    config : TrainConfig
    optim : OptimConfig
    out_dir : path | None
        Where ``checkpoint.pt``, ``best.pt`` and ``metrics.jsonl`` go (nothing is written when None).
    validate : callable | None
        ``validate(model) -> dict`` of metrics, called every ``config.eval_every`` epochs (rank 0
        computes; the values are broadcast); their keys can be monitored for early stopping.
    run_config : dict | None
        The experiment config stored in checkpoints.

    Attributes
    ----------
    step_ : int
        Optimiser steps taken.
    epoch_ : int
        Completed epochs.
    history_ : list of dict
        One entry per epoch (``epoch``, ``step``, ``train_loss``, ``lr``, ``time_s`` and any
        validation metrics).
    """

    def __init__(self, model, targets, loss: Callable, config: TrainConfig | None = None,
                 optim: OptimConfig | None = None, *, out_dir=None, validate: Callable | None = None,
                 run_config: dict | None = None, verbose=None):
        self.model = model
        self.targets = targets
        self.loss = loss
        self.config = config if config is not None else TrainConfig()
        self.optim_config = optim if optim is not None else OptimConfig()
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.validate = validate
        self.run_config = run_config or {}
        self.verbose = verbose
        self.device = check_device(self.config.device)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())  # torchrun: set by init_distributed
        self.model.to(self.device)
        self.use_amp = bool(self.config.amp and self.device.type == "cuda")
        self.optimizer, self.scheduler = make_optimizer(self.model.parameters(), self.optim_config)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.generator = torch.Generator().manual_seed(int(self.config.random_state))
        self._target_matrix = torch.from_numpy(targets.matrix).to(self.device)
        self.step_ = 0
        self.epoch_ = 0
        self.history_: list[dict] = []
        self._perm: torch.Tensor | None = None
        self._batch_in_epoch = 0
        self._epoch_losses: list[float] = []
        self._carry = None
        self._best: float | None = None
        self._bad_evals = 0
        self._stopped = ""
        self._elapsed = 0.0
        self.stop_reason_ = ""
        self._resumed = False
        self._out_lock: FolderLock | None = None
        dist, self.rank, self.world = _dist()
        self._ddp = None
        if dist is not None and self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self._ddp = DDP(self.model, device_ids=ids)

    # ------------------------------------------------------------------------------------
    @property
    def net(self) -> nn.Module:
        """The module the forward pass goes through (the DDP wrapper under torchrun)."""
        return self._ddp if self._ddp is not None else self.model

    def _word_index(self, data) -> torch.Tensor:
        return torch.from_numpy(self.targets.indices(list(data.word)))

    def _carry_for(self, n: int):
        """Carried state for ``n`` rows (zeros for rows beyond the previous batch)."""
        if not self.config.carry_state or self._carry is None:
            return None
        out = []
        for s in self._carry:
            parts = s if isinstance(s, tuple) else (s,)
            new = []
            for t in parts:
                if t.shape[1] >= n:
                    new.append(t[:, :n])
                else:
                    pad = torch.zeros(t.shape[0], n - t.shape[1], t.shape[2], dtype=t.dtype, device=t.device)
                    new.append(torch.cat([t, pad], dim=1))
            out.append(tuple(new) if isinstance(s, tuple) else new[0])
        return out

    def train_step(self, x: torch.Tensor, lengths: torch.Tensor, target: torch.Tensor) -> float:
        """One optimiser step on a padded batch; returns the loss."""
        self.net.train()
        state = self._carry_for(x.shape[0])
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.use_amp):
            # packed sequences only when the state at each row's end is carried (EARSHOT)
            logits, new_state = self.net(x, state, lengths, pack=bool(self.config.carry_state))
        loss = self.loss(logits.float(), target, lengths)
        apply_gradients(loss, self.model, self.optimizer, self.scheduler, self.scaler, self.optim_config.clip_norm)
        self.step_ += 1
        if self.config.carry_state:
            self._carry = self.model.detach_state(new_state)
        return float(loss.detach())

    # ------------------------------------------------------------------------------------
    def _stop_reason(self, t0: float) -> str:
        cfg = self.config
        if self._stopped:
            return self._stopped
        if cfg.max_steps is not None and self.step_ >= cfg.max_steps:
            return "max_steps"
        if self.epoch_ >= cfg.max_epochs:
            return "max_epochs"
        # the time budget is per call of fit(), so a resumed run gets the new config's budget
        if cfg.max_time_s is not None and time.perf_counter() - t0 >= cfg.max_time_s:
            return "max_time_s"
        return ""

    def fit(self, train, *, max_steps: int | None = None) -> "Trainer":
        """Train on the ``"trained"`` tokens of ``train`` (a FeatureSet; all tokens without split).

        ``max_steps`` (optional) stops after that many optimiser steps in total (it overrides
        ``config.max_steps`` for this call; used to stop mid-epoch).
        """
        if max_steps is not None:
            self.config = self.config.model_copy(update={"max_steps": int(max_steps)})
        if train.split is not None:
            train = train.subset(train.split == "trained")
        if train.n_features != self.model.config.n_input:
            raise ValueError(f"features have {train.n_features} channels; the network expects "
                             f"{self.model.config.n_input}")
        widx = self._word_index(train)
        bs = int(self.config.batch_size)
        n = train.n_tokens
        n_batches = math.ceil(n / bs)
        t0 = time.perf_counter()
        dist, rank, world = _dist()
        if world > 1 and 0 < n % bs < world:
            n_batches -= 1  # a last batch too small to give every rank a token is dropped (all ranks alike)
        if n_batches < 1:
            raise ValueError(f"{n} training tokens make no batch of {bs} for {world} process(es)")
        if rank == 0:
            self._claim_out_dir()
        with use_log_level(self.verbose):
            bar = progress(total=self.config.max_epochs, initial=self.epoch_, desc="training",
                           verbose=self.verbose) if rank == 0 else None
            try:
                while not self._stop_reason(t0):
                    if self._perm is None:
                        self._perm = torch.randperm(n, generator=self.generator)
                        self._batch_in_epoch = 0
                        self._epoch_losses = []
                    while self._batch_in_epoch < n_batches and not self._stop_reason(t0):
                        b = self._batch_in_epoch
                        idx = self._perm[b * bs : (b + 1) * bs]
                        if world > 1:
                            idx = idx[rank::world]
                        x, lengths = train.batch(idx, device=self.device)
                        target = self._target_matrix[widx[idx].to(self.device)]
                        loss = self.train_step(x, lengths, target)
                        if world > 1:
                            lt = torch.tensor([loss], dtype=torch.float64)
                            dist.all_reduce(lt)
                            loss = float(lt) / world
                        self._epoch_losses.append(loss)
                        self._batch_in_epoch += 1
                    if self._batch_in_epoch < n_batches:
                        break  # stopped mid-epoch
                    self._end_epoch(t0, bar)
            finally:
                if bar is not None:
                    bar.close()
        self._elapsed += time.perf_counter() - t0
        reason = self._stop_reason(time.perf_counter())
        self.stop_reason_ = reason or "mid-epoch"
        logger.info("training stopped (%s) at epoch %d, step %d", self.stop_reason_, self.epoch_, self.step_)
        if self.out_dir is not None and rank == 0:
            self.save(self.out_dir / "checkpoint.pt")
        if dist is not None:
            dist.barrier()
        if reason == "max_time_s" and self.config.on_time_limit == "error":
            where = f"; its checkpoint at '{self.out_dir / 'checkpoint.pt'}' resumes" if self.out_dir else ""
            raise TrainingBudgetError(
                f"training stopped by max_time_s={self.config.max_time_s:g} s at epoch {self.epoch_} of "
                f"max_epochs={self.config.max_epochs} (step {self.step_}) before the configured epochs; "
                f"raise train.max_time_s or lower train.max_epochs{where} (the wall clock never decides "
                "how far a model is trained; train.on_time_limit: stop accepts a partly trained model)")
        return self

    def _claim_out_dir(self) -> None:
        """Lock ``out_dir``; refuse a fresh run over an existing one; on resume, trim the metrics log."""
        if self.out_dir is None:
            return
        if self._out_lock is not None and self._out_lock._file is not None:
            return
        out = self.out_dir
        out.mkdir(parents=True, exist_ok=True)
        self._out_lock = FolderLock(out, what="training folder")
        try:
            metrics = out / "metrics.jsonl"
            if self._resumed:
                lines = "".join(json.dumps(rec) + "\n" for rec in self.history_)
                write_text_atomic(metrics, lines)  # drops epochs logged after the checkpoint
            elif self.step_ == 0 and self.epoch_ == 0:
                existing = [n for n in RUN_FILES if (out / n).exists()]
                if existing:
                    raise FileExistsError(
                        f"'{out}' already holds a training run ({', '.join(existing)}); resume it (--resume) "
                        "or choose another output folder (--out); nothing was changed")
                for name in ("metrics.jsonl", "best.pt"):  # leftovers of a run killed before its 1st checkpoint
                    if (out / name).exists():
                        logger.info("removing %s left by a run that never reached a checkpoint", out / name)
                        (out / name).unlink()
        except BaseException:
            self._out_lock.release()
            self._out_lock = None
            raise

    def release(self) -> None:
        """Release the lock on ``out_dir`` (also released when the trainer is collected or the process ends)."""
        if self._out_lock is not None:
            self._out_lock.release()
            self._out_lock = None

    def _end_epoch(self, t0: float, bar) -> None:
        self.epoch_ += 1
        self._perm = None
        dist, rank, world = _dist()
        rec: dict[str, Any] = {"epoch": self.epoch_, "step": self.step_,
                               "train_loss": float(np.mean(self._epoch_losses)),
                               "lr": float(self.optimizer.param_groups[0]["lr"]),
                               "time_s": round(self._elapsed + time.perf_counter() - t0, 3)}
        evaluated = self.validate is not None and self.epoch_ % max(1, self.config.eval_every) == 0
        if evaluated:
            metrics = self.validate(self.model) if rank == 0 else {}
            if dist is not None and world > 1:
                box = [metrics]
                dist.broadcast_object_list(box, src=0)
                metrics = box[0]
            rec.update({k: float(v) for k, v in metrics.items()})
        self.history_.append(rec)
        if rank == 0:
            # every epoch in full at DEBUG (and in metrics.jsonl); a rounded summary at INFO on the
            # evaluated epochs (or every tenth of max_epochs when nothing is evaluated) and the last one
            every = max(1, self.config.max_epochs // 10)
            summary_epoch = evaluated if self.validate is not None else self.epoch_ % every == 0
            level = logging.INFO if (summary_epoch or self.epoch_ >= self.config.max_epochs) else logging.DEBUG
            logger.log(level, "epoch %d/%d: %s", self.epoch_, self.config.max_epochs, _rounded(rec))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{rec['train_loss']:.4f}")
            if self.out_dir is not None:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                with open(self.out_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rec) + "\n")
        es = self.config.early_stopping
        if es.monitor in rec and (evaluated or es.monitor == "train_loss"):
            self._update_early_stopping(float(rec[es.monitor]))
        if self.out_dir is not None and rank == 0 and self.epoch_ in set(self.config.snapshot_epochs):
            snap = self.out_dir / "snapshots" / f"epoch{self.epoch_:05d}.pt"
            snap.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(snap, {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                                   "model": {k: v.detach().to("cpu").clone() for k, v in self.model.state_dict().items()},
                                   "network_config": self.model.config.model_dump(mode="json"),
                                   "epoch": self.epoch_, "step": self.step_, "snapshot": True})
        if (self.out_dir is not None and rank == 0 and self.config.checkpoint_every
                and self.epoch_ % self.config.checkpoint_every == 0):
            self.save(self.out_dir / "checkpoint.pt")

    def _update_early_stopping(self, value: float) -> None:
        es = self.config.early_stopping
        better = (self._best is None or (value < self._best - es.min_delta if es.mode == "min"
                                         else value > self._best + es.min_delta))
        if better:
            self._best = value
            self._bad_evals = 0
            _, rank, _ = _dist()
            if self.out_dir is not None and rank == 0:
                self.save(self.out_dir / "best.pt")
        else:
            self._bad_evals += 1
        if es.stop_value is not None and ((es.mode == "max" and value >= es.stop_value)
                                          or (es.mode == "min" and value <= es.stop_value)):
            self._stopped = f"{es.monitor} reached {es.stop_value}"
        elif es.patience is not None and self._bad_evals >= es.patience:
            self._stopped = f"{es.monitor} did not improve for {es.patience} evaluations"

    # ------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to resume (see module docstring)."""
        carry = None
        if self._carry is not None:
            carry = [list(s) if isinstance(s, tuple) else [s] for s in self._carry]
            carry = [[t.to("cpu") for t in s] for s in carry]
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "model": {k: v.to("cpu") for k, v in self.model.state_dict().items()},
            "network_config": self.model.config.model_dump(mode="json"),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "train_config": self.config.model_dump(mode="json"),
            "optim_config": self.optim_config.model_dump(mode="json"),
            "run_config": json.dumps(self.run_config, sort_keys=True, default=str),
            "step": self.step_,
            "epoch": self.epoch_,
            "perm": self._perm,
            "batch_in_epoch": self._batch_in_epoch,
            "epoch_losses": list(self._epoch_losses),
            "carry": carry,
            "history": json.dumps(self.history_),
            "early_stopping": {"best": self._best, "bad_evals": self._bad_evals, "stopped": self._stopped},
            "elapsed": self._elapsed,
        }

    def save(self, path) -> Path:
        """Write a checkpoint atomically."""
        return save_checkpoint(path, self.state_dict())

    def config_changes(self, ck: dict) -> list[str]:
        """The settings in which checkpoint ``ck`` differs from this trainer (``section.key: old -> new``)."""
        changes: list[str] = []

        def diff(old, new, where):
            if isinstance(old, dict) and isinstance(new, dict):
                for k in sorted(set(old) | set(new)):
                    if k in RESUME_FREE_KEYS and where == "train":
                        continue
                    diff(old.get(k, "<absent>"), new.get(k, "<absent>"), f"{where}.{k}" if where else k)
            elif old != new:
                changes.append(f"{where}: {old!r:.60} -> {new!r:.60}")

        diff(ck.get("optim_config", {}), self.optim_config.model_dump(mode="json"), "optim")
        diff(ck.get("train_config", {}), self.config.model_dump(mode="json"), "train")
        try:
            old_run = json.loads(ck.get("run_config") or "{}")
        except (TypeError, ValueError):
            old_run = {}
        new_run = json.loads(json.dumps(self.run_config, sort_keys=True, default=str))
        if old_run and new_run:
            for section in ("train", "optim"):  # compared above through the typed configs
                old_run.pop(section, None)
                new_run.pop(section, None)
            diff(old_run, new_run, "run")
        return changes

    def load_state_dict(self, ck: dict, allow_config_change: bool = False) -> "Trainer":
        """Restore a checkpoint's state into this trainer (same architecture and optimiser kind).

        Raises ``ValueError`` listing the changed settings when the checkpoint was written under
        another training configuration, unless ``allow_config_change`` (see the module docstring).
        """
        if ck["network_config"] != self.model.config.model_dump(mode="json"):
            raise ValueError(f"checkpoint network {ck['network_config']} differs from this model's "
                             f"{self.model.config.model_dump(mode='json')}")
        changes = self.config_changes(ck)
        old_kind = (ck.get("optim_config") or {}).get("kind", self.optim_config.kind)
        if old_kind != self.optim_config.kind:
            raise ValueError(f"the checkpoint was trained with optimizer {old_kind!r}; this config asks for "
                             f"{self.optim_config.kind!r}: an optimizer's state cannot change kind on resume")
        if changes and not allow_config_change:
            raise ValueError("cannot resume: the training configuration differs from the checkpoint's:\n  - "
                             + "\n  - ".join(changes)
                             + "\nRestore the original settings, start a new run in another folder, or pass "
                               "allow_config_change=True (--allow-config-change) to continue under the new ones")
        if changes:
            logger.warning("resuming under a changed configuration: %s", "; ".join(changes))
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        if changes:
            self._apply_optim_config()
        self.scaler.load_state_dict(ck["scaler"])
        self.generator.set_state(ck["generator"])
        torch.set_rng_state(ck["torch_rng"])
        if ck.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ck["cuda_rng"])
        self.step_ = int(ck["step"])
        self.epoch_ = int(ck["epoch"])
        self._perm = ck["perm"]
        self._batch_in_epoch = int(ck["batch_in_epoch"])
        self._epoch_losses = list(ck["epoch_losses"])
        carry = ck.get("carry")
        if carry is None:
            self._carry = None
        else:
            self._carry = [tuple(t.to(self.device) for t in s) if self.model.config.cell == "lstm"
                           else s[0].to(self.device) for s in carry]
        self.history_ = json.loads(ck["history"])
        es = ck["early_stopping"]
        self._best, self._bad_evals, self._stopped = es["best"], int(es["bad_evals"]), es["stopped"]
        self._elapsed = float(ck["elapsed"])
        self._resumed = True
        return self

    def _apply_optim_config(self) -> None:
        """Make the (possibly changed) optimiser settings of ``self.optim_config`` the live ones."""
        oc = self.optim_config
        for g in self.optimizer.param_groups:
            g["initial_lr"] = oc.lr
            g["eps"] = oc.eps
            if "betas" in g:
                g["betas"] = (oc.beta1, oc.beta2)
            if "alpha" in g:
                g["alpha"] = oc.rho
        self.scheduler.base_lrs = [oc.lr for _ in self.optimizer.param_groups]
        for g, base, fn in zip(self.optimizer.param_groups, self.scheduler.base_lrs, self.scheduler.lr_lambdas):
            g["lr"] = base * fn(self.scheduler.last_epoch)
        self.scheduler._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def resume(self, path, allow_config_change: bool = False) -> "Trainer":
        """Load a checkpoint file into this trainer (see :meth:`load_state_dict`)."""
        ck = load_checkpoint(path, map_location="cpu")
        if ck.get("snapshot"):
            raise ValueError(f"'{path}' is a weights-only snapshot (epoch {ck['epoch']}); resume from the run's "
                             "checkpoint.pt")
        return self.load_state_dict(ck, allow_config_change=allow_config_change)
