"""Triangle model: O->P, O->S, S->P, P->S with cleanup units; reading through time; lesions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurorrn.store import validate_store
from neurorrn.zoo.triangle import (
    CHECKS, FLOORS, PATHWAYS, TriangleModel, TriangleSubject, _phon_correct, _support, demo, make_vocabulary,
    population_verdict, seed_checks, signature_sizes,
)


@pytest.fixture(scope="module")
def small():
    """A briefly trained model: enough to test the mechanics, not the published signature."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield TriangleModel(pre_epochs=10, read_epochs=20, n_checkpoints=2, random_state=0).fit()
    finally:
        torch.set_num_threads(n)


def test_vocabulary_is_regular_except_exceptions():
    v = make_vocabulary(n_words=40, p_exception=0.25, n_nonwords=10, random_state=0)
    assert v["exception"].sum() == 10
    same = np.all(v["orth"] == v["phon"], axis=1)
    np.testing.assert_array_equal(same, ~v["exception"])
    # half of each word type is high-frequency; nonwords are new CVCs pronounced regularly
    assert v["high_freq"][v["exception"]].sum() == 5 and v["high_freq"][~v["exception"]].sum() == 15
    assert not set(v["nonwords"]) & set(v["words"]) and len(v["nonwords"]) == 10
    np.testing.assert_array_equal(v["nonword_orth"], v["nonword_phon"])
    with pytest.raises(ValueError, match="n_words \\+ n_nonwords must be <="):
        make_vocabulary(n_words=10_000)
    with pytest.raises(ValueError, match="p_exception must be in"):
        make_vocabulary(p_exception=1.5)


def test_pathways_feed_phonology_and_semantics(small):
    out = small.read()
    n = len(small.vocab_["words"])
    assert out["phon"].shape == (n, small.n_ticks, 39) and out["sem"].shape == (n, small.n_ticks, 40)
    # removing a pathway zeroes exactly its input
    assert np.all(small.read("direct")["direct"] == 0) and np.any(out["direct"] != 0)
    assert np.all(small.read("semantic")["semantic"] == 0) and np.any(out["semantic"] != 0)
    both = small.read(["orth_sem", "phon_sem"])
    assert np.all(both["orth_sem"] == 0) and np.all(both["phon_sem"] == 0)
    # semantics reaches phonology only through S->P, a tick later: at tick 0 S is at its start
    # state (0) for every word, so the semantic input is the same for all words
    np.testing.assert_allclose(out["semantic"][:, 0], out["semantic"][:1, 0].repeat(n, 0), atol=1e-6)
    # damage by a factor scales the pathway's input (exactly, at the first tick)
    half = small.read(gains={"semantic": 0.5})
    np.testing.assert_allclose(half["semantic"][:, 0], 0.5 * out["semantic"][:, 0], rtol=1e-5, atol=1e-7)
    # the gates are restored after a lesioned read
    np.testing.assert_array_equal(small.read()["phon"], out["phon"])
    with pytest.raises(ValueError, match="Invalid value for pathway_off"):
        small.read("lexical")
    with pytest.raises(ValueError, match="Invalid value for gains"):
        small.read(gains={"lexical": 0.5})
    with pytest.raises(ValueError, match="must be a finite factor >= 0"):
        small.read(gains={"semantic": -1.0})
    acc = small.accuracy()
    assert set(acc) == {"all", "regular", "exception", "regular_hf", "regular_lf", "exception_hf",
                        "exception_lf", "nonword"}


def test_semantic_pathway_is_silent_at_the_neutral_semantic_state(small):
    """S->P's input to phonology is measured from the neutral semantic state: clamping
    semantics there gives phonology no semantic input, and a word's meaning gives it some."""
    net = small.net_
    n_s, n_p = net.s_bias.shape[0], net.p_bias.shape[0]
    v = small.vocab_
    one = torch.ones(2, 1)
    sem = torch.stack([torch.full((n_s,), net.sem_rest), torch.as_tensor(v["sem"][0], dtype=torch.float32)])
    with torch.no_grad():
        out = net(torch.zeros(2, 39), sem, torch.zeros(2, n_p), one, 0 * one,
                  {"direct": 0.0, "orth_sem": 0.0, "semantic": 1.0, "phon_sem": 1.0})
    assert np.abs(out["semantic"][0].numpy()).max() < 1e-6
    assert np.abs(out["semantic"][1].numpy()).max() > 1e-3
    assert net.sem_rest == pytest.approx(v["sem"].mean())


