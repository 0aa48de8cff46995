"""Phone-aligned responses of hidden units, from an ActivationStore and its alignment table.

Three ways to place a window (``align``):

``"onset"``
    Frames whose time lies in ``[onset + window[0], onset + window[1])`` for every phone interval
    of the phone tier (any window, e.g. Mesgarani et al.'s 100-150 ms after onset).
``"interval"``
    The whole phone: frames ``int(start * frame_rate)`` to ``int(end * frame_rate)`` (exclusive;
    at least one frame), as EARSHOT's ``Hidden_Analysis.Alignment.py`` slices aligned phones.
``"stimulus"``
    EARSHOT's diphone analysis (``Hidden_Analysis.py``): one token per stimulus, the window is
    relative to the stimulus onset (50-150 ms = frames 5-14 at 100 Hz for CV/VC diphones) and the
    token is labelled by the stimulus's **first** phone.

Every token is the mean of ``|h|`` (``absolute=True``, EARSHOT) or of signed ``h`` over its
frames.  Tokens whose window leaves the stimulus's valid frames are dropped (logged).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._dims import FEATURE, LAG, PHONE, STIMULUS, UNIT
from ..store import get_alignments, iter_stimuli, select
from ..utils._check import check_option, validate_type
from ..utils._logging import logger
from .features import ANALYSIS_PHONES, phone_feature_table, to_arpabet

#: Dim of single phone tokens (one row per aligned phone occurrence).
TOKEN = "token"
ALIGNS = ("onset", "interval", "stimulus")


def _check_store(store) -> xr.Dataset:
    if isinstance(store, (str, Path)):
        from ..store import open_store

        store = open_store(store)
    validate_type(store, xr.Dataset, "store")
    if "activation" not in store:
        raise ValueError("store has no 'activation' variable; expected an ActivationStore")
    return store


def phone_table(store, phones=ANALYSIS_PHONES, tier: str = "phone") -> pd.DataFrame:
    """The phone intervals of a store, with ARPAbet labels, position, word and talker.

    Parameters
    ----------
    store : xarray.Dataset
        An ActivationStore with an alignment table.
    phones : sequence of str | None
        Keep only these ARPAbet phones (stress digits and IPA labels are mapped first);
        ``None`` keeps every label.
    tier : str
        Alignment tier holding the phones.

    Returns
    -------
    table : DataFrame
        Columns ``stimulus, phone, start, end, position`` (index of the phone in its stimulus),
        ``first`` (whether it is the stimulus's first phone), ``word``, ``talker``.
    """
    store = _check_store(store)
    al = get_alignments(store, tier=tier)
    if not len(al):
        raise ValueError(f"the store has no alignment rows on tier {tier!r}; phone-aligned analyses "
                         "need a phone tier (columns stimulus, tier, label, start, end)")
    al = al.sort_values(["stimulus", "start"], kind="stable").reset_index(drop=True)
    al["phone"] = to_arpabet(al["label"])
    al["position"] = al.groupby("stimulus").cumcount()
    al["first"] = al["position"] == 0
    for c in ("word", "talker"):
        if c in store.coords and store[c].dims == (STIMULUS,):
            m = dict(zip(store[STIMULUS].values.astype(str), store[c].values.astype(str)))
            al[c] = al["stimulus"].map(m)
        else:
            al[c] = al["stimulus"]
    if phones is not None:
        al = al[al["phone"].isin(list(phones))]
    return al[["stimulus", "phone", "start", "end", "position", "first", "word", "talker"]].reset_index(drop=True)


def _frame_slices(rows: pd.DataFrame, align: str, window, frame_rate: float) -> tuple[np.ndarray, np.ndarray]:
    if align == "interval":
        a = np.floor(rows["start"].to_numpy() * frame_rate + 1e-9).astype(int)
        b = np.floor(rows["end"].to_numpy() * frame_rate + 1e-9).astype(int)
        b = np.maximum(b, a + 1)
        return a, b
    ref = rows["start"].to_numpy() if align == "onset" else np.zeros(len(rows))
    a = np.round((ref + window[0]) * frame_rate).astype(int)
    b = np.round((ref + window[1]) * frame_rate).astype(int)
    return a, b


def _token_coords(rows: pd.DataFrame, store) -> dict:
    """Coordinates of a token table's rows (dim ``token``) and of the store's units."""
    coords = {
        STIMULUS: (TOKEN, rows["stimulus"].to_numpy(dtype=object)),
        PHONE: (TOKEN, rows["phone"].to_numpy(dtype=object)),
        "word": (TOKEN, rows["word"].to_numpy(dtype=object)),
        "talker": (TOKEN, rows["talker"].to_numpy(dtype=object)),
        "onset": (TOKEN, rows["start"].to_numpy(dtype=float)),
        "position": (TOKEN, rows["position"].to_numpy(dtype=int)),
        UNIT: store[UNIT].values,
    }
    for c in ("layer", "component"):
        if c in store.coords:
            coords[c] = (UNIT, store[c].values)
    return coords


def phone_tokens(store, window=(0.05, 0.15), *, align: str = "onset", phones=ANALYSIS_PHONES,
                 absolute: bool = True, tier: str = "phone", layer=None, component=None,
                 chunk: int = 64) -> xr.DataArray:
    """Single-token responses: each aligned phone's mean response over a window.

    Parameters
    ----------
    store : xarray.Dataset | path
        ActivationStore (dims ``stimulus, time, unit``) with a phone tier, or its file.
    window : (float, float)
        Start and stop (s, or the store's time unit) relative to the phone onset (``"onset"``) or
        the stimulus onset (``"stimulus"``); ignored for ``"interval"``.
    align : {"onset", "interval", "stimulus"}
        See the module docstring.  ``"stimulus"`` with ``window=(0.05, 0.15)`` is EARSHOT's
        diphone PSI window, labelled by the first phone.
    phones : sequence of str | None
        Phones to keep (default the 33 analysis phones).
    absolute : bool
        Use ``|h|`` (EARSHOT) instead of signed ``h``.
    layer, component : str | list, optional
        Restrict to units of these layers/components.

    Returns
    -------
    tokens : DataArray, dims ("token", "unit")
        Float64 means; coords per token ``stimulus, phone, word, talker, onset, position,
        n_frames`` (frames averaged); per unit the store's unit coords.  attrs ``window``,
        ``align``, ``absolute``.
    """
    store = _check_store(store)
    check_option(align, ALIGNS, "align")
    if align != "interval":
        if len(window) != 2 or not window[1] > window[0]:
            raise ValueError(f"window must be (start, stop) with stop > start, got {window!r}")
    if layer is not None or component is not None:
        store = select(store, layer=layer, component=component)
    table = phone_table(store, phones=None, tier=tier)
    if align == "stimulus":
        table = table[table["first"]]
    if phones is not None:
        table = table[table["phone"].isin(list(phones))]
    if not len(table):
        raise ValueError(f"no phone intervals left for phones {list(phones)[:8]}...; the store's "
                         f"labels are {sorted(set(get_alignments(store, tier=tier)['label']))[:12]}")
    fr = float(store.attrs.get("frame_rate", 1.0))
    by_stim = {s: g for s, g in table.groupby("stimulus", sort=False)}
    n_units = store.sizes[UNIT]
    out, keep_rows, counts = [], [], []
    n_dropped = 0
    for sid, act in iter_stimuli(store, chunk=chunk):
        rows = by_stim.get(sid)
        if rows is None:
            continue
        a, b = _frame_slices(rows, align, window, fr)
        x = np.abs(act) if absolute else act
        for (idx, _), i0, i1 in zip(rows.iterrows(), a, b):
            if i0 < 0 or i1 > x.shape[0] or i1 <= i0:
                n_dropped += 1
                continue
            out.append(x[i0:i1].astype(np.float64).mean(axis=0))
            keep_rows.append(idx)
            counts.append(i1 - i0)
    if n_dropped:
        logger.info("phone_tokens: dropped %d of %d tokens whose window leaves the stimulus",
                    n_dropped, len(table))
    if not out:
        raise ValueError(f"every token's window {window} leaves its stimulus; check the window and "
                         "the store's time unit")
    rows = table.loc[keep_rows]
    data = np.vstack(out).reshape(len(out), n_units)
    coords = _token_coords(rows, store)
    coords["n_frames"] = (TOKEN, np.asarray(counts, dtype=int))
    return xr.DataArray(data, dims=(TOKEN, UNIT), coords=coords, name="response",
                        attrs={"window": list(map(float, window)) if align != "interval" else [],
                               "align": align, "absolute": int(absolute)})


def phone_means(tokens: xr.DataArray, phones=ANALYSIS_PHONES, by_talker: bool = False,
                weighting: str = "token") -> xr.DataArray:
    """Mean response per unit and phone (pooled over talkers, or per talker).

    Parameters
    ----------
    tokens : DataArray, dims ("token", "unit")
        From :func:`phone_tokens`.
    phones : sequence of str
        Phones (rows of the result, in this order); a phone without tokens gives NaN.
    by_talker : bool
        Add a ``talker`` dim (EARSHOT computes maps for "All" and for each talker).
    weighting : {"token", "frame"}
        ``"token"`` averages token means (diphone windows all have the same length, so this is
        EARSHOT's ``mean(axis=(0, 2))``); ``"frame"`` weights tokens by their number of frames,
        as the NaN-padded ``nanmean`` of EARSHOT's alignment-based analysis.

    Returns
    -------
    means : DataArray, dims ("unit", "phone") or ("unit", "phone", "talker")
    """
    validate_type(tokens, xr.DataArray, "tokens")
    check_option(weighting, ("token", "frame"), "weighting")
    if tokens.dims != (TOKEN, UNIT):
        raise ValueError(f"tokens must have dims ('token', 'unit'), got {tokens.dims}")
    return _group_means(tokens, {p: tokens[PHONE].values == p for p in phones}, PHONE, by_talker, weighting)


def feature_means(tokens: xr.DataArray, table: xr.DataArray | None = None, by_talker: bool = False,
                  weighting: str = "token") -> xr.DataArray:
    """Mean response per unit and feature: over the tokens whose phone has the feature (EARSHOT FSI).

    Parameters
    ----------
    tokens : DataArray, dims ("token", "unit")
    table : DataArray, dims ("phone", "feature"), optional
        Binary phone x feature table (default :func:`phone_feature_table`).

    Returns
    -------
    means : DataArray, dims ("unit", "feature") (+ "talker")
    """
    validate_type(tokens, xr.DataArray, "tokens")
    table = phone_feature_table() if table is None else table
    phone_of = tokens[PHONE].values
    masks = {}
    for f in table[FEATURE].values:
        members = table[PHONE].values[table.sel({FEATURE: f}).values.astype(bool)]
        masks[str(f)] = np.isin(phone_of, members)
    return _group_means(tokens, masks, FEATURE, by_talker, weighting)


def _group_means(tokens, masks: dict, dim: str, by_talker: bool, weighting: str) -> xr.DataArray:
    x = tokens.values
    w = tokens["n_frames"].values.astype(float) if weighting == "frame" else np.ones(x.shape[0])
    talkers = sorted(set(tokens["talker"].values.tolist())) if by_talker else [None]
    res = np.full((x.shape[1], len(masks), len(talkers)), np.nan)
    for k, t in enumerate(talkers):
        tm = np.ones(x.shape[0], bool) if t is None else tokens["talker"].values == t
        for j, m in enumerate(masks.values()):
            sel = m & tm
            if sel.any():
                res[:, j, k] = (w[sel, None] * x[sel]).sum(0) / w[sel].sum()
    coords = {UNIT: tokens[UNIT].values, dim: list(masks)}
    for c in ("layer", "component"):
        if c in tokens.coords:
            coords[c] = (UNIT, tokens[c].values)
    if by_talker:
        coords["talker"] = talkers
        return xr.DataArray(res, dims=(UNIT, dim, "talker"), coords=coords, name="mean_response",
                            attrs=dict(tokens.attrs))
    return xr.DataArray(res[:, :, 0], dims=(UNIT, dim), coords=coords, name="mean_response",
                        attrs=dict(tokens.attrs))


def phone_epochs(store, lags=(-0.1, 0.5), *, phones=ANALYSIS_PHONES, absolute: bool = False,
                 tier: str = "phone", layer=None, component=None, chunk: int = 64) -> xr.DataArray:
    """Hidden states at each lag around every phone onset (for probes and time-resolved RSA).

    Parameters
    ----------
    store : xarray.Dataset
        ActivationStore with a phone tier.
    lags : tuple (float, float) | list | array
        A tuple ``(start, stop)``: the inclusive range sampled at the store's frame rate (default
        -100 to +500 ms); a list or array: explicit lags (rounded to frames).
    absolute : bool
        ``|h|`` instead of signed ``h`` (probes use signed ``h`` by default).

    Returns
    -------
    epochs : DataArray, dims ("token", "lag", "unit")
        NaN where ``onset + lag`` falls outside the stimulus's valid frames; token coords as
        :func:`phone_tokens`.
    """
    store = _check_store(store)
    if layer is not None or component is not None:
        store = select(store, layer=layer, component=component)
    fr = float(store.attrs.get("frame_rate", 1.0))
    is_range = isinstance(lags, tuple)
    lags = np.asarray(lags, dtype=float)
    if is_range:
        if lags.shape != (2,):
            raise ValueError(f"a tuple of lags must be (start, stop), got {tuple(lags)}")
        if lags[1] < lags[0]:
            raise ValueError(f"lags must be (start, stop) with stop >= start, got {tuple(lags)}")
        steps = np.arange(int(np.round(lags[0] * fr)), int(np.round(lags[1] * fr)) + 1)
    else:
        if lags.ndim != 1 or lags.size == 0:
            raise ValueError(f"lags must be (start, stop) or a 1-D array of lags, got shape {lags.shape}")
        steps = np.round(lags * fr).astype(int)
    table = phone_table(store, phones=phones, tier=tier)
    if not len(table):
        raise ValueError(f"no phone intervals for phones {list(phones)[:8]}... in the store")
    by_stim = {s: g for s, g in table.groupby("stimulus", sort=False)}
    n_units = store.sizes[UNIT]
    blocks, idx = [], []
    for sid, act in iter_stimuli(store, chunk=chunk):
        rows = by_stim.get(sid)
        if rows is None:
            continue
        x = np.abs(act) if absolute else act
        on = np.round(rows["start"].to_numpy() * fr).astype(int)
        fi = on[:, None] + steps[None, :]
        valid = (fi >= 0) & (fi < x.shape[0])
        ep = np.full((len(rows), len(steps), n_units), np.nan, dtype=np.float32)
        ep[valid] = x[fi[valid]]
        blocks.append(ep)
        idx.extend(rows.index)
    rows = table.loc[idx]
    coords = _token_coords(rows, store)
    coords[LAG] = steps / fr
    return xr.DataArray(np.concatenate(blocks, axis=0), dims=(TOKEN, LAG, UNIT), coords=coords,
                        name="epochs", attrs={"absolute": int(absolute), "frame_rate": fr})


__all__ = ["ALIGNS", "TOKEN", "feature_means", "phone_epochs", "phone_means", "phone_table", "phone_tokens"]
