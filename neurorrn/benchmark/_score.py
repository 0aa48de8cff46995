"""Brain-Score scoring: cross-validated held-out correlation per sensor over the noise ceiling.

Two layers: :func:`ceiling_normalize` works on plain arrays; :func:`score_predictors` on labelled
recordings (``time`` x ``sensor``) and model predictors (``time`` x ``feature``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..utils._check import check_positive, validate_type

__all__ = ["ceiling_normalize", "score_predictors"]


def ceiling_normalize(r, ceiling, min_ceiling: float = 0.1):
    """Brain-Score's normalisation and aggregation.

    Parameters
    ----------
    r : array of shape (n_sensors,)
        Cross-validated held-out correlation of the model's prediction per sensor.
    ceiling : array of shape (n_sensors,) or None
        Noise ceiling per sensor (the best correlation a perfect model could reach).  ``None``
        scores raw ``r`` (no ceiling available).
    min_ceiling : float
        Sensors whose ceiling is below this are left out (their ratio is noise).

    Returns
    -------
    normalized : array of shape (n_sensors,)
        ``clip(r / ceiling, 0, 1)`` (NaN for left-out sensors).
    score : float
        Median of ``normalized`` over the kept sensors.
    """
    r = np.asarray(r, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"r must have shape (n_sensors,), got {r.shape}")
    if ceiling is None:
        norm = np.clip(r, 0.0, 1.0)
        return norm, float(np.nanmedian(norm))
    c = np.asarray(ceiling, dtype=np.float64)
    if c.shape != r.shape:
        raise ValueError(f"ceiling has shape {c.shape}, expected {r.shape} (one value per sensor)")
    keep = c >= min_ceiling
    if not keep.any():
        raise ValueError(f"no sensor has a noise ceiling >= min_ceiling={min_ceiling} "
                         f"(largest ceiling {np.nanmax(c):.3f}); lower min_ceiling")
    norm = np.full(r.shape, np.nan)
    norm[keep] = np.clip(r[keep] / c[keep], 0.0, 1.0)
    return norm, float(np.median(norm[keep]))


def score_predictors(predictors: xr.DataArray, data: xr.DataArray, ceiling=None, *, tmin: float = 0.0,
                     tmax: float = 0.6, cv: int = 5, alpha=None, min_ceiling: float = 0.1,
                     verbose=None) -> xr.Dataset:
    """Fit a TRF from model predictors to every sensor and score it Brain-Score's way.

    Parameters
    ----------
    predictors : DataArray (time, feature)
        Model predictors on the recording's clock (:func:`neurorrn.encoding.predictors_from_store`).
    data : DataArray (time, sensor)
        The recording.
    ceiling : DataArray (sensor,) or None
    tmin, tmax : float
        Lags of the TRF (s).
    cv : int
        Contiguous cross-validation folds (held-out correlation per fold, averaged).

    Returns
    -------
    Dataset
        ``r`` (sensor): mean held-out correlation; ``ceiling`` (sensor); ``normalized`` (sensor);
        attrs ``score`` (median normalised), ``raw_median_r``, ``n_sensors_scored``.
    """
    from ..encoding import TRF, cross_validate

    validate_type(predictors, xr.DataArray, "predictors")
    validate_type(data, xr.DataArray, "data")
    for name, arr, dims in (("predictors", predictors, ("time", "feature")), ("data", data, ("time", "sensor"))):
        if set(arr.dims) != set(dims):
            raise ValueError(f"{name} must have dims {dims}, got {arr.dims}")
    check_positive(tmax - tmin, "tmax - tmin")
    x = predictors.transpose("time", "feature").values
    y = data.transpose("time", "sensor").values
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"predictors have {x.shape[0]} samples, data {y.shape[0]}: put both on one clock")
    sfreq = float(data.attrs.get("sfreq", 1.0 / float(np.median(np.diff(data["time"].values)))))
    sensors = data["sensor"].values
    c = None
    if ceiling is not None:
        validate_type(ceiling, xr.DataArray, "ceiling")
        missing = sorted(set(sensors.tolist()) - set(ceiling["sensor"].values.tolist()))
        if missing:
            raise ValueError(f"ceiling lacks sensor(s) {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        c = ceiling.sel(sensor=sensors).values
    est = TRF(tmin=tmin, tmax=tmax, sfreq=sfreq, alpha=alpha, alpha_rule="best", standardize=True)
    res = cross_validate(est, x, y, cv=cv, return_predictions=False, verbose=verbose)
    r = np.asarray(res["r_mean"].values, dtype=np.float64)
    norm, score = ceiling_normalize(r, c, min_ceiling)
    out = xr.Dataset({"r": ("sensor", r), "normalized": ("sensor", norm)}, coords={"sensor": sensors})
    if c is not None:
        out["ceiling"] = ("sensor", c)
    out.attrs.update(score=score, raw_median_r=float(np.median(r)),
                     n_sensors_scored=int(np.sum(np.isfinite(norm))), tmin=tmin, tmax=tmax, cv=cv)
    return out
