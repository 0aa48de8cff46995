"""Threads, memory-lean paths and wide layers: results independent of n_jobs, exact against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.encoding import TRF, BandedTRF


def _data(rng, n_seg=4, T=600, F=3, C=5):
    X = [rng.standard_normal((T, F)) for _ in range(n_seg)]
    Y = [x @ rng.standard_normal((F, C)) + rng.standard_normal((T, C)) for x in X]
    return X, Y


@pytest.mark.parametrize("cls,kw", [(TRF, {}), (BandedTRF, {"bands": [1, 2], "n_iter": 3})])
def test_n_jobs_does_not_change_results(cls, kw, rng):
    X, Y = _data(rng)
    a = cls(0.0, 0.05, 100.0, cv=4, n_jobs=1, **kw).fit(X, Y)
    b = cls(0.0, 0.05, 100.0, cv=4, n_jobs=2, **kw).fit(X, Y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    for k in a.cv_results_:
        np.testing.assert_array_equal(a.cv_results_[k], b.cv_results_[k])


def test_n_jobs_errors(rng):
    X, Y = _data(rng, n_seg=2)
    with pytest.raises(ValueError, match="n_jobs must be a positive number"):
        TRF(0.0, 0.05, 100.0, cv=2, n_jobs=0).fit(X, Y)
    with pytest.raises(TypeError, match="n_jobs"):
        TRF(0.0, 0.05, 100.0, cv=2, n_jobs=1.5).fit(X, Y)


class _Downdated(TRF):
    _keep_blocks_max_bytes = 0  # always one Gram, downdated per fold


class _DowndatedBanded(BandedTRF):
    _keep_blocks_max_bytes = 0


@pytest.mark.parametrize("cv", [4, 3, "kfold_gap"])
def test_downdated_folds_equal_kept_blocks(cv, rng):
    """Fold Grams by downdating the total equal the sums of kept block Grams (to rounding): whole
    segments as folds (4), cut segments (3 folds over 4 segments of unequal length... cut), and
    explicit folds that leave samples unused."""
    X = [rng.standard_normal((T, 3)) for T in (500, 700, 400, 600)]
    Y = [x @ rng.standard_normal((3, 4)) + rng.standard_normal((len(x), 4)) for x in X]
    if cv == "kfold_gap":
        n = sum(len(x) for x in X)
        idx = np.arange(n)
        cv = [(idx[(idx < k * 500) | (idx >= k * 500 + 600)], idx[k * 500 + 50: k * 500 + 450]) for k in range(4)]
    a = TRF(0.0, 0.05, 100.0, cv=cv).fit(X, Y)
    b = _Downdated(0.0, 0.05, 100.0, cv=cv).fit(X, Y)
    for k in a.cv_results_:
        np.testing.assert_allclose(b.cv_results_[k], a.cv_results_[k], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(a.alpha_, b.alpha_)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-9, atol=1e-12 * np.abs(a.coef_).max())
    c = BandedTRF(0.0, 0.05, 100.0, bands=[1, 2], n_iter=3, cv=4).fit(X, Y)
    d = _DowndatedBanded(0.0, 0.05, 100.0, bands=[1, 2], n_iter=3, cv=4).fit(X, Y)
    np.testing.assert_allclose(d.coef_, c.coef_, rtol=1e-9, atol=1e-12 * np.abs(c.coef_).max())


def test_downdated_memory_does_not_grow_with_blocks(rng):
    """Peak traced memory of a CV fit: kept blocks grow with the number of blocks, the downdated
    path stays within (1 + 3) Grams plus small arrays."""
    import tracemalloc

    F, L = 20, 21
    p1 = L * (F + 1)
    gram = p1 * p1 * 8
    X = [rng.standard_normal((400, F)) for _ in range(10)]
    Y = [rng.standard_normal((400, 2)) for _ in range(10)]
    peaks = {}
    for name, cls in (("kept", TRF), ("downdated", _Downdated)):
        tracemalloc.start()
        cls(0.0, (L - 1) / 100.0, 100.0, cv=10, alpha=[1.0, 10.0]).fit(X, Y)
        peaks[name] = tracemalloc.get_traced_memory()[1] / gram
        tracemalloc.stop()
    assert peaks["kept"] > 10, peaks
    assert peaks["downdated"] < 5, peaks


def test_refuses_up_front_naming_memory_and_options():
    from neurorrn.encoding._solve import check_memory

    with pytest.raises(MemoryError, match=r"512 features x 51 lags \(p = 26112\) needs about 20\.4 GiB.*"
                                          r"dtype='float32'.*lag basis"):
        check_memory(51 * 513, 8, 5, True, 1, "TRF", 512, 51, limit=16 * 2**30)
    check_memory(51 * 49, 8, 6, False, 1, "TRF", 48, 51, limit=24 * 2**30)  # the standard problem fits


def _brute_basis(X, Y, d0, d1, B, alpha):
    """Ridge on the explicit basis-projected lagged design of the centred predictors."""
    from neurorrn.encoding._lagged import lagged_design

    mu = np.concatenate(X).mean(0)
    muy = np.concatenate(Y).mean(0)
    D = np.concatenate([np.einsum("tlf,lk->tkf", lagged_design(x - mu, d0, d1), B).reshape(len(x), -1)
                        for x in X])
    W = np.linalg.solve(D.T @ D + alpha * np.eye(D.shape[1]), D.T @ (np.concatenate(Y) - muy))
    nb, F = B.shape[1], X[0].shape[1]
    return np.einsum("lk,kfc->cfl", B, W.reshape(nb, F, -1))


@pytest.mark.parametrize("tmin,tmax,basis", [(0.0, 0.2, 5), (-0.05, 0.15, 7), (0.0, 0.2, "custom")])
def test_lag_basis_equals_brute_force(tmin, tmax, basis, rng):
    from neurorrn.encoding._lagged import raised_cosine_basis

    X = [rng.standard_normal((T, 3)) + 0.5 for T in (400, 300)]
    Y = [rng.standard_normal((len(x), 2)) for x in X]
    d0, d1 = int(round(tmin * 100)), int(round(tmax * 100))
    L = d1 - d0 + 1
    B = rng.standard_normal((L, 6)) if basis == "custom" else raised_cosine_basis(L, basis)
    trf = TRF(tmin, tmax, 100.0, alpha=30.0, lag_basis=B if basis == "custom" else basis).fit(X, Y)
    ref = _brute_basis(X, Y, d0, d1, B, 30.0)
    np.testing.assert_allclose(trf.coef_, ref, rtol=1e-8, atol=1e-8 * np.abs(ref).max())
    assert trf.coef_.shape == (2, 3, L)


def test_lag_basis_cv_recovers_smooth_kernels_and_partition_of_unity():
    from _sim import planted

    from neurorrn.encoding._lagged import raised_cosine_basis

    np.testing.assert_allclose(raised_cosine_basis(51, 11).sum(1), 1.0, atol=1e-12)
    X, Y, h, _ = planted(n_segments=5, seg_len=6000, n_features=4, n_sensors=2, n_driven=2, snr_db=-5.0)
    full = TRF(0.0, 0.5, 100.0).fit(X, Y)
    small = TRF(0.0, 0.5, 100.0, lag_basis=17).fit(X, Y)
    r_small = [np.corrcoef(small.coef_[c].ravel(), h[c].ravel())[0, 1] for c in range(2)]
    r_full = [np.corrcoef(full.coef_[c].ravel(), h[c].ravel())[0, 1] for c in range(2)]
    assert min(r_small) > 0.95 and np.mean(r_small) >= np.mean(r_full) - 0.01, (r_small, r_full)
    with pytest.raises(ValueError, match="lag_basis must be between 2 and the number of lags"):
        TRF(0.0, 0.5, 100.0, lag_basis=80).fit(X, Y)
    with pytest.raises(ValueError, match=r"shape \(n_lags=51"):
        TRF(0.0, 0.5, 100.0, lag_basis=np.ones((50, 4))).fit(X, Y)


@pytest.mark.parametrize("tmin,tmax,basis,intercept", [(0.0, 0.3, None, True), (-0.1, 0.2, None, False),
                                                       (0.0, 0.3, 6, True)])
def test_dual_path_equals_primal_and_brute_force(tmin, tmax, basis, intercept, rng):
    """Fewer samples than coefficients: the dual (kernel) solution equals the primal one and the
    brute-force ridge on the explicit design at a fixed alpha, and its CV scores equal the primal's."""
    from neurorrn.encoding._lagged import lagged_design

    X = [rng.standard_normal((T, 12)) + 0.3 for T in (150, 120, 130)]  # CV folds: ~270 samples < p = 372
    Y = [rng.standard_normal((len(x), 3)) for x in X]
    kw = dict(fit_intercept=intercept, lag_basis=basis)
    dual = TRF(tmin, tmax, 100.0, alpha=50.0, solver="dual", **kw).fit(X, Y)
    primal = TRF(tmin, tmax, 100.0, alpha=50.0, solver="primal", **kw).fit(X, Y)
    np.testing.assert_allclose(dual.coef_, primal.coef_, rtol=1e-8, atol=1e-8 * np.abs(primal.coef_).max())
    np.testing.assert_allclose(dual.intercept_, primal.intercept_, rtol=1e-8, atol=1e-10)
    if basis is None:
        d0, d1 = int(round(tmin * 100)), int(round(tmax * 100))
        mu = np.concatenate(X).mean(0) if intercept else np.zeros(12)
        muy = np.concatenate(Y).mean(0) if intercept else np.zeros(3)
        D = np.concatenate([lagged_design(x - mu, d0, d1).reshape(len(x), -1) for x in X])
        W = np.linalg.solve(D.T @ D + 50.0 * np.eye(D.shape[1]), D.T @ (np.concatenate(Y) - muy))
        ref = W.reshape(d1 - d0 + 1, 12, 3).transpose(2, 1, 0)
        np.testing.assert_allclose(dual.coef_, ref, rtol=1e-8, atol=1e-8 * np.abs(ref).max())
    cvd = TRF(tmin, tmax, 100.0, cv=3, solver="dual", **kw).fit(X, Y)
    cvp = TRF(tmin, tmax, 100.0, cv=3, solver="primal", **kw).fit(X, Y)
    for k in cvp.cv_results_:
        np.testing.assert_allclose(cvd.cv_results_[k], cvp.cv_results_[k], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(cvd.coef_, cvp.coef_, rtol=1e-7, atol=1e-8 * np.abs(cvp.coef_).max())


def test_solver_auto_picks_dual_when_samples_are_few(rng):
    X = [rng.standard_normal((100, 20))]
    Y = [rng.standard_normal((100, 2))]
    trf = TRF(0.0, 0.1, 100.0, alpha=1.0)  # p = 220 > 100 samples
    trf._check_params()
    assert trf._use_dual(100, 220) and not trf._use_dual(300, 220)
    auto = trf.fit(X, Y)
    dual = TRF(0.0, 0.1, 100.0, alpha=1.0, solver="dual").fit(X, Y)
    np.testing.assert_array_equal(auto.coef_, dual.coef_)
    with pytest.raises(ValueError, match="Allowed values are 'auto', 'primal', 'dual'"):
        TRF(0.0, 0.1, 100.0, solver="kernel").fit(X, Y)


def test_dual_refuses_up_front():
    from neurorrn.encoding._solve import check_dual_memory

    with pytest.raises(MemoryError, match=r"dual solver for 50000 samples x p = 26112 needs about 47\.0 GiB"):
        check_dual_memory(50000, 26112, 1, "TRF", limit=16 * 2**30)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_fit_uses_one_blas_thread_whatever_the_environment(backend, monkeypatch, rng):
    """Inside fit's hot loop (the per-fold alpha path) every BLAS/OpenMP library and torch run one
    thread, even when the process was set to more; the settings come back after fit."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    from neurorrn.encoding import _trf
    from neurorrn.encoding._solve import alpha_path_scores

    seen = []

    def spy(*args, **kwargs):
        seen.append(([lib["num_threads"] for lib in threadpool_info()], torch.get_num_threads()))
        return alpha_path_scores(*args, **kwargs)

    monkeypatch.setattr(_trf, "alpha_path_scores", spy)
    x = rng.standard_normal((600, 2))
    y = x @ rng.standard_normal((2, 3)) + rng.standard_normal((600, 3))
    before = torch.get_num_threads()
    with threadpool_limits(limits=2):
        torch.set_num_threads(2)
        try:
            TRF(0.0, 0.05, 100.0, alpha=[1.0, 10.0, 100.0], cv=3, backend=backend, device="cpu"
                if backend == "torch" else None).fit(x, y)
            assert torch.get_num_threads() == 2                  # restored after fit
            assert all(lib["num_threads"] == 2 for lib in threadpool_info() if lib["user_api"] == "blas")
        finally:
            torch.set_num_threads(before)
    assert len(seen) == 3
    for libs, n_torch in seen:
        assert libs and all(n == 1 for n in libs)
        assert n_torch == 1
