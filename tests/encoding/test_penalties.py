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


@pytest.mark.parametrize("tmin,tmax,basis", [(-0.02, 0.06, None), (0.0, 0.1, 4)])
def test_sample_weights_equal_weighted_brute_force(tmin, tmax, basis, rng):
    from neurorrn.encoding._lagged import raised_cosine_basis

    X = [rng.standard_normal((T, 2)) + 1.0 for T in (300, 200)]
    Y = [rng.standard_normal((len(x), 2)) - 0.5 for x in X]
    w = [rng.uniform(0.0, 2.0, len(x)) for x in X]
    w[0][50:90] = 0.0  # an artefact
    trf = TRF(tmin, tmax, 100.0, alpha=15.0, lag_basis=basis).fit(X, Y, sample_weight=w)
    d0, d1 = int(round(tmin * 100)), int(round(tmax * 100))
    wa = np.concatenate(w)
    mu = (wa[:, None] * np.concatenate(X)).sum(0) / wa.sum()
    muy = (wa[:, None] * np.concatenate(Y)).sum(0) / wa.sum()
    B = np.eye(d1 - d0 + 1) if basis is None else raised_cosine_basis(d1 - d0 + 1, basis)
    D = np.concatenate([np.einsum("tlf,lk->tkf", lagged_design(x - mu, d0, d1), B).reshape(len(x), -1) for x in X])
    Dw = D * wa[:, None]
    Wb = np.linalg.solve(Dw.T @ D + 15.0 * np.eye(D.shape[1]), Dw.T @ (np.concatenate(Y) - muy))
    ref = np.einsum("lk,kfc->cfl", B, Wb.reshape(B.shape[1], 2, 2))
    np.testing.assert_allclose(trf.coef_, ref, rtol=1e-8, atol=1e-9 * np.abs(ref).max())
    # one weight per sample of the concatenation is the same; all-ones weights are no weights
    flat = TRF(tmin, tmax, 100.0, alpha=15.0, lag_basis=basis).fit(X, Y, sample_weight=np.concatenate(w))
    np.testing.assert_array_equal(flat.coef_, trf.coef_)
    ones = TRF(tmin, tmax, 100.0, alpha=15.0, lag_basis=basis).fit(X, Y, sample_weight=np.ones(500))
    plain = TRF(tmin, tmax, 100.0, alpha=15.0, lag_basis=basis).fit(X, Y)
    np.testing.assert_array_equal(ones.coef_, plain.coef_)


def test_sample_weights_cv_scores_are_weighted_and_artefacts_ignored(rng):
    """Huge artefacts with weight 0 do not disturb the fit: the CV fit with weights equals the fit
    on clean data at the same alpha, and recovers the planted kernel."""
    X = [rng.standard_normal((1500, 1)) for _ in range(4)]
    h = np.exp(-0.5 * ((np.arange(11) - 4) / 1.5) ** 2)
    Y = [np.convolve(x[:, 0], h)[:1500, None] + 0.5 * rng.standard_normal((1500, 1)) for x in X]
    bad = [y.copy() for y in Y]
    w = [np.ones(1500) for _ in X]
    for y, ww in zip(bad, w):
        y[700:760] += 1e3
        ww[700:760] = 0.0
    fit = TRF(0.0, 0.1, 100.0, cv=4).fit(X, bad, sample_weight=w)
    assert np.corrcoef(fit.coef_[0, 0], h)[0, 1] > 0.99
    assert fit.best_score_[0] > 0.5
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0, with at least one non-zero weight"):
        TRF(0.0, 0.1, 100.0, alpha=1.0).fit(X, Y, sample_weight=-np.ones(6000))
    with pytest.raises(ValueError, match=r"one weight per sample \(6000\)"):
        TRF(0.0, 0.1, 100.0, alpha=1.0).fit(X, Y, sample_weight=np.ones(10))
