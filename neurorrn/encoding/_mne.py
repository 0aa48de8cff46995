"""MNE in, MNE out: recordings as estimator inputs, kernels and patterns as ``mne.Evoked``.

Inputs
------
The estimators of :mod:`neurorrn.encoding` take ``mne.io.Raw``, ``mne.Epochs`` and ``mne.Evoked``
wherever they take responses (forward models) or sensors (backward models):

- ``Raw``: the picked channels (``picks``; default: the good data channels) over the stretches not
  covered by an annotation whose description starts with ``"bad"`` (MNE's convention, case
  insensitive).  Each good stretch becomes one segment, so no lag reaches across an excluded span;
  the other side (predictors given as one array or DataArray over all ``raw.n_times`` samples) is
  cut at the same samples.
- ``Epochs``: each epoch is one segment; the other side is a list with one segment per epoch or an
  array of shape (n_epochs, n_times, n_features).
- ``Evoked``: one segment.
- ``SourceEstimate`` (surface), ``VolSourceEstimate`` and ``MixedSourceEstimate``: the vertices
  are the targets (named ``lh:<vertex>``, ``rh:<vertex>``, ``vol:<vertex>``, or ``src<k>:<vertex>``
  for the source spaces of a mixed estimate), ``tmin``/``tstep`` the time axis (``1 / tstep``
  must equal the estimator's ``sfreq``); one segment per estimate, so a list of estimates (e.g.
  from ``apply_inverse_epochs``) is one segment each.  Vector estimates (three orientations per
  vertex) are refused with the ways to make them scalar.

The channels (``mne.Info`` restricted to the picks) are kept on the fitted estimator as ``info_``;
at ``predict``/``score`` time an MNE input is picked by those channel names.

Outputs
-------
:func:`to_evoked` turns a fitted TRF / BandedTRF / BoostingTRF into one ``mne.EvokedArray`` per
predictor (channels x lags, ``tmin`` = first lag, ``sfreq`` = the estimator's), and a BackwardTRF's
Haufe patterns (or coefficients) into one per reconstructed feature, so ``plot_joint`` and
topomaps work.  :func:`to_source_estimate` does the same for an estimator fitted on source
estimates (one estimate over lags per predictor, on the fitted vertices), and wraps predictions
(time x vertices) as an estimate.
"""

from __future__ import annotations

import numpy as np

from .._dims import SENSOR, TIME

_BAD_PREFIX = "bad"
SOURCE = "source"  # the dim of source-space targets (vertices)


def is_mne(obj) -> bool:
    """Whether ``obj`` is an MNE Raw, Epochs, Evoked, source estimate or list of source estimates."""
    try:
        import mne
    except ImportError:  # pragma: no cover - mne is a dependency
        return False
    return isinstance(obj, (mne.io.BaseRaw, mne.BaseEpochs, mne.Evoked)) or is_stc(obj) or _is_stc_list(obj)


def is_stc(obj) -> bool:
    """Whether ``obj`` is an MNE source estimate (any kind)."""
    from mne.source_estimate import _BaseSourceEstimate

    return isinstance(obj, _BaseSourceEstimate)


def _is_stc_list(obj) -> bool:
    return isinstance(obj, (list, tuple)) and len(obj) > 0 and all(is_stc(o) for o in obj)


def _describe_stc(stc) -> str:
    import mne

    kind = type(stc).__name__
    if isinstance(stc, mne.SourceEstimate):
        where = f"{len(stc.vertices[0])} lh + {len(stc.vertices[1])} rh vertices"
    else:
        where = f"{sum(len(v) for v in stc.vertices)} vertices"
    return f"mne.{kind} ({where}, {len(stc.times)} samples at {stc.sfreq:g} Hz from {stc.tmin:g} s)"


