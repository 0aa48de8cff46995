"""Classic models of the field's history, each exporting its time courses to an ActivationStore.

Models (one module each): :mod:`~neurorrn.zoo.trace` (TRACE, faithful to jTRACE),
:mod:`~neurorrn.zoo.iam` (interactive activation model of letter perception),
:mod:`~neurorrn.zoo.hopfield`, :mod:`~neurorrn.zoo.boltzmann`,
:mod:`~neurorrn.zoo.attractor` (Hinton & Shallice / Plaut & Shallice cleanup-unit nets) and
:mod:`~neurorrn.zoo.triangle` (the triangle model of reading: O→P, O→S, S→P, P→S, cleanup;
Plaut et al. 1996, Harm & Seidenberg 2004).  Each has a ``ModelSubject`` (``TraceSubject``,
``IASubject``, ``HopfieldSubject``, ``BoltzmannSubject``, ``AttractorSubject``,
``TriangleSubject``) so probing and encoding run on it unchanged.

:data:`REGISTRY` maps a simulation name to a runner
``runner(out_dir, random_state=0, overwrite=False, **kw) -> dict(store=Path, figure=Path, summary=dict)``
that runs a canonical simulation and writes ``<name>.nc`` (an ActivationStore), ``<name>.png``
(its figure) and ``<name>.json`` (its summary) into ``out_dir``; ``neurorrn zoo run NAME``
calls it and prints the published values beside ours with the verdict.  Every summary has the
keys of :data:`neurorrn.zoo._summary.SUMMARY_KEYS` (``reference``, ``published``, ``ours``,
``verdict``, ``seeds``, ``budget``).  Other modules add runners with :func:`register`.
The classic models here register themselves below; the sequence-learning simulations (Elman,
Jordan, RTRL, Chomsky-hierarchy tasks, interference) come from
:mod:`neurorrn.zoo._registry_seq` (``SEQ_REGISTRY``) when that module is present.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Callable


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return obj


def _classic_runner(name: str, module: str, doc: str) -> Callable:
    def runner(out_dir, random_state=0, overwrite: bool = False, **kw):
        import json

        from ..store import save_store
        from ..utils._check import check_path
        from ..utils._logging import logger
        from ._summary import check_summary, save_figure

        out = check_path(out_dir, "out_dir")
        out.mkdir(parents=True, exist_ok=True)
        for suffix in (".nc", ".png", ".json"):
            if (out / f"{name}{suffix}").exists() and not overwrite:
                raise FileExistsError(f"'{out / (name + suffix)}' already exists; pass overwrite=True to replace it")
        logger.info("zoo: running %s (%s.demo)", name, module)
        res = importlib.import_module(module).demo(random_state=random_state, **kw)
        summary = _jsonable(res["summary"])
        check_summary(summary, f"{name} summary")
        store = save_store(res["store"], out / f"{name}.nc", overwrite=overwrite)
        figure = save_figure(res["figure"], out / f"{name}.png", overwrite=overwrite)
        (out / f"{name}.json").write_text(json.dumps(summary, indent=2))
        return {"store": store, "figure": figure, "summary": summary}

    runner.__name__ = f"run_{name}"
    runner.__doc__ = doc
    runner.__module__ = module
    return runner


_CLASSIC = {
    "trace": ("neurorrn.zoo.trace._demo", "McClelland & Elman 1986 TRACE (jTRACE): -^br^pt- on a lexicon "
              "(lexicon=PATH to a .jt file)"),
    "iam": ("neurorrn.zoo.iam", "McClelland & Rumelhart 1981: WOR? with K/R ambiguity, Reicher 2AFC"),
    "hopfield": ("neurorrn.zoo.hopfield", "Hopfield 1982: retrieval and one-step error vs load against theory, "
                 "recall from noisy cues"),
    "boltzmann": ("neurorrn.zoo.boltzmann", "Ackley, Hinton & Sejnowski 1985: the 4-2-4 encoder, success rate "
                  "over runs (margin criterion)"),
    "attractor": ("neurorrn.zoo.attractor", "Hinton & Shallice 1991: cleanup-unit attractor nets, error types after "
                  "lesions of every pathway"),
    "triangle": ("neurorrn.zoo.triangle", "Plaut et al. 1996 / Harm & Seidenberg 2004 triangle model, division "
                 "of labour"),
}

#: name -> runner(out_dir, random_state=0, **kw) -> dict(store=Path, figure, summary).
REGISTRY: dict[str, Callable] = {n: _classic_runner(n, m, d) for n, (m, d) in _CLASSIC.items()}


def register(name: str, func: Callable, overwrite: bool = False) -> None:
    """Add a runner ``func(out_dir, random_state=0, **kw) -> dict`` to :data:`REGISTRY`."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"registry name must be a non-empty str, got {name!r}")
    if not callable(func):
        raise TypeError(f"registry entry {name!r} must be callable, got {type(func).__name__}")
    if name in REGISTRY and not overwrite:
        raise ValueError(f"{name!r} is already registered; pass overwrite=True to replace it")
    REGISTRY[name] = func


def get_simulation(name: str) -> Callable:
    """The registered simulation ``name``; an unknown name lists the options."""
    from ..utils._check import check_option

    check_option(name, sorted(REGISTRY), "simulation name")
    return REGISTRY[name]


#: Modules that add runners to the registry, each with a dict attribute name -> runner: the
#: sequence-learning simulations and the history models (added when those modules exist).
_EXTRA_REGISTRIES = (("neurorrn.zoo._registry_seq", "SEQ_REGISTRY"),
                     ("neurorrn.zoo._registry_history", "HISTORY_REGISTRY"))
for _module, _attr in _EXTRA_REGISTRIES:
    if importlib.util.find_spec(_module) is not None:
        for _name, _func in getattr(importlib.import_module(_module), _attr, {}).items():
            register(_name, _func)

__all__ = ["REGISTRY", "get_simulation", "register"]
