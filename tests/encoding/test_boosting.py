"""BoostingTRF: planted sparse kernels, the algorithm's definition, and Eelbrain's boosting."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt
from sklearn.utils.estimator_checks import parametrize_with_checks

from neurorrn.encoding import BoostingTRF
from neurorrn.encoding._boosting import _L1, _L2, _design, _l2_stats, _partition_pieces, _stretches, boost_run

SF = 100.0


def _sparse_problem(seed, T=4000, F=2, C=3, L=21, snr=1.0, lowpass=None):
    """Kernels of 2-3 impulses per (target, feature) on broadband noise predictors (optionally
    low-passed: then neighbouring lags are confounded and single impulses are not identifiable)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, F))
    if lowpass:
        x = sosfiltfilt(butter(4, lowpass, fs=SF, output="sos"), x, axis=0)
    x /= x.std(0)
    h = np.zeros((C, F, L))
    for c in range(C):
        for f in range(F):
            lags = rng.choice(L, size=rng.integers(2, 4), replace=False)
            h[c, f, lags] = rng.choice([-1, 1], size=len(lags)) * rng.uniform(0.5, 1.5, size=len(lags))
    s = np.zeros((T, C))
    for c in range(C):
        for f in range(F):
            s[:, c] += np.convolve(x[:, f], h[c, f])[:T]
    y = s + s.std(0) / np.sqrt(snr) * rng.standard_normal(s.shape) + 5.0
    return x, y, h, s


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_planted_sparse_kernels(seed):
    x, y, h, s = _sparse_problem(seed)
    est = BoostingTRF(0.0, 0.2, SF).fit(x[:3000], y[:3000])
    assert est.coef_.shape == h.shape
    for c in range(h.shape[0]):
        r = np.corrcoef(est.coef_[c].ravel(), h[c].ravel())[0, 1]
        assert r > 0.99, (c, r)  # seeds 0-2: 0.998-1.000
        # sparse: the kernel's energy sits on the planted impulses (seeds 0-2: >= 0.999)
        on = (h[c] != 0)
        assert (est.coef_[c][on] ** 2).sum() / (est.coef_[c] ** 2).sum() > 0.95
        # the largest impulse's amplitude: early stopping shrinks it a little (0.84-0.99)
        k = np.unravel_index(np.argmax(np.abs(h[c])), h[c].shape)
        assert 0.75 < est.coef_[c][k] / h[c][k] < 1.05
    # held-out prediction close to the noise-free signal's
    pred = est.predict(x[3000:])
    for c in range(h.shape[0]):
        r_pred = np.corrcoef(pred[:, c], y[3000:, c])[0, 1]
        r_max = np.corrcoef(s[3000:, c], y[3000:, c])[0, 1]
        assert r_pred > 0.95 * r_max  # seeds 0-2: >= 0.987
    assert not est.failed_.any()
    assert np.isnan(est.alpha_).all()
    assert -1 <= est.score(x[3000:], y[3000:]) <= 1


def test_unrelated_predictor_stays_near_zero():
    x, y, h, _ = _sparse_problem(3, F=2, C=2, lowpass=10.0)
    rng = np.random.default_rng(7)
    noise = sosfiltfilt(butter(4, 10, fs=SF, output="sos"), rng.standard_normal((len(x), 1)), axis=0)
    X = np.concatenate([x, noise / noise.std()], axis=1)
    est = BoostingTRF(0.0, 0.2, SF, selective_stopping=1).fit(X, y)
    planted = np.abs(est.coef_[:, :2]).max()
    assert np.abs(est.coef_[:, 2]).max() < 0.15 * planted


class _L2Direct:
    """The l2 error by its definition: residuals summed over the samples (the brute-force oracle)."""

    def __init__(self, Dtr, ytr, Dva, yva):
        self.Dtr, self.Dva, self.rtr, self.rva = Dtr, Dva, ytr.copy(), yva.copy()
        self.e_train, self.e_test = float((ytr ** 2).sum()), float((yva ** 2).sum())

    def best(self, delta, active):
        a = ((self.rtr[:, None] - delta * self.Dtr) ** 2).sum(0)
        s = ((self.rtr[:, None] + delta * self.Dtr) ** 2).sum(0)
        from neurorrn.encoding._boosting import _choose

        return _choose(a, s, active, delta)

    def update(self, j, dlt, e_new=None):
        self.rtr -= dlt * self.Dtr[:, j]
        self.rva -= dlt * self.Dva[:, j]
        self.e_train, self.e_test = float((self.rtr ** 2).sum()), float((self.rva ** 2).sum())


