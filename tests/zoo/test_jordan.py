"""Jordan network: teacher-forced states, learned sequences, attractor behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.store import validate_store
from neurorrn.zoo.jordan import JordanNetwork, simulate_jordan_attractor, teacher_forced_states


def test_teacher_forced_states_recurrence():
    D = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    S = teacher_forced_states(D, mu=0.5)
    np.testing.assert_allclose(S, [[0, 0], [1, 0], [0.5, 1]])


def test_free_run_state_is_fed_by_outputs():
    plans = np.eye(2)
    seqs = [np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1.0]]), np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0.0]])]
    net = JordanNetwork(n_hidden=8, mu=0.3, n_epochs=1500, random_state=0).fit(plans, seqs)
    r = net.run(plans[0], 3)
    np.testing.assert_allclose(r["state"][1], 0.3 * r["state"][0] + r["output"][0])
    np.testing.assert_allclose(r["state"][2], 0.3 * r["state"][1] + r["output"][1])
    for p, d in zip(plans, seqs):  # the plan selects its sequence
        np.testing.assert_array_equal(net.run(p, 3)["output"] > 0.5, d > 0.5)


def test_learned_cycles_are_attractors():
    res = simulate_jordan_attractor(n_epochs=3000, n_starts=6, random_state=0)
    s = res["summary"]
    assert s["free_run_accuracy"] == 1.0
    assert s["distance_start"] > 0.3  # random initial states start away from the cycle ...
    assert s["distance_end"] < 0.05  # ... and end on it
    assert s["order_accuracy"] == 1.0  # moving through it in the trained order
    ds = res["store"]
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
    net = JordanNetwork(n_epochs=1).fit(np.eye(2), [np.zeros((2, 2))] * 2)
    with pytest.raises(ValueError, match=r"plan must have shape \(2,\), got \(3,\)"):
        net.run(np.zeros(3), 3)
