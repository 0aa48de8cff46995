"""Hinton & Shallice attractor net: training through settling, lesions, error types."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.store import validate_store
from neurorrn.zoo.attractor import (
    HS_WORDS, PATHWAYS, DeepDyslexiaModel, error_summary, orthography, respond, visually_similar,
)


#: Networks trained in the default tests.  The per-network error pattern comes out of 3000 noisy
#: Adam steps whose result depends on the CPU's matrix-multiply code path (AVX-512, AVX2 ... give
#: different networks), so the tests assert the published signature over several networks with
#: a binomial slack, never one network's numbers.
SEEDS = (0, 1, 2)


def _fit(**kw):
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)       # tiny matrices: one thread is fastest, and robust on a busy machine
    try:
        return DeepDyslexiaModel(**kw).fit()
    finally:
        torch.set_num_threads(n)


@pytest.fixture(scope="module")
def nets():
    return [_fit(random_state=seed) for seed in SEEDS]


@pytest.fixture(scope="module")
def model(nets):
    return nets[0]


def test_intact_nets_name_every_word_and_settle(nets):
    # measured: every network of seeds 0-11 names all 40 words, on AVX-512 and AVX2 code paths
    for m in nets:
        assert len(m.words_) == 40
        np.testing.assert_array_equal(m.name(), np.arange(40))
        s, _ = m.settle()
        # the sememes move toward the target over ticks (measured last-tick error 0.01-0.03)
        err = np.abs(s - m.sem_[:, None]).mean((0, 2))
        assert err[-1] < err[0] and err[-1] < 0.1


def _meets_criteria(s, chance):
    """Each error type above 1.15 x chance, and mixed errors per trial above the product of the
    per-trial rates of semantically and visually related errors."""
    return (all(s["rate"][k] > 1.15 * chance[k] for k in ("semantic", "visual", "mixed"))
            and s["per_trial"]["mixed"] > s["mixed_if_independent"])


def test_chance_rates_from_random_pairs(model):
    chance = model.chance_rates()
    # H&S's word set under the "half the letters in place" criterion: 39 * 40 ordered pairs
    assert chance["semantic"] == pytest.approx(264 / 1560)
    assert chance["visual"] == pytest.approx(72 / 1560)
    assert chance["mixed"] == pytest.approx(16 / 1560)
    assert sum(chance.values()) == pytest.approx(1.0)


# How many of the 12 network x pathway cases must meet every criterion.  Measured per-case rate:
# calibrated lesions (100 per proportion) 44/48 over seeds 0-11 and 29/32 over seeds 0-7; the
# same 24/24 for seeds 0-5 with MKL_ENABLE_INSTRUCTIONS=AVX2 OPENBLAS_CORETYPE=Haswell
# ATEN_CPU_CAPABILITY=avx2; fixed LESION_PROPORTIONS (30 per proportion) 14/16 over seeds 0-3.
# The failures are mostly clean_sem lesions with visual errors below 1.15 x chance, or
# orth_inter lesions with few semantic errors.  With a per-case rate of 0.9, P(fewer than 8 of
# 12) = 0.004; a net without the attractor's error pattern meets none.
MIN_CASES = 8
# Visual + mixed errors after heavy cleanup lesions of a net trained without input decay
# (3 x 20 lesions x 40 words): measured 0, 14, 0, 0 for seeds 0-3 (the decayed nets give about
# a hundred in the same sweep).
NODECAY_MAX_VISUAL = 30


@pytest.mark.parametrize("proportions", ["calibrated", None])
def test_lesions_anywhere_give_semantic_visual_and_mixed_errors(nets, proportions):
    """H&S 1991: lesions of every pathway give semantic, visual and mixed errors above chance,
    mixed errors above the product of the separate rates; asserted over 3 networks x 4
    pathways with a binomial slack (``MIN_CASES``), with the calibrated severities and with the
    fixed ``LESION_PROPORTIONS``."""
    met, n_errors = [], []
    for m in nets:
        chance = m.chance_rates()
        for pathway in PATHWAYS:
            counts = m.lesion_sweep(pathway, proportions, n_lesions=40, random_state=1)
            s = error_summary(counts, chance)
            assert s["n_trials"] == 3 * 40 * 40
            n_errors.append(s["n_errors"])
            met.append(_meets_criteria(s, chance))
    # the lesions leave the nets partly correct and make many errors (measured >= 600 per case)
    assert min(n_errors) >= 200, n_errors
    assert sum(met) >= MIN_CASES, met


def test_without_input_decay_cleanup_lesions_give_few_visual_errors():
    """The smooth feed-forward mapping is what gives visual errors after cleanup lesions."""
    m = _fit(input_decay=0.0, n_epochs=600, random_state=0)
    np.testing.assert_array_equal(m.name(), np.arange(40))
    counts = m.lesion_sweep("clean_sem", (0.3, 0.5, 0.7), n_lesions=20, random_state=1)
    assert counts["visual"] + counts["mixed"] <= NODECAY_MAX_VISUAL


@pytest.mark.slow
def test_twelve_networks():
    """Seeds 0-11, calibrated lesions, 100 per proportion: every net names all 40 words and at
    least 38 of the 48 network x pathway cases meet every criterion (measured: 44 on AVX-512;
    with a per-case rate of 0.9, P(< 38 of 48) = 0.006)."""
    met = 0
    for seed in range(12):
        m = _fit(random_state=seed)
        np.testing.assert_array_equal(m.name(), np.arange(40))
        chance = m.chance_rates()
        for pathway in PATHWAYS:
            counts = m.lesion_sweep(pathway, "calibrated", n_lesions=100, random_state=1)
            met += _meets_criteria(error_summary(counts, chance), chance)
    assert met >= 38


def test_error_summary_products():
    counts = {"correct": 80, "omission": 4, "semantic": 6, "visual": 4, "mixed": 2, "other": 4}
    s = error_summary(counts, {})
    assert s["n_trials"] == 100 and s["n_errors"] == 16
    assert s["mixed_if_independent"] == pytest.approx(0.08 * 0.06)
    assert s["mixed_if_independent_among_errors"] == pytest.approx(0.5 * 0.375)
    assert error_summary(dict(counts, semantic=0, visual=0, mixed=0, other=0), {})["n_errors"] == 0
    # against a chance table: observed / chance ratios, odds ratios and conditional shares
    chance = {"semantic": 0.2, "visual": 0.05, "mixed": 0.01, "other": 0.74}
    s = error_summary(counts, chance)
    assert s["ratio_to_chance"]["semantic"] == pytest.approx(0.375 / 0.2)
    assert s["ratio_to_chance"]["mixed"] == pytest.approx(0.125 / 0.01)
    assert s["odds_ratio"] == pytest.approx(2 * 4 / (6 * 4))
    assert s["chance_odds_ratio"] == pytest.approx(0.01 * 0.74 / (0.2 * 0.05))
    assert s["visual_given_semantic"] == pytest.approx(2 / 8)
    assert s["chance_visual_given_semantic"] == pytest.approx(0.01 / 0.21)
    # mixed_test: mixed/chance above both pure ratios <=> both conditional shares above chance
    assert s["mixed_test"] == (s["visual_given_semantic"] > s["chance_visual_given_semantic"]
                               and s["semantic_given_visual"] > s["chance_semantic_given_visual"])
    assert s["mixed_test"]


def test_lesion_is_undone_and_helpers(model):
    undo = model.lesion("clean_sem", 1.0)
    assert model.net_.masks["clean_sem"].sum() == 0
    undo()
    np.testing.assert_array_equal(model.name(), np.arange(40))
    with pytest.raises(ValueError, match="Invalid value for pathway"):
        model.lesion("sem_sem", 0.1)
    with pytest.raises(ValueError, match="input_decay must be a finite number >= 0"):
        DeepDyslexiaModel(input_decay=-1.0).fit()
    with pytest.raises(ValueError, match=r"proportion must be in \[0, 1\]"):
        model.lesion("clean_sem", 1.5)
    assert visually_similar("cat", "rat") and not visually_similar("cat", "dog")
    x, units = orthography(["cat", "back"])
    assert x.shape == (2, len(units)) and x.sum() == 7
    t = np.eye(3)
    np.testing.assert_array_equal(respond(np.array([[1, 0.1, 0], [1, 1, 0]]), t), [0, -1])
    assert sum(len(v) for v in HS_WORDS.values()) == 40
    validate_store(model.to_store())


def test_subject_and_demo(model):
    from neurorrn.zoo.attractor import AttractorSubject, demo

    sub = AttractorSubject(model)
    ds = sub.record(["cat", "dog", model.orth_[0]], ["cat", "dog", "first"])
    validate_store(ds)
    assert ds.attrs["time_unit"] == "step" and ds.sizes["time"] == model.n_ticks
    s, c = model.settle()
    np.testing.assert_allclose(ds["activation"].sel(stimulus="cat").values[:, :68],
                               s[model.words_.index("cat")], atol=1e-6)
    with pytest.raises(ValueError, match="unknown word 'zzz'"):
        sub.run_one("zzz")
    res = demo(n_epochs=200, n_lesions=2, n_nets=1, proportions=None)
    summary = res["summary"]
    assert summary["verdict"] in ("reproduced", "approximate", "not reproduced")
    assert set(summary["published"]) <= set(summary["ours"]) and summary["seeds"] == [0]
    validate_store(res["store"])
