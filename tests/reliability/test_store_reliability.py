"""Stores under concurrency, interruption and bad values (issue 19: D1, D2, W4, W5, W6, housekeeping)."""

from __future__ import annotations

import os
import threading
import time

import h5py
import numpy as np
import pytest
import xarray as xr

from neurorrn import store as S
from neurorrn.utils._io import atomic_path, remove_stale_temps, temp_name
from neurorrn.utils._lock import LockedError

from ._procs import spawn, wait_for

UNITS = 3

HOLDER = """
import sys, time, pathlib
import numpy as np
from neurorrn.store import StoreWriter
path, prefix, n, append, ready, go = sys.argv[1:7]
n = int(n)
if append == "1":
    w = StoreWriter(path, append=True)
else:
    w = StoreWriter(path, [f"u{i}" for i in range(3)], 100.0)
w.write([np.full((4, 3), i, np.float32) for i in range(n)], [f"{prefix}{i}" for i in range(n)])
pathlib.Path(ready).touch()
while not pathlib.Path(go).exists():
    time.sleep(0.02)
w.close()
print("closed")
"""


def _arrays(n, value=1.0):
    return [np.full((4, UNITS), value + i, np.float32) for i in range(n)]


def _new_store(path, ids):
    with S.StoreWriter(path, [f"u{i}" for i in range(UNITS)], 100.0) as w:
        w.write(_arrays(len(ids)), ids)


def _ids(path):
    with S.open_store(path) as ds:
        return sorted(map(str, ds["stimulus"].values))


def test_D1_second_writer_of_a_new_store_is_refused_naming_the_holder(tmp_path):
    p = tmp_path / "x.nc"
    proc = spawn(HOLDER, args=(p, "a", 3, 0, tmp_path / "ready", tmp_path / "go"))
    try:
        wait_for(tmp_path / "ready", proc)
        with pytest.raises(LockedError, match=rf"store '.*x\.nc' is locked by another writer: process {proc.pid}"):
            S.StoreWriter(p, [f"u{i}" for i in range(UNITS)], 100.0)
    finally:
        (tmp_path / "go").touch()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert _ids(p) == ["a0", "a1", "a2"]  # the holder's stimuli, all of them
    with pytest.raises(FileExistsError, match="already exists"):
        S.StoreWriter(p, [f"u{i}" for i in range(UNITS)], 100.0)
    assert not list(tmp_path.glob(".x.nc.lock"))  # the lock file goes with its holder


def test_D1_overwrite_false_is_enforced_at_the_rename(tmp_path):
    p = tmp_path / "f.txt"
    with pytest.raises(FileExistsError, match="another writer created it first"):
        with atomic_path(p, overwrite=False) as outer:
            outer.write_text("outer")
            with atomic_path(p, overwrite=False) as inner:  # both passed the up-front check
                inner.write_text("inner")
    assert p.read_text() == "inner"  # the first to finish wins; the other is told
    assert [q.name for q in tmp_path.iterdir()] == ["f.txt"]  # no temporary left behind


def test_D1_folders_too(tmp_path):
    p = tmp_path / "d"
    with pytest.raises(FileExistsError):
        with atomic_path(p, overwrite=False, is_dir=True) as outer:
            outer.mkdir()
            (outer / "a").write_text("outer")
            with atomic_path(p, overwrite=False, is_dir=True) as inner:
                inner.mkdir()
                (inner / "a").write_text("inner")
    assert (p / "a").read_text() == "inner"