def test_semantic_gain_grows_to_its_final_value_and_history_is_kept(small):
    m = TriangleModel(read_epochs=100, semantic_gain=2.0, semantic_k=50.0)
    g = [m._gain(t) for t in (1, 10, 50, 100)]
    assert np.all(np.diff(g) > 0) and g[-1] == pytest.approx(2.0)
    # Plaut et al.'s t / (t + k): at t = k the raw curve is half its asymptote
    assert m._gain(50) / m._gain(100) == pytest.approx((50 / 100) / (100 / 150))
    assert small.gain_ == pytest.approx(small.semantic_gain)
    assert [h["epoch"] for h in small.history_] == [10, 20]
    assert {"semantic_share_exception", "accuracy_without_semantic", "semantic_gain"} <= set(small.history_[0])
    assert small.history_[0]["semantic_gain"] < small.history_[1]["semantic_gain"]


def test_phoneme_readout_needs_a_margin():
    target = np.zeros((1, 39))
    target[0, [0, 13, 26]] = 1
    pred = target.copy() * 0.9
    assert _phon_correct(pred, target)[0]
    pred[0, 1] = 0.9                               # a tie in the first slot
    assert not _phon_correct(pred, target)[0]
    pred[0, 1] = 0.85                              # ahead, but by less than the margin 0.1
    assert not _phon_correct(pred, target)[0]
    assert _phon_correct(pred, target, margin=0.01)[0]


def test_semantic_share_by_slot(small):
    n = len(small.vocab_["words"])
    for slot in (None, 0, 1, 2):
        share = small.semantic_share(slot)
        assert share.shape == (n,) and np.all((share >= 0) & (share <= 1))
    with pytest.raises(ValueError, match="slot must be 0, 1 or 2"):
        small.semantic_share(3)
    d = small.division_of_labour()
    assert {"vowel_semantic_share_regular", "vowel_semantic_share_exception",
            "regularisations_without_semantic"} <= set(d)


def test_support_measures_the_lead_of_the_right_phoneme():
    target = np.zeros((1, 39))
    target[0, [0, 13, 26]] = 1
    x = np.zeros((1, 39))
    x[0, 0], x[0, 1] = 3.0, 1.0                    # slot 0: lead 2; slots 1, 2: tie -> 0
    x[0, 14] = 5.0                                 # slot 1: a competitor ahead -> clipped to 0
    assert _support(x, target)[0] == pytest.approx(2.0)


def test_subject_store_and_errors(small):
    ds = TriangleSubject(small).record(["bag", small.vocab_["words"][0]], ["nonword", "word0"])
    validate_store(ds)
    assert ds.attrs["time_unit"] == "step" and ds.sizes["unit"] == 39 + 40
    with pytest.raises(ValueError, match="a stimulus must be a CVC string"):
        TriangleSubject(small).run_one("xyz")
    with pytest.raises(ValueError, match="not fitted"):
        TriangleModel().read()
    validate_store(small.to_store())
    with pytest.raises(ValueError, match="freq_weights must be two positive"):
        TriangleModel(freq_weights=(1.0, 0.0), pre_epochs=1, read_epochs=1).fit()
    with pytest.raises(ValueError, match="semantic_gain must be a finite number"):
        TriangleModel(semantic_gain=-1.0, pre_epochs=1, read_epochs=1).fit()
    assert set(PATHWAYS) == {"direct", "semantic", "orth_sem", "phon_sem"}


