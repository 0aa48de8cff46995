"""Group level: fit one TRF per subject in one call, results with a ``subject`` dim."""

from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.base import clone

from .._dims import FEATURE, LAG, SENSOR, SUBJECT
from ..utils._logging import logger, progress, use_log_level
from ._inputs import as_segments
from ._mne import describe, is_mne


def _subject_items(Y, subjects, name="Y"):
    if isinstance(Y, dict):
        keys = [str(k) for k in Y]
        vals = list(Y.values())
    elif isinstance(Y, (list, tuple)):
        vals = list(Y)
        keys = [f"sub-{i + 1:02d}" for i in range(len(vals))]
    else:
        raise TypeError(f"{name} must be a list (one entry per subject) or a dict {{subject: data}}, got "
                        f"{describe(Y)}")
    if subjects is not None:
        subjects = [str(s) for s in subjects]
        if len(subjects) != len(vals):
            raise ValueError(f"subjects has {len(subjects)} names but {name} has {len(vals)} subjects")
        keys = subjects
    if len(set(keys)) != len(keys):
        raise ValueError(f"subject names must be unique, got {keys}")
    if not vals:
        raise ValueError(f"{name} holds no subject")
    return keys, vals


def fit_group(estimator, X, Y, subjects=None, picks=None, share_gram: bool = True,
              return_estimators: bool = False, verbose=None):
    """Fit ``estimator`` (TRF, BandedTRF, BoostingTRF, BackwardTRF) to every subject.

    Parameters
    ----------
    estimator : unfitted estimator (cloned per fit)
    X : array | DataArray | list of segments | dict {subject: X}
        Predictors shared by all subjects (the same stimulus), or one set per subject.
    Y : list or dict {subject: responses}
        Responses per subject: arrays, DataArrays (time, sensor), segment lists or MNE objects.
        For a ``BackwardTRF`` the recordings are ``X = {subject: recording}`` and the stimulus is
        repeated in ``Y = {subject: stimulus}`` (its result's "sensor" dim then holds the
        reconstructed features).
    subjects : list of str, optional
        Names for a list ``Y`` (default ``sub-01, sub-02, ...``; a dict's keys otherwise).
    picks : MNE ``picks`` for MNE inputs.
    share_gram : bool
        With shared predictors and array/xarray responses of identical segments, fit all subjects
        in one call with their sensors stacked as targets: the lagged Gram matrix, the per-fold
        decompositions and the alpha path are computed once (every target still gets its own
        alpha, so the result equals separate fits to rounding).  Otherwise one fit per subject.
    return_estimators : bool
        Also return the fitted estimator(s).

    Returns
    -------
    Dataset
        ``coef (subject, sensor, feature, lag)``, ``intercept`` and ``alpha`` ``(subject, sensor)``,
        ``best_score (subject, sensor)`` when the estimator searched alphas.  Sensors are joined by
        name across subjects (NaN where a subject lacks one).  attrs: ``tmin``, ``tmax``,
        ``sfreq``, ``estimator``, ``shared_gram`` (1 when the stacked fit was used).
    (Dataset, list of estimators) when ``return_estimators``; with ``shared_gram`` the list holds
        the one stacked estimator.
    """
    with use_log_level(verbose):
        keys, ys = _subject_items(Y, subjects)
        per_x = isinstance(X, dict)
        if per_x:
            xkeys = [str(k) for k in X]
            missing = [k for k in keys if k not in xkeys]
            if missing:
                raise ValueError(f"X is a dict of predictors per subject but lacks subject(s) {missing}")
            xs = [X[k] if k in X else X[[kk for kk in X if str(kk) == k][0]] for k in keys]
        else:
            xs = [X] * len(keys)
        stackable = (share_gram and not per_x and not any(is_mne(y) for y in ys) and not is_mne(X)
                     and type(estimator).__name__ != "BackwardTRF")
        if stackable:
            segs = [as_segments(y, f"Y[{k!r}]", estimator.sfreq) for k, y in zip(keys, ys)]
            shapes = {tuple(s.shape[0] for s in sg.data) for sg in segs}
            stackable = len(shapes) == 1
            if not stackable:
                logger.info("fit_group: the subjects' responses differ in segments %s; fitting one by one",
                            sorted(shapes))
        if stackable:
            ds, ests = _fit_stacked(estimator, X, keys, segs, picks)
        else:
            ds, ests = _fit_each(estimator, xs, ys, keys, picks)
        ds.attrs.update({"tmin": float(estimator.tmin), "tmax": float(estimator.tmax),
                         "sfreq": float(estimator.sfreq), "estimator": type(estimator).__name__,
                         "shared_gram": int(stackable)})
    return (ds, ests) if return_estimators else ds