def test_D2_concurrent_appends_lose_nothing(tmp_path):
    p = tmp_path / "s.nc"
    _new_store(p, [f"base{i}" for i in range(10)])
    proc = spawn(HOLDER, args=(p, "a", 20, 1, tmp_path / "ready", tmp_path / "go"))
    try:
        wait_for(tmp_path / "ready", proc)
        with pytest.raises(LockedError, match=f"process {proc.pid}"):
            S.StoreWriter(p, append=True)
        # a writer that is willing to wait gets its turn once the holder is done
        threading.Timer(0.3, lambda: (tmp_path / "go").touch()).start()
        with S.StoreWriter(p, append=True, lock_timeout=60) as w:
            w.write(_arrays(20), [f"c{i}" for i in range(20)])
    finally:
        (tmp_path / "go").touch()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    ids = _ids(p)
    assert len(ids) == 50
    assert {i for i in ids if i.startswith("a")} == {f"a{i}" for i in range(20)}
    assert {i for i in ids if i.startswith("c")} == {f"c{i}" for i in range(20)}
    S.validate_store(p)


def test_a_second_writer_in_the_same_process_fails_at_once(tmp_path):
    p = tmp_path / "s.nc"
    with S.StoreWriter(p, [f"u{i}" for i in range(UNITS)], 100.0) as w:
        w.write(_arrays(1), ["a"])
        t0 = time.monotonic()
        with pytest.raises(LockedError, match="already being written by this process"):
            S.StoreWriter(p, [f"u{i}" for i in range(UNITS)], 100.0, overwrite=True, lock_timeout=30)
        assert time.monotonic() - t0 < 5  # no waiting for itself
    assert _ids(p) == ["a"]


def test_W4_inf_is_refused_by_the_writer_and_by_validation(tmp_path):
    p = tmp_path / "s.nc"
    with S.StoreWriter(p, [f"u{i}" for i in range(UNITS)], 100.0) as w:
        bad = _arrays(1)[0]
        bad[2, 1] = np.inf
        with pytest.raises(S.StoreValidationError, match=r"Inf inside the valid frames of stimulus 'x' \(frame 2\)"):
            w.write([bad], ["x"])
        w.write(_arrays(2), ["a", "b"])
    with h5py.File(p, "r+") as f:  # corrupt the file behind the writer's back
        f["activation"][1, 3, 0] = -np.inf
    with pytest.raises(S.StoreValidationError, match=r"Inf inside the valid frames of stimulus 'b' \(frame 3 of 4\)"):
        S.validate_store(p)
    ds = S.from_arrays(_arrays(1), ["a"], 100.0)
    ds["activation"][0, 0, 0] = np.inf
    with pytest.raises(S.StoreValidationError, match="Inf inside"):
        S.save_store(ds, tmp_path / "t.nc")


def test_W5_numeric_coords_keep_a_wide_dtype_or_refuse_narrowing(tmp_path):
    p = tmp_path / "s.nc"
    with S.StoreWriter(p, [f"u{i}" for i in range(UNITS)], 100.0) as w:
        w.write(_arrays(1), ["a"], onset=np.array([1], dtype=np.int8), rate=[0.5])
        with pytest.raises(ValueError, match=r"'onset' holds integers \(int64\).*non-integer values \[2\.75\]"):
            w.write(_arrays(1), ["b"], onset=[2.75], rate=[1])
        w.write(_arrays(1), ["b"], onset=[300.0], rate=[1])  # wider than the first chunk's int8; int into float
    ds = S.load_store(p)
    np.testing.assert_array_equal(ds["onset"].values, [1, 300])
    assert ds["onset"].dtype == np.int64
    np.testing.assert_array_equal(ds["rate"].values, [0.5, 1.0])
    assert ds["rate"].dtype == np.float64


def test_W6_a_rejected_chunk_leaves_no_ghost_stimulus(tmp_path):
    p = tmp_path / "s.nc"
    with S.StoreWriter(p, [f"u{i}" for i in range(UNITS)], 100.0) as w:
        w.write(_arrays(2), ["a", "b"], word=["x", "y"])
        with pytest.raises(ValueError, match=r"stimulus coord 'word' must have shape \(1,\), got \(2,\)"):
            w.write(_arrays(1, value=9), ["c"], word=["z", "zz"])
        with pytest.raises(TypeError, match="'word' holds strings"):
            w.write(_arrays(1, value=9), ["c"], word=[3])
        with pytest.raises(TypeError, match=r"alignments\[.bad.\] must be a dict"):
            w.write(_arrays(1, value=9), ["c"], word=["z"], alignments={"bad": [1]})
        assert w.n_stimuli == 2
    ds = S.load_store(p)
    assert list(ds["stimulus"].values) == ["a", "b"]
    assert ds.sizes["interval"] == 0
    S.validate_store(p)


