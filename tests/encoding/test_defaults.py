"""Right by default: planted variance components and kernel amplitudes with default settings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from _sim import kernels, planted
from neurorrn.encoding import TRF, cross_validate, variance_partitioning

# (unique A, unique B, shared): the planted cases, one target each
CASES = np.array([[0.20, 0.10, 0.15], [0.30, 0.0, 0.10], [0.05, 0.25, 0.0], [0.0, 0.0, 0.0]])


def planted_components(seed=0, n_segments=6, seg_len=10000, n_feat=2, n_lags=21, sfreq=100.0, lowpass=None):
    """Spaces A = [a, s] and B = [b, s] (independent white (or low-passed) noise features a, b, s); target c is
    ``sqrt(uA) zA + sqrt(uB) zB + sqrt(sh) zS + sqrt(1 - uA - uB - sh) noise`` with unit-variance
    signals ``z`` (TRF outputs of a, b and s), so its population R² parts are the planted ones."""
    rng = np.random.default_rng(seed)
    sos = None if lowpass is None else butter(4, lowpass, fs=sfreq, output="sos")
    feats = {k: [rng.standard_normal((seg_len, n_feat)) if sos is None else
                 sosfiltfilt(sos, rng.standard_normal((seg_len, n_feat)), axis=0) for _ in range(n_segments)]
             for k in "abs"}
    sig = {}
    for k in "abs":
        h = kernels(n_feat, n_lags, rng)
        sig[k] = [sum(np.convolve(x[:, f], h[f])[:seg_len] for f in range(n_feat)) for x in feats[k]]
        sd = np.concatenate(sig[k]).std()
        sig[k] = [s / sd for s in sig[k]]
    Y = []
    for i in range(n_segments):
        noise = rng.standard_normal((seg_len, len(CASES)))
        y = np.stack([np.sqrt(uA) * sig["a"][i] + np.sqrt(uB) * sig["b"][i] + np.sqrt(sh) * sig["s"][i]
                      for uA, uB, sh in CASES], axis=1)
        Y.append(y + np.sqrt(1 - CASES.sum(1)) * noise)
    A = [np.hstack([a, s]) for a, s in zip(feats["a"], feats["s"])]
    B = [np.hstack([b, s]) for b, s in zip(feats["b"], feats["s"])]
    return A, B, Y


def test_variance_partitioning_recovers_planted_components_with_defaults():
    """Acceptance: unique A, unique B and shared within +-0.02 of the truth, default settings."""
    A, B, Y = planted_components()
    vp = variance_partitioning({"A": A, "B": B}, Y, estimator=TRF(0.0, 0.2, 100.0))
    got = np.column_stack([vp.unique.sel(space="A"), vp.unique.sel(space="B"), vp.shared])
    np.testing.assert_allclose(got, CASES, atol=0.02)


def test_variance_partitioning_chooses_by_r2_whatever_the_estimator_says():
    """A scale-blind estimator setting (Pearson r, 1se) is overridden by R² inside: same answer."""
    A, B, Y = planted_components(seed=1)
    Y = [y[:, :2] for y in Y]
    vp = variance_partitioning({"A": A, "B": B}, Y, estimator=TRF(0.0, 0.2, 100.0, scoring="r"))
    got = np.column_stack([vp.unique.sel(space="A"), vp.unique.sel(space="B"), vp.shared])
    np.testing.assert_allclose(got, CASES[:2], atol=0.02)


def test_amplitude_slope_at_minus_10_db_with_defaults():
    """Acceptance: regression slope of the recovered kernels on the truth in [0.97, 1.03] at -10 dB."""
    X, Y, h, _ = planted(n_segments=6, seg_len=10000, n_features=4, n_sensors=4, n_driven=4, snr_db=-10.0)
    trf = TRF(0.0, 0.5, 100.0).fit(X, Y)
    slope = np.sum(trf.coef_ * h) / np.sum(h * h)
    assert 0.97 <= slope <= 1.03, slope


def test_score_is_r2_and_r_by_name(rng):
    from sklearn.metrics import r2_score

    X = rng.standard_normal((600, 2))
    Y = np.column_stack([X[:, 0] * 3, X[:, 1]]) + rng.standard_normal((600, 2))
    trf = TRF(0.0, 0.02, 100.0, alpha=1.0).fit(X, Y)
    assert trf.score(X, Y) == pytest.approx(r2_score(Y, trf.predict(X)), rel=1e-12)
    per = trf.score_targets(X, Y)
    np.testing.assert_allclose(per["r"], [np.corrcoef(Y[:, c], trf.predict(X)[:, c])[0, 1] for c in range(2)],
                               rtol=1e-10)
    w = rng.uniform(0.1, 1.0, 600)
    assert trf.score(X, Y, sample_weight=w) == pytest.approx(r2_score(Y, trf.predict(X), sample_weight=w))


def test_cross_validate_chooses_alphas_by_r2_by_default(rng):
    X = [rng.standard_normal((800, 2)) for _ in range(4)]
    Y = [x[:, :1] + 2 * rng.standard_normal((800, 1)) for x in X]
    est = TRF(0.0, 0.05, 100.0, scoring="r", alpha_rule="1se", cv=3)
    ds = cross_validate(est, X, Y, cv=4, return_predictions=False)
    ref = cross_validate(TRF(0.0, 0.05, 100.0, scoring="r2", alpha_rule="1se", cv=3), X, Y, cv=4,
                         return_predictions=False, alpha_scoring=None)
    np.testing.assert_array_equal(ds.alpha_fold.values, ref.alpha_fold.values)
    own = cross_validate(est, X, Y, cv=4, return_predictions=False, alpha_scoring=None)
    assert own.r2_mean.values[0] < ds.r2_mean.values[0]  # r + 1se shrinks: lower held-out R²


def test_splitter_folds_never_join_separate_pieces(rng):
    """A scikit-learn KFold over two recordings: every training piece is lagged on its own (no lag
    reaches across the gap left by the test fold, across segments, or across a fold boundary):
    cv_results_ equal explicit refits on the pieces."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    from neurorrn.encoding._lagged import lagged_design

    X = [rng.standard_normal((500, 2)) + 1, rng.standard_normal((300, 2)) - 1]
    Y = [np.column_stack([np.convolve(x[:, 0], [0.0, 1.0, 0.5, 0.25])[:len(x)], x[:, 1]])
         + rng.standard_normal((len(x), 2)) for x in X]
    x_all, y_all = np.concatenate(X), np.concatenate(Y)
    seg = np.repeat([0, 1], [500, 300])
    cv = KFold(4)
    alphas = [1.0, 100.0]
    trf = TRF(0.0, 0.05, 100.0, alpha=alphas, cv=cv).fit(X, Y)
    fold = np.zeros(len(x_all), dtype=int)
    for k, (_, te) in enumerate(cv.split(x_all)):
        fold[te] = k

    def pieces(idx):  # maximal runs of consecutive indices inside one segment and one fold
        cut = np.flatnonzero((np.diff(idx) != 1) | (np.diff(seg[idx]) != 0) | (np.diff(fold[idx]) != 0)) + 1
        return np.split(idx, cut)

    for k, (tr, te) in enumerate(cv.split(x_all)):
        trp = pieces(tr)
        mu = x_all[tr].mean(0)
        muy = y_all[tr].mean(0)
        D = np.concatenate([lagged_design(x_all[p] - mu, 0, 5).reshape(len(p), -1) for p in trp])
        Dt = np.concatenate([lagged_design(x_all[p] - mu, 0, 5).reshape(len(p), -1) for p in pieces(te)])
        for a, alpha in enumerate(alphas):
            m = Ridge(alpha=alpha, fit_intercept=False).fit(D, y_all[tr] - muy)
            yhat = Dt @ m.coef_.T + muy
            r2 = 1 - ((y_all[te] - yhat) ** 2).sum(0) / ((y_all[te] - y_all[te].mean(0)) ** 2).sum(0)
            np.testing.assert_allclose(trf.cv_results_["r2"][k, a], r2, rtol=1e-8)
