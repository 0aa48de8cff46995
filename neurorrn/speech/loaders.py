"""Loaders for real and published corpora, each returning a :class:`~neurorrn.speech.Corpus`.

- **TIMIT** (LDC93S1): ``<root>/{TRAIN,TEST}/DR<n>/<SPK>/<UTT>.{WAV,PHN,WRD,TXT}``; ``.PHN`` and
  ``.WRD`` lines are ``start end label`` in **16 kHz sample indices**; ``.WAV`` files are NIST
  SPHERE.  Phones are mapped to ARPAbet (:data:`TIMIT_TO_ARPABET`): a stop closure is merged into
  its release (``tcl t`` -> one ``T`` from the closure start), pauses (``h# pau epi``) and the
  glottal stop ``q`` are left as gaps.
- **LibriSpeech + Montreal Forced Aligner**: ``<spk>/<chap>/<spk>-<chap>-<utt>.{flac,wav}`` with
  ``<spk>-<chap>.trans.txt``, and one Praat ``.TextGrid`` per utterance (tiers ``words`` and
  ``phones``, times in s; ``""``/``sil``/``sp``/``spn`` are silences; ARPAbet or MFA's IPA
  labels).  A thin layer over :func:`~neurorrn.speech.textgrid.load_textgrid_corpus`.
- **Any folder of audio + TextGrids**: :func:`~neurorrn.speech.textgrid.load_textgrid_corpus`.

All loaders build their corpus with :func:`~neurorrn.speech.textgrid.corpus_from_tiers`: one
phone table, silences counted, unknown labels reported by name.
- **EARSHOT** (Magnuson et al. 2020): ``<root>/<TALKER>/<WORD>_<TALKER>.wav`` plus
  ``Alignment_Data.txt`` (``WORD<TAB>TALKER<TAB>PHONE<TAB>start_s<TAB>end_s``); its phones are
  the 33 analysis phones only, so they need not tile the word.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..utils._check import check_path
from ._audio import read_audio
from .corpus import Corpus
from .lexicon import read_earshot_pronunciations
from .phonology import ARPABET_TO_IPA, strip_arpabet_stress
from .textgrid import corpus_from_tiers, find_tier, load_textgrid_corpus, read_textgrid  # noqa: F401

ALIGN_COLS = ["stimulus", "tier", "label", "start", "end"]

#: TIMIT phone -> ARPAbet ('' = a pause or closure, handled separately).
TIMIT_TO_ARPABET = {
    **{p.lower(): p for p in ARPABET_TO_IPA},
    "ax": "AH", "ax-h": "AH", "axr": "ER", "ix": "IH", "ux": "UW", "el": "L", "em": "M",
    "en": "N", "eng": "NG", "nx": "N", "hv": "HH", "dx": "T",
    "bcl": "", "dcl": "", "gcl": "", "pcl": "", "tcl": "", "kcl": "", "h#": "", "pau": "",
    "epi": "", "q": "",
}
_CLOSURE = {"bcl": "b", "dcl": "d", "gcl": "g", "pcl": "p", "tcl": "t", "kcl": "k"}
TIMIT_SFREQ = 16000


def read_timit_labels(path, sfreq: int = TIMIT_SFREQ) -> pd.DataFrame:
    """Read a TIMIT ``.PHN`` / ``.WRD`` file: columns ``label, start, end`` (s).

    Raises
    ------
    ValueError
        Naming the file and line of a malformed row or an interval that ends before it starts.
    """
    path = check_path(path, "TIMIT label file", must_exist=True, kind="file")
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise ValueError(f"{path}:{i}: expected 'start end label' in samples, got {line!r}")
        a, b = int(parts[0]), int(parts[1])
        if b < a:
            raise ValueError(f"{path}:{i}: interval ends ({b}) before it starts ({a})")
        rows.append((parts[2], a / sfreq, b / sfreq))
    return pd.DataFrame(rows, columns=["label", "start", "end"])


def timit_phones_to_arpabet(phn: pd.DataFrame) -> pd.DataFrame:
    """Fold TIMIT phones to ARPAbet: closures merged into their release, pauses dropped."""
    out = []
    pending = None  # closure start waiting for its release
    for r in phn.itertuples():
        lab = r.label.lower()
        if lab not in TIMIT_TO_ARPABET:
            raise ValueError(f"unknown TIMIT phone {r.label!r} (at {r.start:.3f} s)")
        if lab in _CLOSURE:
            pending = (lab, r.start)
            continue
        arpa = TIMIT_TO_ARPABET[lab]
        start = r.start
        if pending is not None:
            if _CLOSURE[pending[0]] == lab:
                start = pending[1]
            elif arpa == "" or lab in ("jh", "ch"):  # closure before an affricate, or unreleased
                start = pending[1] if lab in ("jh", "ch") else start
            pending = None
        if arpa:
            out.append((arpa, start, r.end))
    return pd.DataFrame(out, columns=["label", "start", "end"])


def load_timit(root, subset=None) -> Corpus:
    """Load TIMIT (or a copy in its layout) as a :class:`Corpus`.

    ``items``: ``stimulus`` (``"<subset>-dr<n>-<spk>-<utt>"``, lower case), ``word`` (the
    utterance's text), ``talker`` (``"dr<n>-<spk>"``), ``sex``, ``path``, ``n_samples``,
    ``sfreq``, ``split`` (``train``/``test``).

    Raises
    ------
    FileNotFoundError
        No ``.WAV`` files, or a missing ``.PHN``/``.WRD`` next to one (naming it).
    ValueError
        An interval past the end of its audio (naming the item).
    """
    root = check_path(root, "TIMIT root", must_exist=True, kind="dir")
    wavs = sorted(p for p in root.rglob("*") if p.suffix.upper() == ".WAV")
    if subset is not None:
        wavs = [p for p in wavs if p.relative_to(root).parts[0].lower() == subset.lower()]
    if not wavs:
        raise FileNotFoundError(f"no TIMIT .WAV files under {root}")
    items = []
    for wav in wavs:
        rel = wav.relative_to(root)
        parts = [p.lower() for p in rel.parts]
        if len(parts) < 4:
            raise ValueError(f"{wav}: expected <SUBSET>/DR<n>/<SPEAKER>/<UTT>.WAV")
        sub, dr, spk, utt = parts[-4], parts[-3], parts[-2], Path(parts[-1]).stem
        sid = f"{sub}-{dr}-{spk}-{utt}"
        audio, sfreq = read_audio(wav, name=sid)
        dur = audio.size / sfreq

        def sib(ext):
            for cand in (wav.with_suffix(ext.upper()), wav.with_suffix(ext.lower())):
                if cand.is_file():
                    return cand
            raise FileNotFoundError(f"TIMIT item {sid}: missing {wav.with_suffix(ext.upper())}")

        phn = read_timit_labels(sib(".PHN"), sfreq)
        wrd = read_timit_labels(sib(".WRD"), sfreq)
        for name, df in (("PHN", phn), ("WRD", wrd)):
            if len(df) and df["end"].max() > dur + 1e-6:
                raise ValueError(f"TIMIT item {sid}: .{name} runs to {df['end'].max():.4f} s, past the "
                                 f"end of its audio ({dur:.4f} s)")
        txt = ""
        try:
            t = sib(".TXT").read_text(encoding="utf-8", errors="replace").split(maxsplit=2)
            txt = t[2].strip() if len(t) == 3 else ""
        except FileNotFoundError:
            txt = " ".join(wrd["label"])
        items.append({"stimulus": sid, "word": txt, "talker": f"{dr}-{spk}", "sex": spk[:1],
                      "path": rel.as_posix(), "split": "test" if sub == "test" else "train",
                      "phones": timit_phones_to_arpabet(phn), "words": wrd, "source": str(wav)})
    return corpus_from_tiers(root, items, phone_set="arpabet", strict=True, tolerance=1e-6,
                             manifest={"name": "timit", "format": "timit"}, kind="TIMIT item")


# ---------------------------------------------------------------- LibriSpeech + MFA
MFA_SILENCES = frozenset({"", "sil", "sp", "spn", "<eps>"})


def load_librispeech_mfa(root, alignment_root=None, tolerance: float = 0.01, *, phone_set: str = "auto",
                         strict: bool = False) -> Corpus:
    """Load LibriSpeech utterances with MFA TextGrid alignments as a :class:`Corpus`.

    A thin layer over :func:`~neurorrn.speech.textgrid.load_textgrid_corpus`: the talker is the
    speaker number that starts each utterance id, the item's ``word`` is its line of
    ``<spk>-<chap>.trans.txt`` (else its aligned words).

    Parameters
    ----------
    root : path-like
        ``<spk>/<chap>/<spk>-<chap>-<utt>.flac`` (or ``.wav``) and ``<spk>-<chap>.trans.txt``.
    alignment_root : path-like | None
        Where the ``.TextGrid`` files are (mirroring ``root`` or flat); default ``root``.
    tolerance : float
        How far (s) a TextGrid may run past its audio before it is an error.
    phone_set, strict
        See :func:`~neurorrn.speech.textgrid.load_textgrid_corpus` (MFA's ``english_us_arpa``
        and ``english_mfa`` IPA models are both read with ``'auto'``).

    Raises
    ------
    ValueError
        A TextGrid that runs past its audio, or one without word/phone tiers (naming the
        utterance's file).
    """
    root = check_path(root, "LibriSpeech root", must_exist=True, kind="dir")
    c = load_textgrid_corpus(root, alignment_root, phone_set=phone_set, talker=r"(?:^|/)(?P<talker>\d+)-\d+-\d+\.",
                             strict=strict, tolerance=tolerance, name="librispeech-mfa")
    trans = {}
    for t in root.rglob("*.trans.txt"):
        for line in t.read_text(encoding="utf-8").splitlines():
            if line.strip():
                uid, _, txt = line.partition(" ")
                trans[uid] = txt.strip()
    items = c.items.copy()
    items["word"] = [trans.get(s, w) for s, w in zip(items["stimulus"], items["word"])]
    return Corpus(c.root, items, c.alignments, c.lexicon, None,
                  {**c.manifest, "name": "librispeech-mfa", "format": "librispeech+mfa"})


# ---------------------------------------------------------------- EARSHOT
def read_earshot_alignment(path) -> pd.DataFrame:
    """Parse EARSHOT's ``Alignment_Data.txt``: columns ``word`` (lower case), ``talker``,
    ``label`` (ARPAbet), ``start``, ``end`` (s), ``stimulus`` (``"<word>__<talker>"``, lower case).

    Raises
    ------
    ValueError
        Naming the file and line of a malformed row.
    """
    path = check_path(path, "EARSHOT alignment file", must_exist=True, kind="file")
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 5:
            raise ValueError(f"{path}:{i}: expected 5 tab-separated fields "
                             f"(WORD TALKER PHONE start end), got {len(parts)}: {line!r}")
        try:
            a, b = float(parts[3]), float(parts[4])
        except ValueError:
            raise ValueError(f"{path}:{i}: start/end are not numbers: {line!r}") from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ValueError(f"{path}:{i}: start/end must be finite numbers: {line!r}")
        if b < a:
            raise ValueError(f"{path}:{i}: interval ends before it starts: {line!r}")
        for what, name in (("word", parts[0]), ("talker", parts[1])):
            # these become file names (<TALKER>/<WORD>_<TALKER>.wav) and stimulus ids: plain names only
            if not name.strip() or any(c in name for c in "/\\\0") or name.strip() in (".", ".."):
                raise ValueError(f"{path}:{i}: {what} {name!r} must be a plain name (no '/', '\\' or '..')")
        rows.append((parts[0].lower(), parts[1].lower(), strip_arpabet_stress(parts[2]), a, b))
    df = pd.DataFrame(rows, columns=["word", "talker", "label", "start", "end"])
    df["stimulus"] = df["word"] + "__" + df["talker"]
    return df


def load_earshot_corpus(root, alignment_path, pronunciation_path=None, tolerance: float = 0.01) -> Corpus:
    """Load an EARSHOT-layout corpus (``<root>/<TALKER>/<WORD>_<TALKER>.wav``).

    Only tokens whose WAV exists are loaded.  The word tier spans each token's first to last
    aligned phone.

    Raises
    ------
    ValueError
        An alignment past the end of its audio (naming the token).
    """
    root = check_path(root, "EARSHOT root", must_exist=True, kind="dir")
    ali = read_earshot_alignment(alignment_path)
    lex = read_earshot_pronunciations(pronunciation_path) if pronunciation_path else None
    items = []
    for sid, g in ali.groupby("stimulus", sort=False):
        word, talker = g["word"].iloc[0], g["talker"].iloc[0]
        cands = [root / talker.upper() / f"{word.upper()}_{talker.upper()}.wav",
                 root / talker / f"{word}_{talker}.wav"]
        wav = next((c for c in cands if c.is_file()), None)
        if wav is None:
            continue
        words = pd.DataFrame([(word, float(g["start"].min()), float(g["end"].max()))],
                             columns=["label", "start", "end"])
        items.append({"stimulus": sid, "word": word, "talker": talker, "path": wav.relative_to(root).as_posix(),
                      "phones": g[["label", "start", "end"]], "words": words, "source": str(wav)})
    if not items:
        raise FileNotFoundError(f"no EARSHOT WAVs named <TALKER>/<WORD>_<TALKER>.wav under {root} "
                                f"match {alignment_path}")
    return corpus_from_tiers(root, items, phone_set="arpabet", strict=True, tolerance=tolerance,
                             lexicon=lex, manifest={"name": "earshot", "format": "earshot"},
                             kind="EARSHOT token")
