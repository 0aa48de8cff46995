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

    with pytest.raises(MemoryError, match=r"512 features x 51 lags \(p = 26163\) needs about 20\.4 GiB.*"
                                          r"dtype='float32'.*lag basis"):
        check_memory(51 * 513, 8, 5, True, 1, "TRF", 512, 51, limit=16 * 2**30)
    check_memory(51 * 49, 8, 6, False, 1, "TRF", 48, 51, limit=24 * 2**30)  # the standard problem fits