def describe(obj) -> str:
    """A short description of an input for error messages (``mne.io.Raw (32 channels, ...)``)."""
    import mne
    import xarray as xr

    if is_stc(obj):
        return _describe_stc(obj)
    if _is_stc_list(obj):
        return f"a list of {len(obj)} source estimates ({_describe_stc(obj[0])}, ...)"
    if isinstance(obj, mne.io.BaseRaw):
        return (f"mne.io.Raw ({len(obj.ch_names)} channels, {obj.n_times} samples at "
                f"{obj.info['sfreq']:g} Hz)")
    if isinstance(obj, mne.BaseEpochs):
        return (f"mne.Epochs ({len(obj)} epochs of {len(obj.times)} samples, {len(obj.ch_names)} "
                f"channels at {obj.info['sfreq']:g} Hz)")
    if isinstance(obj, mne.Evoked):
        return (f"mne.Evoked ({len(obj.times)} samples, {len(obj.ch_names)} channels at "
                f"{obj.info['sfreq']:g} Hz)")
    if isinstance(obj, xr.DataArray):
        return f"a DataArray with dims {obj.dims} and shape {obj.shape}"
    if isinstance(obj, (list, tuple)):
        return f"a list of {len(obj)} segment(s)"
    shape = getattr(obj, "shape", None)
    if shape is not None:
        return f"an array of shape {tuple(shape)}"
    return f"a {type(obj).__name__}"


