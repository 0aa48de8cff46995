"""Validation helpers whose messages name the parameter, what was expected and what was given.

Never use ``assert`` for validation (it vanishes under ``python -O``); call these instead.
"""

from __future__ import annotations

import difflib
import numbers
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

_TYPE_NAMES = {
    "int": (numbers.Integral,),
    "numeric": (numbers.Real,),
    "path-like": (str, os.PathLike),
    "str": (str,),
    "callable": (),
    None: (type(None),),
}


def _type_name(t) -> str:
    if isinstance(t, str):
        return t
    if t is None:
        return "None"
    return getattr(t, "__name__", str(t))


def validate_type(value: Any, types, name: str) -> Any:
    """Raise ``TypeError`` unless ``value`` is an instance of one of ``types``.

    ``types`` may hold classes or the strings ``"int"``, ``"numeric"``, ``"path-like"``,
    ``"str"``, ``"callable"`` and ``None``.  ``bool`` is never accepted as ``"int"``/``"numeric"``.
    """
    if not isinstance(types, (tuple, list)):
        types = (types,)
    ok = False
    for t in types:
        if t == "callable":
            ok = callable(value)
        elif t in _TYPE_NAMES:
            ok = isinstance(value, _TYPE_NAMES[t]) and not (
                t in ("int", "numeric") and isinstance(value, bool)
            )
        else:
            ok = isinstance(value, t)
        if ok:
            return value
    names = ", ".join(_type_name(t) for t in types)
    raise TypeError(f"{name} must be an instance of {names}, got {type(value).__name__} ({value!r:.60})")


def check_option(value: Any, allowed: Iterable, name: str) -> Any:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``; suggest close matches."""
    allowed = list(allowed)
    if value in allowed:
        return value
    msg = f"Invalid value for {name}: {value!r}. Allowed values are {', '.join(map(repr, allowed))}."
    if isinstance(value, str):
        close = difflib.get_close_matches(value, [a for a in allowed if isinstance(a, str)], n=1)
        if close:
            msg += f" Did you mean {close[0]!r}?"
    raise ValueError(msg)


def check_positive(value, name: str, strict: bool = True, integer: bool = False):
    """Check a (strictly) positive number."""
    validate_type(value, "int" if integer else "numeric", name)
    if (strict and not value > 0) or (not strict and not value >= 0) or not np.isfinite(value):
        raise ValueError(f"{name} must be {'> 0' if strict else '>= 0'} and finite, got {value!r}")
    return value


def check_at_least(minimum, name: str, value, allow_none: bool = False):
    """``value`` when ``value >= minimum`` (or None where allowed); else a ValueError naming ``name``
    (for pydantic field validators: the error then also carries the field's location)."""
    if value is None and allow_none:
        return value
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}")
    return value


def check_finite(arr, name: str) -> np.ndarray:
    """Raise if ``arr`` holds NaN or infinite values, giving the first bad index."""
    a = np.asarray(arr)
    if a.dtype.kind in "fc":
        bad = ~np.isfinite(a)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf); first at index {idx}"
            )
    return a


def check_ndim(arr, ndim, name: str, dims: tuple[str, ...] | None = None) -> np.ndarray:
    """Check the number of dimensions, naming the expected dims in the message."""
    a = np.asarray(arr)
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if a.ndim not in ndims:
        what = f" with dims {dims}" if dims else ""
        raise ValueError(f"{name} must be {' or '.join(map(str, ndims))}-D{what}, got shape {a.shape}")
    return a


def check_random_state(random_state) -> np.random.Generator:
    """Return a local ``np.random.Generator`` (never touches the global RNG)."""
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31))
    raise TypeError(f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}")


def check_path(path, name: str = "path", must_exist: bool = False, kind: str | None = None) -> Path:
    """Coerce to :class:`Path`; optionally check it exists (``kind`` in {'file', 'dir'})."""
    validate_type(path, "path-like", name)
    p = Path(path).expanduser()
    if must_exist:
        if not p.exists():
            raise FileNotFoundError(f"{name}: no such file or directory: '{p}'")
        if kind == "file" and not p.is_file():
            raise IsADirectoryError(f"{name}: expected a file, got a directory: '{p}'")
        if kind == "dir" and not p.is_dir():
            raise NotADirectoryError(f"{name}: expected a directory: '{p}'")
    return p


def check_device(device=None):
    """Resolve ``device`` to a :class:`torch.device`.

    ``None`` or ``"auto"`` picks CUDA when available, else CPU; an explicit ``"cuda"`` without
    a GPU raises a clear error.
    """
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} was requested but no CUDA device is available")
    return dev
