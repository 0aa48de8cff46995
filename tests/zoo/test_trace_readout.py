"""TRACE readouts: recognition criteria and RTs, RT tables, Allopenna scaling, ambiguous input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurorrn.zoo.trace import (
    PHONEMES, TraceParams, aligned_slice, allopenna, ambiguous_input, make_input, read_jt_lexicon,
    recognition_cycle, recognition_times, rt_table, simulate,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def slex(shared_data):
    return read_jt_lexicon(shared_data / "jtrace" / "slex.jt")


def test_recognition_cycle_on_planted_time_courses():
    t = np.arange(40, dtype=float)
    target = np.clip((t - 5) / 16, 0, 1)               # 0 until cycle 5, then rises 1/16 per cycle (exact)
    comp = np.full((40, 2), 5 / 16)
    comp[:, 1] = 3 / 16
    # ahead of 5/16 from cycle 11 (6/16); lead >= 1/16 from cycle 11, >= 4/16 from cycle 14
    assert recognition_cycle(target, comp, "relative", lead=1 / 16) == 11
    assert recognition_cycle(target, comp, "relative", lead=4 / 16) == 14
    assert recognition_cycle(target, comp, "absolute", threshold=0.75) == 17
    assert recognition_cycle(target, comp, "time", sustain=10) == 11
    # a tie is never "ahead": a target equal to its competitor is not recognised
    assert np.isnan(recognition_cycle(np.full(30, 0.5), np.full((30, 1), 0.5), "time", sustain=5))
    assert np.isnan(recognition_cycle(np.full(30, 0.5), np.full((30, 1), 0.5), "absolute", threshold=0.1))
    # a lead that does not last 10 cycles is not a time-based recognition
    blip = np.zeros(30)
    blip[5:12] = 1.0
    assert np.isnan(recognition_cycle(blip, np.full((30, 1), 0.5), "time", sustain=10))
    assert recognition_cycle(blip, np.full((30, 1), 0.5), "time", sustain=7) == 5
    with pytest.raises(ValueError, match="Invalid value for criterion"):
        recognition_cycle(target, comp, "fast")
    with pytest.raises(ValueError, match=r"competitors must have shape \(40, n_competitors\)"):
        recognition_cycle(target, comp[:10])


def test_recognition_times_and_rt_table(slex):
    r = simulate(["-^br^pt-", "-bark-"], slex, n_cycles=100)
    rel = recognition_times(r, criterion="relative")
    tim = recognition_times(r, criterion="time")
    ab = recognition_times(r, criterion="absolute", threshold=0.5)
    assert np.all(np.isfinite(rel)) and np.all(np.isfinite(tim)) and np.all(np.isfinite(ab))
    assert np.all(rel > 5) and np.all(rel < 100)
    # a longer word is recognised later than a short one only after its uniqueness point: both
    # RTs follow the target overtaking its competitors, which the aligned readout confirms
    al = recognition_times(r, criterion="relative", alignment="aligned")
    np.testing.assert_array_equal(np.isfinite(al), [True, True])
    # an impossible threshold is never met
    assert np.all(np.isnan(recognition_times(r, criterion="absolute", threshold=1.5)))
    with pytest.raises(ValueError, match="'zzz' .* is not in the lexicon"):
        recognition_times(r, ["zzz", "bark"])
    tab = rt_table(slex, ["bark", "^br^pt", "kar", "plat"], n_cycles=100)
    assert list(tab.columns) == ["word", "length", "frequency", "rt_absolute", "rt_relative", "rt_time"]
    assert tab["rt_relative"].notna().all() and tab["rt_time"].notna().all()
    np.testing.assert_allclose(tab.loc[tab.word == "bark", "rt_relative"].item(), rel[1])


def test_allopenna_scaling():
    a = np.array([[0.0, 0.0], [0.2, 0.1], [0.8, 0.1]])
    p = allopenna(a, k=7.0)
    luce = np.exp(7 * a) / np.exp(7 * a).sum(1, keepdims=True)
    np.testing.assert_allclose(p, luce * np.array([0.0, 0.25, 1.0])[:, None])
    np.testing.assert_allclose(allopenna(a, scale="none"), luce)
    with pytest.raises(ValueError, match="acts must have shape"):
        allopenna(np.zeros(3))


def test_ambiguous_input_mixes_features_and_lexicon_pulls_it(slex):
    p = TraceParams()
    np.testing.assert_allclose(ambiguous_input("-bark-", 1, "p", 0.0), make_input("-bark-"))
    np.testing.assert_allclose(ambiguous_input("-bark-", 1, "p", 1.0), make_input("-park-"))
    half = ambiguous_input("-bark-", 1, "p", 0.5)
    assert not np.allclose(half, make_input("-bark-")) and not np.allclose(half, make_input("-park-"))
    with pytest.raises(ValueError, match="mix position 9"):
        ambiguous_input("-bark-", 9, "p")
    with pytest.raises(ValueError, match=r"mix\[1\] must be \(phoneme, weight"):
        ambiguous_input("-bark-", 1, "x")
    # Ganong: an ambiguous word-final phoneme, between the word's phoneme and one that makes a
    # nonword, is pulled toward the word's phoneme by lexical feedback (feedback on minus off)
    items = [("^br^pt", "d"), ("bark", "g"), ("bit", "d"), ("bist", "d"), ("blak", "g"), ("bl^d", "t"),
             ("but", "d"), ("bust", "d")]
    assert all(w in slex.words and w[:-1] + o not in slex.words for w, o in items)
    ins = [ambiguous_input("-" + w + "-", len(w), o, 0.5) for w, o in items]
    shift = []
    for fb in (True, False):
        r = simulate(ins, slex, TraceParams(feedback=fb), n_cycles=60, record=("phoneme",))
        shift.append(np.array([r.phoneme[i, -1, PHONEMES.index(w[-1]), aligned_slice(len(w), p)]
                               - r.phoneme[i, -1, PHONEMES.index(o), aligned_slice(len(w), p)]
                               for i, (w, o) in enumerate(items)]))
    assert np.all(shift[0] - shift[1] > 0.01), shift
