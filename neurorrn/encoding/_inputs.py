"""Coercion and validation of predictors / responses given as arrays, segment lists or xarray."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._dims import TIME, TIME_RTOL, check_uniform_time
from ..utils._check import check_finite


@dataclass
class Segments:
    data: list  # list of (T_i, n) float arrays
    names: object = None  # labels of the second axis (features / targets), or None
    dim: str | None = None  # name of the second dim when given as xarray
    was_1d: bool = False
    was_list: bool = False
    starts: list = field(default_factory=list)  # time of the first sample of each segment (s)
    xarray: bool = False


def _one(a, name: str, i, sfreq, dtype):
    import xarray as xr

    where = name if i is None else f"{name}[{i}]"
    start = 0.0
    names = dim = None
    is_xr = isinstance(a, xr.DataArray)
    if is_xr:
        if TIME not in a.dims:
            raise ValueError(f"{where} must have a {TIME!r} dim, got dims {a.dims}")
        if a.ndim > 2:
            raise ValueError(f"{where} must have dims ({TIME!r}, <feature>), got {a.dims}")
        if TIME in a.coords and a.sizes[TIME] > 1:
            t0, step, _ = check_uniform_time(a[TIME].values, f"{where}.time")
            if sfreq is not None and not np.isclose(step, 1.0 / sfreq, rtol=TIME_RTOL * 100):
                raise ValueError(
                    f"{where} is sampled at {1.0 / step:g} Hz (time step {step:g} s) but sfreq={sfreq:g}: "
                    "predictors and responses must be at the estimator's sampling rate (resample first)"
                )
            start = t0
        if a.ndim == 2:
            dim = [d for d in a.dims if d != TIME][0]
            a = a.transpose(TIME, dim)
            names = a[dim].values if dim in a.coords else None
        arr = np.asarray(a.values)
    else:
        arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{where} must hold real numbers, got dtype {arr.dtype}")
    was_1d = arr.ndim == 1
    if was_1d:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(
            f"{where} must be 2-D (n_times, n_features) or a list of such segments, got shape {arr.shape}"
        )
    arr = np.ascontiguousarray(arr, dtype=dtype)
    check_finite(arr, where)
    return arr, names, dim, was_1d, start, is_xr


def as_segments(X, name: str, sfreq=None, dtype=np.float64) -> Segments:
    """Return the segments of ``X``: an array (T, F), a DataArray (time, feature) or a list of them."""
    from ._mne import describe, is_mne

    if is_mne(X):
        raise TypeError(
            f"{name} is {describe(X)}: here MNE objects must first become segments, "
            f"e.g. X, Y, info = neurorrn.encoding.from_mne(X, Y, sfreq) (estimators' fit/predict "
            "take them directly)")
    if isinstance(X, (list, tuple)) and len(X) and not all(isinstance(a, np.ndarray) or _xr(a) for a in X):
        X = np.asarray(X)
    if isinstance(X, (list, tuple)):
        if not len(X):
            raise ValueError(f"{name} is an empty list of segments")
        parts = [_one(a, name, i, sfreq, dtype) for i, a in enumerate(X)]
        widths = {p[0].shape[1] for p in parts}
        if len(widths) > 1:
            raise ValueError(f"the segments of {name} have different numbers of columns: {sorted(widths)}")
        return Segments([p[0] for p in parts], parts[0][1], parts[0][2], parts[0][3], True,
                        [p[4] for p in parts], parts[0][5])
    arr, names, dim, was_1d, start, is_xr = _one(X, name, None, sfreq, dtype)
    return Segments([arr], names, dim, was_1d, False, [start], is_xr)


def _xr(a) -> bool:
    import xarray as xr

    return isinstance(a, xr.DataArray)


def match_segments(xs: Segments, ys: Segments, xname="X", yname="Y") -> None:
    """Same number of segments and samples; same time origin when both are xarray."""
    if len(xs.data) != len(ys.data):
        raise ValueError(f"{xname} has {len(xs.data)} segment(s) but {yname} has {len(ys.data)}")
    for i, (x, y) in enumerate(zip(xs.data, ys.data)):
        if x.shape[0] != y.shape[0]:
            where = f" (segment {i})" if len(xs.data) > 1 else ""
            raise ValueError(
                f"{xname} has {x.shape[0]} samples but {yname} has {y.shape[0]}{where}: predictors and "
                "responses must cover the same samples at the same rate"
            )
    if xs.xarray and ys.xarray:
        for i, (a, b) in enumerate(zip(xs.starts, ys.starts)):
            if not np.isclose(a, b, atol=1e-9):
                raise ValueError(f"segment {i}: {xname} starts at t={a:g} s but {yname} at t={b:g} s")


def check_lags(seg_lengths, d0: int, d1: int, sfreq: float, name="X") -> None:
    """Lags must fit inside every segment."""
    reach = max(abs(d0), abs(d1))
    for i, T in enumerate(seg_lengths):
        if reach >= T:
            raise ValueError(
                f"{name} segment {i} has {T} samples ({T / sfreq:g} s) but the lags reach {reach} samples "
                f"({reach / sfreq:g} s): each segment must be longer than the lag window"
            )
