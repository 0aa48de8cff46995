"""Hopfield network: energy, one-step error theory, capacity, spurious states."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.store import validate_store
from neurorrn.zoo.hopfield import (
    HopfieldNetwork, demo, mixture_state, random_patterns, retrieval_overlap, theoretical_one_step_error,
)


def test_energy_never_rises_under_async_updates():
    rng = np.random.default_rng(0)
    x = random_patterns(30, 120, rng)              # overloaded: plenty of flips
    net = HopfieldNetwork("async", random_state=1).fit(x)
    cues = random_patterns(5, 120, rng)
    _, _, e = net.recall(cues, record_energy=True)
    assert e.shape[0] > 120
    assert np.all(np.diff(e, axis=0) <= 1e-12)
    assert np.any(np.diff(e, axis=0) < 0)


def test_sync_two_cycle():
    net = HopfieldNetwork("sync").fit(np.array([[1, -1]]))
    final, traj = net.recall(np.array([[1, 1]]))
    np.testing.assert_array_equal(traj[1], [[-1, -1]])
    np.testing.assert_array_equal(traj[2], [[1, 1]])     # a 2-cycle, never a fixed point


def test_stored_patterns_and_reverses_are_fixed_points_at_low_load():
    x = random_patterns(5, 400, 3)
    net = HopfieldNetwork(random_state=0).fit(x)
    final, _ = net.recall(np.vstack([x, -x]))
    np.testing.assert_array_equal(final, np.vstack([x, -x]))
    mix = mixture_state(x)
    m = net.overlaps(net.recall(mix[None])[0])[0, :3]
    np.testing.assert_allclose(m, 0.5, atol=0.1)          # the 3-mixture is a spurious attractor
    with pytest.raises(ValueError, match="odd number"):
        mixture_state(x, (0, 1))


@pytest.mark.parametrize("alpha", [0.138, 0.185, 0.25])
def test_one_step_error_matches_theory(alpha):
    n = 1000
    errs = [HopfieldNetwork().fit(random_patterns(int(alpha * n), n, s)).one_step_error() for s in range(3)]
    theory = float(theoretical_one_step_error(alpha))
    assert abs(np.mean(errs) - theory) < 0.2 * theory


def test_capacity_transition():
    assert retrieval_overlap(1000, 0.10, n_test=8, random_state=0) >= 0.99
    assert retrieval_overlap(1000, 0.18, n_test=8, random_state=0) <= 0.6


def test_errors_and_demo():
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        HopfieldNetwork().fit([[0, 1, 1]])
    with pytest.raises(RuntimeError, match="not fitted"):
        HopfieldNetwork().energy([1, -1])
    net = HopfieldNetwork().fit(random_patterns(2, 10, 0))
    with pytest.raises(ValueError, match="cues have 5 units, the network has 10"):
        net.recall(np.ones((1, 5)))
    with pytest.raises(ValueError, match="Invalid value for mode"):
        net.recall(np.ones((1, 10)), mode="asynch")
    res = demo(n_units=400, alphas=(0.05, 0.10, 0.138, 0.25), n_test=4, n_cue_units=100, n_cue_patterns=5)
    validate_store(res["store"])
    assert res["store"].attrs["time_unit"] == "step"
    s = res["summary"]
    assert min(s["final_overlap"]) > 0.9
    assert s["ours"]["overlap_at_0.10"] >= 0.99 and s["checks"]["retrieval"]
    assert s["verdict"] in ("reproduced", "approximate")
    with pytest.raises(ValueError, match="alphas must be"):
        demo(alphas=())


def test_subject_records_recall():
    from neurorrn.zoo.hopfield import HopfieldSubject

    x = random_patterns(3, 50, 0)
    sub = HopfieldSubject(HopfieldNetwork(random_state=0).fit(x))
    cue = x[0].copy()
    cue[:5] *= -1
    ds = sub.record([cue, x[1]], ["noisy0", "clean1"])
    validate_store(ds)
    assert ds.attrs["time_unit"] == "step" and ds.sizes["unit"] == 50
    np.testing.assert_array_equal(ds["activation"].sel(stimulus="clean1").isel(time=0), x[1])
