"""Banded ridge, nested cross-validation, circular-shift nulls, noise ceiling, variance partitioning."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.signal import lfilter

from _sim import kernels, planted
from neurorrn.encoding import (BandedTRF, TRF, circular_shift_null, cross_validate, improvement_over_baseline,
                               noise_ceiling, variance_partitioning)


def _two_scales(seed=1, n_seg=3, T=400):
    """A big-scale space that does not drive the sensors (30 white features, x10) and a unit-scale one
    that does (2 autocorrelated features): one alpha cannot both silence the first and spare the second."""
    rng = np.random.default_rng(seed)
    XA = [rng.standard_normal((T, 30)) * 10 for _ in range(n_seg)]
    XB = [lfilter([1.0], [1.0, -0.9], rng.standard_normal((T, 2)), axis=0) * np.sqrt(1 - 0.81) for _ in range(n_seg)]
    hB = kernels(2, 6, rng)
    Y = []
    for b in XB:
        s = sum(np.convolve(b[:, f], hB[f])[:T] for f in range(2))
        s = np.column_stack([s, 0.7 * s])
        Y.append(s + 1.0 * s.std() * rng.standard_normal(s.shape))
    return XA, XB, Y


def test_banded_beats_single_alpha_when_scales_differ():
    XA, XB, Y = _two_scales()
    X = [np.column_stack([a, b]) for a, b in zip(XA, XB)]
    single = cross_validate(TRF(0.0, 0.05, 100.0, cv=2), X, Y, cv=3)
    banded = cross_validate(BandedTRF(0.0, 0.05, 100.0, bands={"big": 30, "small": 2}, cv=2, search="grid",
                                      band_ratios=(1e-3, 1e-2, 0.1, 1.0)), X, Y, cv=3)
    assert np.all(banded.r_mean.values > single.r_mean.values + 0.03), (banded.r_mean.values, single.r_mean.values)
    assert list(banded.band.values) == ["big", "small"] and banded.band_alpha.dims == ("target", "band")
    # the irrelevant big band is penalised far more than the small one
    assert np.all(banded.band_alpha.sel(band="big").values > 10 * banded.band_alpha.sel(band="small").values)


def test_banded_grid_search_and_band_errors(rng):
    X = [rng.standard_normal((600, 4)) for _ in range(3)]
    Y = [x[:, :1] + rng.standard_normal((600, 1)) for x in X]
    m = BandedTRF(0.0, 0.05, 100.0, bands=[2, 2], search="grid", band_ratios=(0.1, 1.0, 10.0), cv=3).fit(X, Y)
    assert m.gammas_.shape == (5, 2) and np.allclose(m.gammas_.sum(1), 1)  # ratios 0.01 .. 100
    np.testing.assert_allclose(m.band_alphas_, m.alpha_[:, None] / m.band_weights_)
    with pytest.raises(ValueError, match=r"band sizes \[2, 3\] sum to 5 but X has 4 features"):
        BandedTRF(0.0, 0.05, 100.0, bands=[2, 3]).fit(X, Y)
    with pytest.raises(ValueError, match="at least 2 bands"):
        BandedTRF(0.0, 0.05, 100.0, bands=[4]).fit(X, Y)
    with pytest.raises(ValueError, match="bands is required"):
        BandedTRF(0.0, 0.05, 100.0).fit(X, Y)


def test_banded_equal_weights_and_fixed_alpha_equals_scaled_ridge(rng):
    """With one candidate (uniform gamma) and a fixed alpha, banded = ridge with alpha * n_bands."""
    X = [rng.standard_normal((500, 4)) for _ in range(3)]
    Y = [rng.standard_normal((500, 2)) for _ in range(3)]
    b = BandedTRF(0.0, 0.05, 100.0, bands=[1, 3], alpha=3.0, n_iter=1).fit(X, Y)
    r = TRF(0.0, 0.05, 100.0, alpha=6.0).fit(X, Y)
    np.testing.assert_allclose(b.coef_, r.coef_, rtol=1e-9, atol=1e-12)


def test_cross_validate_dataset_and_predictions():
    X, Y, h, _ = planted(n_segments=3, seg_len=2000, n_features=2, n_sensors=3, n_driven=2, n_lags=21, snr_db=0)
    ds = cross_validate(TRF(0.0, 0.2, 100.0, cv=2), X, Y, cv=3)
    assert ds.r.dims == ("fold", "target") and ds.r.shape == (3, 3)
    assert ds.prediction.shape == (6000, 3) and not np.isnan(ds.prediction.values).any()
    # the cross-validated predictions reproduce the per-fold scores
    k0 = ds.segment.values == 0
    yhat = ds.prediction.values[k0, 0]
    np.testing.assert_allclose(np.corrcoef(yhat, Y[0][:, 0])[0, 1], ds.r.values[0, 0], rtol=1e-9)
    assert np.all(ds.r_mean.values[:2] > 0.4) and abs(ds.r_mean.values[2]) < 0.05


def test_circular_shift_null_separates_driven_from_undriven():
    X, Y, h, _ = planted(n_segments=4, seg_len=2000, n_features=2, n_sensors=4, n_driven=2, n_lags=21,
                         snr_db=-5, seed=4)
    est = TRF(0.0, 0.2, 100.0, alpha=[1e2, 1e3, 1e4], cv=4)
    ds = circular_shift_null(est, X, Y, n_permutations=19, random_state=0)
    assert ds.null.shape == (19, 4)
    assert np.all(ds.p_value.values[:2] == 1 / 20)  # observed beats every shift
    assert np.all(ds.p_value.values[2:] > 0.05)
    assert np.all(ds["shift"].values >= (0.2 + 0.01 + 1.0) - 1e-9)
    # the observed statistic is the TRF's own CV score
    fitted = TRF(0.0, 0.2, 100.0, alpha=[1e2, 1e3, 1e4], cv=4, alpha_rule="best").fit(X, Y)
    np.testing.assert_allclose(ds.observed.values, fitted.best_score_, rtol=1e-9)


def test_noise_ceiling_spearman_brown(rng):
    """Signal + independent noise per repeat: the split-half r and SB reliability have closed forms."""
    n_rep, T = 8, 20000
    signal = rng.standard_normal((T, 3)) * [1.0, 0.5, 0.0]
    data = signal[None] + rng.standard_normal((n_rep, T, 3))
    da = xr.DataArray(data, dims=("repeat", "time", "sensor"), coords={"sensor": ["a", "b", "c"]})
    nc = noise_ceiling(da, n_splits=20)
    s2 = np.array([1.0, 0.25, 0.0])
    half = (n_rep // 2)
    r_half = s2 / (s2 + 1 / half)
    np.testing.assert_allclose(nc.split_half_r.values, r_half, atol=0.02)
    rel_all = s2 / (s2 + 1 / n_rep)
    np.testing.assert_allclose(nc.reliability.values[:2], rel_all[:2], atol=0.02)
    assert abs(nc.reliability.values[2]) < 0.03
    with pytest.raises(ValueError, match="at least 2 repeats"):
        noise_ceiling(da.isel(repeat=[0]))


def test_variance_partitioning_model_units():
    """Units correlated with acoustics: unique variance > 0 where units drive sensors, ~0 where not."""
    rng = np.random.default_rng(7)
    T, n_seg = 3000, 4
    A, U, Y = [], [], []
    kA, kU = kernels(2, 21, rng), kernels(2, 21, rng)
    for _ in range(n_seg):
        a = lfilter([1.0], [1, -0.8], rng.standard_normal((T, 2)), axis=0)
        u = np.tanh(lfilter([0.2], [1, -0.8], a @ rng.standard_normal((2, 2)), axis=0)) + 0.5 * rng.standard_normal((T, 2))
        sa = sum(np.convolve(a[:, f], kA[f])[:T] for f in range(2))
        su = sum(np.convolve(u[:, f], kU[f])[:T] for f in range(2))
        s = np.column_stack([sa + su, sa + su, sa, sa])  # sensors 0-1 driven by units, 2-3 not
        A.append(a)
        U.append(u)
        Y.append(s + 1.5 * s.std(0) * rng.standard_normal(s.shape))
    vp = variance_partitioning({"acoustic": A, "units": U}, Y, estimator=TRF(0.0, 0.2, 100.0, cv=3), cv=4,
                               baseline="acoustic")
    uu = vp.unique.sel(space="units").values
    assert np.all(uu[:2] > 0.02), uu
    assert np.all(np.abs(uu[2:]) < 0.005), uu
    assert np.all(vp.improvement_pct.values[:2] > 5) and np.all(np.abs(vp.improvement_pct.values[2:]) < 3)
    assert list(vp.model.values) == ["acoustic", "units", "acoustic+units"]
    np.testing.assert_allclose(
        vp.shared.values,
        vp.score.sel(model="acoustic").values + vp.score.sel(model="units").values
        - vp.score.sel(model="acoustic+units").values)


def test_improvement_over_baseline():
    np.testing.assert_allclose(improvement_over_baseline([0.11, 0.2], [0.1, 0.2]), [10.0, 0.0])
