"""Model-brain benchmarks in the manner of Brain-Score (Schrimpf et al. 2020 Neuron; 2021 PNAS).

A benchmark is a recording with its stimuli and a noise ceiling (:mod:`._benchmarks`); a model is
any :class:`~neurorrn.subject.ModelSubject` taking ``(audio, sfreq)``.  The score follows
Brain-Score: a TRF (ridge over lags) from the model's units to every sensor, cross-validated over
contiguous folds; the held-out correlation per sensor divided by that sensor's noise ceiling,
clipped to [0, 1], and the median over sensors (:func:`ceiling_normalize`).

:data:`BENCHMARKS` and :data:`MODELS` are registries (name -> factory); ``neurorrn benchmark run
MODEL BENCHMARK`` scores one pair, ``neurorrn benchmark leaderboard DIR`` tabulates and plots
every score in a folder.  Model specs: a registry name (``acoustic``, ``reservoir``),
``bundle:PATH`` (a trained speech network) or ``store:PATH`` (activations already recorded on the
benchmark's stimuli).

Where we differ from Brain-Score: the regression is a TRF over lags (speech is continuous) rather
than a per-stimulus linear map; folds are contiguous blocks of the recording, not random splits
of stimuli; sensors whose ceiling is below ``min_ceiling`` are not scored.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..utils._check import check_option, check_path
from ._benchmarks import (Benchmark, BrainData, RecordingBenchmark, SimulatorBenchmark, record_model,
                          save_score)
from ._models import AcousticBaseline, ReservoirSubject, log_spectrogram
from ._score import ceiling_normalize, score_predictors

__all__ = ["BENCHMARKS", "MODELS", "AcousticBaseline", "Benchmark", "BrainData", "RecordingBenchmark",
           "ReservoirSubject", "SimulatorBenchmark", "ceiling_normalize", "get_benchmark", "get_model",
           "leaderboard", "log_spectrogram", "plot_leaderboard", "record_model", "run_benchmark",
           "save_score", "score_predictors"]

#: Benchmark name -> factory(**kw) -> Benchmark.
BENCHMARKS = {"sim": SimulatorBenchmark, "recording": RecordingBenchmark}

#: Model name -> factory(**kw) -> ModelSubject.
MODELS = {"acoustic": AcousticBaseline, "reservoir": ReservoirSubject}


def get_model(spec: str, **kw):
    """A model from a spec: a :data:`MODELS` name, ``bundle:PATH`` or ``store:PATH``."""
    if spec.startswith("bundle:"):
        from ..models.export import NetworkSubject

        return NetworkSubject(check_path(spec[7:], "bundle", must_exist=True), **kw)
    if spec.startswith("store:"):
        from ..store import load_store

        return load_store(check_path(spec[6:], "store", must_exist=True))
    check_option(spec, list(MODELS) + ["bundle:PATH", "store:PATH"], "model")
    return MODELS[spec](**kw)


def get_benchmark(name: str, **kw) -> Benchmark:
    """A benchmark from :data:`BENCHMARKS`; an unknown name lists the options."""
    check_option(name, sorted(BENCHMARKS), "benchmark")
    return BENCHMARKS[name](**kw)


def run_benchmark(model, benchmark, out_dir=None, model_kw=None, benchmark_kw=None, overwrite: bool = False,
                  verbose=None):
    """Score ``model`` (spec or ModelSubject) on ``benchmark`` (name or Benchmark).

    Returns the per-sensor score Dataset (attr ``score``); with ``out_dir`` also writes it
    (:func:`save_score`).
    """
    m = get_model(model, **(model_kw or {})) if isinstance(model, str) else model
    b = get_benchmark(benchmark, **(benchmark_kw or {})) if isinstance(benchmark, str) else benchmark
    res = b.score(m, verbose=verbose)
    if out_dir is not None:
        mname = model if isinstance(model, str) else getattr(m, "model_id", "model")
        save_score(res, out_dir, mname, b.name, overwrite=overwrite)
    return res


def leaderboard(scores) -> pd.DataFrame:
    """Models x benchmarks table of scores, best model first.

    ``scores``: a folder of ``<model>__<benchmark>.json`` files (from :func:`run_benchmark`), or a
    list of dicts / score Datasets with ``model``, ``benchmark`` and ``score``.
    """
    import json

    rows = []
    if isinstance(scores, (str, Path)):
        folder = check_path(scores, "scores", must_exist=True)
        files = sorted(folder.glob("*__*.json"))
        if not files:
            raise FileNotFoundError(f"no '<model>__<benchmark>.json' score files in '{folder}'")
        rows = [json.loads(f.read_text()) for f in files]
    else:
        for s in scores:
            rows.append(dict(s.attrs) if hasattr(s, "attrs") else dict(s))
    df = pd.DataFrame(rows)
    missing = {"model", "benchmark", "score"} - set(df.columns)
    if missing:
        raise ValueError(f"scores lack field(s) {sorted(missing)}")
    table = df.pivot_table(index="model", columns="benchmark", values="score", aggfunc="first")
    table["mean"] = table.mean(axis=1)
    return table.sort_values("mean", ascending=False)


def plot_leaderboard(table: pd.DataFrame):
    """A grouped bar chart of a :func:`leaderboard` table (a matplotlib Figure)."""
    import numpy as np
    from matplotlib.figure import Figure

    cols = [c for c in table.columns if c != "mean"]
    fig = Figure(figsize=(1.5 + 1.2 * len(table) * max(1, len(cols)) / 2, 3.5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(table))
    w = 0.8 / max(1, len(cols))
    for k, c in enumerate(cols):
        ax.bar(x + k * w - 0.4 + w / 2, table[c].to_numpy(float), w, label=c)
    ax.set_xticks(x, table.index, rotation=20)
    ax.set(ylabel="ceiling-normalised score (median)", ylim=(0, 1), title="benchmark leaderboard")
    ax.legend(fontsize=8, title="benchmark")
    return fig
