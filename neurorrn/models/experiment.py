"""One training run from a YAML config: corpus -> features -> hold-out -> train -> evaluate -> bundle.

:class:`ExperimentConfig` is the schema of ``configs/earshot_*.yaml``; :func:`run_experiment`
is what ``neurorrn train CONFIG`` runs.  :func:`train_on_features` does the work once features
exist (the benchmark and tests call it directly with their own features).

Outputs in ``out_dir``: ``checkpoint.pt`` (resumable), ``best.pt`` (best monitored value),
``metrics.jsonl`` (one line per epoch), ``model.pt`` (:class:`~neurorrn.models.bundle.ModelBundle`),
``evaluation.nc`` (per-token RTs and competitor curves) and ``summary.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal, Mapping

import numpy as np

from ..config import ConfigModel, config_to_json
from ..utils._check import check_path
from ..utils._io import write_text_atomic
from ..utils._logging import logger, use_log_level
from .bundle import ModelBundle, features_record
from .data import FeatureNormalizer, FeatureSet, holdout_split
from .evaluation import accuracy, evaluate_network, mean_rt, save_evaluation
from .losses import LossConfig, make_loss
from .networks import NetworkConfig, SpeechRNN
from .targets import TargetConfig, make_targets
from .training import OptimConfig, TrainConfig, Trainer, load_checkpoint


class CorpusSection(ConfigModel):
    """Where the corpus is: ``root`` (built there from ``build`` when it does not exist yet).

    ``build`` is passed to :func:`neurorrn.speech.build_corpus` (see its config schema).
    """

    root: str
    build: dict[str, Any] | None = None


class FeatureSection(ConfigModel):
    """Acoustic features (:func:`neurorrn.speech.compute_features`) and their normalisation.

    ``normalization="zscore"`` standardises each channel with the mean and SD of the training
    tokens' frames (causal); ``"none"`` feeds the features as they are (EARSHOT's [0, 1] dB).
    """

    kind: Literal["earshot", "gammatone", "logmel", "envelope", "onsets"] = "earshot"
    params: dict[str, Any] = {}
    normalization: Literal["none", "zscore"] = "none"


class HoldoutSection(ConfigModel):
    """EARSHOT hold-out (see :func:`~neurorrn.models.data.holdout_split`)."""

    mode: Literal["none", "P", "T", "M"] = "M"
    excluded_talker: str | None = None
    random_state: int = 0


class EvaluationSection(ConfigModel):
    """Monitoring during training and the final evaluation."""

    batch_size: int = 256
    monitor_max_tokens: int | None = 2000
    competitors: bool = True


class ExperimentConfig(ConfigModel):
    """A full EARSHOT-style run (see ``configs/earshot_paper.yaml``)."""

    name: str = "earshot"
    corpus: CorpusSection | None = None
    features: FeatureSection = FeatureSection()
    network: NetworkConfig = NetworkConfig()
    targets: TargetConfig = TargetConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()
    holdout: HoldoutSection = HoldoutSection()
    evaluation: EvaluationSection = EvaluationSection()


def _finite(x):
    """JSON-safe: NaN (e.g. the mean RT of a split with no recognised token) becomes None."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def _validator(model, data: FeatureSet, targets, batch_size: int, max_tokens: int | None, seed: int):
    """Monitoring metric: time-dependent accuracy per split on (a fixed sample of) tokens."""
    idx = np.arange(data.n_tokens)
    if max_tokens is not None and data.n_tokens > max_tokens:
        idx = np.sort(np.random.default_rng(seed).choice(data.n_tokens, max_tokens, replace=False))
    sub = data.subset(idx)

    def validate(m) -> dict:
        ds = evaluate_network(m, sub, targets, criteria=("time_dependent",), batch_size=batch_size,
                              max_cycle=int(data.lengths.max()))
        acc = accuracy(ds).sel(criterion="time_dependent")
        return {f"val_{s}_accuracy": float(acc.sel(split=s)) for s in acc["split"].values}

    return validate


