"""Laplacian (smoothness) penalty as MNE's TimeDelayingRidge, per-predictor lag windows."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.encoding import TRF
from neurorrn.encoding._lagged import lagged_design


@pytest.mark.parametrize("reg_type", ["laplacian", ("laplacian", "ridge"), ("ridge", "laplacian")])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_laplacian_matches_mne_time_delaying_ridge(reg_type, fit_intercept, rng):
    from mne.decoding import ReceptiveField, TimeDelayingRidge

    X = rng.standard_normal((3, 400, 3))
    Y = rng.standard_normal((3, 400, 2)) + 1.0
    tdr = TimeDelayingRidge(-0.02, 0.08, 100.0, alpha=30.0, reg_type=list(reg_type) if isinstance(reg_type, tuple)
                            else reg_type, fit_intercept=fit_intercept)
    rf = ReceptiveField(-0.02, 0.08, 100.0, estimator=tdr, fit_intercept=fit_intercept)
    rf.fit(X.transpose(1, 0, 2), Y.transpose(1, 0, 2))
    ours = TRF(-0.02, 0.08, 100.0, alpha=30.0, reg_type=reg_type, fit_intercept=fit_intercept).fit(list(X), list(Y))
    np.testing.assert_allclose(ours.coef_, rf.coef_, rtol=0, atol=1e-9 * np.abs(rf.coef_).max())
    ridge = TRF(-0.02, 0.08, 100.0, alpha=30.0, fit_intercept=fit_intercept).fit(list(X), list(Y))
    assert np.abs(ridge.coef_ - ours.coef_).max() > 1e-3 * np.abs(ridge.coef_).max()  # it is a different penalty


def test_laplacian_leaves_smooth_kernels_unshrunk(rng):
    """A kernel that is constant over lags and features lies in the Laplacian's null space: under a
    huge alpha the Laplacian fit still recovers it without shrinkage, ridge shrinks it to 0, and a
    rough kernel is flattened by the Laplacian (truth planted, recovered)."""
    X = [rng.standard_normal((3000, 2)) for _ in range(3)]
    Y = [0.5 * sum(np.convolve(x[:, f], np.ones(11))[:3000] for f in range(2))[:, None]
         + rng.standard_normal((3000, 1)) for x in X]
    big = 1e7
    lap = TRF(0.0, 0.1, 100.0, alpha=big, reg_type="laplacian").fit(X, Y)
    rid = TRF(0.0, 0.1, 100.0, alpha=big).fit(X, Y)
    np.testing.assert_allclose(lap.coef_, 0.5, atol=0.01)
    assert np.abs(rid.coef_).max() < 0.01
    alt = [np.column_stack([np.convolve(x[:, 0], (-1.0) ** np.arange(11))[:3000]]) + rng.standard_normal((3000, 1))
           for x in X]  # a maximally rough kernel on feature 0
    lap2 = TRF(0.0, 0.1, 100.0, alpha=1e3, reg_type=("laplacian", "ridge")).fit(X, alt)
    rid2 = TRF(0.0, 0.1, 100.0, alpha=1e3).fit(X, alt)
    # shrinkage of the alternating kernel: ~n / (n + 4 alpha) (its Laplacian eigenvalue is ~4) vs n / (n + alpha)
    assert np.abs(lap2.coef_[0, 0]).mean() < 0.85 * np.abs(rid2.coef_[0, 0]).mean()


@pytest.mark.parametrize("windows", [{0: (0.0, 0.05), 2: (0.03, 0.1)}, [(0.0, 0.1), (0.02, 0.02), (0.05, 0.1)]])
def test_lag_windows_equal_brute_force(windows, rng):
    X = [rng.standard_normal((T, 3)) + 0.5 for T in (300, 250)]
    Y = [rng.standard_normal((len(x), 2)) for x in X]
    trf = TRF(0.0, 0.1, 100.0, alpha=20.0, lag_windows=windows).fit(X, Y)
    wins = windows if isinstance(windows, list) else [windows.get(f, (0.0, 0.1)) for f in range(3)]
    keep = np.array([[round(a * 100) <= d <= round(b * 100) for (a, b) in wins] for d in range(11)])  # (L, F)
    mu, muy = np.concatenate(X).mean(0), np.concatenate(Y).mean(0)
    D = np.concatenate([lagged_design(x - mu, 0, 10).reshape(len(x), -1) for x in X])[:, keep.ravel()]
    Wk = np.linalg.solve(D.T @ D + 20.0 * np.eye(D.shape[1]), D.T @ (np.concatenate(Y) - muy))
    W = np.zeros((11 * 3, 2))
    W[keep.ravel()] = Wk
    ref = W.reshape(11, 3, 2).transpose(2, 1, 0)
    np.testing.assert_allclose(trf.coef_, ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())
    cv = TRF(0.0, 0.1, 100.0, lag_windows=windows, cv=2).fit(X, Y)
    assert np.all(cv.coef_[:, ~keep.T] == 0) and np.all(cv.coef_[:, keep.T] != 0)


def test_lag_window_errors(rng):
    X, Y = rng.standard_normal((300, 2)), rng.standard_normal((300, 1))
    with pytest.raises(ValueError, match="must be an interval inside tmin..tmax"):
        TRF(0.0, 0.1, 100.0, alpha=1.0, lag_windows={0: (0.0, 0.2)}).fit(X, Y)
    with pytest.raises(ValueError, match="unknown feature 'env'"):
        TRF(0.0, 0.1, 100.0, alpha=1.0, lag_windows={"env": (0.0, 0.05)}).fit(X, Y)
    with pytest.raises(ValueError, match="expected one .* per feature"):
        TRF(0.0, 0.1, 100.0, alpha=1.0, lag_windows=[(0.0, 0.05)]).fit(X, Y)
    with pytest.raises(ValueError, match="Allowed values are 'ridge', 'laplacian'"):
        TRF(0.0, 0.1, 100.0, alpha=1.0, reg_type="lasso").fit(X, Y)
