"""Streams spliced from corpus tokens: audio and alignments line up exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.io import wavfile

from neurorrn.speech import Corpus
from neurorrn.pipelines.earshot_meg.streams import make_corpus_streams, write_streams


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    items, al = [], []
    for w in ("cat", "dog", "sun"):
        for t in ("m1", "f1"):
            sid = f"{w}__{t}"
            n = int(rng.integers(3000, 6000))
            audio = (0.5 * rng.uniform(-1, 1, n)).astype(np.float32)
            (tmp_path / "audio").mkdir(exist_ok=True)
            wavfile.write(tmp_path / "audio" / f"{sid}.wav", 16000, (audio * 32767).astype(np.int16))
            items.append({"stimulus": sid, "word": w, "talker": t, "path": f"audio/{sid}.wav", "n_samples": n,
                          "sfreq": 16000})
            al.append({"stimulus": sid, "tier": "word", "label": w, "start": 0.0, "end": n / 16000})
            al.append({"stimulus": sid, "tier": "phone", "label": "K", "start": 0.0, "end": n / 32000})
            al.append({"stimulus": sid, "tier": "phone", "label": "AE", "start": n / 32000, "end": n / 16000})
    return Corpus(tmp_path, pd.DataFrame(items), pd.DataFrame(al))


def test_streams_align_with_their_tokens(corpus, tmp_path):
    sounds, al = make_corpus_streams(corpus, n_streams=2, n_words=7, silence=(0.2, 0.5), lead=0.3, random_state=4)
    assert sorted(sounds) == ["stream01", "stream02"]
    for sid, (audio, sr) in sounds.items():
        words = al[(al["stimulus"] == sid) & (al["tier"] == "word")].reset_index(drop=True)
        assert len(words) == 7
        assert words["start"].iloc[0] == pytest.approx(0.3)
        gaps = words["start"].values[1:] - words["end"].values[:-1]
        assert np.all((gaps < 1e-9) | ((gaps >= 0.2 - 1e-4) & (gaps <= 0.5 + 1e-4)))
        for r in words.itertuples():
            tok, tsr = corpus.load_audio(r.token)
            i0 = int(round(r.start * sr))
            np.testing.assert_array_equal(audio[i0:i0 + tok.size], tok)
        # phones tile each word
        ph = al[(al["stimulus"] == sid) & (al["tier"] == "phone")]
        assert len(ph) == 14
        # talkers change from phrase to phrase: consecutive words with a silence between differ
        talk = words["talker"].values
        assert all(talk[k] != talk[k + 1] for k in np.flatnonzero(gaps > 1e-9))
    again, al2 = make_corpus_streams(corpus, n_streams=2, n_words=7, silence=(0.2, 0.5), lead=0.3, random_state=4)
    pd.testing.assert_frame_equal(al, al2)


def test_write_streams_and_errors(corpus, tmp_path):
    sounds, al = write_streams(corpus, tmp_path / "stim", n_streams=1, n_words=3)
    sr, pcm = wavfile.read(tmp_path / "stim" / "stream01.wav")
    np.testing.assert_array_equal(pcm.astype(np.float32) / 32768.0, sounds["stream01"][0])
    assert (tmp_path / "stim" / "alignments.tsv").is_file()
    with pytest.raises(ValueError, match=r"silence must be \(low, high\)"):
        make_corpus_streams(corpus, silence=(0.5, 0.2))
    with pytest.raises(ValueError, match="no corpus tokens to build streams from"):
        make_corpus_streams(corpus.select(word=[]), n_streams=1)
