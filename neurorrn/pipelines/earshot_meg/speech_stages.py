"""Stages corpus → features → train → evaluate → export of the ``earshot_meg`` pipeline.

Each function takes a :class:`~neurorrn.pipeline.engine.StageContext`, writes its files under
``ctx.out`` and returns a small JSON-able summary (kept in the stage's ``result.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurorrn.utils._logging import logger

from .config import RunConfig
from .streams import write_streams


def _cfg(ctx) -> RunConfig:
    return RunConfig.from_dict(ctx.config, source="run config")


def _corpus(ctx):
    """The corpus of the ``corpus`` stage (built in its folder, or the user's root)."""
    from neurorrn.speech import load_corpus

    meta = ctx.inputs["corpus"].meta
    root = Path(meta["root"]) if meta.get("external") else ctx.inputs["corpus"].path / "corpus"
    return load_corpus(root)


# ----------------------------------------------------------------------------------- corpus
def corpus_stage(ctx) -> dict:
    """Synthesize the training corpus (:func:`neurorrn.speech.build_corpus`) or check a given one."""
    from neurorrn.speech import build_corpus, load_corpus

    sec = _cfg(ctx).corpus
    if sec.root is not None and sec.build is None:
        corpus = load_corpus(sec.root)
        problems = corpus.verify(checksums=False)
        if problems:
            raise FileNotFoundError(f"corpus at '{sec.root}' is incomplete: " + "; ".join(problems[:5]))
        external = True
        root = str(Path(sec.root).resolve())
    else:
        if sec.build is None:
            raise ValueError("config section 'corpus' needs 'build' (settings for neurorrn.speech.build_corpus) "
                             "or 'root' (an existing corpus)")
        corpus = build_corpus(sec.build, ctx.out / "corpus", n_jobs=ctx.options.get("n_jobs"))
        external = False
        root = "corpus"
    return {"root": root, "external": external, "n_tokens": len(corpus),
            "n_words": int(corpus.items["word"].nunique()), "n_talkers": int(corpus.items["talker"].nunique())}


# --------------------------------------------------------------------------------- features
def features_stage(ctx) -> dict:
    """Acoustic features of every token (:func:`neurorrn.speech.compute_features`)."""
    from neurorrn.speech import compute_features

    cfg = _cfg(ctx)
    corpus = _corpus(ctx)
    feats = compute_features(corpus, kind=cfg.features.kind, **cfg.features.params)
    if "split" in corpus.items.columns and "split" not in feats.coords:
        split = corpus.items.set_index("stimulus").loc[feats["stimulus"].values, "split"].astype(str).values
        feats = feats.assign_coords(corpus_split=("stimulus", split))
    feats.to_netcdf(ctx.out / "features.nc", engine="h5netcdf")
    return {"n_tokens": int(feats.sizes["stimulus"]), "n_features": int(feats.sizes["frequency"]),
            "frame_rate": float(feats.attrs["frame_rate"])}


# ------------------------------------------------------------------------------------ train
def _experiment_config(cfg: RunConfig):
    from neurorrn.models.experiment import ExperimentConfig
    from neurorrn.models.training import TrainConfig

    return ExperimentConfig(name=cfg.name, features=cfg.features, network=cfg.network, targets=cfg.targets,
                            loss=cfg.loss, optim=cfg.optim, train=TrainConfig(**cfg.train.model_dump(exclude={"mode"})),
                            holdout=cfg.holdout, evaluation=cfg.evaluation)


#: What the train stage keeps of its work folder (the rest, checkpoints, stays there for resuming).
_TRAIN_OUTPUTS = ("model.pt", "evaluation.nc", "summary.json", "metrics.jsonl", "stream_evaluation.csv",
                  "stream_competitors.csv")


def train_stage(ctx) -> dict:
    """Train the network: on isolated words (``train.mode: words``,
    :func:`neurorrn.models.experiment.train_on_features`) or on continuous streams
    (``train.mode: streams``, :func:`neurorrn.models.stream_training.train_streams`).

    Checkpoints go to the stage's persistent work folder, so a crashed or interrupted run resumes
    from the last checkpoint instead of starting over (and a model trained there under torchrun,
    :mod:`neurorrn.pipelines.ddp`, is picked up finished).
    """
    cfg = _cfg(ctx)
    summary = train_in(cfg, _corpus(ctx), ctx.inputs["features"].path / "features.nc", ctx.work)
    for name in _TRAIN_OUTPUTS:
        src = ctx.work / name
        if src.exists():
            src.replace(ctx.out / name)
    if cfg.stream_mode:
        return {"mode": "streams", "stream_accuracy": summary["stream_accuracy"],
                "stream_wer": summary["stream_wer"], "epochs": summary["epochs"], "steps": summary["steps"],
                "best_epoch": summary["best_epoch"], "stop_reason": summary["stop_reason"],
                "chance": summary["chance"], "homophones_merged": summary["homophones_merged"]}
    return {"mode": "words", "accuracy": summary["accuracy"], "epochs": summary["epochs"], "steps": summary["steps"],
            "chance": summary["chance"]}


class _EvalEpochsOnly:
    """A log filter that keeps the stream trainer's per-epoch record only at evaluation epochs
    (every epoch is in ``metrics.jsonl``; the run's log stays short)."""

    def __init__(self, every: int):
        self.every = max(1, int(every))

    def filter(self, record) -> bool:
        if record.msg == "epoch %d: %s" and isinstance(record.args, tuple) and record.args:
            return int(record.args[0]) % self.every == 0
        return True


def _train_streams_in(cfg: RunConfig, corpus, work) -> dict:
    from neurorrn.models.stream_training import train_streams

    from .config import stream_experiment_config

    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            raise ValueError("train.mode 'streams': the stream trainer runs in one process; start the run "
                             "without torchrun (or use train.mode: words for DDP)")
    except ImportError:  # pragma: no cover - torch without distributed
        pass
    resume = (Path(work) / "checkpoint.pt").is_file()
    if resume:
        logger.info("train: resuming stream training from %s", Path(work) / "checkpoint.pt")
    quiet = _EvalEpochsOnly(cfg.train.eval_every or cfg.train.checkpoint_every or 10)
    logger.addFilter(quiet)
    try:
        return train_streams(stream_experiment_config(cfg), corpus, work, resume=resume)
    finally:
        logger.removeFilter(quiet)


def _set_torch_threads(cfg: RunConfig) -> None:
    """Apply ``torch_threads`` when the config names it.

    A stage sees the config without its runtime sections (``torch_threads`` is one), so there the
    field holds its default, not the user's value; ``neurorrn run`` has already set the user's.
    Setting the default here again made every pipeline train and export with 2 threads whatever
    the config said.
    """
    if "torch_threads" in cfg.model_fields_set and cfg.torch_threads:
        import torch

        torch.set_num_threads(int(cfg.torch_threads))


def train_in(cfg: RunConfig, corpus, features_path, work) -> dict:
    """Train (or resume training) in folder ``work``: on the features at ``features_path``
    (isolated words), or on streams of the corpus tokens (``train.mode: streams``; the stream
    trainer computes the token features it splices with the same ``features`` settings)."""
    from neurorrn.models.experiment import train_on_features

    _set_torch_threads(cfg)
    if cfg.stream_mode:
        return _train_streams_in(cfg, corpus, work)
    with xr.open_dataarray(features_path, engine="h5netcdf") as da:
        feats = da.load()
    lex = corpus.lexicon
    words = sorted(set(map(str, corpus.items["word"])))
    pron = {w: list(lex.phones(w)) for w in words}
    sfreq = float(corpus.items["sfreq"].iloc[0]) if "sfreq" in corpus.items else None
    resume = (Path(work) / "checkpoint.pt").is_file()
    if resume:
        logger.info("train: resuming from %s", Path(work) / "checkpoint.pt")
    inventory = lex.inventory() if callable(lex.inventory) else lex.inventory
    return train_on_features(_experiment_config(cfg), feats, work, pronunciations=pron, phones=list(inventory),
                             sfreq=sfreq, resume=resume)


# --------------------------------------------------------------------------------- evaluate
def evaluate_stage(ctx) -> dict:
    """Recognition accuracy table and competitor time courses from the trained network's evaluation.

    A stream-trained network (``train.mode: streams``) is scored by the paper's stream word
    accuracy (see :func:`_evaluate_streams`).  An isolated-word network: EARSHOT's three criteria by item set (trained, excluded word, excluded talker), mean RTs, and
    the mean cosine of target, cohort, rhyme, DAS neighbour and unrelated words over time for the
    correctly recognised trained tokens (Magnuson et al. 2020, Fig. 3).
    """
    from neurorrn.models.evaluation import accuracy, competitor_time_courses, mean_rt

    if (ctx.inputs["train"].path / "stream_evaluation.csv").is_file():
        return _evaluate_streams(ctx)
    with xr.open_dataset(ctx.inputs["train"].path / "evaluation.nc", engine="h5netcdf") as ds:
        ds = ds.load()
    if "recognized" in ds and ds["recognized"].dtype != bool:  # netCDF stores booleans as int8
        ds["recognized"] = ds["recognized"].astype(bool)
    acc = accuracy(ds)
    rt = mean_rt(ds)
    frame_ms = 1000.0 / float(ds.attrs.get("frame_rate", 100.0))
    rows = []
    for s in acc["split"].values:
        n = ds.sizes["stimulus"] if s == "all" else int((ds["split"].values == s).sum())
        row = {"items": str(s), "n_tokens": int(n)}
        for c in acc["criterion"].values:
            row[f"accuracy ({c})"] = float(acc.sel(split=s, criterion=c))
        row["mean RT (ms, time-dependent)"] = float(rt.sel(split=s, criterion="time_dependent")) * frame_ms
        rows.append(row)
    table = pd.DataFrame(rows)
    table.to_csv(ctx.out / "accuracy.csv", index=False)
    gate = _check_gate(ctx, quality_gate(acc, _cfg(ctx).quality))
    meta = {"accuracy": table.to_dict(orient="records"), "quality_gate": gate}
    if "cs" in ds:
        split = "trained" if "trained" in set(ds["split"].values) else None
        try:
            tc = competitor_time_courses(ds, split=split)
        except ValueError as err:
            logger.warning("evaluate: no competitor time courses: %s", err)
        else:
            tc.attrs["split"] = str(split)
            tc.to_netcdf(ctx.out / "competitors.nc", engine="h5netcdf")
            peak = tc["mean"].max("time")
            meta["competitor_peaks"] = {str(c): float(v) for c, v in zip(peak["category"].values, peak.values)}
    return meta


#: Order of the item sets in the stream accuracy table.
_STREAM_SPLITS = ("trained", "excluded_word", "excluded_talker")


def _evaluate_streams(ctx) -> dict:
    """The evaluate stage of a stream-trained network (Brodbeck et al. 2025).

    The train stage scored every token of its fixed test streams (trained talkers' tokens in new
    orders, the held-out talker's, the held-out words': ``stream_evaluation.csv``) by the paper's
    rule: argmax over words of the softmax, maximised over the token's last frames, a tie counting
    as an error.  This stage tabulates the stream word accuracy and WER by item set and by item set
    × talker (``accuracy.csv``), applies the quality gate (``quality.criterion: stream``), and turns
    the mean word scores of the target and its competitors from word onset
    (``stream_competitors.csv``) into ``competitors.nc``.
    """
    from neurorrn.models.bundle import ModelBundle
    from neurorrn.models.stream_evaluation import stream_accuracy

    cfg = _cfg(ctx)
    tr = ctx.inputs["train"].path
    scored = pd.read_csv(tr / "stream_evaluation.csv")
    missing = {"split", "talker", "correct"} - set(scored.columns)
    if missing:
        raise ValueError(f"'{tr / 'stream_evaluation.csv'}' lacks column(s) {sorted(missing)}: not a stream "
                         "trainer's token table")
    scored["correct"] = scored["correct"].astype(bool)
    order = [s for s in _STREAM_SPLITS if s in set(scored["split"])]
    order += sorted(set(scored["split"]) - set(order))
    rows = []

    def add(items, talker, part):
        rows.append({"items": items, "talker": talker, "n_tokens": int(len(part)),
                     "stream accuracy": float(part["correct"].mean()), "WER": float(1.0 - part["correct"].mean())})

    for s in order:
        add(s, "all", scored[scored["split"] == s])
    add("all", "all", scored)
    by_talker = stream_accuracy(scored, ["split", "talker"])
    for s in order:
        for r in by_talker[by_talker["split"] == s].itertuples():
            add(s, str(r.talker), scored[(scored["split"] == s) & (scored["talker"] == r.talker)])
    table = pd.DataFrame(rows)
    table.to_csv(ctx.out / "accuracy.csv", index=False)
    overall = table[table["talker"] == "all"]
    acc = xr.DataArray(overall["stream accuracy"].to_numpy()[None, :], dims=("criterion", "split"),
                       coords={"criterion": ["stream"], "split": overall["items"].to_numpy()})
    gate = _check_gate(ctx, quality_gate(acc, cfg.quality))
    bundle = ModelBundle.load(tr / "model.pt")
    meta = {"mode": "streams", "accuracy": table.to_dict(orient="records"), "quality_gate": gate,
            "last_frames": int(bundle.run_config.get("streams", {}).get("last_frames", 10))}
    comp = tr / "stream_competitors.csv"
    if comp.is_file():
        tc = pd.read_csv(comp, index_col=0)
        frame_rate = float(bundle.frame_rate)
        time = tc.index.to_numpy(dtype=float) / frame_rate
        mean = xr.DataArray(tc.to_numpy(dtype=float).T, dims=("category", "time"),
                            coords={"category": [str(c) for c in tc.columns], "time": time})
        ds = xr.Dataset({"mean": mean, "se": xr.full_like(mean, np.nan)})
        ds["mean"].attrs.update(measure="softmax word score",
                                caption="Mean softmax word score (over words) of the target and of each competitor "
                                        "set from word onset, correctly recognised tokens of the trained talkers' test "
                                        "streams (Brodbeck et al. 2025).")
        ds.attrs["split"] = "trained"
        ds.to_netcdf(ctx.out / "competitors.nc", engine="h5netcdf")
        peak = mean.max("time")
        meta["competitor_peaks"] = {str(c): (float(v) if np.isfinite(v) else None)
                                    for c, v in zip(peak["category"].values, peak.values)}
    return meta


def _check_gate(ctx, gate: dict) -> dict:
    """Log the gate's verdict; with ``--strict`` a failed gate stops the run."""
    if not gate["passed"]:
        logger.warning("QUALITY GATE FAILED: %s", gate["message"])
        if ctx.options.get("strict"):
            from neurorrn.pipeline.engine import PipelineError

            raise PipelineError(f"quality gate (--strict): {gate['message']}")
    else:
        logger.info("quality gate passed: %s", gate["message"])
    return gate


def quality_gate(acc, quality) -> dict:
    """The gate's verdict for an accuracy table (``criterion`` × ``split``) and a
    :class:`~.config.QualitySection`: ``accuracy``, ``min_accuracy``, ``passed``, ``message``."""
    splits = [str(s) for s in acc["split"].values]
    if quality.split not in splits:
        return {"criterion": quality.criterion, "split": quality.split, "accuracy": None,
                "min_accuracy": quality.min_accuracy, "passed": False,
                "message": f"no {quality.split!r} tokens were evaluated (item sets: {', '.join(splits)})"}
    value = round(float(acc.sel(split=quality.split, criterion=quality.criterion)), 4)
    passed = bool(value >= quality.min_accuracy)
    if quality.criterion == "stream":
        what = f"stream word accuracy on the {quality.split.replace('_', ' ')} test streams"
    else:
        what = f"{quality.criterion.replace('_', '-')} accuracy on {quality.split.replace('_', ' ')} tokens"
    if passed:
        msg = f"{what} {value:.3f} >= {quality.min_accuracy:.2f}"
    else:
        msg = (f"{what} is {value:.3f}, below the configured {quality.min_accuracy:.2f} "
               "(quality.min_accuracy): the network has not learned its words, so its hidden units and every "
               "analysis of them describe an untrained model; train longer (train.max_epochs) or check the data")
    return {"criterion": quality.criterion, "split": quality.split, "accuracy": value,
            "min_accuracy": quality.min_accuracy, "passed": passed, "message": msg}


# ----------------------------------------------------------------------------------- export
def export_stage(ctx) -> dict:
    """Hidden-unit time courses of the trained network, as ActivationStores.

    * ``tokens.nc``: every corpus token, zero initial state (for probing);
    * ``streams.nc``: the listening experiment's stimuli run statefully (the model-unit predictors
      of the encoding analysis): the state is carried through each stimulus and, with
      ``export.reset_state`` (the default), starts from zero at every stimulus; the stimuli
      themselves go to ``stimuli/`` (``<stimulus>.wav`` and ``alignments.tsv``, the layout the
      simulator reads).

    The network is the train stage's bundle: with ``train.mode: streams`` one trained on continuous
    streams, so its units come from a network that recognises words in streams.
    """
    from neurorrn.models.bundle import ModelBundle
    from neurorrn.models.export import compute_bundle_features, export_activations, export_corpus

    cfg = _cfg(ctx)
    _set_torch_threads(cfg)
    sec = cfg.export
    bundle = ModelBundle.load(ctx.inputs["train"].path / "model.pt")
    corpus = _corpus(ctx)
    export_corpus(bundle, corpus, ctx.out / "tokens.nc", components=sec.components, batch_size=sec.batch_size)
    meta = {"tokens": "tokens.nc", "layers": list(bundle.build_model().layer_names)}
    if sec.stimuli == "streams":
        sounds, al = write_streams(corpus, ctx.out / "stimuli", n_streams=sec.streams.n_streams,
                                   random_state=sec.streams.random_state, **sec.streams.params)
        ids = list(sounds)
        feats = compute_bundle_features(bundle, [sounds[s] for s in ids], stimulus=ids)
        export_activations(bundle, feats, ctx.out / "streams.nc", components=sec.components, alignments=al,
                           mode="stream", batch_size=1, reset_state=sec.reset_state)
        meta.update(streams="streams.nc", stimuli="stimuli", n_streams=len(ids), reset_state=sec.reset_state,
                    trained_on="streams" if "streams" in bundle.run_config else "words",
                    stream_seconds=float(sum(a.size / sr for a, sr in sounds.values())))
    else:
        meta.update(_export_dataset_audio(cfg, bundle, ctx))
    return meta


def _export_dataset_audio(cfg: RunConfig, bundle, ctx) -> dict:
    """Run the audio files of a real dataset (its ``stimuli/`` folder) through the network."""
    from neurorrn.models.export import compute_bundle_features, export_activations
    from neurorrn.speech import read_audio

    ds = cfg.brain.dataset
    if ds is None:
        raise ValueError("export.stimuli='dataset' needs a brain.dataset section (manifest, root)")
    root = Path(ds.root).expanduser()
    wavs = sorted(root.glob("stimuli/**/*.wav"))
    if not wavs:
        raise FileNotFoundError(f"no stimulus audio under '{root / 'stimuli'}' (expected the dataset's "
                                "stimuli/**/*.wav, as in MEG-MASC)")
    ids = [w.stem for w in wavs]
    sounds = [read_audio(w, name=w.stem) for w in wavs]
    feats = compute_bundle_features(bundle, sounds, stimulus=ids)
    export_activations(bundle, feats, ctx.out / "streams.nc", components=cfg.export.components,
                       mode="stream", batch_size=1, reset_state=cfg.export.reset_state)
    return {"streams": "streams.nc", "n_streams": len(ids), "reset_state": cfg.export.reset_state}


def stage_summary(results) -> pd.DataFrame:
    """A table of stage keys and timings (for the report)."""
    rows = []
    for name, r in results.items():
        info = json.loads((r.path / "result.json").read_text(encoding="utf-8"))
        rows.append({"stage": name, "key": r.key, "seconds": info.get("seconds"), "finished": info.get("finished")})
    return pd.DataFrame(rows)


__all__ = ["corpus_stage", "features_stage", "train_stage", "evaluate_stage", "export_stage", "quality_gate", "stage_summary"]