class _L1Direct(_L2Direct):
    """The l1 error by its definition."""

    def __init__(self, Dtr, ytr, Dva, yva):
        super().__init__(Dtr, ytr, Dva, yva)
        self.e_train, self.e_test = float(np.abs(ytr).sum()), float(np.abs(yva).sum())

    def best(self, delta, active):
        from neurorrn.encoding._boosting import _choose

        a = np.abs(self.rtr[:, None] - delta * self.Dtr).sum(0)
        s = np.abs(self.rtr[:, None] + delta * self.Dtr).sum(0)
        return _choose(a, s, active, delta)

    def update(self, j, dlt, e_new=None):
        self.rtr -= dlt * self.Dtr[:, j]
        self.rva -= dlt * self.Dva[:, j]
        self.e_train, self.e_test = float(np.abs(self.rtr).sum()), float(np.abs(self.rva).sum())


@pytest.mark.parametrize("selective", [0, 1, 2])
def test_gram_path_equals_brute_force_definition(selective):
    """The O(p) Gram updates of the l2 error take the same steps as summing residuals."""
    x, y, _, _ = _sparse_problem(4, T=1500, F=3, C=1)
    x = x / np.sqrt((x ** 2).mean(0))
    y = (y - y.mean(0)) / y.std(0)
    d0, d1 = -2, 12
    pieces, P = _partition_pieces([1500], None)
    tr, va = _stretches(pieces, 1, 3)
    q = np.zeros(3) + 0.1  # a non-zero padding value exercises the centring correction
    G, Z, yy = _l2_stats([x], [y], tr, d0, d1, q)
    Gv, Zv, yyv = _l2_stats([x], [y], va, d0, d1, q)
    Dtr, Ytr = _design([x], [y], tr, d0, d1, q)
    Dva, Yva = _design([x], [y], va, d0, d1, q)
    np.testing.assert_allclose(G, Dtr.T @ Dtr, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(Z[:, 0], Dtr.T @ Ytr[:, 0], rtol=1e-10, atol=1e-9)
    L = d1 - d0 + 1
    h1, f1, n1 = boost_run(_L2(G, Z[:, 0], yy[0], Gv, Zv[:, 0], yyv[0]), 3, L, 0.005, 0.005, selective)
    h2, f2, n2 = boost_run(_L2Direct(Dtr, Ytr[:, 0], Dva, Yva[:, 0]), 3, L, 0.005, 0.005, selective)
    assert n1 == n2 and f1 == f2 and n1 > 50
    np.testing.assert_allclose(h1, h2, atol=1e-12)
    # l1: the linearised search with its correction takes the steps of the definition
    h3, f3, n3 = boost_run(_L1(Dtr, Ytr[:, 0], Dva, Yva[:, 0]), 3, L, 0.005, 0.005, selective)
    h4, f4, n4 = boost_run(_L1Direct(Dtr, Ytr[:, 0], Dva, Yva[:, 0]), 3, L, 0.005, 0.005, selective)
    assert n3 == n4 and f3 == f4 and n3 > 50
    np.testing.assert_allclose(h3, h4, atol=1e-12)


def test_partitions_and_stretches():
    pieces, P = _partition_pieces([1000], None)
    assert P == 10 and len(pieces) == 10 and pieces[3] == (0, 300, 400, 3)
    tr, va = _stretches(pieces, 1, 3)
    assert va == [(0, 300, 400)] and tr == [(0, 0, 300), (0, 400, 1000)]
    pieces, P = _partition_pieces([500, 700], None)  # 2 segments: each cut in 5
    assert P == 10 and [p[3] for p in pieces] == list(range(10))
    pieces, P = _partition_pieces([100] * 4, None)
    assert P == 4 and [p[3] for p in pieces] == [0, 1, 2, 3]
    pieces, P = _partition_pieces([100] * 23, None)
    assert P == 10 and [p[3] for p in pieces][:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    tr, va = _stretches(pieces, 23, 2)
    assert va == [(2, 0, 100), (12, 0, 100), (22, 0, 100)] and len(tr) == 20
    with pytest.raises(ValueError, match="multiple of the number of segments"):
        _partition_pieces([100] * 3, 7)


def test_basis_extends_lags_and_predicts():
    x, y, h, s = _sparse_problem(5, C=1, lowpass=10.0)  # smooth predictors: a smooth basis fits
    est = BoostingTRF(0.0, 0.2, SF, basis=0.05).fit(x, y)
    assert est.coef_.shape[2] == 21 + 5 - 1
    np.testing.assert_allclose(est.lags_[[0, -1]], [-0.02, 0.22])
    assert np.corrcoef(est.predict(x)[:, 0], s[:, 0])[0, 1] > 0.9


@pytest.mark.parametrize("error", ["l2", "l1"])
def test_threads_do_not_change_the_result(error):
    x, y, _, _ = _sparse_problem(9, T=800, C=3)
    a = BoostingTRF(0.0, 0.1, SF, error=error).fit(x, y)
    b = BoostingTRF(0.0, 0.1, SF, error=error, n_jobs=3).fit(x, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.n_steps_, b.n_steps_)


def test_cross_validate_gives_held_out_scores():
    from neurorrn.encoding import cross_validate

    x, y, _, s = _sparse_problem(10, T=2000, C=2)
    ds = cross_validate(BoostingTRF(0.0, 0.2, SF), x, y, cv=4)
    r_max = [np.corrcoef(s[:, c], y[:, c])[0, 1] for c in range(2)]
    assert np.all(ds["r_mean"].values > 0.9 * np.array(r_max))
    assert ds["coef"].shape == (2, 2, 21)


def test_errors():
    x, y, _, _ = _sparse_problem(0, T=500, C=1)
    with pytest.raises(ValueError, match="Allowed values are 'l1', 'l2'"):
        BoostingTRF(error="l3").fit(x, y)
    with pytest.raises(ValueError, match="mindelta"):
        BoostingTRF(delta=0.01, mindelta=0.1).fit(x, y)
    with pytest.raises(ValueError, match="flat"):
        BoostingTRF(0, 0.1, SF).fit(np.c_[x, np.ones(len(x))], y)
    with pytest.raises(ValueError, match="window needs at least 2"):
        BoostingTRF(0, 0.1, SF, basis=0.01).fit(x, y)


def test_mne_input_and_to_evoked():
    import mne

    x, y, h, _ = _sparse_problem(6, T=1000, C=2)
    raw = mne.io.RawArray(y.T * 1e-6, mne.create_info(["a", "b"], SF, "eeg"), verbose=False)
    est = BoostingTRF(0.0, 0.2, SF).fit(x, raw)
    ref = BoostingTRF(0.0, 0.2, SF).fit(x, y * 1e-6)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-12, atol=0)
    ev = est.to_evoked(1)
    assert ev.ch_names == ["a", "b"]
    np.testing.assert_allclose(ev.times, est.lags_)


@pytest.mark.parametrize("kw", [{}, {"error": "l1"}, {"selective_stopping": 1}, {"basis": 0.05},
                                {"delta": 0.01, "mindelta": 0.0025, "selective_stopping": 2, "error": "l1"}])
def test_matches_eelbrain(kw):
    """Same kernels as eelbrain.boosting (Eelbrain 0.41, algorithm version 3) to rounding."""
    eel = pytest.importorskip("eelbrain")
    x, y, _, _ = _sparse_problem(8, T=1000, C=2)
    t = eel.UTS(0, 1 / SF, len(x))
    xs = [eel.NDVar(x[:, f], (t,), name=f"x{f}") for f in range(x.shape[1])]
    Y = eel.NDVar(y.T, (eel.Scalar("sensor", np.arange(y.shape[1])), t), name="y")
    res = eel.boosting(Y, xs, 0, 0.2 + 1 / SF, **kw)  # eelbrain's tstop is exclusive
    he = np.stack([hh.get_data(("sensor", "time")) for hh in res.h_scaled], 1)
    ours = BoostingTRF(0.0, 0.2, SF, **kw).fit(x, y)
    assert he.shape == ours.coef_.shape
    np.testing.assert_allclose(ours.coef_, he, rtol=0, atol=1e-10 * np.abs(he).max())
    assert np.isclose(res.h_time.tmin, ours.lags_[0])


def test_per_feature_lag_windows_match_eelbrain():
    x, y, h, _ = _sparse_problem(12, T=1500, C=2)
    est = BoostingTRF([0.0, 0.05], [0.1, 0.2], SF).fit(x, y)
    assert est.coef_.shape == (2, 2, 21)
    assert np.all(est.coef_[:, 0, 11:] == 0) and np.all(est.coef_[:, 1, :5] == 0)
    with pytest.raises(ValueError, match="2 lag windows but X has 3 features"):
        BoostingTRF([0.0, 0.05], [0.1, 0.2], SF).fit(np.c_[x, x[:, :1]], y)
    eel = pytest.importorskip("eelbrain")
    t = eel.UTS(0, 1 / SF, len(x))
    xs = [eel.NDVar(x[:, f], (t,), name=f"x{f}") for f in range(2)]
    Y = eel.NDVar(y.T, (eel.Scalar("sensor", np.arange(2)), t), name="y")
    res = eel.boosting(Y, xs, [0.0, 0.05], [0.1 + 1 / SF, 0.2 + 1 / SF])
    he = np.stack([hh.get_data(("sensor", "time")) for hh in res.h_scaled], 1)
    np.testing.assert_allclose(est.coef_, he, rtol=0, atol=1e-10 * np.abs(he).max())


@parametrize_with_checks([BoostingTRF(0.0, 0.0, 1.0, partitions=2)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
