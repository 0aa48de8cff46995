"""Appends that cost what they add: parts mapped by a virtual dataset (issue 19, housekeeping)."""

from __future__ import annotations

import os
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neurorrn import store as S
from neurorrn._store_parts import parts_dir
from neurorrn.utils._io import remove_stale_temps

UNITS = ["u0", "u1", "u2"]


def _chunk(ids, rng, n_frames=None):
    n_frames = n_frames or [int(rng.integers(2, 7)) for _ in ids]
    arrays = [rng.standard_normal((n, len(UNITS))).astype(np.float32) for n in n_frames]
    al = pd.DataFrame([(s, "word", s.upper(), 0.0, n / 100.0) for s, n in zip(ids, n_frames)],
                      columns=["stimulus", "tier", "label", "start", "end"])
    return arrays, al


def _write(path, ids, rng, append=False, **kw):
    arrays, al = _chunk(ids, rng, kw.pop("n_frames", None))
    args = {"append": True} if append else {"unit_ids": UNITS, "frame_rate": 100.0}
    with S.StoreWriter(path, **args) as w:
        w.write(arrays, ids, alignments=al, word=[s.upper() for s in ids], onset=np.arange(len(ids)), **kw)
    return arrays


def _expected(chunks):
    """The store one StoreWriter would write from all chunks at once (the reference)."""
    ids = [i for c in chunks for i in c[0]]
    arrays = [a for c in chunks for a in c[1]]
    return ids, arrays


def _check(path, ids, arrays):
    S.validate_store(path)
    ds = S.load_store(path)
    assert list(ds["stimulus"].values) == ids
    n = max(a.shape[0] for a in arrays)
    assert ds.sizes["time"] == n
    for i, a in enumerate(arrays):
        np.testing.assert_array_equal(ds["activation"].values[i, : a.shape[0]], a)
        assert np.isnan(ds["activation"].values[i, a.shape[0]:]).all()
    np.testing.assert_array_equal(ds["n_frames"].values, [a.shape[0] for a in arrays])
    assert list(ds["word"].values) == [s.upper() for s in ids]
    assert ds["onset"].dtype == np.int64
    al = S.get_alignments(ds)
    assert list(al["stimulus"]) == ids and list(al["label"]) == [s.upper() for s in ids]
    # the public format is unchanged: plain xarray reads the same dataset
    with xr.open_dataset(path, engine="h5netcdf") as raw:
        np.testing.assert_array_equal(raw["activation"].values, ds["activation"].values)
        assert raw["activation"].dims == ("stimulus", "time", "unit")
    return ds


def test_appends_write_parts_and_leave_earlier_data_in_place(tmp_path, rng):
    p = tmp_path / "s.nc"
    chunks = [(["a", "b"], _write(p, ["a", "b"], rng, n_frames=[3, 4]))]
    ino = p.stat().st_ino
    chunks.append((["c"], _write(p, ["c"], rng, append=True, n_frames=[9])))  # the time axis grows
    # the first append made the self-contained file the first part, as it was (a hard link)
    parts = S.store_parts(p)
    assert len(parts) == 2 and parts[0].stat().st_ino == ino
    assert all(q.parent == parts_dir(p) for q in parts)
    chunks.append((["d", "e"], _write(p, ["d", "e"], rng, append=True, n_frames=[2, 5])))
    parts3 = S.store_parts(p)
    assert parts3[:2] == parts and len(parts3) == 3  # earlier parts are never rewritten
    with h5py.File(p) as h:
        assert h["activation"].is_virtual
    _check(p, *_expected(chunks))
    # the store file holds coordinates and the map, not activations: it does not grow with them
    size = p.stat().st_size
    _write(p, ["f"], rng, append=True, n_frames=[2000])
    assert p.stat().st_size - size < 20_000 < 2000 * len(UNITS) * 4


