"""SIGKILL writers at random points; whatever is on disk must be complete or absent (issue 19).

A seeded loop picks, for each round, a workload (store writes, checkpoint saves in training,
pipeline stages) and a kill point: either the k-th file-system event of the workload (a rename,
link, unlink, mkdir, ``torch.save``, a store chunk write or close: the workload's total is
counted in an uninterrupted reference run) or a delay.  The workload runs in a forked child,
which is SIGKILLed there.  Then:

* every output file that exists is complete: a store validates and equals the reference store
  at one of the workload's commit points; a checkpoint loads;
* the workload run again (a fresh child) completes, and its outputs are identical to the
  uninterrupted reference run (model weights bit for bit, metrics lines, store contents);
* temporaries left by the killed writer are swept by the next open of their folder.

The default run does 21 kills at events (about 40 s on a loaded 2-core machine, of which 10 s
for the reference runs); ``--runslow`` runs 200 more, a fifth of them after random delays.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from neurorrn import store as S
from neurorrn.utils._io import remove_stale_temps

from ._pipe import build as build_pipeline
from ._planted import trainer

UNITS = 4
CHUNKS = [[f"s{c}_{i}" for i in range(3)] for c in range(3)]
EXTRA = [f"x{i}" for i in range(4)]
EXTRA2 = [f"y{i}" for i in range(2)]
LONG = [np.full((4, UNITS), 10.0 + k, np.float32) for k in range(3)]  # 12 frames: the time axis grows
_EVENTS = [("os", "replace"), ("os", "link"), ("os", "rename"), ("os", "unlink"), ("os", "mkdir"),
           ("shutil", "rmtree"), ("shutil", "copyfile"), ("torch", "save"), ("store", "write"),
           ("store", "write_blocks"), ("store", "close")]


def _arrays(ids):
    return [np.full((3 + len(s) % 3, UNITS), float(sum(map(ord, s))), np.float32) for s in ids]


# ------------------------------------------------------------------------------------- workloads
def _base(p: Path):
    with S.StoreWriter(p, [f"u{i}" for i in range(UNITS)], 100.0) as w:
        for ids in CHUNKS:
            w.write(_arrays(ids), ids, onset=np.arange(len(ids)) * 0.5)


def _append_x(p: Path):
    with S.StoreWriter(p, append=True) as w:
        w.write(_arrays(EXTRA), EXTRA, onset=np.arange(len(EXTRA)) * 0.25)


def store_job(d: Path):
    """Write a store in three chunks, append twice, consolidate; skip what is already done.

    The first append turns the self-contained file into the first part of the store; the second
    adds a part to a store of parts (and lengthens its time axis); consolidation folds them back.
    """
    p = d / "s.nc"
    if not p.exists():
        _base(p)
    with S.open_store(p) as ds:
        have = set(map(str, ds["stimulus"].values))
    if "x0" not in have:
        _append_x(p)
    if "y0" not in have:
        with S.StoreWriter(p, append=True) as w:
            w.write(_arrays(EXTRA2), EXTRA2, onset=np.arange(len(EXTRA2)) * 0.125)
            w.write_blocks("ylong", LONG, onset=9.0)
    S.consolidate_store(p)  # also removes the parts a kill left after an earlier consolidation


def train_job(d: Path):
    """Train 4 epochs with a checkpoint every epoch; resume when a checkpoint exists."""
    data, tr = trainer(d / "run", max_epochs=4, checkpoint_every=1, random_state=3)
    if (d / "run" / "checkpoint.pt").exists():
        tr.resume(d / "run" / "checkpoint.pt")
    tr.fit(data)
    tr.save(d / "final.pt")
    tr.release()


def pipeline_job(d: Path):
    build_pipeline().run({"corpus": {}, "train": {"epochs": 3}}, d / "out")


JOBS = {"store": store_job, "train": train_job, "pipeline": pipeline_job}


# ------------------------------------------------------------------------------------- the child
def _arm(kill_at: int | None, count_file: str | None):
    """Count file-system events; SIGKILL this process at event ``kill_at``."""
    import shutil as _sh

    import torch

    mods = {"os": os, "shutil": _sh, "torch": torch, "store": S.StoreWriter}
    n = [0]

    def wrap(owner, name):
        orig = getattr(owner, name)

        def hooked(*a, **kw):
            n[0] += 1
            if kill_at is not None and n[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return orig(*a, **kw)

        setattr(owner, name, hooked)

    for mod, name in _EVENTS:
        wrap(mods[mod], name)
    return n


def _child(job: str, d: str, kill_at, count_file):
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    n = _arm(kill_at, count_file)
    JOBS[job](Path(d))
    if count_file:
        Path(count_file).write_text(str(n[0]))
    os._exit(0)


def run_child(job, d, kill_at=None, count_file=None, delay=None) -> int:
    ctx = mp.get_context("fork")
    p = ctx.Process(target=_child, args=(job, str(d), kill_at, count_file))
    p.start()
    if delay is not None:
        p.join(delay)
        if p.is_alive():
            os.kill(p.pid, signal.SIGKILL)
    p.join(120)
    if p.is_alive():  # pragma: no cover - a hang is a failure
        os.kill(p.pid, signal.SIGKILL)
        raise AssertionError(f"{job} child hung")
    return p.exitcode


# ------------------------------------------------------------------------------------- checks
def _store_state(p: Path):
    ds = S.load_store(p)
    return (list(map(str, ds["stimulus"].values)), ds["activation"].values, ds["onset"].values,
            S.get_alignments(ds).shape)


def _same_store(a, b) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1], equal_nan=True) and np.array_equal(a[2], b[2])


def _no_live_temps(folder: Path):
    """Leftovers may only be temporaries of the dead writer (swept on the next open) or free lock files."""
    remove_stale_temps(folder)
    for sub in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        remove_stale_temps(sub)
    left = [p.name for p in folder.rglob("*") if ".tmp-" in p.name]
    assert not left, left


def _epochs(text: str) -> list[dict]:
    """The metrics lines without their wall-clock field."""
    return [{k: v for k, v in json.loads(x).items() if k != "time_s"} for x in text.splitlines()]


class Reference:
    def __init__(self, base: Path):
        self.events = {}
        self.base = base
        # warm up in this process (lazy imports: torch's optimisers, xarray's backends), so that the
        # forked children start in milliseconds
        (base / "warm").mkdir()
        for job in JOBS.values():
            job(base / "warm")
        shutil.rmtree(base / "warm")
        for job in JOBS:
            d = base / f"ref-{job}"
            d.mkdir()
            assert run_child(job, d, count_file=str(base / f"{job}.count")) == 0
            self.events[job] = int((base / f"{job}.count").read_text())
        ref = base / "ref-store"
        self.store_full = _store_state(ref / "s.nc")
        # the states at the earlier commit points: the store without appended stimuli, after one append
        d = base / "ref-store-base"
        d.mkdir()
        _base(d / "s.nc")
        self.store_base = _store_state(d / "s.nc")
        _append_x(d / "s.nc")
        self.store_mid = _store_state(d / "s.nc")
        import torch

        self.final = torch.load(base / "ref-train" / "final.pt", weights_only=True)
        self.metrics = (base / "ref-train" / "run" / "metrics.jsonl").read_text()
        self.pipe = {n: json.loads((r / "result.json").read_text())["meta"] for n, r in
                     ((p.parent.name, p) for p in (base / "ref-pipeline" / "out" / "stages").glob("*/*")
                      if (p / "COMPLETE").exists())}


def check_after_kill(job: str, d: Path, ref: Reference):
    if job == "store":
        p = d / "s.nc"
        if p.exists():
            S.validate_store(p)
            st = _store_state(p)
            assert any(_same_store(st, r) for r in (ref.store_base, ref.store_mid, ref.store_full))
    elif job == "train":
        from neurorrn.models import load_checkpoint

        for name in ("checkpoint.pt", "best.pt"):
            if (d / "run" / name).exists():
                ck = load_checkpoint(d / "run" / name)
                assert 1 <= ck["epoch"] <= 4
    else:
        for res in (d / "out" / "stages").glob("*/*/COMPLETE") if (d / "out").exists() else []:
            meta = json.loads((res.parent / "result.json").read_text())["meta"]
            assert meta == ref.pipe[res.parent.parent.name] or res.parent.parent.name == "train"


def check_after_rerun(job: str, d: Path, ref: Reference):
    if job == "store":
        assert _same_store(_store_state(d / "s.nc"), ref.store_full)
        S.validate_store(d / "s.nc")
        assert S.store_parts(d / "s.nc") == []
        assert sorted(p.name for p in d.iterdir()) == ["s.nc"]  # no parts, temporaries or lock files left
    elif job == "train":
        import torch

        final = torch.load(d / "final.pt", weights_only=True)
        for k, v in ref.final["model"].items():
            assert torch.equal(final["model"][k], v), k
        assert final["step"] == ref.final["step"] and final["epoch"] == 4
        assert _epochs((d / "run" / "metrics.jsonl").read_text()) == _epochs(ref.metrics)
    else:
        for res in (d / "out" / "stages").glob("*/*/COMPLETE"):
            meta = json.loads((res.parent / "result.json").read_text())["meta"]
            want = dict(ref.pipe[res.parent.parent.name])
            for m in (meta, want):
                m.pop("pid", None)
                m.pop("resumed_from", None)
            assert meta == want
        assert not list((d / "out" / "stages" / "train").glob("*.work"))
    _no_live_temps(d)


T0 = [0.0]


def _loop(tmp_path, seed: int, n_kills: int, p_delay: float = 0.0):
    T0[0] = time.monotonic()
    rng = np.random.default_rng(seed)
    ref = Reference(tmp_path)
    kinds = list(JOBS)
    killed = 0
    for r in range(n_kills):
        job = kinds[r % len(kinds)] if r < len(kinds) else kinds[int(rng.integers(len(kinds)))]
        d = tmp_path / f"round{r}"
        d.mkdir()
        if rng.random() >= p_delay:
            k = int(rng.integers(1, ref.events[job] + 1))
            code = run_child(job, d, kill_at=k)
        else:
            code = run_child(job, d, delay=float(rng.uniform(0.0, 0.4)))
        killed += code == -signal.SIGKILL
        check_after_kill(job, d, ref)
        assert run_child(job, d) == 0, f"round {r}: the {job} run after the kill did not complete"
        check_after_rerun(job, d, ref)
        shutil.rmtree(d)
    return killed


def test_sigkill_loop(tmp_path):
    t0 = time.monotonic()
    killed = _loop(tmp_path, seed=19, n_kills=21)
    assert killed == 21, killed  # a kill at the k-th event of a workload always lands
    assert time.monotonic() - t0 < 300


@pytest.mark.slow
def test_sigkill_loop_long(tmp_path):
    killed = _loop(tmp_path, seed=1919, n_kills=200, p_delay=0.2)
    assert killed >= 150  # delay kills may come after a workload has finished


@pytest.mark.parametrize("every", [pytest.param(5, id="every-5th"), pytest.param(1, id="all", marks=pytest.mark.slow)])
def test_sigkill_at_every_event_of_appends_and_consolidation(tmp_path, every):
    """Kill the store workload at each of its file-system events after the base store, in turn.

    The default run kills at every 5th event and the last (8 of 33); ``--runslow`` at all of them.

    The base store is in place before each round, so every kill lands in the first append (a
    self-contained file becoming the first part), the second append (a part added to a store of
    parts) or the consolidation.  The store must validate and equal one of its commit points after
    each kill, and the workload run again must finish with the full store, one file, nothing left.
    """
    from types import SimpleNamespace

    seed = tmp_path / "seed"
    seed.mkdir()
    _base(seed / "s.nc")
    ref = SimpleNamespace(store_base=_store_state(seed / "s.nc"))
    mid = tmp_path / "mid"
    mid.mkdir()
    shutil.copy(seed / "s.nc", mid / "s.nc")
    _append_x(mid / "s.nc")
    ref.store_mid = _store_state(mid / "s.nc")
    store_job(mid)  # (warm: the forked children start at once)
    ref.store_full = _store_state(mid / "s.nc")
    d = tmp_path / "count"
    d.mkdir()
    shutil.copy(seed / "s.nc", d / "s.nc")
    assert run_child("store", d, count_file=str(tmp_path / "n")) == 0
    n = int((tmp_path / "n").read_text())
    assert n >= 15, n  # links, copies, renames, writes and closes of two appends and a consolidation
    for k in sorted({*range(1, n + 1, every), n}):
        d = tmp_path / f"k{k}"
        d.mkdir()
        shutil.copy(seed / "s.nc", d / "s.nc")
        assert run_child("store", d, kill_at=k) == -signal.SIGKILL
        check_after_kill("store", d, ref)
        assert run_child("store", d) == 0, f"kill at event {k}: the run after it did not complete"
        check_after_rerun("store", d, ref)
        shutil.rmtree(d)
