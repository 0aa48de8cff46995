"""Nested cross-validation of TRFs and results as labelled xarray objects."""

from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.base import clone

from .._dims import ALPHA, FEATURE, FOLD, LAG, TARGET, TIME
from ..utils._check import check_option
from ..utils._logging import logger, use_log_level
from ._folds import make_folds
from ._inputs import as_segments, match_segments
from ._trf import SCORINGS, TRF, _sample_scores

SCORE_NAMES = SCORINGS


def trf_to_xarray(trf: TRF) -> xr.Dataset:
    """A fitted :class:`TRF` as a Dataset: ``coef`` (target, feature, lag) in physical units,
    ``intercept`` and ``best_alpha`` (target), and the alpha search ``cv_<score>`` (fold, alpha, target)."""
    C, F, L = trf.coef_.shape
    tdim = getattr(trf, "target_dim_", None) or TARGET
    feats = trf.feature_names_ if trf.feature_names_ is not None else np.arange(F)
    targets = trf.target_names_ if trf.target_names_ is not None else np.arange(C)
    coords = {tdim: targets, FEATURE: feats, LAG: trf.lags_}
    ds = xr.Dataset(
        {
            "coef": ((tdim, FEATURE, LAG), trf.coef_),
            "intercept": ((tdim,), trf.intercept_),
            "best_alpha": ((tdim,), np.asarray(trf.alpha_, dtype=np.float64)),
        },
        coords=coords,
        attrs={"tmin": float(trf.tmin), "tmax": float(trf.tmax), "sfreq": float(trf.sfreq),
               "estimator": type(trf).__name__, "scoring": trf.scoring,
               "lag_convention": "y(t) = sum_lag x(t - lag) * coef[lag]; lag in seconds"},
    )
    if getattr(trf, "cv_results_", None) is not None and np.ndim(trf.cv_results_["r"]) == 3:
        n_folds = trf.cv_results_["r"].shape[0]
        ds = ds.assign_coords({ALPHA: trf.alphas_, FOLD: np.arange(n_folds)})
        for k, v in trf.cv_results_.items():
            ds[f"cv_{k}"] = ((FOLD, ALPHA, tdim), v)
    if hasattr(trf, "band_alphas_"):
        ds = ds.assign_coords(band=list(trf.band_names_))
        ds["band_alpha"] = ((tdim, "band"), trf.band_alphas_)
        ds["band_weight"] = ((tdim, "band"), trf.band_weights_)
    return ds


def cross_validate(estimator: TRF, X, Y, groups=None, cv=5, return_predictions: bool = True,
                   alpha_scoring: str | None = "r2", verbose=None) -> xr.Dataset:
    """Held-out scores of a TRF by (nested) cross-validation over contiguous folds.

    For each outer fold, a clone of ``estimator`` is fitted on the other folds (choosing its alphas
    by its own inner ``cv`` there) and scored on the held-out fold; the outer folds cut segments
    where needed, and training pieces become separate segments, so no lag reaches across a cut.
    Finally the estimator is fitted on all data for the coefficients.

    Parameters
    ----------
    estimator : TRF or BandedTRF
    X, Y : arrays (n_times, n_features) / (n_times, n_targets), DataArrays (time, ...) or lists
    groups : array, optional
        One label per sample or per segment; outer folds keep groups together.
    cv : int | splitter | iterable
        Outer folds (see :func:`make_folds`).
    alpha_scoring : {'r2', 'explained_variance', 'r'} | None
        The metric by which every fit here (inner folds and the full-data fit) chooses its alphas:
        default R², so that the held-out R² and explained variance reported here are not biased
        low by kernels shrunk under a scale-blind metric (Pearson r is nearly flat in alpha).
        ``None`` keeps the estimator's own ``scoring``.  The estimator's ``alpha_rule`` is kept.
        Ignored for estimators that choose no penalty (e.g. :class:`BoostingTRF`).

    Returns
    -------
    Dataset
        ``r``, ``r2``, ``explained_variance`` with dims (fold, target) and their means over folds
        (``r_mean`` ...), ``alpha_fold`` (fold, target), the full-data fit (``coef`` (target,
        feature, lag), ``best_alpha``, ``intercept``) and, if asked, ``prediction`` (time, target): the
        cross-validated prediction of every sample, with coord ``segment``.
    """
    if alpha_scoring is not None:
        check_option(alpha_scoring, SCORINGS, "alpha_scoring")
        if "scoring" in estimator.get_params():  # estimators without a penalty grid (BoostingTRF) have none
            estimator = clone(estimator).set_params(scoring=alpha_scoring)
    with use_log_level(verbose):
        xs = as_segments(X, "X", estimator.sfreq)
        ys = as_segments(Y, "Y", estimator.sfreq)
        match_segments(xs, ys)
        lengths = [x.shape[0] for x in xs.data]
        n_lags = int(round(estimator.tmax * estimator.sfreq)) - int(round(estimator.tmin * estimator.sfreq)) + 1
        plan = make_folds(lengths, cv, groups, n_lags=n_lags)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        C = ys.data[0].shape[1]
        n = int(offsets[-1])
        pred = np.full((n, C), np.nan)
        rows = {k: [] for k in SCORE_NAMES}
        alphas = []
        for k, (tr, te) in enumerate(plan.folds):
            trs = set(tr.tolist())
            tes = set(te.tolist())
            xtr = [xs.data[s][lo:hi] for s, lo, hi, b in plan.pieces if b in trs]
            ytr = [ys.data[s][lo:hi] for s, lo, hi, b in plan.pieces if b in trs]
            te_p = [(s, lo, hi) for s, lo, hi, b in plan.pieces if b in tes]
            est = clone(estimator)
            est.fit(xtr, ytr)
            pr = est.predict([xs.data[s][lo:hi] for s, lo, hi in te_p])
            pr = [p[:, None] if p.ndim == 1 else p for p in pr]
            yt = np.concatenate([ys.data[s][lo:hi] for s, lo, hi in te_p])
            sc = _sample_scores(yt, np.concatenate(pr))
            for key in SCORE_NAMES:
                rows[key].append(sc[key])
            alphas.append(np.asarray(est.alpha_, dtype=np.float64))
            for (s, lo, hi), p in zip(te_p, pr):
                pred[offsets[s] + lo: offsets[s] + hi] = p
            logger.info("cross_validate: fold %d/%d, mean r = %.4f", k + 1, len(plan.folds), sc["r"].mean())
        full = clone(estimator).fit(X, Y, groups=groups)
        tdim = full.target_dim_ or TARGET
        ds = trf_to_xarray(full)
        ds = ds.drop_vars([v for v in ds.data_vars if v.startswith("cv_")])
        ds = ds.drop_dims([d for d in (ALPHA,) if d in ds.dims])
        ds = ds.assign_coords({FOLD: np.arange(len(plan.folds))})
        for key in SCORE_NAMES:
            arr = np.stack(rows[key])
            ds[key] = ((FOLD, tdim), arr)
            ds[f"{key}_mean"] = ((tdim,), np.nanmean(arr, axis=0))
        ds["alpha_fold"] = ((FOLD, tdim), np.stack(alphas))
        if return_predictions:
            times = np.concatenate([st + np.arange(T) / float(estimator.sfreq)
                                    for st, T in zip(xs.starts, lengths)])
            seg = np.repeat(np.arange(len(lengths)), lengths)
            ds["prediction"] = ((TIME, tdim), pred)
            ds = ds.assign_coords({TIME: times, "segment": (TIME, seg)})
        return ds