def test_write_blocks_and_coords_keep_their_rules_across_appends(tmp_path, rng):
    p = tmp_path / "s.nc"
    _write(p, ["a"], rng)
    blocks = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(3)]
    with S.StoreWriter(p, append=True) as w:
        assert w.n_stimuli == 1
        with pytest.raises(ValueError, match=r"'onset' holds integers \(int64\).*non-integer values \[2\.5\]"):
            w.write(*_chunk(["b"], rng)[:1], ["b"], word=["B"], onset=[2.5])
        with pytest.raises(ValueError, match="stimulus coord 'word' is missing"):
            w.write(*_chunk(["b"], rng)[:1], ["b"], onset=[2])
        with pytest.raises(S.StoreValidationError, match=r"duplicate stimulus ids.*\['a'\]"):
            w.write(*_chunk(["a"], rng)[:1], ["a"], word=["A"], onset=[2])
        assert w.write_blocks("long", blocks, word="LONG", onset=7) == 12
    ds = S.load_store(p)
    assert list(ds["stimulus"].values) == ["a", "long"] and ds.sizes["time"] == 12
    np.testing.assert_array_equal(ds["activation"].sel(stimulus="long").values, np.concatenate(blocks))
    np.testing.assert_array_equal(ds["onset"].values, [0, 7])
    S.validate_store(p)


def test_a_failed_append_changes_nothing(tmp_path, rng):
    p = tmp_path / "s.nc"
    _write(p, ["a"], rng)
    _write(p, ["b"], rng, append=True)
    before = (p.read_bytes(), sorted(q.name for q in parts_dir(p).iterdir()))
    with pytest.raises(RuntimeError, match="boom"):
        with S.StoreWriter(p, append=True) as w:
            w.write(*_chunk(["c"], rng)[:1], ["c"], word=["C"], onset=[0])
            raise RuntimeError("boom")
    assert (p.read_bytes(), sorted(q.name for q in parts_dir(p).iterdir())) == before
    assert sorted(q.name for q in tmp_path.iterdir()) == ["s.nc", "s.nc.parts"]  # no temporaries, no lock
    with pytest.raises(S.StoreValidationError, match="duplicate stimulus ids"):
        S.append_store(p, S.load_store(p))
    assert (p.read_bytes(), sorted(q.name for q in parts_dir(p).iterdir())) == before


def test_parts_that_no_store_file_maps_are_swept_by_the_next_append(tmp_path, rng):
    p = tmp_path / "s.nc"
    _write(p, ["a"], rng)
    _write(p, ["b"], rng, append=True)
    orphan = parts_dir(p) / "p000000002-deadbeef.nc"  # as a kill between a part and its commit leaves
    shutil.copyfile(S.store_parts(p)[1], orphan)
    _write(p, ["c"], rng, append=True)
    assert not orphan.exists()
    assert sorted(parts_dir(p).iterdir()) == sorted(S.store_parts(p))


def test_consolidate_folds_parts_into_one_file(tmp_path, rng):
    p = tmp_path / "s.nc"
    chunks = [(["a"], _write(p, ["a"], rng)), (["b"], _write(p, ["b"], rng, append=True)),
              (["c"], _write(p, ["c"], rng, append=True))]
    S.consolidate_store(p)
    assert not parts_dir(p).exists() and S.store_parts(p) == []
    with h5py.File(p) as h:
        assert not h["activation"].is_virtual
    _check(p, *_expected(chunks))
    chunks.append((["d"], _write(p, ["d"], rng, append=True)))  # appends go on as before
    _check(p, *_expected(chunks))
    S.consolidate_store(S.consolidate_store(p))  # twice: nothing left to fold
    _check(p, *_expected(chunks))


def test_copy_move_and_delete_take_the_parts_along(tmp_path, rng):
    p = tmp_path / "s.nc"
    chunks = [(["a"], _write(p, ["a"], rng)), (["b"], _write(p, ["b"], rng, append=True))]
    want = _expected(chunks)
    c = S.copy_store(p, tmp_path / "copy.nc")
    assert S.store_parts(c) == []  # a copy is self-contained
    _check(c, *want)
    (tmp_path / "sub").mkdir()
    m = S.move_store(p, tmp_path / "sub" / "m.nc")
    assert not p.exists() and not parts_dir(p).exists()
    assert all(q.parent == parts_dir(m) for q in S.store_parts(m))
    _check(m, *want)
    with pytest.raises(FileExistsError, match="already exists"):
        S.move_store(m, c)
    c2 = S.move_store(c, tmp_path / "copy2.nc")  # a self-contained store moves as one file
    assert not c.exists() and S.store_parts(c2) == []
    _check(c2, *want)
    # moving the file together with its parts folder (by hand) keeps it whole: names are relative
    (tmp_path / "moved").mkdir()
    shutil.move(m, tmp_path / "moved" / "m.nc")
    shutil.move(parts_dir(m), tmp_path / "moved" / "m.nc.parts")
    _check(tmp_path / "moved" / "m.nc", *want)
    S.delete_store(tmp_path / "moved" / "m.nc")
    assert list((tmp_path / "moved").iterdir()) == []
    with pytest.raises(FileNotFoundError, match="no such store"):
        S.delete_store(tmp_path / "moved" / "m.nc")


