"""TRACE: faithfulness to jTRACE's dynamics, data tables, I/O and readouts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from neurorrn.config import ConfigError
from neurorrn.store import get_alignments, validate_store
from neurorrn.zoo.trace import (
    PHONEMES, Lexicon, TraceParams, feature_names, luce_choice, make_input, phoneme_features,
    read_jt_lexicon, simulate, write_jt_lexicon,
)

from _jtrace_reference import run_reference


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """TRACE's batched ops are memory-bound; one thread is as fast and robust on a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def slex(shared_data):
    return read_jt_lexicon(shared_data / "jtrace" / "slex.jt")


def test_phoneme_features_match_jtrace_table(shared_data):
    tab = pd.read_csv(shared_data / "jtrace" / "phoneme_features.tsv", sep="\t", index_col=0)
    assert list(tab.columns) == feature_names()
    defs = phoneme_features()
    assert sorted(tab.index) == sorted(PHONEMES)
    for i, ph in enumerate(PHONEMES):
        np.testing.assert_array_equal(defs[i], tab.loc[ph].to_numpy(float), err_msg=ph)


def test_read_jt_lexicons(slex, shared_data, tmp_path):
    assert len(slex) == 213
    assert slex.frequency[slex.index("^")] == 23248
    assert "-" in slex.words and "^br^pt" in slex.words
    big = read_jt_lexicon(shared_data / "jtrace" / "biglex901.jt")   # not well-formed XML
    assert len(big) == 901
    out = write_jt_lexicon(slex, tmp_path / "copy.jt")
    back = read_jt_lexicon(out)
    assert back.words == slex.words
    np.testing.assert_array_equal(back.frequency, slex.frequency)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_jt_lexicon(slex, out)


def test_lexicon_errors(tmp_path):
    bad = tmp_path / "bad.jt"
    bad.write_text("<lexicon><lexeme><phonology>bxz</phonology></lexeme></lexicon>")
    with pytest.raises(ValueError, match=r"bad.jt: lexeme #0 <phonology> 'bxz' contains \['x', 'z'\]"):
        read_jt_lexicon(bad)
    empty = tmp_path / "empty.jt"
    empty.write_text("<lexicon></lexicon>")
    with pytest.raises(ValueError, match="no <lexeme> elements"):
        read_jt_lexicon(empty)
    with pytest.raises(FileNotFoundError, match="lexicon path"):
        read_jt_lexicon(tmp_path / "missing.jt")
    with pytest.raises(ValueError, match="duplicate words"):
        Lexicon(("bar", "bar"))
    with pytest.raises(KeyError, match="not in the lexicon"):
        Lexicon(("bar", "bark")).index("dark")


def test_input_is_triangular_spread_then_noise_then_clip():
    p = TraceParams()
    x = make_input("p", p)
    i = PHONEMES.index("p")
    peak = phoneme_features()[i]
    col = np.argmax(peak)                        # a feature with value 1.0
    # centre at slice delta_input = 6, ramp reaching 0 at +/-spread
    np.testing.assert_allclose(x[col, 6], 1.0)
    np.testing.assert_allclose(x[col, [1, 11]], 1 / 6)
    np.testing.assert_allclose(x[col, [0, 12]], 0.0)
    np.testing.assert_allclose(x[:, 6], peak)
    # overlapping phonemes add; clipping at max
    xx = make_input("pp", p)
    np.testing.assert_allclose(xx[col, 9], min(1.0, 2 * (1 - 3 / 6)))
    noise = np.full(x.shape, 0.9)
    xn = make_input("p", p, noise)
    assert xn.max() == p.max and np.allclose(xn[col, 30], 0.9)
    xn = make_input("p", p, np.full(x.shape, -5.0))
    assert xn.min() == p.min
    with pytest.raises(ValueError, match=r"'bxr' contains \['x'\]"):
        make_input("bxr", p)
    with pytest.raises(ValueError, match=r"noise has shape \(2, 2\)"):
        make_input("p", p, np.zeros((2, 2)))


@pytest.mark.parametrize("kw", [
    {},
    {"freq_rest_s": 0.06, "freq_weight_s": 0.13, "length_normalization": True, "nreps": 2},
    {"feedback": False, "gamma_w": 0.06},
])
def test_matches_loop_by_loop_jtrace_transcription(kw):
    words = ("-", "bar", "bark", "ar", "kar", "dark", "bab", "^", "b^k")
    freqs = np.array([1000, 125, 125, 4406, 10, 50, 40, 23248, 30], dtype=float)
    lex = Lexicon(words, freqs)
    p = TraceParams(f_slices=36, **kw)
    ref_w, ref_p = run_reference("-bark-", words, freqs, p, 16)
    for mode in ("table", "explicit"):
        r = simulate("-bark-", lex, p, 16, feature_mode=mode)
        np.testing.assert_allclose(r.word[0], ref_w.astype(np.float32), atol=2e-6, err_msg=mode)
        np.testing.assert_allclose(r.phoneme[0], ref_p.astype(np.float32), atol=2e-6, err_msg=mode)


