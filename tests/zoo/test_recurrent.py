"""Fully recurrent nets: RTRL = BPTT = finite differences; learning; store export; registry."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.store import open_store, validate_store
from neurorrn.zoo.recurrent import (
    FullyRecurrentNetwork,
    bptt_gradient,
    delayed_recall_task,
    rtrl_gradient,
    run_network,
    simulate_delayed_recall,
)


def _tiny(seed=0, n_units=3, n_in=2, n_steps=25, n_out=2):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.8, (n_units, n_in + n_units + 1))
    X = rng.normal(0, 1, (n_steps, n_in))
    D = rng.uniform(0, 1, (n_steps, n_out))
    M = (rng.random((n_steps, n_out)) < 0.6).astype(float)
    return W, X, D, M


@pytest.mark.parametrize("activation", ["logistic", "tanh"])
def test_rtrl_gradient_equals_bptt(activation):
    W, X, D, M = _tiny()
    l_b, g_b = bptt_gradient(W, X, D, M, activation)
    l_r, g_r = rtrl_gradient(W, X, D, M, activation)
    assert l_b == pytest.approx(l_r, rel=1e-12)
    np.testing.assert_allclose(g_r, g_b, atol=1e-6, rtol=0)
    assert np.abs(g_b).max() > 1e-3  # a non-trivial gradient


def test_bptt_gradient_matches_finite_differences():
    W, X, D, M = _tiny(seed=3, n_units=3, n_in=1, n_steps=12, n_out=1)
    _, g = bptt_gradient(W, X, D, M, "tanh")
    eps = 1e-6
    num = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        num[idx] = (bptt_gradient(Wp, X, D, M, "tanh")[0] - bptt_gradient(Wm, X, D, M, "tanh")[0]) / (2 * eps)
    np.testing.assert_allclose(g, num, atol=1e-7)


def test_loss_is_half_masked_squared_error():
    W, X, D, M = _tiny(seed=1)
    Y = run_network(W, X, "logistic")
    loss, _ = bptt_gradient(W, X, D, M)
    assert loss == pytest.approx(0.5 * np.sum(M * (Y[:, :2] - D) ** 2))


def test_bptt_and_rtrl_training_follow_the_same_path():
    X, D, M = delayed_recall_task(60, delay=1, random_state=0)
    a = FullyRecurrentNetwork(n_units=4, algorithm="bptt", n_epochs=5, learning_rate=0.1, random_state=1).fit(X, D, M)
    b = FullyRecurrentNetwork(n_units=4, algorithm="rtrl", n_epochs=5, learning_rate=0.1, random_state=1).fit(X, D, M)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(a.W_, b.W_, atol=1e-10)


def test_delayed_recall_task_plants_the_delay():
    X, D, M = delayed_recall_task(50, delay=3, random_state=2)
    np.testing.assert_array_equal(D[3:], X[:-3])
    assert M[:3].sum() == 0 and M[3:].all()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("algorithm", ["bptt", "rtrl-online"])
def test_net_learns_delayed_recall(algorithm, seed):
    """Over initial weights 0-4: test accuracy 1.0 in all; final/first loss 0.012-0.017 (BPTT),
    0.0010-0.0013 (on-line RTRL)."""
    X, D, M = delayed_recall_task(100, delay=1, random_state=0)
    lr = 0.05 if algorithm == "bptt" else 0.3
    net = FullyRecurrentNetwork(n_units=5, algorithm=algorithm, learning_rate=lr, n_epochs=150,
                                random_state=seed).fit(X, D, M)
    Xt, Dt, _ = delayed_recall_task(200, delay=1, random_state=5)
    acc = np.mean((net.predict(Xt)[1:, 0] > 0.5) == (Dt[1:, 0] > 0.5))
    assert acc >= 0.98
    assert net.loss_curve_[-1] < 0.05 * net.loss_curve_[0]


def test_errors():
    W, X, D, M = _tiny()
    with pytest.raises(ValueError, match=r"W must have shape \(n_units, n_inputs \+ n_units \+ 1\)"):
        bptt_gradient(W[:, :-1], X, D, M)
    with pytest.raises(ValueError, match="targets must have shape"):
        rtrl_gradient(W, X, D[:-1], None)
    with pytest.raises(ValueError, match="Invalid value for algorithm: 'rtlr'.*Did you mean 'rtrl'"):
        FullyRecurrentNetwork(algorithm="rtlr").fit(X, D)
    with pytest.raises(RuntimeError, match="not fitted"):
        FullyRecurrentNetwork().predict(X)
    with pytest.raises(ValueError, match="targets have 2 outputs but the net has only n_units=1"):
        FullyRecurrentNetwork(n_units=1).fit(X, D)


def test_delayed_recall_simulation_exports_store(tmp_path):
    res = simulate_delayed_recall(delay=1, n_units=4, n_steps=60, n_epochs=60, algorithm="bptt",
                                  learning_rate=0.05, random_state=0)
    ds = res["store"]
    validate_store(ds)
    assert ds.attrs["time_unit"] == "step" and float(ds.attrs["frame_rate"]) == 1.0
    assert set(ds["layer"].values) == {"input", "units"}
    assert res["summary"]["loss_last"] < res["summary"]["loss_first"]


def test_registry_runner_writes_store_and_figure(tmp_path):
    from neurorrn.zoo._registry_seq import SEQ_FUNCTIONS, SEQ_REGISTRY

    assert set(SEQ_REGISTRY) == set(SEQ_FUNCTIONS)
    out = SEQ_REGISTRY["fully_recurrent_delay"](tmp_path, random_state=0, n_steps=40, n_epochs=20,
                                                algorithm="bptt", learning_rate=0.05)
    assert out["store"].exists() and out["figure"].exists()
    assert out["figure"].read_bytes()[:4] == b"\x89PNG"
    ds = open_store(out["store"], validate=True)
    assert ds.attrs["model_id"] == "zoo.fully_recurrent.delay"
    assert isinstance(out["summary"]["test_accuracy"], float)
    with pytest.raises(FileExistsError, match="already exists"):
        SEQ_REGISTRY["fully_recurrent_delay"](tmp_path, n_steps=40, n_epochs=2, algorithm="bptt")
    from neurorrn.zoo._registry_seq import run_simulation

    with pytest.raises(KeyError, match="unknown sequence simulation 'elman'; available: elman_xor"):
        run_simulation("elman", tmp_path)
