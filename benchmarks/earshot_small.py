"""EARSHOT in small: synthesize 100 words x 6 talkers, train an LSTM on CPU, evaluate.

Acceptance run of ``neurorrn.models`` (issue 11): a corpus of 100 frequent words rich in cohorts
and rhymes (:func:`_lexicon.pick_words`) spoken by 6 espeak-ng talkers, hold-out M (one talker
fully excluded, and each other talker loses a different 16 words), ``configs/earshot_small.yaml``
(64-band log-mel features standardised with training-set statistics, LSTM of 128 units, sparse
random 300-dim targets, EARSHOT's loss and Noam-scheduled Adam), trained on CPU within a time
budget, then EARSHOT's recognition analyses.

Prints one JSON line: accuracies (three criteria x trained / excluded word / excluded talker),
chance, mean RTs, and the competitor time courses of correctly recognised trained tokens
(mean over 0-600 ms, cohort peak) with the checks of the acceptance criteria.

Usage::

    python benchmarks/earshot_small.py [--out runs/bench/earshot_small] [--budget-s 600] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def competitor_summary(ds, window_s=0.6):
    """Competitor curves of correct trained tokens and the acceptance checks."""
    from neurorrn.models import competitor_time_courses

    tc = competitor_time_courses(ds, only_correct=True, split="trained")
    t = tc["time"].values
    sel = t <= window_s + 1e-9
    mean = {str(c): float(np.nanmean(tc["mean"].sel(category=c).values[sel])) for c in tc["category"].values}
    # SE of the window mean over tokens
    cs = ds["cs"].where(ds["recognized"].sel(criterion="time_dependent") & (ds["split"] == "trained"), drop=True)
    wmean = cs.isel(time=np.flatnonzero(sel)).mean("time")
    se = {str(c): float(wmean.sel(category=c).std("stimulus", skipna=True)
                        / np.sqrt(wmean.sel(category=c).notnull().sum())) for c in tc["category"].values}
    coh = tc["mean"].sel(category="cohort").values
    peak_i = int(np.nanargmax(coh[sel]))
    coh_se = tc["se"].sel(category="cohort").values
    curves = {str(c): [round(float(v), 4) for v in tc["mean"].sel(category=c).values[sel][::5]]
              for c in tc["category"].values}
    checks = {
        "target>cohort>unrelated": mean["target"] > mean["cohort"] > mean["unrelated"],
        # transient: the cohort curve peaks, then falls clearly (beyond 2 SE) by the end of the window
        "cohort_transient_peak": bool(coh[sel][-1] < coh[peak_i] - 2 * max(coh_se[peak_i], coh_se[sel][-1])
                                      and peak_i < int(sel.sum()) - 1),
        "rhyme_not_below_unrelated": mean["rhyme"] >= mean["unrelated"] - se["rhyme"],
    }
    return {
        "window_s": window_s, "mean": {k: round(v, 4) for k, v in mean.items()},
        "se": {k: round(v, 4) for k, v in se.items()},
        "n_tokens": {str(c): int(tc["n"].sel(category=c)) for c in tc["category"].values},
        "cohort_peak_s": round(float(t[sel][peak_i]), 3), "cohort_peak": round(float(coh[peak_i]), 4),
        "cohort_end": round(float(coh[sel][-1]), 4),
        "curves_every_50ms": curves, "checks": checks,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description="EARSHOT small benchmark (CPU)")
    ap.add_argument("--config", default=str(REPO / "configs" / "earshot_small.yaml"))
    ap.add_argument("--out", default=str(REPO / "runs" / "bench" / "earshot_small"))
    ap.add_argument("--corpus", default=None, help="corpus root (default OUT/../earshot_small_corpus)")
    ap.add_argument("--budget-s", type=float, default=None,
                    help="training time budget in s (default: the config's train.max_time_s, 690)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a loaded 2-core box)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(HERE))
    from _lexicon import pick_words

    from neurorrn.models.experiment import ExperimentConfig, train_on_features
    from neurorrn.speech import CorpusConfig, build_corpus, compute_features

    t0 = time.perf_counter()
    out = Path(args.out)
    cfg = ExperimentConfig.from_yaml(args.config)
    if args.budget_s is not None:
        cfg.train = cfg.train.model_copy(update={"max_time_s": args.budget_s})
    words = pick_words(100)
    build = CorpusConfig.from_dict(cfg.corpus.build, source=f"{args.config}: corpus.build")
    if list(build.lexicon.words or []) != list(words):
        raise ValueError(f"{args.config}: corpus.build.lexicon.words is not pick_words(100); update the config")
    root = Path(args.corpus) if args.corpus else out.parent / "earshot_small_corpus"
    corpus = build_corpus(build, root)
    t_corpus = time.perf_counter() - t0
    feats = compute_features(corpus, kind=cfg.features.kind, **cfg.features.params)
    t_feat = time.perf_counter() - t0 - t_corpus
    pron = {w: list(corpus.lexicon.phones(w)) for w in sorted(set(corpus.items["word"]))}
    summary = train_on_features(cfg, feats, out, pronunciations=pron, phones=list(corpus.lexicon.inventory),
                                sfreq=16000.0, verbose=args.verbose)
    from neurorrn.models.evaluation import load_evaluation

    ds = load_evaluation(out / "evaluation.nc")
    comp = competitor_summary(ds)
    fr = float(feats.attrs["frame_rate"])
    acc = summary["accuracy"]
    result = {
        "benchmark": "earshot_small",
        "corpus": {"words": len(words), "talkers": int(corpus.items["talker"].nunique()), "tokens": len(corpus.items),
                   "cohort_members_per_word": round(float(np.mean([
                       sum(1 for v in words if v != w and words[v][:2] == words[w][:2]) for w in words])), 2),
                   "rhyme_members_per_word": round(float(np.mean([
                       sum(1 for v in words if v != w and len(words[v]) == len(words[w]) and words[v][1:] == words[w][1:])
                       for w in words])), 2)},
        "network": f"{cfg.network.cell.upper()} {int(feats.sizes['frequency'])}->{cfg.network.hidden_sizes}->{cfg.targets.n_dims}",
        "features": cfg.features.kind, "holdout": cfg.holdout.mode, "split_sizes": summary["n_tokens"],
        "epochs": summary["epochs"], "steps": summary["steps"], "train_time_s": summary["train_time_s"],
        "accuracy_time_dependent": acc["time_dependent"], "accuracy_absolute": acc["absolute"],
        "accuracy_relative": acc["relative"], "chance": summary["chance"],
        "mean_rt_ms": {k: (None if v is None else round(1000 * v / fr, 1))
                       for k, v in summary["mean_rt_frames"].items()},
        "mean_offset_rt_ms": {k: (None if v is None else round(1000 * v / fr, 1))
                              for k, v in summary["mean_offset_rt_frames"].items()},
        "competitors_trained_correct": comp,
        "acceptance": {
            "trained_time_dependent>=0.9": acc["time_dependent"]["trained"] >= 0.9,
            "excluded_talker_above_chance": acc["time_dependent"].get("excluded_talker", 0) > 5 * summary["chance"],
            **comp["checks"],
        },
        "seconds": {"corpus": round(t_corpus, 1), "features": round(t_feat, 1),
                    "total": round(time.perf_counter() - t0, 1)},
        "threads": args.threads,
    }
    print(json.dumps(result, allow_nan=False))
    return result


if __name__ == "__main__":
    main()
