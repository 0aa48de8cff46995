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


# ------------------------------------------------------------------ labels of aligned corpora
# One table maps the phone labels of forced aligners and hand-made TextGrids to the 39 ARPAbet
# phones above.  Three notations are read:
#
# * ARPAbet, any case, stress digits allowed (``AH0``, ``ae1``), plus TIMIT's extended symbols
#   folded as in :data:`neurorrn.speech.loaders.TIMIT_TO_ARPABET` (``AX`` -> AH, ``DX`` -> T ...);
# * IPA (:data:`IPA_TO_ARPABET`), any case (``Æ`` is ``æ``), after removing stress marks
#   (``ˈ ˌ '``), length marks (``ː ˑ :``), tie bars and every diacritic (combining marks and
#   modifier letters such as ``ʰ ʷ ʲ ̩ ̃``): ``tʰ`` is T, ``ɫ̩`` is L, ``ɝː`` is ER.  It covers
#   the Montreal Forced Aligner's English IPA set (``english_mfa``: ``aj aw ej ow ɔj``,
#   ``c ɟ`` for fronted K G, ``ɾ`` flap, ``ʔ``, ``ɫ``, ``ɚ``, ``ɐ`` ...);
# * X-SAMPA (:data:`XSAMPA_TO_IPA`), case-sensitive, converted to IPA first.
#
# Departures that lose information (documented, one phone per label, never split): syllabic
# consonants become the bare consonant (ARPAbet writes ``AH L``); the flap ``ɾ`` is T (as
# TIMIT's ``dx``); the glottal stop ``ʔ`` is T (MFA uses it for glottalised /t/; TIMIT's ``q`` is
# left out instead); fronted ``c ɟ`` are K G; ``ɲ`` is N; ``ʎ``, ``ɫ`` are L; ``ɒ``, ``a`` are
# AA; ``ɐ``, ``ə`` are AH; ``ɜ``, ``ɚ``, ``ɝ`` are ER; ``e``, ``o`` (monophthongs) are EY, OW.

#: IPA (lower case, without stress, length or diacritics) -> ARPAbet.
IPA_TO_ARPABET = {
    # vowels and diphthongs
    "i": "IY", "ɪ": "IH", "ɨ": "IH", "e": "EY", "ɛ": "EH", "æ": "AE", "a": "AA", "ɑ": "AA",
    "ɒ": "AA", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "ɔ": "AO",
    "o": "OW", "ʊ": "UH", "u": "UW", "ʉ": "UW", "ɵ": "OW",
    "eɪ": "EY", "ej": "EY", "aɪ": "AY", "aj": "AY", "ɑɪ": "AY", "aʊ": "AW", "aw": "AW",
    "ɑʊ": "AW", "oʊ": "OW", "ow": "OW", "əʊ": "OW", "əw": "OW", "ɔɪ": "OY", "ɔj": "OY",
    "oɪ": "OY",
    # consonants
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "c": "K", "g": "G", "ɡ": "G", "ɟ": "G",
    "ʔ": "T", "ɾ": "T", "f": "F", "v": "V", "θ": "TH", "ð": "DH", "s": "S", "z": "Z",
    "ʃ": "SH", "ʒ": "ZH", "h": "HH", "ɦ": "HH", "ç": "HH", "tʃ": "CH", "ʧ": "CH", "dʒ": "JH", "ʤ": "JH",
    "m": "M", "ɱ": "M", "n": "N", "ɲ": "N", "ŋ": "NG", "l": "L", "ɫ": "L", "ʎ": "L", "ɹ": "R",
    "r": "R", "ɻ": "R", "w": "W", "ʍ": "W", "j": "Y",
}

#: X-SAMPA symbol -> IPA (the symbols of English; diacritics ``_h _w _j = ~`` are removed).
XSAMPA_TO_IPA = {
    "i": "i", "I": "ɪ", "1": "ɨ", "e": "e", "E": "ɛ", "{": "æ", "a": "a", "A": "ɑ", "Q": "ɒ",
    "V": "ʌ", "@": "ə", "6": "ɐ", "3": "ɜ", "@`": "ɚ", "3`": "ɝ", "O": "ɔ", "o": "o", "U": "ʊ",
    "u": "u", "}": "ʉ", "eI": "eɪ", "aI": "aɪ", "aU": "aʊ", "oU": "oʊ", "@U": "əʊ", "OI": "ɔɪ",
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "c": "c", "g": "ɡ", "J\\": "ɟ", "?": "ʔ",
    "4": "ɾ", "f": "f", "v": "v", "T": "θ", "D": "ð", "s": "s", "z": "z", "S": "ʃ", "Z": "ʒ",
    "h": "h", "h\\": "ɦ", "C": "ç", "tS": "tʃ", "dZ": "dʒ", "m": "m", "F": "ɱ", "n": "n", "J": "ɲ",
    "N": "ŋ", "l": "l", "5": "ɫ", "L": "ʎ", "r\\": "ɹ", "r": "r", "r\\`": "ɻ", "w": "w",
    "W": "ʍ", "j": "j",
}