def good_spans(raw) -> list[tuple[int, int]]:
    """Sample spans ``[start, stop)`` of ``raw`` (0 = first sample) outside annotations marked bad.

    The bad samples are MNE's own (``get_data(reject_by_annotation='NaN')``): annotations whose
    description starts with ``"bad"``, case insensitive.
    """
    n = raw.n_times
    if not any(str(d).lower().startswith(_BAD_PREFIX) for d in raw.annotations.description):
        return [(0, n)]
    probe = raw.get_data(picks=[0], reject_by_annotation="NaN", verbose=False)[0]
    keep = np.isfinite(probe)
    edges = np.diff(np.concatenate([[0], keep.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    spans = [(int(a), int(b)) for a, b in zip(starts, stops)]
    if not spans:
        raise ValueError(f"annotations marked bad cover all of {describe(raw)}: no data left to fit")
    return spans


def _pick_idx(info, picks, name):
    from mne._fiff.pick import _picks_to_idx

    try:
        return _picks_to_idx(info, picks, none="data", exclude="bads", allow_empty=False)
    except ValueError as err:
        raise ValueError(f"{name}: picks={picks!r} selects no usable channel ({err})") from None


def _check_sfreq(obj, sfreq, name):
    got = float(obj.info["sfreq"])
    if not np.isclose(got, float(sfreq), rtol=1e-6):
        raise ValueError(
            f"{name} is {describe(obj)} but the estimator's sfreq={float(sfreq):g} Hz: pass "
            f"sfreq={got:g} or resample the recording to {float(sfreq):g} Hz first "
            f"(e.g. inst.copy().resample({float(sfreq):g}))")


def mne_segments(obj, name: str, sfreq, picks=None):
    """The segments of an MNE object as DataArrays (time, sensor).

    Returns
    -------
    segments : list of DataArray (time, sensor)
    info : mne.Info of the picked channels
    layout : ('raw', spans) | ('epochs', n_epochs, n_times) | ('evoked', n_times)
    """
    import mne
    import xarray as xr

    _check_sfreq(obj, sfreq, name)
    idx = _pick_idx(obj.info, picks, name)
    info = mne.pick_info(obj.info, idx)
    names = [obj.ch_names[i] for i in idx]
    if isinstance(obj, mne.io.BaseRaw):
        spans = good_spans(obj)
        segs = []
        for a, b in spans:
            d = obj.get_data(picks=idx, start=a, stop=b)
            segs.append(xr.DataArray(d.T, dims=(TIME, SENSOR),
                                     coords={TIME: obj.times[a:b], SENSOR: names}))
        return segs, info, ("raw", spans, obj.n_times)
    if isinstance(obj, mne.BaseEpochs):
        d = obj.get_data(picks=idx)  # (n_epochs, n_channels, n_times)
        if d.shape[0] == 0:
            raise ValueError(f"{name} is {describe(obj)}: no epochs left")
        segs = [xr.DataArray(e.T, dims=(TIME, SENSOR), coords={TIME: obj.times, SENSOR: names})
                for e in d]
        return segs, info, ("epochs", d.shape[0], d.shape[2])
    d = obj.data[idx]
    seg = xr.DataArray(d.T, dims=(TIME, SENSOR), coords={TIME: obj.times, SENSOR: names})
    return [seg], info, ("evoked", d.shape[1])


_VECTOR_STC = ("VectorSourceEstimate", "VolVectorSourceEstimate", "MixedVectorSourceEstimate")


def vertex_names(stc) -> list[str]:
    """Target names of a source estimate's vertices: ``lh:<v>``/``rh:<v>`` (surface), ``vol:<v>``
    (volume), ``src<k>:<v>`` (the k-th source space of a mixed estimate)."""
    import mne

    if isinstance(stc, mne.SourceEstimate):
        prefixes = ["lh", "rh"]
    elif isinstance(stc, mne.VolSourceEstimate):
        prefixes = ["vol"] if len(stc.vertices) == 1 else [f"vol{k}" for k in range(len(stc.vertices))]
    else:
        prefixes = [f"src{k}" for k in range(len(stc.vertices))]
    return [f"{pre}:{int(v)}" for pre, verts in zip(prefixes, stc.vertices) for v in verts]


def stc_segments(obj, name: str, sfreq, picks=None):
    """The segments of a source estimate (or a list of them) as DataArrays (time, source).

    Returns
    -------
    segments : list of DataArray (time, source), one per estimate
    source : dict with the estimate's class name, the picked ``vertices`` (one array per source
        space), their ``names`` and the ``subject``
    layout : ('evoked', n_times) for one estimate | ('epochs', n_estimates, n_times) for a list
    """
    import xarray as xr

    stcs = list(obj) if isinstance(obj, (list, tuple)) else [obj]
    first = stcs[0]
    kind = type(first).__name__
    if kind in _VECTOR_STC:
        raise ValueError(
            f"{name} is {describe(first)}, with three orientations per vertex; give a scalar estimate: "
            f"stc.magnitude() (the amplitude), stc.normal(src) (the component normal to the cortex), "
            f"or apply_inverse(..., pick_ori='normal' or None)")
    names = vertex_names(first)
    for i, stc in enumerate(stcs):
        if type(stc).__name__ != kind or len(stc.vertices) != len(first.vertices) or not all(
                np.array_equal(a, b) for a, b in zip(stc.vertices, first.vertices)):
            raise ValueError(f"{name}[{i}] is {describe(stc)} but {name}[0] is {describe(first)}: every "
                             "source estimate must have the same kind and vertices")
        if not np.isclose(stc.sfreq, float(sfreq), rtol=1e-6):
            raise ValueError(
                f"{name}{'' if len(stcs) == 1 else f'[{i}]'} is {describe(stc)} (tstep = {stc.tstep:g} s) but "
                f"the estimator's sfreq={float(sfreq):g} Hz: pass sfreq={stc.sfreq:g} or resample the "
                f"estimate to {float(sfreq):g} Hz first (e.g. stc.copy().resample({float(sfreq):g}))")
    if picks is None:
        idx = np.arange(len(names))
    else:
        wanted = [picks] if isinstance(picks, str) else list(picks)
        lut = {n: i for i, n in enumerate(names)}
        missing = [str(p) for p in wanted if str(p) not in lut]
        if missing:
            raise ValueError(f"{name} is {describe(first)} and lacks the vertex(es) {missing[:10]} "
                             f"(picks of a source estimate are vertex names such as {names[0]!r})")
        idx = np.array([lut[str(p)] for p in wanted], dtype=int)
    picked = [names[i] for i in idx]
    bounds = np.cumsum([0] + [len(v) for v in first.vertices])
    vertices = [np.asarray(v)[idx[(idx >= lo) & (idx < hi)] - lo] for v, lo, hi in
                zip(first.vertices, bounds[:-1], bounds[1:])]
    segs = [xr.DataArray(np.asarray(stc.data)[idx].T, dims=(TIME, SOURCE),
                         coords={TIME: stc.times, SOURCE: picked}) for stc in stcs]
    source = {"kind": kind, "vertices": vertices, "names": picked, "subject": first.subject}
    if isinstance(obj, (list, tuple)):
        n_t = {len(stc.times) for stc in stcs}
        return segs, source, ("epochs", len(stcs), n_t.pop() if len(n_t) == 1 else -1)
    return segs, source, ("evoked", len(first.times))


def raw_to_dataarray(raw, picks=None, name="raw"):
    """A Raw as a DataArray (time, sensor), time from its first sample, NaN over spans marked bad."""
    import mne
    import xarray as xr

    if not isinstance(raw, mne.io.BaseRaw):
        raise TypeError(f"{name} must be an mne.io.Raw here, got {describe(raw)}")
    idx = _pick_idx(raw.info, picks, name)
    d = raw.get_data(picks=idx, reject_by_annotation="NaN", verbose=False)
    return xr.DataArray(d.T, dims=(TIME, SENSOR),
                        coords={TIME: raw.times, SENSOR: [raw.ch_names[i] for i in idx]})


def _rows(a):
    shape = getattr(a, "shape", None)
    if shape is not None and len(shape):
        return shape[0]
    return None


def _cut_other(other, oname, mname, mobj, layout):
    """Cut the non-MNE side to the segments of the MNE side."""
    import xarray as xr

    kind = layout[0]
    is_list = isinstance(other, (list, tuple)) and len(other) and all(
        isinstance(s, (np.ndarray, xr.DataArray)) for s in other)
    if kind == "raw":
        spans, n_times = layout[1], layout[2]
        if is_list:
            if len(other) != len(spans):
                raise ValueError(
                    f"{mname} is {describe(mobj)} whose annotations marked bad leave {len(spans)} good "
                    f"stretch(es), but {oname} is {describe(other)}: give {oname} as one array over all "
                    f"{n_times} samples (it is cut at the same places) or one segment per stretch")
            return list(other)
        if isinstance(other, xr.DataArray):
            n = other.sizes.get(TIME)
            if n is None:
                raise ValueError(f"{oname} must have a {TIME!r} dim, got dims {other.dims}")
        else:
            other = np.asarray(other)
            n = _rows(other)
        if n != n_times:
            raise ValueError(
                f"{oname} has {n} samples but {mname} is {describe(mobj)}: {oname} must cover "
                f"all {n_times} samples of the recording at its rate")
        if isinstance(other, xr.DataArray):
            return [other.isel({TIME: slice(a, b)}) for a, b in spans]
        return [other[a:b] for a, b in spans]
    if kind == "epochs":
        n_ep, n_t = layout[1], layout[2]
        if is_list:
            if len(other) != n_ep:
                raise ValueError(f"{mname} is {describe(mobj)} but {oname} is {describe(other)}: give "
                                 f"{oname} as one segment per epoch ({n_ep}) or an array ({n_ep}, {n_t}, "
                                 "n_features)")
            return list(other)
        arr = other.values if isinstance(other, xr.DataArray) else np.asarray(other)
        if arr.ndim in (2, 3) and arr.shape[0] == n_ep and arr.shape[1] == n_t:
            return [a for a in arr]
        raise ValueError(f"{mname} is {describe(mobj)} but {oname} is {describe(other)}: give {oname} "
                         f"as one segment per epoch ({n_ep} arrays of {n_t} samples) or an array of "
                         f"shape ({n_ep}, {n_t}, n_features)")
    n_t = layout[1]
    if is_list:
        if len(other) != 1:
            raise ValueError(f"{mname} is {describe(mobj)} (one segment) but {oname} is {describe(other)}")
        return list(other)
    n = other.sizes.get(TIME) if isinstance(other, xr.DataArray) else _rows(np.asarray(other))
    if n != n_t:
        raise ValueError(f"{oname} has {n} samples but {mname} is {describe(mobj)}")
    return [other]


def coerce_mne(est, X, y=None, picks=None, reset=True):
    """Replace MNE inputs of an estimator by segments; remember (fit) or reuse (predict) channels.

    Called by the estimators' input validation.  On ``fit`` (``reset=True``) it sets ``info_``
    (``mne.Info`` of the picked channels of the MNE side, or ``None``) and ``mne_input_`` (``'X'``,
    ``'y'`` or ``None``).  On ``predict``/``score`` an MNE input is picked by the fitted channel
    names, so channels are matched by name, never by position.
    """
    xm, ym = is_mne(X), (y is not None and is_mne(y))
    if reset:
        est.info_ = None
        est.mne_input_ = None
        est.source_ = None
    if not (xm or ym):
        if picks is not None:
            raise ValueError(f"picks={picks!r} applies to MNE inputs only, but X is {describe(X)}"
                             + ("" if y is None else f" and y is {describe(y)}"))
        return X, y
    if not reset and picks is None:
        info = getattr(est, "info_", None)
        side = getattr(est, "mne_input_", None)
        source = getattr(est, "source_", None)
        if source is not None and ((side == "X" and xm) or (side == "y" and ym)):
            picks = list(source["names"])  # vertices matched by name (stc_segments names what lacks)
            info = None
        if info is not None and ((side == "X" and xm) or (side == "y" and ym)):
            picks = list(info["ch_names"])
            obj = X if xm else y
            missing = [c for c in picks if c not in obj.ch_names]
            if missing:
                raise ValueError(f"{'X' if xm else 'y'} is {describe(obj)} and lacks the channel(s) "
                                 f"{missing[:10]} the estimator was fitted on")
    sf = est.sfreq
    out_x, out_y = X, y
    if xm:
        segs, info, layout = _segments_of(X, "X", sf, picks)
        out_x = segs
        if reset:
            _remember(est, info, "X")
        if y is not None and not ym:
            out_y = _cut_other(y, "y", "X", X, layout)
    if ym:
        segs, info, layout = _segments_of(y, "y", sf, picks)
        out_y = segs
        if reset and not xm:
            _remember(est, info, "y")
        if not xm:
            out_x = _cut_other(X, "X", "y", y, layout)
    if xm and ym and len(out_x) != len(out_y):
        raise ValueError(f"X is {describe(X)} and y is {describe(y)}: they give {len(out_x)} and "
                         f"{len(out_y)} segments after removing spans marked bad")
    import mne

    if not reset and not any(isinstance(o, mne.BaseEpochs) or _is_stc_list(o) for o in (X, y)):
        # predict / score on one stretch: return one array, not a list of one
        if isinstance(out_x, list) and len(out_x) == 1:
            out_x = out_x[0]
        if isinstance(out_y, list) and len(out_y) == 1:
            out_y = out_y[0]
    return out_x, out_y


def _segments_of(obj, name, sfreq, picks):
    """(segments, mne.Info or source dict, layout) of a sensor-space or source-space MNE object."""
    if is_stc(obj) or _is_stc_list(obj):
        return stc_segments(obj, name, sfreq, picks)
    return mne_segments(obj, name, sfreq, picks)


def _remember(est, info, side):
    import mne

    if not isinstance(info, mne.Info):  # the dict of a source estimate
        est.source_, est.info_ = info, None
    else:
        est.info_ = info
    est.mne_input_ = side


def from_mne(X, Y, sfreq, picks=None):
    """Segments of a pair of predictors / responses where either is an MNE object.

    For functions that take segment lists (e.g. :func:`neurorrn.encoding.cross_validate`).

    Returns
    -------
    X_segments, Y_segments : lists of arrays / DataArrays (time, ...)
    info : mne.Info of the picked channels of the MNE side
    """
    class _Holder:
        pass

    h = _Holder()
    h.sfreq = sfreq
    xs, ys = coerce_mne(h, X, Y, picks=picks, reset=True)
    if not isinstance(xs, list):
        xs = [xs]
    if not isinstance(ys, list):
        ys = [ys]
    return xs, ys, h.info_


# ------------------------------------------------------------------------------------ outputs
def to_evoked(est, feature=None, kind=None, info=None):
    """A fitted TRF's kernels (or a backward model's patterns) as ``mne.EvokedArray``.

    Parameters
    ----------
    est : fitted TRF, BandedTRF, BoostingTRF or BackwardTRF | Dataset from ``fit_group``
        A ``fit_group`` result (forward models) gives the grand average over subjects
        (``nave`` = the number of subjects; NaN sensors of a subject are left out of its mean).
    feature : int | str | None
        Forward models: the predictor (index or name) whose kernel to return; backward models: the
        reconstructed feature.  ``None``: a list with one Evoked per predictor / feature.
    kind : {'coef', 'patterns'} | None
        ``'coef'``: the regression kernel (forward default).  ``'patterns'``: the Haufe et al.
        (2014) forward patterns of a backward model (its default).
    info : mne.Info | None
        Channel information when the estimator was fitted on arrays or xarray (default: the
        ``info_`` kept from an MNE fit input; otherwise ``misc`` channels named after the
        responses' sensor coordinate).

    Returns
    -------
    mne.EvokedArray or list of them
        Forward: data (n_channels, n_lags) in response units per predictor unit, ``times`` = the
        lags (s).  Backward: data (n_channels, n_lags) with ``times`` = the response latency after
        the stimulus, i.e. ``-lag`` in increasing order (the decoder reads the response at
        ``t + tau`` to reconstruct the stimulus at ``t``).  ``comment`` is the feature's name.
    """
    import mne
    import xarray as xr
    from sklearn.utils.validation import check_is_fitted

    from ..utils._check import check_option

    if isinstance(est, xr.Dataset):
        return _group_to_evoked(est, feature, kind, info)
    check_is_fitted(est, "coef_")
    backward = bool(getattr(est, "_backward_model", False))  # BackwardTRF (no import: _decoding imports us)
    kind = ("patterns" if backward else "coef") if kind is None else kind
    check_option(kind, ("coef", "patterns"), "kind")
    if kind == "patterns":
        if not backward:
            raise ValueError("kind='patterns' is for backward models (BackwardTRF); a forward TRF's "
                             "kernel is already a pattern: use kind='coef'")
        arr = est.patterns_
    else:
        arr = est.coef_
    C, F, _ = arr.shape
    if backward:  # channels = X features, one Evoked per reconstructed target
        names = est.target_names_ if est.target_names_ is not None else np.arange(C)
        ch = est.feature_names_
        n_ch = F
        times = -est.lags_[::-1]
        per = [arr[k][:, ::-1] for k in range(C)]
    else:  # channels = responses, one Evoked per predictor
        names = est.feature_names_ if est.feature_names_ is not None else np.arange(F)
        ch = est.target_names_
        n_ch = C
        times = np.asarray(est.lags_, dtype=np.float64)
        per = [arr[:, f, :] for f in range(F)]
    inf = _resolve_info(est, info, n_ch, ch)
    evs = []
    for name, data in zip(names, per):
        ev = mne.EvokedArray(np.ascontiguousarray(data, dtype=np.float64), inf.copy(),
                             tmin=float(times[0]), comment=str(name), nave=1, verbose=False)
        evs.append(ev)
    if feature is None:
        return evs
    names = [str(n) for n in names]
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        if not -len(evs) <= feature < len(evs):
            raise IndexError(f"feature={feature} is out of range for {len(evs)} feature(s) {names}")
        return evs[int(feature)]
    if str(feature) not in names:
        check_option(str(feature), names, "feature")
    return evs[names.index(str(feature))]


def _resolve_info(est, info, n_ch, ch_names):
    import mne

    sf = float(est.sfreq)
    if info is None:
        info = getattr(est, "info_", None)
        if info is not None and info["nchan"] != n_ch:  # e.g. info_ of the other side
            info = None
    if info is None:
        names = [str(c) for c in ch_names] if ch_names is not None else [f"ch{i}" for i in range(n_ch)]
        return mne.create_info(names, sf, "misc")
    if not isinstance(info, mne.Info):
        raise TypeError(f"info must be an mne.Info, got {type(info).__name__}")
    if info["nchan"] != n_ch:
        raise ValueError(f"info has {info['nchan']} channels but the estimator has {n_ch}")
    if not np.isclose(info["sfreq"], sf, rtol=1e-6):
        raise ValueError(f"info['sfreq'] is {info['sfreq']:g} Hz but the estimator's sfreq={sf:g}")
    return info


def _group_to_evoked(ds, feature, kind, info):
    import mne

    from ..utils._check import check_option

    if kind not in (None, "coef"):
        raise ValueError(f"kind={kind!r}: a fit_group result holds kernels ('coef') only")
    if "coef" not in ds or "subject" not in ds["coef"].dims:
        raise ValueError(f"expected a fit_group Dataset with coef (subject, sensor, feature, lag), got {list(ds)}")
    if ds.attrs.get("estimator") == "BackwardTRF":
        raise ValueError("the grand average of backward models' coefficients is not interpretable; "
                         "average to_evoked(est) patterns of the subjects' estimators instead")
    coef = ds["coef"]
    mean = coef.mean("subject", skipna=True).transpose(SENSOR, "feature", "lag")
    sensors = [str(c) for c in ds[SENSOR].values]
    sf = float(ds.attrs["sfreq"])
    if info is None:
        inf = mne.create_info(sensors, sf, "misc")
    else:
        missing = [c for c in sensors if c not in info["ch_names"]]
        if missing:
            raise ValueError(f"info lacks the sensor(s) {missing[:10]} of the group result")
        if not np.isclose(info["sfreq"], sf, rtol=1e-6):
            raise ValueError(f"info['sfreq'] is {info['sfreq']:g} Hz but the group result's sfreq={sf:g}")
        inf = mne.pick_info(info, [info["ch_names"].index(c) for c in sensors])
    names = [str(f) for f in ds["feature"].values]
    times = np.asarray(ds["lag"].values, dtype=np.float64)
    n = ds.sizes["subject"]
    evs = [mne.EvokedArray(np.ascontiguousarray(mean.values[:, f]), inf.copy(), tmin=float(times[0]),
                           comment=name, nave=n, verbose=False) for f, name in enumerate(names)]
    if feature is None:
        return evs
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        return evs[int(feature)]
    check_option(str(feature), names, "feature")
    return evs[names.index(str(feature))]


def to_source_estimate(est, feature=None, kind=None, data=None, tmin=0.0):
    """Kernels (or predictions) of an estimator fitted on source estimates, as source estimates.

    Parameters
    ----------
    est : fitted TRF, BandedTRF, BoostingTRF or BackwardTRF
        Fitted with a source estimate (or a list of them) as responses (forward models) or as
        predictors (backward models).
    feature : int | str | None
        Forward models: the predictor whose kernel to return; backward models: the reconstructed
        feature.  ``None``: a list with one estimate per predictor / feature.  Ignored with ``data``.
    kind : {'coef', 'patterns'} | None
        As :func:`to_evoked` (``'patterns'``, the default of backward models, are their Haufe
        patterns).
    data : array of shape (n_times, n_vertices) | None
        Instead of kernels, wrap these values (e.g. ``est.predict(X)``) over the fitted vertices.
    tmin : float
        With ``data``: the time of its first sample (s).

    Returns
    -------
    mne.SourceEstimate (or the class the estimator was fitted on) or list of them
        Kernels: data (n_vertices, n_lags), ``tmin`` = the first lag, ``tstep`` = ``1 / sfreq``
        (backward models: ``times`` = the response latency ``-lag``, as :func:`to_evoked`), on the
        fitted vertices and ``subject``.
    """
    import mne
    from sklearn.utils.validation import check_is_fitted

    from ..utils._check import check_option

    check_is_fitted(est, "coef_")
    source = getattr(est, "source_", None)
    if source is None:
        raise ValueError(f"{type(est).__name__} was not fitted on a source estimate (mne.SourceEstimate): "
                         "use to_evoked() for sensor data, or trf_to_xarray() for arrays")
    cls = getattr(mne, source["kind"])
    tstep = 1.0 / float(est.sfreq)
    n_src = len(source["names"])
    if data is not None:
        arr = np.asarray(data, dtype=np.float64)
        if arr.ndim == 1 and n_src == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != n_src:
            raise ValueError(f"data must have shape (n_times, {n_src} vertices), got {arr.shape}")
        return cls(np.ascontiguousarray(arr.T), [v.copy() for v in source["vertices"]], float(tmin), tstep,
                   subject=source["subject"])
    backward = bool(getattr(est, "_backward_model", False))
    if (est.mne_input_ == "X") != backward:
        side = "predictors" if est.mne_input_ == "X" else "responses"
        raise ValueError(f"the source estimate was the {side} of this "
                         f"{'backward' if backward else 'forward'} model: its kernels are not over vertices")
    evs = to_evoked(est, feature=None, kind=kind, info=mne.create_info(n_src, float(est.sfreq), "misc"))
    out = [cls(ev.data, [v.copy() for v in source["vertices"]], float(ev.times[0]), tstep, subject=source["subject"])
           for ev in evs]
    if feature is None:
        return out
    names = [ev.comment for ev in evs]
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        if not -len(out) <= feature < len(out):
            raise IndexError(f"feature={feature} is out of range for {len(out)} feature(s) {names}")
        return out[int(feature)]
    check_option(str(feature), names, "feature")
    return out[names.index(str(feature))]