def test_regularisations_count_exception_errors_read_regularly(small, monkeypatch):
    v = small.vocab_
    r = small.regularisations("semantic")
    assert np.isnan(r) or 0.0 <= r <= 1.0

    def reads(codes):
        return lambda *a, **k: {"phon": np.repeat(0.9 * codes[:, None], 2, 1)}

    monkeypatch.setattr(small, "read", reads(v["orth"]))       # every word read letter by letter
    assert small.regularisations() == 1.0
    monkeypatch.setattr(small, "read", reads(np.roll(v["phon"], 1, axis=0)))   # another word's sounds
    assert small.regularisations() == 0.0
    monkeypatch.setattr(small, "read", reads(v["phon"]))       # no errors
    assert np.isnan(small.regularisations())


def _planted(n, fail=(), sizes=None):
    """n seeds' checks (each true except the first ``fail[k]`` seeds of check k) and sizes."""
    checks = [dict.fromkeys(CHECKS, True) for _ in range(n)]
    for k, n_fail in dict(fail).items():
        for i in range(n_fail):
            checks[i][k] = False
    size = {"gap": 0.4, "vowel_share_difference": 0.4, "share_growth": 0.13, "hf_lf_exception": 0.1}
    return checks, [dict(size, **(sizes or {})) for _ in range(n)]


def test_population_rule_counts_seeds_and_mean_sizes():
    """The verdict judges the population: each check in >= ceil(0.8 n) seeds, mean sizes >= floors."""
    assert population_verdict(*_planted(6))[0] == "reproduced"
    verdict, ev = population_verdict(*_planted(6, fail={"intact": 1}))
    assert verdict == "reproduced" and ev["needed"] == 5 and ev["passed"]["intact"] == 5
    assert population_verdict(*_planted(6, fail={"semantic_lesion_spares_regular": 2}))[0] == "approximate"
    assert population_verdict(*_planted(6, fail={"direct_carries_regular": 2}))[0] == "not reproduced"
    assert population_verdict(*_planted(6, fail={"semantic_share_grows": 3}))[0] == "not reproduced"
    # a mean size under its floor (the development seeds' mean - 2 SD) is not "reproduced"
    below = {"gap": FLOORS["gap"] - 0.01}
    assert population_verdict(*_planted(6, sizes=below))[0] == "approximate"
    assert population_verdict(*_planted(6, sizes={"gap": -0.1}))[0] == "not reproduced"
    # with 3 seeds every check must hold in all 3; intact reading and the direct pathway's role
    # in ceil(0.8 n) seeds even for "approximate"
    assert population_verdict(*_planted(3, fail={"semantic_share_grows": 1}))[0] == "approximate"
    assert population_verdict(*_planted(3, fail={"intact": 1}))[0] == "not reproduced"
    checks, sizes = _planted(5)
    sizes[0]["gap"] = 0.9
    assert population_verdict(checks, sizes)[1]["mean"]["gap"] == pytest.approx((0.9 + 4 * 0.4) / 5)
    with pytest.raises(ValueError, match="one checks dict and one sizes dict per seed"):
        population_verdict([], [])


def test_seed_checks_read_the_division_of_labour():
    acc = {"all": 0.97, "regular": 1.0, "exception": 0.9, "regular_hf": 1.0, "regular_lf": 1.0,
           "exception_hf": 0.9, "exception_lf": 0.9, "nonword": 0.8}
    d = {"accuracy_intact": acc, "accuracy_without_semantic": dict(acc, exception=0.5, exception_hf=0.6,
                                                                    exception_lf=0.4),
         "accuracy_without_direct": dict.fromkeys(acc, 0.0),
         "vowel_semantic_share_exception": 0.6, "vowel_semantic_share_regular": 0.2}
    hist = [{"semantic_share_exception": 0.1}, {"semantic_share_exception": 0.3}]
    assert all(seed_checks(d, hist).values()) and list(seed_checks(d, hist)) == list(CHECKS)
    size = signature_sizes(d, hist)
    assert size["gap"] == pytest.approx(0.5) and size["share_growth"] == pytest.approx(0.2)
    assert size["hf_lf_exception"] == pytest.approx(0.2) and size["vowel_share_difference"] == pytest.approx(0.4)
    assert not seed_checks(dict(d, accuracy_without_semantic=acc), hist)["semantic_lesion_spares_regular"]
    assert not seed_checks(d, hist[::-1])["semantic_share_grows"]
    assert not seed_checks(d, hist[:1])["semantic_share_grows"]                     # one checkpoint: unknown
    assert not seed_checks(dict(d, accuracy_without_direct=acc), hist)["direct_carries_regular"]
    assert not seed_checks(dict(d, accuracy_intact=dict(acc, all=0.9)), hist)["intact"]


