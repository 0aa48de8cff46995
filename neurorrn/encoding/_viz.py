"""Figures of encoding results: TRF time courses, MNE topomaps, score maps."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._dims import FEATURE, LAG


def _as_dataset(result) -> xr.Dataset:
    from ._crossval import trf_to_xarray

    if isinstance(result, xr.Dataset):
        if "coef" not in result:
            raise ValueError(f"result has no 'coef' variable; it has {list(result.data_vars)}")
        return result
    if hasattr(result, "coef_"):
        return trf_to_xarray(result)
    raise TypeError(f"result must be a fitted TRF or a Dataset from trf_to_xarray/cross_validate, got {type(result).__name__}")


def _target_dim(coef: xr.DataArray) -> str:
    return [d for d in coef.dims if d not in (FEATURE, LAG)][0]


def plot_trf(result, features=None, targets=None, axes=None, unit: str = "a.u."):
    """Butterfly plot of TRF time courses: one panel per feature, one line per target.

    Parameters
    ----------
    result : fitted TRF | Dataset with ``coef`` (target, feature, lag)
    features, targets : list, optional
        Subsets (coordinate values); default all.
    axes : array of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    coef = _as_dataset(result)["coef"]
    tdim = _target_dim(coef)
    if features is not None:
        coef = coef.sel({FEATURE: list(features)})
    if targets is not None:
        coef = coef.sel({tdim: list(targets)})
    nf = coef.sizes[FEATURE]
    if axes is None:
        fig, axes = plt.subplots(nf, 1, figsize=(6, 1.8 * nf + 0.6), sharex=True, squeeze=False)
        axes = axes[:, 0]
    else:
        axes = np.atleast_1d(axes)
        fig = axes[0].figure
    lags_ms = coef[LAG].values * 1000
    for ax, f in zip(axes, coef[FEATURE].values):
        data = coef.sel({FEATURE: f}).transpose(tdim, LAG).values
        ax.plot(lags_ms, data.T, lw=0.8, alpha=0.7)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel(f"{f}\n({unit})", fontsize=8)
    axes[-1].set_xlabel("lag (ms)")
    fig.suptitle("TRF")
    return fig


def lag_rate(lags) -> float:
    """Sampling rate (Hz) of uniformly spaced lags in seconds; an error names uneven spacing."""
    lags = np.asarray(lags, dtype=np.float64)
    if lags.ndim != 1 or lags.size < 2:
        raise ValueError(f"a TRF needs at least 2 lags to have a rate, got {lags.size}")
    step = np.diff(lags)
    if not np.allclose(step, step[0], rtol=1e-6, atol=1e-9) or step[0] <= 0:
        raise ValueError(f"TRF lags must be increasing and evenly spaced; steps range {step.min():g}-{step.max():g} s")
    return float(1.0 / step[0])


def trf_evoked(data: xr.DataArray, info, *, comment: str = ""):
    """One feature's TRF (dims (target, lag), lags in s) as an :class:`mne.EvokedArray`.

    The time axis comes from the TRF's own lags (``tmin`` = first lag, ``sfreq`` = the lags' rate),
    never from ``info``, which usually describes the recording at another rate. Targets are matched
    to ``info``'s channels **by name** (in any order; extra channels of ``info`` are dropped); a
    target that is not a channel of ``info`` is an error naming it.
    """
    import mne

    if data.ndim != 2 or LAG not in data.dims:
        raise ValueError(f"a TRF to plot needs dims (target, lag), got {data.dims}")
    tdim = [d for d in data.dims if d != LAG][0]
    data = data.transpose(tdim, LAG)
    names = [str(c) for c in data[tdim].values]
    missing = [n for n in names if n not in info["ch_names"]]
    if missing:
        raise ValueError(f"TRF targets {missing[:5]} ({len(missing)} of {len(names)}) are not channels of info "
                         f"(info has {info['ch_names'][:5]}...); name the targets as the recording's channels")
    sub = mne.pick_info(info, [info["ch_names"].index(n) for n in names])
    lags = np.asarray(data[LAG].values, dtype=np.float64)
    rate = lag_rate(lags)
    with sub._unlock():  # the TRF's rate, not the recording's
        sub["sfreq"] = rate
    ev = mne.EvokedArray(np.asarray(data.values, np.float64), sub, tmin=float(lags[0]), nave=1,
                         comment=comment, verbose="error")
    return ev


def plot_trf_topomap(result, info, feature, times=None, **kwargs):
    """Topographies of one feature's TRF at given lags, with MNE (``EvokedArray.plot_topomap``).

    ``info`` is the :class:`mne.Info` of the targets: targets are matched to its channels by name
    (any order); the lags set the time axis (:func:`trf_evoked`), so a kernel at 300 ms is drawn at
    300 ms whatever ``info['sfreq']`` says.
    """
    coef = _as_dataset(result)["coef"]
    evoked = trf_evoked(coef.sel({FEATURE: feature}), info, comment=str(feature))
    if times is None:
        times = "peaks"
    kwargs.setdefault("show", False)
    kwargs.setdefault("time_unit", "ms")
    return evoked.plot_topomap(times=times, **kwargs)


def plot_scores(scores, info=None, ax=None, cmap="Reds", title=None):
    """Map of per-target scores (e.g. held-out r): an MNE topomap with ``info``, else a stem plot."""
    import matplotlib.pyplot as plt

    vals = np.asarray(scores.values if isinstance(scores, xr.DataArray) else scores, dtype=np.float64)
    if vals.ndim != 1:
        raise ValueError(f"scores must be 1-D (one value per target), got shape {vals.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 3.5) if info is not None else (6, 2.5))
    else:
        fig = ax.figure
    if info is not None:
        import mne

        if len(vals) != len(info["ch_names"]):
            raise ValueError(f"info has {len(info['ch_names'])} channels but scores has {len(vals)} values")
        im, _ = mne.viz.plot_topomap(vals, info, axes=ax, cmap=cmap, show=False)
        fig.colorbar(im, ax=ax, shrink=0.7)
    else:
        ax.stem(np.arange(len(vals)), vals)
        ax.set_xlabel("target")
        ax.axhline(0, color="k", lw=0.5)
    ax.set_title(title or (getattr(scores, "name", None) or "score"))
    return fig
