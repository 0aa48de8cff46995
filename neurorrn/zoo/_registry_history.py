"""Registry of the zoo's history simulations (Part 8): McCulloch-Pitts nets, the perceptron,
Rao & Ballard predictive coding and TRACE feedback in noise.

``HISTORY_REGISTRY`` maps a simulation name to a runner
``runner(out_dir, random_state=0, overwrite=False, **kw) -> dict(store=Path, figure=Path, summary=dict)``
in the zoo run format: it writes ``<name>.nc`` (an ActivationStore), ``<name>.png`` and
``<name>.json`` into ``out_dir``.  Keyword arguments go to the simulation function named in
:data:`HISTORY_FUNCTIONS`.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from ..store import save_store
from ..utils._check import check_path
from ..utils._logging import logger
from ._registry_seq import _jsonable

__all__ = ["HISTORY_REGISTRY", "HISTORY_FUNCTIONS", "run_history_simulation"]

#: Simulation name -> (module, function, one-line description with the reference).
HISTORY_FUNCTIONS = {
    "mcculloch_pitts": ("neurorrn.zoo.mcculloch_pitts", "simulate_mcculloch_pitts",
                        "McCulloch & Pitts (1943); Kleene (1956): reverberating circles, DFAs compiled into nets"),
    "perceptron": ("neurorrn.zoo.perceptron", "simulate_perceptron",
                   "Rosenblatt (1958); Novikoff (1962); Cover (1965): convergence bound, XOR, capacity 2N"),
    "predictive_coding": ("neurorrn.zoo.predictive_coding", "simulate_predictive_coding",
                          "Rao & Ballard (1999) Nat. Neurosci. 2:79-87: oriented RFs, end-stopping from feedback"),
    "trace_feedback_noise": ("neurorrn.zoo.trace.feedback_noise", "simulate_feedback_noise",
                             "Magnuson et al. (2018) Front. Psychol. 9:369: TRACE lexical feedback in input noise"),
}


def run_history_simulation(name, out_dir, random_state=0, overwrite=False, **kw):
    """Run the simulation ``name``; write ``<name>.nc``, ``<name>.png`` and ``<name>.json``.

    Returns
    -------
    dict
        ``store`` (Path), ``figure`` (Path), ``summary`` (dict with ``reference``, ``published``,
        ``ours``, ``verdict``, ``seeds``, ``budget``).
    """
    if name not in HISTORY_FUNCTIONS:
        raise KeyError(f"unknown history simulation {name!r}; available: {', '.join(HISTORY_FUNCTIONS)}")
    out_dir = check_path(out_dir, "out_dir")
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = out_dir / f"{name}.png"
    if figure.exists() and not overwrite:
        raise FileExistsError(f"'{figure}' already exists; pass overwrite=True to replace it")
    module, func, _ = HISTORY_FUNCTIONS[name]
    fn = getattr(importlib.import_module(module), func)
    logger.info("zoo: running %s (%s.%s)", name, module, func)
    res = fn(random_state=random_state, **kw)
    store = save_store(res["store"], out_dir / f"{name}.nc", overwrite=overwrite)
    res["figure"].savefig(figure, dpi=120)
    summary = _jsonable(res["summary"])
    (out_dir / f"{name}.json").write_text(json.dumps(summary, indent=2))
    return {"store": Path(store), "figure": figure, "summary": summary}


#: Small settings per simulation for fast format checks (``runner.small_kw``); the registry defaults
#: are the documented runs.  TRACE in noise has none: it needs the jTRACE lexicon from shared data.
SMALL_KW = {
    "mcculloch_pitts": {"length": 50, "n_strings": 1, "n_steps": 20},
    "perceptron": {"n_sets": 3, "n_dims": 10, "n_dichotomies": 10, "max_epochs": 100},
    "predictive_coding": {"n_batches": 5, "batch_size": 20},
}


def _make_runner(name):
    def runner(out_dir, random_state=0, overwrite=False, **kw):
        return run_history_simulation(name, out_dir, random_state=random_state, overwrite=overwrite, **kw)

    runner.__name__ = f"run_{name}"
    runner.__doc__ = HISTORY_FUNCTIONS[name][2]
    if name in SMALL_KW:
        runner.small_kw = dict(SMALL_KW[name])
    return runner


#: Name -> runner ``(out_dir, random_state=0, overwrite=False, **kw) -> dict(store, figure, summary)``.
HISTORY_REGISTRY = {name: _make_runner(name) for name in HISTORY_FUNCTIONS}
