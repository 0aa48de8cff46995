"""Stimuli for the simulator: audio plus a word/phone alignment table, from any source.

A :class:`Stimulus` is ``(id, audio, sfreq, alignments)`` where ``alignments`` has the store's
columns ``tier ('word'|'phone'), label, start, end`` (s from the audio's start).  The simulator
accepts any list of them; three makers are provided:

* :func:`synthetic_stimuli` - "speech" made of noise bursts and harmonic vowels with planted word
  and phone intervals (ARPAbet), needing nothing but numpy;
* :func:`stimuli_from_files` - ``<id>.wav`` files plus ``alignments.tsv``;
* :func:`stimuli_from_speech` - :mod:`neurorrn.speech` synthesis (espeak-ng) when available.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io.wavfile
import scipy.signal

from ..utils._check import check_path, check_random_state

#: A small lexicon for synthetic sentences: word -> ARPAbet phones.
SYNTH_LEXICON = {
    "the": "DH AH", "cat": "K AE T", "sat": "S AE T", "on": "AA N", "mat": "M AE T", "dog": "D AO G",
    "ran": "R AE N", "to": "T UW", "big": "B IH G", "red": "R EH D", "ball": "B AO L", "sun": "S AH N",
    "is": "IH Z", "hot": "HH AA T", "fish": "F IH SH", "swim": "S W IH M", "bird": "B ER D",
    "sings": "S IH NG Z", "tree": "T R IY", "green": "G R IY N",
}
VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


@dataclass
class Stimulus:
    """One sound with its alignment (times in s from the sound's start)."""

    id: str
    audio: np.ndarray
    sfreq: float
    alignments: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["tier", "label", "start", "end"]))

    def __post_init__(self):
        self.audio = np.asarray(self.audio, dtype=np.float64).ravel()
        if self.audio.size == 0:
            raise ValueError(f"stimulus {self.id!r}: empty audio")
        if not np.all(np.isfinite(self.audio)):
            raise ValueError(f"stimulus {self.id!r}: audio has NaN or inf")
        al = self.alignments
        missing = [c for c in ("tier", "label", "start", "end") if c not in al.columns]
        if missing:
            raise ValueError(f"stimulus {self.id!r}: alignments lack column(s) {missing}")
        bad = al[(al["start"] < 0) | (al["end"] > self.duration + 1e-6) | (al["end"] < al["start"])]
        if len(bad):
            r = bad.iloc[0]
            raise ValueError(f"stimulus {self.id!r}: interval {r['tier']} {r['label']!r} [{r['start']:.3f}, "
                             f"{r['end']:.3f}] s lies outside the audio (0 to {self.duration:.3f} s)")

    @property
    def duration(self) -> float:
        return self.audio.size / float(self.sfreq)


