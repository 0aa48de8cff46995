"""Phoneme and feature selectivity indices (PSI / FSI), in the two published variants.

``method="threshold"`` -- EARSHOT (Magnuson et al. 2020, ``Hidden_Analysis.py`` at commit
``9bbc247``).  From the mean response ``m[u, p]`` of unit ``u`` to phone ``p``:

* PSI⁺[c, u, p] = #{q : m[u, p] - m[u, q] > c}  (strict; ``p`` never counts itself for c >= 0)
* PSI⁻[c, u, p] = #{q : m[u, q] - m[u, p] > c}

over a sweep of criteria c (EARSHOT: 0.00, 0.01, ..., 0.50).  With 33 phones the range is 0..32;
FSI is the same over the 14 features (0..13).  At c = 0 with no ties, a unit's PSI⁺ over the phones
is a permutation of 0..n-1 and PSI⁺ + PSI⁻ = n - 1.  A "squeezed" map keeps the units with any
selectivity (column sum > 0).

``method="ranksum"`` -- Mesgarani et al. (2014, *Science* 343:1006).  For each unit and each ordered
pair (p, q) a one-sided Wilcoxon rank-sum test (Mann-Whitney U, ``alternative="greater"``) on the
single-token responses to p versus q; PSI(p) = number of q with p < alpha (0.001).  We test all
tokens once (Mesgarani et al. report no resampling; an unattributed MATLAB version averages over
balanced subsamples -- use :func:`ranksum_selectivity` on subsampled tokens to mimic it).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from .._dims import FEATURE, PHONE, UNIT
from ..utils._check import check_option, validate_type
from ..utils._logging import warn
from .features import ANALYSIS_PHONES, phone_feature_table
from .responses import TOKEN, feature_means, phone_means

#: EARSHOT's criterion sweep: 0.00, 0.01, ..., 0.50.
EARSHOT_CRITERIA = np.round(np.arange(0.0, 0.51, 0.01), 2)
CRITERION = "criterion"


def threshold_counts(means: np.ndarray, criteria, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Kernel of EARSHOT's thresholded count on plain arrays.

    Parameters
    ----------
    means : array of shape (..., n, ...)
        Mean responses; ``axis`` runs over the n phones (or features).
    criteria : array of shape (n_criteria,)

    Returns
    -------
    positive, negative : int arrays of shape (n_criteria, *means.shape)
        ``positive[k, ..., p] = sum_q (means[..., p] - means[..., q] > criteria[k])`` and
        ``negative`` with the difference reversed.  NaN means count for nothing.
    """
    m = np.moveaxis(np.asarray(means, dtype=np.float64), axis, -1)
    c = np.asarray(criteria, dtype=np.float64).reshape(-1, *([1] * (m.ndim + 1)))
    d = m[..., :, None] - m[..., None, :]  # d[..., p, q] = m[p] - m[q]
    pos = (d[None] > c).sum(-1)
    neg = (-d[None] > c).sum(-1)
    return np.moveaxis(pos, -1, axis if axis < 0 else axis + 1), np.moveaxis(neg, -1, axis if axis < 0 else axis + 1)


def selectivity_index(means: xr.DataArray, dim: str = PHONE, criteria=EARSHOT_CRITERIA) -> xr.Dataset:
    """EARSHOT's thresholded-count selectivity over ``dim`` for every criterion.

    Parameters
    ----------
    means : DataArray with dims including "unit" and ``dim``
        Mean responses, e.g. from :func:`~neurorrn.probing.responses.phone_means`
        (``dim="phone"``: PSI) or ``feature_means`` (``dim="feature"``: FSI).
    dim : str
        The dim compared within each unit.
    criteria : float | array
        Criterion sweep (default EARSHOT's 0..0.5 by 0.01).

    Returns
    -------
    index : Dataset
        ``positive`` and ``negative`` (int16), dims ``("criterion", *means.dims)``.
    """
    validate_type(means, xr.DataArray, "means")
    if dim not in means.dims or UNIT not in means.dims:
        raise ValueError(f"means must have dims 'unit' and {dim!r}, got {means.dims}")
    crit = np.atleast_1d(np.asarray(criteria, dtype=float))
    if crit.ndim != 1 or not np.isfinite(crit).all():
        raise ValueError(f"criteria must be a finite 1-D array, got {criteria!r}")
    if np.isnan(means.values).any():
        warn(f"means contain NaN (a {dim} without tokens?); those entries count for nothing")
    pos, neg = threshold_counts(means.values, crit, axis=means.get_axis_num(dim))
    dims = (CRITERION, *means.dims)
    coords = {CRITERION: crit, **{k: v for k, v in means.coords.items()}}
    attrs = {**means.attrs, "method": "threshold", "n_levels": int(means.sizes[dim])}
    return xr.Dataset({"positive": (dims, pos.astype(np.int16)), "negative": (dims, neg.astype(np.int16))},
                      coords=coords, attrs=attrs)


