"""Predictors for encoding models, built from ActivationStores and placed on a recording's timeline.

Kinds (for hidden states ``h`` of shape (n_frames, n_units) of one stimulus):

``units``      every selected unit's time course.
``pca``        principal components of the units (PCA fitted on all placed stimuli together).
``magnitude``  Brodbeck et al.'s ``sum_units |h_t|``, one predictor per layer.
``change``     Brodbeck et al.'s ``sum_units max(|h_t| - |h_{t-1}|, 0)`` (``|h_{-1}| = 0``), per layer.
``kmeans``     units clustered with K-means on their ``|h|`` time courses, each unit divided by its SD
               over time without centring; per cluster the mean ``|h|`` (``sum``) and the mean
               rectified change (``onset``) — 2K predictors, as Brodbeck et al.'s
               ``make_cluster_predictors``.  ``kmeans_per_layer=True`` clusters each layer's units
               separately (K clusters per layer); pooled clusters carry their majority layer
               (attr ``cluster_layer``, Brodbeck et al.'s optional split for deep models).

Brodbeck et al. cluster the time courses of the whole recorded sessions; here the time courses are
those of the distinct stimuli placed on the timeline (each once), which is the same data without
the silences and repetitions.  Predictors are resampled from the store's frame rate to ``sfreq``
with a polyphase anti-aliasing filter (``scipy.signal.resample_poly``) and added at each sound's
onset (``round(onset * sfreq)``); they are zero elsewhere.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import xarray as xr

from .._dims import FEATURE, TIME
from ..utils._check import check_option, check_positive, check_random_state

KINDS = ("units", "pca", "magnitude", "change", "kmeans")
KMEANS_TRANSFORMS = ("sum", "onset")


def _sounds(timeline) -> tuple[pd.DataFrame, float, int | None]:
    if isinstance(timeline, pd.DataFrame):
        events, tl_sfreq, n_times = timeline, None, None
    elif hasattr(timeline, "events"):
        events, tl_sfreq, n_times = timeline.events, getattr(timeline, "sfreq", None), getattr(timeline, "n_times", None)
    else:
        raise TypeError(f"timeline must be a neurorrn.brain.Timeline or an events DataFrame, got {type(timeline).__name__}")
    missing = [c for c in ("onset", "kind", "stimulus") if c not in events.columns]
    if missing:
        raise ValueError(f"timeline events lack column(s) {missing}; they have {list(events.columns)}")
    snd = events[events["kind"] == "sound"]
    if not len(snd):
        raise ValueError("the timeline has no 'sound' events: predictors are placed at sound onsets")
    return snd, tl_sfreq, n_times


def _abs_change(a: np.ndarray) -> np.ndarray:
    """``max(|h_t| - |h_{t-1}|, 0)`` with ``|h_{-1}| = 0``: (n_frames, n_units)."""
    ab = np.abs(a)
    return np.clip(np.diff(ab, axis=0, prepend=0.0), 0.0, None)


def resample(x: np.ndarray, from_rate: float, to_rate: float) -> np.ndarray:
    """Resample (n_frames, n) from ``from_rate`` to ``to_rate`` along axis 0 (polyphase, anti-aliased)."""
    if np.isclose(from_rate, to_rate, rtol=1e-9):
        return x
    from scipy.signal import resample_poly

    frac = Fraction(to_rate / from_rate).limit_denominator(1000)
    n_out = int(np.ceil(x.shape[0] * to_rate / from_rate))
    y = resample_poly(x, frac.numerator, frac.denominator, axis=0, padtype="line")
    if y.shape[0] < n_out:
        y = np.concatenate([y, np.repeat(y[-1:], n_out - y.shape[0], axis=0)])
    return y[:n_out]


def predictors_from_store(store, timeline, sfreq: float | None = None, kind: str = "units", *,
                          layer=None, component=None, units=None, n_components: int = 10,
                          n_clusters: int = 8, kmeans_transforms=KMEANS_TRANSFORMS, kmeans_per_layer: bool = False,
                          n_times: int | None = None, random_state=0) -> xr.DataArray:
    """Model predictors on a recording's clock.

    Parameters
    ----------
    store : ActivationStore Dataset or path
        Dims (stimulus, time, unit), ``time_unit`` seconds, attr ``frame_rate`` (Hz).
    timeline : neurorrn.brain.Timeline | DataFrame
        Its ``'sound'`` rows give, per stimulus id, the onset in the recording (s).
    sfreq : float | None
        Rate of the output (default: the timeline's ``sfreq``).
    kind : {'units', 'pca', 'magnitude', 'change', 'kmeans'}
    layer, component, units : optional selections of units (a layer name or list of them, ...).
    n_components : int
        PCA components.
    n_clusters : int
        K of K-means; ``kmeans_transforms`` picks ``'sum'`` and/or ``'onset'`` per cluster.
    kmeans_per_layer : bool
        Cluster each layer's units on their own (K per layer; names ``kmeans{K}:{layer}:{c}:{t}``).
    n_times : int | None
        Output length in samples (default: the timeline's ``n_times``, else the end of the last sound).
    random_state : int | Generator | None
        Seeds K-means.

    Returns
    -------
    DataArray (time, feature)
        float64; coords ``time`` (s), ``feature`` (str names such as ``'magnitude:lstm1'``); attrs
        ``kind``, ``sfreq``, ``frame_rate``, ``model_id`` and, for K-means, ``unit_cluster`` (the
        cluster of each selected unit) and ``units`` (their ids, as strings joined by ``','``).
    """
    from ..store import open_store

    check_option(kind, KINDS, "kind")
    ds = store if isinstance(store, xr.Dataset) else open_store(store)
    if ds.attrs.get("time_unit", "s") != "s":
        raise ValueError(
            f"the store's time_unit is {ds.attrs.get('time_unit')!r}; predictors on a recording's clock need "
            "activations in seconds (time_unit='s') and a frame_rate in Hz"
        )
    frame_rate = float(ds.attrs["frame_rate"])
    snd, tl_sfreq, tl_n = _sounds(timeline)
    sfreq = tl_sfreq if sfreq is None else sfreq
    if sfreq is None:
        raise ValueError("sfreq is required when timeline is a DataFrame")
    check_positive(sfreq, "sfreq")
    mask = np.ones(ds.sizes["unit"], bool)
    for name, sel in (("layer", layer), ("component", component)):
        if sel is not None:
            vals = ds[name].values.astype(str)
            want = [sel] if isinstance(sel, str) else list(sel)
            bad = [w for w in want if w not in set(vals)]
            if bad:
                raise ValueError(f"store has no {name} {bad}; it has {sorted(set(vals))}")
            mask &= np.isin(vals, want)
    if units is not None:
        ids = ds["unit"].values
        want = set(np.asarray(units).tolist())
        bad = want - set(ids.tolist())
        if bad:
            raise ValueError(f"store has no unit(s) {sorted(bad, key=str)[:10]}")
        mask &= np.isin(ids, list(want))
    sub = ds.isel(unit=np.flatnonzero(mask))
    stim_ids = set(ds["stimulus"].values.astype(str).tolist())
    needed = list(dict.fromkeys(snd["stimulus"].astype(str)))
    missing = [s for s in needed if s not in stim_ids]
    if missing:
        raise ValueError(f"the store has no activations for stimulus id(s) {missing[:10]} named by the timeline's "
                         f"sound events ({len(missing)} missing; the store has e.g. {sorted(stim_ids)[:5]})")
    acts = {}
    for s in needed:
        nf = int(sub["n_frames"].sel(stimulus=s))
        acts[s] = np.asarray(sub["activation"].sel(stimulus=s).values[:nf], dtype=np.float64)
        if not np.all(np.isfinite(acts[s])):
            raise ValueError(f"store activations of stimulus {s!r} hold NaN inside its n_frames={nf}")
    layers = sub["layer"].values.astype(str)
    unit_ids = sub["unit"].values
    if kind == "kmeans" and kmeans_per_layer:
        feats, names, attrs = {s: [] for s in acts}, [], {"unit_cluster": np.zeros(len(layers), np.int64)}
        for lay in dict.fromkeys(layers):
            m = layers == lay
            f_l, n_l, a_l = _features({s: a[:, m] for s, a in acts.items()}, kind, layers[m], unit_ids[m],
                                      n_components, n_clusters, kmeans_transforms, random_state)
            for s in acts:
                feats[s].append(f_l[s])
            names += [n.replace(f"kmeans{int(n_clusters)}:", f"kmeans{int(n_clusters)}:{lay}:", 1) for n in n_l]
            attrs["unit_cluster"][m] = a_l["unit_cluster"]
        feats = {s: np.concatenate(v, axis=1) for s, v in feats.items()}
        attrs["units"] = ",".join(str(u) for u in unit_ids)
    else:
        feats, names, attrs = _features(acts, kind, layers, unit_ids, n_components, n_clusters,
                                        kmeans_transforms, random_state)
    if n_times is None:
        n_times = tl_n if tl_n is not None else int(max(
            round(o * sfreq) + int(np.ceil(len(acts[s]) * sfreq / frame_rate))
            for o, s in zip(snd["onset"], snd["stimulus"].astype(str))))
    out = np.zeros((int(n_times), len(names)))
    for onset, s in zip(snd["onset"].to_numpy(), snd["stimulus"].astype(str)):
        f = resample(feats[s], frame_rate, sfreq)
        i0 = int(round(onset * sfreq))
        if i0 < 0 or i0 >= n_times:
            raise ValueError(f"sound {s!r} at onset {onset:g} s lies outside the {n_times} samples "
                             f"({n_times / sfreq:g} s) of the output")
        n = min(f.shape[0], n_times - i0)
        out[i0:i0 + n] += f[:n]
    attrs.update({"kind": kind, "sfreq": float(sfreq), "frame_rate": frame_rate,
                  "model_id": str(ds.attrs.get("model_id", ""))})
    return xr.DataArray(out, dims=(TIME, FEATURE),
                        coords={TIME: np.arange(n_times) / float(sfreq), FEATURE: np.asarray(names, dtype=object)},
                        name=f"predictors_{kind}", attrs=attrs)


def _features(acts, kind, layers, unit_ids, n_components, n_clusters, transforms, random_state):
    keys = list(acts)
    attrs: dict = {}
    if kind == "units":
        return acts, [str(u) for u in unit_ids], attrs
    if kind in ("magnitude", "change"):
        ulayers = list(dict.fromkeys(layers))
        fn = np.abs if kind == "magnitude" else _abs_change
        out = {s: np.stack([fn(a)[:, layers == lay].sum(1) for lay in ulayers], axis=1) for s, a in acts.items()}
        return out, [f"{kind}:{lay}" for lay in ulayers], attrs
    cat = np.concatenate([acts[s] for s in keys])
    if kind == "pca":
        from sklearn.decomposition import PCA

        k = int(n_components)
        if not 1 <= k <= min(cat.shape):
            raise ValueError(f"n_components must be in 1..{min(cat.shape)}, got {n_components}")
        pca = PCA(k, svd_solver="full").fit(cat)
        attrs["explained_variance_ratio"] = pca.explained_variance_ratio_.astype(np.float64)
        return {s: pca.transform(a) for s, a in acts.items()}, [f"pc{i}" for i in range(k)], attrs
    # kmeans
    from sklearn.cluster import KMeans

    tr = [transforms] if isinstance(transforms, str) else list(transforms)
    for t in tr:
        check_option(t, KMEANS_TRANSFORMS, "kmeans_transforms")
    k = int(n_clusters)
    n_units = cat.shape[1]
    if not 1 <= k <= n_units:
        raise ValueError(f"n_clusters must be in 1..{n_units} (the number of units), got {n_clusters}")
    ab = np.abs(cat)
    sd = ab.std(0)
    sd[sd == 0] = 1.0
    seed = int(check_random_state(random_state).integers(2**31 - 1))
    labels = KMeans(k, n_init="auto", random_state=seed).fit_predict((ab / sd).T)
    # renumber clusters by first appearance so the output does not depend on KMeans' label order
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    lut = np.empty(k, int)
    lut[np.unique(labels)[order]] = np.arange(len(order))
    labels = lut[labels]
    out = {}
    for s, a in acts.items():
        cols = []
        for c in range(k):
            m = labels == c
            if "sum" in tr:
                cols.append(np.abs(a[:, m]).mean(1))
            if "onset" in tr:
                cols.append(_abs_change(a[:, m]).mean(1))
        out[s] = np.stack(cols, axis=1)
    names = [f"kmeans{k}:{c}:{t}" for c in range(k) for t in ("sum", "onset") if t in tr]
    attrs["unit_cluster"] = labels.astype(np.int64)
    attrs["units"] = ",".join(str(u) for u in unit_ids)
    # majority layer of each cluster (ties: the layer that comes first)
    ulay = list(dict.fromkeys(layers))
    attrs["cluster_layer"] = ",".join(
        ulay[int(np.argmax([np.sum((labels == c) & (layers == lay)) for lay in ulay]))] for c in range(k))
    return out, names, attrs
