"""Stream training in small: a network trained on continuous streams vs one trained on isolated words.

Acceptance run of issue 16 (Brodbeck, Hannagan & Magnuson 2025 design at demo scale):
``configs/stream_small.yaml`` (60 words x 6 espeak-ng talkers, talker f2 held out, so 5 trained
talkers, LSTM 128, one-hot targets with the cohort loss, RMSprop 3e-3, 2 s segments with the state
carried, batch 32, 20 dB noise, band-shift augmentation; ``--config
configs/stream_small_5talkers.yaml`` for 4 trained talkers) is trained for its fixed number of
epochs with :func:`neurorrn.models.stream_training.train_streams` and scored with the paper's stream word accuracy on NoSil test streams (every held-out token
``eval_repeats`` times, words back to back, no reset).  Beside it, the isolated-word trainer
(:func:`neurorrn.models.experiment.train_on_features`, EARSHOT's loss and SRV targets, same
features, network size and hold-out) is trained on the same number of speech frames and scored on
isolated tokens (EARSHOT's time-dependent criterion) and on the *same* test streams.

Prints one JSON line: ``stream_accuracy_trained``, ``stream_accuracy_excluded_talker``,
``isolated_accuracy`` (the isolated-word model on isolated trained tokens),
``isolated_model_stream_accuracy_*``, epochs/steps, chance, ``seconds`` (wall clock),
``cpu_seconds`` (this process) and the load average.  Training stops on epochs, never on the clock;
the seconds depend on the machine and its load, the accuracies do not.

Usage::

    python benchmarks/stream_small.py [--config configs/stream_small.yaml] [--seed 0] [--skip-isolated]
        [--out runs/bench/stream_small] [--corpus DIR] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

ISOLATED = {  # EARSHOT-style isolated-word training at the same scale (configs/earshot_small.yaml)
    "name": "isolated_small",
    "network": {"cell": "lstm", "hidden_sizes": [128], "output_bias_init": -3.37},
    "targets": {"kind": "srv", "n_dims": 300, "n_active": 10, "random_state": 0},
    "loss": {"kind": "earshot"},
    "optim": {"kind": "adam_noam", "lr": 0.003, "warmup_steps": 300, "clip_norm": 1.0},
    "train": {"batch_size": 32, "max_epochs": 100000, "carry_state": False, "eval_every": 1000000,
              "checkpoint_every": 0, "random_state": 0},
    "evaluation": {"batch_size": 256, "monitor_max_tokens": None, "competitors": False},
}


def main(argv=None):
    ap = argparse.ArgumentParser(description="stream training vs isolated-word training (CPU)")
    ap.add_argument("--config", default=str(REPO / "configs" / "stream_small.yaml"))
    ap.add_argument("--out", default=str(REPO / "runs" / "bench" / "stream_small"))
    ap.add_argument("--corpus", default=None, help="corpus root (default: the config's corpus.root)")
    ap.add_argument("--epochs", type=int, default=None, help="override train.max_epochs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=None, help="override train.random_state")
    ap.add_argument("--skip-isolated", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from neurorrn.models.experiment import ExperimentConfig, train_on_features
    from neurorrn.models.bundle import ModelBundle
    from neurorrn.models.stream_evaluation import evaluate_streams
    from neurorrn.models.stream_training import StreamExperimentConfig, held_out_streams, train_streams
    from neurorrn.speech import CorpusConfig, build_corpus, compute_features

    t0, cpu0, load0 = time.perf_counter(), time.process_time(), os.getloadavg()
    cfg = StreamExperimentConfig.from_yaml(args.config)
    if args.epochs is not None:
        cfg.train = cfg.train.model_copy(update={"max_epochs": args.epochs})
    if args.seed is not None:
        cfg.train = cfg.train.model_copy(update={"random_state": args.seed})
    out = Path(args.out)
    build = CorpusConfig.from_dict(cfg.corpus.build, source=f"{args.config}: corpus.build")
    corpus = build_corpus(build, Path(args.corpus) if args.corpus else REPO / cfg.corpus.root)
    t_corpus = time.perf_counter() - t0

    t1, c1 = time.perf_counter(), time.process_time()
    stream = train_streams(cfg, corpus, out / "stream", verbose=args.verbose)
    t_stream, c_stream = time.perf_counter() - t1, time.process_time() - c1
    frames = stream["steps"] * cfg.train.batch_size * round(cfg.streams.segment_s * 100)

    result = {
        "benchmark": "stream_small",
        "corpus": {"words": int(corpus.items["word"].nunique()), "talkers": int(corpus.items["talker"].nunique()),
                   "excluded_talker": cfg.holdout.excluded_talker, "tokens": len(corpus.items)},
        "network": f"LSTM {cfg.network.hidden_sizes}, {cfg.targets.kind}, {cfg.loss.kind} loss",
        "stream_accuracy_trained": stream["stream_accuracy"].get("trained"),
        "stream_accuracy_excluded_talker": stream["stream_accuracy"].get("excluded_talker"),
        "stream_accuracy_by_talker": stream["stream_accuracy_by_talker"],
        "stream_epochs": stream["epochs"], "stream_steps": stream["steps"], "stream_frames": frames,
        "stream_train_time_s": stream["train_time_s"], "stop_reason": stream["stop_reason"],
        "chance": stream["chance"], "seed": cfg.train.random_state,
        "test_tokens_per_split": {"trained": int(stream["n_tokens"]["trained"]) * cfg.streams.eval_repeats,
                                  "excluded_talker": int(stream["n_tokens"]["excluded_talker"]) * cfg.streams.eval_repeats},
    }
    c_iso = None
    if not args.skip_isolated:
        t2, c2 = time.perf_counter(), time.process_time()
        iso_cfg = ExperimentConfig.from_dict({
            **ISOLATED, "features": cfg.features.model_dump(mode="json"),
            "holdout": cfg.holdout.model_dump(mode="json")}, source="stream_small isolated")
        feats = compute_features(corpus, kind=cfg.features.kind, **cfg.features.params)
        mean_len = float(np.nanmean(feats["n_frames"].values))
        steps = max(1, int(round(frames / (iso_cfg.train.batch_size * mean_len))))  # same speech frames
        iso_cfg.train = iso_cfg.train.model_copy(update={"max_steps": steps})
        pron = {w: list(corpus.lexicon.phones(w)) for w in sorted(set(corpus.items["word"]))}
        iso = train_on_features(iso_cfg, feats, out / "isolated", pronunciations=pron,
                                phones=list(corpus.lexicon.inventory), sfreq=float(build.sfreq), verbose=args.verbose)
        bundle = ModelBundle.load(out / "isolated" / "model.pt")
        model = bundle.build_model()
        tests = held_out_streams(cfg, corpus, bundle.targets.index, splits=("trained", "excluded_talker"))
        acc = {s: float(evaluate_streams(model, ev, bundle.targets, normalizer=bundle.normalizer,
                                         last_frames=cfg.streams.last_frames)["correct"].mean())
               for s, ev in tests.items()}
        result.update({
            "isolated_accuracy": iso["accuracy"]["time_dependent"].get("trained"),
            "isolated_accuracy_excluded_talker": iso["accuracy"]["time_dependent"].get("excluded_talker"),
            "isolated_model_stream_accuracy_trained": acc.get("trained"),
            "isolated_model_stream_accuracy_excluded_talker": acc.get("excluded_talker"),
            "isolated_steps": iso["steps"], "isolated_train_time_s": iso["train_time_s"],
            "isolated_seconds": round(time.perf_counter() - t2, 1),
        })
        c_iso = round(time.process_time() - c2, 1)
    result["acceptance"] = {
        "stream_accuracy_trained>=0.85": (result["stream_accuracy_trained"] or 0) >= 0.85,
        "stream_accuracy_excluded_talker>=0.6": (result["stream_accuracy_excluded_talker"] or 0) >= 0.6,
    }
    result["seconds"] = {"corpus": round(t_corpus, 1), "stream_total": round(t_stream, 1),
                         "total": round(time.perf_counter() - t0, 1)}
    # CPU seconds of this process (one torch thread): on a shared machine the wall clock also counts
    # the time other jobs held the cores
    result["cpu_seconds"] = {"stream_total": round(c_stream, 1), "isolated_total": c_iso,
                             "total": round(time.process_time() - cpu0, 1)}
    result["load_avg_1min"] = {"start": round(load0[0], 2), "end": round(os.getloadavg()[0], 2),
                               "cpus": os.cpu_count()}
    result["threads"] = args.threads
    print(json.dumps(result, allow_nan=False))
    return result


if __name__ == "__main__":
    main()
