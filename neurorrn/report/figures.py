"""Figures of the report, each from labelled results (xarray / pandas), returning matplotlib figures.

Every function takes the results in the form the analysis modules produce them and plots with the
non-interactive Agg backend; none of them computes a statistic that is not shown (the numbers in
the figures are the numbers in the result files).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

from .._dims import FEATURE, LAG, PHONE, SENSOR, TIME, UNIT  # noqa: E402
from ..utils._check import validate_type  # noqa: E402


def _need_dims(da: xr.DataArray, dims: Sequence[str], name: str) -> None:
    validate_type(da, xr.DataArray, name)
    missing = [d for d in dims if d not in da.dims]
    if missing:
        raise ValueError(f"{name} must have dims {tuple(dims)}; it has {da.dims} (missing {missing})")


# ----------------------------------------------------------------------------------- training
def plot_training_curves(history: pd.DataFrame, chance: float | None = None) -> plt.Figure:
    """Loss (left) and accuracy-like metrics (right) per epoch.

    Parameters
    ----------
    history : DataFrame
        One row per epoch: an ``epoch`` column and numeric metric columns; columns whose name
        contains ``loss`` go on the left axis, the others (accuracies in [0, 1]) on the right.
    chance : float, optional
        Chance accuracy (1 / number of words), a dashed line on the metrics axis.
    """
    validate_type(history, pd.DataFrame, "history")
    if "epoch" not in history.columns or len(history) == 0:
        raise ValueError(f"history needs an 'epoch' column and at least one row; columns: {list(history.columns)}")
    num = [c for c in history.columns if c != "epoch" and pd.api.types.is_numeric_dtype(history[c])]
    losses = [c for c in num if "loss" in c.lower()]
    others = [c for c in num if c not in losses and c not in ("step", "seconds", "lr", "time")]
    fig, axes = plt.subplots(1, 2 if others else 1, figsize=(9 if others else 5, 3.2), squeeze=False)
    ax = axes[0, 0]
    for c in losses:
        h = history[["epoch", c]].dropna()  # metrics evaluated every few epochs: a line through them
        ax.plot(h["epoch"], h[c], marker=".", label=c)
    ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    if losses:
        ax.legend(fontsize=8)
    if others:
        ax = axes[0, 1]
        for c in others:
            h = history[["epoch", c]].dropna()
            ax.plot(h["epoch"], h[c], marker=".", label=c)
        if chance is not None:
            ax.axhline(chance, color="k", ls="--", lw=1, label=f"chance ({chance:.3f})")
        ax.set(xlabel="epoch", ylabel="accuracy (proportion of tokens)", title="Monitored accuracy")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_competitors(timecourses: xr.DataArray, sem: xr.DataArray | None = None) -> plt.Figure:
    """Mean cosine similarity of target and competitor classes over time (EARSHOT Fig. 3 style).

    Parameters
    ----------
    timecourses : DataArray with dims ("category", "time")
        Categories such as target, cohort, rhyme, DAS neighbour, unrelated.  Its ``measure``
        attribute names the y axis (default: cosine similarity).
    sem : DataArray with the same dims, optional
        Standard error, drawn as a band.
    """
    _need_dims(timecourses, ("category", TIME), "timecourses")
    fig, ax = plt.subplots(figsize=(6, 3.4))
    t = timecourses[TIME].values
    for cat in timecourses["category"].values:
        y = timecourses.sel(category=cat).values
        line, = ax.plot(t, y, label=str(cat))
        if sem is not None:
            s = sem.sel(category=cat).values
            ax.fill_between(t, y - s, y + s, color=line.get_color(), alpha=0.2, lw=0)
    ax.set(xlabel="time from word onset (s)" if t.max() < 20 else "frame",
           ylabel=timecourses.attrs.get("measure", "cosine similarity"),
           title="Competitor time courses")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------- probing
def _zscore_rows(m: np.ndarray) -> np.ndarray:
    sd = m.std(axis=1, keepdims=True)
    return (m - m.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)


def plot_selectivity_heatmap(psi: xr.DataArray, col_dim: str = PHONE, title: str = "PSI") -> plt.Figure:
    """A selectivity map (units × phones or features) ordered by complete-linkage clustering,
    with the dendrograms of both axes (Mesgarani et al. 2014, Fig. 2; EARSHOT Fig. 6).

    Rows and columns are z-scored across the other axis before clustering (Euclidean distance,
    complete linkage); units without any selectivity are dropped ("squeezed" map).
    """
    from scipy.cluster.hierarchy import dendrogram, linkage

    _need_dims(psi, (UNIT, col_dim), "selectivity map")
    m = np.asarray(psi.transpose(UNIT, col_dim).values, dtype=float)
    keep = np.nanmax(np.abs(m), axis=1) > 0
    m, units = m[keep], psi[UNIT].values[keep]
    cols = [str(c) for c in psi[col_dim].values]
    fig = plt.figure(figsize=(7.5, 6))
    if m.shape[0] < 2 or m.shape[1] < 2:
        ax = fig.add_subplot(111)
        ax.text(0.5, 0.5, f"{title}: fewer than two selective units", ha="center", va="center")
        ax.set_axis_off()
        return fig
    zr = _zscore_rows(np.nan_to_num(m))
    zc = _zscore_rows(np.nan_to_num(m).T)
    link_rows = linkage(zr, method="complete")
    link_cols = linkage(zc, method="complete")
    gs = fig.add_gridspec(2, 3, width_ratios=[1.2, 6, 0.25], height_ratios=[1.2, 6], wspace=0.02, hspace=0.02)
    ax_top = fig.add_subplot(gs[0, 1])
    d_cols = dendrogram(link_cols, ax=ax_top, no_labels=True, color_threshold=0, above_threshold_color="k")
    ax_top.set_axis_off()
    ax_left = fig.add_subplot(gs[1, 0])
    d_rows = dendrogram(link_rows, ax=ax_left, orientation="left", no_labels=True, color_threshold=0,
                        above_threshold_color="k")
    ax_left.set_axis_off()
    ax = fig.add_subplot(gs[1, 1])
    # dendrogram leaves are listed bottom-up for orientation="left"
    order_r = d_rows["leaves"][::-1]
    order_c = d_cols["leaves"]
    im = ax.imshow(m[np.ix_(order_r, order_c)], aspect="auto", interpolation="nearest", cmap="viridis")
    ax.set_xticks(range(len(order_c)), [cols[i] for i in order_c], rotation=90, fontsize=7)
    ax.set_yticks([])
    ax.set_ylabel(f"{len(units)} units (clustered)")
    ax.yaxis.set_label_position("right")
    cax = fig.add_subplot(gs[1, 2])
    fig.colorbar(im, cax=cax, label=title)
    fig.suptitle(f"{title} map with complete-linkage dendrograms")
    return fig


def plot_probe_accuracy(accuracy: xr.DataArray, chance: float | xr.DataArray | None = None,
                        sem: xr.DataArray | None = None, n_folds: int | None = None) -> plt.Figure:
    """Probe accuracy against time from phone onset, one line per layer (and target, if any).

    Parameters
    ----------
    accuracy : DataArray with dims ("lag",) plus optionally "layer" and/or "target"
        Mean accuracy over cross-validation folds; lags in seconds relative to phone onset.
    chance : float or DataArray, optional
        Chance level (a line), per target if a DataArray.
    sem : DataArray like ``accuracy``, optional
        Standard error over folds, drawn as a band of ± 1 s.e.m.
    n_folds : int, optional
        Number of folds (stated in the legend).
    """
    validate_type(accuracy, xr.DataArray, "accuracy")
    lag_dim = LAG if LAG in accuracy.dims else TIME
    _need_dims(accuracy, (lag_dim,), "accuracy")
    n_targets = accuracy.sizes.get("target", 1)
    fig, axes = plt.subplots(1, n_targets, figsize=(4.6 * n_targets, 3.3), squeeze=False)

    def lines(da):
        rest = [d for d in da.dims if d != lag_dim]
        return da.stack(line=rest) if rest else da.expand_dims(line=["accuracy"])

    for j in range(n_targets):
        ax = axes[0, j]
        tname = accuracy["target"].values[j] if "target" in accuracy.dims else None
        sub = lines(accuracy.sel(target=tname) if tname is not None else accuracy)
        err = None
        if sem is not None:
            err = lines(sem.sel(target=tname) if tname is not None and "target" in sem.dims else sem)
        for k in range(sub.sizes["line"]):
            lab = sub["line"].values[k]
            lab = " ".join(map(str, lab)) if isinstance(lab, tuple) else str(lab)
            x = sub[lag_dim].values * 1000
            y = sub.isel(line=k).values
            (ln,) = ax.plot(x, y, label=lab)
            if err is not None:
                e = err.isel(line=min(k, err.sizes["line"] - 1)).values
                ax.fill_between(x, y - e, y + e, color=ln.get_color(), alpha=0.25, lw=0,
                                label=f"± 1 s.e.m. over {n_folds} folds" if n_folds and k == 0 else None)
        if chance is not None:
            c = float(chance.sel(target=tname)) if isinstance(chance, xr.DataArray) and tname is not None \
                else float(np.asarray(chance).mean())
            ax.axhline(c, color="k", ls="--", lw=1, label=f"chance ({c:.3f})")
        ax.axvline(0, color="gray", lw=0.8)
        ax.set(xlabel="time from phone onset (ms)", ylabel="accuracy (proportion correct)",
               title=str(tname or "Probe accuracy"))
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_rsa(table: pd.DataFrame, nulls: Mapping[str, np.ndarray] | None = None) -> plt.Figure:
    """RSA correlations against their label-permutation nulls.

    ``table`` has columns ``comparison``, ``r`` and optionally ``p``; ``nulls`` maps a comparison
    to its permutation null (r under shuffled phone labels), drawn as a violin with the observed r
    as a red bar and the exact permutation p (``(1 + #null >= r) / (1 + n)``) in the label.
    """
    validate_type(table, pd.DataFrame, "rsa table")
    for c in ("comparison", "r"):
        if c not in table.columns:
            raise ValueError(f"rsa table needs column {c!r}; it has {list(table.columns)}")
    nulls = dict(nulls or {})
    fig, ax = plt.subplots(figsize=(max(4.5, 1.6 * len(table)), 3.4))
    labels = []
    for i, row in enumerate(table.itertuples(index=False)):
        null = np.asarray(nulls.get(row.comparison, []), float)
        null = null[np.isfinite(null)]
        if null.size > 1:
            parts = ax.violinplot([null], positions=[i], widths=0.7, showextrema=False)
            for b in parts["bodies"]:
                b.set_facecolor("0.7")
                b.set_alpha(0.8)
            k = int(np.sum(null >= row.r - 1e-12))
            p_txt = f"p = {(1 + k) / (1 + null.size):.3g}\n({k}/{null.size} ≥ r)"
        else:
            p = getattr(row, "p", np.nan)
            p_txt = f"p = {p:.3g}" if np.isfinite(p) else ""
        ax.hlines(row.r, i - 0.35, i + 0.35, color="tab:red", lw=2.5, label="observed r" if i == 0 else None)
        labels.append(f"{row.comparison}\n{p_txt}")
    ax.set_xticks(range(len(table)), labels, fontsize=7)
    ax.axhline(0, color="k", lw=0.8)
    if nulls:
        ax.plot([], [], color="0.6", lw=6, label="permutation null")
    ax.set(ylabel="RDM correlation (Pearson r)", title="Representational similarity", xlim=(-0.6, len(table) - 0.4))
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------- encoding
def plot_trf_joint(trf: xr.DataArray, info, feature, ch_types=None) -> list[plt.Figure]:
    """Butterfly plot and topomaps at the peaks of one feature's TRF (``mne.Evoked.plot_joint``),
    one figure per sensor type present (magnetometers, gradiometers, EEG), in the TRF's own units
    (attr ``units``).

    The time axis is the TRF's own lags (:func:`neurorrn.encoding.trf_evoked`), never the
    recording's rate in ``info``; sensors are matched to ``info`` by name.

    Parameters
    ----------
    trf : DataArray with dims ("sensor", "feature", "lag")
        Lags in seconds; sensors named as in ``info``.
    info : mne.Info
        Sensor positions for the topomaps.
    feature : str
        Which feature (predictor) to plot.
    ch_types : list of str, optional
        Sensor types to draw (default: every one of ``mag``, ``grad``, ``eeg`` present).
    """
    from ..encoding._viz import trf_evoked

    _need_dims(trf, (SENSOR, FEATURE, LAG), "trf")
    ev = trf_evoked(trf.sel({FEATURE: feature}).transpose(SENSOR, LAG), info, comment=str(feature))
    present = set(ev.get_channel_types())
    kinds = [t for t in (ch_types or ("mag", "grad", "eeg")) if t in present]
    if not kinds:
        raise ValueError(f"no sensors of types {list(ch_types or ('mag', 'grad', 'eeg'))} in the TRF "
                         f"(it has {sorted(present)})")
    unit = trf.attrs.get("units", "a.u.")
    figs = []
    for ch_type in kinds:
        one = ev.copy().pick(ch_type)
        scal = {ch_type: 1.0}
        fig = one.plot_joint(times="peaks", title=f"TRF: {feature} ({_TYPE_NAMES.get(ch_type, ch_type)}, "
                                                   f"mean of subjects)", show=False,
                             ts_args={"time_unit": "ms", "scalings": scal, "units": {ch_type: unit},
                                      "titles": {ch_type: ""}},
                             topomap_args={"time_unit": "ms", "scalings": scal, "units": unit,
                                           "sphere": head_sphere(one.info)})
        for f in list(fig) if isinstance(fig, (list, tuple)) else [fig]:
            for ax in f.axes:
                for txt in list(ax.texts):  # MNE's "N_ave=1": a TRF is not an average of trials
                    if "ave" in txt.get_text():
                        txt.remove()
                if ax.get_xlabel().startswith("Time"):
                    ax.set_xlabel("lag (ms)")
            figs.append(f)
    return figs


_TYPE_NAMES = {"mag": "magnetometers", "grad": "gradiometers", "eeg": "EEG"}


def plot_explained_variance(baseline: xr.DataArray, full: xr.DataArray, info,
                            driven: xr.DataArray | None = None) -> plt.Figure:
    """Variance explained by the acoustic baseline and by baseline + model units, per sensor.

    Three topomaps (baseline, full model, gain = full − baseline) with the sensors the simulation
    drove with model units marked, and a strip plot of the gain at driven vs other sensors.

    Parameters
    ----------
    baseline, full : DataArray with dims ("sensor",)
        Cross-validated explained variance (R²) of each model.
    info : mne.Info
        Sensor positions.
    driven : DataArray of bool with dims ("sensor",), optional
        Ground truth: sensors that received a model-unit response.
    """
    import mne

    _need_dims(baseline, (SENSOR,), "baseline")
    _need_dims(full, (SENSOR,), "full")
    names = [str(s) for s in baseline[SENSOR].values]
    full = full.sel({SENSOR: baseline[SENSOR].values})
    gain = full.values - baseline.values
    picks = [info["ch_names"].index(n) for n in names]
    sub = mne.pick_info(info, picks)
    ch_type = "mag" if "mag" in sub.get_channel_types() else sub.get_channel_types()[0]
    sel = np.array([t == ch_type for t in sub.get_channel_types()])
    pinfo = mne.pick_info(sub, np.flatnonzero(sel))
    mask = None if driven is None else driven.sel({SENSOR: baseline[SENSOR].values}).values.astype(bool)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.3), gridspec_kw={"width_ratios": [1, 1, 1, 1.3]})
    vmax = float(np.nanmax(np.r_[baseline.values[sel], full.values[sel]])) or 1.0
    gmax = float(np.nanmax(np.abs(gain[sel]))) or 1.0
    for ax, vals, title, vlim, cmap in ((axes[0], baseline.values, "acoustic baseline R²", (0, vmax), "viridis"),
                                        (axes[1], full.values, "baseline + model units R²", (0, vmax), "viridis"),
                                        (axes[2], gain, "gain ΔR²", (-gmax, gmax), "RdBu_r")):
        im, _ = mne.viz.plot_topomap(vals[sel], pinfo, axes=ax, show=False, vlim=vlim, contours=0, cmap=cmap,
                                     sphere=head_sphere(pinfo),
                                     mask=None if mask is None else mask[sel],
                                     mask_params=dict(marker="o", markerfacecolor="w", markeredgecolor="k",
                                                      markersize=4))
        ax.set_title(f"{title}\n({_TYPE_NAMES.get(ch_type, ch_type)}, mean of subjects)", fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.7, label="R² (proportion of variance)")
    ax = axes[3]
    if mask is not None:
        rng = np.random.default_rng(0)  # jitter for display only
        for k, (m, lab) in enumerate(((mask, "driven by units"), (~mask, "not driven"))):
            ax.scatter(k + 0.15 * rng.standard_normal(m.sum()), gain[m], s=6, alpha=0.6, label=lab)
            ax.hlines(np.median(gain[m]) if m.any() else np.nan, k - 0.3, k + 0.3, color="k")
        ax.set_xticks([0, 1], ["driven", "not driven"])
    else:
        ax.hist(gain, bins=30)
    ax.axhline(0, color="k", lw=0.8)
    ax.set(ylabel="ΔR² (model units over baseline)", title="Gain by sensor group")
    fig.tight_layout()
    return fig


def head_sphere(info):
    """The sphere (x, y, z, radius in m) that places the head outline of a topomap.

    EEG (or MEG with digitised head points): MNE's default.  MEG in device coordinates without
    digitisation (the simulator's Neuromag/CTF sensors): a sphere 4 cm above the device origin whose
    equator just encloses the helmet's sensors, so the outline fits the sensor layout instead of
    sitting inside it.
    """
    types = set(info.get_channel_types())
    if not types & {"mag", "grad", "ref_meg"} or info.get("dig"):
        return None
    kinds = info.get_channel_types()
    pos = np.array([c["loc"][:3] for c, k in zip(info["chs"], kinds) if k in ("mag", "grad")])
    if pos.size == 0 or not np.isfinite(pos).all():
        return None
    center = np.array([0.0, 0.0, 0.04])
    radius = float(np.max(np.hypot(pos[:, 0] - center[0], pos[:, 1] - center[1])))
    return (float(center[0]), float(center[1]), float(center[2]), 1.05 * radius)


def _type_info(info, names, ch_type):
    import mne

    sub = mne.pick_info(info, [info["ch_names"].index(n) for n in names])
    keep = [i for i, t in enumerate(sub.get_channel_types()) if t == ch_type]
    return mne.pick_info(sub, keep), keep


def plot_gain_clusters(result: xr.Dataset, info, title: str = "") -> plt.Figure:
    """The t-map of a spatial cluster-permutation test over sensors, clusters with p < .05 marked.

    ``result`` is :func:`neurorrn.encoding.cluster_test`'s Dataset for one sensor type (``t`` on
    "sensor", ``cluster_mask`` (cluster, sensor), ``cluster_p``).
    """
    import mne

    names = [str(x) for x in result[SENSOR].values]
    types = mne.pick_info(info, [info["ch_names"].index(n) for n in names]).get_channel_types()
    ch_type = types[0]
    pinfo, keep = _type_info(info, names, ch_type)
    t = result["t"].values[keep]
    sig = np.zeros(len(names), bool)
    ps = result["cluster_p"].values if "cluster_p" in result else np.array([])
    for k, p in enumerate(ps):
        if p < 0.05:
            sig |= result["cluster_mask"].values[k].astype(bool)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    mask = sig[keep]
    vlim, cmap, label = None, "RdBu_r", "t (across subjects)"
    if ch_type == "grad":  # MNE draws planar pairs merged (RMS): the mask must follow the pairs
        from mne.channels.layout import _pair_grad_sensors

        order = _pair_grad_sensors(pinfo, topomap_coords=False)
        mask = mask[order].reshape(-1, 2).any(1)
        lim = float(np.nanmax(np.abs(t))) or 1.0
        vlim, cmap, label = (0, lim), "Reds", "|t| (RMS of each gradiometer pair)"
    lim = float(np.nanmax(np.abs(t))) or 1.0
    im, _ = mne.viz.plot_topomap(t, pinfo, axes=ax, show=False, vlim=vlim or (-lim, lim), cmap=cmap, contours=0,
                                 sphere=head_sphere(pinfo),
                                 mask=mask, mask_params=dict(marker="o", markerfacecolor="w",
                                                             markeredgecolor="k", markersize=5))
    fig.colorbar(im, ax=ax, shrink=0.75, label=label)
    best = f"best cluster p = {ps.min():.3g}" if len(ps) else "no cluster above threshold"
    ax.set_title(f"{title or 'gain ΔR²'}: {_TYPE_NAMES.get(ch_type, ch_type)}\n"
                 f"n = {result.attrs.get('n_subjects')} subjects, {best}", fontsize=9)
    return fig


def plot_subject_maps(values: xr.DataArray, info, ch_type: str | None = None, label: str = "gain ΔR²",
                      marked: xr.DataArray | None = None) -> plt.Figure:
    """One topomap per subject of a sensor map with dims (subject, sensor), on a shared colour scale.

    ``ch_type``: the sensor type drawn (default the first of magnetometers, gradiometers, EEG present).
    """
    import mne

    _need_dims(values, ("subject", SENSOR), "values")
    names = [str(x) for x in values[SENSOR].values]
    present = set(mne.pick_info(info, [info["ch_names"].index(n) for n in names]).get_channel_types())
    if ch_type is None:
        ch_type = next((t for t in ("mag", "grad", "eeg") if t in present), sorted(present)[0])
    elif ch_type not in present:
        raise ValueError(f"no {ch_type!r} sensors in the map; it has {sorted(present)}")
    pinfo, keep = _type_info(info, names, ch_type)
    subs = [str(x) for x in values["subject"].values]
    v = values.transpose("subject", SENSOR).values[:, keep]
    lim = float(np.nanmax(np.abs(v))) or 1.0
    n = len(subs)
    fig, axes = plt.subplots(1, n, figsize=(2.3 * n + 0.8, 2.6), squeeze=False)
    for i, s in enumerate(subs):
        m = None
        if marked is not None:
            m = marked.sel(subject=s).sel({SENSOR: values[SENSOR].values}).values.astype(bool)[keep]
        im, _ = mne.viz.plot_topomap(v[i], pinfo, axes=axes[0, i], show=False, vlim=(-lim, lim), cmap="RdBu_r",
                                     sphere=head_sphere(pinfo),
                                     contours=0, mask=m, mask_params=dict(marker="o", markerfacecolor="w",
                                                                          markeredgecolor="k", markersize=3))
        axes[0, i].set_title(f"subject {s}", fontsize=8)
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label=f"{label} ({_TYPE_NAMES.get(ch_type, ch_type)})")
    return fig


def plot_trf_vs_truth(recovered: xr.DataArray, truth: xr.DataArray, n_sensors: int = 4,
                      feature: str = "") -> plt.Figure:
    """The recovered TRF against the simulator's ground truth at the most strongly driven sensors.

    Both (sensor, lag); each time course is scaled to its own peak |value| (the fit used z-scored
    data, so only shapes and latencies are comparable), with the correlation over lags per sensor.
    """
    _need_dims(recovered, (SENSOR, LAG), "recovered")
    _need_dims(truth, (SENSOR, LAG), "truth")
    truth = truth.sel({SENSOR: recovered[SENSOR].values})
    power = (truth ** 2).sum(LAG).values
    order = np.argsort(power)[::-1][:n_sensors]
    fig, axes = plt.subplots(1, len(order), figsize=(2.6 * len(order) + 0.6, 2.6), squeeze=False, sharey=True)
    lags = recovered[LAG].values * 1000
    for ax, i in zip(axes[0], order):
        r_ = recovered.isel({SENSOR: i}).values
        t_ = truth.isel({SENSOR: i}).values
        rho = float(np.corrcoef(r_, t_)[0, 1])
        ax.plot(lags, t_ / (np.abs(t_).max() or 1), color="k", lw=1.5, label="ground truth")
        ax.plot(lags, r_ / (np.abs(r_).max() or 1), color="tab:orange", lw=1.2, label="recovered")
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_title(f"{recovered[SENSOR].values[i]}: r = {rho:.2f}", fontsize=8)
        ax.set_xlabel("lag (ms)")
    axes[0, 0].set_ylabel("TRF (scaled to peak)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"TRF of {feature}: recovered (mean of subjects) vs ground truth", fontsize=9)
    fig.tight_layout()
    return fig


def table_html(df: pd.DataFrame, caption: str | None = None, float_format: str = "{:.3f}") -> str:
    """An HTML table (Bootstrap classes, as the rest of mne.Report) of a DataFrame."""
    validate_type(df, pd.DataFrame, "table")
    html = df.to_html(index=False, classes="table table-sm table-striped table-hover", border=0, justify="left",
                      float_format=lambda x: float_format.format(x), na_rep="–", escape=True)
    if caption:
        html = f"<p>{_escape(caption)}</p>" + html
    return html


def _escape(s: str) -> str:
    import html

    return html.escape(str(s))


def mapping_table(rows: Mapping[str, object]) -> pd.DataFrame:
    """A two-column DataFrame (name, value) from a mapping."""
    return pd.DataFrame({"name": list(rows), "value": [str(v) for v in rows.values()]})


def _first_type(info, names) -> str:
    import mne

    present = set(mne.pick_info(info, [info["ch_names"].index(n) for n in names]).get_channel_types())
    return next((t for t in ("mag", "grad", "eeg") if t in present), sorted(present)[0])


def plot_shift_null(r: xr.DataArray, null: xr.DataArray, p: xr.DataArray, info,
                    group_significant: xr.DataArray | None = None, n_best: int = 3,
                    alpha: float = 0.05) -> plt.Figure:
    """Held-out prediction accuracy per sensor against its circular-shift null, over subjects.

    Top: topomaps (one sensor type, the first of magnetometers, gradiometers, EEG present) of the
    mean over subjects of the observed correlation, with ``group_significant`` sensors marked, and
    of the number of subjects whose own null the sensor beats at ``p < alpha``.  Bottom: at the
    ``n_best`` sensors of that type with the highest mean r and at the one with the lowest, every
    subject's null distribution (violin) with the observed value (red dot) and its p-value.

    Parameters
    ----------
    r : DataArray (subject, sensor)
        Observed held-out correlation of the model's predictions.
    null : DataArray (subject, permutation, sensor)
        The same statistic for each circular shift.
    p : DataArray (subject, sensor)
        Per-subject permutation p-values.
    info : mne.Info
    group_significant : DataArray of bool (sensor,), optional
        Sensors significant in the group test (marked in the first map).
    """
    import mne

    _need_dims(r, ("subject", SENSOR), "r")
    _need_dims(null, ("subject", "permutation", SENSOR), "null")
    _need_dims(p, ("subject", SENSOR), "p")
    names = [str(x) for x in r[SENSOR].values]
    null = null.sel({SENSOR: r[SENSOR].values, "subject": r["subject"].values})
    p = p.sel({SENSOR: r[SENSOR].values, "subject": r["subject"].values})
    ch_type = _first_type(info, names)
    pinfo, keep = _type_info(info, names, ch_type)
    keep = np.asarray(keep, dtype=int)
    subs = [str(s) for s in r["subject"].values]
    rv = r.transpose("subject", SENSOR).values
    pv = p.transpose("subject", SENSOR).values
    nv = null.transpose("subject", "permutation", SENSOR).values
    mean_r = np.nanmean(rv, 0)
    n_sig = (pv < alpha).sum(0)
    order = keep[np.argsort(-np.nan_to_num(mean_r[keep], nan=-np.inf))]
    shown = list(order[:n_best]) + ([order[-1]] if len(order) > n_best else [])
    ncol = max(2, len(shown))
    fig = plt.figure(figsize=(3.0 * ncol, 6.4))
    gs = fig.add_gridspec(2, ncol, height_ratios=[1.1, 1])
    mask = None
    if group_significant is not None:
        mask = group_significant.sel({SENSOR: r[SENSOR].values}).values.astype(bool)[keep]
    merge = ch_type == "grad"
    if merge and mask is not None:  # planar pairs are drawn merged: the mask follows the pairs
        from mne.channels.layout import _pair_grad_sensors

        mask = mask[_pair_grad_sensors(pinfo, topomap_coords=False)].reshape(-1, 2).any(1)
    mp = dict(marker="o", markerfacecolor="w", markeredgecolor="k", markersize=4)
    half = max(1, ncol // 2)
    ax0 = fig.add_subplot(gs[0, :half])
    lim = float(np.nanmax(np.abs(mean_r[keep]))) or 1.0
    im, _ = mne.viz.plot_topomap(mean_r[keep], pinfo, axes=ax0, show=False, vlim=(0, lim) if merge else (-lim, lim),
                                 cmap="Reds" if merge else "RdBu_r", contours=0, sphere=head_sphere(pinfo),
                                 mask=mask, mask_params=mp)
    fig.colorbar(im, ax=ax0, shrink=0.75, label="held-out r" + (" (RMS of pairs)" if merge else ""))
    ax0.set_title(f"observed r, mean of {len(subs)} subjects ({_TYPE_NAMES.get(ch_type, ch_type)})\n"
                  "white: significant across subjects", fontsize=9)
    ax1 = fig.add_subplot(gs[0, half:])
    im, _ = mne.viz.plot_topomap(n_sig[keep].astype(float), pinfo, axes=ax1, show=False, vlim=(0, len(subs)),
                                 cmap="viridis", contours=0, sphere=head_sphere(pinfo))
    fig.colorbar(im, ax=ax1, shrink=0.75, label=f"subjects with p < {alpha:g}" + (" (RMS of pairs)" if merge else ""))
    ax1.set_title(f"subjects beating their own null (of {len(subs)})", fontsize=9)
    for j, i in enumerate(shown):
        ax = fig.add_subplot(gs[1, j])
        data = [nv[s, :, i][np.isfinite(nv[s, :, i])] for s in range(len(subs))]
        ok = [k for k, d in enumerate(data) if d.size]
        if ok:
            ax.violinplot([data[k] for k in ok], positions=ok, showextrema=False, widths=0.8)
        ax.scatter(np.arange(len(subs)), rv[:, i], color="tab:red", s=14, zorder=3, label="observed")
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_xticks(np.arange(len(subs)), subs, fontsize=7)
        ax.set_xlabel("subject", fontsize=8)
        tag = "lowest mean r" if j == len(shown) - 1 and len(order) > n_best else f"rank {j + 1}"
        ax.set_title(f"{names[i]} ({tag})\np = {', '.join(f'{x:.2g}' for x in pv[:, i])}", fontsize=7)
        if j == 0:
            ax.set_ylabel("held-out r (null: violins)")
            ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_noise_ceiling(r: xr.DataArray, ceiling: xr.DataArray, info, min_ceiling: float = 0.1) -> plt.Figure:
    """Held-out prediction accuracy as a fraction of the noise ceiling.

    Left: topomap of the ceiling (mean over subjects); middle: topomap of r / ceiling (mean over
    subjects of each subject's ratio; sensors whose mean ceiling is below ``min_ceiling`` are set
    to 0 and marked with grey dots, since the ratio of two small numbers is noise); right: every
    subject's r against its ceiling at every sensor (all sensor types) with the identity line.

    Parameters
    ----------
    r, ceiling : DataArray (subject, sensor)
        Observed held-out correlation and the ceiling correlation (the subjects of ``ceiling`` are
        drawn).
    """
    import mne

    _need_dims(r, ("subject", SENSOR), "r")
    _need_dims(ceiling, ("subject", SENSOR), "ceiling")
    r = r.sel(subject=ceiling["subject"].values)  # the subjects that have a ceiling
    ceiling = ceiling.sel({SENSOR: r[SENSOR].values})
    names = [str(x) for x in r[SENSOR].values]
    ch_type = _first_type(info, names)
    pinfo, keep = _type_info(info, names, ch_type)
    rv = r.transpose("subject", SENSOR).values
    cv = ceiling.transpose("subject", SENSOR).values
    mean_c = np.nanmean(cv, 0)
    ok = cv >= min_ceiling
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(ok, rv / cv, 0.0).sum(0) / ok.sum(0)  # mean over the subjects with a ceiling
    low = ~(mean_c >= min_ceiling)
    frac = np.where(low, 0.0, np.nan_to_num(frac))
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.6), gridspec_kw={"width_ratios": [1, 1, 1.15]})
    merge = ch_type == "grad"
    mask = low[keep]
    if merge:
        from mne.channels.layout import _pair_grad_sensors

        mask = mask[_pair_grad_sensors(pinfo, topomap_coords=False)].reshape(-1, 2).all(1)
    tname = _TYPE_NAMES.get(ch_type, ch_type)
    im, _ = mne.viz.plot_topomap(mean_c[keep], pinfo, axes=axes[0], show=False, vlim=(0, 1), cmap="viridis",
                                 contours=0, sphere=head_sphere(pinfo))
    fig.colorbar(im, ax=axes[0], shrink=0.75, label="ceiling r")
    axes[0].set_title(f"noise ceiling r, mean of {rv.shape[0]} subjects\n({tname})", fontsize=9)
    im, _ = mne.viz.plot_topomap(frac[keep], pinfo, axes=axes[1], show=False, vlim=(0, 1), cmap="viridis",
                                 contours=0, sphere=head_sphere(pinfo), mask=mask,
                                 mask_params=dict(marker="o", markerfacecolor="0.6", markeredgecolor="0.6",
                                                  markersize=2))
    fig.colorbar(im, ax=axes[1], shrink=0.75, label="r / ceiling r")
    axes[1].set_title(f"fraction of the ceiling reached\n(grey: ceiling < {min_ceiling:g}, not shown)", fontsize=9)
    ax = axes[2]
    for s in range(rv.shape[0]):
        ax.scatter(cv[s], rv[s], s=4, alpha=0.5, label=str(r["subject"].values[s]))
    top = float(np.nanmax(np.r_[cv.ravel(), rv.ravel(), [0.1]]))
    ax.plot([0, top], [0, top], color="k", lw=0.8, label="r = ceiling")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set(xlabel="noise ceiling r", ylabel="held-out r (full model)",
           title="every sensor of every subject", xlim=(min(0.0, float(np.nanmin(cv))) - 0.02, top + 0.02))
    ax.legend(fontsize=6, markerscale=2, ncol=2, title="subject", title_fontsize=6)
    fig.tight_layout()
    return fig
