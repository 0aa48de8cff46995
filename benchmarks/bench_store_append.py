"""Appending to a store in steps: time per append at the start and at the end, new vs old path.

Two stores grow side by side in one run, ``--step`` stimuli per append up to ``--total``:

* **parts** — today's :func:`neurorrn.store.append_store`: the new activations go into a part
  file, the store file (coordinates, alignments, the map of the parts) is copied and replaced;
* **full copy** — the append of neurorrn before parts (commit ``02d0ff2``, loaded from git as a
  peer module): the whole store is copied (or reflink-cloned on btrfs/XFS) under a temporary
  name, extended and renamed, so an append costs the size of the store.

Both stores receive the same stimuli (``--units`` units, 20-60 frames each, a word and a talker
coord, phone and word alignments: 5 rows per stimulus), the parts store first, then the full-copy
store (interleaved, the full copies of ~200 MB evict the other store's pages from the cache and
their write-back lands in its time); each append comes after an untimed ``os.sync()``.  Prints a
JSON object: the median seconds per append over the first and the last
``--window`` appends of each path, their end/start ratios (flat = 1), the full-copy/parts ratio
at the end, the final file sizes, the time to read every activation back, and whether both
stores hold the same values.

Usage::

    python benchmarks/bench_store_append.py [--total 18000] [--step 200] [--units 64] [--dir DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

OLD_COMMIT = "02d0ff2"
REPO = Path(__file__).resolve().parents[1]


def old_store_module(where: Path):
    """neurorrn.store as of OLD_COMMIT (full-copy appends), imported inside today's package."""
    src = subprocess.run(["git", "-C", str(REPO), "show", f"{OLD_COMMIT}:neurorrn/store.py"], check=True,
                         capture_output=True, text=True).stdout
    f = where / "_old_store.py"
    f.write_text(src)
    spec = importlib.util.spec_from_file_location("neurorrn._bench_old_store", f)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def chunk(k: int, step: int, units: int, rng):
    ids = [f"w{k * step + i:06d}__t{i % 7}" for i in range(step)]
    n = rng.integers(20, 61, step)
    arrays = [rng.standard_normal((m, units)).astype(np.float32) for m in n]
    rows = []
    for sid, m in zip(ids, n):
        dur = m / 100.0
        edges = np.linspace(0, dur, 5)
        rows += [(sid, "phone", p, a, b) for p, a, b in zip(("k", "ae", "t", "s"), edges[:-1], edges[1:])]
        rows.append((sid, "word", sid.split("__")[0], 0.0, dur))
    al = pd.DataFrame(rows, columns=["stimulus", "tier", "label", "start", "end"])
    return ids, arrays, al, [s.split("__")[0] for s in ids], [s.split("__")[1] for s in ids]


def append(mod, path, units, ids, arrays, al, words, talkers) -> float:
    os.sync()  # (not timed) the other store's dirty pages are written back before this append starts
    t0 = time.perf_counter()
    with mod.StoreWriter(path, append=True) as w:
        w.write(arrays, ids, alignments=al, word=words, talker=talkers)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--total", type=int, default=18000)
    ap.add_argument("--step", type=int, default=200)
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--dir", default=None, help="where to write (default: a temporary folder)")
    args = ap.parse_args(argv)

    from neurorrn import store as new
    from neurorrn.utils._io import clone_or_copy

    base = Path(tempfile.mkdtemp(prefix="bench_append_", dir=args.dir))
    try:
        old = old_store_module(base)
        probe = base / "probe"
        probe.write_bytes(b"x")
        reflink = clone_or_copy(probe, base / "probe2") == "clone"
        rng = np.random.default_rng(0)
        paths = {"parts": base / "parts.nc", "full_copy": base / "full.nc"}
        mods = {"parts": new, "full_copy": old}
        units = [f"u{i}" for i in range(args.units)]
        ids, arrays, al, words, talkers = chunk(0, args.step, args.units, rng)
        for name, p in paths.items():
            with mods[name].StoreWriter(p, units, 100.0) as w:
                w.write(arrays, ids, alignments=al, word=words, talker=talkers)
        times = {k: [] for k in paths}
        n_steps = args.total // args.step - 1
        state = rng.bit_generator.state
        for name in paths:  # one store after the other: the full copies would evict the other's pages
            rng.bit_generator.state = state  # the same stimuli for both
            for k in range(1, n_steps + 1):
                times[name].append(append(mods[name], paths[name], args.units, *chunk(k, args.step, args.units, rng)))
        w = args.window
        res = {"stimuli": (n_steps + 1) * args.step, "appends": n_steps, "step": args.step, "units": args.units,
               "reflink_fs": reflink, "machine": platform.node(), "python": platform.python_version()}
        for name, t in times.items():
            start, end = float(np.median(t[:w])), float(np.median(t[-w:]))
            res[name] = {"start_s": round(start, 4), "end_s": round(end, 4), "end_over_start": round(end / start, 2),
                         "max_s": round(max(t), 4), "total_s": round(sum(t), 2)}
        res["full_copy_over_parts_at_end"] = round(res["full_copy"]["end_s"] / res["parts"]["end_s"], 2)
        res["parts"]["store_file_mb"] = round(paths["parts"].stat().st_size / 2**20, 2)
        res["parts"]["parts_mb"] = round(sum(f.stat().st_size for f in new.store_parts(paths["parts"])) / 2**20, 1)
        res["parts"]["n_parts"] = len(new.store_parts(paths["parts"]))
        res["full_copy"]["store_file_mb"] = round(paths["full_copy"].stat().st_size / 2**20, 1)
        acts = {}
        for name, p in paths.items():
            t0 = time.perf_counter()
            with new.open_store(p) as ds:
                acts[name] = ds["activation"].values
            res[name]["read_all_s"] = round(time.perf_counter() - t0, 3)
        res["same_values"] = bool(np.array_equal(acts["parts"], acts["full_copy"], equal_nan=True))
        t0 = time.perf_counter()
        new.consolidate_store(paths["parts"])
        res["parts"]["consolidate_s"] = round(time.perf_counter() - t0, 2)
        print(json.dumps(res, indent=1))  # noqa: T201 - benchmark output
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
