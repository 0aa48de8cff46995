"""TRACE feedback in noise (Magnuson et al. 2018): criteria, paired protocol, summary and runner."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurorrn.store import load_store
from neurorrn.zoo import REGISTRY
from neurorrn.zoo.trace.feedback_noise import (_verdict, recognition_cycle, run_feedback_noise,
                                               simulate_feedback_noise, summarise)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "jtrace"


@pytest.fixture(scope="module")
def slex():
    p = SHARED / "slex.jt"
    if not p.exists():
        pytest.skip("jTRACE lexicons not available (../shared/data/jtrace)")
    return p


def test_recognition_cycle_planted():
    t = np.linspace(0, 1, 50)[None].repeat(3, 0)   # target ramps 0 -> 1
    c = np.full((3, 50), 0.3)
    c[1] = 2.0                                      # trial 1: never ahead
    c[2, 20:25] = 2.0                               # trial 2: interrupted lead
    first_lead = int(np.argmax(t[0] > 0.3))
    rel = recognition_cycle(t, c, "relative", margin=0.05)
    assert rel[0] == int(np.argmax(t[0] - 0.3 >= 0.05)) and rel[1] == -1
    ab = recognition_cycle(t, c, "absolute", threshold=0.5)
    assert ab[0] == int(np.argmax(t[0] >= 0.5)) and ab[1] == -1
    tm = recognition_cycle(t, c, "time", run=10)
    assert tm[0] == first_lead and tm[1] == -1 and tm[2] == 25
    with pytest.raises(ValueError, match="criterion"):
        recognition_cycle(t, c, "fastest")
    with pytest.raises(ValueError, match="same shape"):
        recognition_cycle(t, c[:, :10])


def test_summarise_and_verdict_planted():
    rows = []
    for sd, rts in ((0.0, ([10, 12, 11], [11, 12, 13])), (1.0, ([20, -1, 30], [25, 22, -1]))):
        for cond, r in zip(("feedback", "no_feedback"), rts):
            for w, v in zip("abc", r):
                rows.append({"condition": cond, "noise_sd": sd, "word": w, "sample": 0, "rt": v, "correct": v >= 0})
    tab = summarise(pd.DataFrame(rows))
    t0, t1 = tab.iloc[0], tab.iloc[1]
    assert t0.acc_feedback == 1.0 and t0.frac_faster_feedback == pytest.approx((2 + 0.5) / 3)
    assert t1.acc_feedback == pytest.approx(2 / 3) and t1.n_both == 1 and t1.frac_faster_feedback == 1.0
    assert _verdict(tab) == "reproduced"
    worse = tab.copy()
    worse.loc[1, "acc_feedback"] = 0.1
    assert _verdict(worse) == "approximate"
    worse.loc[1, "frac_faster_feedback"] = 0.2
    assert _verdict(worse) == "not reproduced"


def test_noise_free_words_are_recognised_and_noise_degrades(slex):
    trials, courses = run_feedback_noise(slex, 6, (0.0, 2.0), n_cycles=80, random_state=0)
    clean = trials[trials.noise_sd == 0.0]
    assert clean.correct.all()  # every word wins its own input without noise, with and without feedback
    for seed in (0, 1):
        tr, _ = run_feedback_noise(slex, 6, (2.0,), ("no_feedback",), n_samples=2, n_cycles=80, random_state=seed)
        assert tr.correct.mean() < 1.0
    tgt, comp = courses[("feedback", 0.0)]
    assert tgt.shape == (6, 80) and np.all(tgt[:, -1] > comp[:, -1])


def test_conditions_see_the_same_noise(slex):
    # paired design: at one noise level both conditions get identical inputs, so with feedback
    # switched off in both "conditions" the outcomes must be identical
    a, _ = run_feedback_noise(slex, 5, (0.8,), ("no_feedback", "no_feedback_no_inhibition"), n_cycles=40,
                              random_state=3)
    b, _ = run_feedback_noise(slex, 5, (0.8,), ("no_feedback",), n_cycles=40, random_state=3)
    np.testing.assert_array_equal(a[a.condition == "no_feedback"].rt.to_numpy(), b.rt.to_numpy())


def test_errors(slex, tmp_path):
    with pytest.raises(FileNotFoundError, match="biglex901"):
        run_feedback_noise(tmp_path / "nope.jt", 3)
    with pytest.raises(ValueError, match="condition"):
        run_feedback_noise(slex, 3, conditions=("loud",))
    with pytest.raises(ValueError, match="readout"):
        run_feedback_noise(slex, 3, readout="softmax")


def test_rescore_matches_a_direct_run(slex):
    from neurorrn.zoo.trace.feedback_noise import rescore

    rel, courses = run_feedback_noise(slex, 4, (0.0, 0.7), n_cycles=60, random_state=2)
    absolute, _ = run_feedback_noise(slex, 4, (0.0, 0.7), n_cycles=60, criterion="absolute", random_state=2)
    again = rescore(rel, courses, "absolute")
    np.testing.assert_array_equal(again.rt.to_numpy(), absolute.rt.to_numpy())


def test_luce_readout_runs(slex):
    trials, _ = run_feedback_noise(slex, 4, (0.0,), n_cycles=60, readout="luce", criterion="time")
    assert trials.correct.all()


def test_zoo_runner(slex, tmp_path):
    res = REGISTRY["trace_feedback_noise"](tmp_path, random_state=0, lexicon=str(slex), n_words=3,
                                           noise_sds=[0.0, 0.5], n_cycles=40)
    s = res["summary"]
    assert set(s["published"]) == set(s["ours"]) and s["seeds"] == [0]
    per = s["verdict_by_criterion"]
    assert set(per) == {"relative", "absolute", "time"}
    assert per["relative"] == _verdict(pd.DataFrame(s["table"]))
    want = ("reproduced" if all(v == "reproduced" for v in per.values()) else
            "approximate" if any(v != "not reproduced" for v in per.values()) else "not reproduced")
    assert s["verdict"] == want
    assert "Magnuson" in s["reference"] and res["figure"].exists()
    ds = load_store(res["store"])
    assert ds.attrs["time_unit"] == "cycle" and ds.sizes["stimulus"] == 3 * 2 * 2


@pytest.mark.slow
def test_full_biglex901_protocol():
    p = SHARED / "biglex901.jt"
    if not p.exists():
        pytest.skip("biglex901.jt not available")
    res = simulate_feedback_noise(p, n_words=None, noise_sds=(0.0, 0.5, 1.0), random_state=0)
    tab = res["table"]
    assert res["trials"].word.nunique() == 900
    assert tab.acc_no_feedback.iloc[0] > 0.99 and tab.acc_feedback.iloc[0] > 0.99
    assert tab.acc_feedback.iloc[-1] < tab.acc_feedback.iloc[0]
    assert res["summary"]["verdict_by_criterion"]["relative"] == _verdict(tab)


def test_inhibition_conditions_in_the_summary(slex):
    res = simulate_feedback_noise(slex, n_words=3, noise_sds=(0.0,), n_cycles=40,
                                  conditions=("feedback", "no_feedback", "feedback_no_inhibition"))
    by = pd.DataFrame(res["summary"]["by_condition"])
    assert set(by.condition) == {"feedback", "no_feedback", "feedback_no_inhibition"}
    with pytest.raises(ValueError, match="must include"):
        simulate_feedback_noise(slex, n_words=3, conditions=("feedback",))
