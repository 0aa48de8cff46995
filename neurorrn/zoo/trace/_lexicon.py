"""TRACE lexicons and jTRACE's ``.jt`` lexicon format.

A ``.jt`` lexicon (jTRACE, Strauss, Harris & Magnuson 2007) is XML holding one
``<lexeme>`` per word with a ``<phonology>`` (TRACE phoneme string), an optional
``<frequency>`` and an optional ``<prime>``.  jTRACE's own files are not always well-formed
XML (attributes run together in ``biglex901.jt``), so the reader scans the ``<lexeme>``
elements with a tolerant pattern rather than an XML parser.  ``.jt`` simulation files that
embed a ``<lexicon>`` are read the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...utils._check import check_path
from ...utils._io import write_text_atomic
from ._phonemes import PHONEMES

_LEXEME = re.compile(r"<lexeme\b[^>]*>(.*?)</lexeme>", re.S)


def _tag(body: str, name: str) -> str | None:
    m = re.search(rf"<{name}\b[^>]*>(.*?)</{name}>", body, re.S)
    return None if m is None else m.group(1).strip()


def check_trace_string(s: str, name: str = "input", allow_empty: bool = False) -> str:
    """Check that ``s`` uses only TRACE phoneme symbols; return it stripped."""
    if not isinstance(s, str):
        raise TypeError(f"{name} must be a str of TRACE phonemes, got {type(s).__name__}")
    s = s.strip()
    if not s and not allow_empty:
        raise ValueError(f"{name} is empty; expected a string over the TRACE phonemes {''.join(PHONEMES)!r}")
    bad = sorted({c for c in s if c not in PHONEMES})
    if bad:
        raise ValueError(f"{name} {s!r} contains {bad}, which are not TRACE phonemes; "
                         f"allowed symbols are {''.join(PHONEMES)!r}")
    return s


@dataclass(frozen=True)
class Lexicon:
    """A TRACE lexicon: phoneme strings with frequencies and priming values.

    Attributes
    ----------
    words : tuple of str
        TRACE phoneme strings (alphabet ``p b t d k g s S r l a i u ^ -``), unique.
    frequency : array of shape (n_words,)
        Word frequencies (counts per million in slex); 0 when absent.
    prime : array of shape (n_words,)
        Priming values (jTRACE ``<prime>``); 0 when absent.
    """

    words: tuple
    frequency: np.ndarray = field(default=None)
    prime: np.ndarray = field(default=None)

    def __post_init__(self):
        words = tuple(self.words)
        if not words:
            raise ValueError("a Lexicon needs at least one word")
        for i, w in enumerate(words):
            check_trace_string(w, f"words[{i}]")
        dup = sorted({w for w in words if words.count(w) > 1})
        if dup:
            raise ValueError(f"duplicate words in lexicon: {dup[:10]}")
        n = len(words)
        freq = np.zeros(n) if self.frequency is None else np.asarray(self.frequency, dtype=np.float64)
        prime = np.zeros(n) if self.prime is None else np.asarray(self.prime, dtype=np.float64)
        for name, arr in (("frequency", freq), ("prime", prime)):
            if arr.shape != (n,):
                raise ValueError(f"Lexicon.{name} has shape {arr.shape}, expected ({n},) (one per word)")
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ValueError(f"Lexicon.{name} must be finite and >= 0")
        object.__setattr__(self, "words", words)
        object.__setattr__(self, "frequency", freq)
        object.__setattr__(self, "prime", prime)

    def __len__(self) -> int:
        return len(self.words)

    def index(self, word: str) -> int:
        """Position of ``word``; a KeyError lists a few close words when it is absent."""
        try:
            return self.words.index(word)
        except ValueError:
            import difflib

            close = difflib.get_close_matches(word, self.words, n=3)
            raise KeyError(f"word {word!r} is not in the lexicon ({len(self)} words)"
                           + (f"; close: {close}" if close else "")) from None

    def without(self, *words: str) -> "Lexicon":
        """A copy without the given words (e.g. the silence word ``'-'``)."""
        keep = [i for i, w in enumerate(self.words) if w not in words]
        return Lexicon(tuple(self.words[i] for i in keep), self.frequency[keep], self.prime[keep])


def read_jt_lexicon(path) -> Lexicon:
    """Read a jTRACE ``.jt`` lexicon (or the lexicon inside a ``.jt`` simulation file).

    Parameters
    ----------
    path : path-like
        File such as jTRACE's ``slex.jt`` (213 entries) or ``biglex901.jt``.

    Returns
    -------
    Lexicon
    """
    p = check_path(path, "lexicon path", must_exist=True, kind="file")
    text = p.read_text(encoding="utf-8", errors="replace")
    words, freqs, primes = [], [], []
    for k, m in enumerate(_LEXEME.finditer(text)):
        body = m.group(1)
        phon = _tag(body, "phonology")
        if not phon:
            raise ValueError(f"{p}: lexeme #{k} has no <phonology>")
        try:
            check_trace_string(phon, f"{p}: lexeme #{k} <phonology>")
        except ValueError as err:
            raise ValueError(str(err)) from None
        words.append(phon)
        for tag, out in (("frequency", freqs), ("prime", primes)):
            v = _tag(body, tag)
            try:
                out.append(float(v) if v else 0.0)
            except ValueError:
                raise ValueError(f"{p}: lexeme #{k} ({phon!r}) has a non-numeric <{tag}> {v!r}") from None
    if not words:
        raise ValueError(f"{p}: no <lexeme> elements found; is this a jTRACE .jt lexicon?")
    return Lexicon(tuple(words), np.asarray(freqs), np.asarray(primes))


def write_jt_lexicon(lexicon: Lexicon, path, overwrite: bool = False) -> Path:
    """Write ``lexicon`` in jTRACE's ``.jt`` lexicon format (readable by jTRACE)."""
    p = check_path(path, "path")
    if p.exists() and not overwrite:
        raise FileExistsError(f"{p} exists; pass overwrite=True to replace it")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             "<lexicon xmlns='http://xml.netbeans.org/examples/targetNS'>"]
    for w, f, pr in zip(lexicon.words, lexicon.frequency, lexicon.prime):
        extra = f"<prime>{pr:g}</prime>" if pr else ""
        lines.append(f"  <lexeme><phonology>{w}</phonology><frequency>{f:g}</frequency>{extra}</lexeme>")
    lines.append("</lexicon>\n")
    write_text_atomic(p, "\n".join(lines))
    return p