def test_abrupt_target_dominates_embedded_and_onset_competitors_fall(slex):
    r = simulate("-^br^pt-", slex, n_cycles=100)
    assert r.onset_slice(0) == 4
    tgt = r.word_activation("^br^pt", alignment="aligned")
    for c in range(60, 100):
        assert r.winner(cycle=c) == ("^br^pt", 4)
    assert tgt[60] > 0.6
    for w in ("^", "^p"):
        a = r.word_activation(w, alignment="aligned")
        peak = int(np.argmax(a))
        assert a[peak] > 0.1 and 20 < peak < 60, w
        assert a[-1] < a[peak] - 0.15 and a[-1] < 0, w
    # only positive activations drive: resting word units far from the input stay at rest
    assert np.allclose(r.word[0, :, slex.index("S^t"), 30], -0.01, atol=1e-6)


def test_cohort_rhyme_unrelated_signatures(slex):
    items = ["bark", "bab", "dark", "sis"]           # target, cohort, rhyme, unrelated
    r = simulate("-bark-", slex, n_cycles=100, word_slices=[4])
    a = r.word_activation(items, alignment=4)
    tgt, coh = a[:, 0], a[:, 1]
    peak = int(np.argmax(coh))
    assert coh[peak] > 0.1 and peak < 40
    assert coh[-1] < coh[peak] - 0.2
    cross = np.flatnonzero((tgt > coh) & (np.arange(100) > 5))[0]
    assert cross < 32
    prob = r.luce(7.0, items, alignment=4)            # forced choice over the display
    np.testing.assert_allclose(prob.sum(1), 1.0)
    assert np.all(prob[25:51, 2] > prob[25:51, 3])
    assert prob[-1, 0] > 0.9


def test_feedback_and_frequency_options(slex):
    on = simulate("-^br^pt-", slex, n_cycles=40)
    off = simulate("-^br^pt-", slex, TraceParams(feedback=False), n_cycles=40)
    i = PHONEMES.index("b")
    # word->phoneme feedback adds support to the phonemes of active words
    assert on.phoneme[0, 39, i, 6] > off.phoneme[0, 39, i, 6]
    fr = simulate("-^br^pt-", slex, TraceParams(freq_rest_s=0.06), n_cycles=2)
    k = slex.index("^")
    np.testing.assert_allclose(fr.word[0, 0, k, 10], -0.01 + 0.06 * np.log10(1 + 23248), rtol=1e-6)
    lex = Lexicon(slex.words, slex.frequency, np.where(np.array(slex.words) == "^p", 50.0, 0.0))
    pr = simulate("-^br^pt-", lex, TraceParams(prime_rest_s=0.06), n_cycles=2)
    j = lex.index("^p")
    assert pr.word[0, 0, j, 3] > pr.word[0, 0, lex.index("^br^pt"), 3]


def test_noise_is_seeded(slex):
    p = TraceParams(noise_sd=0.2, stochasticity_sd=0.01)
    a = simulate("-bark-", slex, p, 15, random_state=1, record=("word", "input"))
    b = simulate("-bark-", slex, p, 15, random_state=1, record=("word",))
    c = simulate("-bark-", slex, p, 15, random_state=2, record=("word",))
    np.testing.assert_array_equal(a.word, b.word)
    assert not np.allclose(a.word, c.word)
    assert a.input.min() >= p.min and a.input.max() <= p.max
    with pytest.raises(ValueError, match="feature_mode='table' needs stochasticity_sd == 0"):
        simulate("-bark-", slex, p, 5, feature_mode="table")


def test_luce_choice():
    a = np.array([[0.5, 0.1, -0.2]])
    p = luce_choice(a, k=7)
    np.testing.assert_allclose(p, np.exp(7 * a) / np.exp(7 * a).sum())
    np.testing.assert_allclose(luce_choice(a, k=200)[0], [1, 0, 0], atol=1e-12)
    pf = luce_choice(a, 7, frequency=[1, 10, 100], freq_post_c=15)
    s = np.exp(7 * a[0]) * np.log10(15 + np.array([1, 10, 100]))
    np.testing.assert_allclose(pf[0], s / s.sum())
    with pytest.raises(ValueError, match="at least one item"):
        luce_choice(np.zeros((2, 0)))


