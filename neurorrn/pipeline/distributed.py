"""Fan analyses out over subjects × models × layers with dask.distributed, results to zarr.

Every (subject, model, layer) combination is one **task**: a small JSON-able mapping given to a
task function ``func(task) -> xarray.Dataset``.  The function loads what it needs from disk (file
paths travel in the task, never arrays), computes, and returns a Dataset whose variables have
the same dims and sizes for every task (for example ``score`` on ``("sensor",)``, ``accuracy``
on ``("time",)``).

:func:`fan_out` runs the tasks

* serially in this process (``scheduler="serial"``), or
* on a dask cluster: a :class:`distributed.LocalCluster` by default (``scheduler=None``), or any
  running scheduler given by its address (``"tcp://10.0.0.5:8786"``).

Results go to a zarr store (format 2, readable by :func:`xarray.open_zarr`) with a leading
``task`` dim and per-task coords ``subject``, ``model``, ``layer``.
The layout is created from the first finished task; every other task writes **its own region**
(``task = i``) straight from the worker, so nothing is gathered on the client and a crashed
fan-out keeps what was written.  Chunks are one task long, so concurrent writers never share a
chunk.  The serial and distributed paths call the same function on the same inputs and write the
same store: their numbers are identical (tested with a 2-worker LocalCluster).

The workers must see the same file system as the client (a shared disk on a cluster).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import xarray as xr

from ..utils._check import validate_type
from ..utils._io import atomic_path
from ..utils._logging import logger, progress

TASK = "task"
TASK_KEYS = ("subject", "model", "layer")
_DONE_ATTR = "neurorrn_done"


@contextlib.contextmanager
def _quiet_zarr():
    """zarr 3 warns about format-2 stores and unstable specs; those warnings are not ours."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"zarr(\..*)?")
        warnings.filterwarnings("ignore", message=r".*[Zz]arr.*")
        warnings.filterwarnings("ignore", message=r".*consolidated.*")
        yield


def make_tasks(subjects: Sequence[str], models: Sequence[str], layers: Sequence[str],
               **common) -> list[dict]:
    """The product subjects × models × layers as task mappings (``common`` added to each)."""
    for name, seq in (("subjects", subjects), ("models", models), ("layers", layers)):
        if len(seq) == 0:
            raise ValueError(f"make_tasks: {name} is empty; give at least one")
    return [dict(common, subject=str(s), model=str(m), layer=str(la))
            for s in subjects for m in models for la in layers]


def _check_tasks(tasks) -> list[dict]:
    tasks = list(tasks)
    if not tasks:
        raise ValueError("fan_out: no tasks given")
    for i, t in enumerate(tasks):
        validate_type(t, Mapping, f"tasks[{i}]")
        missing = [k for k in TASK_KEYS if k not in t]
        if missing:
            raise ValueError(f"fan_out: tasks[{i}] lacks {missing}; every task names "
                             f"{', '.join(TASK_KEYS)} (got keys {sorted(t)})")
        try:
            json.dumps(t)
        except TypeError as err:
            raise TypeError(f"fan_out: tasks[{i}] must be JSON-able (paths as str): {err}") from None
    ids = [(t["subject"], t["model"], t["layer"]) for t in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError("fan_out: duplicate (subject, model, layer) among the tasks")
    return tasks


def _task_coords(tasks: list[dict]) -> dict:
    keys = list(TASK_KEYS)  # other task keys (paths, settings) stay out of the store
    coords = {}
    for k in keys:
        vals = [t.get(k) for t in tasks]
        if all(isinstance(v, (str, type(None))) for v in vals) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            coords[k] = (TASK, np.array(["" if v is None else str(v) for v in vals], dtype=object))
        else:
            coords[k] = (TASK, np.array(vals))
    return coords


def _check_result(ds, task, template=None) -> xr.Dataset:
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"task function must return an xarray.Dataset for task {task}, "
                        f"got {type(ds).__name__}")
    if TASK in ds.dims:
        raise ValueError(f"task result for {task} already has a {TASK!r} dim; return one task's result")
    if template is not None:
        want = {v: (template[v].dims, template[v].shape) for v in template.data_vars}
        got = {v: (ds[v].dims, ds[v].shape) for v in ds.data_vars}
        if want != got:
            raise ValueError(f"task result for {task} does not match the first task's layout: "
                             f"expected {want}, got {got}")
    return ds


def _region_ds(ds: xr.Dataset, index: int) -> xr.Dataset:
    """One task's result with a length-1 task dim and only region-writable variables."""
    out = ds.drop_vars([c for c in ds.coords if c not in ds.dims]).expand_dims({TASK: [index]})
    # dimension coordinates other than 'task' are already in the store; drop them for region writes
    return out.drop_vars([d for d in ds.dims if d in out.coords])


def _write_region(path: str, index: int, ds: xr.Dataset) -> None:
    with _quiet_zarr():
        _region_ds(ds, index).to_zarr(path, region={TASK: slice(index, index + 1)}, mode="r+",
                                      zarr_format=2, consolidated=False)
        import zarr

        root = zarr.open_group(path, mode="r+", zarr_format=2)
        root[f"{_DONE_ATTR}"][index] = 1


def _run_and_write(func: Callable, task: dict, index: int, path: str, first_layout) -> int:
    ds = _check_result(func(task), task, first_layout)
    _write_region(path, index, ds)
    return index


