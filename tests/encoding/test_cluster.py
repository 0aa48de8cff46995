"""Cluster-based permutation tests over sensors x lags and sensors, across subjects."""

import mne
import numpy as np
import pytest
import xarray as xr

from neurorrn.encoding import TRF, cluster_test, clusters_table, fit_group, sensor_adjacency

SF = 100.0
CH = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3", "Pz", "P4", "P8",
      "O1", "O2"]
CLUSTER = ["C3", "Cz", "C4", "Pz", "P3"]  # neighbouring central-parietal sensors
LAGS = np.arange(20) / SF
WINDOW = slice(8, 13)  # lags 80-120 ms


def _info():
    info = mne.create_info(CH, SF, "eeg")
    info.set_montage("colin27_1020")
    return info


def _maps(seed, n_sub=12, effect=1.2, lags=True):
    """Per-subject maps: N(0, 1) noise, + effect in the planted sensors (and lag window)."""
    rng = np.random.default_rng(seed)
    shape = (n_sub, len(CH), len(LAGS)) if lags else (n_sub, len(CH))
    data = rng.standard_normal(shape)
    truth = np.zeros(shape[1:], bool)
    rows = [CH.index(c) for c in CLUSTER]
    if lags:
        truth[np.ix_(rows, np.arange(20)[WINDOW])] = True
    else:
        truth[rows] = True
    data[:, truth] += effect
    dims = ("subject", "sensor", "lag") if lags else ("subject", "sensor")
    coords = {"subject": [f"s{i}" for i in range(n_sub)], "sensor": CH}
    if lags:
        coords["lag"] = LAGS
    return xr.DataArray(data, dims=dims, coords=coords), truth


