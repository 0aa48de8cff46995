"""Appends that cost what they add: a store's activations in immutable parts, one virtual dataset.

Why this design
---------------
Appending to an HDF5 file in place is not crash-safe: HDF5 updates its metadata (B-trees, heaps,
the superblock's end of file) in several writes, so a SIGKILL between them can leave a file that
no longer opens, and HDF5 keeps no journal to roll back with.  The old append therefore copied the
whole store under a temporary name and renamed it into place: safe, but each append cost the size
of the store (quadratic in total over many appends; a reflink clone avoids the copy only on btrfs
or XFS).  A zarr store appends cheaply but changes its arrays' metadata one file at a time, so a
kill between two of them leaves the stimulus ids and the activations out of step.

Instead, an append writes only what is new:

* the new stimuli's ``activation`` block goes into a **part**: a small netCDF file in the folder
  ``<store>.parts/`` beside the store (``s.nc`` -> ``s.nc.parts/p000000400-1a2b3c4d.nc``),
  written under a temporary name and linked into place when complete; a part never changes
  after that;
* the store file itself (the **main** file) keeps every coordinate, the alignments and the attrs,
  and its ``activation`` becomes an HDF5 *virtual dataset* (VDS) that maps each part's block to
  its rows.  An append copies the main file (a few bytes per stimulus and alignment row: no
  activations), extends its coordinates, rebuilds the mapping with one more part and renames the
  copy into place, the same atomic replace as every other write;
* the first append to a self-contained store makes the store file itself the first part, with a
  hard link (no data copied), and writes a main file without its activations.

A SIGKILL at any moment therefore leaves the old main file (which maps only parts that exist and
never change) or the new one; at worst a part that no main file maps, removed by the next writer
of that store.  Readers see one ordinary ``activation`` variable: h5py, h5netcdf and xarray read a
VDS like any dataset, and ``open_store``/``select``/``iter_stimuli`` are unchanged.

What a VDS costs
----------------
* The store is a file **and** its ``.parts`` folder.  Mapped file names are relative to the store's
  folder, so moving both together works; copying the main file alone gives a file whose
  activations live in the original's parts.  :func:`neurorrn.store.copy_store`,
  :func:`~neurorrn.store.move_store` and :func:`~neurorrn.store.delete_store` handle both;
  :func:`~neurorrn.store.consolidate_store` folds the parts into one self-contained file.
* HDF5 reads a missing part as its fill value (NaN) without an error, so
  :func:`~neurorrn.store.open_store` and :func:`~neurorrn.store.validate_store` check that every
  mapped part exists (and ``validate_store`` that each is complete and of the mapped shape).
* Every part is a file that HDF5 opens when its rows are read (and closes after): thousands of tiny
  appends make reads slower; consolidate now and then.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

PARTS_SUFFIX = ".parts"
ACTIVATION = "activation"
_HIDDEN = ("DIMENSION_LIST", "_Netcdf4Coordinates")


@dataclass(frozen=True)
class Part:
    """One mapped block: rows ``start:stop`` of the store, frames ``0:n_time``, from ``file``."""

    file: str  # as mapped: relative to the store's folder (or absolute)
    start: int
    stop: int
    n_time: int


def parts_dir(path) -> Path:
    """The folder of a store's parts: ``<store>.parts`` beside it."""
    path = Path(path)
    return path.with_name(path.name + PARTS_SUFFIX)


def resolve(path, part: Part) -> Path:
    """The file of ``part`` of the store at ``path``."""
    return Path(_resolve_str(path, part))


def _resolve_str(path, part: Part) -> str:
    # plain strings: a store of thousands of parts resolves them on every append
    return os.path.normpath(os.path.join(os.path.dirname(os.fspath(path)), part.file))


def relative(path, part_file) -> str:
    """How the main file at ``path`` names ``part_file`` (relative to its folder)."""
    return os.path.relpath(Path(part_file), Path(path).parent)


def read_parts(path) -> list[Part] | None:
    """The parts mapped by the store at ``path``; ``None`` when its activations are in the file."""
    with h5py.File(path, "r") as h:
        if ACTIVATION not in h:
            return None
        return parts_of(h[ACTIVATION])


def parts_of(dset) -> list[Part] | None:
    if not dset.is_virtual:
        return None
    out = []
    for m in dset.virtual_sources():
        lo, hi = m.vspace.get_select_bounds()
        name = m.file_name.replace("%%", "%")  # VDS file names escape '%' (printf-style patterns)
        out.append(Part(name, int(lo[0]), int(hi[0]) + 1, int(hi[1]) + 1))
    return sorted(out, key=lambda p: p.start)