def test_W6_a_write_failing_part_way_is_never_marked_complete(tmp_path, monkeypatch):
    p = tmp_path / "s.nc"
    w = S.StoreWriter(p, [f"u{i}" for i in range(UNITS)], 100.0)
    w.write(_arrays(1), ["a"])
    real = w._write_checked

    def fail_after_resize(sids, mats, coords, df):
        w._f.resize_dimension("stimulus", w.n_stimuli + len(sids))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(w, "_write_checked", fail_after_resize)
    with pytest.raises(OSError, match="No space left"):
        w.write(_arrays(1), ["b"])
    monkeypatch.setattr(w, "_write_checked", real)
    with pytest.raises(RuntimeError, match="earlier write failed"):
        w.write(_arrays(1), ["c"])
    with pytest.raises(RuntimeError, match="was not written: a write failed part-way"):
        w.close()
    assert list(tmp_path.iterdir()) == []  # nothing at the path, no temporary, no lock file


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        _new_store(tmp_path / "a.nc", ["a"])
        S.save_store(S.load_store(tmp_path / "a.nc"), tmp_path / "b.nc")
        os.umask(0o027)
        _new_store(tmp_path / "c.nc", ["a"])
    finally:
        os.umask(old)
    assert (tmp_path / "a.nc").stat().st_mode & 0o777 == 0o664
    assert (tmp_path / "b.nc").stat().st_mode & 0o777 == 0o664
    assert (tmp_path / "c.nc").stat().st_mode & 0o777 == 0o640


def test_stale_temporaries_of_dead_writers_are_removed_on_the_next_open(tmp_path):
    dead = spawn("pass")
    dead.communicate()
    alive = spawn("import time; time.sleep(60)")
    try:
        stale = tmp_path / temp_name("x.nc", ".nc").replace(f"-{os.getpid()}-", f"-{dead.pid}-")
        stale.write_bytes(b"\0" * 1000)
        stale_dir = tmp_path / temp_name("corpus").replace(f"-{os.getpid()}-", f"-{dead.pid}-")
        stale_dir.mkdir()
        (stale_dir / "a.wav").write_bytes(b"x")
        busy = tmp_path / temp_name("y.nc", ".nc").replace(f"-{os.getpid()}-", f"-{alive.pid}-")
        busy.write_bytes(b"\0")
        foreign = tmp_path / ".z.nc.tmp-abc.nc"  # not ours: never touched
        foreign.write_bytes(b"\0")
        _new_store(tmp_path / "other.nc", ["a"])
        assert not stale.exists() and not stale_dir.exists()
        assert busy.exists() and foreign.exists()
    finally:
        alive.kill()
        alive.communicate()
    assert remove_stale_temps(tmp_path) == [busy]


def test_U1_a_plain_xarray_file_is_not_called_an_interrupted_write(tmp_path):
    p = tmp_path / "plain.nc"
    xr.Dataset({"activation": (("stimulus", "time", "unit"), np.zeros((1, 2, 3), np.float32))}).to_netcdf(
        p, engine="h5netcdf")
    problems = S.validate_store(p, raise_on_error=False)
    assert problems and not any("interrupted" in q for q in problems)
    assert any("missing attrs" in q for q in problems)


def test_store_path_that_is_a_folder_is_refused_clearly(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder; give a file name"):
        S.StoreWriter(tmp_path, [f"u{i}" for i in range(UNITS)], 100.0)


def test_locked_error_survives_pickling():
    import pickle

    err = pickle.loads(pickle.dumps(LockedError("store 'x' is locked by process 1", {"pid": "1"})))
    assert str(err) == "store 'x' is locked by process 1" and err.holder == {"pid": "1"}
    assert isinstance(err, BlockingIOError)