def cross_validate_group(estimator, X, Y, subjects=None, cv=5, picks=None, share_gram: bool = True,
                         verbose=None) -> xr.Dataset:
    """Held-out scores per subject and sensor by nested cross-validation (score / gain maps).

    :func:`neurorrn.encoding.cross_validate` for every subject; with shared predictors and
    responses of identical segments the subjects' sensors are stacked as the targets of one run
    (equal to separate runs to rounding).  For a gain map, subtract the scores of a baseline model
    (``cross_validate_group(full, ...) - cross_validate_group(baseline, ...)``) and pass the
    difference to :func:`cluster_test`.

    Parameters
    ----------
    estimator, X, Y, subjects, picks, share_gram : as :func:`fit_group`
    cv : int | splitter
        Outer folds (see :func:`neurorrn.encoding.cross_validate`).

    Returns
    -------
    Dataset
        Every per-target score of ``cross_validate`` with a ``subject`` dim: ``<score>``
        ``(subject, fold, sensor)`` and ``<score>_mean`` ``(subject, sensor)``.
    """
    from ._crossval import cross_validate
    from ._mne import from_mne

    with use_log_level(verbose):
        keys, ys = _subject_items(Y, subjects)
        per_x = isinstance(X, dict)
        xs = [X[k] for k in keys] if per_x else [X] * len(keys)
        if per_x and any(k not in X for k in keys):
            raise ValueError(f"X is a dict of predictors per subject but lacks subject(s) "
                             f"{[k for k in keys if k not in X]}")
        conv = []
        for k, x, y in zip(keys, xs, ys):
            if is_mne(x) or is_mne(y):
                xx, yy, _info = from_mne(x, y, estimator.sfreq, picks=picks)
                conv.append((xx, yy))
            else:
                conv.append((x, y))
        segs = [as_segments(y, f"Y[{k!r}]", estimator.sfreq) for k, (_, y) in zip(keys, conv)]
        stack = (share_gram and not per_x and not is_mne(X) and not any(is_mne(y) for y in ys)
                 and len({tuple(s.shape[0] for s in sg.data) for sg in segs}) == 1
                 and type(estimator).__name__ != "BackwardTRF")
        parts = []
        if stack:
            n_seg = len(segs[0].data)
            widths = [sg.data[0].shape[1] for sg in segs]
            Ys = [np.concatenate([sg.data[i] for sg in segs], axis=1) for i in range(n_seg)]
            ds = cross_validate(estimator, X, Ys if (n_seg > 1 or isinstance(X, (list, tuple))) else Ys[0],
                                cv=cv, return_predictions=False)
            bounds = np.concatenate([[0], np.cumsum(widths)])
            for s, (k, sg) in enumerate(zip(keys, segs)):
                parts.append(_scores_ds(ds, k, _names(sg, widths[s]), slice(bounds[s], bounds[s + 1])))
        else:
            for k, (x, y), sg in progress(list(zip(keys, conv, segs)), desc="cross_validate subjects",
                                          total=len(keys)):
                ds = cross_validate(estimator, x, y, cv=cv, return_predictions=False)
                parts.append(_scores_ds(ds, k, _names(sg, sg.data[0].shape[1]), slice(None)))
        out = _concat(parts)
        out.attrs.update({"estimator": type(estimator).__name__, "shared_gram": int(stack)})
        return out


def _scores_ds(ds, subject, sensors, sl):
    tdim = [d for d in ds["r_mean"].dims][0]
    data = {}
    for name, v in ds.data_vars.items():
        if tdim in v.dims and not {FEATURE, LAG} & set(v.dims) and name not in ("intercept", "best_alpha"):
            v = v.isel({tdim: sl}).rename({tdim: SENSOR})
            data[name] = (v.dims, v.values)
    coords = {SENSOR: list(sensors)}
    if "fold" in ds.coords:
        coords["fold"] = ds["fold"].values
    return xr.Dataset(data, coords=coords).expand_dims({SUBJECT: [subject]})


def _names(seg, n, prefix=""):
    return [str(v) for v in seg.names] if seg.names is not None else [f"{prefix}{i}" for i in range(n)]


def _fit_stacked(estimator, X, keys, segs, picks):
    n_seg = len(segs[0].data)
    widths = [sg.data[0].shape[1] for sg in segs]
    stacked = [np.concatenate([sg.data[i] for sg in segs], axis=1) for i in range(n_seg)]
    logger.info("fit_group: %d subjects x %s sensors in one fit (shared predictor Gram)", len(keys), widths)
    est = clone(estimator)
    Ystack = stacked if (n_seg > 1 or isinstance(X, (list, tuple))) else stacked[0]
    est.fit(X, Ystack) if picks is None else est.fit(X, Ystack, picks=picks)
    bounds = np.concatenate([[0], np.cumsum(widths)])
    parts = []
    for s, (k, sg) in enumerate(zip(keys, segs)):
        sl = slice(bounds[s], bounds[s + 1])
        parts.append(_subject_ds(est, k, _names(sg, widths[s]), sl))
    return _concat(parts), [est]


def _fit_each(estimator, xs, ys, keys, picks):
    parts, ests = [], []
    for k, x, y in progress(list(zip(keys, xs, ys)), desc="fit_group subjects", total=len(keys)):
        est = clone(estimator)
        est.fit(x, y) if picks is None else est.fit(x, y, picks=picks)
        C = est.coef_.shape[0]
        names = [str(v) for v in est.target_names_] if est.target_names_ is not None else [str(i) for i in range(C)]
        parts.append(_subject_ds(est, k, names, slice(0, C)))
        ests.append(est)
    return _concat(parts), ests


def _subject_ds(est, subject, sensors, sl):
    coef = est.coef_[sl]
    F = coef.shape[1]
    feats = [str(v) for v in est.feature_names_] if est.feature_names_ is not None else list(range(F))
    data = {"coef": ((SENSOR, FEATURE, LAG), coef),
            "intercept": ((SENSOR,), np.asarray(est.intercept_)[sl]),
            "alpha": ((SENSOR,), np.asarray(est.alpha_, dtype=np.float64)[sl])}
    if getattr(est, "best_score_", None) is not None:
        data["best_score"] = ((SENSOR,), np.asarray(est.best_score_)[sl])
    ds = xr.Dataset(data, coords={SENSOR: list(sensors), FEATURE: feats, LAG: np.asarray(est.lags_)})
    return ds.expand_dims({SUBJECT: [subject]})


def _concat(parts):
    return xr.concat(parts, dim=SUBJECT, join="outer", data_vars="all", coords="minimal", compat="override")


__all__ = ["fit_group", "cross_validate_group"]
