"""Cross-validation folds for time series: contiguous blocks, never shuffled samples.

Every fold scheme is reduced to a membership matrix ``M`` (n_samples, n_folds) with 0 = unused,
1 = train, 2 = test.  Samples are cut into *pieces* (maximal runs inside one segment with the same
row of ``M``) and pieces with the same row form a *block*; the ridge statistics are computed once
per block, and each fold's train/test statistics are sums of blocks.  A piece is treated as its
own segment (lags do not reach across a cut), which is what keeps test data out of training.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np


@dataclass
class FoldPlan:
    pieces: list  # (segment index, start, stop, block id)
    folds: list  # (train block ids, test block ids)
    n_blocks: int
    cut: bool  # True when some segment is split into several pieces


def _expand_groups(groups, seg_lengths):
    n = int(np.sum(seg_lengths))
    g = np.asarray(groups)
    if g.ndim != 1:
        raise ValueError(f"groups must be 1-D (one label per sample or per segment), got shape {g.shape}")
    if len(g) == len(seg_lengths) and len(g) != n:
        return np.repeat(g, seg_lengths)
    if len(g) != n:
        raise ValueError(
            f"groups has {len(g)} labels; expected one per sample ({n}) or one per segment ({len(seg_lengths)})"
        )
    return g


def make_folds(seg_lengths, cv=5, groups=None, n_lags: int = 1) -> FoldPlan:
    """Plan the folds for segments of ``seg_lengths`` samples.

    Parameters
    ----------
    seg_lengths : list of int
    cv : int | sklearn splitter | iterable of (train, test)
        An int ``K`` gives ``K`` contiguous folds: whole segments (balanced by duration) when there
        are at least ``K`` segments, otherwise ``K`` equal contiguous stretches of the concatenated
        recording; with ``groups`` the groups (in order of appearance) are split into ``K``
        contiguous sets.  A splitter's ``split(X, groups=groups)`` or explicit index pairs are
        taken as given (sample indices into the concatenated segments).
    groups : array, optional
        One label per sample or per segment (for example the run or story).
    n_lags : int
        Used to reject fold schemes whose blocks are shorter than the lag window (shuffled splits).
    """
    seg_lengths = [int(t) for t in seg_lengths]
    n = int(np.sum(seg_lengths))
    offsets = np.concatenate([[0], np.cumsum(seg_lengths)])
    if groups is not None:
        groups = _expand_groups(groups, seg_lengths)
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        K = int(cv)
        if K < 2:
            raise ValueError(f"cv must be >= 2 folds, got {K}")
        if groups is not None:
            _, first = np.unique(groups, return_index=True)
            order = groups[np.sort(first)]
            if len(order) < 2:
                raise ValueError("groups has a single label; cross-validation needs at least 2 groups")
            parts = np.array_split(order, min(K, len(order)))
            lut = {g: k for k, part in enumerate(parts) for g in part}
            label = np.array([lut[g] for g in groups])
        elif len(seg_lengths) >= K:
            mid = offsets[:-1] + np.asarray(seg_lengths) / 2
            seg_fold = np.minimum((K * mid / n).astype(int), K - 1)
            if len(np.unique(seg_fold)) < K:
                seg_fold = np.concatenate([np.full(len(p), k) for k, p in
                                           enumerate(np.array_split(np.arange(len(seg_lengths)), K))])
            label = np.repeat(seg_fold, seg_lengths)
        else:
            if n < K * 2 * n_lags:
                raise ValueError(
                    f"cannot cut {n} samples into {K} contiguous folds longer than the lag window "
                    f"({n_lags} lags); use fewer folds or shorter lags"
                )
            label = np.minimum((K * np.arange(n)) // n, K - 1)
        n_folds = int(label.max()) + 1
        M = np.where(label[:, None] == np.arange(n_folds)[None, :], 2, 1).astype(np.int8)
    else:
        if hasattr(cv, "split"):
            splits = list(cv.split(np.zeros((n, 1)), groups=groups))
        else:
            try:
                splits = list(cv)
            except TypeError:
                raise TypeError(
                    f"cv must be an int, a scikit-learn splitter or an iterable of (train, test) index "
                    f"arrays, got {type(cv).__name__}"
                ) from None
        if not splits:
            raise ValueError("cv produced no folds")
        M = np.zeros((n, len(splits)), dtype=np.int8)
        for k, (tr, te) in enumerate(splits):
            tr, te = np.asarray(tr, dtype=int), np.asarray(te, dtype=int)
            if np.intersect1d(tr, te).size:
                raise ValueError(f"cv fold {k}: train and test indices overlap")
            M[tr, k] = 1
            M[te, k] = 2
    pieces = []
    starts_rows = []
    for s, (a, b) in enumerate(zip(offsets[:-1], offsets[1:])):
        m = M[a:b]
        change = np.flatnonzero(np.any(m[1:] != m[:-1], axis=1)) + 1
        bounds = np.concatenate([[0], change, [b - a]])
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            pieces.append((s, int(lo), int(hi)))
            starts_rows.append(m[lo])
    rows = np.asarray(starts_rows)
    sig, inv = np.unique(rows, axis=0, return_inverse=True)
    inv = np.asarray(inv).ravel()
    lengths = np.array([hi - lo for _, lo, hi in pieces])
    used = np.any(rows > 0, axis=1)
    if np.median(lengths[used]) < n_lags:
        raise ValueError(
            f"the cv scheme cuts the data into pieces of median length {np.median(lengths[used]):g} samples, "
            f"shorter than the {n_lags}-lag window: folds look shuffled. TRFs need contiguous folds "
            "(shuffled samples of one recording leak through the lags and inflate scores); pass an int cv, "
            "or a GroupKFold with groups=run/segment labels"
        )
    folds = []
    for k in range(M.shape[1]):
        tr = np.flatnonzero(sig[:, k] == 1)
        te = np.flatnonzero(sig[:, k] == 2)
        if not len(tr) or not len(te):
            raise ValueError(f"cv fold {k} has an empty {'training' if not len(tr) else 'test'} set")
        folds.append((tr, te))
    plan_pieces = [(s, lo, hi, int(inv[i])) for i, (s, lo, hi) in enumerate(pieces) if used[i]]
    cut = len(pieces) != len(seg_lengths) or not used.all()
    return FoldPlan(plan_pieces, folds, len(sig), cut)
