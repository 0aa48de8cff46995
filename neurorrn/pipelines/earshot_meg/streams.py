"""Continuous listening-experiment stimuli made from a corpus's own tokens.

Following the design of Brodbeck, Hannagan & Magnuson (2025): words in short phrases (about
``phrase_length`` words, consecutive tokens of one talker with no gap), phrases separated by
silences drawn uniformly from ``silence`` seconds, the talker changing from phrase to phrase.
Using the corpus's tokens (instead of new synthesis) means the network hears exactly the words
and talkers it was trained on, and the phone and word alignments carry over exactly, shifted by
each token's onset in the stream.

We differ from Brodbeck et al. in that there are no sentence-level prosody or coarticulation
across word boundaries (the tokens are spliced).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.io import wavfile

from neurorrn.utils._check import check_positive
from neurorrn.utils._io import atomic_path, write_text_atomic


def make_corpus_streams(corpus, *, n_streams: int = 4, n_words: int = 40, phrase_length: float = 2.0,
                        silence: tuple[float, float] = (0.2, 0.5), lead: float = 0.5,
                        split: str | None = None, random_state: int = 0):
    """Splice corpus tokens into continuous streams.

    Parameters
    ----------
    corpus : neurorrn.speech.Corpus
    n_streams : int
        Number of streams (stimulus ids ``stream01``, ``stream02``...).
    n_words : int
        Words per stream.
    phrase_length : float
        Mean phrase length in words (phrase lengths are 1 + Poisson(phrase_length - 1)).
    silence : (float, float)
        Range of the uniform silence between phrases (s).
    lead : float
        Silence before the first and after the last word (s).
    split : str | None
        Draw only tokens of this corpus split (e.g. ``"trained"``); all tokens when None.
    random_state : int

    Returns
    -------
    sounds : dict of str to (ndarray float32, int)
        Audio and sampling rate of each stream.
    alignments : DataFrame
        ``stimulus, tier, label, start, end`` (s from stream onset), phone and word tiers, plus
        columns ``talker`` and ``token`` (the corpus stimulus id of each word).
    """
    check_positive(n_streams, "n_streams", integer=True)
    check_positive(n_words, "n_words", integer=True)
    if not (0 <= silence[0] <= silence[1]):
        raise ValueError(f"silence must be (low, high) with 0 <= low <= high, got {silence}")
    rng = np.random.default_rng(random_state)
    items = corpus.items
    if split is not None and "split" in items.columns:
        items = items[items["split"].astype(str) == split]
    if not len(items):
        raise ValueError(f"no corpus tokens to build streams from (split={split!r})")
    talkers = sorted(items["talker"].unique())
    sfreqs = set(int(s) for s in items["sfreq"]) if "sfreq" in items else set()
    if len(sfreqs) > 1:
        raise ValueError(f"corpus tokens have different sampling rates {sorted(sfreqs)}; resample first")
    by_talker = {t: items[items["talker"] == t]["stimulus"].tolist() for t in talkers}
    sounds, rows = {}, []
    for k in range(int(n_streams)):
        sid = f"stream{k + 1:02d}"
        pieces, t, sr, n_done, prev_talker = [], 0.0, None, 0, None
        while n_done < n_words:
            choices = [x for x in talkers if x != prev_talker] or talkers
            talker = choices[rng.integers(len(choices))]
            prev_talker = talker
            length = min(int(1 + rng.poisson(max(phrase_length - 1.0, 0.0))), n_words - n_done)
            gap = lead if n_done == 0 else float(rng.uniform(*silence))
            for j in range(length):
                tok = by_talker[talker][rng.integers(len(by_talker[talker]))]
                audio, sr_i = corpus.load_audio(tok)
                sr = sr_i if sr is None else sr
                pad = gap if j == 0 else 0.0
                if pad:
                    pieces.append(np.zeros(int(round(pad * sr)), np.float32))
                    t += round(pad * sr) / sr
                for r in corpus.get_alignments(tok).itertuples():
                    rows.append({"stimulus": sid, "tier": r.tier, "label": r.label, "start": t + r.start,
                                 "end": t + r.end, "talker": talker, "token": tok})
                pieces.append(np.asarray(audio, np.float32))
                t += audio.size / sr
                n_done += 1
        pieces.append(np.zeros(int(round(lead * sr)), np.float32))
        sounds[sid] = (np.concatenate(pieces), int(sr))
    al = pd.DataFrame(rows, columns=["stimulus", "tier", "label", "start", "end", "talker", "token"])
    return sounds, al


def write_streams(corpus, folder, **kwargs):
    """Make streams (:func:`make_corpus_streams`) and write them as ``<id>.wav`` (16-bit PCM) with
    ``alignments.tsv`` into ``folder``; return ``(sounds, alignments)``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sounds, al = make_corpus_streams(corpus, **kwargs)
    for sid, (audio, sr) in sounds.items():
        pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
        with atomic_path(folder / f"{sid}.wav", overwrite=True) as tmp:
            wavfile.write(tmp, sr, pcm)
        sounds[sid] = (pcm.astype(np.float32) / 32768.0, sr)  # exactly what the files hold
    write_text_atomic(folder / "alignments.tsv", al.to_csv(sep="\t", index=False))
    return sounds, al
