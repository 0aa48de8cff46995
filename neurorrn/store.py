"""ActivationStore: hidden-unit time courses of any model, as an xarray Dataset in HDF5.

The contract (see ``docs/architecture.md``)
-------------------------------------------
* Data variable ``activation`` with dims ``("stimulus", "time", "unit")``, float32, NaN past each
  stimulus's end (``n_frames``).
* Coords: ``stimulus`` (str ids, unique), ``time`` (seconds from stimulus onset, or cycles for
  zoo models: attr ``time_unit``), ``unit`` (ids, unique); per unit ``layer`` and ``component``
  (``"h"``, ``"c"``, a gate...); per stimulus ``n_frames`` and optionally ``word``, ``talker``,
  ``split`` and any other 1-D coordinate.
* Alignments (phone and word intervals) travel in the same file, as a table on the ``interval``
  dim: variables ``interval_stimulus``, ``interval_tier``, ``interval_label``,
  ``interval_start``, ``interval_end`` (seconds, or cycles, from stimulus onset).  Read them with
  :func:`get_alignments`.
* Attrs hold only strings and numbers: ``format_version``, ``neurorrn_version``, ``model_id``,
  ``config_json``, ``frame_rate``, ``time_unit`` and provenance.
* Files are netCDF4/HDF5 written through h5netcdf.  Writes are atomic (a temporary file renamed
  into place) and ``overwrite=False`` by default.  :class:`StoreWriter` writes stimuli in chunks,
  so memory stays bounded; :func:`open_store` is lazy.
* Appends cost what they add: the new activations go into an immutable part file in
  ``<store>.parts/`` and the store file maps the parts as one HDF5 virtual dataset (see
  :mod:`neurorrn._store_parts` for why); :func:`consolidate_store` folds them back into one
  self-contained file; :func:`copy_store`, :func:`move_store` and :func:`delete_store` handle a
  store with its parts.
"""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import secrets
import shutil
from pathlib import Path
from typing import Iterable, Sequence

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from . import __version__
from ._dims import STIMULUS, STORE_DIMS, TIME, UNIT, check_uniform_time
from .utils._check import check_option, check_path, check_positive, validate_type
from . import _store_parts as _parts
from .utils._io import atomic_path
from .utils._lock import acquire as _lock_acquire
from .utils._lock import release as _lock_release
from .utils._logging import logger

FORMAT_VERSION = 1
ENGINE = "h5netcdf"
INTERVAL = "interval"
ALIGNMENT_COLUMNS = ("stimulus", "tier", "label", "start", "end")
ALIGNMENT_VARS = tuple(f"interval_{c}" for c in ALIGNMENT_COLUMNS)
TIERS = ("phone", "word", "syllable", "sentence", "event")
TIME_UNITS = ("s", "cycle", "step")
UNIT_COORDS = ("layer", "component")
STIMULUS_COORDS = ("word", "talker", "split", "n_frames", "onset", "source")
REQUIRED_ATTRS = ("format_version", "neurorrn_version", "model_id", "config_json", "frame_rate", "time_unit")
_COMPLETE_ATTR = "_neurorrn_complete"
_STR = h5py.string_dtype("utf-8")


class StoreValidationError(ValueError):
    """Raised when a store breaks the ActivationStore contract; ``.problems`` lists why."""

    def __init__(self, problems: Sequence[str], where: str = "store"):
        self.problems = list(problems)
        head = (f"{where} is not a valid ActivationStore" if where == "store" or where.startswith("'")
                else f"invalid {where}")
        super().__init__(head + ":\n  - " + "\n  - ".join(self.problems))


# --------------------------------------------------------------------------------------------
# attrs
# --------------------------------------------------------------------------------------------
def _attr_problem(key, value) -> str | None:
    if not isinstance(key, str) or not key:
        return f"attr name {key!r} is not a non-empty string"
    if isinstance(value, (bool, np.bool_)):
        return f"attr {key!r} is a bool ({value!r}); netCDF cannot hold bools: store 0/1 or a string"
    if isinstance(value, str):
        if "\x00" in value:
            return f"attr {key!r} contains a NUL character"
        return None
    if isinstance(value, (numbers.Integral, numbers.Real, np.number)) and not isinstance(value, complex):
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.ndim == 1 and arr.size > 0 and arr.dtype.kind in "iuf":
            return None
        return (
            f"attr {key!r} is a {type(value).__name__} of dtype {arr.dtype} and shape {arr.shape}; "
            "netCDF attrs hold strings, numbers or non-empty 1-D numeric arrays"
        )
    return (
        f"attr {key!r} has type {type(value).__name__}; netCDF attrs hold strings, numbers or 1-D "
        "numeric arrays (store nested configs as a JSON string)"
    )


def check_attrs(attrs: dict) -> None:
    """Raise :class:`StoreValidationError` if any attr cannot be held by netCDF."""
    problems = [p for k, v in attrs.items() if (p := _attr_problem(k, v))]
    if problems:
        raise StoreValidationError(problems, "attrs")


def default_attrs(frame_rate: float, time_unit: str = "s", model_id: str = "", config=None) -> dict:
    """The attrs every store carries."""
    if config is None:
        config_json = "{}"
    elif isinstance(config, str):
        config_json = config
    else:
        config_json = json.dumps(config, sort_keys=True, default=str)
    return {
        "format_version": FORMAT_VERSION,
        "neurorrn_version": __version__,
        "model_id": str(model_id),
        "config_json": config_json,
        "frame_rate": float(frame_rate),
        "time_unit": time_unit,
    }


