"""Speech synthesis with sample-exact phone and word intervals (espeak-ng, phoneme events).

:func:`synthesize` turns a word (looked up in a :class:`~neurorrn.speech.lexicon.Lexicon` or in
CMUdict) or an ARPAbet phone sequence into audio plus a phone tier and a word tier.

How the intervals are made:

1. The pronunciation is *forced*: the ARPAbet phones are written as espeak-ng phoneme mnemonics
   (``[[k|'a|t]]``, see :func:`~neurorrn.speech.phonology.arpabet_to_espeak`), so espeak's own
   letter-to-sound rules never change the phones.  The phonemes espeak actually emits are mapped
   back to ARPAbet and compared with the request; any difference is kept in
   :attr:`Synthesis.match` / :attr:`Synthesis.espeak_phones` (it happens when espeak applies an
   allophonic rule, e.g. unstressed final ``I`` -> ``i``).  With ``force=False`` the word's
   spelling is read by espeak instead, and the emitted phones are the labels.
2. Each phoneme event's ``sample`` (at 22050 Hz) is the phone's onset; a phone ends where the next
   starts and the last ends at the final-pause event.  Stops are timed at their release burst, so
   a stop's closure belongs to the preceding phone (espeak's convention).
3. espeak-ng sometimes emits a phone with no duration (a word-final ``r`` coloured into the
   vowel: ``car`` gives ``A:`` then ``r`` at the final-pause sample).  Such zero-length phones share
   the preceding phone's interval in equal parts; r-coloured diphthongs that stand for two ARPAbet
   phones (``A@`` = AA R) are split the same way.  These split boundaries are estimates.
4. The final pause, whose length varies from run to run, is cut to ``final_pause`` seconds after
   the last phone ends (zero-padded if shorter), which makes the audio deterministic.
5. Audio is resampled from 22050 Hz to ``sfreq`` with :func:`scipy.signal.resample_poly`; times are
   kept in seconds, so they stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import gcd
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.signal import resample_poly

from ..utils._check import check_positive
from ._espeak import get_engine
from .lexicon import Lexicon, WordNotFoundError, cmudict_pronunciations
from .phonology import (
    ESPEAK_PAUSES,
    ESPEAK_TO_ARPABET,
    arpabet_to_espeak,
    check_arpabet,
    strip_stress,
)
from ._worker import isolation_supported, run_requests
from .talkers import Talker, get_talker

INTERVAL_COLUMNS = ("tier", "label", "start", "end")


@dataclass
class Synthesis:
    """The result of :func:`synthesize`.

    Attributes
    ----------
    audio : ndarray of float32, shape (n_samples,)
        Waveform in [-1, 1].
    sfreq : int
        Sampling rate (Hz).
    intervals : DataFrame
        Columns ``tier`` (``'phone'`` or ``'word'``), ``label`` (ARPAbet without stress, or the
        word), ``start``, ``end`` (seconds from the first sample).  Phones tile the word.
    word, talker : str
    phones : tuple of str
        The requested ARPAbet phones.
    espeak_phones : tuple of str
        The phonemes espeak-ng emitted (stress marks stripped).
    match : bool
        Whether the emitted phonemes map back to exactly ``phones``.
    """

    audio: np.ndarray
    sfreq: int
    intervals: pd.DataFrame
    word: str
    talker: str
    phones: tuple
    espeak_phones: tuple
    match: bool
    info: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.audio.size / self.sfreq

    def tier(self, name: str) -> pd.DataFrame:
        return self.intervals[self.intervals["tier"] == name].reset_index(drop=True)


def _resolve(word_or_phones, lexicon: Lexicon | None):
    """(word label, ARPAbet phones, stress or None)."""
    if isinstance(word_or_phones, str):
        word = word_or_phones.strip().lower()
        if not word:
            raise ValueError("word must be a non-empty string")
        if lexicon is not None:
            phones = lexicon.phones(word)
            stress = lexicon.stress(word)
        else:
            prons = cmudict_pronunciations(word, stress=True)
            phones = check_arpabet(prons[0], f"cmudict pronunciation of {word!r}")
            stress = tuple(int(p[-1]) if p[-1].isdigit() else 0 for p in prons[0])
            return word, phones, stress
        if stress is None:  # e.g. EARSHOT lexicon: borrow CMUdict stress when the phones agree
            try:
                for p in cmudict_pronunciations(word, stress=True):
                    if tuple(check_arpabet(p)) == tuple(phones):
                        stress = tuple(int(x[-1]) if x[-1].isdigit() else 0 for x in p)
                        break
            except WordNotFoundError:
                pass
        return word, tuple(phones), stress
    phones = check_arpabet(list(word_or_phones), "phones")
    raw = [str(p).upper() for p in word_or_phones]
    stress = (tuple(int(p[-1]) if p[-1].isdigit() else 0 for p in raw)
              if any(p[-1].isdigit() for p in raw) else None)
    return "_".join(phones).lower(), phones, stress


def _events_to_phones(events, n_samples):
    """Split raw events into (phone events, end sample)."""
    ph, end = [], None
    for name, sample in events:
        base = strip_stress(name)
        if base in ESPEAK_PAUSES:
            if ph and end is None:
                end = sample
            continue
        if end is not None:  # phones after a pause: keep going (multi-word input)
            end = None
        ph.append((base, int(sample)))
    if end is None:
        end = n_samples
    return ph, int(end)


def _tile(labels_per_event, starts, end):
    """Intervals (label, start, end) in samples; zero-length and multi-phone events split."""
    groups = []  # each: [start, end, [labels]]
    bounds = list(starts) + [end]
    for i, labels in enumerate(labels_per_event):
        s, e = bounds[i], max(bounds[i + 1], bounds[i])
        if not labels:
            if groups:
                groups[-1][1] = e
            continue
        if groups and e <= s:
            groups[-1][2].extend(labels)
            groups[-1][1] = max(groups[-1][1], e)
        else:
            groups.append([s, e, list(labels)])
    out = []
    for s, e, labels in groups:
        edges = np.linspace(s, e, len(labels) + 1)
        out.extend((lab, float(edges[k]), float(edges[k + 1])) for k, lab in enumerate(labels))
    return out


def _align_labels(mapped, phones):
    """Per-event labels that spell exactly ``phones``, by a minimum-edit alignment.

    Substituted phones take the requested label; phones espeak inserted (e.g. the linking ``r``
    it adds after ER before a vowel) carry no label, so their time joins the preceding phone;
    requested phones espeak dropped share the preceding event's interval.
    """
    flat, owner = [], []
    for i, m in enumerate(mapped):
        for p in m:
            flat.append(p)
            owner.append(i)
    n, m_ = len(flat), len(phones)
    cost = np.zeros((n + 1, m_ + 1), int)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m_ + 1)
    for i in range(1, n + 1):
        for j in range(1, m_ + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + (flat[i - 1] != phones[j - 1]),
                             cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    labels = [[] for _ in mapped]
    i, j, ops = n, m_, []
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i, j] == cost[i - 1, j - 1] + (flat[i - 1] != phones[j - 1]):
            ops.append(("sub", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i, j] == cost[i - 1, j] + 1:
            ops.append(("ins", i - 1, None))
            i -= 1
        else:
            ops.append(("del", i - 1, j - 1))  # attach to the event of flat[i-1] (or the first)
            j -= 1
    for op, fi, pj in reversed(ops):
        if op == "sub":
            labels[owner[fi]].append(phones[pj])
        elif op == "del":
            labels[owner[max(fi, 0)] if owner else 0].append(phones[pj])
    return [tuple(lab) for lab in labels]


def synthesize(word_or_phones, talker="m1", *, lexicon: Lexicon | None = None, sfreq: int = 16000,
               final_pause: float = 0.05, force: bool = True, isolate: bool = True) -> Synthesis:
    """Synthesize one word with sample-exact phone and word intervals.

    Parameters
    ----------
    word_or_phones : str | sequence of str
        A word (pronounced as in ``lexicon``, else CMUdict's first pronunciation) or ARPAbet
        phones (stress digits optional).
    talker : str | Talker
        A name from :data:`~neurorrn.speech.talkers.TALKERS` or a :class:`Talker`.
    lexicon : Lexicon | None
        Lexicon giving the pronunciation (ARPAbet).
    sfreq : int
        Output sampling rate (Hz); espeak-ng runs at 22050 Hz.
    final_pause : float
        Silence kept after the last phone (s).
    force : bool
        Force the lexicon pronunciation via phoneme input (default) or let espeak read the word.
    isolate : bool
        Synthesize in a pristine forked child of a spawned espeak server (default), which
        makes the output byte-identical across calls (see :mod:`neurorrn.speech._worker`).
        ``False`` uses this process's engine directly: faster for one-off calls, but espeak's
        carried-over state makes samples (not phone onsets) depend on earlier calls.

    Returns
    -------
    Synthesis

    Raises
    ------
    ValueError
        Unknown talker (listing the registered ones) or invalid phones.
    WordNotFoundError
        A word missing from the lexicon / CMUdict.
    """
    tk: Talker = get_talker(talker)
    check_positive(sfreq, "sfreq", integer=True)
    check_positive(final_pause, "final_pause", strict=False)
    if lexicon is not None and lexicon.alphabet != "arpabet":
        raise ValueError(f"synthesis needs an ARPAbet lexicon; {lexicon!r} uses {lexicon.alphabet!r}")
    word, phones, stress = _resolve(word_or_phones, lexicon)
    if not force and not isinstance(word_or_phones, str):
        raise ValueError("force=False needs a word (spelling), not a phone sequence")
    req = _request(word, phones, stress, tk, force)
    if isolate and isolation_supported():
        raw = run_requests([req])[0]
    else:
        eng = get_engine()
        eng.seed(0)
        raw = eng.synth(req[0], req[1], rate=req[2], pitch=req[3], prange=req[4], volume=req[5],
                        phoneme_input=req[6])
    return _postprocess(raw, word, phones, tk, int(sfreq), float(final_pause), bool(force), req[0])


def _request(word, phones, stress, tk: Talker, force: bool) -> tuple:
    """The espeak-ng request ``(text, voice, rate, pitch, range, volume, phoneme_input)``."""
    text = "[[" + arpabet_to_espeak(phones, stress) + "]]" if force else word
    return (text, tk.voice, int(tk.rate), int(tk.pitch), int(tk.range), 100, bool(force))


def _postprocess(raw, word, phones, tk, sfreq, final_pause, force, text) -> Synthesis:
    """Events -> tiers, final-pause trim, resampling (see the module docstring)."""
    events, end = _events_to_phones(raw.phonemes, raw.audio.size)
    if not events:
        raise RuntimeError(f"espeak-ng emitted no phonemes for {word!r} (talker {tk.name!r}, text {text!r})")
    espeak_names = tuple(n for n, _ in events)
    mapped = []
    for n in espeak_names:
        val = ESPEAK_TO_ARPABET.get(n)
        mapped.append(tuple(val.split()) if val else (("?" + n,) if val is None else ()))
    flat = tuple(p for m in mapped for p in m)
    match = flat == tuple(phones)
    labels = mapped if (match or not force) else _align_labels(mapped, phones)
    tiles = _tile(labels, [s for _, s in events], end)
    n_keep = end + int(round(final_pause * raw.sfreq))
    audio = raw.audio[:n_keep].astype(np.float32) / 32768.0
    if audio.size < n_keep:
        audio = np.concatenate([audio, np.zeros(n_keep - audio.size, np.float32)])
    if sfreq != raw.sfreq:
        g = gcd(int(sfreq), raw.sfreq)
        audio = resample_poly(audio, sfreq // g, raw.sfreq // g).astype(np.float32)
        audio = audio[: int(round(n_keep * sfreq / raw.sfreq))]
    sr = float(raw.sfreq)
    rows = [("phone", lab, s / sr, e / sr) for lab, s, e in tiles]
    rows.insert(0, ("word", word, rows[0][2], rows[-1][3]))
    intervals = pd.DataFrame(rows, columns=list(INTERVAL_COLUMNS))
    return Synthesis(audio=audio, sfreq=int(sfreq), intervals=intervals, word=word, talker=tk.name,
                     phones=tuple(phones), espeak_phones=espeak_names, match=bool(match),
                     info={"espeak_text": text, "native_sfreq": raw.sfreq})


def synthesize_many(items: Sequence, lexicon: Lexicon | None = None, *, sfreq: int = 16000,
                    final_pause: float = 0.05, force: bool = True) -> list[Synthesis]:
    """:func:`synthesize` for ``(word_or_phones, talker)`` pairs, in one server round trip."""
    prepared = []
    for w, t in items:
        word, phones, stress = _resolve(w, lexicon)
        tk = get_talker(t)
        prepared.append((word, phones, tk, _request(word, phones, stress, tk, force)))
    if isolation_supported():
        raws = run_requests([p[3] for p in prepared])
    else:
        raws = []
        for *_, req in prepared:
            eng = get_engine()
            eng.seed(0)
            raws.append(eng.synth(req[0], req[1], rate=req[2], pitch=req[3], prange=req[4],
                                  volume=req[5], phoneme_input=req[6]))
    return [_postprocess(raw, word, phones, tk, int(sfreq), float(final_pause), force, req[0])
            for (word, phones, tk, req), raw in zip(prepared, raws)]
