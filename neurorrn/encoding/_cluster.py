"""Cluster-based permutation tests across subjects (Maris & Oostenveld 2007) via ``mne.stats``.

For TRFs (subject, sensor, lag) clusters extend over neighbouring sensors and adjacent lags; for
score or gain maps (subject, sensor) over neighbouring sensors.  The test is one-sample (against 0)
across subjects, by sign flips: pass a difference (model minus baseline scores, condition A minus
B kernels) for paired comparisons.  The statistic and its cluster-forming threshold are MNE's
(``mne.stats.permutation_cluster_1samp_test``: t-values with the ``hat`` variance correction off,
threshold the two-sided t for p < .05 with n - 1 degrees of freedom unless given).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from .._dims import CLUSTER, LAG, SENSOR, SUBJECT
from ..utils._check import check_option, validate_type
from ..utils._logging import logger, use_log_level


def sensor_adjacency(info, sensors=None, ch_type=None):
    """Sensor adjacency from ``mne.channels.find_ch_adjacency``, in the order of ``sensors``.

    Parameters
    ----------
    info : mne.Info (with channel positions or a known layout)
    sensors : list of str, optional
        Channel names in the order of the data (default: ``info['ch_names']``).
    ch_type : str | None
        As ``find_ch_adjacency`` (None: the one data channel type of ``info``).

    Returns
    -------
    scipy.sparse.csr_array of shape (n_sensors, n_sensors)
    """
    import mne
    from scipy import sparse

    validate_type(info, mne.Info, "info")
    with mne.utils.use_log_level("warning"):
        adj, names = mne.channels.find_ch_adjacency(info, ch_type)
    adj = sparse.csr_array(adj)
    names = list(names)
    if sensors is None:
        sensors = names
    sensors = [str(s) for s in sensors]
    missing = [s for s in sensors if s not in names]
    if missing:
        raise ValueError(f"sensor(s) {missing[:10]} are not in the adjacency of info "
                         f"({len(names)} channels of type {ch_type or 'auto'})")
    idx = [names.index(s) for s in sensors]
    return adj[idx][:, idx]


def cluster_test(data, adjacency=None, info=None, dim=SUBJECT, tail: int = 0, threshold=None,
                 n_permutations: int = 1024, random_state=0, max_lag_step: int = 1, n_jobs=None,
                 verbose=None) -> xr.Dataset:
    """Cluster-based permutation test of ``data`` against 0 across subjects.

    Parameters
    ----------
    data : DataArray with dims (subject, sensor) or (subject, sensor, lag)
        Per-subject maps: a TRF of one predictor (``fit_group(...)["coef"].sel(feature=...)``), a
        score or gain map, or a difference of two.  Other dims must be selected out first.
    adjacency : sparse array (n_sensors, n_sensors), optional
        Sensor neighbourhood; default from ``info`` via :func:`sensor_adjacency`.  For sensors ×
        lags the lattice over lags is added by MNE.
    info : mne.Info, optional
        Channel positions for the default adjacency (e.g. ``est.info_`` of an MNE fit).
    tail : {0, 1, -1}
        Two-sided, positive or negative effects.
    threshold : float | dict | None
        Cluster-forming threshold on the t-values (MNE's; a dict gives TFCE).  ``None``: the t for
        p < .05 (two-sided when ``tail=0``) with ``n_subjects - 1`` degrees of freedom.
    n_permutations : int
        Sign-flip permutations (all ``2**n_subjects`` when that is smaller, as MNE).
    random_state : int | None
        Seed of the permutations.
    max_lag_step : int
        Lags this many samples apart are neighbours.

    Returns
    -------
    Dataset
        ``t`` (sensor[, lag]): the t-map; ``cluster_mask`` (cluster, sensor[, lag]); ``cluster_p``,
        ``cluster_stat`` (sum of t in the cluster), with clusters sorted by p.  attrs:
        ``n_subjects``, ``n_permutations``, ``threshold`` (number, or ``'tfce'``), ``tail``.
        ``clusters_table(ds)`` lists them with their sensors and lag ranges.
    """
    from mne.stats import permutation_cluster_1samp_test

    validate_type(data, xr.DataArray, "data")
    check_option(tail, (0, 1, -1), "tail")
    if dim not in data.dims or SENSOR not in data.dims:
        raise ValueError(f"data must have dims ({dim!r}, {SENSOR!r}[, {LAG!r}]), got {data.dims}")
    extra = [d for d in data.dims if d not in (dim, SENSOR, LAG)]
    if extra:
        raise ValueError(f"data has extra dim(s) {extra}: select one value of each first (e.g. "
                         f".sel(feature='envelope')), got dims {data.dims}")
    has_lag = LAG in data.dims
    order = (dim, LAG, SENSOR) if has_lag else (dim, SENSOR)
    arr = np.asarray(data.transpose(*order).values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = data[SENSOR].values[np.flatnonzero(~np.isfinite(arr).reshape(arr.shape[0], -1, arr.shape[-1]).all((0, 1)))]
        raise ValueError(f"data holds NaN/inf (sensor(s) {list(bad)[:10]}): drop or interpolate sensors missing "
                         "in some subjects first")
    n = arr.shape[0]
    if n < 3:
        raise ValueError(f"a test across subjects needs at least 3 subjects, got {n}")
    sensors = [str(s) for s in data[SENSOR].values]
    if adjacency is None:
        if info is None:
            raise ValueError("give adjacency= or info= (channel positions) to define neighbouring sensors")
        adjacency = sensor_adjacency(info, sensors)
    if adjacency.shape != (len(sensors), len(sensors)):
        raise ValueError(f"adjacency has shape {adjacency.shape} but data has {len(sensors)} sensors")
    if threshold is None:
        from scipy import stats

        threshold = float(stats.t.ppf(1 - 0.05 / (2 if tail == 0 else 1), n - 1))
        if tail == -1:
            threshold = -threshold
    with use_log_level(verbose):
        logger.info("cluster_test: %d subjects, %s, threshold %s, %d permutations", n,
                    "sensors x lags" if has_lag else "sensors", threshold, n_permutations)
        import mne

        # data without any supra-threshold sample are a normal outcome, not a warning
        with warnings.catch_warnings(), mne.utils.use_log_level("error"):
            warnings.filterwarnings("ignore", message="No clusters found", category=RuntimeWarning)
            t, clusters, p, _h0 = permutation_cluster_1samp_test(
                arr, threshold=threshold, n_permutations=int(n_permutations), tail=tail, adjacency=adjacency,
                max_step=int(max_lag_step), rng=random_state, out_type="mask", n_jobs=n_jobs, verbose=False)
    p = np.asarray(p, dtype=np.float64)
    masks = np.asarray(clusters, dtype=bool).reshape((len(clusters),) + t.shape) if len(clusters) else \
        np.zeros((0,) + t.shape, bool)
    stat = np.array([t[m].sum() for m in masks])
    srt = np.argsort(p, kind="stable")
    masks, p, stat = masks[srt], p[srt], stat[srt]
    map_dims = (LAG, SENSOR) if has_lag else (SENSOR,)
    coords = {SENSOR: data[SENSOR].values, CLUSTER: np.arange(len(p))}
    if has_lag:
        coords[LAG] = data[LAG].values
    ds = xr.Dataset(
        {"t": (map_dims, t), "cluster_mask": ((CLUSTER,) + map_dims, masks),
         "cluster_p": ((CLUSTER,), p), "cluster_stat": ((CLUSTER,), stat)},
        coords=coords,
        attrs={"n_subjects": int(n), "n_permutations": int(n_permutations), "tail": int(tail),
               "threshold": "tfce" if isinstance(threshold, dict) else float(threshold),
               "test": "mne.stats.permutation_cluster_1samp_test (sign flips)"},
    )
    out_dims = (SENSOR, LAG) if has_lag else (SENSOR,)
    return ds.transpose(CLUSTER, *out_dims)


def clusters_table(ds: xr.Dataset, alpha: float | None = None) -> pd.DataFrame:
    """One row per cluster of :func:`cluster_test`: p, statistic, sensors, lag range (s)."""
    rows = []
    has_lag = LAG in ds["cluster_mask"].dims
    for k in range(ds.sizes[CLUSTER]):
        m = ds["cluster_mask"].isel({CLUSTER: k})
        p = float(ds["cluster_p"][k])
        if alpha is not None and p >= alpha:
            continue
        sens = m.any(LAG) if has_lag else m
        row = {"cluster": k, "p": p, "stat": float(ds["cluster_stat"][k]),
               "n_sensors": int(sens.sum()), "sensors": [str(s) for s in ds[SENSOR].values[sens.values]]}
        if has_lag:
            lags = ds[LAG].values[m.any(SENSOR).values]
            row.update(lag_min=float(lags.min()), lag_max=float(lags.max()))
        rows.append(row)
    return pd.DataFrame(rows)


def plot_cluster(ds: xr.Dataset, info, cluster: int = 0, title: str | None = None):
    """Figure of one cluster of :func:`cluster_test`: a topomap of the t-values (mean over the
    cluster's lags) with the cluster's sensors marked, and for sensors x lags the t time course
    averaged over those sensors with the cluster's lags shaded.

    Parameters
    ----------
    ds : Dataset from :func:`cluster_test`
    info : mne.Info with the channel positions (the sensors of ``ds`` are picked by name)
    cluster : int
        Index into the clusters (sorted by p; 0 = the smallest p).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import mne

    n_cl = ds.sizes[CLUSTER]
    if not 0 <= cluster < n_cl:
        raise ValueError(f"cluster={cluster} but the result has {n_cl} cluster(s)")
    sensors = [str(c) for c in ds[SENSOR].values]
    missing = [c for c in sensors if c not in info["ch_names"]]
    if missing:
        raise ValueError(f"info lacks the sensor(s) {missing[:10]}")
    inf = mne.pick_info(info, [info["ch_names"].index(c) for c in sensors])
    m = ds["cluster_mask"].isel({CLUSTER: cluster})
    t = ds["t"]
    p = float(ds["cluster_p"][cluster])
    has_lag = LAG in t.dims
    if has_lag:
        lag_sel = m.any(SENSOR).values
        topo = t.isel({LAG: lag_sel}).mean(LAG).values
        sens = m.any(LAG).values
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), gridspec_kw={"width_ratios": [1, 1.4]})
    else:
        topo, sens = t.values, m.values
        fig, ax0 = plt.subplots(1, 1, figsize=(3.6, 3.2))
        axes = [ax0]
    lim = float(np.abs(t.values).max())
    mne.viz.plot_topomap(topo, inf, axes=axes[0], show=False, mask=sens, cmap="RdBu_r", vlim=(-lim, lim),
                         mask_params=dict(marker="o", markerfacecolor="k", markersize=4))
    axes[0].set_title(f"t, cluster {cluster} (p = {p:.3g})")
    if has_lag:
        lags = ds[LAG].values
        axes[1].plot(lags, t.isel({SENSOR: sens}).mean(SENSOR).values, color="k")
        axes[1].axhline(0, color="0.6", lw=0.8)
        on = lags[lag_sel]
        axes[1].axvspan(on.min(), on.max(), color="C1", alpha=0.3, lw=0)
        axes[1].set_xlabel("lag (s)")
        axes[1].set_ylabel("mean t over the cluster's sensors")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


__all__ = ["cluster_test", "clusters_table", "sensor_adjacency", "plot_cluster"]
