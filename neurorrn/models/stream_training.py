"""Train speech networks on continuous word streams (Brodbeck, Hannagan & Magnuson 2025).

Source: ``earshot/train_earshot.py``, ``_loss.py`` and ``mykeras.py`` of the paper's code (see
``docs/models.md``, "Continuous speech").  What a run does:

* every epoch, ``batch_size`` parallel streams (Brodbeck's sequence ``'2'``, drawn afresh: row
  ``r`` of epoch ``e`` is seeded by ``(random_state, e, r)``) of ``steps_per_epoch`` segments of
  ``segment_s`` seconds (paper: 32 streams, 25 steps, 10 s);
* the LSTM state is carried from segment to segment within each row (truncated BPTT: the
  state is detached at every segment edge) and on into the next epoch's streams;
* per-frame box targets (the word's target vector from its onset to its offset, zero in
  silence); optional Gaussian noise per band (``noise_snr_db``: 20 dB in the paper) whose
  variance is the mean per-band variance of the training tokens divided by the SNR, drawn
  afresh for every frame;
* the loss over every frame (the cohort loss ``dw{c}to10``: non-target errors weighted ``1/c``
  from word onset to 100 ms before the *word's* offset);
* RMSprop at 1e-3 (:class:`~neurorrn.models.training.OptimConfig`);
* stopping as the paper's ``Backtrack`` callback (:class:`Backtrack`): restore the best weights
  when the epoch loss has exceeded ``factor`` (1.25) times the best for ``restore_patience`` (20)
  epochs; stop after ``stop_patience`` (200) epochs without improvement; or at ``max_epochs`` /
  ``max_steps``.  Training never stops on the wall clock: ``max_time_s`` is a safety net that
  saves a checkpoint and raises :class:`TrainingTimeExceeded` (resume with a larger budget).

Outputs in ``out_dir``: ``checkpoint.pt`` (resumable; a resumed run takes the *new* config's
budgets), ``best.pt`` (the best weights by the monitored loss; the bundle ``model.pt`` holds
these), ``snapshots/epoch{N}.pt`` (bundles at ``snapshot_epochs``), ``metrics.jsonl``,
``stream_evaluation.csv`` (every test token), ``stream_competitors.csv`` (mean word scores of the target
and each competitor set from word onset, correct trained tokens; with pronunciations) and
``summary.json``.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import torch
from pydantic import Field, field_validator

from ..config import ConfigModel, config_to_json
from ..utils._check import check_at_least, check_device, check_path
from ..utils._io import write_text_atomic
from ..utils._logging import logger, progress, use_log_level
from .data import FeatureNormalizer, FeatureSet, holdout_split
from .experiment import CorpusSection, FeatureSection, HoldoutSection
from .losses import LossConfig, make_loss
from .networks import NetworkConfig, SpeechRNN
from .stream_data import StreamSampler, TokenBank, make_eval_streams
from .stream_evaluation import evaluate_streams, stream_accuracy
from .targets import TargetConfig, make_targets
from .training import (CHECKPOINT_FORMAT, CHECKPOINT_VERSION, OptimConfig, TrainingBudgetError, apply_gradients,
                       load_checkpoint, make_optimizer, save_checkpoint)


#: The isolated-word trainer's error for the same safety net (one class for both trainers).
TrainingTimeExceeded = TrainingBudgetError


class StreamSection(ConfigModel):
    """How training and test streams are made (defaults: Brodbeck et al. 2025).

    Attributes
    ----------
    segment_s : float
        Length of a training segment (truncated-BPTT window), s (paper: 10).
    steps_per_epoch : int
        Segments per row per epoch (paper: 25; one epoch = 32 x 25 x 10 s of speech).
    p_silence, silence, silence_step, talker_every : the stream sequence (1/2, 200-500 ms, 10 ms, 2)
    splice : {"features", "audio"}
        Concatenate token features (fast; as the paper's input patterns) or token audio (features
        of the whole stream computed in the loop).
    noise_snr_db : float | None
        Gaussian noise per band at this SNR during training (paper: 20); None for none.
    band_shift : float
        Training augmentation, not in the paper: each training token shifted along the band axis
        by a uniform random amount in ``[-band_shift, band_shift]`` bands
        (:class:`~neurorrn.models.stream_data.StreamSampler`); 0 (default) for none.
    eval_p_silence : float
        Silence probability in the test streams (0: the paper's ``NoSil`` stream).
    eval_repeats : int
        Each test token appears this many times.
    eval_rows : int
        Parallel rows the test tokens are dealt to.
    eval_max_tokens : int | None
        Cap on the test tokens per split (a fixed random subset); None = all.
    last_frames : int
        Recognition is read over each token's last this many frames (10).
    """

    segment_s: float = 10.0
    steps_per_epoch: int = 25
    p_silence: float = 0.5
    silence: tuple[float, float] = (0.2, 0.5)
    silence_step: float = 0.01
    talker_every: int = 2
    splice: Literal["features", "audio"] = "features"
    noise_snr_db: float | None = 20.0
    band_shift: float = Field(0.0, ge=0)
    eval_p_silence: float = 0.0
    eval_repeats: int = 1
    eval_rows: int = 8
    eval_max_tokens: int | None = None
    last_frames: int = 10

    @field_validator("segment_s", "silence_step")
    @classmethod
    def _positive_s(cls, v, info):
        if v <= 0:
            raise ValueError(f"{info.field_name} must be > 0 s")
        return v

    @field_validator("steps_per_epoch", "talker_every", "eval_repeats", "eval_rows", "last_frames",
                     "eval_max_tokens")
    @classmethod
    def _count(cls, v, info):
        return check_at_least(1, info.field_name, v, allow_none=True)

    @field_validator("p_silence", "eval_p_silence")
    @classmethod
    def _probability(cls, v, info):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{info.field_name} is a probability: expected 0 <= p <= 1")
        return v

    @field_validator("silence")
    @classmethod
    def _silence(cls, v):
        if not 0.0 <= v[0] <= v[1]:
            raise ValueError("silence is [shortest, longest] in s: expected 0 <= shortest <= longest")
        return v


class BacktrackConfig(ConfigModel):
    """The paper's ``Backtrack`` callback (``mykeras.py``) on the per-epoch training loss."""

    enabled: bool = True
    factor: float = 1.25
    restore_patience: int = 20
    stop_patience: int = 200
    min_delta: float = 0.0

    @field_validator("factor")
    @classmethod
    def _factor(cls, v):
        if v < 1.0:
            raise ValueError("factor must be >= 1 (the loss that counts as 'worse than the best' is factor x best)")
        return v

    @field_validator("restore_patience", "stop_patience")
    @classmethod
    def _patience(cls, v, info):
        return check_at_least(1, info.field_name, v)

    @field_validator("min_delta")
    @classmethod
    def _delta(cls, v):
        return check_at_least(0.0, "min_delta", v)


class StreamTrainConfig(ConfigModel):
    """Loop settings of stream training.

    Attributes
    ----------
    batch_size : int
        Parallel streams (paper: 32).
    max_epochs, max_steps : budgets (the paper allows up to 20,000 epochs)
    max_time_s : float | None
        Safety net only: exceeding it saves a checkpoint and raises :class:`TrainingTimeExceeded`.
    random_state : int
        Seeds the weights, the streams and the noise.
    eval_every : int
        Epochs between evaluations on the held-out streams (0: never during training).
    stop_metric, stop_value : optional
        Stop once an evaluated metric (e.g. ``val_trained_accuracy``) reaches ``stop_value``.
    checkpoint_every : int
        Epochs between ``checkpoint.pt`` writes (paper: 250).
    snapshot_epochs : list of int
        Epochs at which a bundle of the current weights goes to ``snapshots/``.
    """

    batch_size: int = 32
    max_epochs: int = 20000
    max_steps: int | None = None
    max_time_s: float | None = None
    random_state: int = 0
    device: str = "cpu"
    amp: bool = True
    eval_every: int = 10
    stop_metric: str | None = None
    stop_value: float | None = None
    checkpoint_every: int = 250
    snapshot_epochs: list[int] = []


class Backtrack:
    """Brodbeck et al.'s ``Backtrack`` stopping rule on a loss that is minimised.

    After every epoch call :meth:`update` with the epoch's loss.  It returns

    * ``"improved"`` when the loss is below the best so far (minus ``min_delta``);
    * ``"restore"`` when the loss has exceeded ``factor`` x best for ``restore_patience``
      consecutive epochs (the caller restores the best weights; the count restarts);
    * ``"stop"`` after ``stop_patience`` epochs without improvement (the caller restores the best
      weights and stops);
    * ``""`` otherwise.
    """

    def __init__(self, factor: float = 1.25, restore_patience: int = 20, stop_patience: int = 200,
                 min_delta: float = 0.0):
        self.factor = factor
        self.restore_patience = restore_patience
        self.stop_patience = stop_patience
        self.min_delta = min_delta
        self.best_ = None
        self.best_epoch_ = None
        self.wait_ = 0
        self.bad_ = 0

    def update(self, loss: float, epoch: int) -> str:
        loss = float(loss)
        if not np.isfinite(loss):
            self.wait_ += 1
            self.bad_ += 1
        elif self.best_ is None or loss < self.best_ - self.min_delta:
            self.best_, self.best_epoch_, self.wait_, self.bad_ = loss, int(epoch), 0, 0
            return "improved"
        else:
            self.wait_ += 1
            self.bad_ = self.bad_ + 1 if loss > self.factor * self.best_ else 0
        if self.wait_ >= self.stop_patience:
            return "stop"
        if self.bad_ >= self.restore_patience:
            self.bad_ = 0
            return "restore"
        return ""

    def state_dict(self) -> dict:
        return {"best": self.best_, "best_epoch": self.best_epoch_, "wait": self.wait_, "bad": self.bad_}

    def load_state_dict(self, d: dict) -> None:
        self.best_, self.best_epoch_ = d["best"], d["best_epoch"]
        self.wait_, self.bad_ = int(d["wait"]), int(d["bad"])


class StreamTrainer:
    """Stateful truncated-BPTT training on continuous streams.

    Parameters
    ----------
    model : SpeechRNN
    targets : TargetSet
    loss : callable
        ``loss(logits, target, lengths, region=...)`` (:func:`~neurorrn.models.losses.make_loss`).
    sampler : StreamSampler
        Draws the training streams.
    normalizer : FeatureNormalizer
        Applied to every frame after the noise.
    config : StreamTrainConfig
    optim : OptimConfig
    streams : StreamSection
    backtrack : BacktrackConfig
    noise_sd : ndarray of shape (n_features,) | None
        Per-band noise SD (raw feature units); None for no noise.
    out_dir : path | None
    validate : callable | None
        ``validate(model) -> dict`` every ``eval_every`` epochs.
    on_snapshot : callable | None
        ``on_snapshot(path, state_dict, epoch)`` writes a snapshot (default: a checkpoint-format file).
    run_config : dict | None

    Attributes
    ----------
    epoch_, step_ : int
    history_ : list of dict
    stop_reason_ : str
    """

    def __init__(self, model: SpeechRNN, targets, loss: Callable, sampler: StreamSampler, normalizer,
                 config: StreamTrainConfig | None = None, optim: OptimConfig | None = None,
                 streams: StreamSection | None = None, backtrack: BacktrackConfig | None = None, *,
                 noise_sd=None, out_dir=None, validate: Callable | None = None,
                 on_snapshot: Callable | None = None, run_config: dict | None = None, verbose=None):
        self.model = model
        self.targets = targets
        self.loss = loss
        self.sampler = sampler
        self.normalizer = normalizer
        self.config = config if config is not None else StreamTrainConfig()
        self.optim_config = optim if optim is not None else OptimConfig(kind="rmsprop", lr=1e-3, clip_norm=None)
        self.streams = streams if streams is not None else StreamSection()
        self.backtrack_config = backtrack if backtrack is not None else BacktrackConfig()
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.validate = validate
        self.on_snapshot = on_snapshot
        self.run_config = run_config or {}
        self.verbose = verbose
        self.device = check_device(self.config.device)
        self.model.to(self.device)
        self.use_amp = bool(self.config.amp and self.device.type == "cuda")
        self.optimizer, self.scheduler = make_optimizer(self.model.parameters(), self.optim_config)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.noise_generator = torch.Generator().manual_seed(int(self.config.random_state) + 1)
        tm = np.concatenate([np.zeros((1, targets.n_dims), np.float32), targets.matrix], axis=0)
        self._targets_plus = torch.from_numpy(tm).to(self.device)  # row 0: silence (all zero)
        self._mean = torch.from_numpy(np.asarray(normalizer.mean_, np.float32)).to(self.device)
        self._scale = torch.from_numpy(np.asarray(normalizer.scale_, np.float32)).to(self.device)
        self._noise_sd = None if noise_sd is None else torch.as_tensor(np.asarray(noise_sd, np.float32))
        self.backtrack = Backtrack(self.backtrack_config.factor, self.backtrack_config.restore_patience,
                                   self.backtrack_config.stop_patience, self.backtrack_config.min_delta)
        self.best_state_: dict | None = None
        self.epoch_ = 0
        self.step_ = 0
        self.history_: list[dict] = []
        self.stop_reason_ = ""
        self._segment = 0  # next segment of the current epoch
        self._epoch_losses: list[float] = []
        self._carry = None
        self._elapsed = 0.0

    # ------------------------------------------------------------------------------------
    @property
    def segment_frames(self) -> int:
        return max(1, int(round(self.streams.segment_s * self.sampler.bank.frame_rate)))

    def epoch_batch(self, epoch: int):
        """The (deterministic) training streams of 0-based ``epoch``."""
        n = self.segment_frames * int(self.streams.steps_per_epoch)
        return self.sampler.draw(int(self.config.batch_size), n, (int(self.config.random_state), int(epoch)))

    def prepare(self, x_raw: np.ndarray, noise: bool = True) -> torch.Tensor:
        """Raw features (batch, time, n_features) -> noisy, normalised tensor on the device."""
        x = torch.from_numpy(np.ascontiguousarray(x_raw, dtype=np.float32))
        if noise and self._noise_sd is not None:
            x = x + torch.randn(x.shape, generator=self.noise_generator) * self._noise_sd
        return (x.to(self.device) - self._mean) / self._scale

    def train_segment(self, x: torch.Tensor, word: torch.Tensor, region: torch.Tensor) -> float:
        """One truncated-BPTT step on a segment; the state comes in from and goes out to ``_carry``.

        Parameters
        ----------
        x : Tensor (batch, time, n_features), normalised
        word : Tensor (batch, time) of int64, target row or -1 in silence
        region : Tensor (batch, time) of bool, the cohort-loss region
        """
        self.model.train()
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.use_amp):
            logits, new_state = self.model(x, self._carry)
        target = self._targets_plus[word + 1]
        loss = self.loss(logits.float(), target, None, region=region)
        apply_gradients(loss, self.model, self.optimizer, self.scheduler, self.scaler, self.optim_config.clip_norm)
        self.step_ += 1
        self._carry = self.model.detach_state(new_state)  # truncated BPTT: no gradient across the edge
        return float(loss.detach())

    # ------------------------------------------------------------------------------------
    def _budget_reason(self) -> str:
        cfg = self.config
        if self.stop_reason_:
            return self.stop_reason_
        if cfg.max_steps is not None and self.step_ >= cfg.max_steps:
            return "max_steps"
        if self.epoch_ >= cfg.max_epochs:
            return "max_epochs"
        return ""

    def _check_time(self, t0: float) -> None:
        lim = self.config.max_time_s
        if lim is not None and time.perf_counter() - t0 > lim:
            if self.out_dir is not None:
                self.save(self.out_dir / "checkpoint.pt")
            raise TrainingTimeExceeded(
                f"stream training exceeded max_time_s={lim:g} s at epoch {self.epoch_}, step {self.step_} before its "
                f"budget (max_epochs={self.config.max_epochs}, max_steps={self.config.max_steps}); a checkpoint was "
                f"saved{' in ' + str(self.out_dir) if self.out_dir else ''}: resume with a larger max_time_s")

    def fit(self) -> "StreamTrainer":
        """Train until the epoch/step budget, Backtrack's stop or the stop metric."""
        t0 = time.perf_counter()
        L = self.segment_frames
        n_seg = int(self.streams.steps_per_epoch)
        with use_log_level(self.verbose):
            bar = progress(total=self.config.max_epochs, initial=self.epoch_, desc="stream training",
                           verbose=self.verbose)
            try:
                while not self._budget_reason():
                    batch = self.epoch_batch(self.epoch_)
                    words = torch.from_numpy(batch.word).to(self.device)
                    region = torch.from_numpy(batch.region).to(self.device)
                    while self._segment < n_seg and not self._budget_reason():
                        s = slice(self._segment * L, (self._segment + 1) * L)
                        x = self.prepare(batch.features[:, s])
                        self._epoch_losses.append(self.train_segment(x, words[:, s], region[:, s]))
                        self._segment += 1
                        self._check_time(t0)
                    if self._segment < n_seg:
                        break  # max_steps inside an epoch
                    self._end_epoch(t0, bar)
            finally:
                bar.close()
        self._elapsed += time.perf_counter() - t0
        self.stop_reason_ = self.stop_reason_ or self._budget_reason() or "mid-epoch"
        logger.info("stream training stopped (%s) at epoch %d, step %d", self.stop_reason_, self.epoch_, self.step_)
        if self.out_dir is not None:
            self.save(self.out_dir / "checkpoint.pt")
        return self

    def _end_epoch(self, t0: float, bar) -> None:
        self.epoch_ += 1
        self._segment = 0
        loss = float(np.mean(self._epoch_losses))
        self._epoch_losses = []
        rec: dict[str, Any] = {"epoch": self.epoch_, "step": self.step_, "train_loss": loss,
                               "time_s": round(self._elapsed + time.perf_counter() - t0, 3)}
        if self.validate is not None and self.config.eval_every and self.epoch_ % self.config.eval_every == 0:
            rec.update({k: float(v) for k, v in self.validate(self.model).items()})
        action = self.backtrack.update(loss, self.epoch_)  # tracks the best weights in any case
        if not self.backtrack_config.enabled and action in ("restore", "stop"):
            action = ""
        if action == "improved":
            self.best_state_ = copy.deepcopy({k: v.detach().to("cpu") for k, v in self.model.state_dict().items()})
            if self.out_dir is not None:
                self._save_model(self.out_dir / "best.pt", self.best_state_)
        elif action in ("restore", "stop") and self.best_state_ is not None:
            self.model.load_state_dict(self.best_state_)
            self._carry = None
            rec["backtrack"] = action
            logger.info("epoch %d (%s): restored the weights of epoch %s (best loss %.4g)", self.epoch_, action,
                        self.backtrack.best_epoch_, self.backtrack.best_)
            if action == "stop":
                self.stop_reason_ = (f"backtrack: no improvement for {self.backtrack.stop_patience} epochs "
                                     f"(best epoch {self.backtrack.best_epoch_})")
        cfg = self.config
        if cfg.stop_metric is not None and cfg.stop_value is not None and cfg.stop_metric in rec \
                and float(rec[cfg.stop_metric]) >= cfg.stop_value:
            self.stop_reason_ = f"{cfg.stop_metric} reached {cfg.stop_value}"
        self.history_.append(rec)
        logger.info("epoch %d: %s", self.epoch_, json.dumps(rec))
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}")
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
            if self.epoch_ in set(cfg.snapshot_epochs):
                state = {k: v.detach().to("cpu").clone() for k, v in self.model.state_dict().items()}
                path = self.out_dir / "snapshots" / f"epoch{self.epoch_:05d}.pt"
                path.parent.mkdir(parents=True, exist_ok=True)
                if self.on_snapshot is not None:
                    self.on_snapshot(path, state, self.epoch_)
                else:
                    self._save_model(path, state)
            if cfg.checkpoint_every and self.epoch_ % cfg.checkpoint_every == 0:
                self.save(self.out_dir / "checkpoint.pt")

    def _save_model(self, path, state) -> None:
        save_checkpoint(path, {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "model": state,
                               "network_config": self.model.config.model_dump(mode="json"),
                               "epoch": self.epoch_, "step": self.step_})

    # ------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        carry = None
        if self._carry is not None:
            carry = [[t.to("cpu") for t in (s if isinstance(s, tuple) else (s,))] for s in self._carry]
        return {
            "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "kind": "stream",
            "model": {k: v.to("cpu") for k, v in self.model.state_dict().items()},
            "network_config": self.model.config.model_dump(mode="json"),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(), "noise_generator": self.noise_generator.get_state(),
            "step": self.step_, "epoch": self.epoch_, "segment": self._segment,
            "epoch_losses": list(self._epoch_losses), "carry": carry,
            "history": json.dumps(self.history_), "backtrack": json.dumps(self.backtrack.state_dict()),
            "best_state": self.best_state_, "elapsed": self._elapsed,
            "run_config": json.dumps(self.run_config, sort_keys=True, default=str),
        }

    def save(self, path) -> Path:
        return save_checkpoint(path, self.state_dict())

    def load_state_dict(self, ck: dict) -> "StreamTrainer":
        """Restore a checkpoint; the budgets (epochs, steps, time) stay those of this trainer's config."""
        if ck.get("kind") != "stream":
            raise ValueError("the checkpoint was not written by the stream trainer (isolated-word run?)")
        if ck["network_config"] != self.model.config.model_dump(mode="json"):
            raise ValueError(f"checkpoint network {ck['network_config']} differs from this model's "
                             f"{self.model.config.model_dump(mode='json')}")
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        self.scaler.load_state_dict(ck["scaler"])
        self.noise_generator.set_state(ck["noise_generator"])
        self.step_, self.epoch_, self._segment = int(ck["step"]), int(ck["epoch"]), int(ck["segment"])
        self._epoch_losses = list(ck["epoch_losses"])
        carry = ck.get("carry")
        lstm = self.model.config.cell == "lstm"
        self._carry = None if carry is None else [tuple(t.to(self.device) for t in s) if lstm else s[0].to(self.device)
                                                  for s in carry]
        self.history_ = json.loads(ck["history"])
        self.backtrack.load_state_dict(json.loads(ck["backtrack"]))
        self.best_state_ = ck.get("best_state")
        self._elapsed = float(ck["elapsed"])
        self.stop_reason_ = ""  # a resumed run continues under the new budget
        return self

    def resume(self, path) -> "StreamTrainer":
        return self.load_state_dict(load_checkpoint(path, map_location="cpu"))


