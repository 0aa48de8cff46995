"""One figure per probing analysis (matplotlib, Agg-safe; every function returns the Figure)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._dims import LAG, UNIT
from .clustering import HierarchicalResult, hierarchical_clustering


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo") and not _interactive():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _interactive() -> bool:
    import sys

    return hasattr(sys, "ps1")


def plot_psi_heatmap(index_map: xr.DataArray, clustering: HierarchicalResult | None = None, *,
                     title: str = "", vmax: float | None = None, labels: str = "phone"):
    """Selectivity map (rows: phones/features, columns: units) ordered by both dendrograms.

    The dendrograms are those of :func:`~neurorrn.probing.clustering.hierarchical_clustering`
    (complete linkage on the per-unit z-scored map), drawn on the left (rows) and on top (units),
    as EARSHOT's Fig. 4.  Colours run 0..n-1 (0..32 for PSI, 0..13 for FSI).
    """
    from scipy.cluster import hierarchy

    plt = _plt()
    res = clustering or hierarchical_clustering(index_map)
    row_dim = res.zmap.dims[0]
    m = index_map.transpose(row_dim, UNIT)
    data = m.values[np.ix_(res.row_order, res.col_order)]
    rows = m[row_dim].values[res.row_order]
    if labels == "ipa" and "ipa" in m.coords:
        rows = m["ipa"].values[res.row_order]
    fig = plt.figure(figsize=(10, 6.5))
    ax_top = fig.add_axes([0.12, 0.80, 0.74, 0.14])
    ax_left = fig.add_axes([0.02, 0.08, 0.08, 0.70])
    ax = fig.add_axes([0.12, 0.08, 0.74, 0.70])
    cax = fig.add_axes([0.88, 0.08, 0.02, 0.70])
    hierarchy.dendrogram(res.col_linkage, ax=ax_top, no_labels=True, color_threshold=0, above_threshold_color="k")
    hierarchy.dendrogram(res.row_linkage, ax=ax_left, orientation="left", no_labels=True, color_threshold=0,
                         above_threshold_color="k")
    ax_left.invert_yaxis()
    for a in (ax_top, ax_left):
        a.set_axis_off()
    n_levels = index_map.attrs.get("n_levels", m.sizes[row_dim])
    im = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=vmax if vmax is not None else n_levels - 1,
                   interpolation="nearest")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=7)
    ax.set_xlabel(f"units (n = {m.sizes[UNIT]}, clustered)")
    fig.colorbar(im, cax=cax, label=index_map.name or "index")
    if title:
        ax_top.set_title(title)
    return fig


def plot_probe_time_course(results: dict | xr.Dataset, *, title: str = "Linear probes over lags"):
    """Probe score against lag from phone onset, with its chance level (one line per result)."""
    plt = _plt()
    if isinstance(results, xr.Dataset):
        results = {results.attrs.get("target", "probe"): results}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, r in results.items():
        lags = r[LAG].values * 1000
        mean = r["mean"].values
        line, = ax.plot(lags, mean, label=f"{name} ({r.attrs.get('scoring', '')})")
        if "score" in r:
            sc = r["score"].values
            ok = np.isfinite(sc)
            cnt = np.maximum(ok.sum(1), 1)
            mu = np.where(ok, sc, 0).sum(1) / cnt
            sd = np.sqrt(np.where(ok, (sc - mu[:, None]) ** 2, 0).sum(1) / cnt)
            ax.fill_between(lags, mean - sd, mean + sd, color=line.get_color(), alpha=0.2)
        ax.axhline(float(r["chance"]), color=line.get_color(), ls=":", lw=1)
        if "control_mean" in r:
            ax.plot(lags, r["control_mean"].values, color=line.get_color(), ls="--", lw=1, label=f"{name} control")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("lag from phone onset (ms)")
    ax.set_ylabel("score (dotted: chance)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_temporal_generalization(tg: xr.Dataset, *, title: str = "Temporal generalisation"):
    """Train-lag x test-lag score matrix, centred on chance."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4.3))
    lags = tg["train_lag"].values * 1000
    chance = float(tg["chance"])
    s = tg["score"].values
    span = max(np.nanmax(np.abs(s - chance)), 1e-6)
    im = ax.imshow(s, origin="lower", cmap="RdBu_r", vmin=chance - span, vmax=chance + span,
                   extent=[lags[0], lags[-1], lags[0], lags[-1]], aspect="auto")
    ax.set_xlabel("test lag (ms)")
    ax.set_ylabel("train lag (ms)")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=tg.attrs.get("scoring", "score"))
    fig.tight_layout()
    return fig


