"""Boosting TRFs: coordinate descent with early stopping (David et al. 2007; Eelbrain's ``boosting``).

The algorithm, as :func:`eelbrain.boosting` (algorithm version 3, Eelbrain 0.41):

1. Predictors and responses are centred and scaled over all data (``scale_data``): divided by the
   standard deviation for the ``l2`` error, by the mean absolute value for ``l1``.  Predictors are
   padded with their *unscaled* zero outside each stretch of data.
2. The data are divided into ``partitions``.  For each partition in turn as validation set, a
   kernel is estimated on the others: starting from ``h = 0``, each step changes the one kernel
   element ``h[feature, lag]`` by ``+delta`` or ``-delta`` that most reduces the training error.
   When no change reduces it, ``delta`` is halved while it stays ``>= mindelta`` (the default
   ``mindelta = delta`` stops at once).  A step that undoes the previous one stops the run.
3. After every step the validation error is computed.  The run stops once it has risen in the last
   step and stands above its value two steps before (after at least 10 steps); with
   ``selective_stopping=k`` the predictor that caused an increase (``k`` increases without an
   improvement in between) is frozen and its last changes are undone, and the run stops when all
   predictors are frozen.  The kernel of the step with the lowest validation error is kept; a run
   whose first step already raised it "fails" (its kernel is left out of the average).
4. The kernel is the mean over the partitions' runs.  With a ``basis`` the predictors are first
   smoothed with a normalised window (Hamming by default) and the reported kernel is the boosted
   one convolved with the same window (so it extends by the window's half width on both sides).

The l2 error of every candidate step is computed from lagged Gram matrices (each step costs
O(p) for p = features x lags instead of Eelbrain's O(p x n_times)); the l1 error from one
matrix-vector product with the residuals' signs plus a correction on the few samples whose residual
is smaller than a step (:class:`_L1`).

Differences from Eelbrain: the lag window is ``tmin .. tmax`` inclusive (Eelbrain's ``tstop`` is
exclusive: ``tstop = tmax + 1/sfreq`` is the same kernel); the basis smoothing stays within each
segment (Eelbrain smooths the concatenated segments); with more than 10 segments the default is 10
partitions taking every 10th segment, and with 2 segments each is cut into 5 (Eelbrain asks for
``partitions`` in both cases); ``test`` partitions are not built in — held-out scores come from
:func:`neurorrn.encoding.cross_validate`; predictions use the averaged kernel on zero-padded
predictors everywhere (Eelbrain's evaluation skips the first ``n_lags - 1`` samples of a
single continuous segment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._check import check_option, validate_type
from ..utils._logging import logger, progress, use_log_level
from ._backend import NumpyBackend, single_blas_thread
from ._inputs import check_lags
from ._lagged import lagged_design, lagged_gram, lagged_predict
from ._trf import TRF

ERRORS = ("l1", "l2")
MAX_STEPS = 999_999  # as Eelbrain
_NP = NumpyBackend("float64")


@dataclass
class _Step:
    i_step: int
    j: int  # column (feature * n_lags + lag index), -1 for none
    dlt: float
    e_train: float
    e_test: float = np.nan


class _L2:
    """Training / validation errors of one target from Gram matrices (feature-major columns)."""

    def __init__(self, Gtr, ctr, yytr, Gva, cva, yyva):
        self.Gtr, self.Gva = Gtr, Gva
        self.dtr = np.diagonal(Gtr).copy()
        self.dva = np.diagonal(Gva).copy()
        self.gtr = ctr.copy()  # D_tr.T @ residual
        self.gva = cva.copy()
        self.e_train = float(yytr)
        self.e_test = float(yyva)

    def best(self, delta, active):
        # e(+delta) = E - 2 delta g + delta^2 d, e(-delta) = E + 2 delta g + delta^2 d: the smaller
        # is E + delta^2 d - 2 delta |g|, with -delta where g < 0 (+delta on ties, as Eelbrain)
        e = delta * delta * self.dtr - 2 * delta * np.abs(self.gtr)
        e[~active] = np.inf
        j = int(np.argmin(e))
        return self.e_train + float(e[j]), j, (-delta if self.gtr[j] < 0 else delta)

    def update(self, j, dlt, e_new=None):
        self.e_train += -2 * dlt * self.gtr[j] + dlt * dlt * self.dtr[j]
        self.e_test += -2 * dlt * self.gva[j] + dlt * dlt * self.dva[j]
        self.gtr -= dlt * self.Gtr[j]  # symmetric: row j = column j, contiguous
        self.gva -= dlt * self.Gva[j]


class _L1:
    """Training / validation errors of one target from residuals (l1 error).

    For a candidate ``h_j += a`` (``a = +-delta``) the training error is ``sum_t |r_t - a D_tj|``.
    Where ``|a D_tj| <= |r_t|`` the absolute value is linear, ``|r_t| - sign(r_t) a D_tj``, so

        e(a)_j = E - a (D.T @ sign(r))_j + sum_{t in R} (|r_t - a D_tj| - |r_t| + sign(r_t) a D_tj)

    with ``R`` the few samples where ``|r_t| <= delta max_j |D_tj|`` (the correction is exactly 0
    elsewhere): one matrix-vector product plus a small correction per step instead of summing
    ``|r - a D|`` over all samples and candidates (the same numbers up to rounding).
    """

    def __init__(self, Dtr, ytr, Dva, yva):
        self.Dtr = Dtr  # C order: rows gathered for the correction
        self.Dcol = np.asfortranarray(Dtr)  # F order: columns for the updates
        self.Dva = np.asfortranarray(Dva)
        self.rowmax = np.abs(Dtr).max(1)
        self.rtr = ytr.copy()
        self.rva = yva.copy()
        self.e_train = float(np.abs(self.rtr).sum())
        self.e_test = float(np.abs(self.rva).sum())
        self.sgn = np.sign(self.rtr)
        self.v = Dtr.T @ self.sgn  # kept up to date where signs change (few samples per step)
        self._thr_delta, self._thr = None, None
        self._R, self._R_delta = None, None

    def best(self, delta, active):
        r = self.rtr
        sgn = self.sgn
        v = delta * self.v
        a = self.e_train - v
        s = self.e_train + v
        if self._thr_delta != delta:
            self._thr, self._thr_delta = delta * self.rowmax, delta
        R = np.flatnonzero(np.abs(r) <= self._thr)
        # only these samples can change sign in a step of at most delta (r is unchanged until then)
        self._R, self._R_delta = R, delta
        if R.size:
            dD = delta * self.Dtr[R]
            rR, sR = r[R, None], sgn[R, None]
            absr = np.abs(rR)
            a += (np.abs(rR - dD) - absr + sR * dD).sum(0)
            s += (np.abs(rR + dD) - absr - sR * dD).sum(0)
        return _choose(a, s, active, delta)

    def update(self, j, dlt, e_new=None):
        self.rtr -= dlt * self.Dcol[:, j]
        self.rva -= dlt * self.Dva[:, j]
        # the chosen step's training error was just computed by best(); recount after an undo
        self.e_train = float(np.abs(self.rtr).sum()) if e_new is None else e_new
        self.e_test = float(np.abs(self.rva).sum())
        if self._R is not None and abs(dlt) <= self._R_delta:
            rows = self._R
            new = np.sign(self.rtr[rows])
            ch = np.flatnonzero(new != self.sgn[rows])
            rows, new = rows[ch], new[ch]
        else:
            new_all = np.sign(self.rtr)
            rows = np.flatnonzero(new_all != self.sgn)
            new = new_all[rows]
        self._R = None
        if rows.size:
            self.v += self.Dtr[rows].T @ (new - self.sgn[rows])
            self.sgn[rows] = new


def _choose(e_add, e_sub, active, delta):
    """Eelbrain's choice: per element the smaller of +/- (``+`` on ties), then the first minimum."""
    sub = e_add > e_sub
    e = np.where(sub, e_sub, e_add)
    e[~active] = np.inf
    j = int(np.argmin(e))
    return float(e[j]), j, (-delta if sub[j] else delta)


