"""Classic models of the field's history, each exporting its time courses to an ActivationStore.

Models (one module each): :mod:`~neurorrn.zoo.trace` (TRACE, faithful to jTRACE),
:mod:`~neurorrn.zoo.iam` (interactive activation model of letter perception),
:mod:`~neurorrn.zoo.hopfield`, :mod:`~neurorrn.zoo.boltzmann`,
:mod:`~neurorrn.zoo.attractor` (Hinton & Shallice / Plaut & Shallice cleanup-unit nets) and
:mod:`~neurorrn.zoo.triangle` (a small Harm & Seidenberg style triangle model).

:data:`REGISTRY` maps a simulation name to a callable ``f(**kwargs) -> xarray.Dataset`` (an
ActivationStore) that runs a small canonical simulation; ``neurorrn zoo run NAME`` calls it.
Sequence-model simulations (Elman, Jordan, RTRL, Chomsky-hierarchy tasks, interference) add
their entries from :mod:`neurorrn.zoo._registry_seq` when that module is present.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Callable


def _lazy(module: str, name: str) -> Callable:
    def run(**kwargs):
        return getattr(importlib.import_module(module), name)(**kwargs)

    run.__name__ = name
    run.__qualname__ = name
    run.__doc__ = f"Run :func:`{module}.{name}` (imported on first use)."
    return run


#: name -> callable(**kwargs) returning an ActivationStore (xarray.Dataset).
REGISTRY: dict[str, Callable] = {
    "trace": _lazy("neurorrn.zoo.trace._demo", "demo_store"),
    "iam": _lazy("neurorrn.zoo.iam", "demo_store"),
    "hopfield": _lazy("neurorrn.zoo.hopfield", "demo_store"),
    "boltzmann": _lazy("neurorrn.zoo.boltzmann", "demo_store"),
    "attractor": _lazy("neurorrn.zoo.attractor", "demo_store"),
    "triangle": _lazy("neurorrn.zoo.triangle", "demo_store"),
}


def register(name: str, func: Callable, overwrite: bool = False) -> None:
    """Add a simulation to :data:`REGISTRY` (``func(**kwargs) -> ActivationStore``)."""
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


if importlib.util.find_spec("neurorrn.zoo._registry_seq") is not None:
    _seq = importlib.import_module("neurorrn.zoo._registry_seq")
    for _name, _func in getattr(_seq, "REGISTRY", {}).items():
        register(_name, _func)

__all__ = ["REGISTRY", "get_simulation", "register"]
