"""Clustering of units and phones.

* :func:`hierarchical_clustering` -- EARSHOT's ``R_Script/PSI_and_FSI(Fig.4).R``: the (squeezed)
  PSI/FSI map is z-scored per unit with R's ``scale()`` (column mean 0, SD 1 with ``n - 1``), and
  ``hclust(dist(.))`` -- complete linkage on Euclidean distances -- clusters the phones (rows) and
  the units (columns) of the scaled map.  A unit whose map is constant (SD 0) cannot be scaled: R
  gives NaN; we set its z-scores to 0 and say so in the result.
* :func:`kmeans_units` -- Brodbeck, Hannagan & Magnuson (2025, ``make_cluster_predictors.py``):
  each unit's ``|h|`` time course over all stimuli is divided by its SD over time (no centring)
  and K-means (``n_init="auto"``, ``random_state=0``) groups the units by these time courses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from scipy.cluster import hierarchy

from .._dims import CLUSTER, STIMULUS, TIME, UNIT
from ..store import iter_stimuli
from ..utils._check import check_positive, validate_type


@dataclass
class HierarchicalResult:
    """Both dendrograms of a selectivity map.

    Attributes
    ----------
    row_linkage, col_linkage : ndarray of shape (n - 1, 4)
        SciPy linkage matrices of the rows (phones/features) and columns (units).
    row_order, col_order : ndarray
        Leaf orders (for the heatmap).
    zmap : DataArray
        The scaled map, dims (row_dim, "unit").
    constant_units : list
        Units with a constant map (their z-scores set to 0).
    """

    row_linkage: np.ndarray
    col_linkage: np.ndarray
    row_order: np.ndarray
    col_order: np.ndarray
    zmap: xr.DataArray
    constant_units: list = field(default_factory=list)

    def row_clusters(self, n_clusters: int) -> np.ndarray:
        """Flat cluster labels (1..k) of the rows, cutting the dendrogram into ``n_clusters``."""
        return hierarchy.fcluster(self.row_linkage, n_clusters, criterion="maxclust")

    def unit_clusters(self, n_clusters: int) -> xr.DataArray:
        """Flat cluster labels (1..k) of the units, as a DataArray over "unit"."""
        lab = hierarchy.fcluster(self.col_linkage, n_clusters, criterion="maxclust")
        return xr.DataArray(lab, dims=(UNIT,), coords={UNIT: self.zmap[UNIT].values}, name=CLUSTER)


def zscore_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R's ``scale()`` on columns (ddof=1); constant columns become 0.  Returns (z, constant mask)."""
    x = np.asarray(x, dtype=np.float64)
    sd = x.std(axis=0, ddof=1)
    const = ~(sd > 0)
    z = (x - x.mean(axis=0)) / np.where(const, 1.0, sd)
    z[:, const] = 0.0
    return z, const


def hierarchical_clustering(index_map: xr.DataArray, row_dim: str | None = None,
                            method: str = "complete") -> HierarchicalResult:
    """Cluster the rows (phones or features) and the units of a selectivity map.

    Parameters
    ----------
    index_map : DataArray, dims {row_dim, "unit"}
        One PSI/FSI map (e.g. ``squeeze(psi(...)["positive"].sel(criterion=0))``).
    row_dim : str, optional
        The non-unit dim (inferred when the map is 2-D).
    method : str
        SciPy linkage method; EARSHOT uses R's default, ``"complete"``.

    Returns
    -------
    HierarchicalResult
    """
    validate_type(index_map, xr.DataArray, "index_map")
    if index_map.ndim != 2 or UNIT not in index_map.dims:
        raise ValueError(f"index_map must be 2-D with a 'unit' dim (select one criterion/talker first), "
                         f"got dims {index_map.dims}")
    row_dim = row_dim or next(d for d in index_map.dims if d != UNIT)
    m = index_map.transpose(row_dim, UNIT)
    if m.sizes[row_dim] < 2 or m.sizes[UNIT] < 2:
        raise ValueError(f"need at least 2 {row_dim}s and 2 units to cluster, got {dict(m.sizes)}")
    z, const = zscore_columns(m.values)
    row_link = hierarchy.linkage(z, method=method, metric="euclidean")
    col_link = hierarchy.linkage(z.T, method=method, metric="euclidean")
    zmap = m.copy(data=z)
    return HierarchicalResult(row_link, col_link, hierarchy.leaves_list(row_link), hierarchy.leaves_list(col_link),
                              zmap, list(m[UNIT].values[const]))


