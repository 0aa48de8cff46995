"""Continuous streams (Brodbeck et al. 2025 statistics) and the corpus CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurorrn.speech.streams import make_stream


def test_stream_structure(small_corpus):
    s = make_stream(small_corpus, n_words=40, random_state=3)
    w = s.words
    assert len(w) == 40 and s.sfreq == 16000
    # talker changes every 2 words
    talkers = w["talker"].tolist()
    assert all(talkers[i] == talkers[i + 1] for i in range(0, 40, 2))
    assert all(talkers[i] != talkers[i + 1] for i in range(1, 39, 2))
    # gaps are either 0 or 200-500 ms in 10 ms steps; phrases average ~2 words
    gaps = (w["start"].to_numpy()[1:] - w["end"].to_numpy()[:-1])
    silences = gaps[gaps > 1e-9]
    assert np.all((silences > 0.2 - 1e-3) & (silences < 0.5 + 1e-3))
    np.testing.assert_allclose(np.round(silences * 100), silences * 100, atol=0.02)
    assert 1.3 < 40 / (w["phrase"].max() + 1) < 3.5
    # tiers: phones tile each word, times from stream onset, audio covers everything
    al = s.alignments
    assert set(al["stimulus"]) == {"stream"}
    for r in w.itertuples():
        ph = al[(al.tier == "phone") & (al.start >= r.start - 1e-9) & (al.end <= r.end + 1e-9)]
        assert abs(ph["start"].min() - r.start) < 1e-6 and abs(ph["end"].max() - r.end) < 1e-6
    assert abs(s.duration - w["end"].iloc[-1]) < 1e-3
    # the stream audio at a word equals the corpus token's samples
    r = w.iloc[5]
    audio, sr = small_corpus.load_audio(r["source"])
    ws = small_corpus.get_alignments(r["source"], tier="word").iloc[0]
    seg = audio[int(round(ws.start * sr)): int(round(ws.end * sr))]
    a = int(round(r["start"] * sr))
    np.testing.assert_array_equal(s.audio[a:a + seg.size], seg)


def test_stream_is_seeded_and_sentences(small_corpus):
    a = make_stream(small_corpus, 12, random_state=1)
    b = make_stream(small_corpus, 12, random_state=1)
    np.testing.assert_array_equal(a.audio, b.audio)
    s = make_stream(small_corpus, 12, random_state=1, sentence_length=4, sentence_pause=0.8)
    assert s.words["sentence"].max() == 2
    with pytest.raises(ValueError, match="no corpus tokens match"):
        make_stream(small_corpus, 5, words=["zebra"])


def test_cli_corpus_build(espeak, tmp_path):
    from typer.testing import CliRunner

    from neurorrn.cli import app

    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: tiny\nlexicon: {source: words, words: [cat, sun]}\ntalkers: [m1, f1]\nn_jobs: 1\n")
    out = tmp_path / "tiny"
    res = CliRunner().invoke(app, ["corpus", "build", str(cfg), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout[res.stdout.index("{"):])
    assert info["n_items"] == 4
    res = CliRunner().invoke(app, ["corpus", "info", str(out), "--verify"])
    assert res.exit_code == 0 and '"verified": true' in res.stdout
    cfg.write_text("name: tiny\ntalkerz: [m1]\n")
    res = CliRunner().invoke(app, ["corpus", "build", str(cfg), "--out", str(out)])
    assert res.exit_code == 1 and "talkerz" in res.output


def test_stream_noise_snr(small_corpus):
    clean = make_stream(small_corpus, 10, random_state=7)
    noisy = make_stream(small_corpus, 10, random_state=7, snr_db=20)
    # same words and timing (the noise is drawn after the structure)
    assert clean.words.equals(noisy.words)
    noise = noisy.audio.astype(np.float64) - clean.audio
    on = np.zeros(clean.audio.size, bool)
    for r in clean.words.itertuples():
        on[int(round(r.start * 16000)): int(round(r.end * 16000))] = True
    snr = 10 * np.log10(np.mean(clean.audio[on].astype(np.float64) ** 2) / np.mean(noise ** 2))
    assert abs(snr - 20) < 0.5
