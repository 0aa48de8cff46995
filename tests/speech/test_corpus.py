"""Corpus building: layout, cache, determinism, splits, manifest checksums, parallel build."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurorrn.speech import (
    CorpusConfig,
    CorpusError,
    LexiconConfig,
    SplitConfig,
    build_corpus,
    load_corpus,
)
from neurorrn.speech.corpus import assign_split


def test_layout_and_contract(small_corpus):
    c = small_corpus
    assert len(c) == 36
    for col in ("stimulus", "word", "talker", "path", "n_samples", "sfreq", "split"):
        assert col in c.items.columns
    assert c.items["stimulus"].iloc[0] == "cat__m1"
    assert set(c.alignments.columns) >= {"stimulus", "tier", "label", "start", "end"}
    assert set(c.alignments["tier"]) == {"phone", "word"}
    audio, sr = c.load_audio("ship__f3")
    assert sr == 16000 and audio.dtype == np.float32
    assert audio.size == c.item("ship__f3")["n_samples"]
    ph = c.get_alignments("ship__f3", tier="phone")
    assert list(ph["label"]) == ["SH", "IH", "P"]
    assert ph["end"].max() < audio.size / sr  # final pause kept after the last phone
    assert c.verify() == []
    assert c.lexicon.phones("catalog") == ("K", "AE", "T", "AH", "L", "AO", "G")


def test_phones_tile_words(small_corpus):
    al = small_corpus.alignments
    for sid, g in al.groupby("stimulus"):
        ph = g[g.tier == "phone"].sort_values("start")
        w = g[g.tier == "word"].iloc[0]
        assert np.all(ph["end"].to_numpy() > ph["start"].to_numpy()), sid
        np.testing.assert_allclose(ph["start"].to_numpy()[1:], ph["end"].to_numpy()[:-1], atol=1e-6)
        assert abs(ph["start"].iloc[0] - w.start) < 1e-6 and abs(ph["end"].iloc[-1] - w.end) < 1e-6


def test_cache_does_nothing_and_other_config_refused(small_corpus):
    root = small_corpus.root
    cfg = CorpusConfig(**small_corpus.manifest["config"])
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    again = build_corpus(cfg.model_copy(update={"n_jobs": 2}), root)  # n_jobs is not in the key
    after = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    assert before == after
    pd.testing.assert_frame_equal(again.items, small_corpus.items)
    other = cfg.model_copy(update={"final_pause": 0.1})
    with pytest.raises(CorpusError, match="another config"):
        build_corpus(other, root)


def test_deterministic_and_parallel_identical(espeak, tmp_path):
    cfg = CorpusConfig(name="det", talkers=["m2", "f1"],
                       lexicon=LexiconConfig(source="words", words=["hello", "sun", "water", "car"]))
    a = build_corpus(cfg, tmp_path / "a")
    b = build_corpus(cfg, tmp_path / "b", n_jobs=2)  # spawn workers, one engine each
    assert list(a.items["sha256"]) == list(b.items["sha256"])
    pd.testing.assert_frame_equal(a.alignments, b.alignments)


def test_manifest_checksums_detect_damage(espeak, tmp_path):
    cfg = CorpusConfig(name="dmg", talkers=["m1"], lexicon=LexiconConfig(source="words", words=["sun", "cat"]))
    c = build_corpus(cfg, tmp_path / "c")
    man = json.loads((c.root / "manifest.json").read_text())
    assert man["n_items"] == 2 and man["config_hash"] == cfg.cache_key()
    wav = c.root / c.items["path"].iloc[0]
    data = bytearray(wav.read_bytes())
    data[2000:2010] = b"\x7f" * 10
    wav.write_bytes(bytes(data))
    with pytest.raises(CorpusError, match="damaged.*sun__m1"):
        load_corpus(c.root, verify=True)
    tsv = c.root / "alignments.tsv"
    tsv.write_text(tsv.read_text().replace("\tAE\t", "\tEH\t"))
    with pytest.raises(CorpusError, match="alignments.tsv does not match its checksum"):
        load_corpus(c.root)


def test_unknown_talker_and_missing_word(espeak, tmp_path):
    cfg = CorpusConfig(talkers=["m1", "robot9"], lexicon=LexiconConfig(source="words", words=["cat"]))
    with pytest.raises(ValueError, match="robot9.*Allowed values"):
        build_corpus(cfg, tmp_path / "x")
    cfg = CorpusConfig(talkers=["m1"], lexicon=LexiconConfig(source="words", words=["cat", "qzxvbnm"]))
    with pytest.raises(KeyError, match="qzxvbnm.*not in cmudict"):
        build_corpus(cfg, tmp_path / "y")


def test_earshot_split_counts():
    words = [f"w{i}" for i in range(100)]
    talkers = [f"t{i}" for i in range(10)]
    s = assign_split(words, talkers, SplitConfig(kind="earshot", test_talker="t3", random_state=1))
    labels = pd.Series(s)
    counts = labels.value_counts()
    # EARSHOT "M" mode: 1 talker out (100 tokens), 9 talkers lose 10 words each (90 tokens)
    assert counts["excluded_talker"] == 100 and counts["excluded_word"] == 90 and counts["trained"] == 810
    held_words = {w for (w, t), v in s.items() if v == "excluded_word"}
    assert len(held_words) == 90  # each excluded word is excluded for exactly one talker
    assert all(s[(w, "t3")] == "excluded_talker" for w in words)


def test_config_rejects_unknown_keys():
    from neurorrn.config import ConfigError

    with pytest.raises(ConfigError, match="talker"):
        CorpusConfig.from_dict({"talker": ["m1"]})