def part_problems(path, parts: list[Part], n_units: int | None = None, deep: bool = True) -> list[str]:
    """Why the parts of the store at ``path`` cannot give its activations (empty when they can)."""
    problems = []
    missing = [p.file for p in parts if not os.path.isfile(_resolve_str(path, p))]
    if missing:
        problems.append(
            f"{len(missing)} of its {len(parts)} activation part(s) are missing: {missing[:3]} (relative to "
            f"'{Path(path).parent}'). A store written by appends is the file and its folder "
            f"'{parts_dir(path).name}': copy or move them together (neurorrn.store.copy_store / move_store), "
            "or consolidate_store before copying the file alone")
        return problems
    if not deep:
        return problems
    for p in parts:
        f = resolve(path, p)
        try:
            with h5py.File(f, "r") as h:
                d = h[ACTIVATION]
                complete = int(np.ravel(h.attrs.get("_neurorrn_complete", 1))[0])
                shape = d.shape
                kind = d.dtype.kind
        except Exception as err:  # noqa: BLE001 - anything unreadable is a problem
            problems.append(f"activation part '{p.file}' cannot be read: {type(err).__name__}: {err}")
            continue
        if complete != 1:
            problems.append(f"activation part '{p.file}' was not completely written")
        want = (p.stop - p.start, p.n_time)
        if len(shape) != 3 or shape[:2] != want or (n_units is not None and shape[2] != n_units) or kind != "f":
            problems.append(f"activation part '{p.file}' holds an array of shape {shape} ({kind}); the store "
                            f"maps {want[0]} stimuli x {want[1]} frames x {n_units} units from it")
    return problems


def drop_activation(h: h5py.File) -> dict:
    """Remove ``activation`` from an open main file; return its attrs (without the dims' own)."""
    d = h[ACTIVATION]
    attrs = {k: v for k, v in d.attrs.items() if k not in _HIDDEN}
    for i in range(len(d.dims)):
        for scale in list(d.dims[i].values()):
            d.dims[i].detach_scale(scale)
    del h[ACTIVATION]
    return attrs


def write_virtual(h: h5py.File, parts: list[Part], n_time: int, n_units: int, attrs: dict,
                  dims=("stimulus", "time", "unit")) -> None:
    """Create ``activation`` in the open main file ``h`` as a VDS of ``parts`` (NaN elsewhere).

    ``h`` must hold the dimension scales ``dims``; parts are mapped by their recorded names.
    """
    n_stim = h[dims[0]].shape[0]
    layout = h5py.VirtualLayout(shape=(n_stim, n_time, n_units), dtype=np.float32)
    for p in parts:
        n = p.stop - p.start
        if n == 0 or p.n_time == 0:
            continue
        src = h5py.VirtualSource(p.file.replace("%", "%%"), ACTIVATION, shape=(n, p.n_time, n_units))
        layout[p.start : p.stop, : p.n_time, :] = src
    d = h.create_virtual_dataset(ACTIVATION, layout, fillvalue=np.float32(np.nan))
    for i, name in enumerate(dims):
        d.dims[i].attach_scale(h[name])
    # netCDF-4 readers (netCDF-C) find a variable's dimensions by their ids
    d.attrs["_Netcdf4Coordinates"] = np.array([int(h[n].attrs["_Netcdf4Dimid"]) for n in dims], dtype=np.int32)
    for k, v in attrs.items():
        d.attrs[k] = v


def link_or_copy(src, dst) -> str:
    """Hard-link ``src`` to the new name ``dst`` (no data copied), else copy it."""
    try:
        os.link(src, dst)
        return "link"
    except OSError:
        shutil.copyfile(src, dst)
        return "copy"


def sweep(path, parts: list[Part] | None) -> list[Path]:
    """Remove the files of ``<path>.parts`` that the store at ``path`` does not map.

    Call only while holding the store's lock.  Temporaries of live writers are kept (those of dead
    writers go too); the folder goes when it is left empty.  Returns what was removed.
    """
    from .utils._io import remove_stale_temps

    folder = parts_dir(path)
    if not folder.is_dir():
        return []
    removed = remove_stale_temps(folder)
    keep = {_resolve_str(path, p) for p in (parts or [])}
    for f in folder.iterdir():
        if ".tmp-" in f.name or os.path.normpath(os.fspath(f)) in keep:
            continue
        with contextlib.suppress(FileNotFoundError):
            if f.is_dir() and not f.is_symlink():
                shutil.rmtree(f)
            else:
                f.unlink()
            removed.append(f)
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when empty
    return removed