#: ARPAbet symbols outside the 39 (TIMIT's and Buckeye's) -> one of the 39.
ARPABET_EXTRA = {
    "AX": "AH", "AXH": "AH", "AX-H": "AH", "AXR": "ER", "IX": "IH", "UX": "UW", "EL": "L",
    "EM": "M", "EN": "N", "ENG": "NG", "NX": "N", "HV": "HH", "DX": "T",
}

#: Labels of silence, pauses and noise in aligners' output (compared in lower case).  They are
#: not phones: loaders leave them out of the phone tier and count them by name.
SILENCE_LABELS = frozenset({"", "sil", "sp", "spn", "<eps>", "<sil>", "<unk>", "#", "h#", "pau",
                            "epi", "noise", "<noise>", "laugh", "{sl}", "{lg}", "{ns}", "_"})

PHONE_SETS = ("arpabet", "ipa", "xsampa")

_IPA_STRIP = {"ˈ", "ˌ", "'", ",", "ː", "ˑ", ":", ".", "‿"}


def _ipa_core(label: str) -> str:
    """Lower case, no stress/length marks, no diacritics (combining marks, modifier letters)."""
    import unicodedata

    s = unicodedata.normalize("NFD", label.strip().lower())
    out = []
    for ch in s:
        if ch in _IPA_STRIP:
            continue
        cat = unicodedata.category(ch)
        if cat == "Mn" or (cat == "Lm" and ch not in ("ʔ",)):
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _ipa_lookup(label: str) -> str | None:
    import unicodedata

    # letters that decompose into a base and a combining mark (ç) are looked up whole first
    whole = "".join(ch for ch in unicodedata.normalize("NFC", label.strip().lower()) if ch not in _IPA_STRIP)
    if whole in IPA_TO_ARPABET:
        return IPA_TO_ARPABET[whole]
    return IPA_TO_ARPABET.get(_ipa_core(label))


def _xsampa_to_ipa(label: str) -> str | None:
    s = label.strip().lstrip('"%').replace(":", "").replace("=", "").replace("~", "")
    s = re.sub(r"_[a-zA-Z0-9]+$", "", s)  # one trailing diacritic (_h, _w, _j, _0 ...)
    s = re.sub(r"_[a-zA-Z0-9]+$", "", s)
    return XSAMPA_TO_IPA.get(s)


def phone_to_arpabet(label: str, phone_set: str) -> str | None:
    """The ARPAbet phone (stress-free) of one aligner label, or None when the table lacks it.

    Parameters
    ----------
    label : str
        A phone label (not a silence: see :data:`SILENCE_LABELS`).
    phone_set : {'arpabet', 'ipa', 'xsampa'}
        The notation (see the table notes above :data:`IPA_TO_ARPABET`).
    """
    if phone_set == "arpabet":
        a = strip_arpabet_stress(label)
        if a in ARPABET_TO_IPA:
            return a
        return ARPABET_EXTRA.get(a)
    if phone_set == "ipa":
        return _ipa_lookup(label)
    if phone_set == "xsampa":
        ipa = _xsampa_to_ipa(label)
        return None if ipa is None else _ipa_lookup(ipa)
    raise ValueError(f"phone_set must be one of {PHONE_SETS}, got {phone_set!r}")


def detect_phone_set(labels) -> str:
    """Guess the notation of a corpus's phone labels (silences excluded).

    ``'arpabet'`` when every label is an ARPAbet phone (any case, stress digits allowed);
    ``'ipa'`` when any label has a character outside ASCII.  Otherwise the labels are ambiguous
    (X-SAMPA and ASCII-only IPA look alike), and the error asks for ``phone_set``.
    """
    labs = {str(x).strip() for x in labels} - {""}
    labs = {x for x in labs if x.lower() not in SILENCE_LABELS}
    if not labs:
        raise ValueError("no phone labels to detect the phone set from")
    if all(phone_to_arpabet(x, "arpabet") is not None for x in labs):
        return "arpabet"
    if any(not x.isascii() for x in labs):
        return "ipa"
    sample = sorted(labs)[:12]
    raise ValueError(f"cannot tell the phone set of labels {sample}: they are not all ARPAbet and "
                     f"have no IPA characters; pass phone_set='xsampa' (or 'ipa', 'arpabet')")
