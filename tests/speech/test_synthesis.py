"""Synthesis: forced pronunciations, tiers, alignment accuracy against the acoustics,
determinism, talkers, errors."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.speech import (
    TALKERS,
    Lexicon,
    WordNotFoundError,
    get_talker,
    read_earshot_pronunciations,
    synthesize,
)
from neurorrn.speech.phonology import arpabet_to_espeak, espeak_to_arpabet, strip_stress
from neurorrn.speech.synthesis import _align_labels, _tile, synthesize_many


def _energy_onset(audio, sfreq, frame=0.002, rel=0.05):
    """Start of the first 2 ms frame whose RMS exceeds 5 % of the token's maximum frame RMS."""
    n = int(round(frame * sfreq))
    k = audio.size // n
    rms = np.sqrt(np.mean(audio[: k * n].reshape(k, n).astype(np.float64) ** 2, axis=1))
    return np.argmax(rms > rel * rms.max()) * frame


def test_phonology_tables():
    assert strip_stress("'a") == "a" and strip_stress(",i:") == "i:" and strip_stress("a") == "a"
    assert espeak_to_arpabet("'A@") == ("AA", "R")
    assert espeak_to_arpabet("_:") == ()
    with pytest.raises(KeyError, match="'zz'"):
        espeak_to_arpabet("zz")
    # separators keep t+S from reading as tS, and stress marks go before vowels
    assert arpabet_to_espeak(["K", "AE1", "T", "SH"]) == "k|'a|t|S"
    assert arpabet_to_espeak(["AH0", "B", "AW1", "T"]) == "@|b|'aU|t"
    assert arpabet_to_espeak(["K", "AE", "T"]) == "k|'a|t"  # default: first vowel stressed


def test_tile_and_align_helpers():
    # a zero-length phone (final r coloured into the vowel) shares the previous interval
    t = _tile([("K",), ("AA",), ("R",)], [100, 200, 400], 400)
    assert [x[0] for x in t] == ["K", "AA", "R"]
    assert t[1][1:] == (200.0, 300.0) and t[2][1:] == (300.0, 400.0)
    # espeak's linking r after ER is absorbed into ER, labels spell the requested phones
    labels = _align_labels([("B",), ("ER",), ("R",), ("EH",)], ("B", "ER", "EH"))
    assert labels == [("B",), ("ER",), (), ("EH",)]
    t = _tile(labels, [0, 10, 20, 30], 40)
    assert [(x[0], x[1], x[2]) for x in t] == [("B", 0, 10), ("ER", 10, 30), ("EH", 30, 40)]


def test_synthesize_word_tiers(espeak):
    s = synthesize("speech", "m3")
    assert s.sfreq == 16000 and s.audio.dtype == np.float32 and s.match
    ph = s.tier("phone")
    assert list(ph["label"]) == ["S", "P", "IY", "CH"]
    w = s.tier("word").iloc[0]
    assert w["label"] == "speech"
    assert ph["start"].iloc[0] == w["start"] and ph["end"].iloc[-1] == w["end"]
    np.testing.assert_array_equal(ph["start"].to_numpy()[1:], ph["end"].to_numpy()[:-1])
    # the final pause is trimmed to 50 ms after the last phone
    assert abs(s.duration - (w["end"] + 0.05)) < 1.5 / 16000
    # native rate works too and phone times are the same
    s22 = synthesize("speech", "m3", sfreq=22050)
    np.testing.assert_allclose(s22.tier("phone")["start"], ph["start"])


def test_phone_sequence_and_stress(espeak):
    s = synthesize(["T", "AH0", "M", "EY1", "T", "OW2"], "f1")
    assert list(s.tier("phone")["label"]) == ["T", "AH", "M", "EY", "T", "OW"]
    assert s.word == "t_ah_m_ey_t_ow"


def test_deterministic_across_calls_and_order(espeak):
    a = synthesize_many([("hello", "m2"), ("sun", "f2"), ("hello", "m2")])
    b = synthesize("hello", "m2")
    np.testing.assert_array_equal(a[0].audio, a[2].audio)
    np.testing.assert_array_equal(a[0].audio, b.audio)
    assert a[0].intervals.equals(b.intervals)


