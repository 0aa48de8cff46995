"""McCulloch-Pitts nets: reverberation needs a circle; compiled DFAs recognise exactly at length >= 1000."""

import json

import numpy as np
import pytest

from neurorrn.store import load_store
from neurorrn.zoo import REGISTRY
from neurorrn.zoo.mcculloch_pitts import (DFA, MPNet, chain_net, circle_net, compile_dfa, even_pairs_dfa,
                                          parity_dfa, random_dfa, recognise)


def test_threshold_and_absolute_inhibition():
    # neuron 2 fires iff 0 AND 1 (threshold 2); neuron 3 fires on 0 unless 1 fires (inhibition)
    w = np.zeros((4, 4), int)
    w[2, 0] = w[2, 1] = 1
    w[3, 0] = 1
    inh = np.zeros((4, 4), bool)
    inh[3, 1] = True
    net = MPNet(w, [1, 1, 2, 1], inhibitory=inh)
    for a in (0, 1):
        for b in (0, 1):
            nxt = net.step([a, b, 0, 0])
            assert nxt[2] == (a and b)
            assert nxt[3] == (a and not b)


@pytest.mark.parametrize("length", [1, 2, 5])
def test_circle_sustains_activity_chain_dies(length):
    pulse = np.array([[True]])
    circ, chain = circle_net(length), chain_net(length)
    assert circ.has_circle() and not chain.has_circle()
    assert chain.depth() == length - 1
    s = circ.run(pulse, n_steps=2000)
    assert s[1:].any(1).all()  # active at every step after the pulse, to the end
    assert (s[1:].sum(1) == 1).all()  # exactly one neuron at a time: the pulse circulates
    c = chain.run(pulse, n_steps=2000)
    last = np.flatnonzero(c.any(1)).max()
    assert last == length  # the pulse leaves after passing through every neuron once
    assert not c[length + 1:].any()


def test_no_input_no_activity():
    s = circle_net(3).run(None, n_steps=50)
    assert not s.any()


@pytest.mark.parametrize("make", [parity_dfa, even_pairs_dfa,
                                  lambda: random_dfa(7, 3, random_state=11),
                                  lambda: random_dfa(12, 2, random_state=5)])
@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_dfa_exact_at_length_1000(make, seed):
    dfa = make()
    net = compile_dfa(dfa)
    assert net.has_circle()
    rng = np.random.default_rng(seed)
    for length in (1000,) if seed else (1000, 2500):
        s = rng.integers(0, dfa.n_symbols, size=length)
        got, states = recognise(net, dfa, s)
        np.testing.assert_array_equal(got, dfa.prefix_accepts(s))
        # exactly one state neuron fires per step while symbols arrive
        assert (states[1:length + 1, 1:-1].sum(1) == 1).all()


def test_parity_and_even_pairs_truth():
    # plant the languages' definitions and check the automata against them
    rng = np.random.default_rng(3)
    par, ep = parity_dfa(), even_pairs_dfa()
    for _ in range(50):
        s = rng.integers(0, 2, size=rng.integers(0, 30))
        assert par.prefix_accepts(s)[-1] == (s.sum() % 2 == 0)
        pairs = int(np.sum(s[1:] != s[:-1]))
        assert ep.prefix_accepts(s)[-1] == (pairs % 2 == 0)


def test_wrong_net_wiring_is_detected():
    # removing one synapse of the compiled net must break recognition somewhere
    dfa = parity_dfa()
    net = compile_dfa(dfa)
    w = net.excitatory.copy()
    i, j = np.argwhere(w[1:-1, 1:-1] > 0)[0] + 1
    w[i, j] = 0
    broken = MPNet(w, net.thresholds, input_excitatory=net.input_excitatory, unit_names=net.unit_names)
    s = np.random.default_rng(0).integers(0, 2, size=1000)
    got, _ = recognise(broken, dfa, s)
    assert not np.array_equal(got, dfa.prefix_accepts(s))


def test_errors():
    with pytest.raises(ValueError, match="thresholds must be integers >= 1"):
        MPNet(np.zeros((2, 2), int), [0, 1])
    with pytest.raises(ValueError, match="excitatory must have shape"):
        MPNet(np.zeros((2, 3), int), [1, 1])
    with pytest.raises(ValueError, match="transitions must hold state indices"):
        DFA([[0, 2]], accepting=[0])
    with pytest.raises(ValueError, match="inputs must have shape"):
        circle_net(2).run(np.zeros((3, 2), bool))
    with pytest.raises(ValueError, match="depth is defined only"):
        circle_net(2).depth()
    with pytest.raises(ValueError, match="string symbols must lie"):
        parity_dfa().prefix_accepts([0, 2])


def test_zoo_runner(tmp_path):
    res = REGISTRY["mcculloch_pitts"](tmp_path, random_state=0, length=1000, n_strings=2)
    s = res["summary"]
    assert s["verdict"] == "reproduced"
    assert set(s["published"]) == set(s["ours"])
    assert all(s["ours"][k] == 1.0 for k in s["ours"] if k.endswith("_accuracy"))
    assert res["figure"].exists() and json.loads((tmp_path / "mcculloch_pitts.json").read_text())["seeds"] == [0]
    ds = load_store(res["store"])
    assert ds.attrs["time_unit"] == "step"
    assert "McCulloch & Pitts (1943)" in s["reference"] and "McCulloch & Pitts" in REGISTRY["mcculloch_pitts"].__doc__


def test_history_registry_hook():
    from neurorrn.zoo._registry_history import HISTORY_FUNCTIONS, HISTORY_REGISTRY, run_history_simulation

    assert set(HISTORY_REGISTRY) == set(HISTORY_FUNCTIONS) == {"mcculloch_pitts", "perceptron", "predictive_coding",
                                                               "trace_feedback_noise"}
    for name, runner in HISTORY_REGISTRY.items():
        assert REGISTRY[name] is runner
        assert "(19" in runner.__doc__ or "(20" in runner.__doc__  # the reference year
    with pytest.raises(KeyError, match="available"):
        run_history_simulation("rosenblatt", "unused")


def test_runner_refuses_to_overwrite(tmp_path):
    REGISTRY["mcculloch_pitts"](tmp_path, length=10, n_strings=1, n_steps=10)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        REGISTRY["mcculloch_pitts"](tmp_path, length=10, n_strings=1, n_steps=10)
    REGISTRY["mcculloch_pitts"](tmp_path, length=10, n_strings=1, n_steps=10, overwrite=True)


def test_small_settings_for_the_shared_registry_test():
    from neurorrn.zoo._registry_history import SMALL_KW

    for name, kw in SMALL_KW.items():
        assert REGISTRY[name].small_kw == kw
    assert not hasattr(REGISTRY["trace_feedback_noise"], "small_kw")
