"""Registry of the zoo's sequence-learning simulations (step 9).

``SEQ_REGISTRY`` maps a simulation name to a runner
``runner(out_dir: Path, random_state=0, **kw) -> dict(store=Path, figure=Path, summary=dict)``:
it runs the simulation, writes its ActivationStore (``<name>.nc``, ``time_unit="step"``) and its
figure (``<name>.png``) into ``out_dir`` and returns their paths and the summary numbers.
``neurorrn zoo list`` / ``neurorrn zoo run NAME`` dispatch through the merged zoo registry.

Keyword arguments are passed to the simulation function named in ``SEQ_FUNCTIONS`` (for
example ``n_passes=20`` for ``elman_letters``); ``overwrite=True`` replaces existing outputs.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from ..store import save_store
from ..utils._check import check_path
from ..utils._logging import logger

__all__ = ["SEQ_REGISTRY", "SEQ_FUNCTIONS", "SUMMARY_FIELDS", "run_simulation"]

#: Simulation name -> (module, function, one-line description).
SEQ_FUNCTIONS = {
    "elman_xor": ("neurorrn.zoo.elman", "simulate_temporal_xor",
                  "Elman 1990 sim. 1: temporal XOR, error low on every third bit"),
    "elman_letters": ("neurorrn.zoo.elman", "simulate_letter_sequences",
                      "Elman 1990 sim. 2: ba/dii/guuu, error high at consonants"),
    "elman_words": ("neurorrn.zoo.elman", "simulate_word_boundaries",
                    "Elman 1990 sim. 3: letter stream, error peaks at word onsets"),
    "elman_lexical": ("neurorrn.zoo.elman", "simulate_lexical_classes",
                      "Elman 1990 sim. 4: lexical classes from word order (31-150-31)"),
    "elman_agreement": ("neurorrn.zoo.elman", "simulate_number_agreement",
                        "Elman 1991: verb number agreement across a relative clause"),
    "jordan_attractor": ("neurorrn.zoo.jordan", "simulate_jordan_attractor",
                         "Jordan 1986: learned cyclic sequences are attractors"),
    "jordan_coarticulation": ("neurorrn.zoo.jordan", "simulate_coarticulation",
                              "Jordan 1986: don't-care features anticipate the coming vowel (coarticulation)"),
    "fully_recurrent_delay": ("neurorrn.zoo.recurrent", "simulate_delayed_recall",
                              "Williams & Zipser 1989: RTRL/BPTT net learns delayed recall"),
    "chomsky": ("neurorrn.zoo.chomsky.benchmark", "simulate_chomsky",
                "Deletang et al. 2023: LSTM length generalisation on Chomsky-hierarchy tasks (small run)"),
    "chomsky_architectures": ("neurorrn.zoo.chomsky.benchmark", "simulate_chomsky_architectures",
                              "Deletang et al. 2023: LSTM vs Transformer (parity), Stack-RNN vs LSTM (reverse string)"),
    "interference": ("neurorrn.zoo.interference", "simulate_interference",
                     "McCloskey & Cohen 1989: A-B/A-C and ones-then-twos arithmetic interference, remedies"),
}


#: Keys every zoo summary carries (the zoo run format): citation, published values, ours (same
#: names), the verdict ("reproduced" / "approximate" / "not reproduced"), seeds and budget.
SUMMARY_FIELDS = ("reference", "published", "ours", "verdict", "seeds", "budget")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return obj


def run_simulation(name, out_dir, random_state=0, overwrite=False, **kw):
    """Run the simulation ``name`` and write ``<name>.nc``, ``<name>.png``, ``<name>.json``.

    Parameters
    ----------
    name : str
        A key of :data:`SEQ_FUNCTIONS`.
    out_dir : path-like
        Created if missing.
    random_state : int
    overwrite : bool
        Replace existing outputs (otherwise an existing store is an error).
    **kw
        Passed to the simulation function.

    Returns
    -------
    dict
        ``store`` (Path), ``figure`` (Path), ``summary`` (dict).
    """
    if name not in SEQ_FUNCTIONS:
        raise KeyError(f"unknown sequence simulation {name!r}; available: {', '.join(SEQ_FUNCTIONS)}")
    out_dir = check_path(out_dir, "out_dir")
    out_dir.mkdir(parents=True, exist_ok=True)
    module, func, _ = SEQ_FUNCTIONS[name]
    fn = getattr(importlib.import_module(module), func)
    logger.info("zoo: running %s (%s.%s)", name, module, func)
    res = fn(random_state=random_state, **kw)
    store = save_store(res["store"], out_dir / f"{name}.nc", overwrite=overwrite)
    figure = out_dir / f"{name}.png"
    if figure.exists() and not overwrite:
        raise FileExistsError(f"'{figure}' already exists; pass overwrite=True to replace it")
    res["figure"].savefig(figure, dpi=120)
    summary = _jsonable(res["summary"])

    (out_dir / f"{name}.json").write_text(json.dumps(summary, indent=2))
    return {"store": Path(store), "figure": figure, "summary": summary}


def _make_runner(name):
    def runner(out_dir, random_state=0, **kw):
        return run_simulation(name, out_dir, random_state=random_state, **kw)

    runner.__name__ = f"run_{name}"
    runner.__doc__ = SEQ_FUNCTIONS[name][2]
    return runner


#: Name -> runner ``(out_dir, random_state=0, **kw) -> dict(store, figure, summary)``; each
#: runner's ``__doc__`` is its one-line description.
SEQ_REGISTRY = {name: _make_runner(name) for name in SEQ_FUNCTIONS}

#: Tiny budgets that exercise each runner's whole path (store, figure, summary) in seconds; the
#: published-scale runs are the defaults.  Read by the registry tests through ``runner.small_kw``.
SMALL_KW = {
    "elman_xor": dict(n_triples=60, n_passes=2, n_test_triples=60),
    "elman_letters": dict(n_consonants=60, n_passes=2),
    "elman_words": dict(n_sentences=30, n_passes=1),
    "elman_lexical": dict(n_sentences=200, n_passes=1, n_hidden=10),
    "elman_agreement": dict(n_sentences=60, n_passes=1, n_hidden=10),
    "jordan_attractor": dict(n_epochs=20, n_starts=2),
    "jordan_coarticulation": dict(n_epochs=20),
    "fully_recurrent_delay": dict(n_steps=40, n_epochs=2, algorithm="bptt"),
    "chomsky": dict(tasks=["parity_check", "reverse_string"], training_steps=2, hidden_size=4, batch_size=4,
                    test_lengths=[41, 43], n_store_sequences=2),
    "chomsky_architectures": dict(training_steps=2, hidden_size=8, batch_size=4, test_lengths=[41, 43]),
}
for _name, _kw in SMALL_KW.items():
    SEQ_REGISTRY[_name].small_kw = _kw
