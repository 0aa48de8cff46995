"""ActivationStore contract: round trips, validation, atomic writes, lazy opening."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurorrn import store as S
from neurorrn.store import StoreValidationError

ID_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))
ids_strategy = st.lists(st.text(ID_CHARS, min_size=1, max_size=12), min_size=1, max_size=6, unique=True)


def _make(rng, lengths, n_units=4, ids=None, **kw):
    ids = ids or [f"s{i}" for i in range(len(lengths))]
    arrays = [rng.standard_normal((n, n_units)).astype(np.float32) for n in lengths]
    return S.from_arrays(arrays, ids, 100.0, **kw), arrays


def _alignments(ids, lengths, rng):
    rows = []
    for sid, n in zip(ids, lengths):
        dur = n / 100.0
        cuts = np.sort(rng.uniform(0, dur, size=2))
        edges = [0.0, *cuts, dur]
        for j in range(3):
            rows.append((sid, "phone", ["K", "AE", "T"][j], edges[j], edges[j + 1]))
        rows.append((sid, "word", "cat", 0.0, dur))
    return pd.DataFrame(rows, columns=["stimulus", "tier", "label", "start", "end"])


def assert_same_store(a: xr.Dataset, b: xr.Dataset):
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        va, vb = a[name].values, b[name].values
        assert a[name].dims == b[name].dims, name
        if va.dtype.kind in "OUS":
            assert [str(x) for x in va.ravel()] == [str(x) for x in vb.ravel()], name
        else:
            np.testing.assert_array_equal(va, vb, err_msg=name)
            assert va.dtype == vb.dtype, (name, va.dtype, vb.dtype)
    assert set(a.coords) == set(b.coords)
    assert a.attrs.keys() == b.attrs.keys()
    for k in a.attrs:
        np.testing.assert_array_equal(np.asarray(a.attrs[k]), np.asarray(b.attrs[k]), err_msg=k)
    pd.testing.assert_frame_equal(S.get_alignments(a), S.get_alignments(b))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=ids_strategy,
    data=st.data(),
    n_units=st.integers(1, 7),
    with_align=st.booleans(),
    unit_ids_str=st.booleans(),
    attr_val=st.one_of(st.text(ID_CHARS, max_size=20), st.integers(-2**40, 2**40),
                       st.floats(allow_nan=False, allow_infinity=False)),
)
def test_roundtrip_property(tmp_path_factory, ids, data, n_units, with_align, unit_ids_str, attr_val):
    rng = np.random.default_rng(0)
    lengths = data.draw(st.lists(st.integers(0, 30), min_size=len(ids), max_size=len(ids)))
    lengths[0] = max(lengths[0], 1)
    arrays = [rng.standard_normal((n, n_units)).astype(np.float32) for n in lengths]
    unit_ids = [f"ü{i}·h" for i in range(n_units)] if unit_ids_str else None
    al = _alignments(ids, [max(n, 1) for n in lengths], rng) if with_align else None
    ds = S.from_arrays(arrays, ids, 100.0, unit_ids, alignments=al, word=[f"w{i}" for i in range(len(ids))],
                       talker=["ädam"] * len(ids), attrs={"extra": attr_val, "vec": [1.5, 2.5]})
    path = tmp_path_factory.mktemp("rt") / "store.nc"
    S.save_store(ds, path)
    with S.open_store(path) as back:
        assert_same_store(ds, back.load())
    # the ragged arrays come back exactly
    with S.open_store(path) as back:
        for (sid, a), orig in zip(S.iter_stimuli(back, chunk=2), arrays):
            np.testing.assert_array_equal(a, orig)


def test_from_arrays_ragged_nan_padding(rng):
    ds, arrays = _make(rng, [3, 5, 1])
    assert ds["activation"].dims == ("stimulus", "time", "unit")
    assert ds["activation"].dtype == np.float32
    assert ds["activation"].shape == (3, 5, 4)
    np.testing.assert_array_equal(ds["n_frames"].values, [3, 5, 1])
    assert np.isnan(ds["activation"].values[0, 3:]).all()
    assert not np.isnan(ds["activation"].values[1]).any()
    np.testing.assert_allclose(ds["time"].values, np.arange(5) / 100.0)
    S.validate_store(ds)


def test_append_and_select(tmp_path, rng):
    al = _alignments(["a", "b"], [4, 6], rng)
    ds1 = S.from_arrays([rng.standard_normal((4, 3)), rng.standard_normal((6, 3))], ["a", "b"], 50.0,
                        alignments=al, word=["cat", "dog"], layer=["l1", "l1", "l2"])
    p = tmp_path / "s.nc"
    S.save_store(ds1, p)
    ds2 = S.from_arrays([rng.standard_normal((9, 3))], ["c"], 50.0, word=["cow"], layer=["l1", "l1", "l2"],
                        alignments=_alignments(["c"], [9], rng))
    S.append_store(p, ds2)
    with S.open_store(p) as ds:
        assert list(ds.stimulus.values) == ["a", "b", "c"]
        assert ds.sizes["time"] == 9
        np.testing.assert_array_equal(ds.n_frames.values, [4, 6, 9])
        assert np.isnan(ds.activation.sel(stimulus="a").values[4:]).all()
        S.validate_store(ds)
        sub = S.select(ds, stimulus=["c", "a"], layer="l2", time=(0.0, 0.05))
        assert list(sub.stimulus.values) == ["c", "a"]
        assert sub.sizes["unit"] == 1 and sub.sizes["time"] == 3
        assert set(S.get_alignments(sub)["stimulus"]) == {"a", "c"}
        with pytest.raises(KeyError, match=r"stimulus ids not in the store: \['zzz'\]"):
            S.select(ds, stimulus=["zzz"])
        with pytest.raises(KeyError, match="layer.*available"):
            S.select(ds, layer="nope")
    with pytest.raises(StoreValidationError, match="duplicate stimulus ids"):
        S.append_store(p, ds2)
    with S.open_store(p) as ds:  # failed append left the file intact
        assert ds.sizes["stimulus"] == 3


def test_overwrite_false_by_default(tmp_path, rng):
    ds, _ = _make(rng, [2])
    p = tmp_path / "s.nc"
    S.save_store(ds, p)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        S.save_store(ds, p)
    S.save_store(ds, p, overwrite=True)


# ---------------------------------------------------------------------------------- validation
def test_validation_wrong_dims(rng):
    ds, _ = _make(rng, [2, 3])
    bad = ds.transpose("unit", "time", "stimulus", ...)
    with pytest.raises(StoreValidationError, match=r"activation has dims \('unit', 'time', 'stimulus'\)"):
        S.validate_store(bad)


def test_validation_duplicate_ids(rng):
    with pytest.raises(StoreValidationError, match=r"duplicate stimulus_ids: \['x'\]"):
        _make(rng, [2, 3], ids=["x", "x"])
    ds, _ = _make(rng, [2, 3])
    ds = ds.assign_coords(stimulus=["y", "y"])
    with pytest.raises(StoreValidationError, match=r"duplicate stimulus ids: \['y'\]"):
        S.validate_store(ds)


def test_validation_nan_inside_valid_frames(rng):
    ds, _ = _make(rng, [4, 3])
    ds["activation"][1, 1, 2] = np.nan
    with pytest.raises(StoreValidationError, match=r"NaN inside the valid frames of stimulus 's1' \(frame 1 of 3\)"):
        S.validate_store(ds)
    ds2, _ = _make(rng, [4, 3])
    ds2["activation"][1, 3, 0] = 1.0
    with pytest.raises(StoreValidationError, match="values past the end of stimulus 's1'"):
        S.validate_store(ds2)


def test_writer_rejects_nan(tmp_path):
    p = tmp_path / "w.nc"
    with pytest.raises(StoreValidationError, match=r"NaN inside the valid frames of stimulus 'b' \(frame 1\)"):
        with S.StoreWriter(p, n_units=2, frame_rate=10.0) as w:
            w.write([np.zeros((2, 2)), np.array([[0, 0], [np.nan, 1]])], ["a", "b"])
    assert not p.exists()
    assert not list(tmp_path.iterdir()), "no temporary files left behind"


@pytest.mark.parametrize(
    "attrs, match",
    [
        ({"nested": {"a": 1}}, "attr 'nested' has type dict.*JSON string"),
        ({"flag": True}, "attr 'flag' is a bool"),
        ({"missing": None}, "attr 'missing' has type NoneType"),
        ({"names": ["a", "b"]}, "attr 'names' is a list"),
    ],
)
def test_validation_attrs_netcdf_cannot_hold(rng, attrs, match):
    with pytest.raises(StoreValidationError, match=match):
        _make(rng, [2], attrs=attrs)
    ds, _ = _make(rng, [2])
    ds.attrs.update(attrs)
    with pytest.raises(StoreValidationError, match=match):
        S.validate_store(ds)


def test_unknown_format_version_refused(tmp_path, rng):
    ds, _ = _make(rng, [2])
    ds.attrs["format_version"] = S.FORMAT_VERSION + 1
    with pytest.raises(StoreValidationError, match=r"unknown format_version 2.*upgrade neurorrn"):
        S.validate_store(ds)
    p = tmp_path / "new.nc"
    ds.to_netcdf(p, engine="h5netcdf")
    with pytest.raises(StoreValidationError, match="unknown format_version 2"):
        S.open_store(p)


def test_old_format_version_migrated(tmp_path, rng):
    ds, arrays = _make(rng, [3, 2])
    old = ds.rename({"activation": "activations"})
    old.attrs = {"format_version": 0, "sfreq": 100.0}
    p = tmp_path / "old.nc"
    old.to_netcdf(p, engine="h5netcdf")
    with S.open_store(p) as back:
        assert back.attrs["format_version"] == S.FORMAT_VERSION
        assert back.attrs["frame_rate"] == 100.0
        np.testing.assert_array_equal(back["activation"].values[0, :3], arrays[0])
        S.validate_store(back)


def test_alignment_errors(rng):
    al = pd.DataFrame({"stimulus": ["s0"], "tier": ["phone"], "label": ["K"], "start": [0.2], "end": [0.1]})
    with pytest.raises(StoreValidationError, match="ends before it starts: 's0' phone 'K'"):
        _make(rng, [3], alignments=al)
    al = pd.DataFrame({"stimulus": ["nope"], "tier": ["phone"], "label": ["K"], "start": [0.0], "end": [0.1]})
    with pytest.raises(StoreValidationError, match=r"stimulus ids not in the store: \['nope'\]"):
        _make(rng, [3], alignments=al)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['end'\]"):
        _make(rng, [3], alignments=al.drop(columns="end"))


def test_from_arrays_errors(rng):
    with pytest.raises(ValueError, match=r"arrays\[1\] \('b'\) has 2 units, expected 3"):
        S.from_arrays([np.zeros((2, 3)), np.zeros((2, 2))], ["a", "b"], 10.0)
    with pytest.raises(ValueError, match="frame_rate must be > 0"):
        S.from_arrays([np.zeros((2, 3))], ["a"], -1.0)
    with pytest.raises(ValueError, match="Invalid value for time_unit: 'cycles'.*Did you mean 'cycle'"):
        S.from_arrays([np.zeros((2, 3))], ["a"], 1.0, time_unit="cycles")


def test_open_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        S.open_store(tmp_path / "nope.nc")
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(StoreValidationError, match="cannot be read as netCDF/HDF5"):
        S.open_store(bad)
    assert S.validate_store(bad, raise_on_error=False)
