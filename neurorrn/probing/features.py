"""The 33 analysis phones and their 14 binary articulatory features, written from phonology.

Mesgarani et al. (2014, *Science* 343:1006) and EARSHOT (Magnuson et al. 2020) analyse 33 American
English phones with 14 binary features.  This module does **not** copy EARSHOT's
``Phoneme_Feature.txt``: each phone is described by ordinary phonetic descriptors (manner, place,
voicing; vowel height, backness, diphthong) and the features are derived from those descriptors by
explicit rules.  Two conventions are offered:

``"earshot"`` (default)
    The rules that reproduce EARSHOT's table exactly (checked in a test against the published
    file):

    * *obstruent* is ``[+consonantal]``: plosives, fricatives, nasals and the liquids r, l
      (not the glides w, j).  Textbooks reserve *obstruent* for plosives and fricatives.
    * *sonorant*: nasals, liquids, glides and vowels; *voiced*: voiced consonants and every
      sonorant; *syllabic*: vowels.
    * consonant place: *labial* = bilabial + labiodental; *coronal* = alveolar; *dorsal* =
      velar + postalveolar (ʃ is coded dorsal).  The dentals θ, ð and the approximants (liquids
      r, l; glides w, j) carry no place feature.
    * vowels: *high* = close and near-close (i ɪ u ʊ); *low* = open-mid, near-open and open
      (ɛ ɔ æ a); *front*/*back* from backness, central ə neither.  Diphthongs (eɪ aɪ aʊ oʊ)
      are left without height or backness, because their quality moves.

``"textbook"``
    The same descriptors with the usual textbook rules: obstruent = plosive or fricative;
    coronal = dental, alveolar, postalveolar (l, r included); dorsal = velar (w is labial and
    dorsal, j dorsal); diphthongs take the height and backness of their first target.

Phones are ARPAbet symbols without stress.  The default order is the one of the Mesgarani RDMs
and of EARSHOT's ``RSA_Analysis.py`` (p t k f θ s ʃ b d g v ð z m n ŋ l r w u j i ɪ eɪ ə ʊ ɔ a
aɪ oʊ aʊ æ ɛ); the feature order is Mesgarani's FSI order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._dims import FEATURE, PHONE
from ..utils._check import check_option, check_path

#: The 33 analysis phones (ARPAbet), in the order of the Mesgarani RDMs.
ANALYSIS_PHONES = (
    "P", "T", "K", "F", "TH", "S", "SH", "B", "D", "G", "V", "DH", "Z", "M", "N", "NG", "L", "R",
    "W", "UW", "Y", "IY", "IH", "EY", "AH", "UH", "AO", "AA", "AY", "OW", "AW", "AE", "EH",
)

#: The 14 articulatory features, in Mesgarani's FSI order.
FEATURES = (
    "obstruent", "labial", "coronal", "dorsal", "plosive", "fricative", "nasal", "high", "front",
    "low", "back", "voiced", "syllabic", "sonorant",
)

#: ARPAbet -> IPA for the analysis phones (EARSHOT's IPA spellings: ``a`` for AA, ``ə`` for AH).
ARPABET_TO_IPA = {
    "P": "p", "T": "t", "K": "k", "F": "f", "TH": "θ", "S": "s", "SH": "ʃ", "B": "b", "D": "d",
    "G": "g", "V": "v", "DH": "ð", "Z": "z", "M": "m", "N": "n", "NG": "ŋ", "L": "l", "R": "r",
    "W": "w", "UW": "u", "Y": "j", "IY": "i", "IH": "ɪ", "EY": "eɪ", "AH": "ə", "UH": "ʊ",
    "AO": "ɔ", "AA": "a", "AY": "aɪ", "OW": "oʊ", "AW": "aʊ", "AE": "æ", "EH": "ɛ",
}
IPA_TO_ARPABET = {v: k for k, v in ARPABET_TO_IPA.items()}

CONVENTIONS = ("earshot", "textbook")

# consonants: manner, place, voiced
_CONSONANTS = {
    "P": ("plosive", "bilabial", False), "B": ("plosive", "bilabial", True),
    "T": ("plosive", "alveolar", False), "D": ("plosive", "alveolar", True),
    "K": ("plosive", "velar", False), "G": ("plosive", "velar", True),
    "F": ("fricative", "labiodental", False), "V": ("fricative", "labiodental", True),
    "TH": ("fricative", "dental", False), "DH": ("fricative", "dental", True),
    "S": ("fricative", "alveolar", False), "Z": ("fricative", "alveolar", True),
    "SH": ("fricative", "postalveolar", False),
    "M": ("nasal", "bilabial", True), "N": ("nasal", "alveolar", True), "NG": ("nasal", "velar", True),
    "L": ("liquid", "alveolar", True), "R": ("liquid", "alveolar", True),
    "W": ("glide", "labiovelar", True), "Y": ("glide", "palatal", True),
}
# vowels: height, backness, diphthong (for diphthongs: first target)
_VOWELS = {
    "IY": ("close", "front", False), "IH": ("near-close", "front", False),
    "EH": ("open-mid", "front", False), "AE": ("near-open", "front", False),
    "AH": ("mid", "central", False), "UW": ("close", "back", False),
    "UH": ("near-close", "back", False), "AO": ("open-mid", "back", False),
    "AA": ("open", "back", False), "EY": ("close-mid", "front", True),
    "AY": ("open", "central", True), "AW": ("open", "central", True),
    "OW": ("close-mid", "back", True),
}
_HIGH = ("close", "near-close")
_LOW = ("open-mid", "near-open", "open")


def _consonant_features(phone: str, convention: str) -> set[str]:
    manner, place, voiced = _CONSONANTS[phone]
    feats = set()
    if manner in ("plosive", "fricative", "nasal"):
        feats.add(manner)
    if manner in ("nasal", "liquid", "glide"):
        feats.add("sonorant")
    if voiced:
        feats.add("voiced")
    if convention == "earshot":
        if manner != "glide":  # [+consonantal]
            feats.add("obstruent")
        places = {"bilabial": "labial", "labiodental": "labial", "alveolar": "coronal",
                  "velar": "dorsal", "postalveolar": "dorsal"}
        if place in places and manner not in ("liquid", "glide"):
            feats.add(places[place])
    else:
        if manner in ("plosive", "fricative"):
            feats.add("obstruent")
        places = {"bilabial": ("labial",), "labiodental": ("labial",), "dental": ("coronal",),
                  "alveolar": ("coronal",), "postalveolar": ("coronal",), "velar": ("dorsal",),
                  "palatal": ("dorsal",), "labiovelar": ("labial", "dorsal")}
        feats.update(places[place])
    return feats


def _vowel_features(phone: str, convention: str) -> set[str]:
    height, backness, diphthong = _VOWELS[phone]
    feats = {"sonorant", "voiced", "syllabic"}
    if diphthong and convention == "earshot":
        return feats
    if height in _HIGH:
        feats.add("high")
    elif height in _LOW:
        feats.add("low")
    if backness in ("front", "back"):
        feats.add(backness)
    return feats


def is_consonant(phone: str) -> bool:
    """Whether an analysis phone (ARPAbet) is a consonant (glides and liquids included)."""
    if phone not in ARPABET_TO_IPA:
        raise KeyError(f"{phone!r} is not one of the 33 analysis phones {list(ANALYSIS_PHONES)}")
    return phone in _CONSONANTS


def phone_feature_table(phones=None, features=None, convention: str = "earshot") -> xr.DataArray:
    """The binary phone x feature table.

    Parameters
    ----------
    phones : sequence of str, optional
        ARPAbet analysis phones (default :data:`ANALYSIS_PHONES`, in that order).
    features : sequence of str, optional
        Feature names (default :data:`FEATURES`).
    convention : {"earshot", "textbook"}
        Which rules turn the phonetic descriptors into features (see the module docstring).

    Returns
    -------
    table : DataArray of int8, dims ("phone", "feature")
        1 where the phone has the feature; coords ``phone`` (ARPAbet), ``ipa`` (per phone),
        ``consonant`` (per phone, bool).
    """
    check_option(convention, CONVENTIONS, "convention")
    phones = list(ANALYSIS_PHONES if phones is None else phones)
    features = list(FEATURES if features is None else features)
    unknown = [p for p in phones if p not in ARPABET_TO_IPA]
    if unknown:
        raise KeyError(f"phones {unknown} are not analysis phones; allowed: {list(ANALYSIS_PHONES)}")
    bad = [f for f in features if f not in FEATURES]
    if bad:
        raise KeyError(f"features {bad} are unknown; allowed: {list(FEATURES)}")
    data = np.zeros((len(phones), len(features)), dtype=np.int8)
    for i, p in enumerate(phones):
        feats = _consonant_features(p, convention) if p in _CONSONANTS else _vowel_features(p, convention)
        for j, f in enumerate(features):
            data[i, j] = f in feats
    return xr.DataArray(
        data, dims=(PHONE, FEATURE),
        coords={PHONE: phones, FEATURE: features,
                "ipa": (PHONE, [ARPABET_TO_IPA[p] for p in phones]),
                "consonant": (PHONE, [p in _CONSONANTS for p in phones])},
        name="phone_features", attrs={"convention": convention},
    )


def read_earshot_feature_file(path) -> xr.DataArray:
    """Read an EARSHOT ``Phoneme_Feature.txt`` (``CMU, IPA, cosonant, <14 features>``, tab-separated).

    Returns
    -------
    table : DataArray of int8, dims ("phone", "feature")
        Rows in the file's order, coords as :func:`phone_feature_table`.  The file's
        ``cosonant`` column becomes the ``consonant`` coord, not a feature (as in EARSHOT's
        ``RSA_Analysis.py``, which reads the columns after the third).
    """
    path = check_path(path, "feature file", must_exist=True, kind="file")
    df = pd.read_csv(path, sep="\t", encoding="utf-8-sig", dtype=str)
    df.columns = [c.strip() for c in df.columns]
    if list(df.columns[:2]) != ["CMU", "IPA"] or df.shape[1] < 4:
        raise ValueError(f"{path}: expected columns 'CMU', 'IPA', a consonant flag, then features; "
                         f"got {list(df.columns)}")
    feats = list(df.columns[3:])
    values = df[feats].astype(int).to_numpy()
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f"{path}: feature values must be 0 or 1")
    phones = [s.strip() for s in df["CMU"]]
    return xr.DataArray(
        values.astype(np.int8), dims=(PHONE, FEATURE),
        coords={PHONE: phones, FEATURE: feats, "ipa": (PHONE, [s.strip() for s in df["IPA"]]),
                "consonant": (PHONE, df.iloc[:, 2].astype(int).to_numpy().astype(bool))},
        name="phone_features", attrs={"source": str(Path(path))},
    )


def to_arpabet(labels) -> list[str]:
    """Map labels (ARPAbet, possibly with stress digits, or IPA) to ARPAbet analysis phones.

    Unknown labels are returned upper-cased with stress digits stripped (so ``"ER1"`` -> ``"ER"``).
    """
    out = []
    for lab in labels:
        s = str(lab).strip()
        if s in IPA_TO_ARPABET:
            out.append(IPA_TO_ARPABET[s])
        else:
            out.append(s.upper().rstrip("012"))
    return out


__all__ = [
    "ANALYSIS_PHONES", "ARPABET_TO_IPA", "CONVENTIONS", "FEATURES", "IPA_TO_ARPABET", "is_consonant",
    "phone_feature_table", "read_earshot_feature_file", "to_arpabet",
]