def boost_run(model, n_features: int, n_lags: int, delta: float, mindelta: float,
              selective_stopping: int = 0, allowed=None):
    """One boosting run (one validation partition, one target), as Eelbrain's ``boosting_run``.

    ``allowed`` (bool, ``n_features * n_lags``) restricts each feature to its own lag window.

    Returns
    -------
    h : array of shape (n_features * n_lags,)  (feature-major)
    failed : bool
        The validation error never fell below that of ``h = 0``.
    n_steps : int
    """
    p = n_features * n_lags
    h = np.zeros(p)
    active_f = np.ones(n_features, bool)
    allowed = np.ones(p, bool) if allowed is None else np.asarray(allowed, bool)
    active = allowed.copy()
    hist = [_Step(-1, -1, 0.0, model.e_train)]
    best_err, best_i = np.inf, -1
    for i_step in range(MAX_STEPS):
        step = hist[-1]
        e_test = model.e_test
        step.e_test = e_test
        if e_test < best_err:
            best_err, best_i = e_test, step.i_step
        elif len(hist) >= 2 and e_test > hist[-2].e_test and i_step >= 2:
            if selective_stopping:
                undo = 1
                if selective_stopping > 1:
                    # only stop if the predictor overfits k times without intermittent improvement
                    n_bad, idx = 1, len(hist) - 2
                    while True:
                        undo += 1
                        sj = hist[idx]
                        if sj.j >= 0 and sj.j // n_lags == step.j // n_lags:
                            if sj.e_test > hist[idx - 1].e_test:
                                n_bad += 1
                                if n_bad == selective_stopping:
                                    break
                            else:
                                undo = 0
                                break
                        idx -= 1
                        if idx < 0 or hist[idx].e_test > e_test:
                            undo = 0
                            break
                if undo and step.j >= 0:
                    f = step.j // n_lags
                    active_f[f] = False
                    active[f * n_lags:(f + 1) * n_lags] = False
                    if not active_f.any():
                        break
                    for _ in range(undo):
                        s = hist.pop()
                        if s.dlt:
                            h[s.j] -= s.dlt
                            model.update(s.j, -s.dlt)
            elif i_step > 10 and e_test > hist[-3].e_test:
                break
        e_new, j, dlt = model.best(delta, active)
        prev = hist[-1]
        new = _Step(i_step, j, dlt, e_new)
        hist.append(new)
        if e_new > prev.e_train:  # no step reduces the training error
            delta *= 0.5
            new.dlt = 0.0
            if delta >= mindelta:
                new.j = -1
                continue
            break
        if new.dlt == -prev.dlt and new.j == prev.j:  # moving in circles
            new.dlt = 0.0
            break
        h[j] += dlt
        model.update(j, dlt, e_new)
    else:
        raise RuntimeError(f"boosting did not stop within {MAX_STEPS} steps")
    n_steps = len(hist) - 1
    if best_i > -1:
        while hist[-1].i_step > best_i:
            s = hist.pop()
            if s.dlt:
                h[s.j] -= s.dlt
        return h, False, n_steps
    return h, True, n_steps