@pytest.mark.parametrize("first", ["S", "SH"])
def test_alignment_accuracy_fricative_onsets(espeak, first):
    """For /s/- and /ʃ/-initial words the first phone's onset is within 5 ms (median) of the
    acoustic energy onset, over all default talkers."""
    words = {"S": ["sun", "sit", "sea", "soon", "sell"], "SH": ["ship", "shoe", "shop", "sheep", "show"]}[first]
    talkers = ["m1", "m3", "m5", "f1", "f3", "f5"]
    syns = synthesize_many([(w, t) for w in words for t in talkers])
    errs = []
    for s in syns:
        ph = s.tier("phone")
        assert ph["label"].iloc[0] == first
        errs.append(ph["start"].iloc[0] - _energy_onset(s.audio, s.sfreq))
    errs = np.abs(errs)
    assert np.median(errs) <= 0.005, errs
    assert errs.max() <= 0.012, errs


def test_talkers_registry_spans_sexes_and_f0(espeak):
    assert len(TALKERS) >= 10
    sexes = {t.sex for t in TALKERS.values()}
    assert sexes == {"male", "female"}
    # measure F0 of a sustained vowel for the lowest and highest talkers
    def f0(s):
        ph = s.tier("phone")
        a, b = ph.iloc[1]["start"], ph.iloc[1]["end"]
        from scipy.signal import butter, sosfiltfilt

        x = s.audio[int(a * s.sfreq): int(b * s.sfreq)].astype(np.float64)
        x = sosfiltfilt(butter(4, 300, fs=s.sfreq, output="sos"), x - x.mean())  # drop formants
        ac = np.correlate(x, x, "full")[x.size - 1:]
        lo, hi = int(s.sfreq / 400), int(s.sfreq / 60)
        return s.sfreq / (lo + np.argmax(ac[lo:hi]))
    low = f0(synthesize(["M", "AA1", "M"], "m1"))
    high = f0(synthesize(["M", "AA1", "M"], "f3"))
    assert 70 < low < 110 and 180 < high < 260, (low, high)
    with pytest.raises(ValueError, match="Invalid value for talker: 'zz9'.*Allowed values"):
        get_talker("zz9")


def test_errors(espeak):
    with pytest.raises(ValueError, match="talker.*'m1x'.*Did you mean 'm1'"):
        synthesize("cat", "m1x")
    with pytest.raises(WordNotFoundError, match="'blorptastic' is not in cmudict"):
        synthesize("blorptastic", "m1")
    lex = Lexicon({"cat": "K AE T"})
    with pytest.raises(WordNotFoundError, match="'dog' is not in the lexicon"):
        synthesize("dog", "m1", lexicon=lex)
    with pytest.raises(ValueError, match="'XX' is not an ARPAbet phone"):
        synthesize(["K", "XX"], "m1")


def _check_earshot_words(words, lex):
    syns = synthesize_many([(w, "m3") for w in words], lexicon=lex)
    for w, s in zip(words, syns):
        ph = s.tier("phone")
        assert tuple(ph["label"]) == lex.phones(w), w
        assert np.all(ph["end"].to_numpy() > ph["start"].to_numpy()), w
        np.testing.assert_allclose(ph["start"].to_numpy()[1:], ph["end"].to_numpy()[:-1])
    return syns


def test_earshot_words_subset(espeak, shared_data):
    """Fast subset: 60 EARSHOT words synthesize with exactly their EARSHOT pronunciations."""
    lex = read_earshot_pronunciations(shared_data / "earshot" / "Pronunciation_Data_1K.txt")
    syns = _check_earshot_words(lex.words[::17], lex)
    assert np.mean([s.match for s in syns]) > 0.85


@pytest.mark.slow
def test_earshot_all_1000_words(espeak, shared_data):
    lex = read_earshot_pronunciations(shared_data / "earshot" / "Pronunciation_Data_1K.txt")
    assert len(lex) == 1000
    syns = _check_earshot_words(lex.words, lex)
    assert np.mean([s.match for s in syns]) > 0.9  # the rest: espeak's linking r etc., recorded


def test_library_fallback_and_clear_error(monkeypatch):
    from neurorrn.speech import _espeak

    monkeypatch.setattr(_espeak, "_candidates", lambda: [("espeakng-loader", "/nonexistent/libespeak-ng.so", None),
                                                         ("system", "libespeak-ng-missing.so.1", None)])
    with pytest.raises(_espeak.EspeakUnavailableError, match="espeakng-loader.*libespeak-ng1.*Tried"):
        _espeak._load_library()
    # the environment variable comes first, then the wheel, then Debian's library
    monkeypatch.undo()
    monkeypatch.setenv("NEURORRN_ESPEAK_LIBRARY", "/custom/libespeak-ng.so")
    labels = [c[0] for c in _espeak._candidates()]
    assert labels[0] == "NEURORRN_ESPEAK_LIBRARY" and labels[-1] == "system"
    assert "espeakng-loader" in labels or labels.count("system") >= 1