# ------------------------------------------------------------------------------------------
# a whole run from a config
# ------------------------------------------------------------------------------------------
class StreamEvaluationSection(ConfigModel):
    """Which held-out stream sets are monitored during training (all are scored at the end)."""

    monitor_splits: list[str] = ["trained"]
    monitor_max_tokens: int | None = 400


class StreamExperimentConfig(ConfigModel):
    """A stream-training run (see ``configs/brodbeck2025.yaml``, section ``train_streams``)."""

    name: str = "brodbeck2025"
    corpus: CorpusSection | None = None
    features: FeatureSection = FeatureSection(kind="gammatone", params={"n_bands": 64, "fmin": 50.0,
                                                                         "fmax": 10000.0})
    network: NetworkConfig = NetworkConfig(hidden_sizes=[512], output_bias_init=None)
    targets: TargetConfig = TargetConfig(kind="localist")
    loss: LossConfig = LossConfig(kind="cohort", cohort_c=1024.0, offset_s=0.1)
    optim: OptimConfig = OptimConfig(kind="rmsprop", lr=1e-3, clip_norm=None)
    train: StreamTrainConfig = StreamTrainConfig()
    streams: StreamSection = StreamSection()
    backtrack: BacktrackConfig = BacktrackConfig()
    holdout: HoldoutSection = HoldoutSection()
    evaluation: StreamEvaluationSection = StreamEvaluationSection()


