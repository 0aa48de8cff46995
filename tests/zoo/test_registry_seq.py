"""Every sequence runner writes a store, a figure and a summary in the zoo run format."""

from __future__ import annotations

import json
import re

import pytest

from neurorrn.store import open_store
from neurorrn.zoo._registry_seq import SEQ_REGISTRY, SUMMARY_FIELDS

#: Tiny budgets: the format is checked here, the published signatures in each model's tests.
TINY = {
    "elman_xor": dict(n_triples=60, n_passes=2, n_test_triples=60),
    "elman_letters": dict(n_consonants=60, n_passes=2),
    "elman_words": dict(n_sentences=30, n_passes=1),
    "elman_lexical": dict(n_sentences=200, n_passes=1, n_hidden=10),
    "elman_agreement": dict(n_sentences=60, n_passes=1, n_hidden=10),
    "jordan_attractor": dict(n_epochs=20, n_starts=2),
    "jordan_coarticulation": dict(n_epochs=20),
    "fully_recurrent_delay": dict(n_steps=40, n_epochs=2, algorithm="bptt"),
    "chomsky": dict(tasks=["parity_check", "reverse_string"], training_steps=2, hidden_size=4, batch_size=4,
                    test_lengths=[41, 43], n_store_sequences=2),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_runner_writes_store_figure_and_summary_fields(name, tmp_path):
    out = SEQ_REGISTRY[name](tmp_path, random_state=3, **TINY[name])
    open_store(out["store"], validate=True)
    assert out["figure"].read_bytes()[:4] == b"\x89PNG"
    s = out["summary"]
    assert json.loads((tmp_path / f"{name}.json").read_text()) == s
    for k in SUMMARY_FIELDS:
        assert k in s, k
    assert s["verdict"] in ("reproduced", "approximate", "not reproduced")
    assert set(s["published"]) == set(s["ours"]) and s["published"]
    assert s["seeds"] == [3] and isinstance(s["budget"], str) and s["budget"]
    assert re.search(r"\(\d{4}\)", s["reference"])  # a citation with its year


def test_every_sequence_runner_is_covered():
    assert set(SEQ_REGISTRY) - {"interference"} == set(TINY)  # interference: the zoo-classic tests
