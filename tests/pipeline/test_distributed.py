"""dask fan-out: a 2-worker LocalCluster writes the same numbers as the serial run."""

from __future__ import annotations

import sys
import zlib

import cloudpickle
import numpy as np
import pytest
import xarray as xr

from neurorrn.pipeline.distributed import fan_out, make_tasks, open_results

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/


def _ridge_task(task: dict) -> xr.Dataset:
    """A real little analysis: ridge from a layer's 'units' to 'sensors', scored on held-out data."""
    seed = zlib.crc32(f"{task['subject']}/{task['model']}/{task['layer']}".encode())
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((400, 6))
    W = rng.standard_normal((6, 5))
    Y = X @ W + task["noise"] * rng.standard_normal((400, 5))
    tr, te = slice(0, 300), slice(300, 400)
    B = np.linalg.solve(X[tr].T @ X[tr] + 1.0 * np.eye(6), X[tr].T @ Y[tr])
    pred = X[te] @ B
    r = [np.corrcoef(pred[:, j], Y[te, j])[0, 1] for j in range(5)]
    return xr.Dataset({"r": (("sensor",), np.asarray(r)), "coef": (("feature", "sensor"), B)},
                      coords={"sensor": [f"MEG{j:02d}" for j in range(5)]})


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_local_cluster_equals_serial(tmp_path):
    tasks = make_tasks(["s01", "s02"], ["lstm"], ["l0", "l1", "l2"], noise=0.5)
    serial = fan_out(_ridge_task, tasks, tmp_path / "serial.zarr", scheduler="serial").load()
    dist = fan_out(_ridge_task, tasks, tmp_path / "dask.zarr", scheduler=None, n_workers=2).load()
    assert serial.sizes == {"task": 6, "sensor": 5, "feature": 6}
    assert list(serial["subject"].values) == ["s01"] * 3 + ["s02"] * 3
    assert list(serial["layer"].values) == ["l0", "l1", "l2"] * 2
    np.testing.assert_array_equal(serial["r"].values, dist["r"].values)
    np.testing.assert_array_equal(serial["coef"].values, dist["coef"].values)
    # each task's numbers are its own (not a broadcast of one result), and they are correct
    direct = _ridge_task(tasks[4])
    np.testing.assert_array_equal(serial["r"].isel(task=4).values, direct["r"].values)
    assert not np.allclose(serial["r"].values[0], serial["r"].values[1])
    assert (serial["r"].values > 0.5).all()


def test_bad_tasks_and_results(tmp_path):
    with pytest.raises(ValueError, match=r"tasks\[0\] lacks \['layer'\]"):
        fan_out(_ridge_task, [{"subject": "a", "model": "m"}], tmp_path / "x.zarr")
    with pytest.raises(ValueError, match="duplicate"):
        fan_out(_ridge_task, make_tasks(["a"], ["m"], ["l"]) * 2, tmp_path / "x.zarr")
    with pytest.raises(ValueError, match="subjects is empty"):
        make_tasks([], ["m"], ["l"])

    def bad(task):
        n = 3 if task["layer"] == "l0" else 4
        return xr.Dataset({"r": (("sensor",), np.zeros(n))})

    with pytest.raises(ValueError, match="does not match the first task's layout"):
        fan_out(bad, make_tasks(["a"], ["m"], ["l0", "l1"]), tmp_path / "y.zarr")
    with pytest.raises(RuntimeError, match="1 task\\(s\\) did not finish: a/m/l1"):
        open_results(tmp_path / "y.zarr")