SPLIT_NAMES = ("trained", "excluded_word", "excluded_talker")


def _split_streams(sampler, bank, cfg: StreamExperimentConfig, splits, max_tokens, seed):
    out = {}
    for s in splits:
        k = SPLIT_NAMES.index(s) if s in SPLIT_NAMES else len(SPLIT_NAMES) + sorted(set(bank.split)).index(s)
        idx = bank.select(splits=[s])
        if not idx.size:
            continue
        if max_tokens is not None and idx.size > max_tokens:
            idx = np.sort(np.random.default_rng([seed, 7, k]).choice(idx, max_tokens, replace=False))
        out[s] = make_eval_streams(sampler, idx, n_rows=cfg.streams.eval_rows, p_silence=cfg.streams.eval_p_silence,
                                   repeats=cfg.streams.eval_repeats, random_state=[seed, 11, k])
    return out


def held_out_streams(cfg: StreamExperimentConfig, corpus, target_index, splits=SPLIT_NAMES, verbose=None) -> dict:
    """The fixed test streams :func:`train_streams` scores at the end: ``{split: StreamBatch}``.

    ``target_index`` maps words to target rows (``TargetSet.index``).  The same config and corpus
    give the same streams, so other models (e.g. one trained on isolated words) can be scored on
    exactly these tokens.
    """
    items = corpus.items
    split = holdout_split(items["word"].to_numpy(), items["talker"].to_numpy(), cfg.holdout.mode,
                          cfg.holdout.excluded_talker, cfg.holdout.random_state)
    bank = TokenBank.from_corpus(corpus, cfg.features.kind, cfg.features.params, split=split, verbose=verbose)
    sampler = StreamSampler(bank, np.arange(bank.n_tokens), target_index, silence=cfg.streams.silence,
                            silence_step=cfg.streams.silence_step, splice=cfg.streams.splice)
    return _split_streams(sampler, bank, cfg, splits, cfg.streams.eval_max_tokens, int(cfg.train.random_state) + 1)


