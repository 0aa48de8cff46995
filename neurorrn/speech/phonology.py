"""Phone inventories and the tables between ARPAbet, IPA and espeak-ng phoneme mnemonics.

ARPAbet here is the 39-phone CMU set *without* stress digits (the EARSHOT convention).  The
espeak-ng tables cover the ``en-us`` phoneme set; names as emitted by espeak-ng 1.51 (``a``) and
1.52 (``'a``: stress marks ``'`` and ``,`` prefixed) are both handled by :func:`strip_stress`.
"""

from __future__ import annotations

import re

#: The 39 CMU/ARPAbet phones (no stress digits).
ARPABET = (
    "AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW",
    "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH",
    "T", "TH", "V", "W", "Y", "Z", "ZH",
)
VOWELS = frozenset(ARPABET[:15])
CONSONANTS = frozenset(ARPABET[15:])

#: ARPAbet -> IPA (broad transcription, General American).
ARPABET_TO_IPA = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "EH": "ɛ", "ER": "ɝ",
    "EY": "eɪ", "IH": "ɪ", "IY": "i", "OW": "oʊ", "OY": "ɔɪ", "UH": "ʊ", "UW": "u", "B": "b",
    "CH": "tʃ", "D": "d", "DH": "ð", "F": "f", "G": "g", "HH": "h", "JH": "dʒ", "K": "k", "L": "l",
    "M": "m", "N": "n", "NG": "ŋ", "P": "p", "R": "r", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ",
    "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}

#: ARPAbet -> espeak-ng en-us mnemonic used to *force* a pronunciation (``[[...]]`` input).
#: Unstressed AH is schwa ``@`` and unstressed ER is ``3``; see :func:`arpabet_to_espeak`.
ARPABET_TO_ESPEAK = {
    "AA": "A:", "AE": "a", "AH": "V", "AO": "O:", "AW": "aU", "AY": "aI", "EH": "E", "ER": "3:",
    "EY": "eI", "IH": "I", "IY": "i:", "OW": "oU", "OY": "OI", "UH": "U", "UW": "u:", "B": "b",
    "CH": "tS", "D": "d", "DH": "D", "F": "f", "G": "g", "HH": "h", "JH": "dZ", "K": "k", "L": "l",
    "M": "m", "N": "n", "NG": "N", "P": "p", "R": "r", "S": "s", "SH": "S", "T": "t", "TH": "T",
    "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "Z",
}

#: espeak-ng phoneme name (stress marks stripped) -> ARPAbet phones ('' = not a phone).
#: r-coloured diphthongs (``A@``, ``o@`` ...) span two ARPAbet phones under one onset.
ESPEAK_TO_ARPABET = {
    "p": "P", "b": "B", "t": "T", "t#": "T", "t2": "T", "d": "D", "d#": "D", "k": "K", "g": "G",
    "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH", "h": "HH",
    "tS": "CH", "dZ": "JH", "m": "M", "n": "N", "n-": "N", "N": "NG", "l": "L", "l/": "L",
    "r": "R", "r-": "R", "w": "W", "j": "Y", "i": "IY", "i:": "IY", "I": "IH", "I#": "IH",
    "I2": "IH", "e": "EH", "E": "EH", "a": "AE", "aa": "AE", "a#": "AH", "A:": "AA", "A": "AA",
    "0": "AA", "O:": "AO", "O": "AO", "O2": "AO", "V": "AH", "@": "AH", "@2": "AH", "@5": "AH",
    "@-": "AH", "3": "ER", "3:": "ER", "@L": "AH L", "u:": "UW", "u": "UW", "U": "UH",
    "eI": "EY", "aI": "AY", "aU": "AW", "oU": "OW", "OI": "OY", "A@": "AA R", "e@": "EH R",
    "i@": "IH R", "i@3": "IH R", "U@": "UH R", "o@": "AO R", "O@": "AO R", "aI@": "AY ER",
    "aI3": "AY ER", "aU@": "AW ER", ";": "", "?": "", "_": "", "_:": "", "_!": "", "_|": "",
}

#: espeak-ng names of pauses (utterance-final and inter-word).
ESPEAK_PAUSES = frozenset({"_", "_:", "_!", "_|", ""})

_STRESS_DIGIT = re.compile(r"[0-2]$")


def strip_stress(name: str) -> str:
    """Remove espeak stress marks (``'``, ``,``, ``%``, ``=``) from a phoneme name.

    espeak-ng 1.52 names stressed phonemes ``'a``; 1.51 names them ``a``.
    """
    return name.lstrip("',%=")


def strip_arpabet_stress(phone: str) -> str:
    """``'AH0' -> 'AH'``; also upper-cases."""
    return _STRESS_DIGIT.sub("", phone.strip().upper())


def espeak_to_arpabet(name: str) -> tuple[str, ...]:
    """ARPAbet phones for one espeak-ng phoneme name (with or without stress marks).

    Raises
    ------
    KeyError
        For a name outside the table (the message names it).
    """
    key = strip_stress(name)
    if key not in ESPEAK_TO_ARPABET:
        raise KeyError(f"espeak-ng phoneme {name!r} has no ARPAbet equivalent in ESPEAK_TO_ARPABET")
    val = ESPEAK_TO_ARPABET[key]
    return tuple(val.split()) if val else ()


def check_arpabet(phones, name: str = "phones") -> tuple[str, ...]:
    """Validate a sequence of ARPAbet phones (stress digits allowed and stripped)."""
    out = []
    for p in phones:
        q = strip_arpabet_stress(str(p))
        if q not in ARPABET_TO_IPA:
            raise ValueError(f"{name}: {p!r} is not an ARPAbet phone; expected one of {', '.join(ARPABET)}")
        out.append(q)
    if not out:
        raise ValueError(f"{name}: empty phone sequence")
    return tuple(out)


def arpabet_to_espeak(phones, stress=None) -> str:
    """espeak-ng phoneme-mnemonic string forcing an ARPAbet pronunciation.

    Parameters
    ----------
    phones : sequence of str
        ARPAbet phones; stress digits (CMUdict style ``AH0``) are used when ``stress`` is None.
    stress : sequence of int | None
        Per-phone stress (1 primary, 2 secondary, 0 none; ignored for consonants).  When neither
        digits nor ``stress`` are given, the first vowel gets primary stress (the usual English
        default for the short words of these lexicons).

    Returns
    -------
    str
        E.g. ``["K", "AE", "T"] -> "k|'a|t"``; to be wrapped as ``[[...]]``.  Phonemes are
        separated by ``|`` so that adjacent mnemonics are never read as one (``t`` + ``S`` is
        not ``tS``).
    """
    raw = [str(p).strip().upper() for p in phones]
    digits = [int(p[-1]) if p[-1:].isdigit() else None for p in raw]
    base = [strip_arpabet_stress(p) for p in raw]
    if stress is None:
        if any(d is not None for d in digits):
            stress = [d if d is not None else 0 for d in digits]
        else:
            stress = [0] * len(base)
            for i, p in enumerate(base):
                if p in VOWELS:
                    stress[i] = 1
                    break
    out = []
    for p, s in zip(base, stress):
        if p not in ARPABET_TO_ESPEAK:
            raise ValueError(f"{p!r} is not an ARPAbet phone")
        sym = ARPABET_TO_ESPEAK[p]
        if p in VOWELS:
            if s == 0:
                sym = {"AH": "@", "ER": "3", "IY": "i"}.get(p, sym)
            mark = {1: "'", 2: ","}.get(s, "")
            out.append(mark + sym)
        else:
            out.append(sym)
    return "|".join(out)