def _phone_sound(ph: str, n: int, sfreq: float, rng) -> np.ndarray:
    t = np.arange(n) / sfreq
    seed = sum(map(ord, ph))
    if ph in VOWELS:
        f0 = 120.0
        f1, f2 = 300 + (seed * 37) % 500, 900 + (seed * 91) % 1400
        x = np.zeros(n)
        for k in range(1, int(4000 / f0)):
            fk = k * f0
            amp = np.exp(-0.5 * ((fk - f1) / 120) ** 2) + 0.6 * np.exp(-0.5 * ((fk - f2) / 200) ** 2) + 0.02
            x += amp * np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi))
    else:
        centre = 500 + (seed * 53) % 5000
        sos = scipy.signal.butter(2, [max(100, centre * 0.7), min(sfreq / 2 - 100, centre * 1.3)],
                                  btype="band", fs=sfreq, output="sos")
        x = scipy.signal.sosfilt(sos, rng.standard_normal(n)) * 3.0
    ramp = min(n // 2, int(0.005 * sfreq))
    env = np.ones(n)
    if ramp:
        env[:ramp] = np.linspace(0, 1, ramp)
        env[-ramp:] = np.linspace(1, 0, ramp)
    x = x * env
    return x / (np.max(np.abs(x)) + 1e-12) * (0.5 if ph in VOWELS else 0.3)


def synthetic_stimuli(n_stimuli: int = 6, words_per_stimulus: int = 8, sfreq: float = 16000.0,
                      story: str = "sim", random_state=None) -> list[Stimulus]:
    """Noise-burst "sentences" with known word and phone intervals.

    Vowels are harmonic complexes (F0 120 Hz) with two formant peaks, consonants band-passed noise
    bursts; vowels last 90-150 ms, consonants 50-90 ms, words are separated by 60-200 ms of
    silence.  Ids are ``<story>_<i>`` (the MEG-MASC ``<story>_<sound_id>`` pattern).
    """
    rng = check_random_state(random_state)
    words = list(SYNTH_LEXICON)
    out = []
    for i in range(n_stimuli):
        pieces, rows, t = [np.zeros(int(0.1 * sfreq))], [], 0.1
        for _ in range(words_per_stimulus):
            w = words[int(rng.integers(len(words)))]
            w_start = t
            for ph in SYNTH_LEXICON[w].split():
                d = rng.uniform(0.09, 0.15) if ph in VOWELS else rng.uniform(0.05, 0.09)
                n = int(round(d * sfreq))
                pieces.append(_phone_sound(ph, n, sfreq, rng))
                rows.append({"tier": "phone", "label": ph, "start": t, "end": t + n / sfreq})
                t += n / sfreq
            rows.append({"tier": "word", "label": w, "start": w_start, "end": t})
            gap = int(round(rng.uniform(0.06, 0.2) * sfreq))
            pieces.append(np.zeros(gap))
            t += gap / sfreq
        audio = np.concatenate(pieces) + 1e-4 * rng.standard_normal(sum(map(len, pieces)))
        al = pd.DataFrame(rows).sort_values("start", kind="stable").reset_index(drop=True)
        out.append(Stimulus(f"{story}_{i}", audio, sfreq, al))
    return out


def read_wav(path) -> tuple[np.ndarray, float]:
    """A wav file as float64 in [-1, 1] (first channel) and its rate."""
    sf, x = scipy.io.wavfile.read(check_path(path, "wav file", must_exist=True, kind="file"))
    x = np.asarray(x)
    if x.ndim > 1:
        x = x[:, 0]
    if x.dtype.kind == "i":
        x = x / float(np.iinfo(x.dtype).max)
    elif x.dtype.kind == "u":
        x = (x.astype(float) - 128) / 128.0
    return x.astype(np.float64), float(sf)


def write_wav(path, audio: np.ndarray, sfreq: float) -> Path:
    """Write 16-bit PCM (peak-normalised only when it would clip)."""
    x = np.asarray(audio, dtype=np.float64)
    peak = np.max(np.abs(x)) if x.size else 0.0
    if peak > 1:
        x = x / peak
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.wavfile.write(path, int(round(sfreq)), np.round(x * 32767).astype(np.int16))
    return path


def stimuli_from_files(path) -> list[Stimulus]:
    """``<path>/<id>.wav`` for each stimulus id of ``<path>/alignments.tsv``."""
    root = check_path(path, "stimuli folder", must_exist=True, kind="dir")
    table = check_path(root / "alignments.tsv", "alignment table", must_exist=True, kind="file")
    al = pd.read_csv(table, sep="\t")
    missing = [c for c in ("stimulus", "tier", "label", "start", "end") if c not in al.columns]
    if missing:
        raise ValueError(f"{table}: missing column(s) {missing}")
    out = []
    for sid, g in al.groupby("stimulus", sort=False):
        audio, sf = read_wav(root / f"{sid}.wav")
        out.append(Stimulus(str(sid), audio, sf, g.drop(columns="stimulus").reset_index(drop=True)))
    return out


def stimuli_from_speech(n_stimuli: int, words_per_stimulus: int, random_state=None, talker: str = "m1",
                        gap: tuple[float, float] = (0.06, 0.2), **kwargs) -> list[Stimulus]:
    """Speech synthesised by :mod:`neurorrn.speech` (espeak-ng) with sample-exact alignments.

    Uses :func:`neurorrn.speech.make_stream` when that module provides it; otherwise each stimulus
    is ``words_per_stimulus`` words of :data:`SYNTH_LEXICON` synthesised one by one with
    :func:`neurorrn.speech.synthesis.synthesize_many` and joined with ``gap`` seconds of silence.
    Raises ``ImportError`` when :mod:`neurorrn.speech` is absent.
    """
    try:
        from .. import speech
    except ImportError as err:
        raise ImportError(f"stimuli.source='speech' needs neurorrn.speech ({err}); use 'synthetic' or 'files'") from None
    rng = check_random_state(random_state)
    out = []
    if hasattr(speech, "make_stream"):
        for i in range(n_stimuli):
            res = speech.make_stream(n_words=words_per_stimulus, random_state=int(rng.integers(2**31)), **kwargs)
            audio, sf, al = _unpack_stream(res)
            al = al[al["tier"].isin(["word", "phone"])][["tier", "label", "start", "end"]].reset_index(drop=True)
            out.append(Stimulus(f"speech_{i}", audio, sf, al))
        return out
    from ..speech.synthesis import synthesize_many

    words = list(SYNTH_LEXICON)
    for i in range(n_stimuli):
        chosen = [words[int(rng.integers(len(words)))] for _ in range(words_per_stimulus)]
        syn = synthesize_many([(w, talker) for w in chosen])
        sf = float(syn[0].sfreq)
        pieces, rows, t = [], [], 0.1
        pieces.append(np.zeros(int(round(0.1 * sf))))
        for s in syn:
            iv = s.intervals
            rows += [{"tier": r.tier, "label": r.label, "start": t + r.start, "end": t + r.end}
                     for r in iv.itertuples(index=False)]
            pieces.append(np.asarray(s.audio, dtype=float))
            g = np.zeros(int(round(rng.uniform(*gap) * sf)))
            pieces.append(g)
            t += (len(s.audio) + len(g)) / sf
        al = pd.DataFrame(rows).sort_values("start", kind="stable").reset_index(drop=True)
        out.append(Stimulus(f"speech_{i}", np.concatenate(pieces), sf, al))
    return out


def _unpack_stream(res):
    if isinstance(res, tuple):
        audio, sf, al = res[0], res[1], res[2]
    else:
        audio, sf, al = res.audio, res.sfreq, res.alignments
    return np.asarray(audio), float(sf), pd.DataFrame(al)
