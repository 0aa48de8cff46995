"""TRF: scikit-learn compliance, exactness against MNE and scikit-learn, recovery, input errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sklearn.utils.estimator_checks import parametrize_with_checks

from _sim import planted
from neurorrn.encoding import TRF, trf_to_xarray
from neurorrn.encoding._lagged import lagged_design

_ORDER = "a TRF with several lags predicts from the neighbouring samples, so reordering or subsetting rows changes predictions"


def _expected_failures(est):
    if est.tmax > est.tmin:
        return {"check_methods_sample_order_invariance": _ORDER, "check_methods_subset_invariance": _ORDER,
                "check_sample_weight_equivalence_on_dense_data": "repeating a sample of a time series shifts "
                "the samples after it by one lag, so a weight of 2 is not a repeated row"}
    return {}


@parametrize_with_checks(
    [TRF(0.0, 0.0, 1.0, alpha=1.0), TRF(0.0, 0.0, 1.0, alpha=[0.1, 1.0, 10.0], cv=2),
     TRF(0.0, 0.02, 100.0, alpha=1.0)],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _epochs(rng, n_ep=3, T=400, F=3, C=4):
    return rng.standard_normal((n_ep, T, F)), rng.standard_normal((n_ep, T, C)) + 2.0


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("tmin,tmax", [(0.0, 0.1), (-0.05, 0.08), (-0.1, -0.02)])
def test_matches_mne_time_delaying_ridge(fit_intercept, tmin, tmax, rng):
    from mne.decoding import ReceptiveField

    X, Y = _epochs(rng)
    rf = ReceptiveField(tmin, tmax, 100.0, estimator=10.0, fit_intercept=fit_intercept)
    rf.fit(X.transpose(1, 0, 2), Y.transpose(1, 0, 2))
    ours = TRF(tmin, tmax, 100.0, alpha=10.0, fit_intercept=fit_intercept).fit(list(X), list(Y))
    scale = np.abs(rf.coef_).max()
    np.testing.assert_allclose(ours.coef_, rf.coef_, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(ours.intercept_, np.broadcast_to(rf.estimator_.intercept_, (4,)), atol=1e-9)
    # float32 torch path agrees to float32 precision
    t32 = TRF(tmin, tmax, 100.0, alpha=10.0, fit_intercept=fit_intercept, backend="torch", dtype="float32",
              device="cpu").fit(list(X), list(Y))
    np.testing.assert_allclose(t32.coef_, rf.coef_, rtol=0, atol=1e-4 * scale)


def test_matches_sklearn_ridge_on_lagged_design_unequal_segments(rng):
    """Segments of different lengths: same as Ridge on the per-segment zero-padded design."""
    from sklearn.linear_model import Ridge

    lens = [300, 170, 240]
    X = [rng.standard_normal((n, 4)) for n in lens]
    Y = [rng.standard_normal((n, 3)) for n in lens]
    mu, muy = np.concatenate(X).mean(0), np.concatenate(Y).mean(0)
    D = np.concatenate([lagged_design(x - mu, -3, 6).reshape(len(x), -1) for x in X])
    ref = Ridge(alpha=7.0, fit_intercept=False).fit(D, np.concatenate(Y) - muy)
    ours = TRF(-0.03, 0.06, 100.0, alpha=7.0).fit(X, Y)
    ref_coef = ref.coef_.reshape(3, 10, 4).transpose(0, 2, 1)  # lag-major columns -> (C, F, L)
    np.testing.assert_allclose(ours.coef_, ref_coef, atol=1e-10 * np.abs(ref_coef).max())
    # predictions inside segments equal the explicit model with the training means
    pred = ours.predict(X)
    np.testing.assert_allclose(pred[1], lagged_design(X[1] - mu, -3, 6).reshape(170, -1) @ ref.coef_.T + muy,
                               atol=1e-9)


def test_cv_scores_equal_explicit_refits(rng):
    """cv_results_ (from statistics) = refit on each training fold and score on the held-out one."""
    from sklearn.linear_model import Ridge

    X = [rng.standard_normal((200, 2)) + 1 for _ in range(4)]
    Y = [x[:, :1] * 2 + rng.standard_normal((200, 2)) for x in X]
    alphas = [1.0, 100.0]
    trf = TRF(0.0, 0.04, 100.0, alpha=alphas, cv=4, alpha_rule="best").fit(X, Y)
    for k in range(4):
        tr = [i for i in range(4) if i != k]
        mu = np.concatenate([X[i] for i in tr]).mean(0)
        muy = np.concatenate([Y[i] for i in tr]).mean(0)
        D = np.concatenate([lagged_design(X[i] - mu, 0, 4).reshape(200, -1) for i in tr])
        Dt = lagged_design(X[k] - mu, 0, 4).reshape(200, -1)
        for a, alpha in enumerate(alphas):
            m = Ridge(alpha=alpha, fit_intercept=False).fit(D, np.concatenate([Y[i] for i in tr]) - muy)
            yhat = Dt @ m.coef_.T + muy
            r = [np.corrcoef(yhat[:, j], Y[k][:, j])[0, 1] for j in range(2)]
            np.testing.assert_allclose(trf.cv_results_["r"][k, a], r, rtol=1e-8)
    assert trf.cv_results_["r"].shape == (4, 2, 2)


def test_recovery_at_minus_10_db():
    """Acceptance: 10 min at 100 Hz in 6 segments, independent predictors, -10 dB: r(TRF, truth) >= 0.9."""
    X, Y, h, _ = planted(n_segments=6, seg_len=10000, n_features=4, n_sensors=8, n_driven=4, snr_db=-10.0)
    trf = TRF(0.0, 0.5, 100.0).fit(X, Y)
    r = [np.corrcoef(trf.coef_[c].ravel(), h[c].ravel())[0, 1] for c in range(4)]
    assert min(r) >= 0.9, r
    # undriven sensors: no held-out prediction (best_score_ is R² by default; population R² of the
    # driven sensors at -10 dB is 1/11 = 0.091)
    assert np.all(np.abs(trf.best_score_[4:]) < 0.003)
    assert np.all(trf.best_score_[:4] > 0.06)


def test_per_target_alpha_tracks_snr(rng):
    X, Y, h, S = planted(n_segments=4, seg_len=3000, n_features=2, n_sensors=3, n_driven=2, snr_db=10.0,
                         n_lags=21, seed=3)
    Y = [np.column_stack([y[:, 0], y[:, 1] + 30 * np.std(y[:, 1]) * rng.standard_normal(len(y)), y[:, 2]])
         for y in Y]
    trf = TRF(0.0, 0.2, 100.0, cv=4, alpha_rule="best").fit(X, Y)
    assert trf.alpha_[0] < trf.alpha_[1]  # the noisier sensor needs more regularisation
    assert trf.alpha_[2] == trf.alphas_.max() or trf.best_score_[2] < 0.05


def test_standardize_reports_physical_units(rng):
    X = [rng.standard_normal((500, 3)) * [1.0, 100.0, 0.01] for _ in range(2)]
    Y = [x @ [[1.0], [0.01], [100.0]] + rng.standard_normal((500, 1)) for x in X]
    a = TRF(0.0, 0.03, 100.0, alpha=5.0, standardize=True).fit(X, Y)
    b = TRF(0.0, 0.03, 100.0, alpha=5.0, standardize=True).fit([x * 1000 for x in X], Y)
    np.testing.assert_allclose(b.coef_ * 1000, a.coef_, rtol=1e-8)
    np.testing.assert_allclose(a.coef_[0, :, 0], [1.0, 0.01, 100.0], rtol=0.15)


def test_xarray_in_and_out(rng):
    n = 600
    t = np.arange(n) / 100.0
    X = xr.DataArray(rng.standard_normal((n, 2)), dims=("time", "feature"),
                     coords={"time": t, "feature": ["env", "onset"]})
    Y = xr.DataArray(rng.standard_normal((n, 3)), dims=("time", "sensor"),
                     coords={"time": t, "sensor": ["MEG1", "MEG2", "MEG3"]})
    trf = TRF(0.0, 0.1, 100.0, alpha=[1.0, 10.0], cv=3).fit(X, Y)
    pred = trf.predict(X)
    assert pred.dims == ("time", "sensor") and list(pred.sensor.values) == ["MEG1", "MEG2", "MEG3"]
    ds = trf_to_xarray(trf)
    assert ds.coef.dims == ("sensor", "feature", "lag")
    np.testing.assert_allclose(ds.lag.values, np.arange(11) / 100.0)
    assert list(ds.feature.values) == ["env", "onset"] and ds.cv_r.dims == ("fold", "alpha", "sensor")


def test_bad_input_errors(rng):
    X, Y = rng.standard_normal((500, 2)), rng.standard_normal((500, 3))
    with pytest.raises(ValueError, match="X has 500 samples but Y has 490"):
        TRF(0, 0.1, 100.0, alpha=1.0).fit(X, Y[:490])
    Xn = X.copy()
    Xn[17, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TRF(0, 0.1, 100.0, alpha=1.0).fit([Xn], [Y])
    with pytest.raises(ValueError, match=r"segment 1 has 40 samples \(0.4 s\) but the lags reach 50 samples"):
        TRF(0, 0.5, 100.0, alpha=1.0).fit([X, X[:40]], [Y, Y[:40]])
    t = np.arange(500)
    Xa = xr.DataArray(X, dims=("time", "feature"), coords={"time": t / 50.0})
    Ya = xr.DataArray(Y, dims=("time", "sensor"), coords={"time": t / 100.0})
    with pytest.raises(ValueError, match="sampled at 50 Hz .* but sfreq=100"):
        TRF(0, 0.1, 100.0, alpha=1.0).fit(Xa, Ya)
    with pytest.raises(ValueError, match="tmin .* must be <= tmax"):
        TRF(0.2, 0.1, 100.0).fit(X, Y)
    with pytest.raises(ValueError, match="Did you mean 'explained_variance'"):
        TRF(0, 0.1, 100.0, scoring="explained_varance").fit(X, Y)
    with pytest.raises(ValueError, match="Allowed values are 'numpy', 'torch'"):
        TRF(0, 0.1, 100.0, backend="jax").fit(X, Y)
    with pytest.raises(ValueError, match="X has 2 segment"):
        TRF(0, 0.1, 100.0, alpha=1.0).fit([X, X], [Y])
    trf = TRF(0, 0.1, 100.0, alpha=1.0).fit(X, Y)
    with pytest.raises(ValueError, match="X has 3 features, but TRF is expecting 2"):
        trf.predict(rng.standard_normal((50, 3)))


@pytest.mark.gpu
def test_cuda_matches_numpy(rng):
    X, Y = _epochs(rng, T=800, F=5, C=6)
    ref = TRF(-0.05, 0.2, 100.0, alpha=[1.0, 10.0, 100.0], cv=3).fit(list(X), list(Y))
    for dtype, tol in (("float64", 1e-9), ("float32", 1e-4)):
        gpu = TRF(-0.05, 0.2, 100.0, alpha=[1.0, 10.0, 100.0], cv=3, backend="torch", dtype=dtype,
                  device="cuda").fit(list(X), list(Y))
        np.testing.assert_array_equal(gpu.alpha_, ref.alpha_)
        np.testing.assert_allclose(gpu.coef_, ref.coef_, atol=tol * np.abs(ref.coef_).max())
