"""Representational similarity analysis of phone (or feature) codes.

Follows EARSHOT's ``RSA_Analysis.py`` (commit ``9bbc247``): an RDM is
``sklearn.metrics.pairwise_distances(map, metric)`` over the rows of a map (phones x units for a
PSI map, phones x features for the feature table), two RDMs are compared by the Pearson
correlation of their strict lower triangles, and the permutation null shuffles the phone labels of
the model map.  We differ in two places:

* the p-value is ``(1 + #{r_perm >= r_obs}) / (1 + n_permutations)``: the observed labelling
  counts as one of the permutations (Phipson & Smyth 2010), so p is never 0.  EARSHOT's Python
  computes ``1 - len(np.less(null, r)) / n``, which is always 0 (its R script takes the share of
  permuted r >= r, as we do); with ``exact=True`` every permutation is enumerated and p is exactly
  the share of permutations (identity included) with r >= observed;
* RDMs are aligned by label, never by position.

Spearman, and rsatoolbox's rank correlations ``"rho-a"`` / ``"tau-a"``, are offered besides
Pearson; time-resolved RSA correlates model RDMs at each lag with brain RDMs at each time.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats
from sklearn.metrics import pairwise_distances

from .._dims import LAG, PHONE, TIME
from ..utils._check import check_option, check_path, check_random_state, validate_type
from .features import phone_feature_table, to_arpabet
from .responses import TOKEN

METRICS = ("correlation", "cosine", "euclidean")
COMPARISONS = ("pearson", "spearman", "rho-a", "tau-a")


def _other(dim: str) -> str:
    return f"{dim}_other"


def rdm(data: xr.DataArray, dim: str = PHONE, metric: str = "correlation") -> xr.DataArray:
    """Representational dissimilarity matrix between the entries of ``dim``.

    Parameters
    ----------
    data : DataArray
        Patterns along ``dim`` (e.g. a PSI map with dims ("unit", "phone"), mean responses,
        or the phone x feature table); every other dim is flattened into the pattern vector.
    dim : str
        The dim whose entries are compared.
    metric : {"correlation", "cosine", "euclidean"}
        As :func:`sklearn.metrics.pairwise_distances` (EARSHOT's three metrics).

    Returns
    -------
    rdm : DataArray, dims (dim, dim + "_other")
        Symmetric, zero diagonal; attrs ``metric``.
    """
    validate_type(data, xr.DataArray, "data")
    check_option(metric, METRICS, "metric")
    if dim not in data.dims:
        raise ValueError(f"data has no dim {dim!r}; dims are {data.dims}")
    x = data.transpose(dim, ...).values.reshape(data.sizes[dim], -1).astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"data has non-finite values for {dim} "
                         f"{list(data[dim].values[~np.isfinite(x).all(1)][:5])}; drop them first")
    if metric != "euclidean":
        flat = np.ptp(x, axis=1) == 0 if metric == "correlation" else ~x.any(axis=1)
        if flat.any():
            raise ValueError(f"the {metric} distance is undefined for constant patterns: "
                             f"{list(data[dim].values[flat][:5])}")
    d = pairwise_distances(x, metric=metric)
    np.fill_diagonal(d, 0.0)
    labels = data[dim].values
    return xr.DataArray(d, dims=(dim, _other(dim)), coords={dim: labels, _other(dim): labels},
                        name="rdm", attrs={"metric": metric})


def feature_rdm(metric: str = "correlation", phones=None, convention: str = "earshot") -> xr.DataArray:
    """RDM of the binary phone x feature table (the reference model RDM of EARSHOT's RSA)."""
    return rdm(phone_feature_table(phones=phones, convention=convention), PHONE, metric)


def load_rdm(path, dim: str = PHONE, arpabet: bool = True) -> xr.DataArray:
    """Read a labelled RDM from a TSV (first column and header row are the labels).

    ``arpabet=True`` maps IPA phone labels (as in the Mesgarani RDM files) to ARPAbet.
    """
    path = check_path(path, "RDM file", must_exist=True, kind="file")
    df = pd.read_csv(path, sep="\t", index_col=0, encoding="utf-8-sig")
    rows = [str(s).strip() for s in df.index]
    cols = [str(s).strip() for s in df.columns]
    if rows != cols:
        raise ValueError(f"{path}: row labels {rows[:5]}... differ from column labels {cols[:5]}...")
    d = df.to_numpy(dtype=np.float64)
    if d.shape[0] != d.shape[1] or not np.allclose(d, d.T, atol=1e-8):
        raise ValueError(f"{path}: an RDM must be square and symmetric, got shape {d.shape}")
    if arpabet and dim == PHONE:
        rows = to_arpabet(rows)
    return xr.DataArray(d, dims=(dim, _other(dim)), coords={dim: rows, _other(dim): rows}, name="rdm",
                        attrs={"source": str(path)})


def lower_triangle(d) -> np.ndarray:
    """Strict lower triangle of a square matrix, row by row (EARSHOT's ``Distance_Tri_Calc``)."""
    d = np.asarray(d)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {d.shape}")
    return d[np.tril_indices(d.shape[0], -1)]


def _aligned(a: xr.DataArray, b: xr.DataArray) -> tuple[np.ndarray, np.ndarray, list]:
    for name, x in (("a", a), ("b", b)):
        validate_type(x, xr.DataArray, name)
        if x.ndim != 2:
            raise ValueError(f"RDM {name} must be 2-D, got dims {x.dims}")
    da, db = a.dims[0], b.dims[0]
    la = [str(v) for v in a[da].values]
    lb = [str(v) for v in b[db].values]
    missing = [v for v in la if v not in lb]
    if missing:
        raise KeyError(f"labels of RDM a missing from RDM b: {missing[:10]}")
    idx = [lb.index(v) for v in la]
    return a.values, b.values[np.ix_(idx, idx)], la


def _corr_vec(x: np.ndarray, y: np.ndarray, method: str) -> np.ndarray:
    """Correlation of each row of ``x`` (n, m) with ``y`` (m,)."""
    if method == "spearman":
        x = stats.rankdata(x, axis=-1)
        y = stats.rankdata(y)
    if method in ("pearson", "spearman"):
        xc = x - x.mean(-1, keepdims=True)
        yc = y - y.mean()
        return (xc @ yc) / (np.linalg.norm(xc, axis=-1) * np.linalg.norm(yc))
    from rsatoolbox.rdm import RDMs, compare

    return compare(RDMs(np.atleast_2d(x)), RDMs(y[None]), method=method)[:, 0]


def compare_rdms(a: xr.DataArray, b: xr.DataArray, method: str = "pearson") -> float:
    """Correlation between the lower triangles of two RDMs, aligned by label.

    ``method``: ``"pearson"`` (EARSHOT), ``"spearman"``, or rsatoolbox's ``"rho-a"``/``"tau-a"``.
    """
    check_option(method, COMPARISONS, "method")
    da, db, _ = _aligned(a, b)
    return float(_corr_vec(lower_triangle(da)[None], lower_triangle(db), method)[0])


@dataclass
class RSAResult:
    """Outcome of :func:`permutation_test`.

    Attributes
    ----------
    r : float
        Observed correlation.
    pvalue : float
        Share of the null at least ``r``, with the observed labelling counted once (see
        ``counting``).
    null : ndarray of shape (n_permutations,)
        Correlations under permuted labels.
    method, counting : str
        The comparison and how p was counted.
    """

    r: float
    pvalue: float
    null: np.ndarray = field(repr=False)
    method: str = "pearson"
    counting: str = ""

    @property
    def n_permutations(self) -> int:
        return int(self.null.size)


def permutation_test(a: xr.DataArray, b: xr.DataArray, method: str = "pearson", n_permutations: int = 10000,
                     *, exact: bool = False, random_state=None, batch: int = 2000) -> RSAResult:
    """Permutation test of an RDM correlation: shuffle the labels of RDM ``a``.

    Shuffling the rows of a model map and recomputing its RDM (EARSHOT) equals permuting rows and
    columns of the RDM together, which is what is done here.

    Parameters
    ----------
    a, b : DataArray, dims (label, label_other)
        Model and reference RDMs (aligned by label).
    n_permutations : int
        Random permutations (EARSHOT's default is 10**6).
    exact : bool
        Enumerate all n! permutations (n <= 9).  Then ``pvalue`` is exactly the share of
        permutations, identity included, with ``r_perm >= r_obs`` (within 1e-12).
    random_state : int | Generator | None

    Returns
    -------
    RSAResult
        Random permutations: ``pvalue = (1 + #{r_perm >= r_obs}) / (1 + n_permutations)``.
    """
    check_option(method, COMPARISONS, "method")
    da, db, _ = _aligned(a, b)
    n = da.shape[0]
    il = np.tril_indices(n, -1)
    ref = db[il]
    r_obs = float(_corr_vec(da[il][None], ref, method)[0])
    if exact:
        if n > 9:
            raise ValueError(f"exact=True enumerates n! permutations; n = {n} is too many (max 9)")
        perms = np.array(list(itertools.permutations(range(n))))
    else:
        n_permutations = int(n_permutations)
        if n_permutations < 1:
            raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
        rng = check_random_state(random_state)
        perms = rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1)
    null = np.empty(len(perms))
    for s in range(0, len(perms), batch):
        p = perms[s:s + batch]
        vecs = da[p[:, il[0]], p[:, il[1]]]
        null[s:s + batch] = _corr_vec(vecs, ref, method)
    hits = int(np.sum(null >= r_obs - 1e-12))
    if exact:
        pval = hits / len(perms)
        counting = f"exact: share of all {math.factorial(n)} permutations (identity included) with r >= observed"
    else:
        pval = (1 + hits) / (1 + len(perms))
        counting = "(1 + #{r_perm >= r_obs}) / (1 + n_permutations): the observed labelling counted once"
    return RSAResult(r_obs, float(pval), null, method, counting)


def rdms_over_lags(epochs: xr.DataArray, dim: str = PHONE, metric: str = "correlation", labels=None, *,
                   time_dim: str = LAG, feature_dim: str = "unit") -> xr.DataArray:
    """RDMs at each lag (or time): the mean pattern per label, compared across labels.

    Works for model epochs (the mean hidden state per phone at ``onset + lag``) and for brain
    epochs alike (e.g. dims ``("token", "time", "sensor")`` with a per-token ``phone`` coord:
    pass ``time_dim="time", feature_dim="sensor"``), which gives the brain RDMs of
    :func:`time_resolved_rsa`.

    Parameters
    ----------
    epochs : DataArray, dims ("token", time_dim, feature_dim)
        E.g. from :func:`~neurorrn.probing.responses.phone_epochs`; a per-token coord ``dim``
        holds the labels.  NaN entries (outside a stimulus) are left out of the means.
    labels : sequence, optional
        Labels to use (default every label with tokens, sorted).

    Returns
    -------
    rdms : DataArray, dims (time_dim, dim, dim + "_other")
    """
    validate_type(epochs, xr.DataArray, "epochs")
    if set(epochs.dims) != {TOKEN, time_dim, feature_dim}:
        raise ValueError(f"epochs must have dims ('token', {time_dim!r}, {feature_dim!r}), got {epochs.dims}")
    if dim not in epochs.coords or epochs[dim].dims != (TOKEN,):
        raise ValueError(f"epochs need a per-token coord {dim!r} holding the labels")
    x_all = epochs.transpose(TOKEN, time_dim, feature_dim).values
    lab = epochs[dim].values
    labels = sorted(set(lab.tolist())) if labels is None else list(labels)
    means = []
    for v in labels:
        x = x_all[lab == v]
        ok = np.isfinite(x)
        cnt = ok.sum(0)
        means.append(np.where(cnt > 0, np.where(ok, x, 0).sum(0) / np.maximum(cnt, 1), np.nan))
    means = np.stack(means, axis=0)  # (label, time, feature); NaN where a label has no token at a time
    out = []
    for k in range(x_all.shape[1]):
        m = xr.DataArray(means[:, k], dims=(dim, feature_dim), coords={dim: labels})
        out.append(rdm(m, dim, metric).values)
    return xr.DataArray(np.stack(out), dims=(time_dim, dim, _other(dim)),
                        coords={time_dim: epochs[time_dim].values, dim: labels, _other(dim): labels},
                        name="rdm", attrs={"metric": metric})


def time_resolved_rsa(model_rdms: xr.DataArray, brain_rdms: xr.DataArray, method: str = "pearson",
                      model_dim: str = LAG, brain_dim: str = TIME) -> xr.DataArray:
    """Correlate model RDMs at every lag with brain RDMs at every time.

    Parameters
    ----------
    model_rdms : DataArray, dims (model_dim, label, label_other)
    brain_rdms : DataArray, dims (brain_dim, label, label_other)
        E.g. RDMs of MEG responses (or decoders) at each time after phone onset; labels are
        matched by id.

    Returns
    -------
    r : DataArray, dims (model_dim, brain_dim)
        RDM correlation for every pair; its diagonal (equal lags) is the usual time course.
    """
    check_option(method, COMPARISONS, "method")
    for name, x, d in (("model_rdms", model_rdms, model_dim), ("brain_rdms", brain_rdms, brain_dim)):
        validate_type(x, xr.DataArray, name)
        if x.ndim != 3 or x.dims[0] != d:
            raise ValueError(f"{name} must have dims ({d!r}, label, label_other), got {x.dims}")
    la = [str(v) for v in model_rdms[model_rdms.dims[1]].values]
    lb = [str(v) for v in brain_rdms[brain_rdms.dims[1]].values]
    missing = [v for v in la if v not in lb]
    if missing:
        raise KeyError(f"labels of the model RDMs missing from the brain RDMs: {missing[:10]}")
    idx = [lb.index(v) for v in la]
    il = np.tril_indices(len(la), -1)
    mv = model_rdms.values[:, il[0], il[1]]
    bv = brain_rdms.values[:, idx][:, :, idx][:, il[0], il[1]]
    r = np.stack([_corr_vec(mv, bv[j], method) for j in range(bv.shape[0])], axis=1)
    return xr.DataArray(r, dims=(model_dim, brain_dim),
                        coords={model_dim: model_rdms[model_dim].values, brain_dim: brain_rdms[brain_dim].values},
                        name="rsa", attrs={"method": method})


__all__ = ["COMPARISONS", "METRICS", "RSAResult", "compare_rdms", "feature_rdm", "load_rdm", "lower_triangle",
           "permutation_test", "rdm", "rdms_over_lags", "time_resolved_rsa"]
