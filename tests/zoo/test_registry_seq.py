"""Every sequence runner writes a store, a figure and a summary in the zoo run format."""

from __future__ import annotations

import json
import re

import pytest

from neurorrn.store import open_store
from neurorrn.zoo._registry_seq import SEQ_REGISTRY, SMALL_KW, SUMMARY_FIELDS

#: Tiny budgets: the format is checked here, the published signatures in each model's tests.
TINY = SMALL_KW

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
