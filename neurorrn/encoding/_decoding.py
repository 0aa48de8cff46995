"""Decoding: backward TRFs (stimulus reconstruction) and time-resolved classification."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .._dims import FOLD, TIME
from ..utils._check import check_option
from ._trf import TRF


class BackwardTRF(TRF):
    """A backward model (decoder): reconstruct stimulus features from M/EEG with the TRF machinery.

    ``X`` are the responses (time, sensor) and ``y`` the stimulus features (time, feature), for
    example the envelope or a spectrogram.  The brain responds *after* the stimulus, so the
    reconstruction at ``t`` reads the responses at ``t + tau`` for ``tau`` in ``[0, 0.5]`` s, i.e.
    lags ``tmin=-0.5, tmax=0`` in the TRF convention (the defaults).  Everything else — segment
    handling, one eigendecomposition per fold for all alphas, per-feature alphas — is :class:`TRF`.

    Attributes
    ----------
    patterns_ : array of shape (n_targets, n_features, n_lags)
        Haufe et al. (2014) forward patterns ``Cov(X_lagged) W Cov(y_hat)^-1`` in the units of
        ``X`` per unit of the reconstructed feature: the interpretable counterpart of ``coef_``.
    """

    #: read by :func:`neurorrn.encoding.to_evoked` (kernels of a backward model are patterns on request)
    _backward_model = True

    _keep_gram = True

    def __init__(self, tmin=-0.5, tmax=0.0, sfreq=100.0, alpha=None, cv=5, scoring="r", alpha_rule="best",
                 fit_intercept=True, standardize=False, backend="numpy", dtype="float64", device=None,
                 n_jobs=None, verbose=None):
        super().__init__(tmin=tmin, tmax=tmax, sfreq=sfreq, alpha=alpha, cv=cv, scoring=scoring,
                         alpha_rule=alpha_rule,
                         fit_intercept=fit_intercept, standardize=standardize, backend=backend,
                         dtype=dtype, device=device, n_jobs=n_jobs, verbose=verbose)

    def _finish(self, W, mom, L):
        super()._finish(W, mom, L)
        c = self._full_stats
        be = self._be
        G = be.to_numpy(c.G).astype(np.float64) / c.n
        Wn = be.to_numpy(W).astype(np.float64)
        cov_x_w = G @ Wn  # (p, C)
        cov_y = Wn.T @ cov_x_w  # (C, C)
        A = cov_x_w @ np.linalg.pinv(cov_y)
        sd = mom[1]
        F = sd.shape[0]
        A = A.reshape(L, F, -1) * sd[None, :, None]
        self.patterns_ = np.ascontiguousarray(np.transpose(A, (2, 1, 0)))
        del self._full_stats


def time_resolved_decoding(data, labels, groups=None, times=None, generalize: bool = False,
                           estimator=None, cv: int = 5, scoring=None, n_jobs=None) -> xr.DataArray:
    """Cross-validated classification at every time point (MNE ``SlidingEstimator``) or for every
    pair of training and testing times (``GeneralizingEstimator``).

    Parameters
    ----------
    data : mne.Epochs | DataArray (epoch, sensor, time) | array (n_epochs, n_sensors, n_times)
    labels : array of shape (n_epochs,)
        Phone classes, phonetic-feature values, ... (any hashable labels).
    groups : array of shape (n_epochs,), optional
        Folds keep groups together (``GroupKFold``); pass the word of each epoch so that the same
        word never appears in training and test data.  Without groups, a ``StratifiedKFold``
        without shuffling.
    times : array, optional
        Epoch times (s) when ``data`` is a plain array.
    generalize : bool
        Temporal generalisation (train at each time, test at every time).
    estimator : sklearn classifier, optional
        Default ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))``.
    scoring : str | None
        Default ``'roc_auc'`` for two classes (chance 0.5), ``'balanced_accuracy'`` otherwise
        (chance 1 / n_classes).

    Returns
    -------
    DataArray
        Scores with dims (fold, time) or (fold, train_time, test_time); attrs ``scoring``, ``chance``.
    """
    from mne.decoding import GeneralizingEstimator, SlidingEstimator, cross_val_multiscore
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, times = _epochs_array(data, times)
    y = np.asarray(labels)
    if y.shape != (X.shape[0],):
        raise ValueError(f"labels must have shape ({X.shape[0]},) (one per epoch), got {y.shape}")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"labels hold a single class {classes.tolist()}; decoding needs at least 2")
    if scoring is None:
        scoring = "roc_auc" if len(classes) == 2 else "balanced_accuracy"
    chance = 0.5 if scoring == "roc_auc" else (1.0 / len(classes) if "balanced" in str(scoring) else
                                               float(pd.Series(y).value_counts(normalize=True).max()))
    if estimator is None:
        estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != y.shape:
            raise ValueError(f"groups must have shape {y.shape} (one per epoch), got {groups.shape}")
        n_groups = len(np.unique(groups))
        if n_groups < cv:
            raise ValueError(f"groups has {n_groups} distinct values, fewer than cv={cv} folds")
        splitter = list(GroupKFold(cv).split(X[:, :, 0], y, groups))
    else:
        splitter = list(StratifiedKFold(cv, shuffle=False).split(X[:, :, 0], y))
    cls = GeneralizingEstimator if generalize else SlidingEstimator
    est = cls(estimator, scoring=scoring, n_jobs=n_jobs, verbose=False)
    sc = cross_val_multiscore(est, X, y, cv=splitter, n_jobs=None, verbose=False)
    attrs = {"scoring": str(scoring), "chance": float(chance), "n_epochs": int(X.shape[0]),
             "grouped": int(groups is not None)}
    if generalize:
        return xr.DataArray(sc, dims=(FOLD, "train_time", "test_time"),
                            coords={FOLD: np.arange(sc.shape[0]), "train_time": times, "test_time": times},
                            name="score", attrs=attrs)
    return xr.DataArray(sc, dims=(FOLD, TIME), coords={FOLD: np.arange(sc.shape[0]), TIME: times},
                        name="score", attrs=attrs)


def _epochs_array(data, times):
    import mne

    if isinstance(data, mne.BaseEpochs):
        return data.get_data(picks="data"), data.times
    if isinstance(data, xr.DataArray):
        if data.ndim != 3 or TIME not in data.dims:
            raise ValueError(f"data must have dims (epoch, sensor, time), got {data.dims}")
        other = [d for d in data.dims if d != TIME]
        arr = data.transpose(*other, TIME)
        return np.asarray(arr.values, dtype=np.float64), np.asarray(arr[TIME].values)
    X = np.asarray(data, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"data must be 3-D (n_epochs, n_sensors, n_times), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("data contains NaN or infinite values")
    times = np.arange(X.shape[2]) if times is None else np.asarray(times)
    if times.shape != (X.shape[2],):
        raise ValueError(f"times must have shape ({X.shape[2]},), got {times.shape}")
    return X, times


def response_epochs(responses, timeline, tmin: float = -0.1, tmax: float = 0.5, kind: str = "phone", *,
                    picks=None):
    """Epochs of a continuous brain response around the timeline's phone (or word) onsets.

    (The model-side twin, hidden states around phone onsets in an ActivationStore, is
    :func:`neurorrn.probing.phone_epochs`.)

    Parameters
    ----------
    responses : mne.io.Raw | DataArray (time, sensor)
        A Raw (``picks`` selects its channels, default the good data channels; resampled to the
        timeline's rate when it differs; windows touching an annotation marked bad are dropped) or
        a DataArray at the timeline's rate, time in s from the recording's start.
    timeline : neurorrn.brain.Timeline
    tmin, tmax : float
        Window around each onset (s).
    kind : {'phone', 'word'}
    picks : str | list, optional
        Channels of a Raw (MNE's ``picks``).

    Returns
    -------
    epochs : DataArray (epoch, sensor, time) with per-epoch coords ``label``, ``stimulus``,
        ``word`` (the word containing the phone, from the timeline's word events) and ``onset``.
        Events whose window leaves the recording are dropped.
    """
    check_option(kind, ("phone", "word"), "kind")
    sfreq = float(timeline.sfreq)
    responses = _responses_array(responses, sfreq, picks)
    if TIME not in responses.dims or responses.ndim != 2:
        raise ValueError(f"responses must have dims (time, sensor), got {responses.dims}")
    sdim = [d for d in responses.dims if d != TIME][0]
    r = responses.transpose(TIME, sdim)
    t = r[TIME].values
    if len(t) > 1 and not np.isclose(t[1] - t[0], 1 / sfreq, rtol=1e-4):
        raise ValueError(f"responses are sampled at {1 / (t[1] - t[0]):g} Hz but the timeline at {sfreq:g} Hz")
    ev = timeline.events
    sel = ev[ev["kind"] == kind].sort_values("onset")
    words = ev[ev["kind"] == "word"].sort_values("onset")
    i0, i1 = int(round(tmin * sfreq)), int(round(tmax * sfreq))
    data, keep = [], []
    arr = r.values
    for j, (onset, s) in enumerate(zip(sel["onset"].to_numpy(), sel["stimulus"].astype(str))):
        c = int(round((onset - t[0]) * sfreq))
        if c + i0 < 0 or c + i1 + 1 > arr.shape[0] or not np.isfinite(arr[c + i0: c + i1 + 1]).all():
            continue
        data.append(arr[c + i0: c + i1 + 1].T)
        keep.append(j)
    if not data:
        raise ValueError(f"no {kind} event has its [{tmin}, {tmax}] s window inside the recording")
    kept = sel.iloc[keep]
    if len(words):
        w_on = words["onset"].to_numpy()
        idx = np.searchsorted(w_on, kept["onset"].to_numpy() + 1e-9, side="right") - 1
        word = np.where(idx >= 0, words["label"].astype(str).to_numpy()[np.clip(idx, 0, None)], "")
    else:
        word = np.full(len(kept), "")
    return xr.DataArray(
        np.stack(data), dims=("epoch", sdim, TIME),
        coords={"epoch": np.arange(len(kept)), sdim: r[sdim].values,
                TIME: np.arange(i0, i1 + 1) / sfreq,
                "label": ("epoch", kept["label"].astype(str).to_numpy()),
                "stimulus": ("epoch", kept["stimulus"].astype(str).to_numpy()),
                "word": ("epoch", word), "onset": ("epoch", kept["onset"].to_numpy())},
    )


def _responses_array(responses, sfreq: float, picks) -> xr.DataArray:
    """A Raw or DataArray as a DataArray (time, sensor) at ``sfreq``."""
    try:
        import mne
    except ImportError:  # pragma: no cover - mne is a dependency
        mne = None
    if mne is not None and isinstance(responses, mne.io.BaseRaw):
        from ._mne import raw_to_dataarray

        raw = responses
        if abs(raw.info["sfreq"] - sfreq) > 1e-6 * sfreq:
            raw = raw.copy().load_data(verbose="error").resample(sfreq, verbose="error")
        return raw_to_dataarray(raw, picks, "responses")  # NaN over spans marked bad
    if picks is not None:
        raise ValueError("picks selects channels of an mne.io.Raw; select a DataArray's sensors with .sel")
    if not isinstance(responses, xr.DataArray):
        raise TypeError(f"responses must be an mne.io.Raw or an xarray.DataArray (time, sensor), "
                        f"got {type(responses).__name__}")
    return responses


__all__ = ["BackwardTRF", "time_resolved_decoding", "response_epochs"]
