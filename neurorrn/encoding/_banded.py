"""Banded ridge TRF: one penalty per feature space, chosen by cross-validation."""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from ..utils._check import check_option, check_random_state
from ._backend import ordered_map
from ._solve import alpha_path_scores, fold_problem, solve
from ._trf import SCORINGS, TRF, select_alpha

SEARCHES = ("random", "grid")


class BandedTRF(TRF):
    """TRF with one ridge penalty per feature space ("band"), chosen per target by cross-validation.

    The features of band ``b`` are multiplied by ``sqrt(gamma_b)`` (``sum_b gamma_b = 1``) and a
    common ``alpha`` is searched on the usual grid, so the penalty of band ``b`` is
    ``alpha / gamma_b``.  Candidate band weights ``gamma`` come from a random search (the first
    candidate is uniform, the others are Dirichlet draws with concentrations alternating over
    ``concentrations``), as himalaya's ``BandedRidgeCV`` / ``MultipleKernelRidgeCV(solver=
    'random_search')``, or from a grid of log-spaced ratios.  Each candidate costs one
    decomposition per fold (band reduction on the CPU, ``eigh`` on CUDA); all alphas and
    targets share it.

    Parameters
    ----------
    bands : list of int | dict
        Sizes of consecutive feature bands (``[16, 32]``), or ``{name: size}`` in feature order, or
        ``{name: [feature indices]}`` / ``{name: [feature names]}`` (xarray inputs).
    search : {'random', 'grid'}
    n_iter : int
        Number of random candidates (including the uniform one).
    concentrations : tuple of float
        Dirichlet concentrations cycled over the random candidates.
    band_ratios : array-like
        Grid search: each band's relative weight is taken from this log-spaced set
        (normalised to sum to 1; duplicates removed).
    random_state : int | Generator | None
    **kwargs
        The :class:`TRF` parameters (``tmin, tmax, sfreq, alpha, cv, scoring, ...``).

    Attributes
    ----------
    band_names_ : list of str
    band_index_ : array of shape (n_features,) (band of each feature)
    gammas_ : array of shape (n_candidates, n_bands)
    band_weights_ : array of shape (n_targets, n_bands)  (chosen gamma)
    band_alphas_ : array of shape (n_targets, n_bands)  (effective penalty ``alpha_ / gamma``)
    cv_results_ : dict of arrays of shape (n_candidates, n_folds, n_alphas, n_targets)

    Other attributes as :class:`TRF`.
    """

    def __init__(self, tmin=0.0, tmax=0.5, sfreq=100.0, bands=None, alpha=None, cv=5, scoring="r2", alpha_rule="best",
                 search="random", n_iter=20, concentrations=(0.1, 1.0),
                 band_ratios=(0.01, 0.1, 1.0, 10.0, 100.0), random_state=0, fit_intercept=True,
                 standardize=False, lag_basis=None, backend="numpy", dtype="float64", device=None, n_jobs=None, verbose=None):
        super().__init__(tmin=tmin, tmax=tmax, sfreq=sfreq, alpha=alpha, cv=cv, scoring=scoring,
                         alpha_rule=alpha_rule,
                         fit_intercept=fit_intercept, standardize=standardize, lag_basis=lag_basis,
                         backend=backend, dtype=dtype, device=device, n_jobs=n_jobs, verbose=verbose)
        self.bands = bands
        self.search = search
        self.n_iter = n_iter
        self.concentrations = concentrations
        self.band_ratios = band_ratios
        self.random_state = random_state

    def _band_index(self, n_features):
        bands = self.bands
        if bands is None:
            raise ValueError("bands is required: the sizes of the feature spaces, e.g. bands=[16, 32]")
        names = self.feature_names_
        if isinstance(bands, dict):
            keys = [str(k) for k in bands]
            vals = list(bands.values())
        else:
            keys = [f"band{i}" for i in range(len(bands))]
            vals = list(bands)
        idx = np.full(n_features, -1)
        if all(isinstance(v, numbers.Integral) for v in vals):
            if sum(vals) != n_features:
                raise ValueError(f"band sizes {vals} sum to {sum(vals)} but X has {n_features} features")
            idx = np.repeat(np.arange(len(vals)), vals)
        else:
            for b, v in enumerate(vals):
                v = list(v)
                if v and not isinstance(v[0], numbers.Integral):
                    if names is None:
                        raise ValueError(f"band {keys[b]!r} lists feature names but X has no feature coord")
                    lut = {str(n): i for i, n in enumerate(names)}
                    missing = [n for n in v if str(n) not in lut]
                    if missing:
                        raise ValueError(f"band {keys[b]!r}: unknown feature(s) {missing[:5]}")
                    v = [lut[str(n)] for n in v]
                if np.any(idx[v] >= 0):
                    raise ValueError(f"band {keys[b]!r} overlaps an earlier band")
                idx[v] = b
            if np.any(idx < 0):
                raise ValueError(f"features {np.flatnonzero(idx < 0)[:10].tolist()} belong to no band")
        if len(keys) < 2:
            raise ValueError("banded ridge needs at least 2 bands; use TRF for one")
        return keys, idx

    def _candidates(self, B):
        check_option(self.search, SEARCHES, "search")
        if self.search == "grid":
            ratios = np.asarray(self.band_ratios, dtype=np.float64)
            if ratios.ndim != 1 or np.any(ratios <= 0):
                raise ValueError(f"band_ratios must be positive numbers, got {self.band_ratios!r}")
            cands = np.array(list(itertools.product(ratios, repeat=B)))
            cands = cands / cands.sum(1, keepdims=True)
            cands = np.unique(np.round(cands, 12), axis=0)
            uni = np.full(B, 1.0 / B)
            order = np.argsort(np.abs(cands - uni).sum(1), kind="stable")
            return cands[order]
        rng = check_random_state(self.random_state)
        n = int(self.n_iter)
        if n < 1:
            raise ValueError(f"n_iter must be >= 1, got {self.n_iter}")
        out = [np.full(B, 1.0 / B)]
        conc = list(self.concentrations)
        for i in range(n - 1):
            out.append(rng.dirichlet(np.full(B, conc[i % len(conc)])))
        g = np.maximum(np.asarray(out), 1e-8)
        return g / g.sum(1, keepdims=True)

    def _fit(self, xdata, ydata, groups, fixed, grid, relative, d0, d1):
        be = self._be
        L = self._design.n_cols
        F = xdata[0].shape[1]
        self.band_names_, self.band_index_ = self._band_index(F)
        B = len(self.band_names_)
        gammas = self._candidates(B)
        from ._inputs import check_lags

        check_lags([x.shape[0] for x in xdata], d0, d1, self.sfreq)
        plan, blocks = self._prepare_cv(xdata, ydata, groups, d0, d1)
        if fixed is not None:
            alphas = np.array([fixed])
        else:
            alphas = self._absolute_alphas(grid, relative, xdata, d0, d1)
        gvecs = [be.asarray(np.tile(np.sqrt(gam)[self.band_index_], L)) for gam in gammas]
        K = len(plan.folds)
        res = {k: np.zeros((len(gammas), K, len(alphas), self.n_targets_)) for k in SCORINGS}

        def fold_scores(fold):  # one fold's statistics serve every candidate, then are freed
            ctr, cte = fold_problem(blocks, fold, L, self.standardize, be, self.fit_intercept)
            return [alpha_path_scores(ctr, cte, alphas, be, g=g)[0] for g in gvecs]

        for k, scs in enumerate(ordered_map(fold_scores, plan.folds, self.n_jobs)):
            for ci, sc in enumerate(scs):
                for key in SCORINGS:
                    res[key][ci, k] = sc[key]
        self.cv_results_ = res
        mean = np.nanmean(res[self.scoring], axis=1)  # (n_cand, A, C)
        flat = np.where(np.isfinite(mean), mean, -np.inf).reshape(-1, self.n_targets_)
        best = np.argmax(flat, axis=0)
        cbest, abest = np.unravel_index(best, mean.shape[:2])
        for ci in np.unique(cbest):  # the alpha rule within each target's best band weighting
            cols = np.flatnonzero(cbest == ci)
            abest[cols] = select_alpha(res[self.scoring][ci][:, :, cols], self.alpha_rule)
        self.gammas_ = gammas
        self.alphas_ = alphas
        self.alpha_ = alphas[abest]
        self.band_weights_ = gammas[cbest]
        self.band_alphas_ = self.alpha_[:, None] / self.band_weights_
        self.best_score_ = mean[cbest, abest, np.arange(self.n_targets_)]
        c_full, mom = self._full_problem(xdata, ydata, plan, blocks, d0, d1)
        blocks = None  # the folds are done: free their statistics before the refit
        W = be.zeros((L * F, self.n_targets_))
        for ci in np.unique(cbest):
            cols = np.flatnonzero(cbest == ci)
            Wc = solve(_cols(c_full, cols, be), self.alpha_[cols], be, g=gvecs[ci])
            W[:, _idx(cols, be)] = Wc
        if self._keep_gram:
            self._full_stats = c_full
        self._finish(W, mom, L)


def _idx(cols, be):
    if be.name == "torch":
        return be.torch.as_tensor(cols, device=be.device)
    return cols


def _cols(c, cols, be):
    from ._suffstats import Centered

    i = _idx(cols, be)
    return Centered(c.G, c.Z[:, i], c.S, c.n, c.ysum[cols], c.ysq[cols])
