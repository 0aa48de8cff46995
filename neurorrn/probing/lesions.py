"""Lesions and ablations: silence, add noise to, or remove units, clusters or connections.

Two levels:

* **Recorded activity** (:func:`lesion_store`): change the hidden-unit time courses in a store
  (set units to 0, add Gaussian noise scaled to each unit's SD, or drop them).  The lesion does
  not propagate through the network -- it answers "what do the analyses (PSI, probes, encoding)
  lose without these units?".
* **The network** (:func:`lesion_module`, a context manager on a ``torch.nn.Module``): a unit of
  an ``nn.RNN``/``nn.GRU``/``nn.LSTM`` is *silenced* by zeroing all its outgoing weights -- its
  column in the layer's recurrent weights ``weight_hh_l{k}`` and in the next layer's
  ``weight_ih_l{k+1}`` -- and zeroing its output, so no later computation sees it; this equals
  forcing ``h_i(t) = 0`` at every step.  ``"noise"`` adds Gaussian noise to the unit's output
  (seen by downstream layers, not by the recurrence); ``"connections"`` zeroes chosen weight
  entries.  Weights are restored on exit.

:func:`lesion_sweep` repeats random lesions of growing size (and targeted lesions of clusters)
and records a score: recognition accuracy through any callable (e.g. one that runs a lesioned
torch model on test items), or an analysis of the lesioned store (:func:`psi_effect`).
"""

from __future__ import annotations

import contextlib

import numpy as np
import xarray as xr

from .._dims import CLUSTER, UNIT
from ..utils._check import check_option, check_random_state, validate_type
from ..utils._logging import progress

KINDS = ("silence", "noise", "remove")
REPEAT = "repeat"
SIZE = "size"


def _unit_mask(units_all, units=None, clusters: xr.DataArray | None = None, cluster=None) -> np.ndarray:
    units_all = np.asarray(units_all)
    if clusters is not None:
        if cluster is None:
            raise ValueError("give `cluster` (one label or a list) together with `clusters`")
        lab = clusters.sel({UNIT: units_all}).values
        want = np.atleast_1d(cluster)
        missing = [c for c in want if c not in set(lab.tolist())]
        if missing:
            raise KeyError(f"cluster label(s) {missing} not in clusters; have {sorted(set(lab.tolist()))}")
        return np.isin(lab, want)
    if units is None:
        raise ValueError("give `units` (ids or a boolean mask) or `clusters` and `cluster`")
    u = np.asarray(units)
    if u.dtype == bool:
        if u.shape != units_all.shape:
            raise ValueError(f"a boolean unit mask must have shape {units_all.shape}, got {u.shape}")
        return u
    missing = [x for x in u.tolist() if x not in set(units_all.tolist())]
    if missing:
        raise KeyError(f"unit id(s) {missing[:10]} not in the store")
    return np.isin(units_all, u)


def lesion_store(store: xr.Dataset, units=None, kind: str = "silence", *, clusters: xr.DataArray | None = None,
                 cluster=None, noise_sd: float = 1.0, random_state=None) -> xr.Dataset:
    """A copy of a store with some units silenced, made noisy, or removed.

    Parameters
    ----------
    store : xarray.Dataset
        ActivationStore (loaded into memory).
    units : sequence of unit ids | bool mask, optional
        Units to lesion (or use ``clusters`` + ``cluster``).
    kind : {"silence", "noise", "remove"}
        Set to 0; add N(0, (noise_sd * SD_u)^2) noise (SD_u: the unit's SD over all valid
        frames); or drop the units.
    clusters : DataArray over "unit", optional
        Cluster labels (e.g. ``kmeans_units(...)["cluster"]``); lesion the units of ``cluster``.

    Returns
    -------
    store : xarray.Dataset
        attrs ``lesion_kind`` and ``lesion_n_units`` added.
    """
    validate_type(store, xr.Dataset, "store")
    check_option(kind, KINDS, "kind")
    mask = _unit_mask(store[UNIT].values, units, clusters, cluster)
    if kind == "remove":
        out = store.isel({UNIT: np.flatnonzero(~mask)})
    else:
        act = store["activation"].values.copy()
        if kind == "silence":
            act[:, :, mask] = np.where(np.isnan(act[:, :, mask]), np.nan, 0.0)
        else:
            rng = check_random_state(random_state)
            sd = np.nanstd(act[:, :, mask], axis=(0, 1))
            act[:, :, mask] += (rng.standard_normal(act[:, :, mask].shape) * noise_sd * sd).astype(act.dtype)
        out = store.copy()
        out["activation"] = (store["activation"].dims, act)
    out.attrs = {**store.attrs, "lesion_kind": kind, "lesion_n_units": int(mask.sum())}
    return out


