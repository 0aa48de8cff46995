"""Continuous word streams as training and test data (Brodbeck, Hannagan & Magnuson 2025).

Brodbeck et al. (``earshot/train_earshot.py``, stimulus sequence ``'2'``) train on endless random
word streams: words drawn with replacement, a silence of 200-500 ms after a word with
probability 1/2, a new talker every 2 words, cut into 10 s segments.  The targets are "box"
targets: the word's target vector from its onset to its offset, zero in silence.

:class:`TokenBank` holds every corpus token once (cut to its word interval and padded to a
whole number of frames, so that every word of a stream starts and ends on a frame boundary),
with its raw features.  :class:`StreamSampler` draws streams from a subset of the bank with
:func:`neurorrn.speech.streams.stream_events` (the same sequence as
:func:`~neurorrn.speech.streams.make_stream`) and returns per-frame features, the word index of
every frame (``-1`` in silence) and the cohort-loss region.  Two ways to build the features:

``splice="features"``
    Concatenate each token's features and silence frames (the features of digital silence).
    Fast (no feature computation in the loop); as Brodbeck et al., whose input patterns are
    per-item gammatone spectrograms placed in sequence.
``splice="audio"``
    Concatenate the audio and compute the features of the whole stream, so frames at joins see
    the neighbouring word as a listener would.  Slower (the feature kernel runs on every
    training stream); better generalisation across talkers in a prototype with log spectra
    (``../shared/references/stream_training_notes.md``).

:func:`make_eval_streams` builds the fixed held-out test streams: every selected token once in
a random order (Brodbeck et al.'s ``NoSil`` test sequence has ``p_silence=0``), spread over a
few parallel rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..speech.streams import stream_events
from ..utils._check import check_option, check_positive
from ..utils._logging import logger, progress

SPLICE_MODES = ("features", "audio")
NO_WORD = -1


@dataclass
class TokenBank:
    """Every token of a corpus, cut to its word interval, with raw features.

    Attributes
    ----------
    stimulus, word, talker, split : ndarray of str, shape (n_tokens,)
    audio : list of ndarray of float64
        Token audio from word onset to word offset, zero-padded to ``n_frames`` whole frames.
    features : list of ndarray of float32, shape (n_frames_i, n_features)
        Raw (unnormalised) features of each padded token.
    n_frames : ndarray of int, shape (n_tokens,)
    sfreq : float
    frame_rate : float
    silence_frame : ndarray of float32, shape (n_features,)
        Features of digital silence (what a silent frame of a spliced stream holds).
    kernel : callable
        ``kernel(audio, sfreq) -> (n_frames, n_features)``.
    """

    stimulus: np.ndarray
    word: np.ndarray
    talker: np.ndarray
    split: np.ndarray
    audio: list
    features: list
    n_frames: np.ndarray
    sfreq: float
    frame_rate: float
    silence_frame: np.ndarray
    kernel: object

    @property
    def n_tokens(self) -> int:
        return len(self.stimulus)

    @property
    def n_features(self) -> int:
        return int(self.silence_frame.shape[0])

    @classmethod
    def from_corpus(cls, corpus, kind: str, params: dict | None = None, split=None, verbose=None) -> "TokenBank":
        """Cut every corpus token to its word interval and compute its features.

        Parameters
        ----------
        corpus : Corpus
            Needs a ``word`` tier in its alignments.
        kind, params : feature kind and parameters (:func:`neurorrn.speech.features.feature_kernel`)
        split : array of str | None
            Split label per corpus item (default: the corpus's ``split`` column, else ``trained``).
        """
        from ..speech.features import feature_kernel

        kernel, _, frame_rate = feature_kernel(kind, **dict(params or {}))
        items = corpus.items.reset_index(drop=True)
        sfreqs = set(items["sfreq"])
        if len(sfreqs) != 1:
            raise ValueError(f"corpus tokens have several sampling rates {sorted(sfreqs)}; streams need one")
        sfreq = float(sfreqs.pop())
        words_al = corpus.alignments[corpus.alignments["tier"] == "word"].set_index("stimulus")
        missing = [s for s in items["stimulus"] if s not in words_al.index]
        if missing:
            raise ValueError(f"{len(missing)} corpus token(s) have no word alignment (tier 'word'): {missing[:5]}")
        if split is None:
            split = items["split"].to_numpy(dtype=object) if "split" in items else np.full(len(items), "trained", object)
        split = np.asarray(split, dtype=object)
        if split.shape != (len(items),):
            raise ValueError(f"split must have one label per corpus item ({len(items)}), got shape {split.shape}")
        hop = sfreq / frame_rate
        audio, feats, n_frames = [], [], []
        for sid in progress(items["stimulus"], total=len(items), desc="token features", verbose=verbose):
            y, sr = corpus.load_audio(sid)
            w = words_al.loc[sid]
            a, b = int(round(float(w["start"]) * sr)), int(round(float(w["end"]) * sr))
            seg = np.asarray(y[a:b], dtype=np.float64)
            n = max(1, int(np.ceil(seg.size / hop - 1e-9)))
            padded = np.zeros(int(round(n * hop)), np.float64)
            padded[: min(seg.size, padded.size)] = seg[: padded.size]
            f = _fit_frames(kernel(padded, sfreq), n)
            audio.append(padded)
            feats.append(f)
            n_frames.append(n)
        silence = _fit_frames(kernel(np.zeros(int(round(4 * hop))), sfreq), 4)[1].copy()
        return cls(items["stimulus"].to_numpy(dtype=object), items["word"].to_numpy(dtype=object),
                   items["talker"].to_numpy(dtype=object), split, audio, feats, np.asarray(n_frames, np.int64),
                   sfreq, float(frame_rate), silence, kernel)

    def select(self, splits=None, words=None, talkers=None) -> np.ndarray:
        """Indices of the tokens in ``splits`` / ``words`` / ``talkers`` (None: any)."""
        ok = np.ones(self.n_tokens, bool)
        for vals, arr in ((splits, self.split), (words, self.word), (talkers, self.talker)):
            if vals is not None:
                ok &= np.isin(arr, list(vals))
        return np.flatnonzero(ok)

    def band_variance(self, index) -> np.ndarray:
        """Mean over tokens of each band's variance over the token's frames (noise scaling)."""
        index = np.asarray(index)
        if not index.size:
            raise ValueError("no tokens to compute band variances from")
        return np.mean([self.features[i].var(axis=0) for i in index], axis=0).astype(np.float32)


def shift_bands(x: np.ndarray, shift: float) -> np.ndarray:
    """Shift frames ``x`` (time, band) by ``shift`` bands (positive: towards higher bands).

    Band ``b`` of the result is ``x`` at band ``b - shift``, linearly interpolated; positions
    outside the band range take the edge band.
    """
    nb = x.shape[-1]
    pos = np.clip(np.arange(nb, dtype=np.float64) - float(shift), 0.0, nb - 1.0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, nb - 1)
    w = (pos - lo).astype(np.float32)
    return x[..., lo] * (1.0 - w) + x[..., hi] * w


def _fit_frames(f: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-extend a feature matrix to ``n`` frames (kernels differ by a frame at the end)."""
    f = np.asarray(f, dtype=np.float32)
    if f.shape[0] >= n:
        return f[:n]
    return np.concatenate([f, np.repeat(f[-1:], n - f.shape[0], axis=0)], axis=0)


@dataclass
class StreamBatch:
    """Rows of stream frames.

    Attributes
    ----------
    features : ndarray of float32, shape (n_rows, n_frames, n_features)
        Raw features (zero past each row's length).
    word : ndarray of int64, shape (n_rows, n_frames)
        Target row of the word playing at each frame; ``-1`` in silence and past the end.
    region : ndarray of bool, shape (n_rows, n_frames)
        Cohort-loss region: from word onset to ``offset_frames`` before the word's offset.
    lengths : ndarray of int64, shape (n_rows,)
    tokens : DataFrame
        One row per word: ``row``, ``start``, ``end`` (frames, end exclusive; ``end`` may exceed the
        row for a word cut at the row's end), ``token`` (bank index), ``stimulus``, ``word``,
        ``talker``, ``split``, ``target`` (row in the target set), ``after_silence``.
    """

    features: np.ndarray
    word: np.ndarray
    region: np.ndarray
    lengths: np.ndarray
    tokens: pd.DataFrame


class StreamSampler:
    """Draw continuous streams of bank tokens (Brodbeck et al.'s sequence ``'2'``).

    Parameters
    ----------
    bank : TokenBank
    index : array of int
        Bank tokens the streams are made of (e.g. the training split).
    target_index : mapping word -> int
        Target row of each word.
    p_silence, silence, silence_step, talker_every : see :func:`~neurorrn.speech.streams.stream_events`
    splice : {"features", "audio"}
    offset_frames : int
        The cohort region ends this many frames before each word's offset (10 = 100 ms).
    band_shift : float
        Training augmentation (not in Brodbeck et al.): in the streams :meth:`draw` makes, each
        token's frames are shifted along the band axis by a random amount drawn uniformly from
        ``[-band_shift, band_shift]`` bands (linear interpolation, edge bands repeated), a
        vocal-tract-length-like change of the talker.  0 (default): none.  Evaluation streams
        (:func:`make_eval_streams`) are never shifted.
    """

    def __init__(self, bank: TokenBank, index, target_index, *, p_silence: float = 0.5,
                 silence: tuple[float, float] = (0.2, 0.5), silence_step: float = 0.01, talker_every: int = 2,
                 splice: str = "features", offset_frames: int = 10, band_shift: float = 0.0):
        self.bank = bank
        self.index = np.asarray(index, dtype=np.int64)
        if not self.index.size:
            raise ValueError("the stream sampler has no tokens to draw from (empty split?)")
        self.target_index = dict(target_index)
        missing = sorted({str(w) for w in bank.word[self.index] if w not in self.target_index})
        if missing:
            raise KeyError(f"{len(missing)} word(s) of the streams have no target: {missing[:10]}")
        self.p_silence, self.silence, self.silence_step = float(p_silence), tuple(silence), float(silence_step)
        self.talker_every = int(talker_every)
        self.splice = check_option(splice, SPLICE_MODES, "splice")
        self.offset_frames = int(offset_frames)
        if not np.isfinite(band_shift) or band_shift < 0:
            raise ValueError(f"band_shift must be a finite number of bands >= 0, got {band_shift!r}")
        self.band_shift = float(band_shift)
        talkers = bank.talker[self.index]
        self.talkers = sorted(set(talkers.tolist()))
        self.pools = {t: self.index[talkers == t] for t in self.talkers}

    # ------------------------------------------------------------------------------------
    def _sequence(self, rng, n_frames: int, p_silence: float | None = None):
        """Token and gap sequence covering ``n_frames`` frames: list of (bank index, gap frames)."""
        p = self.p_silence if p_silence is None else p_silence
        ev = stream_events(self.talkers, {t: len(v) for t, v in self.pools.items()}, rng, p_silence=p,
                           silence=self.silence, silence_step=self.silence_step, talker_every=self.talker_every)
        fr = self.bank.frame_rate
        seq, total = [], 0
        while total < n_frames:
            talker, i = next(ev)
            tok = int(self.pools[talker][i])
            gap_s, _ = next(ev)
            gap = int(round(gap_s * fr))
            seq.append((tok, gap))
            total += int(self.bank.n_frames[tok]) + gap
        return seq

    def render(self, seq, n_frames: int | None = None, row: int = 0, shifts=None):
        """Features, word index, region and token table of one row from a token/gap sequence.

        ``shifts`` (one per token of ``seq``, in bands) shifts each token's frames along the band
        axis (:func:`shift_bands`); None: unshifted.
        """
        bank = self.bank
        total = int(sum(int(bank.n_frames[t]) + g for t, g in seq))
        n = total if n_frames is None else int(n_frames)
        word = np.full(n, NO_WORD, np.int64)
        region = np.zeros(n, bool)
        rows, pos, prev_gap = [], 0, None
        if self.splice == "features":
            x = np.repeat(bank.silence_frame[None], max(n, total), axis=0)
        else:
            hop = bank.sfreq / bank.frame_rate
            audio = np.zeros(int(round(max(n, total) * hop)) + 1, np.float64)
        spans = []
        for tok, gap in seq:
            if pos >= n:
                break
            nf = int(bank.n_frames[tok])
            s, e = pos, pos + nf
            spans.append((s, e))
            tgt = self.target_index[bank.word[tok]]
            word[s:min(e, n)] = tgt
            region[s:max(s, min(e - self.offset_frames, n))] = True
            if self.splice == "features":
                x[s:e] = bank.features[tok]
            else:
                a0 = int(round(s * hop))
                seg = bank.audio[tok]
                audio[a0:a0 + seg.size] = seg
            rows.append({"row": row, "start": s, "end": e, "token": tok, "stimulus": bank.stimulus[tok],
                         "word": bank.word[tok], "talker": bank.talker[tok], "split": bank.split[tok],
                         "target": tgt, "after_silence": bool(prev_gap is None or prev_gap > 0)})
            prev_gap = gap
            pos = e + gap
        if self.splice == "audio":
            x = _fit_frames(bank.kernel(audio[: int(round(n * hop))], bank.sfreq), n)
        if shifts is not None:
            for (s, e), d in zip(spans, shifts):
                if d:
                    x[s:min(e, n)] = shift_bands(x[s:min(e, n)], float(d))
        return np.ascontiguousarray(x[:n], dtype=np.float32), word, region, pd.DataFrame(rows)

    def draw(self, n_rows: int, n_frames: int, seed) -> StreamBatch:
        """``n_rows`` independent streams of ``n_frames`` frames; row ``r`` is seeded by ``(*seed, r)``."""
        check_positive(n_rows, "n_rows", integer=True)
        check_positive(n_frames, "n_frames", integer=True)
        seed = list(np.atleast_1d(seed).astype(np.int64))
        xs, ws, rs, tabs = [], [], [], []
        for r in range(n_rows):
            rng = np.random.default_rng([*seed, r])
            seq = self._sequence(rng, n_frames)
            shifts = None
            if self.band_shift > 0:  # own generator: the streams themselves stay those of band_shift=0
                shifts = np.random.default_rng([*seed, r, 1]).uniform(-self.band_shift, self.band_shift, len(seq))
            x, w, reg, tab = self.render(seq, n_frames, row=r, shifts=shifts)
            xs.append(x)
            ws.append(w)
            rs.append(reg)
            tabs.append(tab)
        return StreamBatch(np.stack(xs), np.stack(ws), np.stack(rs), np.full(n_rows, n_frames, np.int64),
                           pd.concat(tabs, ignore_index=True))


def make_eval_streams(sampler: StreamSampler, index, *, n_rows: int = 4, p_silence: float = 0.0,
                      repeats: int = 1, random_state=0) -> StreamBatch:
    """A fixed test set: every token of ``index`` ``repeats`` times, in random order, in streams.

    Tokens are shuffled and dealt to ``n_rows`` rows (fewer if there are fewer tokens); within a
    row they follow each other with a silence after each with probability ``p_silence`` (0:
    Brodbeck et al.'s ``NoSil`` test stream, words back to back).

    Returns
    -------
    StreamBatch
        Rows zero-padded to the longest (``lengths`` gives each row's frames).
    """
    index = np.asarray(index, dtype=np.int64)
    if not index.size:
        raise ValueError("no tokens for the evaluation streams")
    check_positive(repeats, "repeats", integer=True)
    rng = np.random.default_rng(random_state)
    order = np.concatenate([rng.permutation(index) for _ in range(int(repeats))])
    n_rows = max(1, min(int(n_rows), order.size))
    fr = sampler.bank.frame_rate
    steps = np.arange(round(sampler.silence[0] / sampler.silence_step),
                      round(sampler.silence[1] / sampler.silence_step) + 1) * sampler.silence_step
    rendered = []
    for r in range(n_rows):
        toks = order[r::n_rows]
        seq = []
        for k, t in enumerate(toks):
            gap = 0
            if k < len(toks) - 1 and rng.random() < p_silence:
                gap = int(round(float(steps[int(rng.integers(len(steps)))]) * fr))
            seq.append((int(t), gap))
        rendered.append(sampler.render(seq, row=r))
    lengths = np.array([x.shape[0] for x, *_ in rendered], np.int64)
    n = int(lengths.max())
    nf = sampler.bank.n_features
    feats = np.zeros((n_rows, n, nf), np.float32)
    words = np.full((n_rows, n), NO_WORD, np.int64)
    region = np.zeros((n_rows, n), bool)
    for r, (x, w, reg, _) in enumerate(rendered):
        feats[r, : len(x)], words[r, : len(w)], region[r, : len(reg)] = x, w, reg
    tokens = pd.concat([t for *_, t in rendered], ignore_index=True)
    logger.debug("evaluation streams: %d tokens in %d rows of up to %d frames", len(tokens), n_rows, n)
    return StreamBatch(feats, words, region, lengths, tokens)
