"""Every figure of a TRF draws a kernel at its true latency, whatever rate the recording's info has."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import mne  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from neurorrn.encoding import plot_trf, plot_trf_topomap, trf_evoked  # noqa: E402
from neurorrn.report.figures import plot_trf_joint  # noqa: E402

PEAK = 0.300  # s
RATE = 100.0  # the TRF's rate; the recording's info says 200 Hz


def _info(sfreq=200.0, n=None):
    """Neuromag-306 sensors (102 magnetometers + 204 gradiometers) at the recording's rate."""
    info = mne.channels.read_meg_canonical_info("neuromag")
    info = mne.pick_info(info, mne.pick_types(info, meg=True)[: n or None])
    with info._unlock():
        info["sfreq"] = sfreq
    return info


def _trf(info, features=("envelope", "units")):
    lags = np.round(np.arange(-0.1, 0.5 + 1e-9, 1 / RATE), 6)
    kernel = np.exp(-0.5 * ((lags - PEAK) / 0.02) ** 2)
    rng = np.random.default_rng(0)
    gains = rng.uniform(0.5, 1.5, len(info["ch_names"]))
    coef = np.stack([np.outer(gains, kernel) * (k + 1) for k in range(len(features))], axis=1)
    return xr.DataArray(coef, dims=("sensor", "feature", "lag"),
                        coords={"sensor": info["ch_names"], "feature": list(features), "lag": lags},
                        attrs={"units": "a.u."})


def _peak_ms(x, y):
    y = np.atleast_2d(y)
    return float(x[np.argmax(np.abs(y).max(0))])


def test_trf_evoked_times_come_from_the_lags_not_the_info():
    info = _info(200.0, n=30)
    ev = trf_evoked(_trf(info).sel(feature="units"), info)
    assert ev.info["sfreq"] == pytest.approx(RATE)
    assert ev.times[0] == pytest.approx(-0.1) and ev.times[-1] == pytest.approx(0.5)
    assert abs(ev.times[np.argmax(np.abs(ev.data).max(0))] - PEAK) <= 1 / RATE


def test_report_joint_plot_peaks_at_the_planted_latency():
    info = _info(200.0, n=45)
    figs = plot_trf_joint(_trf(info), info, "units")
    assert len(figs) == 2  # magnetometers and gradiometers
    for fig in figs:
        line_axes = [ax for ax in fig.axes if len(ax.lines) >= 10]
        assert line_axes, "no butterfly axes"
        ax = line_axes[0]
        xs = np.asarray(ax.lines[0].get_xdata(), float)
        ys = np.stack([np.asarray(ln.get_ydata(), float) for ln in ax.lines if len(ln.get_xdata()) == len(xs)])
        assert xs[-1] == pytest.approx(500.0)  # ms: the axis reaches the last lag, not half of it
        assert abs(_peak_ms(xs, ys) - PEAK * 1000) <= 1000 / RATE
        titles = " ".join(a.get_title() for a in fig.axes)
        assert "300 ms" in titles  # the topomap at the peak is titled with the true latency
        texts = " ".join(t.get_text() for a in fig.axes for t in a.texts)
        assert "ave" not in texts and ax.get_xlabel() == "lag (ms)"


def test_encoding_butterfly_and_topomap_peak_at_the_planted_latency():
    info = _info(200.0, n=60)
    trf = _trf(info).rename(sensor="target")
    ds = xr.Dataset({"coef": trf})
    fig = plot_trf(ds, features=["units"])
    ax = fig.axes[0]
    xs = np.asarray(ax.lines[0].get_xdata(), float)
    ys = np.stack([np.asarray(ln.get_ydata(), float) for ln in ax.lines if len(ln.get_xdata()) == len(xs)])
    assert abs(_peak_ms(xs, ys) - PEAK * 1000) <= 1000 / RATE
    topo = plot_trf_topomap(ds, info, "units", ch_type="mag")
    titles = " ".join(a.get_title() for a in topo.axes)
    assert "300 ms" in titles


def test_info_in_another_order_is_matched_by_name_and_unknown_sensors_refused():
    info = _info(200.0, n=60)
    trf = _trf(info)
    rev = mne.pick_info(info, list(range(len(info["ch_names"])))[::-1])
    ev1 = trf_evoked(trf.sel(feature="units"), info)
    ev2 = trf_evoked(trf.sel(feature="units"), rev)
    assert ev2.ch_names == ev1.ch_names  # the TRF's order, positions from the matching channels
    for a, b in zip(ev1.info["chs"], ev2.info["chs"]):
        assert a["ch_name"] == b["ch_name"] and np.allclose(a["loc"], b["loc"])
    bad = trf.assign_coords(sensor=["XYZ"] + list(trf["sensor"].values[1:]))
    with pytest.raises(ValueError, match=r"TRF targets \['XYZ'\] \(1 of 60\) are not channels of info"):
        plot_trf_joint(bad, info, "units")
    with pytest.raises(ValueError, match="evenly spaced"):
        trf_evoked(trf.sel(feature="units").isel(lag=[0, 1, 3]), info)
