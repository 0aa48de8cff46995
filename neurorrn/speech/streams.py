"""Continuous word streams for listening experiments and stream-trained networks.

:func:`make_stream` strings corpus tokens together as in Brodbeck, Hannagan & Magnuson (2025,
``earshot/train_earshot.py``, stimulus sequence ``'2'``): words drawn at random with
replacement; after each word a silence follows with probability ``p_silence`` (1/2, so phrases
average 2 words), its length drawn uniformly from 200-500 ms in 10 ms steps (20-50 frames); the
talker changes every ``talker_every`` (2) words.  Optionally words are grouped into "sentences"
separated by a longer pause.  The stream carries the same tiers as a corpus, with times from the
stream's onset, plus a table of its words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..utils._check import check_positive, check_random_state
from .corpus import Corpus


@dataclass
class Stream:
    """A continuous stream.

    Attributes
    ----------
    audio : ndarray of float32, shape (n_samples,)
    sfreq : int
    alignments : DataFrame
        ``stimulus`` (the stream id), ``tier``, ``label``, ``start``, ``end`` (s from stream onset).
    words : DataFrame
        One row per word: ``word``, ``talker``, ``source`` (corpus stimulus id), ``start``,
        ``end`` (s), ``phrase``, ``sentence``.
    stimulus : str
    """

    audio: np.ndarray
    sfreq: int
    alignments: pd.DataFrame
    words: pd.DataFrame
    stimulus: str = "stream"

    @property
    def duration(self) -> float:
        return self.audio.size / self.sfreq


def stream_events(talkers, pool_sizes, rng, *, p_silence: float = 0.5,
                  silence: tuple[float, float] = (0.2, 0.5), silence_step: float = 0.01,
                  talker_every: int = 2, sentence_length: int | None = None,
                  sentence_pause: float = 0.8):
    """The random sequence of a stream: words (talker, token) and the pauses after them.

    An endless generator that alternates ``(talker, token_index)`` (the token drawn uniformly
    from that talker's ``pool_sizes[talker]`` tokens) and ``(pause_s, kind)`` with ``kind`` in
    ``"none"`` (no pause), ``"silence"`` (drawn with probability ``p_silence``, uniform in
    ``silence`` in steps of ``silence_step``) or ``"sentence"`` (``sentence_pause`` after every
    ``sentence_length`` words).  The talker changes every ``talker_every`` words (to a different
    talker where possible).  :func:`make_stream` and the stream trainer
    (:mod:`neurorrn.models.stream_training`) both draw from it, so they share one definition of
    Brodbeck et al.'s stimulus sequence ``'2'``.

    Parameters
    ----------
    talkers : sequence of str
    pool_sizes : mapping talker -> int
    rng : numpy Generator
    """
    lo, hi = silence
    if not 0 <= lo <= hi:
        raise ValueError(f"silence must be (min, max) with 0 <= min <= max, got {silence}")
    if not 0 <= p_silence <= 1:
        raise ValueError(f"p_silence must be in [0, 1], got {p_silence}")
    check_positive(talker_every, "talker_every", integer=True)
    talkers = list(talkers)
    for tk in talkers:
        if int(pool_sizes.get(tk, 0)) < 1:
            raise ValueError(f"talker {tk!r} has no tokens to draw from")
    steps = np.arange(round(lo / silence_step), round(hi / silence_step) + 1) * silence_step
    talker = talkers[int(rng.integers(len(talkers)))]
    k = 0
    while True:
        if k and k % talker_every == 0 and len(talkers) > 1:
            others = [x for x in talkers if x != talker]
            talker = others[int(rng.integers(len(others)))]
        yield talker, int(rng.integers(int(pool_sizes[talker])))
        k += 1
        if sentence_length and k % sentence_length == 0:
            yield float(sentence_pause), "sentence"
        elif rng.random() < p_silence:
            yield float(steps[int(rng.integers(len(steps)))]), "silence"
        else:
            yield 0.0, "none"


def make_stream(corpus: Corpus, n_words: int = 20, *, random_state=None, p_silence: float = 0.5,
                silence: tuple[float, float] = (0.2, 0.5), silence_step: float = 0.01,
                talker_every: int = 2, sentence_length: int | None = None,
                sentence_pause: float = 0.8, split: str | None = None, words=None,
                talkers=None, snr_db: float | None = None, stimulus: str = "stream") -> Stream:
    """A stream of ``n_words`` corpus tokens with silences and talker changes.

    Parameters
    ----------
    corpus : Corpus
        Source tokens (cut to their word interval, so a stream has no leading/trailing pauses
        inside phrases).
    n_words : int
    random_state : int | Generator | None
    p_silence : float
        Probability of a silence after each word (1/2 gives phrases of 2 words on average).
    silence : (float, float)
        Range of silence durations (s), drawn uniformly in steps of ``silence_step``.
    talker_every : int
        A new talker (different from the current one where possible) every this many words.
    sentence_length : int | None
        If given, every this many words a ``sentence_pause`` replaces the drawn silence.
    split, words, talkers : optional
        Restrict the source tokens to a split label, a word list or a talker list.
    snr_db : float | None
        Add white Gaussian noise at this signal-to-noise ratio (dB), the signal power being the
        mean power of the word samples.  (Brodbeck et al. add 20 dB noise per gammatone band
        to the *features* during training; this is the audio-level analogue.)

    Returns
    -------
    Stream
    """
    check_positive(n_words, "n_words", integer=True)
    check_positive(talker_every, "talker_every", integer=True)
    if not 0 <= p_silence <= 1:
        raise ValueError(f"p_silence must be in [0, 1], got {p_silence}")
    lo, hi = silence
    if not 0 <= lo <= hi:
        raise ValueError(f"silence must be (min, max) with 0 <= min <= max, got {silence}")
    rng = check_random_state(random_state)
    items = corpus.items
    if split is not None:
        items = items[items["split"] == split]
    if words is not None:
        items = items[items["word"].isin(list(words))]
    if talkers is not None:
        items = items[items["talker"].isin(list(talkers))]
    if items.empty:
        raise ValueError("no corpus tokens match the split/words/talkers restrictions")
    sfreqs = set(items["sfreq"])
    if len(sfreqs) != 1:
        raise ValueError(f"corpus tokens have several sampling rates {sorted(sfreqs)}")
    sfreq = int(sfreqs.pop())
    by_talker = {t: g for t, g in items.groupby("talker")}
    talker_names = sorted(by_talker)
    word_tier = corpus.alignments[corpus.alignments["tier"] == "word"].set_index("stimulus")
    phones = corpus.alignments[corpus.alignments["tier"] == "phone"]
    phones_by = {s: g for s, g in phones.groupby("stimulus")}
    pieces, rows, wrows = [], [], []
    t = 0  # samples
    phrase = sentence = 0
    events = stream_events(talker_names, {k: len(g) for k, g in by_talker.items()}, rng, p_silence=p_silence,
                           silence=silence, silence_step=silence_step, talker_every=talker_every,
                           sentence_length=sentence_length, sentence_pause=sentence_pause)
    for k in range(n_words):
        talker, i_tok = next(events)
        row = by_talker[talker].iloc[i_tok]
        sid = row["stimulus"]
        audio, sr = corpus.load_audio(sid)
        w = word_tier.loc[sid]
        a, b = int(round(w["start"] * sr)), int(round(w["end"] * sr))
        seg = audio[a:b]
        onset = t / sfreq
        offset, w_end = onset - a / sr, onset + seg.size / sfreq
        tok = [[stimulus, "phone", r.label, max(onset, offset + r.start), min(w_end, offset + r.end)]
               for r in phones_by[sid].sort_values("start").itertuples()]
        tok[0][3], tok[-1][4] = onset, w_end  # snap to the cut (sample rounding)
        rows.extend(tuple(x) for x in tok)
        rows.append((stimulus, "word", row["word"], onset, w_end))
        wrows.append({"word": row["word"], "talker": talker, "source": sid, "start": onset,
                      "end": onset + seg.size / sfreq, "phrase": phrase, "sentence": sentence})
        pieces.append(seg)
        t += seg.size
        if k == n_words - 1:
            break
        gap, kind = next(events)
        if kind == "sentence":
            sentence += 1
        if kind != "none":
            phrase += 1
        if gap > 0:
            n = int(round(gap * sfreq))
            pieces.append(np.zeros(n, np.float32))
            t += n
    audio = np.concatenate(pieces).astype(np.float64)
    if snr_db is not None:
        speech = np.concatenate([p for p in pieces if p.any()]).astype(np.float64)
        p_sig = float(np.mean(speech ** 2))
        audio = audio + rng.standard_normal(audio.size) * np.sqrt(p_sig / 10 ** (snr_db / 10))
    al = pd.DataFrame(rows, columns=["stimulus", "tier", "label", "start", "end"])
    al = al.sort_values(["start", "tier"], ascending=[True, False], kind="stable").reset_index(drop=True)
    return Stream(audio.astype(np.float32), sfreq, al, pd.DataFrame(wrows), stimulus)