def test_a_store_without_its_parts_is_refused_not_read_as_nan(tmp_path, rng):
    p = tmp_path / "s.nc"
    _write(p, ["a"], rng)
    _write(p, ["b"], rng, append=True)
    (tmp_path / "elsewhere").mkdir()
    alone = shutil.copy(p, tmp_path / "elsewhere" / "s.nc")  # the file without its folder
    for fn in (S.open_store, S.validate_store, lambda q: S.StoreWriter(q, append=True), S.consolidate_store,
               lambda q: S.copy_store(q, tmp_path / "copy.nc")):
        with pytest.raises(S.StoreValidationError, match=r"2 of its 2 activation part\(s\) are missing.*copy_store"):
            fn(alone)
    last = S.store_parts(p)[-1]
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 2])  # a damaged part
    problems = S.validate_store(p, raise_on_error=False)
    assert len(problems) == 1 and "cannot be read" in problems[0] and last.name in problems[0]
    with pytest.raises(S.StoreValidationError, match="cannot be read"):
        S.consolidate_store(p)  # never folds a damaged part into the file
    assert not (tmp_path / "copy.nc").exists() and len(S.store_parts(p)) == 2
    last.unlink()
    with pytest.raises(S.StoreValidationError, match=r"1 of its 2 activation part\(s\) are missing"):
        S.open_store(p)


def test_overwriting_an_appended_store_removes_its_parts(tmp_path, rng):
    p = tmp_path / "s.nc"
    _write(p, ["a"], rng)
    _write(p, ["b"], rng, append=True)
    ds = S.from_arrays(_chunk(["z"], rng)[0], ["z"], 100.0, unit_ids=UNITS)
    S.save_store(ds, p, overwrite=True)
    assert not parts_dir(p).exists()
    assert list(S.load_store(p)["stimulus"].values) == ["z"]


def test_appending_to_an_empty_store_and_with_a_new_coord(tmp_path, rng):
    p = tmp_path / "s.nc"
    with S.StoreWriter(p, UNITS, 100.0):
        pass
    _write(p, ["a", "b"], rng, append=True, talker=["m1", "f2"])
    ds = S.load_store(p)
    assert list(ds["talker"].values) == ["m1", "f2"] and ds.sizes["stimulus"] == 2
    S.validate_store(p)


def test_an_interrupted_or_foreign_file_is_not_appended_to(tmp_path):
    p = tmp_path / "plain.nc"
    xr.Dataset({"activation": (("stimulus", "time", "unit"), np.zeros((1, 2, 3), np.float32))}).to_netcdf(
        p, engine="h5netcdf")
    with pytest.raises(S.StoreValidationError, match="missing attrs"):
        S.StoreWriter(p, append=True)
    assert sorted(q.name for q in tmp_path.iterdir()) == ["plain.nc"]
    with h5py.File(p, "r+") as h:
        h.attrs["_neurorrn_complete"] = 0
    with pytest.raises(S.StoreValidationError, match="interrupted write"):
        S.StoreWriter(p, append=True)


def test_parts_follow_the_umask(tmp_path, rng):
    old = os.umask(0o002)
    try:
        _write(tmp_path / "s.nc", ["a"], rng)
        _write(tmp_path / "s.nc", ["b"], rng, append=True)
    finally:
        os.umask(old)
    assert all(q.stat().st_mode & 0o777 == 0o664 for q in [tmp_path / "s.nc", *S.store_parts(tmp_path / "s.nc")])