def _unit_time_courses(store, absolute: bool = True, chunk: int = 64) -> np.ndarray:
    parts = []
    for _, a in iter_stimuli(store, chunk=chunk):
        parts.append(np.abs(a) if absolute else a)
    return np.concatenate(parts, axis=0).astype(np.float32, copy=False)  # (all frames, units)


def kmeans_units(store, n_clusters: int = 32, *, absolute: bool = True, random_state=0,
                 n_init="auto") -> xr.Dataset:
    """K-means clusters of units by their (SD-normalised) ``|h|`` time courses (Brodbeck et al. 2025).

    Parameters
    ----------
    store : xarray.Dataset | DataArray
        An ActivationStore (all stimuli are concatenated over their valid frames), or a
        DataArray with dims ("time", "unit") (a continuous session).
    n_clusters : int
        K (Brodbeck et al.'s final model: 32).
    absolute : bool
        Cluster ``|h|`` (as Brodbeck et al.).
    random_state : int
        Seed of :class:`sklearn.cluster.KMeans` (they use 0).

    Returns
    -------
    Dataset
        ``cluster`` (unit): label 0..K-1; ``scale`` (unit): the SD each unit was divided by;
        ``centers`` (cluster, sample) are not kept (they are time courses); attrs ``inertia``.
    """
    from sklearn.cluster import KMeans

    check_positive(n_clusters, "n_clusters", integer=True)
    if isinstance(store, xr.Dataset):
        x = _unit_time_courses(store, absolute)
        units = store[UNIT].values
    else:
        validate_type(store, xr.DataArray, "store")
        if set(store.dims) != {TIME, UNIT}:
            raise ValueError(f"a DataArray input needs dims ('time', 'unit'), got {store.dims}")
        x = store.transpose(TIME, UNIT).values.astype(np.float64)
        x = np.abs(x) if absolute else x
        units = store[UNIT].values
    x = x[np.isfinite(x).all(1)]
    if n_clusters > x.shape[1]:
        raise ValueError(f"n_clusters={n_clusters} exceeds the number of units ({x.shape[1]})")
    sd = x.std(axis=0)
    feats = (x / np.where(sd > 0, sd, 1.0)).T  # one row per unit: its time course
    km = KMeans(n_clusters=int(n_clusters), n_init=n_init, random_state=random_state).fit(feats)
    return xr.Dataset({"cluster": (UNIT, km.labels_.astype(np.int64)), "scale": (UNIT, sd)},
                      coords={UNIT: units}, attrs={"inertia": float(km.inertia_), "n_clusters": int(n_clusters)})


def cluster_time_courses(store, clusters: xr.DataArray, absolute: bool = True) -> xr.DataArray:
    """Mean ``|h|`` per cluster for every stimulus (Brodbeck et al.'s ``{k}means-sum`` predictor).

    Returns
    -------
    DataArray, dims ("stimulus", "time", "cluster")
    """
    validate_type(store, xr.Dataset, "store")
    lab = clusters.sel({UNIT: store[UNIT].values}).values
    ks = np.unique(lab)
    act = store["activation"].values
    act = np.abs(act) if absolute else act
    out = np.stack([act[:, :, lab == k].mean(-1) for k in ks], axis=-1)
    return xr.DataArray(out, dims=(STIMULUS, TIME, CLUSTER),
                        coords={STIMULUS: store[STIMULUS].values, TIME: store[TIME].values, CLUSTER: ks})


__all__ = ["HierarchicalResult", "cluster_time_courses", "hierarchical_clustering", "kmeans_units", "zscore_columns"]