def _partition_pieces(lengths, partitions):
    """Pieces ``(segment, lo, hi, partition)``: Eelbrain's division of the data for validation."""
    n_seg = len(lengths)
    if partitions is None:
        if n_seg == 1 or n_seg == 2:
            partitions = 10
        elif n_seg <= 10:
            partitions = n_seg
        else:
            partitions = 10
    partitions = int(partitions)
    if partitions < 2:
        raise ValueError(f"partitions must be >= 2 (one validation set and training data), got {partitions}")
    pieces = []
    if n_seg >= partitions:
        for s, T in enumerate(lengths):
            pieces.append((s, 0, T, s % partitions))
    else:
        if partitions % n_seg:
            raise ValueError(f"partitions={partitions} with {n_seg} segments: partitions must be a multiple "
                             f"of the number of segments (each is cut into partitions / {n_seg} parts) or "
                             "at most the number of segments")
        k = partitions // n_seg
        i = 0
        for s, T in enumerate(lengths):
            pts = np.round(np.linspace(0, T, k + 1)).astype(int)
            for a, b in zip(pts[:-1], pts[1:]):
                pieces.append((s, int(a), int(b), i % partitions))
                i += 1
    return pieces, partitions


def _stretches(pieces, n_seg, part):
    """Training and validation stretches ``(segment, lo, hi)`` for validation partition ``part``.

    Adjacent pieces on the same side are merged (Eelbrain's soft splits); segment edges stay.
    """
    train, val = [], []
    for s in range(n_seg):
        cur = None  # [is_validation, lo, hi]
        for lo, hi, p in sorted((lo, hi, p) for seg, lo, hi, p in pieces if seg == s):
            isv = p == part
            if cur is not None and cur[0] == isv and cur[2] == lo:
                cur[2] = hi
                continue
            if cur is not None:
                (val if cur[0] else train).append((s, cur[1], cur[2]))
            cur = [isv, lo, hi]
        if cur is not None:
            (val if cur[0] else train).append((s, cur[1], cur[2]))
    return train, val