def train_on_features(cfg: ExperimentConfig, features, out_dir, *, pronunciations: Mapping | None = None,
                      phones=None, sfreq: float | None = None, resume: bool = False, verbose=None,
                      allow_config_change: bool = False) -> dict:
    """Train and evaluate on labelled features (dims stimulus, time, frequency).

    Parameters
    ----------
    cfg : ExperimentConfig
    features : xarray.DataArray
        Raw features of every token (coords ``word``, ``talker``; attr ``frame_rate``).
    out_dir : path
    pronunciations : mapping word -> phones | None
        For competitor time courses and the bundle.
    phones : list of str | None
        Phone inventory stored in the bundle (default: from ``pronunciations``).
    sfreq : float | None
        Audio sample rate of the corpus (stored in the bundle).
    resume : bool
        Continue from ``out_dir/checkpoint.pt``.  Without it, a folder that already holds a run
        is refused (see :mod:`neurorrn.models.training`).
    allow_config_change : bool
        Let ``resume`` continue a checkpoint written under another training configuration.

    Returns
    -------
    summary : dict
        Accuracies by criterion and split, mean RTs, epochs, steps, time (also ``summary.json``).
    """
    out_dir = check_path(out_dir, "out_dir")
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    with use_log_level(verbose):
        data = FeatureSet.from_xarray(features)
        data.split = holdout_split(data.word, data.talker, cfg.holdout.mode, cfg.holdout.excluded_talker,
                                   cfg.holdout.random_state)
        counts = {s: int((data.split == s).sum()) for s in ("trained", "excluded_word", "excluded_talker")}
        logger.info("hold-out %s: %s", cfg.holdout.mode, counts)
        norm = FeatureNormalizer(cfg.features.normalization).fit(data.subset(data.split == "trained"))
        data = norm.transform(data)
        words = sorted(set(data.word.tolist()))
        targets = make_targets(words, cfg.targets, pronunciations=pronunciations)  # homophones: one target
        if not targets.binary and (cfg.network.output_activation != "linear" or cfg.loss.kind != "mse"):
            raise ValueError(f"dense targets ({cfg.targets.kind!r}) need network.output_activation: linear and "
                             f"loss.kind: mse; got {cfg.network.output_activation!r} and {cfg.loss.kind!r}")
        net_cfg = cfg.network.model_copy(update={"n_input": data.n_features, "n_output": targets.n_dims})
        if net_cfg.n_input != cfg.network.n_input or net_cfg.n_output != cfg.network.n_output:
            logger.info("network sizes set from the data: n_input=%d, n_output=%d", net_cfg.n_input, net_cfg.n_output)
        model = SpeechRNN(net_cfg, random_state=cfg.train.random_state)
        validate = _validator(model, data, targets, cfg.evaluation.batch_size, cfg.evaluation.monitor_max_tokens,
                              cfg.train.random_state)
        run_config = json.loads(config_to_json(cfg))
        trainer = Trainer(model, targets, make_loss(cfg.loss, data.frame_rate), cfg.train, cfg.optim,
                          out_dir=out_dir, validate=validate, run_config=run_config, verbose=verbose)
        if resume:
            ck = out_dir / "checkpoint.pt"
            if not ck.exists():
                raise FileNotFoundError(f"cannot resume: no checkpoint at '{ck}'")
            trainer.resume(ck, allow_config_change=allow_config_change)
            logger.info("resumed from %s at epoch %d, step %d", ck, trainer.epoch_, trainer.step_)
        trainer.fit(data)
        from .training import _dist

        if _dist()[1] != 0:  # under torchrun only rank 0 evaluates and writes
            return {"name": cfg.name, "rank": _dist()[1], "epochs": trainer.epoch_, "steps": trainer.step_}
        model_weights = "final"
        if trainer._best is not None and (out_dir / "best.pt").exists():  # the bundle holds the best weights
            best = load_checkpoint(out_dir / "best.pt")
            model.load_state_dict(best["model"])
            model_weights = f"best.pt (epoch {best['epoch']}, {cfg.train.early_stopping.monitor}={trainer._best:.4g})"
            logger.info("model.pt: the weights of %s", model_weights)
        model.to("cpu")
        word_offsets = (np.round(features["word_end"].values * data.frame_rate)  # offset RTs from the word's end
                        if "word_end" in features.coords else None)
        ds = evaluate_network(model, data, targets, pronunciations=pronunciations if cfg.evaluation.competitors else None,
                              word_offsets=word_offsets, batch_size=cfg.evaluation.batch_size)
        acc = accuracy(ds)
        summary = {
            "name": cfg.name,
            "n_tokens": counts,
            "epochs": trainer.epoch_,
            "steps": trainer.step_,
            "train_time_s": round(trainer._elapsed, 1),
            "accuracy": {str(c): {str(s): float(acc.sel(criterion=c, split=s)) for s in acc["split"].values}
                         for c in acc["criterion"].values},
            "mean_rt_frames": {str(s): float(v) for s, v in zip(
                acc["split"].values, mean_rt(ds).sel(criterion="time_dependent").values)},
            "mean_offset_rt_frames": {str(s): float(v) for s, v in zip(
                acc["split"].values, mean_rt(ds, offset=True).sel(criterion="time_dependent").values)},
            "chance": 1.0 / len(words),
            "final_train_loss": trainer.history_[-1]["train_loss"] if trainer.history_ else None,
            "model_weights": model_weights,
        }
        pron = {w: list(pronunciations[w]) for w in words} if pronunciations is not None else {}
        inventory = list(phones) if phones is not None else sorted({p for ps in pron.values() for p in ps})
        summary = _finite(summary)
        bundle = ModelBundle(net_cfg, model.state_dict(), targets,
                             features_record(features, cfg.features.kind, cfg.features.params, sfreq, data.n_features),
                             norm, inventory, pron, model_id=cfg.name, run_config=run_config, metrics=summary)
        bundle.save(out_dir / "model.pt", overwrite=True)
        ds.attrs["config_json"] = config_to_json(cfg)
        save_evaluation(ds, out_dir / "evaluation.nc", overwrite=True)
        summary["total_time_s"] = round(time.perf_counter() - t_start, 1)
        summary = _finite(summary)
        write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2, allow_nan=False))
        return summary


