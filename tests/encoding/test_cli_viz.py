"""``neurorrn encode`` and the encoding figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from _sim import planted  # noqa: E402
from neurorrn.cli import app  # noqa: E402
from neurorrn.encoding import TRF, trf_to_xarray  # noqa: E402
from neurorrn.encoding._viz import plot_scores, plot_trf, plot_trf_topomap  # noqa: E402


def _write(tmp_path):
    X, Y, h, _ = planted(n_segments=1, seg_len=3000, n_features=2, n_sensors=3, n_driven=2, n_lags=11, snr_db=0)
    t = np.arange(3000) / 100.0
    xr.DataArray(X[0], dims=("time", "feature"), coords={"time": t, "feature": ["env", "onset"]}).to_netcdf(
        tmp_path / "x.nc", engine="h5netcdf")
    xr.DataArray(Y[0], dims=("time", "sensor"), coords={"time": t, "sensor": ["a", "b", "c"]}).to_netcdf(
        tmp_path / "y.nc", engine="h5netcdf")


def test_encode_cli_writes_results(tmp_path):
    _write(tmp_path)
    (tmp_path / "enc.yaml").write_text("predictors: x.nc\nresponses: y.nc\ntmin: 0.0\ntmax: 0.1\ncv: 3\ninner_cv: 2\n"
                                       "n_permutations: 3\noutput: out.nc\n")
    res = CliRunner().invoke(app, ["encode", str(tmp_path / "enc.yaml"), "-o", str(tmp_path / "out.nc")])
    assert res.exit_code == 0, res.output
    ds = xr.load_dataset(tmp_path / "out.nc", engine="h5netcdf")
    assert ds.coef.dims == ("sensor", "feature", "lag") and ds.r.dims == ("fold", "sensor")
    assert ds.r_mean.sel(sensor="a") > 0.3 and "p_value" in ds
    # refuses to overwrite; bad keys are named
    res = CliRunner().invoke(app, ["encode", str(tmp_path / "enc.yaml"), "-o", str(tmp_path / "out.nc")])
    assert res.exit_code == 1 and "already exists" in res.output
    (tmp_path / "bad.yaml").write_text("predictors: x.nc\nresponses: y.nc\ntmaxx: 0.1\n")
    res = CliRunner().invoke(app, ["encode", str(tmp_path / "bad.yaml")])
    assert res.exit_code == 1 and "tmaxx" in res.output and "tmax" in res.output


def test_encode_cli_banded(tmp_path):
    _write(tmp_path)
    x = xr.load_dataarray(tmp_path / "x.nc", engine="h5netcdf")
    x.sel(feature=["env"]).to_netcdf(tmp_path / "a.nc", engine="h5netcdf")
    x.sel(feature=["onset"]).to_netcdf(tmp_path / "b.nc", engine="h5netcdf")
    (tmp_path / "enc.yaml").write_text("predictors: {acoustic: a.nc, units: b.nc}\nresponses: y.nc\ntmax: 0.1\n"
                                       "cv: 2\ninner_cv: 2\nalpha: [1.0, 100.0, 10000.0]\n")
    res = CliRunner().invoke(app, ["encode", str(tmp_path / "enc.yaml"), "-o", str(tmp_path / "o.nc")])
    assert res.exit_code == 0, res.output
    ds = xr.load_dataset(tmp_path / "o.nc", engine="h5netcdf")
    assert list(ds.band.values) == ["acoustic", "units"]


def test_figures():
    import mne

    X, Y, h, _ = planted(n_segments=2, seg_len=1000, n_features=2, n_sensors=4, n_driven=2, n_lags=11, snr_db=10)
    names = ["Fz", "Cz", "Pz", "Oz"]
    Yd = [xr.DataArray(y, dims=("time", "sensor"), coords={"time": np.arange(1000) / 100.0, "sensor": names})
          for y in Y]
    Xd = [xr.DataArray(x, dims=("time", "feature"), coords={"time": np.arange(1000) / 100.0, "feature": ["a", "b"]})
          for x in X]
    trf = TRF(0.0, 0.1, 100.0, alpha=1.0).fit(Xd, Yd)
    fig = plot_trf(trf)
    assert len(fig.axes) == 2
    info = mne.create_info(names, 100.0, "eeg")
    builtin = mne.channels.get_builtin_montages()
    info.set_montage("colin27_1020" if "colin27_1020" in builtin else "standard_1020")
    fig = plot_trf_topomap(trf_to_xarray(trf), info, "a", times=[0.03, 0.05])
    assert len(fig.axes) >= 2
    fig = plot_scores(xr.DataArray([0.1, 0.2, 0.3, 0.0], dims="sensor", name="r"), info)
    assert fig.axes
    with pytest.raises(ValueError, match="info has 4 channels but scores has 3"):
        plot_scores([0.1, 0.2, 0.3], info)
    import matplotlib.pyplot as plt

    plt.close("all")