def train_streams(cfg: StreamExperimentConfig, corpus, out_dir, *, resume: bool = False, verbose=None) -> dict:
    """Train a network on streams of ``corpus`` tokens, evaluate on held-out streams, write a bundle.

    Parameters
    ----------
    cfg : StreamExperimentConfig
    corpus : Corpus
        Tokens with word alignments; split by ``cfg.holdout``
        (:func:`~neurorrn.models.data.holdout_split`).
    out_dir : path
    resume : bool
        Continue from ``out_dir/checkpoint.pt`` under this config's budgets.

    Returns
    -------
    summary : dict
        Stream accuracy and WER per split (and per split x talker), epochs, steps, stop reason.
    """
    from .bundle import ModelBundle, bundle_feature_info

    out_dir = check_path(out_dir, "out_dir")
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    with use_log_level(verbose):
        items = corpus.items
        split = holdout_split(items["word"].to_numpy(), items["talker"].to_numpy(), cfg.holdout.mode,
                              cfg.holdout.excluded_talker, cfg.holdout.random_state)
        bank = TokenBank.from_corpus(corpus, cfg.features.kind, cfg.features.params, split=split, verbose=verbose)
        counts = {s: int((bank.split == s).sum()) for s in SPLIT_NAMES}
        logger.info("stream hold-out %s: %s", cfg.holdout.mode, counts)
        train_idx = bank.select(splits=["trained"])
        tokens = FeatureSet.from_arrays([bank.features[i] for i in train_idx], bank.stimulus[train_idx],
                                        bank.word[train_idx], bank.talker[train_idx], bank.frame_rate)
        norm = FeatureNormalizer(cfg.features.normalization).fit(tokens)
        noise_sd = None
        if cfg.streams.noise_snr_db is not None:
            noise_sd = np.sqrt(bank.band_variance(train_idx) / 10 ** (cfg.streams.noise_snr_db / 10))
        words = sorted(set(bank.word.tolist()))
        lex = getattr(corpus, "lexicon", None)
        pron = {w: list(lex.phones(w)) for w in words} if lex is not None else {}
        targets = make_targets(words, cfg.targets, pronunciations=pron or None)
        if not targets.binary and (cfg.network.output_activation != "linear" or cfg.loss.kind != "mse"):
            raise ValueError(f"dense targets ({cfg.targets.kind!r}) need network.output_activation: linear and "
                             f"loss.kind: mse; got {cfg.network.output_activation!r} and {cfg.loss.kind!r}")
        offset_frames = int(round(cfg.loss.offset_s * bank.frame_rate))
        sampler = StreamSampler(bank, train_idx, targets.index, p_silence=cfg.streams.p_silence,
                                silence=cfg.streams.silence, silence_step=cfg.streams.silence_step,
                                talker_every=cfg.streams.talker_every, splice=cfg.streams.splice,
                                offset_frames=offset_frames, band_shift=cfg.streams.band_shift)
        net_cfg = cfg.network.model_copy(update={"n_input": bank.n_features, "n_output": targets.n_dims})
        model = SpeechRNN(net_cfg, random_state=cfg.train.random_state)
        seed = int(cfg.train.random_state)
        monitor = _split_streams(sampler, bank, cfg, cfg.evaluation.monitor_splits,
                                 cfg.evaluation.monitor_max_tokens, seed)

        def validate(m):
            return {f"val_{s}_accuracy": float(evaluate_streams(m, ev, targets, normalizer=norm,
                                                                last_frames=cfg.streams.last_frames)["correct"].mean())
                    for s, ev in monitor.items()}

        feat_info = bundle_feature_info(cfg.features.kind, cfg.features.params, bank.frame_rate, bank.sfreq,
                                        bank.n_features, splice=cfg.streams.splice)
        run_config = json.loads(config_to_json(cfg))

        def bundle_of(state, metrics=None):
            return ModelBundle(net_cfg, state, targets, feat_info, norm, list(getattr(corpus.lexicon, "inventory", [])
                                                                                 if pron else []),
                               pron, model_id=cfg.name, run_config=run_config, metrics=metrics or {})

        def on_snapshot(path, state, epoch):
            bundle_of(state, {"epoch": epoch}).save(path, overwrite=True)

        trainer = StreamTrainer(model, targets, make_loss(cfg.loss, bank.frame_rate), sampler, norm, cfg.train,
                                cfg.optim, cfg.streams, cfg.backtrack, noise_sd=noise_sd, out_dir=out_dir,
                                validate=validate if cfg.train.eval_every else None, on_snapshot=on_snapshot,
                                run_config=run_config, verbose=verbose)
        if resume:
            ck = out_dir / "checkpoint.pt"
            if not ck.exists():
                raise FileNotFoundError(f"cannot resume: no checkpoint at '{ck}'")
            trainer.resume(ck)
            logger.info("resumed from %s at epoch %d, step %d", ck, trainer.epoch_, trainer.step_)
        trainer.fit()
        best = trainer.best_state_ if trainer.best_state_ is not None else model.state_dict()
        model.load_state_dict(best)
        model.to("cpu")
        tests = _split_streams(sampler, bank, cfg, SPLIT_NAMES, cfg.streams.eval_max_tokens, seed + 1)
        import pandas as pd

        parts, competitors = [], None
        for s, ev in tests.items():
            sc, scores = evaluate_streams(model, ev, targets, normalizer=norm, last_frames=cfg.streams.last_frames,
                                          return_scores=True)
            parts.append(sc)
            if s == "trained" and pron:  # the paper's competitor sets, mean scores from word onset
                from .stream_evaluation import competitor_time_courses, stream_competitor_sets

                sets = stream_competitor_sets({w: pron[w] for w in targets.words}, targets.words)
                ok = sc[sc["correct"]].assign(word=lambda d: [targets.words[t] for t in d["target"]])
                competitors = competitor_time_courses(scores, ok, sets, targets.words, n_frames=60)
                competitors.to_csv(out_dir / "stream_competitors.csv")
        scored = pd.concat(parts, ignore_index=True)
        scored.to_csv(out_dir / "stream_evaluation.csv", index=False)
        by_split = stream_accuracy(scored, ["split"])
        by_talker = stream_accuracy(scored, ["split", "talker"])
        summary = {
            "name": cfg.name, "n_tokens": counts, "epochs": trainer.epoch_, "steps": trainer.step_,
            "stop_reason": trainer.stop_reason_, "best_epoch": trainer.backtrack.best_epoch_,
            "train_time_s": round(trainer._elapsed, 1),
            "stream_accuracy": {r.split: float(r.accuracy) for r in by_split.itertuples()},
            "stream_wer": {r.split: float(r.wer) for r in by_split.itertuples()},
            "stream_accuracy_by_talker": {f"{r.split}/{r.talker}": float(r.accuracy) for r in by_talker.itertuples()},
            "chance": 1.0 / targets.matrix.shape[0],
            "homophones_merged": dict(targets.aliases),
            "competitors_mean_0_600ms": ({c: (round(float(np.nanmean(v)), 4) if np.isfinite(v).any() else None)
                                          for c, v in ((c, competitors[c].to_numpy()) for c in competitors.columns)}
                                         if competitors is not None else None),
            "final_train_loss": trainer.history_[-1]["train_loss"] if trainer.history_ else None,
        }
        bundle_of(best, summary).save(out_dir / "model.pt", overwrite=True)
        summary["total_time_s"] = round(time.perf_counter() - t_start, 1)
        write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2))
        return summary