def load_run_corpus(cfg: ExperimentConfig, verbose=None):
    """Load the corpus at ``cfg.corpus.root``, building it from ``cfg.corpus.build`` when absent."""
    from .. import speech

    if cfg.corpus is None:
        raise ValueError("the config has no 'corpus' section (root, build)")
    root = Path(cfg.corpus.root)
    try:
        return speech.load_corpus(root)
    except FileNotFoundError:
        if cfg.corpus.build is None:
            raise FileNotFoundError(f"no corpus at '{root}' and no corpus.build settings to build one") from None
        return speech.build_corpus(cfg.corpus.build, root, verbose=verbose)


def run_experiment(cfg: ExperimentConfig, out_dir, *, resume: bool = False, verbose=None,
                   allow_config_change: bool = False) -> dict:
    """Everything ``neurorrn train CONFIG`` does: corpus, features, training, evaluation, bundle."""
    from ..speech.features import compute_features
    from .training import init_distributed

    rank, world = init_distributed()  # (0, 1) outside torchrun
    if world > 1:  # rank 0 builds (or loads) the corpus first; the others then load it
        import torch.distributed as dist

        if rank == 0:
            corpus = load_run_corpus(cfg, verbose=verbose)
        dist.barrier()
        if rank != 0:
            corpus = load_run_corpus(cfg, verbose=verbose)
    else:
        corpus = load_run_corpus(cfg, verbose=verbose)
    feats = compute_features(corpus, kind=cfg.features.kind, verbose=verbose, **cfg.features.params)
    lex = corpus.lexicon
    words = sorted(set(map(str, corpus.items["word"])))
    pron = {w: list(lex.phones(w)) for w in words}
    sfreq = float(corpus.items["sfreq"].iloc[0]) if "sfreq" in corpus.items else None
    return train_on_features(cfg, feats, out_dir, pronunciations=pron, phones=list(lex.inventory), sfreq=sfreq,
                             resume=resume, verbose=verbose, allow_config_change=allow_config_change)


__all__ = ["ExperimentConfig", "train_on_features", "run_experiment", "load_run_corpus"]
