"""Lexicons: readers, CMUdict/wordfreq selection, EARSHOT competitor sets, embeddings,
uniqueness points — on hand-made cases with known answers."""

from __future__ import annotations

import pytest

from neurorrn.speech import (
    Lexicon,
    WordNotFoundError,
    read_earshot_pronunciations,
    read_jtrace_lexicon,
    read_lexicon_tsv,
)

HAND = Lexicon({
    "cat": "K AE T", "cap": "K AE P", "catalog": "K AE T AH L AO G", "cab": "K AE B",
    "bat": "B AE T", "mat": "M AE T", "at": "AE T", "cast": "K AE S T", "ca": "K AE",
    "log": "L AO G", "dog": "D AO G", "sun": "S AH N", "kit": "K IH T", "act": "AE K T",
})


def test_cohort_rhyme_das_unrelated_on_hand_made_lexicon():
    c = HAND.competitors("cat")
    # cohort: same first two phones (K AE)
    assert c["cohort"] == ["ca", "cab", "cap", "cast", "catalog"]
    # rhyme: identical from the 2nd phone on, different first phone
    assert c["rhyme"] == ["bat", "mat"]
    # DAS: one deletion (at, ca), addition (cast), substitution (cap, cab, bat, mat, kit)
    assert c["das"] == ["at", "bat", "ca", "cab", "cap", "cast", "kit", "mat"]
    # unrelated: none of the three
    assert c["unrelated"] == ["act", "dog", "log", "sun"]
    # categories may overlap (EARSHOT): cap is a cohort and a DAS neighbour
    assert "cap" in c["cohort"] and "cap" in c["das"]
    assert "cat" not in sum(c.values(), [])


def test_embeddings_work():
    c = HAND.competitors("cat")
    assert c["embedding"] == ["catalog"]          # longer words containing K AE T
    assert c["embedded"] == ["at", "ca"]           # shorter words inside K AE T
    assert HAND.competitors("catalog")["embedded"] == ["at", "ca", "cat", "log"]
    assert HAND.competitors("log")["embedding"] == ["catalog"]
    assert HAND.competitors("sun")["embedding"] == []


def test_uniqueness_point():
    assert HAND.uniqueness_point("sun") == 1          # only word starting with S
    assert HAND.uniqueness_point("catalog") == 4      # K AE T AH is unique
    assert HAND.uniqueness_point("cat") is None       # a prefix of catalog
    assert HAND.uniqueness_point("cast") == 3
    assert HAND.uniqueness_point("kit") == 2


def test_earshot_file(shared_data):
    lex = read_earshot_pronunciations(shared_data / "earshot" / "Pronunciation_Data_1K.txt")
    assert len(lex) == 1000
    assert lex.phones("abandon") == ("AH", "B", "AE", "N", "D", "AH", "N")
    assert len(lex.inventory) == 39
    table = lex.competitor_table()
    assert set(table["kind"]) <= {"cohort", "rhyme", "das", "embedding", "embedded"}
    assert (table["kind"] == "embedding").sum() == (table["kind"] == "embedded").sum() > 0


def test_earshot_file_errors(tmp_path):
    p = tmp_path / "p.txt"
    p.write_text("CAT\tK.AE.T\nDOG\tD.AO.GG\n")
    with pytest.raises(ValueError, match=r"p.txt:2: .*'GG'.*not ARPAbet"):
        read_earshot_pronunciations(p)
    p.write_text("CAT K.AE.T\n")
    with pytest.raises(ValueError, match=r"p.txt:1: expected 'WORD<TAB>PH.PH.PH'"):
        read_earshot_pronunciations(p)


def test_jtrace(shared_data):
    slex = read_jtrace_lexicon(shared_data / "jtrace" / "slex.jt")
    assert len(slex) == 212 and slex.alphabet == "trace"  # 211 words + '^' (silence dropped)
    assert "S" not in slex.inventory or slex.phones("Si") != slex.phones("si")
    c = slex.competitors("bar")
    assert "kar" in c["rhyme"] and "ar" in c["embedded"]
    big = read_jtrace_lexicon(shared_data / "jtrace" / "biglex901.jt")
    assert len(big) >= 900


def test_from_cmudict_constraints():
    lex = Lexicon.from_cmudict(200, min_phones=3, max_phones=5)
    assert len(lex) == 200
    assert all(3 <= len(lex.phones(w)) <= 5 and w.isalpha() for w in lex)
    freqs = [lex.frequencies[w] for w in lex]
    assert freqs == sorted(freqs, reverse=True) or max(freqs) > min(freqs)
    assert lex.stress("about") == (0, 0, 1, 0)
    with pytest.raises(ValueError, match="only .* words meet the constraints"):
        Lexicon.from_cmudict(10, min_phones=40)


def test_missing_words_and_roundtrip(tmp_path):
    with pytest.raises(WordNotFoundError, match="'zzqx' is not in cmudict"):
        Lexicon.from_words(["cat", "zzqx"])
    with pytest.raises(WordNotFoundError, match="'sunn' is not in the lexicon.*Did you mean 'sun'"):
        HAND.phones("sunn")
    lex = Lexicon.from_words(["about", "cat"])
    back = read_lexicon_tsv(lex.to_tsv(tmp_path / "lex.tsv"))
    assert back == lex and back.stress("about") == (0, 0, 1, 0)