# --------------------------------------------------------------------------------------------
# alignments
# --------------------------------------------------------------------------------------------
def _check_ids(ids, name: str) -> np.ndarray:
    arr = np.asarray(list(ids), dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    for i, s in enumerate(arr):
        if not isinstance(s, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(s).__name__} ({s!r})")
        if not s or "\x00" in s:
            raise ValueError(f"{name}[{i}] must be a non-empty string without NUL characters, got {s!r}")
    uniq, counts = np.unique(arr.astype(str), return_counts=True)
    if (counts > 1).any():
        raise StoreValidationError([f"duplicate {name}: {[str(u) for u in uniq[counts > 1][:5]]}"], name)
    return arr


def normalize_alignments(alignments, stimulus_ids=None) -> pd.DataFrame:
    """Return an alignment table with columns ``stimulus, tier, label, start, end``.

    Accepts a DataFrame with those columns, or a dict ``{stimulus_id: {tier: [(label, start,
    end), ...]}}``.
    """
    if alignments is None:
        df = pd.DataFrame({c: pd.Series(dtype=object if c in ("stimulus", "tier", "label") else float)
                           for c in ALIGNMENT_COLUMNS})
    elif isinstance(alignments, dict):
        rows = []
        for sid, tiers in alignments.items():
            if not isinstance(tiers, dict):
                raise TypeError(f"alignments[{sid!r}] must be a dict {{tier: [(label, start, end), ...]}}, "
                                f"got {type(tiers).__name__}")
            for tier, items in tiers.items():
                for j, item in enumerate(items):
                    if not isinstance(item, (tuple, list)) or len(item) != 3:
                        raise ValueError(f"alignments[{sid!r}][{tier!r}][{j}] must be (label, start, end), "
                                         f"got {item!r:.60}")
                    label, start, end = item
                    rows.append((sid, tier, label, start, end))
        df = pd.DataFrame(rows, columns=list(ALIGNMENT_COLUMNS))
    elif isinstance(alignments, pd.DataFrame):
        missing = [c for c in ALIGNMENT_COLUMNS if c not in alignments.columns]
        if missing:
            raise ValueError(
                f"alignments is missing column(s) {missing}; expected columns {list(ALIGNMENT_COLUMNS)}"
            )
        df = alignments.loc[:, list(ALIGNMENT_COLUMNS)].copy()
    else:
        raise TypeError(f"alignments must be a pandas DataFrame or a dict, got {type(alignments).__name__}")
    df = df.reset_index(drop=True)
    for c in ("stimulus", "tier", "label"):
        df[c] = df[c].astype(object)
        bad = [v for v in df[c] if not isinstance(v, str)]
        if bad:
            raise TypeError(f"alignments column {c!r} must hold strings, got {bad[0]!r}")
    for c in ("start", "end"):
        df[c] = df[c].astype(np.float64)
    problems = []
    if len(df):
        if not np.isfinite(df[["start", "end"]].to_numpy()).all():
            problems.append("alignments have non-finite start or end times")
        bad = df["end"] < df["start"]
        if bad.any():
            r = df[bad].iloc[0]
            problems.append(f"alignment interval ends before it starts: {r['stimulus']!r} {r['tier']} "
                            f"{r['label']!r} [{r['start']}, {r['end']}]")
        unknown_tiers = sorted(set(df["tier"]) - set(TIERS))
        if unknown_tiers:
            problems.append(f"unknown alignment tier(s) {unknown_tiers}; allowed {list(TIERS)}")
        if stimulus_ids is not None:
            unknown = sorted(set(df["stimulus"]) - set(np.asarray(stimulus_ids, dtype=object)))
            if unknown:
                problems.append(f"alignments name stimulus ids not in the store: {unknown[:5]}")
    if problems:
        raise StoreValidationError(problems, "alignments")
    return df


def _alignment_vars(df: pd.DataFrame) -> dict:
    return {
        f"interval_{c}": (INTERVAL, df[c].to_numpy(dtype=object if c in ("stimulus", "tier", "label")
                                                   else np.float64))
        for c in ALIGNMENT_COLUMNS
    }


def get_alignments(ds: xr.Dataset, stimulus=None, tier: str | None = None) -> pd.DataFrame:
    """The alignment table of a store, optionally for some stimuli and one tier."""
    if ALIGNMENT_VARS[0] not in ds:
        return normalize_alignments(None)
    df = pd.DataFrame({c: ds[f"interval_{c}"].values for c in ALIGNMENT_COLUMNS})
    for c in ("stimulus", "tier", "label"):
        df[c] = df[c].astype(object)
    if stimulus is not None:
        ids = [stimulus] if isinstance(stimulus, str) else list(stimulus)
        df = df[df["stimulus"].isin(ids)]
    if tier is not None:
        check_option(tier, TIERS, "tier")
        df = df[df["tier"] == tier]
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# construction
# --------------------------------------------------------------------------------------------
def from_arrays(
    arrays: Sequence[np.ndarray],
    stimulus_ids: Sequence[str],
    frame_rate: float,
    unit_ids=None,
    *,
    alignments=None,
    time_unit: str = "s",
    model_id: str = "",
    config=None,
    attrs: dict | None = None,
    **coords,
) -> xr.Dataset:
    """Build a store Dataset from one ``(n_frames_i, n_units)`` array per stimulus.

    Parameters
    ----------
    arrays : list of array of shape (n_frames_i, n_units)
        Ragged over stimuli; padded with NaN to the longest, ``n_frames`` is kept.
    stimulus_ids : list of str
        Unique, non-empty ids.
    frame_rate : float
        Frames per second (or per cycle for ``time_unit="cycle"``).
    unit_ids : list, optional
        Unique unit ids (ints or strings); default ``0..n_units-1``.
    alignments : DataFrame | dict | None
        Phone/word intervals; see :func:`normalize_alignments`.
    **coords
        1-D coordinates.  ``layer`` and ``component`` are per unit; ``word``, ``talker``,
        ``split`` per stimulus; others are placed by their length (an error if ambiguous).
    """
    check_positive(frame_rate, "frame_rate")
    check_option(time_unit, TIME_UNITS, "time_unit")
    validate_type(arrays, (list, tuple), "arrays")
    sids = _check_ids(stimulus_ids, "stimulus_ids")
    if len(arrays) != len(sids):
        raise ValueError(f"got {len(arrays)} arrays but {len(sids)} stimulus_ids")
    if not len(arrays):
        raise ValueError("arrays is empty: a store needs at least one stimulus")
    mats = []
    n_units = None
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.ndim != 2:
            raise ValueError(f"arrays[{i}] ({sids[i]!r}) must be 2-D (n_frames, n_units), got shape {a.shape}")
        if n_units is None:
            n_units = a.shape[1]
        elif a.shape[1] != n_units:
            raise ValueError(f"arrays[{i}] ({sids[i]!r}) has {a.shape[1]} units, expected {n_units}")
        mats.append(a)
    if n_units == 0:
        raise ValueError("arrays have 0 units")
    n_frames = np.array([m.shape[0] for m in mats], dtype=np.int64)
    n_time = max(1, int(n_frames.max()))
    data = np.full((len(mats), n_time, n_units), np.nan, dtype=np.float32)
    for i, m in enumerate(mats):
        data[i, : m.shape[0]] = m
    if unit_ids is None:
        unit_ids = np.arange(n_units, dtype=np.int64)
    else:
        unit_ids = np.asarray(list(unit_ids))
        if unit_ids.shape != (n_units,):
            raise ValueError(f"unit_ids has shape {unit_ids.shape}, expected ({n_units},)")
        if unit_ids.dtype.kind in "USO":
            unit_ids = _check_ids(unit_ids, "unit_ids")
        elif len(np.unique(unit_ids)) != n_units:
            raise StoreValidationError(["duplicate unit_ids"], "unit_ids")
    all_coords = {
        STIMULUS: (STIMULUS, sids),
        TIME: (TIME, np.arange(n_time, dtype=np.float64) / float(frame_rate)),
        UNIT: (UNIT, unit_ids),
        "n_frames": (STIMULUS, n_frames),
    }
    coords.setdefault("layer", np.full(n_units, "layer0", dtype=object))
    coords.setdefault("component", np.full(n_units, "h", dtype=object))
    for name, values in coords.items():
        values = np.asarray(values)
        if values.dtype.kind == "U":
            values = values.astype(object)
        if values.ndim == 0:
            raise ValueError(f"coord {name!r} must be 1-D (per stimulus or per unit), got a scalar")
        if name in UNIT_COORDS:
            dim = UNIT
        elif name in STIMULUS_COORDS:
            dim = STIMULUS
        elif len(values) == len(sids) and len(values) != n_units:
            dim = STIMULUS
        elif len(values) == n_units and len(values) != len(sids):
            dim = UNIT
        else:
            raise ValueError(
                f"cannot tell whether coord {name!r} (length {len(values)}) is per stimulus "
                f"({len(sids)}) or per unit ({n_units})"
            )
        expected = len(sids) if dim == STIMULUS else n_units
        if values.shape != (expected,):
            raise ValueError(f"coord {name!r} must have shape ({expected},) along {dim!r}, got {values.shape}")
        all_coords[name] = (dim, values)
    a = default_attrs(frame_rate, time_unit, model_id, config)
    if attrs:
        a.update(attrs)
    check_attrs(a)
    ds = xr.Dataset({"activation": (STORE_DIMS, data)}, coords=all_coords, attrs=a)
    df = normalize_alignments(alignments, sids)
    return ds.assign(_alignment_vars(df))


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _validate(ds: xr.Dataset, check_values: bool = True, max_bytes: int = 32 << 20) -> list[str]:
    problems: list[str] = []
    for k, v in ds.attrs.items():
        p = _attr_problem(k, v)
        if p:
            problems.append(p)
    missing_attrs = [k for k in REQUIRED_ATTRS if k not in ds.attrs]
    if missing_attrs:
        problems.append(f"missing attrs {missing_attrs}")
    fv = ds.attrs.get("format_version")
    if fv is not None:
        if not isinstance(fv, (numbers.Integral, np.integer)) or isinstance(fv, bool):
            problems.append(f"format_version must be an integer, got {fv!r}")
        elif int(fv) > FORMAT_VERSION:
            problems.append(
                f"unknown format_version {int(fv)}: this neurorrn ({__version__}) reads versions up to "
                f"{FORMAT_VERSION}; upgrade neurorrn"
            )
        elif int(fv) < FORMAT_VERSION:
            problems.append(f"format_version {int(fv)} is old; open it with open_store() to migrate")
    tu = ds.attrs.get("time_unit")
    if tu is not None and tu not in TIME_UNITS:
        problems.append(f"time_unit {tu!r} is not one of {list(TIME_UNITS)}")
    if "activation" not in ds:
        problems.append("no data variable 'activation'")
        return problems
    act = ds["activation"]
    if act.dims != STORE_DIMS:
        problems.append(f"activation has dims {act.dims}, expected {STORE_DIMS}")
        return problems
    if act.dtype.kind != "f":
        problems.append(f"activation has dtype {act.dtype}, expected float32")
    for c in (STIMULUS, TIME, UNIT, "n_frames", "layer"):
        if c not in ds.coords:
            problems.append(f"missing coord {c!r}")
    if problems:
        return problems
    sids = ds[STIMULUS].values
    if len(sids) != len(np.unique(sids.astype(str))):
        u, c = np.unique(sids.astype(str), return_counts=True)
        problems.append(f"duplicate stimulus ids: {[str(x) for x in u[c > 1][:5]]}")
    uids = ds[UNIT].values
    if len(uids) != len(np.unique(uids.astype(str) if uids.dtype == object else uids)):
        problems.append("duplicate unit ids")
    try:
        _, step, n = check_uniform_time(ds[TIME].values)
        fr = ds.attrs.get("frame_rate")
        if n > 1 and isinstance(fr, (numbers.Real, np.number)) and fr > 0:
            if not np.isclose(step, 1.0 / float(fr), rtol=1e-6):
                problems.append(f"time step {step:g} does not match frame_rate {fr} (expected {1 / fr:g})")
    except ValueError as err:
        problems.append(str(err))
    nf = ds["n_frames"].values
    n_time = ds.sizes[TIME]
    if ds["n_frames"].dims != (STIMULUS,):
        problems.append("n_frames must be per stimulus")
    elif (nf < 0).any() or (nf > n_time).any():
        problems.append(f"n_frames must lie in [0, {n_time}]; got range [{nf.min()}, {nf.max()}]")
    elif check_values:
        chunk = max(1, int(max_bytes // max(1, n_time * ds.sizes[UNIT] * 4)))
        for start in range(0, len(sids), chunk):
            block = act.isel({STIMULUS: slice(start, start + chunk)}).values
            valid = np.arange(n_time)[None, :] < nf[start : start + chunk, None]
            nan = np.isnan(block)
            bad_inside = (~np.isfinite(block)).any(axis=2) & valid
            if bad_inside.any():
                i, t = np.argwhere(bad_inside)[0]
                kind = "NaN" if nan[i, t].any() else "Inf"
                problems.append(
                    f"{kind} inside the valid frames of stimulus {str(sids[start + i])!r} (frame {t} of "
                    f"{nf[start + i]})"
                )
                break
            bad_past = (~nan).any(axis=2) & ~valid
            if bad_past.any():
                i, t = np.argwhere(bad_past)[0]
                problems.append(
                    f"values past the end of stimulus {str(sids[start + i])!r} (frame {t}, n_frames "
                    f"{nf[start + i]}); frames past the end must be NaN"
                )
                break
    if ALIGNMENT_VARS[0] in ds:
        try:
            normalize_alignments(get_alignments(ds), sids)
        except (StoreValidationError, TypeError, ValueError) as err:
            problems.extend(getattr(err, "problems", [str(err)]))
    return problems


def validate_store(ds_or_path, raise_on_error: bool = True, check_values: bool = True) -> list[str]:
    """Check a store (Dataset or path) against the contract.

    Returns the list of problems (empty when valid); raises :class:`StoreValidationError`
    listing them when ``raise_on_error`` (the default).  Values are checked chunk by chunk so
    memory stays bounded.
    """
    if isinstance(ds_or_path, xr.Dataset):
        problems = _validate(ds_or_path, check_values)
        where = "store"
    else:
        path = check_path(ds_or_path, "path", must_exist=True, kind="file")
        where = f"'{path}'"
        try:
            ds = _open_raw(path)
        except Exception as err:  # noqa: BLE001 - anything unreadable is invalid
            problems = [f"cannot be read as netCDF/HDF5: {type(err).__name__}: {err}"]
        else:
            with ds:
                problems = []
                # a file without the marker was not written by StoreWriter (e.g. plain xarray):
                # judge it by the contract alone; a marker of 0 means our write was interrupted
                if int(ds.attrs.get(_COMPLETE_ATTR, 1)) != 1:
                    problems.append("the file was not completely written (interrupted write)")
                if not problems:
                    problems += _part_problems(path, deep=True, n_units=ds.sizes.get(UNIT))
                if not problems and "format_version" in ds.attrs:
                    ds = _migrate(ds, path)
                ds.attrs.pop(_COMPLETE_ATTR, None)
                problems += _validate(ds, check_values and not problems)
    if problems and raise_on_error:
        raise StoreValidationError(problems, where)
    return problems


# --------------------------------------------------------------------------------------------
# reading and migration
# --------------------------------------------------------------------------------------------
def _open_raw(path) -> xr.Dataset:
    return xr.open_dataset(path, engine=ENGINE, decode_timedelta=False)


def _part_problems(path, deep: bool, n_units: int | None = None) -> list[str]:
    try:
        parts = _parts.read_parts(path)
    except Exception as err:  # noqa: BLE001
        return [f"cannot be read as HDF5: {type(err).__name__}: {err}"]
    return _parts.part_problems(path, parts, n_units, deep=deep) if parts else []


def _migrate_0_to_1(ds: xr.Dataset) -> xr.Dataset:
    """Version 0 (pre-release) used ``activations`` and the attr ``sfreq``."""
    if "activations" in ds:
        ds = ds.rename({"activations": "activation"})
    if "sfreq" in ds.attrs:
        ds.attrs["frame_rate"] = ds.attrs.pop("sfreq")
    ds.attrs.setdefault("time_unit", "s")
    ds.attrs.setdefault("model_id", "")
    ds.attrs.setdefault("config_json", "{}")
    ds.attrs.setdefault("neurorrn_version", "unknown")
    ds.attrs["format_version"] = 1
    return ds


MIGRATIONS = {0: _migrate_0_to_1}


def _migrate(ds: xr.Dataset, where="store") -> xr.Dataset:
    fv = ds.attrs.get("format_version")
    if fv is None:
        raise StoreValidationError(["missing attr 'format_version'"], str(where))
    fv = int(fv)
    if fv > FORMAT_VERSION:
        raise StoreValidationError(
            [f"unknown format_version {fv}: this neurorrn ({__version__}) reads versions up to "
             f"{FORMAT_VERSION}; upgrade neurorrn"], str(where))
    while fv < FORMAT_VERSION:
        if fv not in MIGRATIONS:
            raise StoreValidationError([f"no migration from format_version {fv}"], str(where))
        logger.info("migrating %s from format_version %d", where, fv)
        ds = MIGRATIONS[fv](ds)
        fv = int(ds.attrs["format_version"])
    return ds


def open_store(path, validate: bool = False) -> xr.Dataset:
    """Open a store lazily: coordinates are read, activations only when asked for.

    Older format versions are migrated in memory; newer ones are refused.
    """
    path = check_path(path, "path", must_exist=True, kind="file")
    try:
        ds = _open_raw(path)
    except Exception as err:  # noqa: BLE001
        raise StoreValidationError([f"cannot be read as netCDF/HDF5: {type(err).__name__}: {err}"],
                                   f"'{path}'") from err
    if int(ds.attrs.get(_COMPLETE_ATTR, 1)) != 1:
        ds.close()
        raise StoreValidationError(["the file was not completely written (interrupted write)"], f"'{path}'")
    problems = _part_problems(path, deep=False)
    if problems:  # HDF5 would read a missing part as NaN without a word
        ds.close()
        raise StoreValidationError(problems, f"'{path}'")
    ds.attrs.pop(_COMPLETE_ATTR, None)
    try:
        ds = _migrate(ds, f"'{path}'")
    except StoreValidationError:
        ds.close()
        raise
    ds.encoding["source"] = str(path)
    if validate:
        validate_store(ds)
    return ds


def load_store(path) -> xr.Dataset:
    """Open a store and read it fully into memory (and close the file)."""
    with open_store(path) as ds:
        return ds.load()


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------
def _decode(values) -> np.ndarray:
    """h5py returns variable-length strings as bytes: decode them to str (object array)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "OS" and arr.size and isinstance(arr.flat[0], bytes):
        return np.array([v.decode("utf-8") for v in arr.ravel()], dtype=object).reshape(arr.shape)
    if arr.dtype.kind == "U":
        return arr.astype(object)
    return arr


def _activation_layout(n_units: int, time_chunk: int = 256, compression: str | None = "gzip") -> dict:
    """dtype, chunks (one stimulus, ``time_chunk`` frames, <= 1 MiB), NaN fill, compression."""
    tch = max(1, min(time_chunk, 4096))
    uch = max(1, min(n_units, max(1, (1 << 20) // (4 * tch))))
    comp = {"compression": "gzip", "compression_opts": 1} if compression else {}
    return {"dtype": np.float32, "chunks": (1, tch, uch), "fillvalue": np.float32(np.nan), **comp}


def _check_appendable(path) -> list | None:
    """The checks an append needs, in time independent of the store's size.

    The store was validated when it was written; here: it was written completely, its format is
    this version's, the contract's attrs and variables are there, and so are its parts.
    ``validate_store`` reads every coordinate and alignment row instead.
    """
    problems = []
    try:
        with h5py.File(path, "r") as h:
            attrs = h.attrs
            if int(np.ravel(attrs.get(_COMPLETE_ATTR, 1))[0]) != 1:
                problems.append("the file was not completely written (interrupted write)")
            missing = [k for k in REQUIRED_ATTRS if k not in attrs]
            if missing:
                problems.append(f"missing attrs {missing}")
            elif int(np.ravel(attrs["format_version"])[0]) != FORMAT_VERSION:
                problems.append(f"format_version {int(np.ravel(attrs['format_version'])[0])} is not "
                                f"{FORMAT_VERSION}: re-save it first (save_store(open_store(path), new_path))")
            missing = [v for v in ("activation", STIMULUS, TIME, UNIT, "n_frames") if v not in h]
            if missing:
                problems.append(f"missing variable(s) {missing}")
            else:
                d = h["activation"]
                dims = tuple(d.dims[i][0].name.rsplit("/", 1)[-1] if len(d.dims[i]) else "?" for i in range(d.ndim))
                if dims != STORE_DIMS or d.dtype != np.float32:
                    problems.append(f"activation has dims {dims} and dtype {d.dtype}, expected {STORE_DIMS}, float32")
    except OSError as err:
        problems.append(f"cannot be read as netCDF/HDF5: {type(err).__name__}: {err}")
    parts = None
    if not problems:
        try:
            parts = _parts.read_parts(path)
        except Exception as err:  # noqa: BLE001
            problems.append(f"cannot be read as HDF5: {type(err).__name__}: {err}")
        else:
            problems = _parts.part_problems(path, parts, deep=False) if parts else []
    if problems:
        raise StoreValidationError(problems, f"'{path}'")
    return parts


def _copy_without_activation(src, dst) -> None:
    """Write to ``dst`` every dimension, variable and attr of the store file ``src`` but ``activation``."""
    import h5netcdf

    with h5netcdf.File(src, "r") as s, h5netcdf.File(dst, "w") as d:
        d.dimensions = {n: (None if dim.isunlimited() else dim.size) for n, dim in s.dimensions.items()}
        for n, dim in s.dimensions.items():
            if dim.isunlimited() and dim.size:
                d.resize_dimension(n, dim.size)
        for name, v in s.variables.items():
            if name == "activation":
                continue
            is_str = h5py.check_string_dtype(v._h5ds.dtype) is not None
            kw = {"chunks": v.chunks} if v.chunks else {}
            nv = d.create_variable(name, v.dimensions, dtype=_STR if is_str else v.dtype, **kw)
            if int(np.prod(v.shape)):
                values = v[...]
                nv[...] = _decode(values) if is_str else values
            for k, a in v.attrs.items():
                nv.attrs[k] = a
        for k, a in s.attrs.items():
            d.attrs[k] = a


class StoreWriter:
    """Write a store stimulus by stimulus (or chunk by chunk) with bounded memory.

    The file is written under a temporary name and renamed into place on :meth:`close`, so an
    interrupted write never replaces or corrupts the file at ``path``.  With ``append=True`` the
    existing store is extended (same units, frame rate and unit coords required) at the cost of
    what is added: the new activations go into a new part file in ``<path>.parts/`` and a copy of
    the store file, which holds only coordinates, alignments and the map of the parts (an HDF5
    virtual dataset), replaces it on :meth:`close` (see :mod:`neurorrn._store_parts`).

    A writer holds an exclusive lock on ``path`` (the file ``.NAME.lock`` beside it) from its
    creation to :meth:`close`: a second writer of the same path, in any process, waits up to
    ``lock_timeout`` seconds (default: not at all; ``None``: for ever) and then fails with
    :class:`~neurorrn.utils._lock.LockedError` naming the holder's process.  With
    ``overwrite=False`` the file is put in place with a link that fails if the name exists, so
    two writers can never both succeed.

    :meth:`write` is transactional: every check (shapes, finiteness, ids, coords, alignments)
    runs before the file is touched, so a rejected chunk leaves the store as it was.  Should a
    write fail while the file is being changed (an I/O error), the writer is broken and
    :meth:`close` discards the file instead of marking it complete.

    Examples
    --------
    >>> with StoreWriter(path, unit_ids, frame_rate=100, unit_coords={"layer": layers}) as w:
    ...     for chunk in chunks:
    ...         w.write(chunk_arrays, chunk_ids, word=chunk_words, alignments=chunk_df)
    """

    def __init__(
        self,
        path,
        unit_ids=None,
        frame_rate: float | None = None,
        *,
        n_units: int | None = None,
        unit_coords: dict | None = None,
        attrs: dict | None = None,
        time_unit: str = "s",
        overwrite: bool = False,
        append: bool = False,
        compression: str | None = "gzip",
        time_chunk: int = 256,
        lock_timeout: float | None = 0,
        _lock_held: bool = False,
    ):
        import h5netcdf

        self.path = check_path(path, "path")
        self._h5netcdf = h5netcdf
        self.compression = check_option(compression, ("gzip", None), "compression")
        self.time_chunk = int(time_chunk)
        self._f = None
        self._broken: BaseException | None = None
        self._lock = None
        self._ctx = None
        self._act_f = None  # the file that receives activations: the store itself, or a new part
        self._seg = None  # (atomic_path context, final path) of the new part when appending
        self._parts: list[_parts.Part] | None = None
        self._new_base: Path | None = None
        if self.path.is_dir():
            raise IsADirectoryError(f"store path '{self.path}' is a folder; give a file name (e.g. "
                                    f"'{self.path / 'store.nc'}')")
        if not append and self.path.exists() and not overwrite:
            raise FileExistsError(f"'{self.path}' already exists; pass overwrite=True to replace it")
        self._lock = None if _lock_held else _lock_acquire(self.path, timeout=lock_timeout, what="store")
        try:
            self._ctx = atomic_path(self.path, overwrite=overwrite or append, suffix=".nc")
            if append:
                if not self.path.exists():
                    raise FileNotFoundError(f"cannot append: no store at '{self.path}'")
                self._parts = _check_appendable(self.path)  # the parts it maps (None: self-contained)
            self._tmp = self._ctx.__enter__()
        except BaseException:
            self._release_lock()
            raise
        try:
            if append:
                self._open_append()
            else:
                if frame_rate is None:
                    raise ValueError("frame_rate is required for a new store")
                check_positive(frame_rate, "frame_rate")
                check_option(time_unit, TIME_UNITS, "time_unit")
                if unit_ids is None:
                    if n_units is None:
                        raise ValueError("give unit_ids or n_units")
                    unit_ids = np.arange(int(n_units), dtype=np.int64)
                unit_ids = np.asarray(list(unit_ids))
                if unit_ids.dtype.kind in "USO":
                    unit_ids = _check_ids(unit_ids, "unit_ids")
                elif len(np.unique(unit_ids)) != len(unit_ids):
                    raise StoreValidationError(["duplicate unit_ids"], "unit_ids")
                a = default_attrs(frame_rate, time_unit)
                if attrs:
                    a.update(attrs)
                check_attrs(a)
                self._create(unit_ids, float(frame_rate), unit_coords or {}, a)
        except BaseException as err:
            self._abort(err)
            raise

    # -- creation ------------------------------------------------------------------------
    def _create(self, unit_ids, frame_rate, unit_coords, attrs):
        h5 = self._h5netcdf
        f = self._f = h5.File(self._tmp, "w")
        n_units = len(unit_ids)
        f.dimensions = {STIMULUS: None, TIME: None, UNIT: n_units, INTERVAL: None}
        strdt = _STR
        f.create_variable(STIMULUS, (STIMULUS,), dtype=strdt, chunks=(1024,))
        f.create_variable(TIME, (TIME,), dtype=np.float64, chunks=(1024,))
        if unit_ids.dtype == object:
            f.create_variable(UNIT, (UNIT,), dtype=strdt, data=unit_ids)
        else:
            f.create_variable(UNIT, (UNIT,), data=unit_ids)
        f.create_variable("n_frames", (STIMULUS,), dtype=np.int64, chunks=(1024,))
        self._stim_coords: dict[str, str] = {}
        unit_coords = dict(unit_coords)
        unit_coords.setdefault("layer", np.full(n_units, "layer0", dtype=object))
        unit_coords.setdefault("component", np.full(n_units, "h", dtype=object))
        for name, values in unit_coords.items():
            values = np.asarray(values)
            if values.shape != (n_units,):
                raise ValueError(f"unit coord {name!r} must have shape ({n_units},), got {values.shape}")
            if values.dtype.kind in "USO":
                f.create_variable(name, (UNIT,), dtype=strdt, data=values.astype(object))
            else:
                f.create_variable(name, (UNIT,), data=values)
        self._unit_coord_names = list(unit_coords)
        f.create_variable("activation", STORE_DIMS, **self._activation_layout(n_units))
        self._act_f = f
        self._act_base = 0
        for c in ALIGNMENT_COLUMNS:
            dt = _STR if c in ("stimulus", "tier", "label") else np.float64
            f.create_variable(f"interval_{c}", (INTERVAL,), dtype=dt, chunks=(4096,))
        for k, val in attrs.items():
            f.attrs[k] = val
        f.attrs[_COMPLETE_ATTR] = 0
        self.frame_rate = frame_rate
        self.unit_ids = unit_ids
        self._ids: set[str] = set()
        self._update_coordinates_attr()

    def _activation_layout(self, n_units: int) -> dict:
        return _activation_layout(n_units, self.time_chunk, self.compression)

    # -- appending -----------------------------------------------------------------------
    def _open_append(self):
        """Start an append: a copy of the store file without activations; parts for the new ones."""
        parts = self._parts
        _parts.sweep(self.path, parts)  # parts of appends that were killed before they committed
        if parts is None:
            # the first append to a self-contained store: the file becomes the first part as it
            # is (a hard link: nothing is copied); the new store file holds all but activations
            with h5py.File(self.path, "r") as h:
                d = h["activation"]
                shape = d.shape
                self._act_attrs = {k: v for k, v in d.attrs.items() if k not in _parts._HIDDEN}
            parts = []
            if shape[0] and shape[1]:
                folder = _parts.parts_dir(self.path)
                folder.mkdir(exist_ok=True)
                base = folder / f"p{0:09d}-{secrets.token_hex(4)}.nc"
                how = _parts.link_or_copy(self.path, base)
                self._new_base = base
                logger.debug("append to %s: the store becomes its first part (%s)", self.path, how)
                parts = [_parts.Part(_parts.relative(self.path, base), 0, int(shape[0]), int(shape[1]))]
            _copy_without_activation(self.path, self._tmp)
        else:
            shutil.copyfile(self.path, self._tmp)  # coordinates, alignments and the map: no activations
            with h5py.File(self._tmp, "r+") as h:
                self._act_attrs = _parts.drop_activation(h)
        self._parts = parts
        self._f = self._h5netcdf.File(self._tmp, "a")
        self._f.attrs[_COMPLETE_ATTR] = 0
        self._load_existing()
        self._act_base = self.n_stimuli

    def _activation_file(self):
        """The file receiving activations; when appending, the new part (made on first use)."""
        if self._act_f is None:
            folder = _parts.parts_dir(self.path)
            folder.mkdir(exist_ok=True)
            final = folder / f"p{self._act_base:09d}-{secrets.token_hex(4)}.nc"
            ctx = atomic_path(final, overwrite=False, suffix=".nc")
            tmp = ctx.__enter__()
            self._seg = (ctx, final)
            a = self._act_f = self._h5netcdf.File(tmp, "w")
            n_units = len(self.unit_ids)
            a.dimensions = {STIMULUS: None, TIME: None, UNIT: n_units}
            a.create_variable(STIMULUS, (STIMULUS,), dtype=_STR, chunks=(1024,))
            a.create_variable("activation", STORE_DIMS, **self._activation_layout(n_units))
            a.attrs["part_of"] = self.path.name
            a.attrs["first_stimulus"] = int(self._act_base)
            a.attrs[_COMPLETE_ATTR] = 0
        return self._act_f

    def _grow_time(self, need_t: int) -> None:
        """Lengthen the time axis of the store (and of the new part) to ``need_t`` frames."""
        f = self._f
        cur_t = f.dimensions[TIME].size
        if need_t > cur_t:
            f.resize_dimension(TIME, need_t)
            f.variables[TIME][cur_t:need_t] = np.arange(cur_t, need_t, dtype=np.float64) / self.frame_rate
        a = self._activation_file()
        if a is not f and a.dimensions[TIME].size < need_t:
            a.resize_dimension(TIME, need_t)

    def _commit_append(self) -> None:
        """Put the new part in place, then the store file that maps it (the commit)."""
        f = self._f
        n_time, n_units = f.dimensions[TIME].size, len(self.unit_ids)
        parts = list(self._parts)
        f.close()
        self._f = None
        if self._act_f is not None:
            a = self._act_f
            n, t = a.dimensions[STIMULUS].size, a.dimensions[TIME].size
            a.attrs[_COMPLETE_ATTR] = 1
            a.close()
            self._act_f = None
            (ctx, final), self._seg = self._seg, None
            ctx.__exit__(None, None, None)  # the part is in place; nothing maps it yet
            parts.append(_parts.Part(_parts.relative(self.path, final), self._act_base, self._act_base + n, t))
        with h5py.File(self._tmp, "r+") as h:
            _parts.write_virtual(h, parts, n_time, n_units, self._act_attrs, STORE_DIMS)
            h.attrs[_COMPLETE_ATTR] = 1
        ctx, self._ctx = self._ctx, None
        ctx.__exit__(None, None, None)  # the commit: the new store file replaces the old one
        self._new_base = None
        logger.debug("appended to %s: %d part(s)", self.path, len(parts))

    def _load_existing(self):
        f = self._f
        self.frame_rate = float(f.attrs["frame_rate"])
        self.unit_ids = _decode(f.variables[UNIT][:])
        ids = f.variables[STIMULUS]._h5ds  # every id, for the duplicate check: decoded by h5py at once
        self._ids = set(ids.asstr()[:].tolist()) if ids.shape[0] else set()
        skip = {STIMULUS, TIME, UNIT, "n_frames", "activation", *ALIGNMENT_VARS}
        self._stim_coords = {}
        self._unit_coord_names = []
        for name, var in f.variables.items():
            if name in skip:
                continue
            if var.dimensions == (STIMULUS,):
                self._stim_coords[name] = "str" if h5py.check_string_dtype(var.dtype) or var.dtype is str else "num"
            elif var.dimensions == (UNIT,):
                self._unit_coord_names.append(name)

    def _update_coordinates_attr(self):
        names = " ".join(["n_frames", *self._unit_coord_names, *self._stim_coords])
        if "activation" in self._f.variables:
            self._f.variables["activation"].attrs["coordinates"] = names
        else:  # appending: set on the virtual activation at close
            self._act_attrs["coordinates"] = names

    # -- writing -------------------------------------------------------------------------
    @property
    def n_stimuli(self) -> int:
        return self._f.dimensions[STIMULUS].size

    def write(self, arrays, stimulus_ids, *, alignments=None, **stimulus_coords) -> None:
        """Append stimuli: ``arrays`` is a list of ``(n_frames_i, n_units)`` arrays.

        Everything is checked before the file is changed (see the class docstring).  Numeric
        per-stimulus coords are stored as int64 or float64; a float coord accepts integers, an
        integer coord refuses values with a fractional part (pass floats from the first chunk).
        """
        if self._broken is not None:
            raise RuntimeError(f"the writer of '{self.path}' is unusable: an earlier write failed "
                               f"({type(self._broken).__name__}: {self._broken})")
        if self._f is None:
            raise RuntimeError(f"the writer of '{self.path}' is closed")
        sids = _check_ids(stimulus_ids, "stimulus_ids")
        if len(arrays) != len(sids):
            raise ValueError(f"got {len(arrays)} arrays but {len(sids)} stimulus_ids")
        dup = sorted(self._ids.intersection(sids.tolist()))
        if dup:
            raise StoreValidationError([f"duplicate stimulus ids (already in the store): {dup[:5]}"], "stimulus_ids")
        n_units = len(self.unit_ids)
        mats = []
        for i, a in enumerate(arrays):
            a = np.asarray(a, dtype=np.float32)
            if a.ndim != 2 or a.shape[1] != n_units:
                raise ValueError(
                    f"arrays[{i}] ({sids[i]!r}) must have shape (n_frames, {n_units}), got {a.shape}"
                )
            if not np.isfinite(a).all():
                t = int(np.argwhere(~np.isfinite(a))[0][0])
                kind = "NaN" if np.isnan(a[t]).any() else "Inf"
                raise StoreValidationError([f"{kind} inside the valid frames of stimulus {sids[i]!r} (frame {t})"],
                                           "arrays")
            mats.append(a)
        for name in stimulus_coords:
            if name not in self._stim_coords and self.n_stimuli > 0:
                raise ValueError(f"stimulus coord {name!r} is new; the store already has stimuli without it")
        for name in self._stim_coords:
            if name not in stimulus_coords:
                raise ValueError(f"stimulus coord {name!r} is missing (the store has it for earlier stimuli)")
        df = normalize_alignments(alignments, sids) if alignments is not None else None
        n = len(sids)
        coords = {name: self._check_stimulus_coord(name, values, n) for name, values in stimulus_coords.items()}
        try:
            self._write_checked(sids, mats, coords, df)
        except BaseException as err:
            self._broken = err
            raise

    def _check_stimulus_coord(self, name: str, values, n: int):
        """Validate one per-stimulus coord chunk; return ``(values to write, dtype to create or None)``."""
        values = np.asarray(values)
        if values.shape != (n,):
            raise ValueError(f"stimulus coord {name!r} must have shape ({n},), got {values.shape}")
        kind = values.dtype.kind
        if name not in self._stim_coords:
            if kind in "USO":
                return values.astype(object), "str"
            if kind in "iu":
                return values.astype(np.int64), np.dtype(np.int64)
            if kind == "f":
                if np.isinf(values).any():
                    raise ValueError(f"stimulus coord {name!r} holds infinite values: {values[np.isinf(values)][:3]}")
                return values.astype(np.float64), np.dtype(np.float64)
            if kind == "b":
                return values, values.dtype
            raise TypeError(f"stimulus coord {name!r} has dtype {values.dtype}; use strings, integers or floats")
        have = self._stim_coords[name]
        if have == "str":
            if kind not in "USO":
                raise TypeError(f"stimulus coord {name!r} holds strings in the store; got {values.dtype} values")
            return values.astype(object), None
        stored = np.dtype(self._f.variables[name].dtype)
        if kind in "USO":
            raise TypeError(f"stimulus coord {name!r} holds {stored} numbers in the store; got strings "
                            f"{values[:3].tolist()}")
        if stored.kind in "iu" and kind == "f":
            frac = values[~np.isfinite(values) | (values != np.round(values))]
            if frac.size:
                raise ValueError(f"stimulus coord {name!r} holds integers ({stored}) in the store; got "
                                 f"non-integer values {frac[:3].tolist()} that it cannot hold. Pass floats "
                                 "from the first chunk (e.g. values.astype(float))")
        if stored.kind == "f" and kind == "f" and np.isinf(values).any():
            raise ValueError(f"stimulus coord {name!r} holds infinite values: {values[np.isinf(values)][:3]}")
        if stored.kind == "b" and kind != "b":
            raise TypeError(f"stimulus coord {name!r} holds booleans in the store; got {values.dtype} values")
        return values.astype(stored), None

    def _write_checked(self, sids, mats, coords, df) -> None:
        f = self._f
        n_units = len(self.unit_ids)
        n0 = self.n_stimuli
        n = len(sids)
        nf = np.array([m.shape[0] for m in mats], dtype=np.int64)
        need_t = int(max(nf.max(initial=0), 1))
        self._grow_time(need_t)
        f.resize_dimension(STIMULUS, n0 + n)
        f.variables[STIMULUS][n0 : n0 + n] = sids
        f.variables["n_frames"][n0 : n0 + n] = nf
        for name, (values, new) in coords.items():
            if new is not None:
                if new == "str":
                    f.create_variable(name, (STIMULUS,), dtype=_STR, chunks=(1024,))
                    self._stim_coords[name] = "str"
                else:
                    f.create_variable(name, (STIMULUS,), dtype=new, chunks=(1024,))
                    self._stim_coords[name] = "num"
                self._update_coordinates_attr()
            f.variables[name][n0 : n0 + n] = values
        # one write per chunk: the padded block (NaN past each end) in a single call
        block = np.full((n, need_t, n_units), np.nan, dtype=np.float32)
        for i, m in enumerate(mats):
            block[i, : m.shape[0]] = m
        a, s0 = self._act_f, n0 - self._act_base
        if a is not f:  # appending: the rows of the new part
            a.resize_dimension(STIMULUS, s0 + n)
            a.variables[STIMULUS][s0 : s0 + n] = sids
        a.variables["activation"][s0 : s0 + n, :need_t, :] = block
        if df is not None and len(df):
            k0 = f.dimensions[INTERVAL].size
            f.resize_dimension(INTERVAL, k0 + len(df))
            for c in ALIGNMENT_COLUMNS:
                vals = df[c].to_numpy(dtype=object if c in ("stimulus", "tier", "label") else np.float64)
                f.variables[f"interval_{c}"][k0 : k0 + len(df)] = vals
        self._ids.update(sids.tolist())

    def write_blocks(self, stimulus_id: str, blocks, *, alignments=None, **stimulus_coords) -> int:
        """Append one (long) stimulus from an iterable of ``(n_frames_k, n_units)`` blocks.

        Memory stays bounded by one block, whatever the stimulus's length (a story of an hour).
        ``stimulus_coords`` are scalars for this stimulus.  Returns the number of frames written.
        """
        f = self._f
        sid = _check_ids([stimulus_id], "stimulus_id")
        if sid[0] in self._ids:
            raise StoreValidationError([f"duplicate stimulus id (already in the store): {sid[0]!r}"], "stimulus_id")
        first = True
        n0 = self.n_stimuli
        t = 0
        n_units = len(self.unit_ids)
        for k, a in enumerate(blocks):
            a = np.asarray(a, dtype=np.float32)
            if a.ndim != 2 or a.shape[1] != n_units:
                raise ValueError(f"block {k} of {sid[0]!r} must have shape (n_frames, {n_units}), got {a.shape}")
            if np.isnan(a).any():
                raise StoreValidationError([f"NaN inside the valid frames of stimulus {sid[0]!r} "
                                            f"(frame {t + int(np.argwhere(np.isnan(a))[0][0])})"], "blocks")
            if first:  # register the stimulus with its first block (n_frames fixed at the end)
                self.write([a], list(sid), alignments=alignments,
                           **{c: np.asarray([v]) for c, v in stimulus_coords.items()})
                first = False
            else:
                need_t = t + a.shape[0]
                self._grow_time(need_t)
                self._act_f.variables["activation"][n0 - self._act_base, t:need_t, :] = a
            t += a.shape[0]
        if first:
            raise ValueError(f"stimulus {sid[0]!r} has no frames (no blocks)")
        f.variables["n_frames"][n0] = t
        return t

    def write_dataset(self, ds: xr.Dataset, chunk: int = 64) -> None:
        """Append all stimuli of a store Dataset (read ``chunk`` stimuli at a time)."""
        validate_type(ds, xr.Dataset, "ds")
        theirs, ours = _decode(ds[UNIT].values), self.unit_ids
        if theirs.shape != ours.shape or any(str(a) != str(b) for a, b in zip(theirs, ours)):
            raise ValueError("unit ids of the dataset differ from the store's")
        extra = [c for c, v in ds.coords.items() if v.dims == (STIMULUS,) and c not in (STIMULUS, "n_frames")]
        al = get_alignments(ds)
        for start in range(0, ds.sizes[STIMULUS], chunk):
            part = ds.isel({STIMULUS: slice(start, start + chunk)})
            block = part["activation"].values
            nf = part["n_frames"].values
            arrays = [block[i, : nf[i]] for i in range(len(nf))]
            sids = part[STIMULUS].values
            self.write(
                arrays, list(sids), alignments=al[al["stimulus"].isin(list(sids))],
                **{c: part[c].values for c in extra},
            )

    def close(self) -> Path:
        """Finish the file and move it into place (and release the lock)."""
        if self._f is None:
            return self.path
        if self._broken is not None:
            err = RuntimeError(f"'{self.path}' was not written: a write failed part-way "
                               f"({type(self._broken).__name__}: {self._broken}); the file was discarded")
            self._abort(err)
            raise err
        try:
            if self._parts is not None:
                self._commit_append()
            else:
                self._f.attrs[_COMPLETE_ATTR] = 1
                self._f.close()
                self._f = None
                ctx, self._ctx = self._ctx, None
                ctx.__exit__(None, None, None)
                _parts.sweep(self.path, None)  # parts of the store this file replaced
        except BaseException as err:
            self._abort(err)
            raise
        finally:
            self._release_lock()
        logger.info("wrote store %s", self.path)
        return self.path

    def _release_lock(self):
        if getattr(self, "_lock", None) is not None:
            _lock_release(self._lock)
            self._lock = None

    def _abort(self, err):
        for name in ("_f", "_act_f"):
            f = getattr(self, name, None)
            if f is not None:
                with contextlib.suppress(Exception):
                    f.close()
                setattr(self, name, None)
        seg, self._seg = getattr(self, "_seg", None), None
        if seg is not None:
            with contextlib.suppress(Exception):
                seg[0].__exit__(type(err), err, None)  # removes the unfinished part
        try:
            if getattr(self, "_ctx", None) is not None and getattr(self, "_new_base", None) is not None:
                with contextlib.suppress(FileNotFoundError):
                    self._new_base.unlink()  # the first part of an append that never committed
                self._new_base = None
            if getattr(self, "_ctx", None) is not None and getattr(self, "_tmp", None) is not None:
                ctx, self._ctx = self._ctx, None
                ctx.__exit__(type(err), err, None)
        finally:
            self._release_lock()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        elif self._f is not None:
            self._abort(exc)
        return False


def save_store(ds: xr.Dataset, path, overwrite: bool = False, compression: str | None = "gzip",
               chunk: int = 64, validate: bool = True) -> Path:
    """Write a store Dataset to ``path`` (atomically; ``overwrite=False`` by default).

    The file is self-contained; a store that ``path`` held before is replaced with its parts.
    """
    return _save(ds, path, overwrite, compression, chunk, validate)


def _save(ds, path, overwrite=False, compression="gzip", chunk=64, validate=True, lock_held=False) -> Path:
    validate_type(ds, xr.Dataset, "ds")
    path = check_path(path, "path")
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' already exists; pass overwrite=True to replace it")
    if validate:
        validate_store(ds)
    unit_coords = {c: v.values for c, v in ds.coords.items() if v.dims == (UNIT,) and c != UNIT}
    attrs = dict(ds.attrs)
    with StoreWriter(
        path, ds[UNIT].values, float(ds.attrs["frame_rate"]), unit_coords=unit_coords, attrs=attrs,
        time_unit=attrs.get("time_unit", "s"), overwrite=overwrite, compression=compression, _lock_held=lock_held,
    ) as w:
        w.write_dataset(ds, chunk=chunk)
        # keep the time axis as long as the dataset's, even if all stimuli are shorter
        n_time = ds.sizes[TIME]
        cur = w._f.dimensions[TIME].size
        if n_time > cur:
            w._f.resize_dimension(TIME, n_time)
            w._f.variables[TIME][cur:n_time] = ds[TIME].values[cur:n_time]
        if TIME in ds.coords:
            w._f.variables[TIME][:] = ds[TIME].values
    return path


def append_store(path, ds: xr.Dataset, chunk: int = 64, lock_timeout: float | None = 0) -> Path:
    """Append the stimuli of ``ds`` to the store at ``path`` (atomically).

    Costs what is appended (plus a copy of the store's coordinates), not the store's size: see
    :class:`StoreWriter`.
    """
    with StoreWriter(path, append=True, lock_timeout=lock_timeout) as w:
        if not np.isclose(w.frame_rate, float(ds.attrs.get("frame_rate", np.nan))):
            raise ValueError(f"frame_rate {ds.attrs.get('frame_rate')} differs from the store's {w.frame_rate}")
        w.write_dataset(ds, chunk=chunk)
    return Path(path)


# --------------------------------------------------------------------------------------------
# a store with its parts: consolidate, copy, move, delete
# --------------------------------------------------------------------------------------------
def store_parts(path) -> list[Path]:
    """The part files whose activations the store at ``path`` maps (empty when self-contained)."""
    path = check_path(path, "path", must_exist=True, kind="file")
    return [_parts.resolve(path, p) for p in (_parts.read_parts(path) or [])]


def _write_consolidated(src: Path, dst: Path, compression: str | None, chunk: int = 64) -> None:
    """Write the store at ``src`` to the new file ``dst`` with its activations in the file.

    A self-contained store is copied as it is.  Otherwise the store file is copied (coordinates,
    alignments, attrs), its virtual ``activation`` replaced by an ordinary chunked dataset (the
    layout :class:`StoreWriter` writes) and each part's block copied in, ``chunk`` stimuli at a time.
    """
    parts = _parts.read_parts(src)
    if parts is None:
        shutil.copyfile(src, dst)
        return
    problems = _parts.part_problems(src, parts, deep=True)
    if problems:  # HDF5 would copy a missing part as NaN
        raise StoreValidationError(problems, f"'{src}'")
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as h:
        attrs = _parts.drop_activation(h)
        n, n_time, n_units = h[STIMULUS].shape[0], h[TIME].shape[0], h[UNIT].shape[0]
        d = h.create_dataset("activation", shape=(n, n_time, n_units), maxshape=(None, None, n_units),
                             **_activation_layout(n_units, compression=compression))
        for i, name in enumerate(STORE_DIMS):
            d.dims[i].attach_scale(h[name])
        d.attrs["_Netcdf4Coordinates"] = np.array([int(h[x].attrs["_Netcdf4Dimid"]) for x in STORE_DIMS], np.int32)
        for k, v in attrs.items():
            d.attrs[k] = v
        for p in parts:
            with h5py.File(_parts.resolve(src, p), "r") as f:
                a = f["activation"]
                for i in range(0, p.stop - p.start, chunk):
                    j = min(i + chunk, p.stop - p.start)
                    d[p.start + i : p.start + j, : p.n_time, :] = a[i:j, : p.n_time, :]
        h.attrs[_COMPLETE_ATTR] = 1


def consolidate_store(path, compression: str | None = "gzip", lock_timeout: float | None = 0) -> Path:
    """Fold the parts of an appended store into one self-contained file at the same path.

    Holds the store's lock throughout; the new file replaces the old atomically, then the
    ``<path>.parts`` folder is removed.  A process that opened the store before and reads its
    activations after this gets NaN (HDF5 fills parts that are gone): consolidate while nobody
    reads.  A store that is already self-contained is left as it is (a leftover parts folder
    that nothing maps is removed).
    """
    path = check_path(path, "path", must_exist=True, kind="file")
    check_option(compression, ("gzip", None), "compression")
    lock = _lock_acquire(path, timeout=lock_timeout, what="store")
    try:
        parts = _check_appendable(path)
        if parts is not None:
            with atomic_path(path, overwrite=True, suffix=".nc") as tmp:
                _write_consolidated(path, tmp, compression)
            logger.info("consolidated %s from %d part(s)", path, len(parts))
        _parts.sweep(path, None)
    finally:
        _lock_release(lock)
    return path


def copy_store(src, dst, overwrite: bool = False, compression: str | None = "gzip") -> Path:
    """Copy the store at ``src`` (with its parts) to ``dst`` as one self-contained file.

    ``dst`` is written atomically under its own lock (``overwrite=False``: link-or-fail); a store
    it held before goes with its parts.  ``src`` is only read.
    """
    src = check_path(src, "src", must_exist=True, kind="file")
    dst = check_path(dst, "dst")
    check_option(compression, ("gzip", None), "compression")
    if dst.is_dir():
        raise IsADirectoryError(f"store path '{dst}' is a folder; give a file name (e.g. '{dst / src.name}')")
    if dst.exists() and dst.resolve() == src.resolve():
        raise ValueError(f"cannot copy store '{src}' onto itself")
    _check_appendable(src)
    lock = _lock_acquire(dst, what="store")
    try:
        with atomic_path(dst, overwrite=overwrite, suffix=".nc") as tmp:
            _write_consolidated(src, tmp, compression)
        _parts.sweep(dst, None)
    finally:
        _lock_release(lock)
    return dst


def move_store(src, dst, overwrite: bool = False) -> Path:
    """Move the store at ``src`` and its parts to ``dst`` without copying activations.

    Under both stores' locks: ``dst``'s parts folder receives hard links to ``src``'s parts (a copy
    across file systems), then ``dst``'s file, mapping them, is put in place atomically
    (link-or-fail unless ``overwrite``), then ``src`` and its parts are deleted.  Killed part-way,
    it leaves ``src`` complete, or both complete, or ``dst`` complete (perhaps with ``src``'s parts
    folder left without its file: :func:`delete_store` on ``src`` removes it).
    """
    src = check_path(src, "src", must_exist=True, kind="file")
    dst = check_path(dst, "dst")
    if dst.exists() and dst.resolve() == src.resolve():
        raise ValueError(f"cannot move store '{src}' onto itself")
    if dst.is_dir():
        raise IsADirectoryError(f"store path '{dst}' is a folder; give a file name (e.g. '{dst / src.name}')")
    if dst.exists() and not overwrite:
        raise FileExistsError(f"'{dst}' already exists; pass overwrite=True to replace it")
    validate_store(src, check_values=False)
    lock_src = _lock_acquire(src, what="store")
    try:
        lock_dst = _lock_acquire(dst, what="store")
        try:
            parts = _parts.read_parts(src)
            new = []
            if parts:
                folder = _parts.parts_dir(dst)
                folder.mkdir(parents=True, exist_ok=True)
                for p in parts:
                    f = _parts.resolve(src, p)
                    target = folder / f.name
                    if not (target.exists() and target.samefile(f)):
                        target = folder / f"{f.stem}-{secrets.token_hex(2)}{f.suffix}" if target.exists() else target
                        _parts.link_or_copy(f, target)
                    new.append(_parts.Part(_parts.relative(dst, target), p.start, p.stop, p.n_time))
            with atomic_path(dst, overwrite=overwrite, suffix=".nc") as tmp:
                if parts is None:
                    _parts.link_or_copy(src, tmp.with_name(tmp.name + "-src"))
                    os.replace(tmp.with_name(tmp.name + "-src"), tmp)
                else:
                    shutil.copyfile(src, tmp)
                    with h5py.File(tmp, "r+") as h:
                        attrs = _parts.drop_activation(h)
                        n_time, n_units = h[TIME].shape[0], h[UNIT].shape[0]
                        _parts.write_virtual(h, new, n_time, n_units, attrs, STORE_DIMS)
            _parts.sweep(dst, new if parts else None)  # the parts of a store dst held before
            src.unlink()
            _parts.sweep(src, None)
        finally:
            _lock_release(lock_dst)
    finally:
        _lock_release(lock_src)
    logger.info("moved store %s to %s", src, dst)
    return dst


def delete_store(path, lock_timeout: float | None = 0) -> None:
    """Delete the store at ``path`` and its parts (under its lock).

    Also removes a ``<path>.parts`` folder left without its file (a :func:`move_store` killed
    between deleting the old file and its parts).
    """
    path = check_path(path, "path")
    if path.is_dir():
        raise IsADirectoryError(f"store path '{path}' is a folder; give a file name")
    if not path.exists() and not _parts.parts_dir(path).is_dir():
        raise FileNotFoundError(f"path: no such store: '{path}' (nor a parts folder '{_parts.parts_dir(path)}')")
    lock = _lock_acquire(path, timeout=lock_timeout, what="store")
    try:
        if path.exists():
            path.unlink()
        _parts.sweep(path, None)
    finally:
        _lock_release(lock)


# --------------------------------------------------------------------------------------------
# selection and iteration
# --------------------------------------------------------------------------------------------
def select(ds: xr.Dataset, stimulus=None, layer=None, component=None, time=None, unit=None) -> xr.Dataset:
    """Select stimuli by id, units by layer/component/id and a time window ``(tmin, tmax)``.

    Alignment rows follow the selected stimuli.  Unknown ids raise an error naming them.
    """
    out = ds
    if stimulus is not None:
        ids = [stimulus] if isinstance(stimulus, str) else list(stimulus)
        known = set(ds[STIMULUS].values.tolist())
        missing = [i for i in ids if i not in known]
        if missing:
            raise KeyError(f"stimulus ids not in the store: {missing[:10]}")
        out = out.sel({STIMULUS: ids})
        if ALIGNMENT_VARS[0] in out:
            keep = np.isin(out["interval_stimulus"].values.astype(str), np.asarray(ids, dtype=str))
            out = out.isel({INTERVAL: np.flatnonzero(keep)})
    for name, value in (("layer", layer), ("component", component)):
        if value is not None:
            vals = [value] if isinstance(value, str) else list(value)
            have = sorted(set(ds[name].values.tolist()))
            bad = [v for v in vals if v not in have]
            if bad:
                raise KeyError(f"{name} {bad} not in the store; available: {have}")
            out = out.isel({UNIT: np.flatnonzero(np.isin(out[name].values, vals))})
    if unit is not None:
        out = out.sel({UNIT: unit})
    if time is not None:
        tmin, tmax = time
        out = out.sel({TIME: slice(tmin, tmax)})
    return out


def iter_stimuli(ds: xr.Dataset, chunk: int = 64) -> Iterable[tuple[str, np.ndarray]]:
    """Yield ``(stimulus_id, array of shape (n_frames, n_units))``, reading ``chunk`` at a time."""
    for start in range(0, ds.sizes[STIMULUS], chunk):
        part = ds.isel({STIMULUS: slice(start, start + chunk)})
        block = part["activation"].values
        for sid, nf, a in zip(part[STIMULUS].values, part["n_frames"].values, block):
            yield str(sid), a[: int(nf)]


def describe(ds: xr.Dataset) -> dict:
    """A JSON-able summary of a store (for ``neurorrn store inspect``)."""
    layers = {}
    if "layer" in ds.coords:
        names, counts = np.unique(ds["layer"].values.astype(str), return_counts=True)
        layers = {str(n): int(c) for n, c in zip(names, counts)}
    al = get_alignments(ds)
    return {
        "n_stimuli": int(ds.sizes[STIMULUS]),
        "n_time": int(ds.sizes[TIME]),
        "n_units": int(ds.sizes[UNIT]),
        "layers": layers,
        "n_frames": {"min": int(ds["n_frames"].min()), "max": int(ds["n_frames"].max())}
        if ds.sizes[STIMULUS] else {},
        "stimulus_coords": sorted(c for c, v in ds.coords.items() if v.dims == (STIMULUS,) and c != STIMULUS),
        "unit_coords": sorted(c for c, v in ds.coords.items() if v.dims == (UNIT,) and c != UNIT),
        "alignment_rows": {t: int((al["tier"] == t).sum()) for t in sorted(set(al["tier"]))},
        "attrs": {k: (v.tolist() if isinstance(v, np.ndarray) else (v.item() if isinstance(v, np.generic) else v))
                  for k, v in ds.attrs.items()},
    }


__all__ = [
    "FORMAT_VERSION", "StoreValidationError", "StoreWriter", "append_store", "check_attrs", "consolidate_store",
    "copy_store", "delete_store", "describe", "from_arrays", "get_alignments", "iter_stimuli", "load_store",
    "move_store", "normalize_alignments", "open_store", "save_store", "select", "store_parts", "validate_store",
]