def test_small_network_divides_the_labour():
    """A small, briefly trained network (60 words, 15 exceptions; 100 + 500 epochs, ~5 s) already
    shows the robust parts of the division of labour: the direct pathway carries the reading
    (without O->P no regular word is read) and exceptions draw more of their vowel's support
    from semantics, a share that grows during reading.  Measured over seeds 0-3 at these
    settings: vowel share exception - regular 0.17-0.37, growth 0.07-0.10, intact 1.0, without
    O->P regular words 0.0.  (The regular - exception gap after an S->P lesion is not asserted
    here: at this scale it ranges -0.09 to 0.42 over seeds 0-3; the slow test asserts it.)"""
    v = make_vocabulary(n_words=60, n_nonwords=15, random_state=0)
    m = TriangleModel(n_hidden=60, pre_epochs=100, read_epochs=500, n_checkpoints=2, vocabulary=v,
                      random_state=0).fit()
    d = m.division_of_labour()
    size = signature_sizes(d, m.history_)
    assert d["accuracy_intact"]["all"] >= 0.95, d["accuracy_intact"]
    assert d["accuracy_without_direct"]["regular"] <= 0.1, d["accuracy_without_direct"]
    assert size["vowel_share_difference"] >= 0.1, size
    assert size["share_growth"] > 0.03, size


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_division_of_labour_across_seeds():
    """At the defaults, the population of seeds 0-5 (demo's default) shows the division of labour
    by demo's rule: each check in >= 5 of the 6 networks and the mean sizes at or above the
    floors (the development seeds' mean - 2 SD).

    Seeds 0-5 were the development seeds; seeds 6-17 were run once afterwards with nothing
    changed (docs/zoo_classic.md has every seed's values; 45-60 s CPU per seed, about 6 minutes
    in all on a shared machine)."""
    res = demo(n_seeds=6)
    s = res["summary"]
    assert s["seeds"] == list(range(6))
    n_ok = dict.fromkeys(("intact", "gap", "vowel", "direct", "growth"), 0)
    gaps = []
    for d, h in zip(s["per_seed"], s["history_per_seed"]):
        intact, wo_s, wo_d = d["accuracy_intact"], d["accuracy_without_semantic"], d["accuracy_without_direct"]
        gaps.append(wo_s["regular"] - wo_s["exception"])
        n_ok["intact"] += intact["all"] >= 0.95
        n_ok["gap"] += gaps[-1] >= 0.1
        n_ok["vowel"] += d["vowel_semantic_share_exception"] > d["vowel_semantic_share_regular"]
        n_ok["direct"] += intact["regular"] - wo_d["regular"] >= 0.5 and intact["nonword"] - wo_d["nonword"] >= 0.3
        n_ok["growth"] += h[-1]["semantic_share_exception"] - h[0]["semantic_share_exception"] > 0
    assert all(v >= 5 for v in n_ok.values()), n_ok
    assert np.mean(gaps) >= FLOORS["gap"], gaps
    assert s["sizes_mean"]["vowel_share_difference"] >= FLOORS["vowel_share_difference"], s["sizes_per_seed"]
    assert s["sizes_mean"]["share_growth"] >= FLOORS["share_growth"], s["sizes_per_seed"]
    assert s["verdict"] == "reproduced", s["checks_passed"]
