"""Perceptron: Novikoff's bound, XOR/parity never learned, Cover's capacity at P = 2N."""

import numpy as np
import pytest
from sklearn.svm import SVC

from neurorrn.store import load_store
from neurorrn.zoo import REGISTRY
from neurorrn.zoo.perceptron import (Perceptron, _parity_data, _verdict, _xor_data, capacity_curve, cover_fraction,
                                     is_linearly_separable, novikoff_bound, separable_data)


@pytest.mark.parametrize("seed", range(6))
def test_novikoff_bound_never_exceeded(seed):
    rng = np.random.default_rng(seed)
    n_features = int(rng.integers(2, 15))
    X, y, w_star = separable_data(int(rng.integers(20, 150)), n_features, margin=float(rng.uniform(0.02, 0.2)),
                                  random_state=rng)
    # the tightest bound we can compute: the (nearly) max-margin separator of a hard-margin SVM
    svm = SVC(kernel="linear", C=1e8).fit(X, y)
    w_svm = np.r_[svm.coef_[0], svm.intercept_[0]]
    bounds = [novikoff_bound(X, y, w_star)]
    for shuffle in (True, False):
        clf = Perceptron(max_epochs=100_000, fit_intercept=False, shuffle=shuffle, random_state=seed).fit(X, y)
        assert clf.converged_ and clf.score(X, y) == 1.0
        assert clf.n_mistakes_ <= min(bounds)
        clf_b = Perceptron(max_epochs=100_000, fit_intercept=True, random_state=seed).fit(X, y)
        assert clf_b.converged_
        assert clf_b.n_mistakes_ <= novikoff_bound(X, y, w_svm, fit_intercept=True)
    assert novikoff_bound(X, y, w_svm, fit_intercept=True) <= novikoff_bound(X, y, np.r_[w_star, 0.0],
                                                                            fit_intercept=True) * 1.0001


def test_mistakes_do_not_depend_on_learning_rate():
    X, y, _ = separable_data(60, 5, margin=0.05, random_state=1)
    a = Perceptron(learning_rate=1.0, random_state=0).fit(X, y)
    b = Perceptron(learning_rate=0.01, random_state=0).fit(X, y)
    assert a.n_mistakes_ == b.n_mistakes_
    np.testing.assert_allclose(a.coef_ * 0.01, b.coef_)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("data", [_xor_data(), _parity_data(3), _parity_data(4)], ids=["xor", "parity3", "parity4"])
def test_xor_and_parity_never_learned(seed, data):
    X, y = data
    assert not is_linearly_separable(X, y, fit_intercept=True)
    clf = Perceptron(max_epochs=300, random_state=seed).fit(X, y)
    assert not clf.converged_
    assert clf.score(X, y) < 1.0
    assert (clf.mistakes_per_epoch_ > 0).all()
    # AND and OR on the same inputs are learned
    for target in (X[:, :2].min(1), X[:, :2].max(1)):
        assert Perceptron(max_epochs=300, random_state=seed).fit(X, target.astype(int)).converged_


def test_cover_fraction_values():
    assert cover_fraction(10, 10) == 1.0
    assert cover_fraction(2 * 7, 7) == pytest.approx(0.5, abs=1e-12)
    assert cover_fraction(3, 1) == pytest.approx(2 / 8)  # a line through 0 in 1-D: 2 of 8 dichotomies
    f = cover_fraction(np.arange(1, 80), 20)
    assert np.all(np.diff(f) <= 1e-12)


def test_lp_separability_matches_cover():
    rng = np.random.default_rng(0)
    n, trials = 8, 150
    for p in (12, 16, 20):
        hits = sum(is_linearly_separable(rng.standard_normal((p, n)), rng.choice([-1, 1], size=p))
                   for _ in range(trials))
        theory = cover_fraction(p, n)
        se = np.sqrt(theory * (1 - theory) / trials)
        assert abs(hits / trials - theory) <= 4 * se + 1e-9


@pytest.mark.parametrize("seed", [0, 1])
def test_capacity_crossing_near_2N(seed):
    cap = capacity_curve(20, ratios=np.arange(1.5, 2.51, 0.25), n_dichotomies=40, max_epochs=500,
                         random_state=seed)
    # over seeds 0-4 the crossing was 1.87-1.96 (learned) and 2.00-2.04 (LP): spread about 0.1
    assert abs(cap["crossing_learned"] - 2.0) <= 0.2
    assert abs(cap["crossing_separable"] - 2.0) <= 0.2
    assert np.all(cap["learned"] <= cap["separable"])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_capacity_crossing_near_2N_large(seed):
    cap = capacity_curve(40, ratios=np.arange(1.5, 2.51, 0.125), n_dichotomies=60, max_epochs=2000,
                         random_state=seed)
    assert abs(cap["crossing_learned"] - 2.0) <= 0.2
    assert abs(cap["crossing_separable"] - 2.0) <= 0.1


def test_errors():
    with pytest.raises(ValueError, match="y must have shape"):
        Perceptron().fit(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="two classes"):
        Perceptron().fit(np.zeros((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="does not separate"):
        novikoff_bound(*_xor_data(), w_star=[1.0, 1.0])
    with pytest.raises(RuntimeError, match="not fitted"):
        Perceptron().predict(np.zeros((1, 2)))


def test_zoo_runner(tmp_path):
    res = REGISTRY["perceptron"](tmp_path, random_state=0, n_sets=5, n_dims=10, n_dichotomies=20,
                                       max_epochs=200)
    s = res["summary"]
    assert set(s["published"]) == set(s["ours"]) and s["seeds"] == [0]
    assert s["ours"]["mistakes_over_novikoff_bound_max"] <= 1.0
    assert s["ours"]["xor_learned"] is False
    o = s["ours"]
    assert s["verdict"] == _verdict(True, not (o["xor_learned"] or o["parity3_learned"]),
                                    o["capacity_crossing_P_over_N"])
    assert "Rosenblatt (1958)" in s["reference"] and res["figure"].exists()
    assert load_store(res["store"]).attrs["time_unit"] == "step"
