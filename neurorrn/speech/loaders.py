"""Loaders for real and published corpora, each returning a :class:`~neurorrn.speech.Corpus`.

- **TIMIT** (LDC93S1): ``<root>/{TRAIN,TEST}/DR<n>/<SPK>/<UTT>.{WAV,PHN,WRD,TXT}``; ``.PHN`` and
  ``.WRD`` lines are ``start end label`` in **16 kHz sample indices**; ``.WAV`` files are NIST
  SPHERE.  Phones are mapped to ARPAbet (:data:`TIMIT_TO_ARPABET`): a stop closure is merged into
  its release (``tcl t`` -> one ``T`` from the closure start), pauses (``h# pau epi``) and the
  glottal stop ``q`` are left as gaps.
- **LibriSpeech + Montreal Forced Aligner**: ``<spk>/<chap>/<spk>-<chap>-<utt>.{flac,wav}`` with
  ``<spk>-<chap>.trans.txt``, and one Praat ``.TextGrid`` per utterance (tiers ``words`` and
  ``phones``, times in s; ``""``/``sil``/``sp``/``spn`` are silences, stress digits stripped).
- **EARSHOT** (Magnuson et al. 2020): ``<root>/<TALKER>/<WORD>_<TALKER>.wav`` plus
  ``Alignment_Data.txt`` (``WORD<TAB>TALKER<TAB>PHONE<TAB>start_s<TAB>end_s``); its phones are
  the 33 analysis phones only, so they need not tile the word.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from ..utils._check import check_path
from ._audio import read_audio
from .corpus import Corpus
from .lexicon import read_earshot_pronunciations
from .phonology import ARPABET_TO_IPA, strip_arpabet_stress

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
    items, al = [], []
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
                      "path": str(rel), "n_samples": audio.size, "sfreq": sfreq,
                      "split": "test" if sub == "test" else "train"})
        al += [(sid, "phone", r.label, r.start, r.end) for r in timit_phones_to_arpabet(phn).itertuples()]
        al += [(sid, "word", r.label, r.start, r.end) for r in wrd.itertuples()]
    return Corpus(root, pd.DataFrame(items), pd.DataFrame(al, columns=ALIGN_COLS), None, None,
                  {"name": "timit", "format": "timit"})


# ---------------------------------------------------------------- Praat TextGrid (MFA output)
_NUM = r"([-+0-9.eE]+)"


def read_textgrid(path) -> dict[str, pd.DataFrame]:
    """Read a Praat TextGrid (long or short text format): ``{tier name: DataFrame(label,
    start, end)}`` for interval tiers; ``xmax`` of the grid in ``.attrs['xmax']`` of each."""
    path = check_path(path, "TextGrid", must_exist=True, kind="file")
    raw = path.read_bytes()
    text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
    if "ooTextFile" not in text[:200]:
        raise ValueError(f"{path}: not a Praat TextGrid (no 'ooTextFile' header)")
    tiers: dict[str, pd.DataFrame] = {}
    if re.search(r"item\s*\[", text):  # long format
        m = re.search(r"xmax\s*=\s*" + _NUM, text)
        xmax = float(m.group(1)) if m else float("nan")
        for block in re.split(r"item\s*\[\d+\]\s*:", text)[1:]:
            cls = re.search(r'class\s*=\s*"([^"]*)"', block)
            name = re.search(r'name\s*=\s*"([^"]*)"', block)
            if not cls or not name or cls.group(1) != "IntervalTier":
                continue
            rows = []
            for iv in re.finditer(r"xmin\s*=\s*" + _NUM + r"\s*xmax\s*=\s*" + _NUM +
                                  r'\s*text\s*=\s*"((?:[^"]|"")*)"', block):
                rows.append((iv.group(3).replace('""', '"'), float(iv.group(1)), float(iv.group(2))))
            df = pd.DataFrame(rows, columns=["label", "start", "end"])
            df.attrs["xmax"] = xmax
            tiers[name.group(1)] = df
        return tiers
    # short format: a token stream of numbers and quoted strings
    toks = re.findall(r'"(?:[^"]|"")*"|<exists>|[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+]?\.\d+',
                      text.split("\n", 2)[-1])
    toks = [t[1:-1].replace('""', '"') if t.startswith('"') else t for t in toks]
    try:
        xmax = float(toks[1])
        n_tiers = int(toks[3]) if toks[2] == "<exists>" else int(toks[2])
        i = 4 if toks[2] == "<exists>" else 3
        for _ in range(n_tiers):
            cls, name, _a, _b, n = toks[i], toks[i + 1], toks[i + 2], toks[i + 3], int(toks[i + 4])
            i += 5
            rows = []
            for _ in range(n):
                if cls == "IntervalTier":
                    rows.append((toks[i + 2], float(toks[i]), float(toks[i + 1])))
                    i += 3
                else:
                    i += 2
            if cls == "IntervalTier":
                df = pd.DataFrame(rows, columns=["label", "start", "end"])
                df.attrs["xmax"] = xmax
                tiers[name] = df
    except (IndexError, ValueError) as err:
        raise ValueError(f"{path}: malformed short-format TextGrid ({err})") from None
    return tiers


MFA_SILENCES = frozenset({"", "sil", "sp", "spn", "<eps>"})


def load_librispeech_mfa(root, alignment_root=None, tolerance: float = 0.01) -> Corpus:
    """Load LibriSpeech utterances with MFA TextGrid alignments as a :class:`Corpus`.

    Parameters
    ----------
    root : path-like
        ``<spk>/<chap>/<spk>-<chap>-<utt>.flac`` (or ``.wav``) and ``<spk>-<chap>.trans.txt``.
    alignment_root : path-like | None
        Where the ``.TextGrid`` files are (mirroring ``root`` or flat); default ``root``.
    tolerance : float
        How far (s) a TextGrid may run past its audio before it is an error.

    Raises
    ------
    ValueError
        A TextGrid that runs past its audio, or one without ``words``/``phones`` tiers (naming
        the utterance).
    """
    root = check_path(root, "LibriSpeech root", must_exist=True, kind="dir")
    align_root = check_path(alignment_root or root, "alignment root", must_exist=True, kind="dir")
    audio_files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".flac", ".wav"))
    if not audio_files:
        raise FileNotFoundError(f"no .flac/.wav files under {root}")
    grids = {p.stem: p for p in align_root.rglob("*.TextGrid")}
    trans = {}
    for t in root.rglob("*.trans.txt"):
        for line in t.read_text(encoding="utf-8").splitlines():
            if line.strip():
                uid, _, txt = line.partition(" ")
                trans[uid] = txt.strip()
    items, al = [], []
    for f in audio_files:
        uid = f.stem
        if uid not in grids:
            raise FileNotFoundError(f"utterance {uid}: no TextGrid {uid}.TextGrid under {align_root}")
        audio, sfreq = read_audio(f, name=uid)
        dur = audio.size / sfreq
        tiers = read_textgrid(grids[uid])
        low = {k.lower(): v for k, v in tiers.items()}
        words = low.get("words")
        phones = low.get("phones")
        if words is None or phones is None:
            raise ValueError(f"utterance {uid}: TextGrid {grids[uid]} needs tiers 'words' and 'phones', "
                             f"has {sorted(tiers)}")
        end = max(words["end"].max(), phones["end"].max(), words.attrs.get("xmax", 0))
        if end > dur + tolerance:
            raise ValueError(f"utterance {uid}: TextGrid {grids[uid].name} runs to {end:.3f} s, past the "
                             f"end of its audio ({dur:.3f} s)")
        spk = uid.split("-")[0]
        items.append({"stimulus": uid, "word": trans.get(uid, " ".join(
            w for w in words["label"] if w.lower() not in MFA_SILENCES)), "talker": spk,
            "path": str(f.relative_to(root)), "n_samples": audio.size, "sfreq": sfreq})
        for r in words.itertuples():
            if r.label.strip().lower() not in MFA_SILENCES:
                al.append((uid, "word", r.label.strip().lower(), r.start, r.end))
        for r in phones.itertuples():
            lab = r.label.strip()
            if lab.lower() not in MFA_SILENCES:
                al.append((uid, "phone", strip_arpabet_stress(lab), r.start, r.end))
    return Corpus(root, pd.DataFrame(items), pd.DataFrame(al, columns=ALIGN_COLS), None, None,
                  {"name": "librispeech-mfa", "format": "librispeech+mfa"})


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
    items, al = [], []
    for sid, g in ali.groupby("stimulus", sort=False):
        word, talker = g["word"].iloc[0], g["talker"].iloc[0]
        cands = [root / talker.upper() / f"{word.upper()}_{talker.upper()}.wav",
                 root / talker / f"{word}_{talker}.wav"]
        wav = next((c for c in cands if c.is_file()), None)
        if wav is None:
            continue
        audio, sfreq = read_audio(wav, name=sid)
        dur = audio.size / sfreq
        if g["end"].max() > dur + tolerance:
            raise ValueError(f"EARSHOT token {sid}: alignment runs to {g['end'].max():.3f} s, past the "
                             f"end of its audio ({dur:.3f} s, {wav})")
        items.append({"stimulus": sid, "word": word, "talker": talker,
                      "path": str(wav.relative_to(root)), "n_samples": audio.size, "sfreq": sfreq})
        al.append((sid, "word", word, float(g["start"].min()), float(g["end"].max())))
        al += [(sid, "phone", r.label, r.start, r.end) for r in g.itertuples()]
    if not items:
        raise FileNotFoundError(f"no EARSHOT WAVs named <TALKER>/<WORD>_<TALKER>.wav under {root} "
                                f"match {alignment_path}")
    return Corpus(root, pd.DataFrame(items), pd.DataFrame(al, columns=ALIGN_COLS), lex, None,
                  {"name": "earshot", "format": "earshot"})