@pytest.mark.slow  # ~15 kills, each checked: 20-45 s on a shared 2-core machine
def test_a_move_killed_at_any_event_leaves_a_complete_store(tmp_path, rng):
    """SIGKILL move_store at each of its file-system events: src or dst (or both) stays whole."""
    import multiprocessing as mp
    import signal

    seed = tmp_path / "seed"
    seed.mkdir()
    chunks = [(["a"], _write(seed / "s.nc", ["a"], rng)), (["b"], _write(seed / "s.nc", ["b"], rng, append=True)),
              (["c"], _write(seed / "s.nc", ["c"], rng, append=True))]
    want = _expected(chunks)

    def child(d, kill_at):
        n = [0]
        for mod, name in ((os, "link"), (os, "replace"), (os, "unlink"), (os, "mkdir"), (shutil, "copyfile"),
                          (shutil, "rmtree")):
            orig = getattr(mod, name)

            def hooked(*a, _orig=orig, **kw):
                n[0] += 1
                if n[0] == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                return _orig(*a, **kw)

            setattr(mod, name, hooked)
        S.move_store(d / "s.nc", d / "m.nc")
        os._exit(0)

    ctx = mp.get_context("fork")
    k, killed = 1, True
    while killed:
        d = tmp_path / f"k{k}"
        shutil.copytree(seed, d, copy_function=shutil.copy)  # (fresh copies: the parts are not shared)
        proc = ctx.Process(target=child, args=(d, k))
        proc.start()
        proc.join(60)
        killed = proc.exitcode == -signal.SIGKILL
        whole = [q for q in (d / "s.nc", d / "m.nc") if q.exists() and not S.validate_store(q, raise_on_error=False)]
        assert whole, f"kill at event {k}: neither store is whole"
        for q in whole:
            _check(q, *want)
        if (d / "s.nc").exists() or (d / "s.nc.parts").exists():  # finish the move, or tidy what it left
            if (d / "s.nc").exists() and not (d / "m.nc").exists():
                S.move_store(d / "s.nc", d / "m.nc")
            else:
                S.delete_store(d / "s.nc")
        remove_stale_temps(d)  # (what the next writer in the folder does)
        left = sorted(q.name for q in d.iterdir() if not q.name.endswith(".lock"))  # (free locks of the killed)
        assert left == ["m.nc", "m.nc.parts"], (k, left)
        _check(d / "m.nc", *want)
        k += 1
    assert k > 8  # links of three parts, the store file's copy and rename, src's deletion


def test_cli_consolidate_copy_move(tmp_path):
    """`neurorrn store consolidate|copy|move` keep every stimulus; a lone copied file is refused."""
    from typer.testing import CliRunner

    from neurorrn.cli import app

    rng = np.random.default_rng(3)
    p = tmp_path / "s.nc"
    a1 = _write(p, ["a", "b"], rng)
    a2 = _write(p, ["c"], rng, append=True)
    assert parts_dir(p).is_dir()
    ids, arrays = ["a", "b", "c"], a1 + a2
    runner = CliRunner()
    lone = tmp_path / "lone.nc"
    shutil.copy(p, lone)  # the file without its parts
    res = runner.invoke(app, ["store", "copy", str(p), str(tmp_path / "c.nc")])
    assert res.exit_code == 0, res.output
    assert not parts_dir(tmp_path / "c.nc").exists()
    _check(tmp_path / "c.nc", ids, arrays)
    res = runner.invoke(app, ["store", "move", str(p), str(tmp_path / "m.nc")])
    assert res.exit_code == 0, res.output
    assert not p.exists() and not parts_dir(p).exists()
    _check(tmp_path / "m.nc", ids, arrays)
    res = runner.invoke(app, ["store", "consolidate", str(tmp_path / "m.nc")])
    assert res.exit_code == 0, res.output
    assert not parts_dir(tmp_path / "m.nc").exists()
    _check(tmp_path / "m.nc", ids, arrays)
    res = runner.invoke(app, ["store", "validate", str(lone)])
    assert res.exit_code == 1
    res = runner.invoke(app, ["store", "consolidate", str(tmp_path / "missing.nc")])
    assert res.exit_code == 1 and "error:" in res.output and "missing.nc" in res.output
