import numpy as np
import pytest

from neurorrn.models import holdout_split


def _grid(n_words, n_talkers):
    w = np.repeat([f"w{i:04d}" for i in range(n_words)], n_talkers)
    t = np.tile([f"t{j}" for j in range(n_talkers)], n_words)
    return w, t


def test_mode_m_at_earshot_scale():
    w, t = _grid(1000, 10)
    s = holdout_split(w, t, "M", random_state=7)
    assert (s == "trained").sum() == 8100
    assert (s != "trained").sum() == 1900
    assert (s == "excluded_talker").sum() == 1000
    ex_talker = set(t[s == "excluded_talker"])
    assert len(ex_talker) == 1
    remaining = sorted(set(t) - ex_talker)
    trained_by = {tk: set(w[(t == tk) & (s == "trained")]) for tk in remaining}
    always = set.intersection(*trained_by.values())
    assert len(always) == 100  # the last 100 shuffled words are never excluded
    for tk in remaining:
        assert len(trained_by[tk]) == 900
    # each remaining talker loses a different block of 100 words
    lost = [set(w[(t == tk) & (s == "excluded_word")]) for tk in remaining]
    assert all(len(x) == 100 for x in lost) and len(set.union(*lost)) == 900


def test_modes_p_and_t():
    w, t = _grid(100, 5)
    p = holdout_split(w, t, "P", random_state=0)
    assert (p == "excluded_word").sum() == 100 and (p == "excluded_talker").sum() == 0
    tt = holdout_split(w, t, "T", excluded_talker="t2")
    np.testing.assert_array_equal(tt == "excluded_talker", t == "t2")
    assert (holdout_split(w, t, "none") == "trained").all()
    # seeds are arguments: the same seed gives the same split
    np.testing.assert_array_equal(holdout_split(w, t, "M", random_state=3), holdout_split(w, t, "M", random_state=3))


def test_holdout_errors():
    w, t = _grid(10, 2)
    with pytest.raises(ValueError, match="Invalid value for holdout mode: 'X'"):
        holdout_split(w, t, "X")
    with pytest.raises(ValueError, match=r"excluded_talker 'zz' is not among the talkers \['t0', 't1'\]"):
        holdout_split(w, t, "T", excluded_talker="zz")