class BoostingTRF(TRF):
    """Temporal response function estimated by boosting (Eelbrain's ``boosting``), scikit-learn API.

    Sparse kernels by coordinate descent with early stopping on held-out partitions (David,
    Mesgarani & Shamma 2007, *Network* 18:191; Brodbeck et al. 2023, *eLife* 12:e85012 — the
    estimator of Brodbeck et al.'s RNN–MEG results).  See the module docstring for the algorithm and
    where it differs from Eelbrain.  Each target (sensor) is fitted independently.

    Parameters
    ----------
    tmin, tmax : float | sequence of float
        First and last lag in seconds (inclusive; Eelbrain's ``tstart, tstop = tmin, tmax + 1/sfreq``).
        Sequences give each feature its own lag window (as Eelbrain's lists of ``tstart``/``tstop``);
        ``coef_`` spans their union, with zeros outside each feature's window.
    sfreq : float
    delta : float
        Step of the kernel changes, in units of the scaled data (Eelbrain default 0.005).
    mindelta : float | None
        Halve ``delta`` while no step reduces the training error, down to ``mindelta``
        (default ``None``: ``delta``, i.e. no halving).
    error : {'l2', 'l1'}
        Sum of squared or of absolute residuals (Eelbrain's ``boosting`` default ``'l2'``).
    basis : float
        Length (s) of the basis window (0: impulses).
    basis_window : str | tuple
        :func:`scipy.signal.get_window` name (default ``'hamming'``).
    partitions : int | None
        Number of partitions for early stopping (default: 10 for one segment; the number of segments
        for 3-10 segments; 10 otherwise).
    selective_stopping : int
        0: stop a run when the validation error rises; ``k > 0``: freeze a predictor after ``k``
        increases it caused and continue with the others.
    scale_data : bool
        Centre and scale predictors and responses first (Eelbrain's default ``True``).
    n_jobs : int | None
        Threads over the targets (``None``: 1).  Every run is computed the same way whatever the
        number of threads, so the result does not depend on it; the ``l1`` error gains most
        (its numpy work releases the GIL).
    verbose : bool | str | int | None

    Attributes
    ----------
    coef_ : array of shape (n_targets, n_features, n_lags)
        Kernel in physical units (Eelbrain's ``h_scaled``).
    intercept_ : array (n_targets,)
    delays_, lags_ : the kernel's lags (extended by the basis window when ``basis > 0``)
    partition_coef_ : array of shape (n_partitions, n_targets, n_features, n_lags)
        The kernel of each validation run (physical units; failed runs are NaN).
    failed_ : array of bool (n_partitions, n_targets)
    n_steps_ : array of int (n_partitions, n_targets)
    x_scale_, y_scale_, x_mean_, y_mean_ : the data scaling
    alpha_ : array of NaN (n_targets,)
        No ridge penalty (kept for tools that read ``alpha_`` of TRFs).
    info_ : mne.Info | None
        Channels of an MNE fit input.
    """

    dtype = "float64"  # read by the shared input validation
    scoring = "r2"  # what score() returns (read by trf_to_xarray / cross_validate)

    def __init__(self, tmin=0.0, tmax=0.5, sfreq=100.0, delta=0.005, mindelta=None, error="l2", basis=0.0,
                 basis_window="hamming", partitions=None, selective_stopping=0, scale_data=True, n_jobs=None,
                 verbose=None):
        self.tmin = tmin
        self.tmax = tmax
        self.sfreq = sfreq
        self.delta = delta
        self.mindelta = mindelta
        self.error = error
        self.basis = basis
        self.basis_window = basis_window
        self.partitions = partitions
        self.selective_stopping = selective_stopping
        self.scale_data = scale_data
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _windows(self):
        """Per-feature first and last lag in samples (arrays), or scalars broadcast later."""
        tmin = np.atleast_1d(np.asarray(self.tmin, dtype=np.float64))
        tmax = np.atleast_1d(np.asarray(self.tmax, dtype=np.float64))
        if tmin.ndim != 1 or tmax.ndim != 1 or (tmin.size > 1 and tmax.size > 1 and tmin.size != tmax.size):
            raise ValueError(f"tmin and tmax must be numbers or sequences of the same length (one per "
                             f"feature), got tmin={self.tmin!r}, tmax={self.tmax!r}")
        tmin, tmax = np.broadcast_arrays(tmin, tmax)
        if np.any(tmin > tmax):
            raise ValueError(f"tmin ({self.tmin}) must be <= tmax ({self.tmax}) for every feature")
        lo = np.round(tmin * self.sfreq).astype(int)
        hi = np.round(tmax * self.sfreq).astype(int)
        return lo, hi

    def _check_params(self):
        for name in ("sfreq", "delta", "basis"):
            validate_type(getattr(self, name), "numeric", name)
        for name in ("tmin", "tmax"):
            v = getattr(self, name)
            if not isinstance(v, (list, tuple, np.ndarray)):
                validate_type(v, "numeric", name)
        if not self.sfreq > 0:
            raise ValueError(f"sfreq must be > 0, got {self.sfreq!r}")
        lo, hi = self._windows()
        if not self.delta > 0:
            raise ValueError(f"delta must be > 0, got {self.delta!r}")
        if self.mindelta is not None:
            validate_type(self.mindelta, "numeric", "mindelta")
            if not 0 < self.mindelta <= self.delta:
                raise ValueError(f"mindelta must be in (0, delta={self.delta}], got {self.mindelta!r}")
        check_option(self.error, ERRORS, "error")
        if self.basis < 0:
            raise ValueError(f"basis must be >= 0 (seconds), got {self.basis!r}")
        validate_type(self.selective_stopping, "int", "selective_stopping")
        if self.selective_stopping < 0:
            raise ValueError(f"selective_stopping must be >= 0, got {self.selective_stopping}")
        if self.partitions is not None:
            validate_type(self.partitions, "int", "partitions")
        validate_type(self.scale_data, bool, "scale_data")
        if self.n_jobs is not None:
            validate_type(self.n_jobs, "int", "n_jobs")
            if self.n_jobs < 1:
                raise ValueError(f"n_jobs must be >= 1 or None, got {self.n_jobs}")
        return int(lo.min()), int(hi.max())

    def fit(self, X, y, groups=None, picks=None):
        """Fit the kernels.

        Parameters
        ----------
        X : array (n_times, n_features) | DataArray (time, feature) | list of segments
        y : array (n_times,) or (n_times, n_targets) | DataArray (time, target) | list
            | mne.io.Raw | mne.Epochs | mne.Evoked
        groups : None
            For the TRF interface (``cross_validate``); the validation partitions come from
            ``partitions``.
        picks : channels of an MNE input (default: the good data channels)

        Returns
        -------
        self
        """
        if y is None:
            raise ValueError("BoostingTRF requires y to be passed, but the target y is None")
        if groups is not None:
            raise ValueError("BoostingTRF takes no groups: its validation sets are set by partitions "
                             "(segments, or contiguous pieces of one segment)")
        with use_log_level(self.verbose):
            d0, d1 = self._check_params()
            xs, ys = self._segments(X, y, reset=True, picks=picks)
            self._store_meta(xs, ys, d0, d1)
            with single_blas_thread():  # one BLAS thread per worker, whatever the environment
                self._boost(xs.data, ys.data, d0, d1)
        return self

    # ------------------------------------------------------------------ the fit
    def _window(self):
        if not self.basis:
            return None
        from scipy.signal import get_window

        n = int(round(self.basis * self.sfreq))
        w = get_window(self.basis_window, n, False) if n > 0 else np.zeros(0)
        if len(w) <= 1:
            raise ValueError(f"basis={self.basis!r} s is {len(w)} sample(s) at {self.sfreq:g} Hz: "
                             "the window needs at least 2")
        return w / w.sum()

    def _boost(self, xdata, ydata, d0, d1):
        from scipy.signal import convolve

        L = d1 - d0 + 1
        F = xdata[0].shape[1]
        C = ydata[0].shape[1]
        lengths = [x.shape[0] for x in xdata]
        if sum(lengths) < 2:
            raise ValueError(f"BoostingTRF needs training and validation samples, got n_samples={sum(lengths)}")
        check_lags(lengths, d0, d1, self.sfreq)
        w = self._window()
        if w is not None:  # smooth each predictor with the basis window, within each segment
            xdata = [convolve(x, w[:, None], mode="same") for x in xdata]
        xall, yall = np.concatenate(xdata), np.concatenate(ydata)
        x_mean, y_mean = xall.mean(0), yall.mean(0)
        if self.scale_data:
            xc, yc = xall - x_mean, yall - y_mean
            if self.error == "l1":
                x_scale, y_scale = np.abs(xc).mean(0), np.abs(yc).mean(0)
            else:
                x_scale, y_scale = np.sqrt((xc ** 2).mean(0)), np.sqrt((yc ** 2).mean(0))
            del xc, yc
            for name, sc in (("X", x_scale), ("y", y_scale)):
                if np.any(sc == 0):
                    raise ValueError(f"{name} has flat (constant) column(s) {np.flatnonzero(sc == 0)[:10].tolist()}"
                                     ": boosting scales every column by its spread")
        else:
            x_mean, y_mean = np.zeros(F), np.zeros(C)
            x_scale, y_scale = np.ones(F), np.ones(C)
        del xall, yall
        xn = [x / x_scale for x in xdata]  # scaled; padded with (unscaled) 0 => -mean/scale after centring
        yn = [(y - y_mean) / y_scale for y in ydata]
        q = x_mean / x_scale  # subtracted from every lagged column (feature-major: repeat over lags)
        lo, hi = self._windows()
        if lo.size not in (1, F):
            raise ValueError(f"tmin/tmax give {lo.size} lag windows but X has {F} features (one window per "
                             "feature, or one for all)")
        lags = np.arange(d0, d1 + 1)
        allowed = ((lags[None, :] >= np.broadcast_to(lo, (F,))[:, None])
                   & (lags[None, :] <= np.broadcast_to(hi, (F,))[:, None])).ravel()
        pieces, P = _partition_pieces(lengths, self.partitions)
        mindelta = self.delta if self.mindelta is None else self.mindelta
        H = np.full((P, C, F * L), np.nan)
        failed = np.zeros((P, C), bool)
        n_steps = np.zeros((P, C), int)
        logger.info("BoostingTRF: %d segment(s), %d partitions, %d features x %d lags, %d target(s), error=%s",
                    len(xdata), P, F, L, C, self.error)
        for part in progress(range(P), desc="boosting partitions", total=P):
            tr, va = _stretches(pieces, len(xdata), part)
            if not va or not tr:
                raise ValueError(f"partition {part} has no {'validation' if not va else 'training'} data")
            check_lags([hi - lo for _, lo, hi in tr + va], d0, d1, self.sfreq, name="a cross-validation piece of X")
            if self.error == "l2":
                Gtr, ctr, yytr = _l2_stats(xn, yn, tr, d0, d1, q)
                Gva, cva, yyva = _l2_stats(xn, yn, va, d0, d1, q)

                def model(c):
                    return _L2(Gtr, ctr[:, c], yytr[c], Gva, cva[:, c], yyva[c])
            else:
                Dtr, Ytr = _design(xn, yn, tr, d0, d1, q)
                Dva, Yva = _design(xn, yn, va, d0, d1, q)

                def model(c):
                    return _L1(Dtr, Ytr[:, c], Dva, Yva[:, c])

            def run(c):
                return boost_run(model(c), F, L, self.delta, mindelta, self.selective_stopping, allowed)

            for c, (hc, fc, nc) in enumerate(_map(run, range(C), self.n_jobs)):
                H[part, c], failed[part, c], n_steps[part, c] = hc, fc, nc
            logger.debug("partition %d: %d failed, median %d steps", part, failed[part].sum(),
                         np.median(n_steps[part]))
        Hp = H.reshape(P, C, F, L).copy()
        Hp[failed] = np.nan
        ok = ~failed
        h = np.where(ok.any(0)[:, None, None], np.nansum(np.where(ok[..., None, None], Hp, 0.0), 0)
                     / np.maximum(ok.sum(0), 1)[:, None, None], 0.0)
        scale = (y_scale[:, None] / x_scale[None, :])[:, :, None]
        coef, part_coef = h * scale, Hp * scale[None]
        if w is not None:
            n = len(w)
            coef = np.apply_along_axis(lambda k: np.convolve(k, w), -1, coef)
            part_coef = np.apply_along_axis(lambda k: np.convolve(k, w), -1, part_coef)
            c0 = (n - 1) // 2
            self.delays_ = np.arange(d0 - c0, d1 + n - c0)
            self.lags_ = self.delays_ / float(self.sfreq)
        self.coef_ = np.ascontiguousarray(coef)
        self.partition_coef_ = part_coef
        self.failed_ = failed
        self.n_steps_ = n_steps
        self.n_lags_ = self.coef_.shape[2]
        self.x_mean_, self.x_scale_, self.y_mean_, self.y_scale_ = x_mean, x_scale, y_mean, y_scale
        # prediction: intercept + kernel * zero-padded predictors (x_mean of the smoothed predictors)
        self.mu_x_ = x_mean
        self.intercept_ = y_mean - np.einsum("cfl,f->c", self.coef_, x_mean)
        self.mu_y_ = self.intercept_
        self.alpha_ = np.full(C, np.nan)
        self.alphas_ = np.array([np.nan])
        self.cv_results_ = None
        self.best_score_ = None
        if failed.all(0).any():
            logger.warning("BoostingTRF: every run failed for %d target(s) (kernel 0): the predictors do "
                           "not reduce their validation error", int(failed.all(0).sum()))

    # ------------------------------------------------------------------ predict / score
    def _predict_segments(self, xs):
        W = np.transpose(self.coef_, (2, 1, 0))  # (L, F, C)
        d0, d1 = int(self.delays_[0]), int(self.delays_[-1])
        return [lagged_predict(np.asarray(x, dtype=np.float64), W, d0, d1, _NP) + self.intercept_[None, :]
                for x in xs.data]

    def score(self, X, y, sample_weight=None):
        """Mean over targets of the coefficient of determination R² on ``(X, y)`` (scikit-learn's
        regressor score); :meth:`score_targets` also gives Pearson ``'r'``."""
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by BoostingTRF")
        check_is_fitted(self, "coef_")
        return float(np.mean(self.score_targets(X, y)["r2"]))