def test_adjacency_follows_sensor_order():
    info = _info()
    adj = sensor_adjacency(info, ["Cz", "C3", "O1"])
    assert adj.shape == (3, 3)
    assert adj[0, 1] and not adj[0, 2]
    full = sensor_adjacency(info)
    assert full.shape == (19, 19)
    with pytest.raises(ValueError, match="not in the adjacency"):
        sensor_adjacency(info, ["Cz", "XYZ"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_sensor_lag_cluster_is_found(seed):
    data, truth = _maps(seed)
    ds = cluster_test(data, info=_info(), n_permutations=256, random_state=seed)
    assert ds["t"].dims == ("sensor", "lag") and ds["cluster_mask"].dims == ("cluster", "sensor", "lag")
    assert float(ds["cluster_p"][0]) < 0.05
    m = ds["cluster_mask"][0].values
    assert (m & truth).sum() >= 0.7 * truth.sum()  # covers the planted cells
    assert (m & ~truth).sum() <= 0.5 * truth.sum()  # and not much beyond
    tab = clusters_table(ds, alpha=0.05)
    assert set(tab["sensors"][0]) <= set(CH) and len(set(tab["sensors"][0]) & set(CLUSTER)) >= 4
    assert tab["lag_min"][0] <= 0.09 and tab["lag_max"][0] >= 0.11


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_sensor_cluster_in_score_maps(seed):
    data, truth = _maps(seed, lags=False, effect=1.0)
    ds = cluster_test(data, info=_info(), n_permutations=256, random_state=seed)
    assert float(ds["cluster_p"][0]) < 0.05
    m = ds["cluster_mask"][0].values
    assert m[truth].mean() >= 0.8 and m[~truth].sum() <= 2


def test_negative_tail_and_no_effect():
    data, truth = _maps(3)
    ds_neg = cluster_test(-data, info=_info(), tail=-1, n_permutations=128, random_state=0)
    assert float(ds_neg["cluster_p"][0]) < 0.05 and ds_neg["t"].values[truth].mean() < 0
    ds_pos = cluster_test(-data, info=_info(), tail=1, n_permutations=128, random_state=0)
    assert ds_pos.sizes["cluster"] == 0 or float(ds_pos["cluster_p"].min()) > 0.05


def test_end_to_end_group_trfs():
    """Subjects' recordings with a response in a sensor cluster: fit_group + cluster_test find it."""
    rng = np.random.default_rng(5)
    T, n_sub = 2000, 10
    x = rng.standard_normal((T, 1))
    kern = np.exp(-0.5 * ((np.arange(20) - 10) / 1.5) ** 2)  # peaks at 100 ms
    gain = np.array([1.0 if c in CLUSTER else 0.0 for c in CH])
    Ys = []
    for _ in range(n_sub):
        g = gain * rng.uniform(0.2, 0.5)
        s = np.convolve(x[:, 0], kern)[:T, None] * g[None, :]
        y = s + 2.0 * rng.standard_normal((T, len(CH)))
        Ys.append(xr.DataArray(y, dims=("time", "sensor"), coords={"time": np.arange(T) / SF, "sensor": CH}))
    X = xr.DataArray(x, dims=("time", "feature"), coords={"time": np.arange(T) / SF})
    ds = fit_group(TRF(0.0, 0.19, SF, alpha=10.0), X, Ys)
    assert ds.attrs["shared_gram"] == 1
    res = cluster_test(ds["coef"].isel(feature=0), info=_info(), n_permutations=256, random_state=0)
    assert float(res["cluster_p"][0]) < 0.05
    tab = clusters_table(res, alpha=0.05)
    assert set(tab["sensors"][0]) & set(CLUSTER) and 0.07 <= tab["lag_min"][0] <= 0.1 <= tab["lag_max"][0]


def test_plot_cluster():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurorrn.encoding import plot_cluster

    data, _ = _maps(0)
    ds = cluster_test(data, info=_info(), n_permutations=64, random_state=0)
    fig = plot_cluster(ds, _info())
    assert len(fig.axes) >= 2 and "cluster 0" in fig.axes[0].get_title()
    plt.close(fig)
    ds_s = cluster_test(_maps(0, lags=False)[0], info=_info(), n_permutations=64, random_state=0)
    fig = plot_cluster(ds_s, _info(), title="gain")
    plt.close(fig)
    n = ds.sizes["cluster"]
    with pytest.raises(ValueError, match=f"cluster={n} but the result has {n} cluster"):
        plot_cluster(ds, _info(), cluster=n)


def test_errors():
    data, _ = _maps(0, n_sub=4)
    with pytest.raises(ValueError, match="adjacency= or info="):
        cluster_test(data)
    with pytest.raises(ValueError, match="extra dim"):
        cluster_test(data.expand_dims(feature=["a"]), info=_info())
    bad = data.copy()
    bad[0, 3, 0] = np.nan
    with pytest.raises(ValueError, match="F3"):
        cluster_test(bad, info=_info())
    with pytest.raises(ValueError, match="at least 3 subjects"):
        cluster_test(data.isel(subject=[0, 1]), info=_info())


@pytest.mark.slow
def test_null_false_positive_rate():
    """Under the null (no effect), P(any cluster significant at .05) stays near .05 (400 null sets).

    Significant means p <= .05: MNE's p is (number of permutations with a max cluster statistic at
    least as large, the identity included) / n_permutations, a multiple of 1/200 here, so p <= .05 is
    the level-.05 test and p < .05 a level-.045 one.  Measured (mne 1.13.2, 12 subjects, 19 sensors x
    20 lags): p <= .05 in .0425 (sensors x lags) and .0500 (sensors) of the nulls; p < .05 in .0375
    and .0375.  The binomial SD of a rate near .05 over 400 nulls is .011.
    """
    n_null = 400
    hits = {"sensors x lags": [0, 0], "sensors": [0, 0]}
    info = _info()
    adj = sensor_adjacency(info, CH)
    for k in range(n_null):
        for name, lags, base in (("sensors x lags", True, 1000), ("sensors", False, 5000)):
            data, _ = _maps(base + k, effect=0.0, lags=lags)
            ds = cluster_test(data, adjacency=adj, n_permutations=200, random_state=k)
            pmin = float(ds["cluster_p"].min()) if ds.sizes["cluster"] else 1.0
            hits[name][0] += pmin <= 0.05
            hits[name][1] += pmin < 0.05
    for name, (le, lt) in hits.items():
        print(f"null false-positive rate, {name}: p <= .05 {le / n_null:.4f}, p < .05 {lt / n_null:.4f} "
              f"({n_null} nulls)")
        assert 0.02 <= le / n_null <= 0.08