def test_store_export(slex):
    r = simulate(["-bark-", "-bark-"], slex, n_cycles=12)
    ds = r.to_store()
    validate_store(ds)
    assert list(ds.stimulus.values) == ["-bark-", "-bark-#1"]
    assert ds.attrs["time_unit"] == "cycle" and ds.attrs["frame_rate"] == 1.0
    assert ds.sizes["unit"] == 213 * 33 + 15 * 33
    unit = ds.sel(unit="word:bark@4")
    np.testing.assert_allclose(unit.activation.values[0], r.word_activation("bark", 0, 4))
    assert str(unit.layer.values) == "word" and int(unit.slice.values) == 4
    al = get_alignments(ds, "-bark-")
    assert list(al[al.tier == "phone"].label) == ["B", "AA", "R", "K"]
    assert al[al.tier == "phone"].start.iloc[0] == 9.0   # phoneme 1 centred on cycle 12
    assert list(al[al.tier == "word"].label) == ["bark"]


def test_bad_arguments(slex):
    with pytest.raises(ValueError, match=r"inputs\[1\] 'bxk' contains \['x'\]"):
        simulate(["-bark-", "bxk"], slex, n_cycles=3)
    with pytest.raises(ValueError, match=r"inputs\[0\] has shape \(3, 3\)"):
        simulate([np.zeros((3, 3))], slex, n_cycles=3)
    with pytest.raises(ValueError, match="n_cycles must be >= 1"):
        simulate("-bark-", slex, n_cycles=0)
    with pytest.raises(ValueError, match="Invalid value for record"):
        simulate("-bark-", slex, n_cycles=3, record=("wrd",))
    with pytest.raises(ValueError, match="min .* must be below max"):
        TraceParams(min=1.0, max=0.5)
    with pytest.raises(ConfigError, match="alpha_xx"):
        TraceParams.from_dict({"alpha_xx": 1.0})
    r = simulate("-bark-", slex, n_cycles=3, word_slices=[4])
    with pytest.raises(ValueError, match=r"word slice 7 was not recorded; recorded slices: \[4\]"):
        r.word_activation("bark", alignment=7)


def test_array_inputs_equal_string_inputs(slex):
    x = make_input("-bark-")
    a = simulate([x], slex, n_cycles=20)
    b = simulate("-bark-", slex, n_cycles=20)
    np.testing.assert_array_equal(a.word, b.word)


def test_float32_close_to_float64(slex):
    a = simulate("-bark-", slex, n_cycles=40, dtype=torch.float32, record=("word",))
    b = simulate("-bark-", slex, n_cycles=40, record=("word",))
    np.testing.assert_allclose(a.word, b.word, atol=1e-4)


def test_trace_subject_records_a_store(slex):
    from neurorrn.zoo.trace import TraceSubject

    subj = TraceSubject(slex, n_cycles=6)
    ds = subj.record(["-bark-", "-dark-"], ["s1", "s2"])
    validate_store(ds)
    assert list(ds.stimulus.values) == ["s1", "s2"]
    assert set(get_alignments(ds, "s2").label) == {"D", "AA", "R", "K", "dark"}
    one = subj.run_one("-bark-")
    assert one["word"].shape == (6, 213 * 33) and one["phoneme"].shape == (6, 15 * 33)
    with pytest.raises(ValueError, match="got 1 stimulus_ids for 2 stimuli"):
        subj.record(["-bark-", "-dark-"], ["s1"])


def test_chunks_and_threads_do_not_change_results(slex):
    """Chunked, threaded batches give the numbers of one batch; bad settings are refused."""
    inputs = ["-bark-", "-^br^pt-", "-dark-", "-sis-", "-bab-"]
    one = simulate(inputs, slex, n_cycles=30, chunk_size=5, n_threads=1, record=("word", "phoneme"))
    for cs, nt in ((2, 2), (1, 1), (3, 2)):
        r = simulate(inputs, slex, n_cycles=30, chunk_size=cs, n_threads=nt, record=("word", "phoneme"))
        np.testing.assert_allclose(r.word, one.word, atol=1e-6, err_msg=f"chunk_size={cs}")
        np.testing.assert_allclose(r.phoneme, one.phoneme, atol=1e-6)
        np.testing.assert_allclose(r.word_max, one.word_max, atol=1e-6)
    ref = simulate("-dark-", slex, n_cycles=30, record=("word",))
    np.testing.assert_allclose(one.word[2], ref.word[0], atol=1e-6)
    with pytest.raises(ValueError, match="chunk_size must be >= 1, got 0"):
        simulate("-bark-", slex, n_cycles=3, chunk_size=0)
    with pytest.raises(ValueError, match="n_threads must be >= 1, got 0"):
        simulate("-bark-", slex, n_cycles=3, n_threads=0)
