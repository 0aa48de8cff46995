"""The temporal response function estimator (time-lagged ridge regression, scikit-learn API)."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._check import check_finite, check_option, validate_type
from ..utils._logging import logger, use_log_level
from ._backend import NumpyBackend, get_backend, ordered_map, single_blas_thread
from ._folds import make_folds
from ._inputs import as_segments, check_lags, match_segments
from ._lagged import lag_range, lagged_predict, raised_cosine_basis
from ._backend import n_workers
from ._solve import (DowndatedBlocks, KeptBlocks, alpha_path_scores, check_dual_memory, check_memory, dual_fit,
                     fold_problem, penalty_matrix, refit_stats, select_columns, solve)
from ._suffstats import BasisDesign, LagDesign, Stats, _scores_from_moments, moments

SCORINGS = ("r", "r2", "explained_variance")
ALPHA_RULES = ("1se", "best")
SOLVERS = ("auto", "primal", "dual")


def select_alpha(scores: np.ndarray, rule: str = "best") -> np.ndarray:
    """Index of the chosen alpha per target from held-out scores (n_folds, n_alphas, n_targets).

    ``'best'``: the highest mean over folds.  ``'1se'``: the largest alpha (alphas ascending)
    whose mean score is within one standard error of the best one, the standard error being that
    of the per-fold *differences* to the best alpha (the one-standard-error rule of Hastie,
    Tibshirani & Friedman, *Elements of Statistical Learning* §7.10, paired across folds).  Held-out
    scores are often flat over a decade or two of alpha; the rule then picks the smoother kernel.
    """
    mean = np.nanmean(scores, axis=0)
    best = np.argmax(np.where(np.isfinite(mean), mean, -np.inf), axis=0)
    if rule == "best" or scores.shape[0] < 2:
        return best
    C = scores.shape[2]
    d = scores - scores[:, best, np.arange(C)][:, None, :]
    se = np.nanstd(d, axis=0, ddof=1) / np.sqrt(scores.shape[0])
    ok = np.nanmean(d, axis=0) >= -se
    A = scores.shape[1]
    return np.where(ok.any(0), A - 1 - np.argmax(ok[::-1], axis=0), best)
DEFAULT_RELATIVE_ALPHAS = tuple(10.0 ** np.arange(-4, 5))


class TRF(RegressorMixin, BaseEstimator):
    """Temporal response function: time-lagged ridge regression from predictors to responses.

    Fits ``y(t) = sum_{d} x(t - d) @ w_d + b`` for integer lags ``d`` from ``round(tmin*sfreq)`` to
    ``round(tmax*sfreq)`` (MNE's :class:`~mne.decoding.ReceptiveField` convention: positive lags
    look into the predictor's past).  Segments (trials, runs, stories) of different lengths are
    zero-padded at their own edges, so nothing leaks across them.  The lagged Gram matrix is built
    from blocked lag cross-products of each segment (never the ``(n_times, n_features*n_lags)``
    design), then ridge is solved with Cholesky (one alpha) or with one decomposition per
    cross-validation fold for the whole alpha grid (a band reduction on the CPU, an
    eigendecomposition on CUDA; see :mod:`._solve`), choosing an alpha per target.

    Parameters
    ----------
    tmin, tmax : float
        First and last lag in seconds (``tmin <= tmax``; negative for backward models).
    sfreq : float
        Sampling rate of predictors and responses (Hz).
    alpha : float | array-like | None
        One ridge penalty (no cross-validation), or a grid searched by cross-validation with one
        alpha chosen per target.  ``None``: the relative grid ``10**(-4..4)`` times the mean
        diagonal of the (centred, scaled) lagged Gram matrix of all data, i.e. a grid in units of
        the predictors' power.  Penalties are in the units of ``D.T @ D`` (as MNE's
        ``TimeDelayingRidge`` and scikit-learn's ``Ridge``): they grow with the number of samples.
    cv : int | scikit-learn splitter | iterable of (train, test)
        Folds for choosing alpha (ignored for a single alpha).  An int gives contiguous folds:
        whole segments when there are enough, else contiguous stretches; with ``groups``, contiguous
        sets of groups.  Sample indices of splitters refer to the concatenated segments.
    scoring : {'r2', 'r', 'explained_variance'}
        Metric by which the alpha of each target is chosen (and reported in ``best_score_``).
        Default ``'r2'`` (held-out R², scikit-learn's definition): it sees the scale of the
        prediction, so the chosen alpha does not shrink kernels and R² / explained variance
        computed from the fit are unbiased.  Pearson ``'r'`` is blind to scale and nearly flat in
        alpha; choosing by it shrinks kernels (see ``docs/encoding.md``).  :meth:`score` always
        returns R² (scikit-learn's convention); per-target r is in :meth:`score_targets`.
    alpha_rule : {'best', '1se'}
        How the alpha of each target is chosen from the fold scores (:func:`select_alpha`):
        ``'best'`` (default), the best mean score (the rule of himalaya's ``RidgeCV``, scikit-learn's
        ``RidgeCV`` and mtrf); ``'1se'``, the largest alpha within one (paired) standard error of the
        best mean score (smoother kernels, at the measured cost of shrunken amplitudes and biased
        variance partitions listed in ``docs/encoding.md``).
    fit_intercept : bool
        Centre predictors and responses with the training means before lagging (as MNE).
    standardize : bool
        Also divide predictors by their training SD (z-scoring).  ``coef_`` stays in physical units
        (response units per predictor unit); alphas then refer to the scaled problem.
    lag_windows : dict | list of (float, float) | None
        Per-predictor lag windows in seconds, ``{feature: (tmin, tmax)}`` (feature names of an
        xarray input, or indices) or one ``(tmin, tmax)`` per feature, inside ``tmin..tmax``:
        coefficients outside a feature's window are fixed at 0 (its lagged columns are left out of
        the regression).  Features not listed keep the whole window.
    reg_type : {'ridge', 'laplacian'} | (str, str)
        The penalty, as MNE's ``TimeDelayingRidge(reg_type=...)``: ``'ridge'`` (``alpha ||w||^2``)
        or ``'laplacian'``, ``alpha`` times the summed squared differences between neighbouring
        lags of each feature and between neighbouring features at each lag (smooth kernels); a
        pair ``(lags, features)`` chooses per direction (MNE's convention: ``('laplacian',
        'ridge')`` penalises only lag differences).  A Laplacian costs one Cholesky per alpha and
        fold instead of one decomposition per fold.
    lag_basis : int | array of shape (n_lags, n_basis) | None
        Represent each feature's kernel as a combination of ``n_basis`` smooth functions of the lag
        (``coef = B @ w``), which cuts the number of coefficients from ``n_features x n_lags`` to
        ``n_features x n_basis`` (memory and time of wide layers fall with its square and cube).
        An int gives raised-cosine (Hann) bumps at even spacing, overlapping by half and summing to
        1 at every lag (:func:`._lagged.raised_cosine_basis`); an array gives any basis.  ``None``
        (default): one coefficient per lag.  Eelbrain's ``boosting(basis=...)`` smooths with a
        Hamming window at *every* lag (no fewer coefficients); this is a reduced basis.  Penalties
        then apply to the basis weights; ``coef_`` is always over lags.
    solver : {'auto', 'primal', 'dual'}
        ``'primal'``: the lagged Gram matrix (p x p, p = n_features x n_lags, or x n_basis) and its
        decomposition per fold.  ``'dual'``: kernel ridge, ``W = D.T (D D.T + alpha)^-1 y``, with an
        ``n_samples x n_samples`` kernel per fold and the explicit design (numpy, float64) — the
        same solution, for wide layers with fewer samples than coefficients.  ``'auto'``: dual when
        the training data have fewer samples than coefficients (numpy backend), else primal.
    backend : {'numpy', 'torch'}
    dtype : {'float64', 'float32'}
        Precision of the Gram matrices and factorisations (float32 is ~2-3x faster; agreement with
        float64 is ~1e-5 relative).
    device : str | None
        torch device (``None``: CUDA when available, else CPU); numpy runs on the CPU.
    n_jobs : int | None
        Threads over independent work (cross-validation folds, segments' statistics); ``None`` or
        1: one, -1: all CPUs.  Whatever ``n_jobs``, BLAS/LAPACK run with one thread each inside
        ``fit`` (multi-threaded BLAS gains little here and collapses when another process competes
        for the cores); results do not depend on ``n_jobs``.  Each fold in flight holds its own
        p x p matrices, so memory grows with ``n_jobs``.
    verbose : bool | str | int | None

    Attributes
    ----------
    coef_ : array of shape (n_targets, n_features, n_lags)
        Kernel in physical units.
    intercept_ : array of shape (n_targets,)
    alpha_ : array of shape (n_targets,)
        The penalty used for each target.
    alphas_ : array of shape (n_alphas,)
        The absolute grid that was searched (one value for a fixed alpha).
    cv_results_ : dict of arrays of shape (n_folds, n_alphas, n_targets)
        Held-out ``'r'``, ``'r2'`` and ``'explained_variance'`` of every fold and alpha.
    best_score_ : array of shape (n_targets,)
        Mean over folds of ``scoring`` at the chosen alpha (an optimistic estimate: the alpha was
        chosen on the same folds; use :func:`neurorrn.encoding.cross_validate` for a nested one).
    delays_ : array of int, lags_ : array of float (s)
    feature_names_, target_names_ : arrays or None (from xarray inputs)

    Notes
    -----
    Exact reference: coefficients equal those of ``mne.decoding.ReceptiveField(tmin, tmax, sfreq,
    estimator=alpha)`` (``TimeDelayingRidge`` with ``edge_correction=True``), and of
    ``sklearn.linear_model.Ridge`` on the explicitly lagged design, to rounding (tested).
    Differences from MNE: segments may have different lengths; cross-validation and per-target
    alphas are built in; ``predict`` centres lagged predictors with the training means also at
    segment edges (MNE pads raw predictors with zeros there), so edge predictions differ slightly.
    """

    _keep_gram = False  # subclasses that need the full-data Gram in _finish (patterns) set this

    def __init__(self, tmin=0.0, tmax=0.5, sfreq=100.0, alpha=None, cv=5, scoring="r2", alpha_rule="best",
                 fit_intercept=True, standardize=False, lag_windows=None, reg_type="ridge", lag_basis=None,
                 solver="auto", backend="numpy", dtype="float64", device=None, n_jobs=None, verbose=None):
        self.tmin = tmin
        self.tmax = tmax
        self.sfreq = sfreq
        self.alpha = alpha
        self.cv = cv
        self.scoring = scoring
        self.alpha_rule = alpha_rule
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.lag_windows = lag_windows
        self.reg_type = reg_type
        self.lag_basis = lag_basis
        self.solver = solver
        self.backend = backend
        self.dtype = dtype
        self.device = device
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        validate_type(self.tmin, "numeric", "tmin")
        validate_type(self.tmax, "numeric", "tmax")
        validate_type(self.sfreq, "numeric", "sfreq")
        if not self.sfreq > 0:
            raise ValueError(f"sfreq must be > 0, got {self.sfreq!r}")
        if self.tmin > self.tmax:
            raise ValueError(f"tmin ({self.tmin}) must be <= tmax ({self.tmax})")
        check_option(self.scoring, SCORINGS, "scoring")
        check_option(self.alpha_rule, ALPHA_RULES, "alpha_rule")
        check_option(self.solver, SOLVERS, "solver")
        if self.lag_basis is not None and (self.lag_windows is not None or self.reg_type != "ridge"):
            raise ValueError("lag_basis cannot be combined with lag_windows or a Laplacian reg_type")
        validate_type(self.fit_intercept, bool, "fit_intercept")
        validate_type(self.standardize, bool, "standardize")
        self._be = get_backend(self.backend, self.dtype, self.device)
        d = lag_range(self.tmin, self.tmax, self.sfreq)
        d0, d1 = int(d[0]), int(d[-1])
        self._design = self._make_design(d0, d1)
        return d0, d1

    def _make_design(self, d0, d1):
        L = d1 - d0 + 1
        b = self.lag_basis
        if b is None:
            return LagDesign(d0, d1, self._be)
        if isinstance(b, numbers.Integral) and not isinstance(b, bool):
            B = raised_cosine_basis(L, int(b))
        else:
            B = np.asarray(b, dtype=np.float64)
            if B.ndim != 2 or B.shape[0] != L or not 1 <= B.shape[1] <= L or not np.all(np.isfinite(B)):
                raise ValueError(f"lag_basis must be an int or a finite array of shape (n_lags={L}, n_basis <= "
                                 f"{L}), got {np.shape(b)}")
        if self._be.name != "numpy":
            raise ValueError("lag_basis needs backend='numpy'")
        return BasisDesign(d0, d1, B, self._be)

    def _alpha_grid(self):
        """(fixed alpha or None, grid or None, relative flag)."""
        a = self.alpha
        if a is None:
            return None, np.asarray(DEFAULT_RELATIVE_ALPHAS), True
        if isinstance(a, numbers.Real) and not isinstance(a, bool):
            if not (a >= 0 and np.isfinite(a)):
                raise ValueError(f"alpha must be >= 0 and finite, got {a!r}")
            return float(a), None, False
        arr = np.asarray(a, dtype=np.float64).ravel()
        if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise ValueError(f"an alpha grid must hold finite values > 0, got {a!r}")
        if arr.size == 1:
            return float(arr[0]), None, False
        return None, arr, False

    def _segments(self, X, y=None, reset=True, picks=None):
        """Validate inputs; return (Segments X, Segments Y or None)."""
        from ._mne import coerce_mne  # mne.io.Raw / Epochs / Evoked -> segments (sets info_ on fit)

        X, y = coerce_mne(self, X, y, picks=picks, reset=reset)
        dt = np.dtype(self.dtype)
        plain = not _is_segment_list(X) and not _is_xr(X)
        if plain:
            nx, ny = _n_rows(X), (None if y is None else _n_rows(y))
            if nx is not None and ny is not None and nx != ny:
                raise ValueError(f"X has {nx} samples but Y has {ny}: predictors and responses must "
                                 "cover the same samples at the same rate")
            # name the sample and column of the first NaN/Inf (sklearn only says "Input y contains NaN")
            for arr, what in ((X, "X (predictors, samples x features)"), (y, "y (responses, samples x targets)")):
                a = arr if isinstance(arr, np.ndarray) else None
                if a is not None and a.dtype.kind == "f":
                    check_finite(a, what)
            if y is None:
                X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32],
                                  ensure_all_finite=True)
            else:
                X, y = validate_data(self, X, y, reset=reset, multi_output=True, y_numeric=True,
                                     dtype=[np.float64, np.float32], ensure_all_finite=True)
        xs = as_segments(X, "X", self.sfreq, dt)
        if not plain:
            nf = xs.data[0].shape[1]
            if reset:
                self.n_features_in_ = nf
            elif nf != self.n_features_in_:
                raise ValueError(f"X has {nf} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input")
        ys = None
        if y is not None:
            ys = as_segments(y, "Y", self.sfreq, dt)
            match_segments(xs, ys)
        return xs, ys

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, groups=None, sample_weight=None, picks=None):
        """Fit the TRF.

        Parameters
        ----------
        X : array of shape (n_times, n_features) | DataArray (time, feature) | list of them
            Predictors; a list holds segments (which may differ in length).
        y : array of shape (n_times,) or (n_times, n_targets) | DataArray (time, target) | list
            | mne.io.Raw | mne.Epochs | mne.Evoked
            Responses, with the same segments and samples as ``X``.  A Raw gives one segment per
            stretch outside annotations marked bad (``X`` over all ``raw.n_times`` samples is cut
            at the same places); Epochs give one segment per epoch (see :mod:`._mne`).
        groups : array, optional
            Fold groups, one label per sample or per segment (used by ``cv``).
        sample_weight : array of shape (n_times,) | list of arrays (one per segment) | None
            Non-negative weights of the samples' squared errors (for example 0 for artefacts,
            which keeps the segment's time axis intact).  Held-out CV scores are then weighted too.
            Weights make the lagged Gram matrices cost ``n_times x p^2`` (explicit design in
            chunks) instead of ``2 n_lags n_features^2 n_times``.
        picks : str | list | None
            Channels of an MNE input (MNE's ``picks``; default: the good data channels).

        Returns
        -------
        self
        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        with use_log_level(self.verbose):
            d0, d1 = self._check_params()
            fixed, grid, relative = self._alpha_grid()
            xs, ys = self._segments(X, y, reset=True, picks=picks)
            self._store_meta(xs, ys, d0, d1)
            self._w = _check_weights(sample_weight, [x.shape[0] for x in xs.data])
            with single_blas_thread():
                self._fit(xs.data, ys.data, groups, fixed, grid, relative, d0, d1)
            self._w = None
        return self

    def _store_meta(self, xs, ys, d0, d1):
        self.delays_ = np.arange(d0, d1 + 1)
        self.lags_ = self.delays_ / float(self.sfreq)
        self.feature_names_ = xs.names
        self.target_names_ = ys.names
        self.target_dim_ = ys.dim
        self._y_1d = ys.was_1d
        self.n_targets_ = ys.data[0].shape[1]

    def _fit(self, xdata, ydata, groups, fixed, grid, relative, d0, d1):
        be = self._be
        L = self._design.n_cols  # columns per feature: lags, or basis functions
        lengths = [x.shape[0] for x in xdata]
        check_lags(lengths, d0, d1, self.sfreq)
        scale = self.standardize
        F = xdata[0].shape[1]
        cols = self._window_columns(F, d0, d1)
        R = penalty_matrix(self.reg_type, F, L) if self.lag_basis is None else None
        if R is not None and cols is not None:
            R = R[np.ix_(cols, cols)]
        if (cols is not None or R is not None) and self.solver == "dual":
            raise ValueError("solver='dual' supports neither lag_windows nor a Laplacian reg_type")
        if self._w is not None and self.solver == "dual":
            raise ValueError("solver='dual' does not support sample_weight")
        if cols is None and R is None and self._w is None and self._use_dual(sum(lengths), L * F):
            self._fit_dual(xdata, ydata, groups, fixed, grid, relative, d0, d1)
            return
        if fixed is not None:
            logger.info("TRF: %d segment(s), %d features x %d lags, alpha=%g", len(xdata),
                        xdata[0].shape[1], L, fixed)
            stats = [self._design.stats(x, y, self._wseg(i)) for i, (x, y) in enumerate(zip(xdata, ydata))]
            c, mom = refit_stats(stats, L, scale, be, self.fit_intercept)
            W = _expand(solve(select_columns(c, cols, be), fixed, be, penalty=R), cols, L * F, be)
            self.alpha_ = np.full(self.n_targets_, fixed)
            self.alphas_ = np.array([fixed])
            self.cv_results_ = None
            self.best_score_ = None
            if self._keep_gram:
                self._full_stats = c
            self._finish(W, mom, L)
            return
        plan, blocks = self._prepare_cv(xdata, ydata, groups, d0, d1)
        alphas = self._absolute_alphas(grid, relative, xdata, d0, d1)
        res = {k: [] for k in SCORINGS}

        def fold_scores(fold):  # this fold's p x p statistics are freed when it returns
            # the upper block triangles suffice for the band reduction and the scores (numpy)
            ctr, cte = fold_problem(blocks, fold, L, scale, be, self.fit_intercept,
                                    upper=cols is None and R is None)
            ctr, cte = select_columns(ctr, cols, be), select_columns(cte, cols, be)
            return alpha_path_scores(ctr, cte, alphas, be, overwrite=True, penalty=R)[0]

        for sc in ordered_map(fold_scores, plan.folds, self.n_jobs):
            for k in SCORINGS:
                res[k].append(sc[k])
        self.cv_results_ = {k: np.stack(v) for k, v in res.items()}
        mean = np.nanmean(self.cv_results_[self.scoring], axis=0)  # (A, C)
        best = select_alpha(self.cv_results_[self.scoring], self.alpha_rule)
        self.alphas_ = alphas
        self.alpha_ = alphas[best]
        self.best_score_ = mean[best, np.arange(mean.shape[1])]
        c_full, mom = self._full_problem(xdata, ydata, plan, blocks, d0, d1)
        blocks = None  # the folds are done: free their statistics before the refit
        W = _expand(solve(select_columns(c_full, cols, be), self.alpha_, be, penalty=R), cols, L * F, be)
        if self._keep_gram:
            self._full_stats = c_full
        self._finish(W, mom, L)

    def _wseg(self, s, lo=None, hi=None):
        """Sample weights of segment ``s`` (rows ``lo:hi``), or None."""
        w = getattr(self, "_w", None)
        if w is None:
            return None
        return w[s] if lo is None else w[s][lo:hi]

    def _window_columns(self, F, d0, d1):
        """Indices of the lag-major columns inside each feature's lag window (None: all)."""
        lw = self.lag_windows
        if lw is None:
            return None
        names = getattr(self, "feature_names_", None)
        if isinstance(lw, dict):
            items = list(lw.items())
        else:
            lw = list(lw)
            if len(lw) != F:
                raise ValueError(f"lag_windows has {len(lw)} windows; expected one (tmin, tmax) per feature ({F})")
            items = list(enumerate(lw))
        keep = np.ones((d1 - d0 + 1, F), dtype=bool)
        lut = {str(n): i for i, n in enumerate(names)} if names is not None else {}
        for key, win in items:
            if isinstance(key, numbers.Integral) and not isinstance(key, bool) and 0 <= key < F:
                f = int(key)
            elif str(key) in lut:
                f = lut[str(key)]
            else:
                raise ValueError(f"lag_windows: unknown feature {key!r}; features are "
                                 f"{list(names) if names is not None else f'indices 0..{F - 1}'}")
            try:
                lo, hi = (int(np.round(float(t) * self.sfreq)) for t in win)
            except (TypeError, ValueError):
                raise ValueError(f"lag_windows[{key!r}] must be (tmin, tmax) in seconds, got {win!r}") from None
            if lo > hi or lo < d0 or hi > d1:
                raise ValueError(f"lag_windows[{key!r}] = {tuple(win)} must be an interval inside "
                                 f"tmin..tmax = {self.tmin}..{self.tmax} s")
            d = np.arange(d0, d1 + 1)
            keep[:, f] = (d >= lo) & (d <= hi)
        return np.flatnonzero(keep.ravel())

    def _use_dual(self, n, p):
        if self.solver == "dual":
            if self._be.name != "numpy":
                raise ValueError("solver='dual' needs backend='numpy'")
            if self._keep_gram:
                raise ValueError(f"{type(self).__name__} needs solver='primal' (its patterns use the Gram matrix)")
            return True
        return self.solver == "auto" and self._be.name == "numpy" and not self._keep_gram and n < p

    def _fit_dual(self, xdata, ydata, groups, fixed, grid, relative, d0, d1):
        """Kernel ridge: one n x n eigendecomposition per fold serves every alpha and target."""
        design = self._design
        L = design.n_cols
        scale, icpt = self.standardize, self.fit_intercept
        n, p = sum(x.shape[0] for x in xdata), L * xdata[0].shape[1]
        check_dual_memory(n, p, n_workers(self.n_jobs), type(self).__name__)
        logger.info("%s: dual solver, %d samples < p = %d", type(self).__name__,
                    sum(x.shape[0] for x in xdata), L * xdata[0].shape[1])
        if fixed is not None:
            alpha = np.full(self.n_targets_, fixed)
            self.alphas_ = np.array([fixed])
            self.cv_results_ = None
            self.best_score_ = None
        else:
            plan = make_folds([x.shape[0] for x in xdata], self.cv, groups, n_lags=d1 - d0 + 1)
            alphas = self._absolute_alphas(grid, relative, xdata, d0, d1)
            res = {k: [] for k in SCORINGS}

            def fold_scores(fold):
                tr, te = set(fold[0].tolist()), set(fold[1].tolist())
                piece = lambda s, lo, hi: (xdata[s][lo:hi], ydata[s][lo:hi])  # noqa: E731
                trp = [piece(s, lo, hi) for s, lo, hi, b in plan.pieces if b in tr]
                tep = [piece(s, lo, hi) for s, lo, hi, b in plan.pieces if b in te]
                preds, _ = dual_fit([p[0] for p in trp], [p[1] for p in trp], design, alphas, scale, icpt,
                                    xtest=[p[0] for p in tep])
                yt = np.concatenate([p[1] for p in tep])
                out = [_sample_scores(yt, pr) for pr in preds]
                return {k: np.stack([o[k] for o in out]) for k in SCORINGS}

            for sc in ordered_map(fold_scores, plan.folds, self.n_jobs):
                for k in SCORINGS:
                    res[k].append(sc[k])
            self.cv_results_ = {k: np.stack(v) for k, v in res.items()}
            mean = np.nanmean(self.cv_results_[self.scoring], axis=0)
            best = select_alpha(self.cv_results_[self.scoring], self.alpha_rule)
            self.alphas_ = alphas
            alpha = alphas[best]
            self.best_score_ = mean[best, np.arange(mean.shape[1])]
        self.alpha_ = alpha
        W, mom = dual_fit(xdata, ydata, design, alpha, scale, icpt)
        self._finish(_NP64.asarray(W), mom, L)

    # kept per-block Grams above this many bytes switch to downdating (one Gram for all blocks)
    _keep_blocks_max_bytes = 2**30

    def _prepare_cv(self, xdata, ydata, groups, d0, d1):
        """Fold plan and per-block statistics (:class:`KeptBlocks`, or :class:`DowndatedBlocks` when keeping
        every block's Gram would take more than ``_keep_blocks_max_bytes``)."""
        L = self._design.n_cols
        lengths = [x.shape[0] for x in xdata]
        plan = make_folds(lengths, self.cv, groups, n_lags=d1 - d0 + 1)
        F = xdata[0].shape[1]
        p1 = L * (F + 1)
        item = np.dtype(self.dtype).itemsize
        n_used = len({b for *_, b in plan.pieces})
        downdate = n_used * p1 * p1 * item > self._keep_blocks_max_bytes
        check_memory(p1, item, n_used, downdate, n_workers(self.n_jobs), type(self).__name__, F, L)
        logger.debug("%s: %d segment(s) -> %d block(s), %d folds, p=%d%s", type(self).__name__,
                    len(xdata), plan.n_blocks, len(plan.folds), L * F,
                    " (one Gram, downdated per fold)" if downdate else "")

        def piece_stats(piece):
            s, lo, hi, _ = piece
            return self._design.stats(xdata[s][lo:hi], ydata[s][lo:hi], self._wseg(s, lo, hi))

        if downdate:
            def piece_gram(piece):
                s, lo, hi, _ = piece
                return self._design.gram(xdata[s][lo:hi], self._wseg(s, lo, hi))

            return plan, DowndatedBlocks(piece_stats, plan, piece_gram, self.n_jobs)
        blocks = [None] * plan.n_blocks
        for (_, _, _, b), st in zip(plan.pieces, ordered_map(piece_stats, plan.pieces, self.n_jobs)):
            blocks[b] = st if blocks[b] is None else blocks[b] + st
        return plan, KeptBlocks(blocks)

    def _full_problem(self, xdata, ydata, plan, blocks, d0, d1):
        """Centred statistics of all data and their moments (after the CV, when the folds' memory
        is free): the sum of the blocks, or of the whole segments where the folds cut them."""
        be = self._be
        L = self._design.n_cols
        if plan.cut:
            acc = None
            for i, (x, y) in enumerate(zip(xdata, ydata)):
                st = self._design.stats(x, y, self._wseg(i))
                acc = st if acc is None else _add_in_place(acc, st)
            full = [acc]
        elif isinstance(blocks, (DowndatedBlocks, KeptBlocks)):
            full = [blocks.total_stats()]
        else:
            full = [b for b in blocks if b is not None]
        return refit_stats(full, L, self.standardize, be, self.fit_intercept)

    def _absolute_alphas(self, grid, relative, xdata, d0, d1):
        """The grid in absolute units: relative grids are multiplied by the mean diagonal of the
        centred (and scaled) lagged Gram matrix of all data."""
        alphas = np.asarray(grid, dtype=np.float64)
        if relative:
            mu, sd = _data_moments(xdata, self.standardize, self.fit_intercept)
            diag = self._design.mean_diag(xdata, mu, sd)
            if getattr(self, "_w", None) is not None:  # the weighted Gram scales with the mean weight
                diag *= float(np.mean(np.concatenate(self._w)))
            alphas = alphas * max(diag, np.finfo(np.float64).tiny)
        return alphas

    def _finish(self, W, mom, L):
        be = self._be
        mu, sd, muy = mom
        F = mu.shape[0]
        C = self.n_targets_
        Wn = self._design.to_lags(be.to_numpy(W).astype(np.float64).reshape(L, F, C))
        coef = Wn / sd[None, :, None]  # physical units
        self.coef_ = np.ascontiguousarray(np.transpose(coef, (2, 1, 0)))  # (C, F, L)
        self.mu_x_ = mu
        self.mu_y_ = muy
        self.intercept_ = self.mu_y_ - np.einsum("cfl,f->c", self.coef_, self.mu_x_)
        self.n_lags_ = Wn.shape[0]

    # ------------------------------------------------------------------ predict / score
    def _predict_segments(self, xs):
        W = np.transpose(self.coef_, (2, 1, 0))  # (L, F, C)
        d0, d1 = int(self.delays_[0]), int(self.delays_[-1])
        out = []
        for x in xs.data:
            xc = np.asarray(x, dtype=np.float64) - self.mu_x_[None, :]
            out.append(lagged_predict(xc, W, d0, d1, _NP64) + self.mu_y_[None, :])
        return out

    def predict(self, X):
        """Predict responses.

        Parameters
        ----------
        X : array (n_times, n_features) | DataArray (time, feature) | list of segments

        Returns
        -------
        y_pred : array (n_times, n_targets) (1-D if fitted on 1-D ``y``) | DataArray (time, target) | list
        """
        check_is_fitted(self, "coef_")
        xs, _ = self._segments(X, None, reset=False)
        preds = self._predict_segments(xs)
        out = [self._wrap(p, xs, i) for i, p in enumerate(preds)]
        return out if xs.was_list else out[0]

    def _wrap(self, p, xs, i):
        if self._y_1d:
            p = p[:, 0]
        if not xs.xarray:
            return p
        import xarray as xr

        from .._dims import TARGET, TIME

        dim = self.target_dim_ or TARGET
        times = xs.starts[i] + np.arange(p.shape[0]) / float(self.sfreq)
        if p.ndim == 1:
            return xr.DataArray(p, dims=(TIME,), coords={TIME: times})
        coords = {TIME: times}
        if self.target_names_ is not None:
            coords[dim] = self.target_names_
        return xr.DataArray(p, dims=(TIME, dim), coords=coords)

    def score_targets(self, X, y) -> dict:
        """Per-target ``'r'``, ``'r2'`` and ``'explained_variance'`` (arrays (n_targets,)) on new data."""
        check_is_fitted(self, "coef_")
        xs, ys = self._segments(X, y, reset=False)
        preds = self._predict_segments(xs)
        return _sample_scores(np.concatenate(ys.data), np.concatenate(preds))

    def score(self, X, y, sample_weight=None):
        """R² of the prediction on ``(X, y)``, averaged over targets (as scikit-learn regressors:
        :func:`sklearn.metrics.r2_score` with ``multioutput='uniform_average'``).  Per-target R², r
        and explained variance: :meth:`score_targets`."""
        from sklearn.metrics import r2_score

        check_is_fitted(self, "coef_")
        xs, ys = self._segments(X, y, reset=False)
        yhat = np.concatenate(self._predict_segments(xs))
        return float(r2_score(np.concatenate(ys.data), yhat, sample_weight=sample_weight))

    def to_evoked(self, feature=None, kind=None, info=None):
        """The kernels as ``mne.EvokedArray`` (one per predictor); see :func:`._mne.to_evoked`."""
        from ._mne import to_evoked

        return to_evoked(self, feature=feature, kind=kind, info=info)

    def to_source_estimate(self, feature=None, kind=None, data=None, tmin=0.0):
        """Kernels over lags (or ``data`` such as predictions) as ``mne.SourceEstimate`` on the
        fitted vertices; see :func:`._mne.to_source_estimate`."""
        from ._mne import to_source_estimate

        return to_source_estimate(self, feature=feature, kind=kind, data=data, tmin=tmin)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


def _n_rows(a):
    """Number of rows of an array-like without converting it (None when unknown)."""
    shape = getattr(a, "shape", None)
    if shape is not None:
        return shape[0] if len(shape) else None
    try:
        return len(a)
    except TypeError:
        return None


def _is_segment_list(a) -> bool:
    """A list of segments holds arrays or DataArrays (a nested list of numbers is one array)."""
    return isinstance(a, (list, tuple)) and len(a) > 0 and all(
        isinstance(s, np.ndarray) or _is_xr(s) for s in a)


def _is_xr(a) -> bool:
    import xarray as xr

    return isinstance(a, xr.DataArray)


def _check_weights(sample_weight, lengths):
    """Per-segment float64 weights, or None (no weights, or all equal to 1)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, (list, tuple)) and len(sample_weight) == len(lengths) and all(
            np.ndim(w) == 1 for w in sample_weight) and len(lengths) > 1:
        parts = [np.asarray(w, dtype=np.float64) for w in sample_weight]
        bad = [i for i, (w, n) in enumerate(zip(parts, lengths)) if len(w) != n]
        if bad:
            raise ValueError(f"sample_weight[{bad[0]}] has {len(parts[bad[0]])} values but segment {bad[0]} has "
                             f"{lengths[bad[0]]} samples")
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        n = int(np.sum(lengths))
        if w.ndim == 0:
            w = np.full(n, float(w))
        if w.shape != (n,):
            raise ValueError(f"sample_weight must hold one weight per sample ({n}) or one array per segment, "
                             f"got shape {w.shape}")
        parts = np.split(w, np.cumsum(lengths)[:-1])
    allw = np.concatenate(parts)
    if not np.all(np.isfinite(allw)) or np.any(allw < 0) or not np.any(allw > 0):
        raise ValueError("sample_weight must be finite and >= 0, with at least one non-zero weight")
    if np.all(allw == 1.0):
        return None
    return parts


def _expand(W, cols, p, be):
    """Weights of the selected columns ``cols`` as (p, C) with zeros elsewhere."""
    if cols is None:
        return W
    out = be.zeros((p, W.shape[1]))
    idx = be.torch.as_tensor(cols, device=be.device) if be.name == "torch" else cols
    out[idx] = W
    return out


def _add_in_place(acc, st):
    acc.G += st.G
    return Stats(acc.G, acc.Z + st.Z, acc.S + st.S, acc.n + st.n, acc.xsum + st.xsum, acc.xsq + st.xsq,
                 acc.ysum + st.ysum, acc.ysq + st.ysq)


def _data_moments(xdata, scale, intercept):
    """Means and SDs of the predictors over all segments (as :func:`._suffstats.moments`)."""
    xs = [np.asarray(x, dtype=np.float64) for x in xdata]
    F = xs[0].shape[1]
    st = Stats(None, None, None, sum(x.shape[0] for x in xs), sum((x.sum(0) for x in xs), np.zeros(F)),
               sum(((x**2).sum(0) for x in xs), np.zeros(F)), np.zeros(1), np.zeros(1))
    mu, sd, _ = moments(st, scale, intercept)
    return mu, sd


def _diag(G, be):
    if be.name == "torch":
        return be.torch.diagonal(G)
    return np.diagonal(G)


def _sample_scores(y, yhat) -> dict:
    y = np.asarray(y, dtype=np.float64)
    yhat = np.asarray(yhat, dtype=np.float64)
    n = y.shape[0]
    mu = y.mean(0)
    yc = y - mu
    pc = yhat - mu
    return _scores_from_moments(n, yc.sum(0), (yc**2).sum(0), pc.sum(0), (pc**2).sum(0), (yc * pc).sum(0))


_NP64 = NumpyBackend("float64")
