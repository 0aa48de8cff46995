"""Hinton & Shallice attractor net: training through settling, lesions, error types."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.store import validate_store
from neurorrn.zoo.attractor import (
    HS_WORDS, DeepDyslexiaModel, error_summary, orthography, respond, visually_similar,
)


@pytest.fixture(scope="module")
def model():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)       # tiny matrices: one thread is fastest, and robust on a busy machine
    try:
        yield DeepDyslexiaModel(random_state=0).fit()
    finally:
        torch.set_num_threads(n)


def test_intact_net_names_every_word_and_settles(model):
    assert len(model.words_) == 40
    np.testing.assert_array_equal(model.name(), np.arange(40))
    s, _ = model.settle()
    # the sememes move toward the target over ticks
    err = np.abs(s - model.sem_[:, None]).mean((0, 2))
    assert err[-1] < err[0] and err[-1] < 0.1


def test_orthographic_lesions_give_semantic_visual_and_mixed_errors(model):
    chance = model.chance_rates()
    s = error_summary(model.lesion_sweep("orth_inter", (0.2, 0.3, 0.4), n_lesions=10, random_state=1), chance)
    assert s["n_errors"] >= 30
    for kind in ("semantic", "visual", "mixed"):
        assert s["rate"][kind] > chance[kind], kind
    assert s["per_trial"]["mixed"] > s["mixed_if_independent"]


@pytest.mark.parametrize("pathway", ["inter_sem", "sem_clean", "clean_sem"])
def test_later_lesions_give_semantic_errors_above_chance(model, pathway):
    chance = model.chance_rates()
    props = (0.2, 0.3, 0.4) if pathway == "inter_sem" else (0.5, 0.7, 0.9)
    counts = model.lesion_sweep(pathway, props, n_lesions=10, random_state=1)
    s = error_summary(counts, chance)
    assert counts["correct"] < 1200                        # the lesion does harm
    if s["n_errors"]:
        assert s["rate"]["semantic"] + s["rate"]["mixed"] > chance["semantic"] + chance["mixed"]


def test_lesion_is_undone_and_helpers(model):
    undo = model.lesion("clean_sem", 1.0)
    assert model.net_.masks["clean_sem"].sum() == 0
    undo()
    np.testing.assert_array_equal(model.name(), np.arange(40))
    with pytest.raises(ValueError, match="Invalid value for pathway"):
        model.lesion("sem_sem", 0.1)
    with pytest.raises(ValueError, match=r"proportion must be in \[0, 1\]"):
        model.lesion("clean_sem", 1.5)
    assert visually_similar("cat", "rat") and not visually_similar("cat", "dog")
    x, units = orthography(["cat", "back"])
    assert x.shape == (2, len(units)) and x.sum() == 7
    t = np.eye(3)
    np.testing.assert_array_equal(respond(np.array([[1, 0.1, 0], [1, 1, 0]]), t), [0, -1])
    assert sum(len(v) for v in HS_WORDS.values()) == 40
    validate_store(model.to_store())
