"""Jordan network: teacher-forced states, learned sequences, attractor behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.store import validate_store
from neurorrn.zoo.jordan import (
    JordanNetwork,
    simulate_coarticulation,
    simulate_jordan_attractor,
    teacher_forced_states,
)


def test_teacher_forced_states_recurrence():
    D = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    S = teacher_forced_states(D, mu=0.5)
    np.testing.assert_allclose(S, [[0, 0], [1, 0], [0.5, 1]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_free_run_state_is_fed_by_outputs(seed):
    plans = np.eye(2)
    seqs = [np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1.0]]), np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0.0]])]
    # squared error (default): largest |output - target| 0.017-0.034 over seeds 0-4
    net = JordanNetwork(n_hidden=8, mu=0.3, n_epochs=1500, random_state=seed).fit(plans, seqs)
    r = net.run(plans[0], 3)
    np.testing.assert_allclose(r["state"][1], 0.3 * r["state"][0] + r["output"][0])
    np.testing.assert_allclose(r["state"][2], 0.3 * r["state"][1] + r["output"][1])
    for p, d in zip(plans, seqs):  # the plan selects its sequence
        np.testing.assert_array_equal(net.run(p, 3)["output"] > 0.5, d > 0.5)


def test_learned_cycles_are_attractors():
    """Over seeds 0-4 (squared error, defaults): free_run_accuracy 0.82, 1.0, 0.998, 1.0, 0.998;
    distance_start 0.52-0.85, distance_end 0.013-0.020, order_accuracy 1.0 in all."""
    runs = [simulate_jordan_attractor(n_epochs=3000, n_starts=6, random_state=s) for s in range(5)]
    acc = np.array([r["summary"]["free_run_accuracy"] for r in runs])
    assert np.sum(acc >= 0.95) >= 3 and acc.min() >= 0.75  # learned (a flat spot may leave some bits wrong)
    for r in runs:
        s = r["summary"]
        assert s["distance_start"] > 0.3  # random initial states start away from the cycle ...
        assert s["distance_end"] < 0.05  # ... and end on it
        assert s["order_accuracy"] == 1.0  # moving through it in the trained order
        assert s["verdict"] in ("reproduced", "approximate")
    ds = runs[0]["store"]
    validate_store(ds)
    assert ds.attrs["time_unit"] == "step"
    assert set(ds["layer"].values) == {"state", "hidden", "output"}
    assert ds.sizes["stimulus"] == 3 * (1 + 6)


def test_errors():
    with pytest.raises(ValueError, match=r"mu must be in \[0, 1\), got 1.0"):
        JordanNetwork(mu=1.0).fit(np.eye(1), [np.zeros((2, 2))])
    with pytest.raises(ValueError, match="got 2 plans but 1 sequences"):
        JordanNetwork().fit(np.eye(2), [np.zeros((2, 2))])
    with pytest.raises(ValueError, match=r"sequences\[1\] must have shape \(n_steps, 2\)"):
        JordanNetwork().fit(np.eye(2), [np.zeros((2, 2)), np.zeros((2, 3))])
    with pytest.raises(RuntimeError, match="not fitted"):
        JordanNetwork().run(np.zeros(2), 3)
    with pytest.raises(ValueError, match="Invalid value for loss: 'mse'"):
        JordanNetwork(loss="mse").fit(np.eye(1), [np.zeros((2, 2))])
    with pytest.raises(ValueError, match=r"masks\[0\] must have the shape of sequences\[0\] \(2, 2\)"):
        JordanNetwork().fit(np.eye(1), [np.zeros((2, 2))], masks=[np.zeros((2, 3))])
    with pytest.raises(ValueError, match="phonemes \\['x'\\] not in COARTICULATION_PHONEMES"):
        simulate_coarticulation(words=("sx",))
    net = JordanNetwork(n_epochs=1).fit(np.eye(2), [np.zeros((2, 2))] * 2)
    with pytest.raises(ValueError, match=r"plan must have shape \(2,\), got \(3,\)"):
        net.run(np.zeros(3), 3)


def test_squared_error_gradient_is_jordans():
    """One full-batch step (no momentum) moves the output bias by -lr/n * sum (y - d) y (1 - y)."""
    plans, seqs = np.eye(1), [np.array([[1.0, 0.0], [0.0, 1.0]])]
    a = JordanNetwork(n_hidden=3, n_epochs=1, momentum=0.0, learning_rate=0.5, random_state=0).fit(plans, seqs)
    b = JordanNetwork(n_hidden=3, n_epochs=1, momentum=0.0, learning_rate=0.5, random_state=0,
                      loss="cross_entropy").fit(plans, seqs)
    r = np.random.default_rng(0)
    W_ph, W_sh, b_h = r.uniform(-.5, .5, (1, 3)), r.uniform(-.5, .5, (2, 3)), r.uniform(-.5, .5, 3)
    W_hy, b_y = r.uniform(-.5, .5, (3, 2)), r.uniform(-.5, .5, 2)
    S = teacher_forced_states(seqs[0], 0.5)
    h = 1 / (1 + np.exp(-(plans[[0, 0]] @ W_ph + S @ W_sh + b_h)))
    y = 1 / (1 + np.exp(-(h @ W_hy + b_y)))
    np.testing.assert_allclose(a.b_y_, b_y - 0.5 / 2 * ((y - seqs[0]) * y * (1 - y)).sum(0), rtol=1e-12)
    np.testing.assert_allclose(b.b_y_, b_y - 0.5 / 2 * (y - seqs[0]).sum(0), rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coarticulation_anticipates_the_coming_vowel(seed):
    """Over seeds 0-4 (1500 epochs): anticipation 0.54-0.76, by distance 1/2/3 falling in every
    seed (0.77-0.92 / 0.41-0.69 / 0.26-0.52), specified features 0.98-1.0 right."""
    res = simulate_coarticulation(n_epochs=1500, random_state=seed)
    s = res["summary"]
    assert s["anticipation"] > 0.3 and s["share_anticipating"] > 0.9
    d = s["anticipation_by_distance"]
    assert d[1] > d[2] > d[3] > 0.1
    assert s["specified_accuracy"] >= 0.95
    assert s["verdict"] == "reproduced"
    validate_store(res["store"])


def test_coarticulation_needs_dont_care_targets():
    """Wrong code check: with the unspecified features trained to 0.5 (no mask) nothing is anticipated."""
    from neurorrn.zoo import jordan as J

    words = ["stru", "stri"]
    targets = [J._phoneme_targets(w) for w in words]
    net = JordanNetwork(n_hidden=20, n_epochs=1500, random_state=0).fit(np.eye(2), [t[0] for t in targets])
    rounded = J.COARTICULATION_FEATURES.index("rounded")
    y = [net.run(p, 4)["output"][:3, rounded] for p in np.eye(2)]
    assert np.all(np.abs(y[0] - y[1]) < 0.1)
