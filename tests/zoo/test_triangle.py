"""Triangle model: reading through time and the division of labour."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.store import validate_store
from neurorrn.zoo.triangle import TriangleModel, make_vocabulary


@pytest.fixture(scope="module")
def model():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield TriangleModel(random_state=0).fit()
    finally:
        torch.set_num_threads(n)


def test_vocabulary_is_regular_except_exceptions():
    v = make_vocabulary(n_words=30, p_exception=0.2, random_state=0)
    assert v["exception"].sum() == 6
    same = np.all(v["orth"] == v["phon"], axis=1)
    np.testing.assert_array_equal(same, ~v["exception"])
    with pytest.raises(ValueError, match="n_words must be <="):
        make_vocabulary(n_words=10_000)


def test_reads_every_word_and_semantics(model):
    acc = model.accuracy()
    assert acc["all"] == 1.0
    out = model.read()
    assert np.mean(np.abs(out["sem"][:, -1] - model.vocab_["sem"])) < 0.1


def test_division_of_labour(model):
    d = model.division_of_labour()
    # exception words lean more on the semantic pathway than regular words ...
    assert d["semantic_share_exception"] > d["semantic_share_regular"]
    # ... and suffer more when it is removed
    assert d["accuracy_without_semantic"]["exception"] <= d["accuracy_without_semantic"]["regular"]
    assert d["accuracy_without_semantic"]["all"] < d["accuracy_intact"]["all"]
    with pytest.raises(ValueError, match="Invalid value for pathway_off"):
        model.read("lexical")
    validate_store(model.to_store())