def _rnn_layers(module):
    import torch.nn as nn

    if not isinstance(module, (nn.RNN, nn.GRU, nn.LSTM)):
        raise TypeError(f"lesion_module needs an nn.RNN, nn.GRU or nn.LSTM, got {type(module).__name__}")
    if module.bidirectional:
        raise ValueError("bidirectional RNNs are not supported by lesion_module")
    if getattr(module, "proj_size", 0):
        raise ValueError("LSTMs with proj_size are not supported by lesion_module")
    return module.num_layers


@contextlib.contextmanager
def lesion_module(module, units, kind: str = "silence", *, layer: int = 0, noise_sd: float = 1.0,
                  connections: dict | None = None, random_state=None):
    """Lesion a recurrent torch module inside a ``with`` block.

    Parameters
    ----------
    module : torch.nn.RNN | torch.nn.GRU | torch.nn.LSTM (``batch_first`` either way; packed
        sequences too).  For a :class:`neurorrn.models.networks.SpeechRNN`, pass
        ``model.layers[k]`` with ``layer=0``.
    units : sequence of int
        Hidden-unit indices of ``layer``.
    kind : {"silence", "noise", "connections"}
        ``"silence"``: zero the units' outgoing weights (``weight_hh_l{layer}[:, units]``, and
        ``weight_ih_l{layer+1}[:, units]``) and their output, which is exactly ``h_i = 0`` at every
        step; ``"noise"``: add N(0, noise_sd^2) to the units' output of the last layer (downstream
        readers only); ``"connections"``: zero ``connections = {param_name: bool mask or index
        tuple}`` of ``module.named_parameters()``.
    layer : int
        Which stacked layer ``units`` belong to.  Only the last layer's outputs reach the
        module's output sequence.

    Yields
    ------
    module
        The lesioned module; parameters are restored (and hooks removed) on exit.
    """
    import torch

    check_option(kind, ("silence", "noise", "connections"), "kind")
    n_layers = _rnn_layers(module)
    if not 0 <= layer < n_layers:
        raise ValueError(f"layer must be in [0, {n_layers - 1}], got {layer}")
    idx = torch.as_tensor(np.asarray(units if units is not None else [], dtype=np.int64))
    if idx.numel() and (idx.min() < 0 or idx.max() >= module.hidden_size):
        raise ValueError(f"unit indices must lie in [0, {module.hidden_size - 1}], got {idx.tolist()[:10]}")
    saved = {}
    hooks = []
    params = dict(module.named_parameters())

    def _zero(name, where):
        p = params[name]
        saved.setdefault(name, p.detach().clone())
        with torch.no_grad():
            p[where] = 0.0

    gen = torch.Generator().manual_seed(int(check_random_state(random_state).integers(2**31)))

    def _edit(t):
        t = t.clone()
        if kind == "silence":
            t[..., idx] = 0.0
        else:
            t[..., idx] = t[..., idx] + torch.randn(t[..., idx].shape, generator=gen).to(t) * noise_sd
        return t

    def _hook(mod, inputs, output):
        from torch.nn.utils.rnn import PackedSequence

        seq = output[0] if isinstance(output, tuple) else output
        seq = seq._replace(data=_edit(seq.data)) if isinstance(seq, PackedSequence) else _edit(seq)
        if not isinstance(output, tuple):
            return seq
        state = output[1]
        if kind == "silence":  # the returned final state of the layer, too (carried by stateful runs)
            if isinstance(state, tuple):  # LSTM: (h_n, c_n)
                h_n = state[0].clone()
                h_n[layer, ..., idx] = 0.0
                state = (h_n, *state[1:])
            else:
                state = state.clone()
                state[layer, ..., idx] = 0.0
        return (seq, state)

    try:
        if kind == "silence":
            _zero(f"weight_hh_l{layer}", (slice(None), idx))
            if layer + 1 < n_layers:
                _zero(f"weight_ih_l{layer + 1}", (slice(None), idx))
            if layer == n_layers - 1:
                hooks.append(module.register_forward_hook(_hook))
        elif kind == "noise":
            if layer != n_layers - 1:
                raise ValueError("kind='noise' acts on the module's output, i.e. the last layer")
            hooks.append(module.register_forward_hook(_hook))
        else:
            if not connections:
                raise ValueError("kind='connections' needs connections={param_name: mask or index}")
            for name, where in connections.items():
                if name not in params:
                    raise KeyError(f"{name!r} is not a parameter of the module; have {sorted(params)}")
                _zero(name, torch.as_tensor(where) if isinstance(where, np.ndarray) else where)
        yield module
    finally:
        for h in hooks:
            h.remove()
        with torch.no_grad():
            for name, val in saved.items():
                params[name].copy_(val)


