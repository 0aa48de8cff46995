"""Real-corpus loaders on small fixtures written in the exact layouts: TIMIT (SPHERE + sample
indices), LibriSpeech + MFA TextGrids, EARSHOT; plus audio-file errors."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.speech import AudioFileError, read_audio
from neurorrn.speech._audio import wav_bytes
from neurorrn.speech.loaders import (
    load_earshot_corpus,
    load_librispeech_mfa,
    load_timit,
    read_earshot_alignment,
    read_textgrid,
    timit_phones_to_arpabet,
    read_timit_labels,
)


def _sphere(path, samples, sfreq=16000):
    fields = (f"NIST_1A\n   1024\nsample_count -i {samples.size}\nsample_rate -i {sfreq}\n"
              "channel_count -i 1\nsample_n_bytes -i 2\nsample_byte_format -s2 01\n"
              "sample_coding -s3 pcm\nend_head\n").encode()
    path.write_bytes(fields.ljust(1024, b" ") + samples.astype("<i2").tobytes())


def _timit_fixture(root, rng, bad_end=False):
    d = root / "TRAIN" / "DR1" / "FCJF0"
    d.mkdir(parents=True)
    n = 16000
    _sphere(d / "SA1.WAV", (rng.standard_normal(n) * 1000).astype(np.int16))
    end = n + 800 if bad_end else 15000
    (d / "SA1.PHN").write_text(f"0 2000 h#\n2000 2600 kcl\n2600 3200 k\n3200 5000 ae\n5000 5400 tcl\n"
                               f"5400 6000 t\n6000 {end} h#\n")
    (d / "SA1.WRD").write_text("2000 6000 cat\n")
    (d / "SA1.TXT").write_text("0 16000 Cat.\n")


def test_timit(tmp_path, rng):
    _timit_fixture(tmp_path, rng)
    c = load_timit(tmp_path)
    assert c.stimuli == ["train-dr1-fcjf0-sa1"]
    it = c.item("train-dr1-fcjf0-sa1")
    assert it["talker"] == "dr1-fcjf0" and it["split"] == "train" and it["word"] == "Cat."
    audio, sr = c.load_audio("train-dr1-fcjf0-sa1")
    assert sr == 16000 and audio.size == 16000
    ph = c.get_alignments(tier="phone")
    # closures merged into their releases; sample indices / 16 kHz
    assert list(ph["label"]) == ["K", "AE", "T"]
    np.testing.assert_allclose(ph["start"], [2000 / 16000, 3200 / 16000, 5000 / 16000])
    np.testing.assert_allclose(ph["end"], [3200 / 16000, 5000 / 16000, 6000 / 16000])
    w = c.get_alignments(tier="word")
    assert w["label"].tolist() == ["cat"] and w["start"].iloc[0] == 0.125  # 2000 samples


def test_timit_label_past_audio(tmp_path, rng):
    _timit_fixture(tmp_path, rng, bad_end=True)
    with pytest.raises(ValueError, match="train-dr1-fcjf0-sa1: .PHN runs to 1.0500 s, past the end"):
        load_timit(tmp_path)


def test_timit_folding_and_bad_rows(tmp_path):
    p = tmp_path / "x.PHN"
    p.write_text("0 100 h#\n100 200 ix\n200 300 dcl\n300 400 jh\n400 500 q\n500 600 axr\n")
    got = timit_phones_to_arpabet(read_timit_labels(p))
    assert got["label"].tolist() == ["IH", "JH", "ER"]
    assert got["start"].iloc[1] == 200 / 16000  # affricate takes the preceding closure
    p.write_text("0 100\n")
    with pytest.raises(ValueError, match="x.PHN:1: expected 'start end label'"):
        read_timit_labels(p)


TEXTGRID_LONG = '''File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = {xmax}
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = {xmax}
        intervals: size = 3
        intervals [1]:
            xmin = 0
            xmax = 0.1
            text = ""
        intervals [2]:
            xmin = 0.1
            xmax = 0.4
            text = "cat"
        intervals [3]:
            xmin = 0.4
            xmax = {xmax}
            text = ""
    item [2]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = {xmax}
        intervals: size = 5
        intervals [1]:
            xmin = 0
            xmax = 0.1
            text = "sil"
        intervals [2]:
            xmin = 0.1
            xmax = 0.2
            text = "K"
        intervals [3]:
            xmin = 0.2
            xmax = 0.3
            text = "AE1"
        intervals [4]:
            xmin = 0.3
            xmax = 0.4
            text = "T"
        intervals [5]:
            xmin = 0.4
            xmax = {xmax}
            text = "sp"
'''

TEXTGRID_SHORT = '''File type = "ooTextFile"
Object class = "TextGrid"

0
0.5
<exists>
1
"IntervalTier"
"words"
0
0.5
2
0
0.2
"hi"
0.2
0.5
""
'''


def _libri_fixture(root, xmax=0.5):
    d = root / "84" / "121123"
    d.mkdir(parents=True)
    (d / "84-121123-0000.wav").write_bytes(wav_bytes(np.zeros(8000) + 0.01, 16000))  # 0.5 s
    (d / "84-121123.trans.txt").write_text("84-121123-0000 CAT\n")
    (d / "84-121123-0000.TextGrid").write_text(TEXTGRID_LONG.format(xmax=xmax))


def test_textgrid_formats(tmp_path):
    p = tmp_path / "a.TextGrid"
    p.write_text(TEXTGRID_LONG.format(xmax=0.5))
    t = read_textgrid(p)
    assert set(t) == {"words", "phones"} and t["phones"]["label"].tolist() == ["sil", "K", "AE1", "T", "sp"]
    p.write_text(TEXTGRID_SHORT)
    t = read_textgrid(p)
    assert t["words"]["label"].tolist() == ["hi", ""] and t["words"]["end"].tolist() == [0.2, 0.5]
    p.write_text("nonsense")
    with pytest.raises(ValueError, match="not a Praat TextGrid"):
        read_textgrid(p)


def test_librispeech_mfa(tmp_path):
    _libri_fixture(tmp_path)
    c = load_librispeech_mfa(tmp_path)
    assert c.stimuli == ["84-121123-0000"] and c.item("84-121123-0000")["talker"] == "84"
    assert c.item("84-121123-0000")["word"] == "CAT"
    ph = c.get_alignments(tier="phone")
    assert ph["label"].tolist() == ["K", "AE", "T"]  # silences dropped, stress stripped
    assert c.get_alignments(tier="word")["label"].tolist() == ["cat"]


def test_librispeech_textgrid_past_audio(tmp_path):
    _libri_fixture(tmp_path, xmax=0.9)
    with pytest.raises(ValueError, match="84-121123-0000: TextGrid .* runs to 0.900 s, past the end"):
        load_librispeech_mfa(tmp_path)


def test_earshot_alignment_file(shared_data):
    df = read_earshot_alignment(shared_data / "earshot" / "Alignment_Data.txt")
    assert df["stimulus"].nunique() == 10000
    assert sorted(df["talker"].unique()) == ["agnes", "alex", "bruce", "fred", "junior", "kathy",
                                             "princess", "ralph", "vicki", "victoria"]
    assert df["label"].nunique() == 33  # EARSHOT's analysis phones only
    assert (df["end"] >= df["start"]).all()
    first = df[df["stimulus"] == "abandon__agnes"]
    assert first["label"].tolist()[:3] == ["AH", "B", "AE"] and first["start"].iloc[0] == 0.12


def test_earshot_layout(tmp_path):
    (tmp_path / "AGNES").mkdir()
    (tmp_path / "AGNES" / "CAT_AGNES.wav").write_bytes(wav_bytes(np.full(8000, 0.1), 16000))
    ali = tmp_path / "Alignment_Data.txt"
    ali.write_text("CAT\tAGNES\tK\t0.05\t0.1\nCAT\tAGNES\tAE\t0.1\t0.3\nCAT\tAGNES\tT\t0.3\t0.4\n"
                   "DOG\tAGNES\tD\t0.0\t0.1\n")
    c = load_earshot_corpus(tmp_path, ali)
    assert c.stimuli == ["cat__agnes"]  # DOG has no WAV
    w = c.get_alignments(tier="word").iloc[0]
    assert (w["start"], w["end"]) == (0.05, 0.4)
    ali.write_text("CAT\tAGNES\tK\t0.05\t0.9\n")
    with pytest.raises(ValueError, match="cat__agnes: alignment runs to 0.900 s, past the end"):
        load_earshot_corpus(tmp_path, ali)
    ali.write_text("CAT\tAGNES\tK\t0.05\n")
    with pytest.raises(ValueError, match="Alignment_Data.txt:1: expected 5 tab-separated fields"):
        read_earshot_alignment(ali)


def test_audio_errors(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioFileError, match="empty audio file .*empty.wav.*'tok1'"):
        read_audio(empty, name="tok1")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage-not-a-wave-file")
    with pytest.raises(AudioFileError, match="corrupt or unsupported WAV file .*bad.wav"):
        read_audio(bad)
    nosamples = tmp_path / "zero.wav"
    nosamples.write_bytes(wav_bytes(np.zeros(0), 16000))
    with pytest.raises(AudioFileError, match="no samples.*zero.wav"):
        read_audio(nosamples)
    with pytest.raises(FileNotFoundError, match="audio file not found"):
        read_audio(tmp_path / "missing.wav")


def test_corpus_load_audio_names_stimulus(small_corpus, tmp_path):
    import shutil

    from neurorrn.speech import Corpus

    root = tmp_path / "copy"
    shutil.copytree(small_corpus.root, root)
    (root / small_corpus.item("cat__m1")["path"]).write_bytes(b"")
    c = Corpus(root, small_corpus.items, small_corpus.alignments)
    with pytest.raises(AudioFileError, match="empty audio file.*'cat__m1'"):
        c.load_audio("cat__m1")
    with pytest.raises(KeyError, match="'nope__m1' is not in the corpus"):
        c.load_audio("nope__m1")