def run_stream_experiment(cfg: StreamExperimentConfig, out_dir, *, resume: bool = False, verbose=None) -> dict:
    """Load (or build) the config's corpus and :func:`train_streams` on it."""
    from .experiment import load_run_corpus

    return train_streams(cfg, load_run_corpus(cfg, verbose=verbose), out_dir, resume=resume, verbose=verbose)


def main(argv=None) -> dict:
    """``python -m neurorrn.models.stream_training CONFIG OUT_DIR [--resume]``."""
    import argparse

    ap = argparse.ArgumentParser(description="train a speech network on continuous streams (Brodbeck et al. 2025)")
    ap.add_argument("config")
    ap.add_argument("out_dir")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--max-epochs", type=int, default=None, help="override train.max_epochs (e.g. when resuming)")
    args = ap.parse_args(argv)
    cfg = StreamExperimentConfig.from_yaml(args.config)
    if args.max_epochs is not None:
        cfg.train = cfg.train.model_copy(update={"max_epochs": args.max_epochs})
    summary = run_stream_experiment(cfg, args.out_dir, resume=args.resume, verbose=True)
    logger.info("summary: %s", json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()


__all__ = ["Backtrack", "BacktrackConfig", "held_out_streams", "run_stream_experiment", "StreamExperimentConfig", "StreamSection", "StreamTrainConfig",
           "StreamTrainer", "TrainingTimeExceeded", "train_streams"]