def _map(fun, items, n_jobs):
    """``map`` over threads (results in order; each item computed alike whatever the thread count)."""
    items = list(items)
    if not n_jobs or n_jobs == 1 or len(items) < 2:
        return [fun(i) for i in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=int(n_jobs)) as ex:
        return list(ex.map(fun, items))


def _lagged_fm(x, d0, d1):
    """Explicit lagged design of one stretch, feature-major columns ``f * L + (d - d0)``."""
    D = lagged_design(x, d0, d1)  # (T, L, F)
    return np.ascontiguousarray(D.transpose(0, 2, 1)).reshape(x.shape[0], -1)


def _perm(F, L):
    """Lag-major column index of each feature-major column."""
    f, i = np.divmod(np.arange(F * L), L)
    return i * F + f


def _l2_stats(xn, yn, stretches, d0, d1, q):
    """Gram, cross-products and response energy of the centred lagged design over the stretches."""
    F = xn[0].shape[1]
    L = d1 - d0 + 1
    p = F * L
    C = yn[0].shape[1]
    G = np.zeros((p, p))
    Z = np.zeros((p, C))
    colsum = np.zeros(p)
    ysum = np.zeros(C)
    yy = np.zeros(C)
    n = 0
    perm = _perm(F, L)
    for s, lo, hi in stretches:
        x, y = xn[s][lo:hi], yn[s][lo:hi]
        Glm = lagged_gram(x, d0, d1, _NP)  # lag-major
        G += Glm[np.ix_(perm, perm)]
        D = _lagged_fm(x, d0, d1) if x.shape[0] * p <= 5e6 else None
        if D is not None:
            Z += D.T @ y
            colsum += D.sum(0)
        else:
            for i, d in enumerate(range(d0, d1 + 1)):
                T = x.shape[0]
                xs_ = x[: T - d] if d >= 0 else x[-d:]
                ys_ = y[d:] if d >= 0 else y[: T + d]
                Z[np.arange(F) * L + i] += xs_.T @ ys_
                colsum[np.arange(F) * L + i] += xs_.sum(0)
        ysum += y.sum(0)
        yy += (y ** 2).sum(0)
        n += x.shape[0]
    qq = np.repeat(q, L)
    # D = Dz - 1 qq^T:  G = Gz - s qq^T - qq s^T + n qq qq^T;  Z = Zz - qq ysum^T
    G += -np.outer(colsum, qq) - np.outer(qq, colsum) + n * np.outer(qq, qq)
    Z -= np.outer(qq, ysum)
    return G, Z, yy


def _design(xn, yn, stretches, d0, d1, q):
    """Explicit centred lagged design (C order: row gathers) and responses over the stretches (l1)."""
    L = d1 - d0 + 1
    qq = np.repeat(q, L)
    D = np.concatenate([_lagged_fm(xn[s][lo:hi], d0, d1) for s, lo, hi in stretches]) - qq
    Y = np.concatenate([yn[s][lo:hi] for s, lo, hi in stretches])
    return np.ascontiguousarray(D), Y


__all__ = ["BoostingTRF", "boost_run"]