def _create_store(path: Path, first: xr.Dataset, tasks: list[dict], attrs: dict) -> None:
    n = len(tasks)
    data_vars = {}
    for v, da in first.data_vars.items():
        dtype = da.dtype if da.dtype.kind in "fiub" else np.float64
        fill = np.full((n,) + da.shape, np.nan if dtype.kind == "f" else 0, dtype=dtype)
        data_vars[v] = ((TASK,) + da.dims, fill, dict(da.attrs))
    data_vars[_DONE_ATTR] = ((TASK,), np.zeros(n, dtype=np.int8))
    coords = {TASK: np.arange(n), **_task_coords(tasks),
              **{d: first[d].values for d in first.dims if d in first.coords}}
    for c in first.coords:  # non-dimension coords shared by all tasks (e.g. sensor types)
        if c not in first.dims and TASK not in first[c].dims:
            coords[c] = (first[c].dims, first[c].values)
    tmpl = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    encoding = {v: {"chunks": (1,) + tmpl[v].shape[1:]} for v in tmpl.data_vars}
    with _quiet_zarr(), atomic_path(path, overwrite=True, is_dir=True, suffix="") as tmp:
        tmpl.to_zarr(tmp, mode="w", zarr_format=2, encoding=encoding, consolidated=False)


def open_results(path) -> xr.Dataset:
    """Open a fan-out result store (lazy); raises if any task did not finish."""
    with _quiet_zarr():
        ds = xr.open_zarr(path, zarr_format=2, consolidated=False)
    done = ds[_DONE_ATTR].values.astype(bool)
    if not done.all():
        missing = [str(ds["subject"].values[i]) + "/" + str(ds["model"].values[i]) + "/"
                   + str(ds["layer"].values[i]) for i in np.flatnonzero(~done)]
        raise RuntimeError(f"{path}: {len(missing)} task(s) did not finish: {', '.join(missing[:10])}")
    ds = ds.drop_vars(_DONE_ATTR)
    # zarr 3 returns variable-width strings (numpy StringDType); give plain str arrays back
    fixed = {c: (ds[c].dims, np.array([str(v) for v in ds[c].values.ravel()], dtype=str).reshape(ds[c].shape))
             for c in ds.coords if ds[c].dtype.kind in "TO"}
    return ds.assign_coords(fixed) if fixed else ds


@contextlib.contextmanager
def get_client(scheduler: str | None = None, n_workers: int = 2, threads_per_worker: int = 1,
               processes: bool = True):
    """A dask client: a new LocalCluster (``scheduler=None``) or one connected to an address."""
    from distributed import Client, LocalCluster

    if scheduler:
        logger.info("dask: connecting to scheduler %s", scheduler)
        with Client(scheduler) as client:
            yield client
        return
    logger.info("dask: starting a LocalCluster with %d worker(s) × %d thread(s)", n_workers,
                threads_per_worker)
    with LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
                      dashboard_address=None, silence_logs=40) as cluster, Client(cluster) as client:
        yield client


def fan_out(func: Callable[[dict], xr.Dataset], tasks: Sequence[Mapping], path, *,
            scheduler: str | None = "serial", n_workers: int = 2, threads_per_worker: int = 1,
            processes: bool = True, attrs: Mapping | None = None, verbose=None) -> xr.Dataset:
    """Run ``func`` on every task and write the results, task by task, to a zarr store.

    Parameters
    ----------
    func : callable
        ``func(task: dict) -> xarray.Dataset``; importable (or picklable) so workers can run it.
    tasks : sequence of dict
        Each names ``subject``, ``model`` and ``layer`` (see :func:`make_tasks`); JSON-able.
    path : path-like
        Output zarr directory (replaced if it exists).
    scheduler : "serial" | None | str
        ``"serial"``: in this process; ``None``: a new LocalCluster with ``n_workers`` workers;
        any other string: the address of a running dask scheduler.
    n_workers, threads_per_worker, processes
        LocalCluster settings (ignored for an address or serial).
    attrs : mapping, optional
        Attributes of the result store (strings and numbers).

    Returns
    -------
    results : xarray.Dataset
        Dims ``("task", ...)`` with coords ``subject``, ``model``, ``layer``; opened lazily from
        ``path``.
    """
    tasks = _check_tasks(tasks)
    path = Path(path)
    attrs = dict(attrs or {})
    if scheduler == "serial":
        first = _check_result(func(tasks[0]), tasks[0])
        _create_store(path, first, tasks, attrs)
        _write_region(str(path), 0, first)
        for i in progress(range(1, len(tasks)), desc="tasks", initial=1, total=len(tasks), verbose=verbose):
            ds = _check_result(func(tasks[i]), tasks[i], first)
            _write_region(str(path), i, ds)
        return open_results(path)
    with get_client(scheduler, n_workers, threads_per_worker, processes) as client:
        first = _check_result(client.submit(func, tasks[0], pure=False).result(), tasks[0])
        _create_store(path, first, tasks, attrs)
        _write_region(str(path), 0, first)
        layout = client.scatter(first, broadcast=True)  # the first result fixes every task's layout
        futures = [client.submit(_run_and_write, func, tasks[i], i, str(path), layout, pure=False)
                   for i in range(1, len(tasks))]
        from distributed import as_completed

        bar = progress(total=len(tasks), initial=1, desc="tasks", verbose=verbose)
        for fut in as_completed(futures):
            fut.result()  # re-raise a task's error here, naming nothing lost: regions stay written
            bar.update(1)
        bar.close()
    return open_results(path)