def lesion_sweep(score, units, sizes, n_repeats: int = 10, *, clusters: xr.DataArray | None = None,
                 random_state=0, verbose=None) -> xr.Dataset:
    """Scores after repeated random lesions of growing size, and after lesioning each cluster.

    Parameters
    ----------
    score : callable(mask) -> float
        Gets a boolean mask over ``units`` (True = lesioned) and returns a score, e.g. the
        recognition accuracy of a model run under :func:`lesion_module`, or an analysis of
        :func:`lesion_store`.
    units : array of unit ids
    sizes : sequence of int | float
        Lesion sizes: counts, or fractions of the units when all are < 1.
    n_repeats : int
        Random lesions per size.
    clusters : DataArray over "unit", optional
        Also lesion each cluster on its own (``cluster_score``) and a random set of the same
        size (``cluster_control``).

    Returns
    -------
    Dataset
        ``score`` (size, repeat); ``baseline`` (no lesion); with clusters ``cluster_score`` and
        ``cluster_control`` (cluster).
    """
    if not callable(score):
        raise TypeError(f"score must be a callable taking a boolean unit mask, got {type(score).__name__}")
    units = np.asarray(units)
    n = len(units)
    rng = check_random_state(random_state)
    sizes = np.asarray(sizes, dtype=float)
    counts = np.round(sizes * n).astype(int) if (sizes < 1).all() and (sizes > 0).any() else sizes.astype(int)
    if (counts < 0).any() or (counts > n).any():
        raise ValueError(f"lesion sizes must lie in [0, {n}] units, got {counts.tolist()}")
    base = float(score(np.zeros(n, bool)))
    res = np.full((len(counts), int(n_repeats)), np.nan)
    for i in progress(range(len(counts)), desc="lesion sweep", verbose=verbose):
        for r in range(int(n_repeats)):
            m = np.zeros(n, bool)
            m[rng.choice(n, counts[i], replace=False)] = True
            res[i, r] = score(m)
    ds = xr.Dataset({"score": ((SIZE, REPEAT), res), "baseline": base},
                    coords={SIZE: counts, REPEAT: np.arange(int(n_repeats))})
    if clusters is not None:
        lab = clusters.sel({UNIT: units}).values
        ks = np.unique(lab)
        cs, cc = [], []
        for k in ks:
            m = lab == k
            cs.append(score(m))
            ctrl = np.zeros(n, bool)
            ctrl[rng.choice(n, int(m.sum()), replace=False)] = True
            cc.append(score(ctrl))
        ds["cluster_score"] = (CLUSTER, np.asarray(cs, float))
        ds["cluster_control"] = (CLUSTER, np.asarray(cc, float))
        ds = ds.assign_coords({CLUSTER: ks})
    return ds


def psi_effect(store: xr.Dataset, psi_fn, kind: str = "silence", **lesion_kwargs):
    """A ``score`` callable for :func:`lesion_sweep`: ``psi_fn`` applied to the lesioned store.

    ``psi_fn(store) -> float`` is e.g. the number of selective units or a probe's peak score.
    """
    units = store[UNIT].values

    def _score(mask):
        return float(psi_fn(lesion_store(store, mask, kind, **lesion_kwargs) if mask.any() else store))

    _score.units = units
    return _score


__all__ = ["KINDS", "lesion_module", "lesion_store", "lesion_sweep", "psi_effect"]