def psi(tokens: xr.DataArray, criteria=EARSHOT_CRITERIA, phones=ANALYSIS_PHONES, *, method: str = "threshold",
        by_talker: bool = False, alpha: float = 0.001, weighting: str = "token") -> xr.Dataset:
    """Phoneme selectivity index of every unit.

    Parameters
    ----------
    tokens : DataArray, dims ("token", "unit")
        Single-token responses from :func:`~neurorrn.probing.responses.phone_tokens`.
    criteria : array
        Criterion sweep (threshold method).
    phones : sequence of str
        Phones in the order of the result.
    method : {"threshold", "ranksum"}
        EARSHOT's thresholded count of mean differences, or Mesgarani et al.'s rank-sum tests.
    by_talker : bool
        Threshold method: add a ``talker`` dim (maps per talker besides the pooled one).
    alpha : float
        Ranksum method: significance level (0.001).

    Returns
    -------
    Dataset
        Threshold: ``positive``, ``negative`` with dims ("criterion", "unit", "phone"[, "talker"]).
        Ranksum: ``positive``, ``negative`` with dims ("unit", "phone") and ``pvalue`` (unit,
        phone, phone_other).
    """
    check_option(method, ("threshold", "ranksum"), "method")
    if method == "ranksum":
        masks = {p: tokens[PHONE].values == p for p in phones}
        return ranksum_selectivity(tokens, masks, PHONE, alpha=alpha)
    return selectivity_index(phone_means(tokens, phones, by_talker=by_talker, weighting=weighting), PHONE,
                             criteria)


def fsi(tokens: xr.DataArray, criteria=EARSHOT_CRITERIA, table: xr.DataArray | None = None, *,
        method: str = "threshold", by_talker: bool = False, alpha: float = 0.001,
        weighting: str = "token") -> xr.Dataset:
    """Feature selectivity index: :func:`psi` over the features of each token's phone.

    A token counts for every feature of its phone (EARSHOT); ``table`` is the phone x feature
    table (default :func:`~neurorrn.probing.features.phone_feature_table`).
    """
    check_option(method, ("threshold", "ranksum"), "method")
    table = phone_feature_table() if table is None else table
    if method == "ranksum":
        phone_of = tokens[PHONE].values
        masks = {str(f): np.isin(phone_of, table[PHONE].values[table.sel({FEATURE: f}).values.astype(bool)])
                 for f in table[FEATURE].values}
        return ranksum_selectivity(tokens, masks, FEATURE, alpha=alpha)
    return selectivity_index(feature_means(tokens, table, by_talker=by_talker, weighting=weighting), FEATURE,
                             criteria)


def ranksum_selectivity(tokens: xr.DataArray, groups: dict, dim: str = PHONE, alpha: float = 0.001,
                        method: str = "asymptotic") -> xr.Dataset:
    """Mesgarani et al.'s PSI: one-sided rank-sum tests per unit and ordered pair of groups.

    Parameters
    ----------
    tokens : DataArray, dims ("token", "unit")
    groups : dict of name -> bool mask over tokens
        The phones (or features) to compare; a group needs at least 2 tokens.
    alpha : float
        Significance level per test (Mesgarani et al.: 0.001, uncorrected).
    method : {"asymptotic", "exact", "auto"}
        Passed to :func:`scipy.stats.mannwhitneyu` (the normal approximation with tie
        correction, as MATLAB's ``ranksum`` uses for large samples).

    Returns
    -------
    Dataset
        ``positive`` (unit, dim): number of groups q with responses(p) > responses(q) at
        ``alpha``; ``negative`` the reverse; ``pvalue`` (unit, dim, dim_other) one-sided p of
        "p greater than q" (NaN on the diagonal).
    """
    validate_type(tokens, xr.DataArray, "tokens")
    if tokens.dims != (TOKEN, UNIT):
        raise ValueError(f"tokens must have dims ('token', 'unit'), got {tokens.dims}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    names = list(groups)
    sizes = {n: int(np.sum(m)) for n, m in groups.items()}
    small = [n for n, s in sizes.items() if s < 2]
    if small:
        raise ValueError(f"rank-sum tests need at least 2 tokens per {dim}; too few for {small}")
    x = tokens.values
    n, u = len(names), x.shape[1]
    pval = np.full((u, n, n), np.nan)
    for i, a in enumerate(names):
        xa = x[groups[a]]
        for j, b in enumerate(names):
            if i == j:
                continue
            res = stats.mannwhitneyu(xa, x[groups[b]], alternative="greater", axis=0, method=method)
            pval[:, i, j] = res.pvalue
    sig = pval < alpha
    other = f"{dim}_other"
    coords = {UNIT: tokens[UNIT].values, dim: names, other: names}
    for c in ("layer", "component"):
        if c in tokens.coords:
            coords[c] = (UNIT, tokens[c].values)
    return xr.Dataset(
        {"positive": ((UNIT, dim), sig.sum(2).astype(np.int16)),
         "negative": ((UNIT, dim), sig.sum(1).astype(np.int16)),
         "pvalue": ((UNIT, dim, other), pval)},
        coords=coords, attrs={**tokens.attrs, "method": "ranksum", "alpha": float(alpha), "n_levels": n},
    )


def squeeze(index_map: xr.DataArray, dim: str = UNIT) -> xr.DataArray:
    """EARSHOT's "squeezed" map: keep the units with any selectivity (sum over the rest > 0).

    ``index_map`` is one PSI/FSI map, e.g. ``psi(...)["positive"].sel(criterion=0.1)``; with
    extra dims (criterion, talker) a unit is kept if it is selective anywhere.
    """
    validate_type(index_map, xr.DataArray, "index_map")
    if dim not in index_map.dims:
        raise ValueError(f"index_map has no dim {dim!r}; dims are {index_map.dims}")
    other = [d for d in index_map.dims if d != dim]
    keep = (index_map.sum(other) > 0).values
    return index_map.isel({dim: np.flatnonzero(keep)})


__all__ = ["CRITERION", "EARSHOT_CRITERIA", "fsi", "psi", "ranksum_selectivity", "selectivity_index",
           "squeeze", "threshold_counts"]