def plot_rsa(model_rdm: xr.DataArray, reference_rdm: xr.DataArray, result=None, *, names=("model", "reference")):
    """The two RDMs side by side (reference reordered to the model's labels) and the permutation null."""
    plt = _plt()
    n_panels = 3 if result is not None else 2
    fig, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels, 4))
    labels = [str(v) for v in model_rdm[model_rdm.dims[0]].values]
    ref_labels = [str(v) for v in reference_rdm[reference_rdm.dims[0]].values]
    idx = [ref_labels.index(v) for v in labels]
    for ax, d, name in ((axes[0], model_rdm.values, names[0]),
                        (axes[1], reference_rdm.values[np.ix_(idx, idx)], names[1])):
        im = ax.imshow(d, cmap="viridis")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=90, fontsize=5)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=5)
        ax.set_title(f"{name} ({model_rdm.attrs.get('metric', '')})")
        fig.colorbar(im, ax=ax, fraction=0.046)
    if result is not None:
        ax = axes[2]
        ax.hist(result.null, bins=50, color="0.6")
        ax.axvline(result.r, color="r")
        ax.set_title(f"r = {result.r:.3f}, p = {result.pvalue:.2g}\n({result.n_permutations} permutations)",
                     fontsize=9)
        ax.set_xlabel(f"{result.method} r under shuffled labels")
    fig.tight_layout()
    return fig


def plot_time_resolved_rsa(r: xr.DataArray, *, title: str = "Time-resolved RSA"):
    """Model-lag x brain-time RDM correlations."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4.3))
    a, b = r.dims
    im = ax.imshow(r.values, origin="lower", aspect="auto", cmap="RdBu_r",
                   vmin=-np.nanmax(np.abs(r.values)), vmax=np.nanmax(np.abs(r.values)),
                   extent=[r[b].values[0], r[b].values[-1], r[a].values[0], r[a].values[-1]])
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=r.attrs.get("method", "r"))
    fig.tight_layout()
    return fig


def plot_lesion_sweep(sweep: xr.Dataset, *, ylabel: str = "score", title: str = "Lesion sweep"):
    """Score against lesion size (mean and spread over repeats), and per-cluster lesions vs controls."""
    plt = _plt()
    has_c = "cluster_score" in sweep
    fig, axes = plt.subplots(1, 2 if has_c else 1, figsize=(9 if has_c else 5, 4), squeeze=False)
    ax = axes[0, 0]
    sizes = sweep["size"].values
    s = sweep["score"].values
    ax.plot(np.repeat(sizes, s.shape[1]), s.ravel(), ".", color="0.6", ms=3)
    ax.plot(sizes, np.nanmean(s, 1), "-o", color="C0")
    ax.axhline(float(sweep["baseline"]), color="k", ls=":")
    ax.set_xlabel("units lesioned (random)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if has_c:
        ax = axes[0, 1]
        k = np.arange(sweep.sizes["cluster"])
        ax.bar(k - 0.2, sweep["cluster_score"].values, 0.4, label="cluster lesioned")
        ax.bar(k + 0.2, sweep["cluster_control"].values, 0.4, label="random, same size")
        ax.set_xticks(k)
        ax.set_xticklabels([str(c) for c in sweep["cluster"].values])
        ax.set_xlabel("cluster")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_psi_by_criterion(index: xr.Dataset, *, title: str = "Selective units by criterion"):
    """Number of units with any PSI⁺ > 0 as the criterion grows (EARSHOT's sweep)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    pos = index["positive"]
    other = [d for d in pos.dims if d not in ("criterion", UNIT)]
    n_sel = (pos.sum(other) > 0).sum(UNIT)
    ax.plot(pos["criterion"].values, n_sel.values, "-o", ms=3)
    ax.set_xlabel("criterion c")
    ax.set_ylabel("selective units")
    ax.set_title(title)
    fig.tight_layout()
    return fig


__all__ = ["plot_lesion_sweep", "plot_probe_time_course", "plot_psi_by_criterion", "plot_psi_heatmap", "plot_rsa",
           "plot_temporal_generalization", "plot_time_resolved_rsa"]
