"""Recognition analyses of EARSHOT (Magnuson et al. 2020, ``Result_Analysis.py`` at 9bbc247).

Two layers, as elsewhere in the package: kernels on plain arrays (:func:`cosine_similarity`,
:func:`recognition_time`, :func:`competitor_sets`) and :func:`evaluate_network`, which runs a
network over a :class:`~neurorrn.models.data.FeatureSet` and returns labelled results
(:class:`xarray.Dataset`), summarised by :func:`accuracy` and :func:`competitor_time_courses`.

Recognition criteria, on the cosine similarity ``CS_t(v)`` of the output at frame ``t`` to the
target of every word ``v``; ``T_t`` is the target's, ``O_t`` the best competitor's:

``absolute`` (0.7)
    No recognition if ``O_t > 0.7`` at any frame; else the first ``t`` with ``T_t > 0.7``.
``relative`` (0.05)
    The first ``t`` with ``T_t > O_t + 0.05``.
``time_dependent`` (0.05 for 10 frames; the paper's criterion)
    The first ``t < max_cycle - 10`` with ``T > O + 0.05`` on frames ``t .. t+9`` and ``T > O``
    on every frame from ``t + 10`` to the end.

As in EARSHOT (``cycle_Cut=True``), frames after a token's end hold its last in-token value
up to ``max_cycle`` (the longest token of the evaluated set), and because of EARSHOT's
``range(max_cycle - 10)`` a time-dependent RT can never fall in the last 10 padded frames.
We add ``1e-8`` to the norms of the cosine (EARSHOT has no epsilon, so an all-zero output gives
NaN there and 0 here).  RTs are in frames from token onset; offset RT = RT - the frame of the
word's offset (from the alignments, so the token's final pause is excluded; ``n_frames`` when
unknown).

Competitor categories (``Pattern_Generator.Category_Dict_Generate``): cohort = same first two
phones; rhyme = identical from the second phone on with a different first phone; DAS neighbour =
one deletion, addition or substitution; unrelated = none of these.  The categories overlap as in
EARSHOT (a rhyme is also a DAS neighbour).  EARSHOT's "embedding" category is always empty there
(a bug) and is not offered.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch
import xarray as xr

from .._dims import STIMULUS, TIME
from ..utils._check import check_option
from ..utils._logging import progress

CRITERIA = ("time_dependent", "absolute", "relative")
CATEGORIES = ("target", "cohort", "rhyme", "das_neighbour", "unrelated")


# ------------------------------------------------------------------------------------------
# kernels
# ------------------------------------------------------------------------------------------
def cosine_similarity(outputs: np.ndarray, targets: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Cosine similarity of each output frame to every target.

    Parameters
    ----------
    outputs : array of shape (..., n_time, n_dims)
    targets : array of shape (n_words, n_dims)

    Returns
    -------
    cs : array of shape (..., n_time, n_words)
    """
    o = np.asarray(outputs, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if o.shape[-1] != t.shape[-1]:
        raise ValueError(f"outputs have {o.shape[-1]} dims but targets have {t.shape[-1]}")
    on = np.linalg.norm(o, axis=-1, keepdims=True) + eps
    tn = np.linalg.norm(t, axis=-1, keepdims=True) + eps
    return (o / on) @ (t / tn).T


def _cosine_torch(outputs: torch.Tensor, targets: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    on = outputs.norm(dim=-1, keepdim=True) + eps
    tn = targets.norm(dim=-1, keepdim=True) + eps
    return (outputs / on) @ (targets / tn).T


def _extend(x: np.ndarray, n_frames: int, max_cycle: int) -> np.ndarray:
    """EARSHOT's cycle cut: hold the last in-token value up to ``max_cycle``."""
    out = np.empty((max_cycle,) + x.shape[1:], dtype=x.dtype)
    n = min(n_frames, max_cycle)
    out[:n] = x[:n]
    out[n:] = x[n - 1]
    return out


def recognition_time(cs: np.ndarray, target: int, *, criterion: str = "time_dependent",
                     n_frames: int | None = None, max_cycle: int | None = None,
                     threshold: float | None = None, window: int = 10) -> float:
    """Recognition time (in frames) of one token under one EARSHOT criterion.

    Parameters
    ----------
    cs : array of shape (n_time, n_words)
        Cosine similarity to every word's target over time.
    target : int
        Column of the token's word.
    criterion : {"time_dependent", "absolute", "relative"}
    n_frames : int | None
        Frames of the token (default all of ``cs``); later values are replaced by the last
        in-token value (EARSHOT's cycle cut).
    max_cycle : int | None
        Padded length of the evaluation (default ``n_time``).
    threshold : float | None
        0.7 (absolute), 0.05 (relative, time-dependent) by default.
    window : int
        Frames the time-dependent margin must hold (10).

    Returns
    -------
    rt : float
        First frame meeting the criterion, NaN if none.
    """
    check_option(criterion, CRITERIA, "criterion")
    cs = np.asarray(cs, dtype=np.float64)
    if cs.ndim != 2:
        raise ValueError(f"cs must have shape (n_time, n_words), got {cs.shape}")
    n_time, n_words = cs.shape
    if not 0 <= target < n_words:
        raise IndexError(f"target {target} out of range for {n_words} words")
    n_frames = n_time if n_frames is None else int(n_frames)
    max_cycle = n_time if max_cycle is None else int(max_cycle)
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if threshold is None:
        threshold = 0.7 if criterion == "absolute" else 0.05
    x = _extend(cs, n_frames, max_cycle)
    tgt = x[:, target]
    others = np.delete(x, target, axis=1)
    comp = others.max(axis=1) if others.shape[1] else np.full(max_cycle, -np.inf)
    if criterion == "absolute":
        if (comp > threshold).any():
            return float("nan")
        hit = np.flatnonzero(tgt > threshold)
        return float(hit[0]) if len(hit) else float("nan")
    margin = tgt - comp
    if criterion == "relative":
        hit = np.flatnonzero(margin > threshold)
        return float(hit[0]) if len(hit) else float("nan")
    n_start = max_cycle - window
    if n_start <= 0:
        return float("nan")
    above = (margin > threshold).astype(np.int64)
    csum = np.concatenate([[0], np.cumsum(above)])
    held = (csum[window : window + n_start] - csum[:n_start]) == window  # frames t..t+w-1 all above
    positive = margin > 0
    # suffix_ok[s] = all(margin[s:] > 0); suffix_ok[max_cycle] = True
    suffix_ok = np.concatenate([np.logical_and.accumulate(positive[::-1])[::-1], [True]])
    ok = held & suffix_ok[window : window + n_start]
    hit = np.flatnonzero(ok)
    return float(hit[0]) if len(hit) else float("nan")


def _edit1(a: tuple, b: tuple) -> bool:
    """True if ``b`` is one deletion, addition or substitution away from ``a``."""
    la, lb = len(a), len(b)
    if la == lb:
        return sum(x != y for x, y in zip(a, b)) == 1
    if abs(la - lb) != 1:
        return False
    s, t = (a, b) if la < lb else (b, a)
    for i in range(len(t)):
        if t[:i] + t[i + 1 :] == s:
            return True
    return False


def competitor_sets(pronunciations: Mapping[str, Sequence[str]], words: Sequence[str] | None = None) -> dict:
    """EARSHOT competitor categories of every word.

    Parameters
    ----------
    pronunciations : mapping word -> sequence of phones
    words : sequence of str | None
        The lexicon (order defines the indices; default the mapping's order).

    Returns
    -------
    sets : dict
        ``{word: {"cohort": [idx...], "rhyme": [...], "das_neighbour": [...], "unrelated": [...]}}``
        with indices into ``words``.
    """
    words = list(pronunciations) if words is None else list(words)
    missing = [w for w in words if w not in pronunciations]
    if missing:
        raise KeyError(f"{len(missing)} word(s) lack a pronunciation: {missing[:10]}")
    pron = [tuple(pronunciations[w]) for w in words]
    out = {}
    for i, w in enumerate(words):
        p = pron[i]
        cats = {"cohort": [], "rhyme": [], "das_neighbour": [], "unrelated": []}
        for j, q in enumerate(pron):
            if j == i:
                continue
            related = False
            if len(p) >= 2 and len(q) >= 2 and p[:2] == q[:2]:
                cats["cohort"].append(j)
                related = True
            if len(p) >= 2 and len(q) == len(p) and p[1:] == q[1:] and p[0] != q[0]:
                cats["rhyme"].append(j)
                related = True
            if _edit1(p, q):
                cats["das_neighbour"].append(j)
                related = True
            if not related:
                cats["unrelated"].append(j)
        out[w] = cats
    return out


# ------------------------------------------------------------------------------------------
# running a network
# ------------------------------------------------------------------------------------------
@torch.no_grad()
def network_outputs(model, data, batch_size: int = 256, device=None, verbose=None):
    """Yield ``(index, outputs)`` per batch: read-out activations ``(batch, time, n_dims)``.

    Every token starts from the zero state (EARSHOT's test mode).
    """
    device = model.device if device is None else torch.device(device)
    was_training = model.training
    model.eval()
    try:
        n = data.n_tokens
        for start in progress(range(0, n, batch_size), desc="evaluating", verbose=verbose):
            idx = torch.arange(start, min(n, start + batch_size))
            x, lengths = data.batch(idx, device=device)
            logits, _ = model(x, None, lengths, pack=False)  # same outputs as packed, faster
            yield idx.numpy(), model.output(logits.float())
    finally:
        model.train(was_training)


def evaluate_network(model, data, targets, *, pronunciations: Mapping[str, Sequence[str]] | None = None,
                     criteria: Sequence[str] = CRITERIA, max_cycle: int | None = None,
                     word_offsets=None, batch_size: int = 256, device=None, verbose=None) -> xr.Dataset:
    """Recognition times of every token, and competitor time courses.

    Parameters
    ----------
    model : SpeechRNN
    data : FeatureSet
        Tokens (their ``split`` labels, if any, are kept as a coord).
    targets : TargetSet
        The lexicon's targets; every token's word must have one.
    pronunciations : mapping word -> phones | None
        Needed for competitor time courses (cohort, rhyme, DAS neighbour, unrelated).
    criteria : sequence of str
    max_cycle : int | None
        Evaluation length (default the longest token of ``data``).
    word_offsets : array of shape (n_tokens,) | None
        Frame (from token onset) at which each token's *word* ends; offset RTs are measured from
        it, so a token's final pause does not count (default: the token's end, ``n_frames``).
        :func:`~neurorrn.speech.compute_features` gives it as the ``word_end`` coord (s).
    batch_size, device, verbose

    Returns
    -------
    ds : xarray.Dataset
        ``rt`` (criterion, stimulus) in frames; ``offset_rt`` = rt - word_offset (the word's
        offset frame; ``n_frames`` when not given); ``recognized``;
        with ``pronunciations``: ``cs`` (stimulus, category, time), the mean cosine over each
        category's members (NaN for empty categories), over ``max_cycle`` frames (cycle-cut).
        Coords ``word``, ``talker``, ``n_frames``, ``split``; attr ``frame_rate``.
    """
    for c in criteria:
        check_option(c, CRITERIA, "criterion")
    widx = targets.indices(list(data.word))
    max_cycle = int(data.lengths.max()) if max_cycle is None else int(max_cycle)
    tmat = torch.from_numpy(targets.matrix)
    sets = None
    if pronunciations is not None:
        sets = competitor_sets(pronunciations, targets.words)
    rt = np.full((len(criteria), data.n_tokens), np.nan)
    curves = np.full((data.n_tokens, len(CATEGORIES), max_cycle), np.nan, dtype=np.float32) if sets else None
    for idx, out in network_outputs(model, data, batch_size=batch_size, device=device, verbose=verbose):
        cs = _cosine_torch(out.to("cpu", torch.float64), tmat.to(torch.float64)).numpy()
        for k, i in enumerate(idx):
            n_f = int(data.lengths[i])
            c_i = cs[k, :n_f]
            for ci, crit in enumerate(criteria):
                rt[ci, i] = recognition_time(c_i, int(widx[i]), criterion=crit, n_frames=n_f, max_cycle=max_cycle)
            if sets is not None:
                ext = _extend(c_i, n_f, max_cycle)
                cat = sets[targets.words[widx[i]]]
                curves[i, 0] = ext[:, widx[i]]
                for j, name in enumerate(CATEGORIES[1:], 1):
                    members = cat[name]
                    if members:
                        curves[i, j] = ext[:, members].mean(axis=1)
    coords = {
        "criterion": list(criteria),
        STIMULUS: data.stimulus.astype(str),
        "word": (STIMULUS, data.word.astype(str)),
        "talker": (STIMULUS, data.talker.astype(str)),
        "n_frames": (STIMULUS, data.lengths),
        "split": (STIMULUS, (data.split if data.split is not None
                             else np.full(data.n_tokens, "trained", dtype=object)).astype(str)),
    }
    ds = xr.Dataset({"rt": (("criterion", STIMULUS), rt)}, coords=coords,
                    attrs={"frame_rate": float(data.frame_rate), "max_cycle": max_cycle})
    if word_offsets is None:
        wo = data.lengths.astype(np.float64)
    else:
        wo = np.asarray(word_offsets, dtype=np.float64)
        if wo.shape != (data.n_tokens,):
            raise ValueError(f"word_offsets must have one value per token ({data.n_tokens}), got shape {wo.shape}")
        wo = np.where(np.isfinite(wo), wo, data.lengths)
    ds = ds.assign_coords(word_offset=(STIMULUS, wo))
    ds["offset_rt"] = ds["rt"] - ds["word_offset"]
    ds["recognized"] = ds["rt"].notnull()
    if curves is not None:
        ds = ds.assign_coords(category=list(CATEGORIES), **{TIME: np.arange(max_cycle) / float(data.frame_rate)})
        ds["cs"] = ((STIMULUS, "category", TIME), curves)
    return ds


def save_evaluation(ds: xr.Dataset, path, overwrite: bool = False):
    """Write an evaluation Dataset to netCDF (``recognized`` stored as int8), atomically."""
    from ..utils._io import atomic_path

    out = ds.assign(recognized=ds["recognized"].astype(np.int8))
    with atomic_path(path, overwrite=overwrite) as tmp:
        out.to_netcdf(tmp, engine="h5netcdf")
    return path


def load_evaluation(path) -> xr.Dataset:
    """Read an evaluation written by :func:`save_evaluation`."""
    ds = xr.load_dataset(path, engine="h5netcdf")
    return ds.assign(recognized=ds["recognized"].astype(bool))


def accuracy(ds: xr.Dataset) -> xr.DataArray:
    """Fraction of tokens recognised, by criterion and split (plus ``"all"``).

    Returns
    -------
    acc : DataArray of shape (criterion, split)
        Splits present among ``trained``, ``excluded_word``, ``excluded_talker``, then ``all``;
        attr ``n`` lists the token counts in the same order.
    """
    splits = [s for s in ("trained", "excluded_word", "excluded_talker") if (ds["split"] == s).any()]
    vals, counts = [], []
    for s in splits + ["all"]:
        sel = ds["recognized"] if s == "all" else ds["recognized"].where(ds["split"] == s, drop=True)
        vals.append(sel.astype(float).mean(STIMULUS).values)
        counts.append(int(sel.sizes[STIMULUS]))
    return xr.DataArray(np.stack(vals, axis=1), dims=("criterion", "split"),
                        coords={"criterion": ds["criterion"].values, "split": splits + ["all"]},
                        attrs={"n": counts}, name="accuracy")


def mean_rt(ds: xr.Dataset, offset: bool = False) -> xr.DataArray:
    """Mean (offset) RT of recognised tokens in frames, by criterion and split."""
    v = ds["offset_rt" if offset else "rt"]
    splits = [s for s in ("trained", "excluded_word", "excluded_talker") if (ds["split"] == s).any()]
    out = [v.where(ds["split"] == s).mean(STIMULUS, skipna=True).values for s in splits]
    out.append(v.mean(STIMULUS, skipna=True).values)
    return xr.DataArray(np.stack(out, axis=1), dims=("criterion", "split"),
                        coords={"criterion": ds["criterion"].values, "split": splits + ["all"]},
                        name="offset_rt" if offset else "rt")


def competitor_time_courses(ds: xr.Dataset, *, only_correct: bool = True, criterion: str = "time_dependent",
                            split: str | Sequence[str] | None = None) -> xr.Dataset:
    """Mean cosine of target / cohort / rhyme / DAS neighbour / unrelated over tokens.

    EARSHOT's Fig. 3 averages correctly recognised tokens only (``only_correct``).

    Returns
    -------
    out : xarray.Dataset
        ``mean`` and ``se`` (standard error over tokens) with dims (category, time), and
        ``n`` (category,) tokens contributing.
    """
    if "cs" not in ds:
        raise ValueError("the evaluation has no competitor curves: pass pronunciations to evaluate_network")
    keep = np.ones(ds.sizes[STIMULUS], dtype=bool)
    if only_correct:
        keep &= ds["recognized"].sel(criterion=criterion).values
    if split is not None:
        keep &= np.isin(ds["split"].values, [split] if isinstance(split, str) else list(split))
    cs = ds["cs"].isel({STIMULUS: np.flatnonzero(keep)})
    n = cs.notnull().all(TIME).sum(STIMULUS)
    mean = cs.mean(STIMULUS, skipna=True)
    se = cs.std(STIMULUS, skipna=True, ddof=1) / np.sqrt(n.where(n > 0))
    return xr.Dataset({"mean": mean, "se": se, "n": n})
