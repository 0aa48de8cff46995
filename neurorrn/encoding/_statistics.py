"""Statistics for encoding models: circular-shift nulls, noise ceilings, variance partitioning."""

from __future__ import annotations

import itertools

import numpy as np
import xarray as xr
from sklearn.base import clone

from .._dims import TARGET
from ..utils._check import check_option, check_random_state, validate_type
from ..utils._logging import logger, progress, use_log_level
from ._backend import single_blas_thread
from ._folds import make_folds
from ._inputs import as_segments, check_lags, match_segments
from ._solve import alpha_path_scores, eig, fold_problems
from ._suffstats import replace_y, segment_stats
from ._trf import TRF


# ----------------------------------------------------------------------------------------------
# circular-shift null
# ----------------------------------------------------------------------------------------------
def circular_shift_null(estimator: TRF, X, Y, n_permutations: int = 100, groups=None,
                        min_shift: float | None = None, random_state=0, verbose=None) -> xr.Dataset:
    """Null distribution of the cross-validated score from circular shifts within segments.

    Each permutation shifts, inside every segment independently, the responses circularly by a
    random offset of at least ``min_shift`` seconds (default: the lag window plus 1 s, capped at a
    third of the segment) relative to the predictors.  Shifting the responses by ``-k`` gives the
    same misalignment of the two as shifting the predictors by ``+k`` (the lagged-design edges
    stay where they are), and it leaves the predictors' Gram matrices — and their
    eigendecompositions per fold — unchanged, so a permutation costs one pass of cross-products
    plus the scoring of the alpha grid.  The statistic is the same for data and nulls: per target,
    the mean over folds of ``estimator.scoring`` at the best alpha of the grid.

    Returns
    -------
    Dataset
        ``observed`` (target), ``null`` (permutation, target), ``p_value`` (target) =
        ``(1 + #{null >= observed}) / (1 + n_permutations)``, ``shift`` (permutation, segment) (s).
    """
    validate_type(n_permutations, "int", "n_permutations")
    with use_log_level(verbose), single_blas_thread():
        est = clone(estimator)
        d0, d1 = est._check_params()
        if getattr(est, "lag_basis", None) is not None:
            raise ValueError("circular_shift_null does not support lag_basis; use an estimator with "
                             "lag_basis=None")
        be = est._be
        fixed, grid, relative = est._alpha_grid()
        xs = as_segments(X, "X", est.sfreq)
        ys = as_segments(Y, "Y", est.sfreq)
        match_segments(xs, ys)
        lengths = [x.shape[0] for x in xs.data]
        check_lags(lengths, d0, d1, est.sfreq)
        L = d1 - d0 + 1
        plan = make_folds(lengths, est.cv, groups, n_lags=L)
        blocks = [None] * plan.n_blocks
        for s, lo, hi, b in plan.pieces:
            st = segment_stats(xs.data[s][lo:hi], ys.data[s][lo:hi], d0, d1, be)
            blocks[b] = st if blocks[b] is None else blocks[b] + st
        est.n_targets_ = ys.data[0].shape[1]
        if fixed is not None:
            alphas = np.array([fixed])
        else:
            alphas = est._absolute_alphas(grid, relative, xs.data, d0, d1)
        problems = fold_problems(blocks, plan.folds, L, est.standardize, be, est.fit_intercept)
        decomps = [eig(ctr.G, be) for ctr, _ in problems]

        def statistic(probs):
            sc = [alpha_path_scores(ctr, cte, alphas, be, decomp=dec)[0][est.scoring]
                  for (ctr, cte), dec in zip(probs, decomps)]
            mean = np.nanmean(np.stack(sc), axis=0)  # (A, C)
            return np.nanmax(mean, axis=0)

        observed = statistic(problems)
        rng = check_random_state(random_state)
        if min_shift is None:
            min_shift = (max(abs(d0), abs(d1)) + 1) / est.sfreq + 1.0
        null = np.zeros((n_permutations, est.n_targets_))
        shifts = np.zeros((n_permutations, len(lengths)), dtype=int)
        for i in progress(range(n_permutations), desc="circular shifts"):
            ysh = []
            for s, (y, T) in enumerate(zip(ys.data, lengths)):
                lo = min(int(np.ceil(min_shift * est.sfreq)), T // 3)
                k = int(rng.integers(max(lo, 1), max(T - lo, lo + 1) + 1)) % T
                shifts[i, s] = k
                ysh.append(np.roll(y, k, axis=0))
            pb = [None] * plan.n_blocks
            for s, lo, hi, b in plan.pieces:
                st = replace_y(_PieceX(xs.data[s][lo:hi]), xs.data[s][lo:hi], ysh[s][lo:hi], d0, d1, be)
                pb[b] = st if pb[b] is None else pb[b] + st
            # replace_y only rebuilt Z and y-moments; put the block's predictor statistics back
            pb = [None if p is None else _with_x(p, blocks[b]) for b, p in enumerate(pb)]
            null[i] = statistic(fold_problems(pb, plan.folds, L, est.standardize, be, est.fit_intercept))
        logger.info("circular_shift_null: %d permutations", n_permutations)
        p = (1 + (null >= observed[None, :]).sum(0)) / (1 + n_permutations)
        tdim = ys.dim or TARGET
        coords = {tdim: ys.names} if ys.names is not None else {}
        return xr.Dataset(
            {"observed": ((tdim,), observed), "null": (("permutation", tdim), null),
             "p_value": ((tdim,), p),
             "shift": (("permutation", "segment"), shifts / float(est.sfreq))},
            coords=coords, attrs={"scoring": est.scoring, "min_shift": float(min_shift)},
        )


class _PieceX:
    """Placeholder predictor statistics for :func:`replace_y` (G, S and x-moments filled later)."""

    def __init__(self, x):
        self.G = 0.0
        self.S = 0.0
        self.n = x.shape[0]
        self.xsum = np.zeros(x.shape[1])
        self.xsq = np.zeros(x.shape[1])


def _with_x(st, ref):
    from ._suffstats import Stats

    return Stats(ref.G, st.Z, ref.S, ref.n, ref.xsum, ref.xsq, st.ysum, st.ysq)


# ----------------------------------------------------------------------------------------------
# circular-shift null of held-out predictions (no refit)
# ----------------------------------------------------------------------------------------------
def _cross_at_shifts(p: np.ndarray, y: np.ndarray, shifts: np.ndarray, chunk: int = 64) -> np.ndarray:
    """``out[i, c] = sum_t p[t, c] * y[(t + shifts[i]) % T, c]`` for every shift, by FFT.

    ``p``, ``y`` of shape (T, C); ``shifts`` integers in [0, T).  Targets are taken ``chunk`` at a
    time so that memory stays at about ``T * chunk`` values.
    """
    T, C = y.shape
    out = np.empty((len(shifts), C))
    for a in range(0, C, chunk):
        b = min(C, a + chunk)
        cc = np.fft.irfft(np.conj(np.fft.rfft(p[:, a:b], axis=0)) * np.fft.rfft(y[:, a:b], axis=0), n=T, axis=0)
        out[:, a:b] = cc[shifts]
    return out


def held_out_shift_null(Y, prediction, sfreq: float, n_shifts: int = 1000, min_shift: float = 1.0,
                        random_state=0) -> xr.Dataset:
    """Circular-shift null of a held-out prediction's accuracy, per target, without refitting.

    ``prediction`` holds cross-validated predictions of ``Y`` (each segment predicted by a model
    fitted without it, e.g. the test blocks of contiguous outer folds).  The observed statistic is
    the correlation (and R²) between the two over all segments pooled.  Each null draw shifts the
    response of every segment circularly by its own random offset of at least ``min_shift``
    seconds (capped at a third of the segment) relative to its prediction and recomputes the pooled
    statistic.  The models stay as fitted: the question is whether the held-out prediction follows
    the response in time better than it follows the same response misaligned, which keeps the
    response's autocorrelation and the prediction's spectrum (a shuffle of samples would not).

    With the prediction fixed, a shift changes only the cross-product ``sum_t p(t) y(t + k)``
    (computed for every offset at once by FFT), of which the pooled correlation and the pooled R²
    (``1 - SSE/SST``, SST about the pooled mean) are both increasing linear functions: the two
    statistics give the same p-value.  A misaligned prediction scores R² below 0 (it adds its own
    variance to the error), so the R² null is centred below 0 and the correlation null near 0.

    Parameters
    ----------
    Y, prediction : array (time, target), DataArray (time, target) or list of them (segments)
        The same segments and sample counts.
    sfreq : float
        Sampling rate (Hz), for ``min_shift``.
    n_shifts : int
        Null draws; the smallest attainable p-value is ``1 / (n_shifts + 1)``.
    min_shift : float
        Smallest offset in seconds: beyond the TRF's lag window and the response's
        autocorrelation (e.g. the lag window + 1 s).
    random_state : int | Generator

    Returns
    -------
    Dataset
        ``observed_r``, ``observed_r2`` (target), ``null_r``, ``null_r2`` (permutation, target),
        ``p_value`` (target) = ``(1 + #{null >= observed}) / (1 + n_shifts)``, ``shift``
        (permutation, segment): the offsets in seconds; attrs ``n_shifts``, ``min_shift``.

    See Also
    --------
    circular_shift_null : the same null with the model refitted on every shifted data set (costs a
        pass of cross-products and a scoring of the alpha grid per shift).
    """
    validate_type(n_shifts, "int", "n_shifts")
    if n_shifts < 1:
        raise ValueError(f"n_shifts must be >= 1, got {n_shifts}")
    if not min_shift >= 0:
        raise ValueError(f"min_shift must be >= 0 s, got {min_shift}")
    ys = as_segments(Y, "Y", sfreq)
    ps = as_segments(prediction, "prediction", sfreq)
    match_segments(ps, ys, "prediction", "Y")
    if ps.data[0].shape[1] != ys.data[0].shape[1]:
        raise ValueError(f"prediction has {ps.data[0].shape[1]} targets but Y has {ys.data[0].shape[1]}")
    rng = check_random_state(random_state)
    lengths = [y.shape[0] for y in ys.data]
    n_tot = int(np.sum(lengths))
    ysum = np.sum([y.sum(0) for y in ys.data], axis=0)
    psum = np.sum([p.sum(0) for p in ps.data], axis=0)
    syy = np.sum([(y ** 2).sum(0) for y in ys.data], axis=0) - ysum ** 2 / n_tot
    spp = np.sum([(p ** 2).sum(0) for p in ps.data], axis=0) - psum ** 2 / n_tot
    y2 = np.sum([(y ** 2).sum(0) for y in ys.data], axis=0)
    p2 = np.sum([(p ** 2).sum(0) for p in ps.data], axis=0)
    shifts = np.zeros((n_shifts, len(lengths)), dtype=int)
    cross = np.zeros((n_shifts, ys.data[0].shape[1]))
    observed = np.zeros(ys.data[0].shape[1])
    for s, (y, p, T) in enumerate(zip(ys.data, ps.data, lengths)):
        lo = max(1, min(int(np.ceil(min_shift * sfreq)), T // 3))
        if T - lo < lo:
            raise ValueError(f"segment {s} has {T} samples: too short for shifts of at least {lo}")
        shifts[:, s] = rng.integers(lo, T - lo + 1, size=n_shifts)
        cross += _cross_at_shifts(p, y, shifts[:, s])
        observed += (p * y).sum(0)
    den = np.sqrt(spp * syy)
    den = np.where(den > 0, den, np.nan)
    sst = np.where(syy > 0, syy, np.nan)

    def r_of(c):
        return (c - psum * ysum / n_tot) / den

    def r2_of(c):
        return 1.0 - (y2 + p2 - 2.0 * c) / sst

    p_value = (1 + (cross >= observed[None, :]).sum(0)) / (1 + n_shifts)
    tdim = ys.dim or TARGET
    coords = {tdim: ys.names} if ys.names is not None else {}
    return xr.Dataset(
        {"observed_r": ((tdim,), r_of(observed)), "observed_r2": ((tdim,), r2_of(observed)),
         "null_r": (("permutation", tdim), r_of(cross)), "null_r2": (("permutation", tdim), r2_of(cross)),
         "p_value": ((tdim,), p_value), "shift": (("permutation", "segment"), shifts / float(sfreq))},
        coords=coords, attrs={"n_shifts": int(n_shifts), "min_shift": float(min_shift)})


# ----------------------------------------------------------------------------------------------
# noise ceiling
# ----------------------------------------------------------------------------------------------
def _split_half(data: np.ndarray, axis: int, n_splits: int, rng) -> np.ndarray:
    """Mean split-half correlation over random halves of the repeats on ``axis``.

    ``data`` with repeats on ``axis``, time on the next axis after moving repeats first; returns
    one value per remaining column.
    """
    d = np.moveaxis(np.asarray(data, dtype=np.float64), axis, 0)
    R = d.shape[0]
    if R < 2:
        raise ValueError(f"a noise ceiling needs at least 2 repeats, got {R}")
    d = d.reshape(R, d.shape[1], -1)
    rs = []
    for _ in range(n_splits):
        perm = rng.permutation(R)
        a = d[perm[: R // 2]].mean(0)
        b = d[perm[R // 2: 2 * (R // 2)]].mean(0)
        a = a - a.mean(0)
        b = b - b.mean(0)
        rs.append((a * b).sum(0) / np.sqrt((a**2).sum(0) * (b**2).sum(0)))
    return np.mean(rs, axis=0)


def noise_ceiling(responses, dim: str = "repeat", n_splits: int = 100, random_state=0) -> xr.Dataset:
    """Split-half reliability of repeated responses with the Spearman–Brown correction.

    Parameters
    ----------
    responses : DataArray with dims (``dim``, "time", target...)
        The responses to the same stimulus, repeated.
    n_splits : int
        Random splits of the repeats into two halves; the split-half correlations are averaged.

    Returns
    -------
    Dataset
        ``split_half_r`` (correlation of the two half-averages), ``reliability`` =
        ``2 r / (1 + r)`` (Spearman–Brown: reliability of the average of all repeats) and
        ``ceiling_r`` = ``sqrt(reliability)``: the highest expected correlation between a noise-free
        model and the repeat-average response.
    """
    validate_type(responses, xr.DataArray, "responses")
    if dim not in responses.dims or "time" not in responses.dims:
        raise ValueError(f"responses must have dims {dim!r} and 'time', got {responses.dims}")
    rest = [d for d in responses.dims if d not in (dim, "time")]
    arr = responses.transpose(dim, "time", *rest)
    r = _split_half(arr.values, 0, n_splits, check_random_state(random_state))
    shape = [arr.sizes[d] for d in rest]
    r = r.reshape(shape)
    rel = 2 * r / (1 + r)
    coords = {d: arr[d] for d in rest if d in arr.coords}
    return xr.Dataset({"split_half_r": (rest, r), "reliability": (rest, rel),
                       "ceiling_r": (rest, np.sqrt(np.clip(rel, 0, None)))}, coords=coords,
                      attrs={"n_repeats": int(arr.sizes[dim]), "n_splits": int(n_splits)})


# ----------------------------------------------------------------------------------------------
# variance partitioning
# ----------------------------------------------------------------------------------------------
def _stack(spaces: dict, names):
    """Concatenate feature spaces (each array/DataArray/list of segments) along features."""
    segs = [as_segments(spaces[n], f"spaces[{n!r}]") for n in names]
    n_seg = {len(s.data) for s in segs}
    if len(n_seg) != 1:
        raise ValueError("all feature spaces must have the same segments")
    out = []
    for i in range(len(segs[0].data)):
        lens = {s.data[i].shape[0] for s in segs}
        if len(lens) != 1:
            raise ValueError(f"segment {i}: feature spaces have different lengths {sorted(lens)}")
        out.append(np.concatenate([s.data[i] for s in segs], axis=1))
    sizes = [s.data[0].shape[1] for s in segs]
    return out, sizes


def variance_partitioning(spaces: dict, Y, estimator: TRF | None = None, baseline: str | None = None,
                          groups=None, cv=5, score: str = "r2", verbose=None) -> xr.Dataset:
    """Unique and shared held-out variance of feature spaces, by fitting every subset.

    Every non-empty subset of ``spaces`` is fitted and scored by :func:`cross_validate` (nested,
    contiguous folds).  With ``S`` the held-out score (default R²) of a model:

    * ``unique[b] = S(all) - S(all without b)``;
    * ``shared`` = the part common to all spaces by inclusion–exclusion over the subsets
      (for two spaces ``S(A) + S(B) - S(A+B)``);
    * with ``baseline`` (for example the acoustic space), Brodbeck et al.'s improvement
      ``improvement_pct = 100 * (S(all) / S(baseline) - 1)`` — the "% change over the acoustic
      baseline" of proportion of explained variance.

    If ``estimator`` is a :class:`BandedTRF`, its ``bands`` are set to the subset's spaces for each
    fit; a plain :class:`TRF` uses one alpha for all of them.  Every sub-model chooses its alphas
    by held-out R² (``scoring='r2'`` whatever the estimator says; its ``alpha_rule`` is kept,
    default ``'best'``): a scale-blind choice (Pearson r, or the one-standard-error rule that
    walks to the top of the grid for weak sub-models) shrinks the sub-models unequally and biases
    unique and shared variance (measured in ``docs/encoding.md``).  ``score`` is R² or explained
    variance (proportions of variance, which is what the differences mean).

    Returns
    -------
    Dataset
        ``score`` (model, target), ``unique`` (space, target), ``shared`` (target) and
        ``improvement_pct`` (target) when a baseline is given.
    """
    from ._banded import BandedTRF
    from ._crossval import cross_validate

    validate_type(spaces, dict, "spaces")
    check_option(score, ("r2", "explained_variance"), "score")
    names = list(spaces)
    if len(names) < 2:
        raise ValueError("variance partitioning needs at least 2 feature spaces")
    if baseline is not None and baseline not in names:
        raise ValueError(f"baseline {baseline!r} is not one of the spaces {names}")
    estimator = TRF() if estimator is None else clone(estimator)
    estimator.set_params(scoring="r2")
    results = {}
    tdim = None
    coords = {}
    with use_log_level(verbose):
        for k in range(1, len(names) + 1):
            for subset in itertools.combinations(names, k):
                X, sizes = _stack(spaces, subset)
                if isinstance(estimator, BandedTRF):
                    est = clone(estimator).set_params(bands=dict(zip(subset, sizes))) if k > 1 else \
                        TRF(**{p: v for p, v in estimator.get_params().items() if p in TRF().get_params()})
                else:
                    est = clone(estimator)
                ds = cross_validate(est, X, Y, groups=groups, cv=cv, return_predictions=False,
                                    alpha_scoring="r2")
                tdim = [d for d in ds[f"{score}_mean"].dims][0]
                coords = {tdim: ds[tdim].values}
                results["+".join(subset)] = ds[f"{score}_mean"].values
                logger.info("variance_partitioning: %s mean %s = %.4f", "+".join(subset), score,
                            np.nanmean(results["+".join(subset)]))
    full = "+".join(names)
    unique = np.stack([results[full] - results["+".join(n for n in names if n != b)] for b in names])
    # inclusion-exclusion: shared by all = sum_{nonempty T} (-1)^{|T|+1} S(T)   ... of the complement form
    shared = np.zeros_like(results[full])
    for k in range(1, len(names) + 1):
        for subset in itertools.combinations(names, k):
            shared += (-1) ** (k + 1) * results["+".join(subset)]
    out = xr.Dataset(
        {"score": (("model", tdim), np.stack(list(results.values()))),
         "unique": (("space", tdim), unique), "shared": ((tdim,), shared)},
        coords={"model": list(results), "space": names, **coords},
        attrs={"score": score},
    )
    if baseline is not None:
        out["improvement_pct"] = ((tdim,), improvement_over_baseline(results[full], results[baseline]))
        out.attrs["baseline"] = baseline
    return out


def improvement_over_baseline(full, baseline):
    """Brodbeck et al.'s ``100 * (full / baseline - 1)`` (% change of explained variance).

    ``full`` and ``baseline`` must be held-out proportions of explained variance (R²), from models
    whose alphas were chosen by R² — as :func:`variance_partitioning` and :func:`cross_validate`
    (``r2_mean``) give by default.  A ratio of Pearson r values is not this measure, and models
    shrunk by a scale-blind alpha choice bias it.
    """
    full = np.asarray(full, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100.0 * (full / baseline - 1.0)
