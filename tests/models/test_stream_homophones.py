"""Lexicon hygiene: homophones share one target by default."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.models import ModelBundle, NetworkConfig, SpeechRNN, TargetConfig, make_targets
from neurorrn.models.data import FeatureNormalizer
from neurorrn.models.targets import homophone_groups
from neurorrn.speech.lexicon import Lexicon

PRON = {"cat": ["K", "AE", "T"], "their": ["DH", "EH", "R"], "there": ["DH", "EH", "R"], "dog": ["D", "AO", "G"],
        "right": ["R", "AY", "T"], "rite": ["R", "AY", "T"], "write": ["R", "AY", "T"]}


def test_homophone_groups_and_merged_targets():
    words = sorted(PRON)
    assert homophone_groups(PRON, words) == {"right": ["rite", "write"], "their": ["there"]}
    ts = make_targets(words, TargetConfig(kind="localist"), pronunciations=PRON)
    assert ts.words == ["cat", "dog", "right", "their"] and ts.matrix.shape == (4, 4)
    assert ts.aliases == {"rite": "right", "write": "right", "there": "their"}
    np.testing.assert_array_equal(ts.indices(["there", "their", "write", "cat"]), [3, 3, 2, 0])
    kept = make_targets(words, TargetConfig(kind="localist", homophones="keep"), pronunciations=PRON)
    assert kept.matrix.shape == (7, 7) and not kept.aliases
    srv = make_targets(words, TargetConfig(kind="srv", n_dims=20, n_active=3), pronunciations=PRON)
    np.testing.assert_array_equal(srv.matrix[srv.index["write"]], srv.matrix[srv.index["right"]])


def test_aliases_survive_the_bundle(tmp_path):
    ts = make_targets(sorted(PRON), TargetConfig(kind="localist"), pronunciations=PRON)
    model = SpeechRNN(NetworkConfig(n_input=3, hidden_sizes=[2], n_output=4), random_state=0)
    norm = FeatureNormalizer("none")
    norm.mean_, norm.scale_ = np.zeros(3, np.float32), np.ones(3, np.float32)
    ModelBundle(model.config, model.state_dict(), ts, {"kind": "x", "params": {}, "frame_rate": 100.0,
                                                       "n_features": 3}, norm).save(tmp_path / "m.pt")
    b = ModelBundle.load(tmp_path / "m.pt")
    assert b.targets.aliases == ts.aliases and b.targets.index["there"] == 3


def test_lexicon_homophones_and_merge():
    lex = Lexicon({"there": "DH EH1 R", "their": "DH EH1 R", "cat": "K AE1 T"}, {"their": 6.0, "there": 6.5,
                                                                                  "cat": 5.0})
    assert lex.homophones() == {"there": ["their"]}  # the more frequent is kept
    merged, dropped = lex.merge_homophones()
    assert dropped == {"their": "there"} and merged.words == ["there", "cat"] and not merged.homophones()


def test_from_cmudict_merge_records_selection():
    keep = Lexicon.from_cmudict(300)
    merged = Lexicon.from_cmudict(300, homophones="merge")
    assert keep.homophones(), "the 300 most frequent words hold homophones (e.g. their/there)"
    assert not merged.homophones() and len(merged) == 300
    assert set(merged.merged_homophones) >= {m for ms in keep.homophones().values() for m in ms}
    assert merged.selection["homophones"] == "merge" and merged.selection["min_phones"] == 3
    with pytest.raises(ValueError, match="homophones"):
        Lexicon.from_cmudict(10, homophones="drop")
