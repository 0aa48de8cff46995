"""held_out_shift_null: the FFT cross-products are the rolled sums, the observed statistics are the
pooled held-out r and R², and on planted data the p-values are minimal where the prediction follows
the response and uniform where the response is unrelated (autocorrelated) noise."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.signal import lfilter

from neurorrn.encoding import held_out_shift_null
from neurorrn.encoding._statistics import _cross_at_shifts


def _smooth(rng, shape, a=0.9):
    """AR(1) noise: autocorrelated like band-passed M/EEG (a shuffle of samples would be invalid)."""
    return lfilter([1.0], [1.0, -a], rng.standard_normal(shape), axis=0)


def test_cross_at_shifts_is_the_rolled_sum():
    rng = np.random.default_rng(0)
    p, y = rng.standard_normal((301, 70)), rng.standard_normal((301, 70))
    shifts = np.array([0, 1, 150, 300])
    ref = np.stack([(p * np.roll(y, -k, axis=0)).sum(0) for k in shifts])
    np.testing.assert_allclose(_cross_at_shifts(p, y, shifts, chunk=16), ref, rtol=1e-10, atol=1e-9)


def _planted(seed=0, n_seg=4, T=1500, n_driven=5, n_null=200):
    """Predictions of ``n_driven`` responses that follow them (r ~ 0.3) and of ``n_null`` that are
    independent autocorrelated noise; the predictions themselves are smooth (like a TRF's)."""
    rng = np.random.default_rng(seed)
    C = n_driven + n_null
    P = [_smooth(rng, (T, C)) for _ in range(n_seg)]
    Y = []
    for p in P:
        y = _smooth(rng, (T, C)) * 3.0
        y[:, :n_driven] += p[:, :n_driven]
        Y.append(y)
    return Y, P


def test_observed_statistics_are_the_pooled_r_and_r2():
    Y, P = _planted(n_null=3)
    ds = held_out_shift_null(Y, P, 100.0, n_shifts=20)
    y, p = np.concatenate(Y), np.concatenate(P)
    r = [np.corrcoef(y[:, c], p[:, c])[0, 1] for c in range(y.shape[1])]
    r2 = 1 - ((y - p) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(ds.observed_r.values, r, rtol=1e-9)
    np.testing.assert_allclose(ds.observed_r2.values, r2, rtol=1e-9)
    # one null draw recomputed by hand: every segment's response rolled by its own offset
    k = np.round(ds["shift"].values[0] * 100.0).astype(int)
    ys = np.concatenate([np.roll(a, -kk, axis=0) for a, kk in zip(Y, k)])
    np.testing.assert_allclose(ds.null_r.values[0], [np.corrcoef(ys[:, c], p[:, c])[0, 1] for c in range(8)],
                               rtol=1e-8)
    # r and R² are increasing functions of the same cross-product: the same ranks, one p-value
    for c in range(8):
        assert (np.argsort(ds.null_r.values[:, c]) == np.argsort(ds.null_r2.values[:, c])).all()


def test_p_small_where_driven_and_uniform_where_not():
    n_shifts = 199
    Y, P = _planted(seed=1)
    ds = held_out_shift_null(Y, P, 100.0, n_shifts=n_shifts, min_shift=1.0, random_state=0)
    p = ds.p_value.values
    assert ds.observed_r.values[:5].min() > 0.2
    assert np.all(p[:5] == 1 / (n_shifts + 1))
    null_p = p[5:]
    # uniform: about 5% below .05 (binomial sd for 200 targets: 1.5 points) and a mean near 1/2
    assert 0.01 <= np.mean(null_p < 0.05) <= 0.10
    assert abs(null_p.mean() - 0.5) < 0.06
    from scipy.stats import kstest

    assert kstest(null_p, "uniform").pvalue > 0.001
    # the null is centred on 0 in r (and below 0 in R²: a misaligned prediction adds its variance)
    assert abs(float(np.median(ds.null_r.values[:, 5:]))) < 0.02
    assert float(np.median(ds.null_r2.values[:, :5])) < 0
    # every offset at least min_shift from 0 (circularly)
    sh = ds["shift"].values
    assert sh.min() >= 1.0 - 1e-9 and sh.max() <= 15.0 - 1.0 + 1e-9


def test_seeded_and_labelled():
    Y, P = _planted(n_null=2)
    a = held_out_shift_null(Y, P, 100.0, n_shifts=30, random_state=3)
    b = held_out_shift_null(Y, P, 100.0, n_shifts=30, random_state=3)
    xr.testing.assert_identical(a, b)
    da = [xr.DataArray(y, dims=("time", "sensor"), coords={"time": np.arange(len(y)) / 100.0,
                                                          "sensor": list("abcdefg")}) for y in Y]
    dp = [d.copy(data=p) for d, p in zip(da, P)]
    c = held_out_shift_null(da, dp, 100.0, n_shifts=30, random_state=3)
    assert c.p_value.dims == ("sensor",) and list(c.sensor.values) == list("abcdefg")
    np.testing.assert_array_equal(c.p_value.values, a.p_value.values)


def test_errors():
    Y, P = _planted(n_null=2, T=300)
    with pytest.raises(ValueError, match="n_shifts must be >= 1"):
        held_out_shift_null(Y, P, 100.0, n_shifts=0)
    with pytest.raises(ValueError, match="prediction has 299 samples but Y has 300"):
        held_out_shift_null(Y, [p[:-1] for p in P], 100.0)
    with pytest.raises(ValueError, match="prediction has 6 targets but Y has 7"):
        held_out_shift_null(Y, [p[:, :6] for p in P], 100.0)
    with pytest.raises(ValueError, match="segment 1 has 1 samples: too short"):
        held_out_shift_null([np.ones((9, 1)), np.ones((1, 1))], [np.ones((9, 1)), np.ones((1, 1))], 100.0)
