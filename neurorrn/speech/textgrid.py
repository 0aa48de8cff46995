"""Your own corpus: audio files with Praat TextGrids (hand-made or Montreal Forced Aligner output).

:func:`read_textgrid` reads a TextGrid with the ``praatio`` library (long and short text formats,
UTF-8 or UTF-16) and checks what Praat itself guarantees: every interval has finite times, ends
after it starts, and a tier holds as many intervals as it declares (a truncated file is an
error, never a shorter tier).  Errors name the file and the tier.

:func:`load_textgrid_corpus` turns a folder of audio + TextGrids into a
:class:`~neurorrn.speech.Corpus`: phone labels in ARPAbet, IPA or X-SAMPA are mapped to the 39
ARPAbet phones through one table (:func:`neurorrn.speech.phonology.phone_to_arpabet`); silences
are left out and counted; a label the table lacks is counted and reported by name (a
:class:`~neurorrn.utils._logging.NeurorrnWarning`, or an error with ``strict=True``), never
dropped silently.  The counts are in ``corpus.manifest["phone_report"]``.

:func:`corpus_from_tiers` is the core that the format-specific loaders (TIMIT, LibriSpeech + MFA,
EARSHOT in :mod:`neurorrn.speech.loaders`) share.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..utils._check import check_option, check_path
from ..utils._logging import NeurorrnWarning, logger
from ._audio import read_audio
from .corpus import Corpus
from .lexicon import Lexicon
from .phonology import PHONE_SETS, SILENCE_LABELS, detect_phone_set, phone_to_arpabet

ALIGN_COLS = ["stimulus", "tier", "label", "start", "end"]
AUDIO_EXTENSIONS = (".wav", ".flac")
_NUM = r"([^\s\"]+)"


class TextGridError(ValueError):
    """A TextGrid that is malformed, truncated or has impossible intervals."""


# ------------------------------------------------------------------ reading one TextGrid
def _decode(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _check_long_format(text: str, path: Path) -> None:
    """Declared interval counts, finite times and ordered ends, tier by tier (long format).

    praatio reads what is there; a file cut short after a complete interval would otherwise
    load as a shorter tier, and a ``nan`` or reversed interval fails without naming its tier.
    """
    for block in re.split(r"\n\s*item\s*\[\d+\]\s*:", text)[1:]:
        name = re.search(r'name\s*=\s*"((?:[^"]|"")*)"', block)
        tier = name.group(1) if name else "?"
        cls = re.search(r'class\s*=\s*"([^"]*)"', block)
        if not cls or cls.group(1) != "IntervalTier":
            continue
        declared = re.search(r"intervals\s*:\s*size\s*=\s*(\S+)", block)
        ivs = re.findall(r"intervals\s*\[(\d+)\]\s*:\s*xmin\s*=\s*" + _NUM + r"\s*xmax\s*=\s*" + _NUM +
                         r'\s*text\s*=\s*"', block)
        if declared is None:
            raise TextGridError(f"{path}: tier {tier!r} has no 'intervals: size = N' line (truncated file?)")
        try:
            n_declared = int(declared.group(1))
        except ValueError:
            raise TextGridError(f"{path}: tier {tier!r} declares {declared.group(1)!r} intervals") from None
        for k, a, b in ivs:
            try:
                fa, fb = float(a), float(b)
            except ValueError:
                raise TextGridError(f"{path}: tier {tier!r} interval {k}: times {a!r}, {b!r} are not "
                                    f"numbers") from None
            if not (np.isfinite(fa) and np.isfinite(fb)):
                raise TextGridError(f"{path}: tier {tier!r} interval {k}: times must be finite, got "
                                    f"xmin={a}, xmax={b}")
            if fb < fa:
                raise TextGridError(f"{path}: tier {tier!r} interval {k} ends ({fb}) before it starts ({fa})")
        if len(ivs) != n_declared:
            raise TextGridError(f"{path}: tier {tier!r} declares {n_declared} intervals but {len(ivs)} "
                                f"are complete (truncated file?)")


def _check_short_format(text: str, path: Path) -> None:
    """The same checks for Praat's short text format (a stream of numbers and quoted strings)."""
    body = text.split("\n", 2)[-1] if text.count("\n") >= 2 else ""
    toks = re.findall(r'"(?:[^"]|"")*"|<exists>|[^\s"]+', body)
    toks = [("s", x[1:-1]) if x.startswith('"') else ("n", x) for x in toks if x != "<exists>"]

    def num(i, tier, what):
        if i >= len(toks):
            raise TextGridError(f"{path}: tier {tier!r}: the file ends inside {what} (truncated file?)")
        kind, val = toks[i]
        try:
            f = float(val)
        except ValueError:
            raise TextGridError(f"{path}: tier {tier!r}: {what} is {val!r}, not a number") from None
        if kind != "n" or not np.isfinite(f):
            raise TextGridError(f"{path}: tier {tier!r}: {what} must be a finite number, got {val!r}")
        return f

    if len(toks) < 3:
        raise TextGridError(f"{path}: truncated TextGrid header")
    i, n_tiers = 3, int(num(2, "?", "the number of tiers"))
    for _ in range(n_tiers):
        if i + 1 >= len(toks):
            raise TextGridError(f"{path}: the file ends before all {n_tiers} tiers (truncated file?)")
        cls, name = toks[i][1], toks[i + 1][1]
        n = int(num(i + 4, name, "the number of intervals"))
        i += 5
        width = 3 if cls == "IntervalTier" else 2
        for k in range(1, n + 1):
            if i + width > len(toks):
                raise TextGridError(f"{path}: tier {name!r} declares {n} intervals but {k - 1} are complete "
                                    f"(truncated file?)")
            a = num(i, name, f"interval {k}'s start")
            if width == 3:
                b = num(i + 1, name, f"interval {k}'s end")
                if b < a:
                    raise TextGridError(f"{path}: tier {name!r} interval {k} ends ({b}) before it starts ({a})")
            i += width


def read_textgrid(path, tiers: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Read the interval tiers of a Praat TextGrid (long or short text format).

    Parameters
    ----------
    path : path-like
    tiers : list of str | None
        Tier names to return (all interval tiers by default); an absent name is an error that
        lists the tiers present.

    Returns
    -------
    dict
        ``{tier name: DataFrame(label, start, end)}`` in file order, times in s, labels as
        written (stripped of surrounding white space); ``df.attrs["xmax"]`` is the grid's end.
        Point tiers are skipped.

    Raises
    ------
    TextGridError
        Not a TextGrid, a truncated file, a time that is not a finite number, an interval that
        ends before it starts; the message names the file and the tier.
    """
    from praatio import textgrid as _tg
    from praatio.utilities.errors import PraatioException

    path = check_path(path, "TextGrid", must_exist=True, kind="file")
    text = _decode(path)
    if "ooTextFile" not in text[:300] or "TextGrid" not in text[:300]:
        raise TextGridError(f"{path}: not a Praat TextGrid (no 'ooTextFile' / 'TextGrid' header)")
    if re.search(r"item\s*\[", text):
        _check_long_format(text, path)
    else:
        _check_short_format(text, path)
    try:
        grid = _tg.openTextgrid(str(path), includeEmptyIntervals=True, duplicateNamesMode="rename")
    except (PraatioException, ValueError, IndexError, TypeError) as err:
        raise TextGridError(f"{path}: malformed TextGrid ({type(err).__name__}: {err})") from None
    out: dict[str, pd.DataFrame] = {}
    for name in grid.tierNames:
        tier = grid.getTier(name)
        if type(tier).__name__ != "IntervalTier":
            continue
        rows = [(str(e.label).strip(), float(e.start), float(e.end)) for e in tier.entries]
        df = pd.DataFrame(rows, columns=["label", "start", "end"])
        times = df[["start", "end"]].to_numpy(float)
        if times.size and not np.isfinite(times).all():
            k = int(np.flatnonzero(~np.isfinite(times).all(1))[0]) + 1
            raise TextGridError(f"{path}: tier {name!r} interval {k}: times must be finite")
        bad = np.flatnonzero(df["end"].to_numpy() < df["start"].to_numpy())
        if bad.size:
            k = int(bad[0])
            raise TextGridError(f"{path}: tier {name!r} interval {k + 1} ends ({df['end'][k]}) before it "
                                f"starts ({df['start'][k]})")
        df.attrs["xmax"] = float(grid.maxTimestamp)
        out[name] = df
    if tiers is not None:
        missing = [t for t in tiers if t not in out]
        if missing:
            raise TextGridError(f"{path}: no interval tier(s) {missing}; it has {list(out)}")
        out = {t: out[t] for t in tiers}
    return out


def find_tier(tiers: Mapping[str, pd.DataFrame], kind: str, name: str | None, path) -> pd.DataFrame:
    """The ``kind`` ('word' or 'phone') tier: ``name`` if given, else ``words``/``word``/
    ``phones``/``phone`` in any case, or MFA's per-speaker ``"<speaker> - words"``."""
    if name is not None:
        if name not in tiers:
            raise TextGridError(f"{path}: no tier named {name!r}; tiers are {list(tiers)}")
        return tiers[name]
    want = {kind, kind + "s"}
    hits = [t for t in tiers if t.strip().lower() in want or t.strip().lower().split(" - ")[-1] in want]
    if len(hits) == 1:
        return tiers[hits[0]]
    if not hits:
        raise TextGridError(f"{path}: no {kind} tier (looked for {sorted(want)} in any case, or "
                            f"'<speaker> - {kind}s'); tiers are {list(tiers)}; pass {kind}_tier=")
    if all(" - " in h for h in hits):  # MFA multi-speaker grid: the speakers' tiers together
        return pd.concat([tiers[h] for h in hits]).sort_values("start", kind="stable").reset_index(drop=True)
    raise TextGridError(f"{path}: several {kind} tiers {hits}; pass {kind}_tier= to choose one")


# ------------------------------------------------------------------ the shared core
class PhoneReport:
    """Counts of what happened to the phone labels of a corpus (by label and by file)."""

    def __init__(self, phone_set: str):
        self.phone_set = phone_set
        self.mapped: Counter = Counter()
        self.silences: Counter = Counter()
        self.unknown: Counter = Counter()
        self.unknown_where: dict[str, str] = {}

    def as_dict(self) -> dict:
        return {"phone_set": self.phone_set, "n_phones": int(sum(self.mapped.values())),
                "n_unknown": int(sum(self.unknown.values())), "unknown": dict(self.unknown),
                "silences": dict(self.silences), "unknown_first_seen": dict(self.unknown_where)}

    def describe_unknown(self) -> str:
        parts = [f"{lab!r} x{n} (first in {self.unknown_where[lab]})" for lab, n in self.unknown.most_common()]
        return ", ".join(parts)


def _map_phones(df: pd.DataFrame, phone_set: str, report: PhoneReport, where: str,
                silences) -> list[tuple[str, float, float]]:
    out = []
    for lab, a, b in zip(df["label"], df["start"], df["end"]):
        raw = str(lab).strip()
        if raw.lower() in silences:
            report.silences[raw] += 1
            continue
        arpa = phone_to_arpabet(raw, phone_set)
        if arpa is None:
            report.unknown[raw] += 1
            report.unknown_where.setdefault(raw, where)
            continue
        report.mapped[arpa] += 1
        out.append((arpa, float(a), float(b)))
    return out


def corpus_from_tiers(root, records: Sequence[Mapping], *, phone_set: str = "auto", strict: bool = False,
                      tolerance: float = 0.01, silences=SILENCE_LABELS, lexicon: Lexicon | None = None,
                      manifest: Mapping | None = None, kind: str = "item") -> Corpus:
    """Build a :class:`Corpus` from per-item audio files and word/phone interval tables.

    Parameters
    ----------
    root : path-like
        Folder that the items' ``path`` are relative to.
    records : list of dict
        One per item: ``stimulus``, ``path`` (the audio, relative to ``root``), ``talker``,
        ``phones`` and ``words`` (DataFrames ``label, start, end`` in s, silences included or
        not), optional ``word`` (the item's text; default: its words joined), ``xmax`` (the end
        of the alignment file's time axis), ``source`` (the
        alignment file, for messages), ``what`` (how messages call it, default ``"alignment"``)
        and any other item columns.
    phone_set : {'auto', 'arpabet', 'ipa', 'xsampa'}
        Notation of the phone labels (``'auto'``: :func:`~neurorrn.speech.phonology.detect_phone_set`
        over all labels of the corpus).
    strict : bool
        Raise on a phone label the table lacks (default: leave it out, warn, count it).
    tolerance : float
        How far (s) alignments may run past the end of their audio.
    lexicon : Lexicon | None
        Default: the pronunciation aligned most often for each word (phones inside the word's
        interval).

    Raises
    ------
    ValueError
        Alignments past the end of the audio (naming the item and file); with ``strict=True``,
        unknown labels (named with counts and the first file).
    """
    root = Path(root)
    check_option(phone_set, ("auto", *PHONE_SETS), "phone_set")
    silences = frozenset(str(s).lower() for s in silences)
    if phone_set == "auto":
        labels = [lab for r in records for lab in r["phones"]["label"]]
        phone_set = detect_phone_set(labels)
        logger.info("phone labels read as %s", phone_set)
    report = PhoneReport(phone_set)
    items, al = [], []
    for rec in records:
        sid = str(rec["stimulus"])
        src = rec.get("source", rec["path"])
        audio, sfreq = read_audio(root / rec["path"], name=sid)
        dur = audio.size / sfreq
        phones = _map_phones(rec["phones"], phone_set, report, str(src), silences)
        words = [(str(w).strip().lower(), float(a), float(b))
                 for w, a, b in zip(rec["words"]["label"], rec["words"]["start"], rec["words"]["end"])
                 if str(w).strip().lower() not in silences]
        # silences count too: a grid longer than its audio belongs to another recording
        ends = [*rec["phones"]["end"], *rec["words"]["end"], rec.get("xmax", 0.0)]
        end = float(max(ends, default=0.0))
        if end > dur + tolerance:
            raise ValueError(f"{kind} {sid}: {rec.get('what', 'alignment')} runs to {end:.3f} s, past "
                             f"the end of its audio ({dur:.3f} s, {rec['path']})")
        extra = {k: v for k, v in rec.items() if k not in ("phones", "words", "source", "what", "xmax")}
        extra.setdefault("word", " ".join(w for w, _, _ in words))
        items.append({**extra, "stimulus": sid, "talker": str(rec["talker"]), "path": str(rec["path"]),
                      "n_samples": int(audio.size), "sfreq": int(sfreq)})
        al += [(sid, "phone", p, a, b) for p, a, b in phones]
        al += [(sid, "word", w, a, b) for w, a, b in words]
    if report.unknown:
        msg = (f"{sum(report.unknown.values())} phone label(s) are not in the {phone_set} table "
               f"(neurorrn.speech.phonology): {report.describe_unknown()}")
        if strict:
            raise ValueError(msg)
        warnings.warn(msg + "; they are left out of the phone tier (strict=True makes this an error)",
                      NeurorrnWarning, stacklevel=3)
    alignments = pd.DataFrame(al, columns=ALIGN_COLS)
    if lexicon is None:
        lexicon = lexicon_from_alignments(alignments)
    man = {**(manifest or {}), "phone_report": report.as_dict()}
    return Corpus(root, pd.DataFrame(items), alignments, lexicon, None, man)


def lexicon_from_alignments(alignments: pd.DataFrame) -> Lexicon | None:
    """Each word's most frequent aligned pronunciation (phones whose midpoint falls inside the
    word's interval); ties go to the pronunciation seen first.  None without words or phones."""
    prons: dict[str, Counter] = {}
    order: dict[tuple, int] = {}
    for sid, g in alignments.groupby("stimulus", sort=False):
        ph = g[g["tier"] == "phone"]
        mid = ((ph["start"] + ph["end"]) / 2).to_numpy()
        labs = ph["label"].to_numpy()
        for w in g[g["tier"] == "word"].itertuples():
            seq = tuple(labs[(mid >= w.start) & (mid < w.end)])
            if seq:
                prons.setdefault(w.label, Counter())[seq] += 1
                order.setdefault((w.label, seq), len(order))
    if not prons:
        return None
    best = {w: max(c, key=lambda s: (c[s], -order[(w, s)])) for w, c in prons.items()}
    return Lexicon(best, alphabet="arpabet", source="alignments")


# ------------------------------------------------------------------ folders of audio + TextGrids
def _talker_of(rel: Path, sid: str, talker) -> str:
    posix = rel.as_posix()
    if talker is None:
        m = re.search(r"(?:^|/|_)sub-([A-Za-z0-9]+)", posix)
        if m:
            return m.group(1)
        return rel.parts[0] if len(rel.parts) > 1 else "unknown"
    if isinstance(talker, str):
        m = re.search(talker, posix)
        if m is None:
            raise ValueError(f"talker pattern {talker!r} does not match the file {posix!r}")
        return m.group("talker") if "talker" in m.groupdict() else m.group(1 if m.groups() else 0)
    for key in (sid, posix, rel.stem, rel.name):
        if key in talker:
            return str(talker[key])
    raise KeyError(f"the talker table has no entry for {posix!r} (looked up {sid!r}, {posix!r}, "
                   f"{rel.stem!r}); it has {len(talker)} entries")


def _talker_table(talker):
    """A talker argument that is a table file or DataFrame -> {key: talker}."""
    if isinstance(talker, (str, Path)) and Path(talker).suffix.lower() in (".tsv", ".csv", ".txt"):
        p = check_path(talker, "talker table", must_exist=True, kind="file")
        talker = pd.read_csv(p, sep="\t" if p.suffix.lower() != ".csv" else ",", dtype=str)
    if isinstance(talker, pd.DataFrame):
        keys = [c for c in ("stimulus", "file", "path", "filename") if c in talker.columns]
        if "talker" not in talker.columns or not keys:
            raise ValueError(f"a talker table needs a 'talker' column and one of 'stimulus', 'file', "
                             f"'path', 'filename'; it has {list(talker.columns)}")
        return dict(zip(talker[keys[0]].astype(str), talker["talker"].astype(str)))
    return talker


def load_textgrid_corpus(root, textgrid_root=None, *, phone_set: str = "auto", word_tier: str | None = None,
                         phone_tier: str | None = None, talker=None, strict: bool = False,
                         tolerance: float = 0.01, extensions: Sequence[str] = AUDIO_EXTENSIONS,
                         on_missing: str = "raise", silences=SILENCE_LABELS, name: str | None = None) -> Corpus:
    """Load a folder of audio files with Praat TextGrids (MFA output included) as a :class:`Corpus`.

    Parameters
    ----------
    root : path-like
        Audio files (``.wav``; ``.flac`` needs ``soundfile``), in any sub-folders (per talker,
        BIDS-like ``sub-XX/...``).
    textgrid_root : path-like | None
        Where the ``.TextGrid`` files are: mirroring ``root`` (MFA's output folder) or beside
        the audio (default: ``root``).  A grid is matched to the audio of the same relative path,
        else to the only audio file of the same name.
    phone_set : {'auto', 'arpabet', 'ipa', 'xsampa'}
        Notation of the phone labels, mapped to ARPAbet through
        :func:`neurorrn.speech.phonology.phone_to_arpabet` (``'auto'`` detects ARPAbet or IPA).
    word_tier, phone_tier : str | None
        Tier names (default: ``words``/``word``, ``phones``/``phone`` in any case, or MFA's
        ``"<speaker> - words"``).
    talker : None | str | dict | DataFrame | path
        ``None``: a BIDS ``sub-<label>`` in the path, else the first folder under ``root``, else
        ``"unknown"``.  A regular expression searched in the relative path (group ``talker``,
        else its first group): ``r"^(?P<talker>\\d+)-"``.  A dict from stimulus id, relative
        path or file stem to talker, or a table (DataFrame, ``.tsv``/``.csv`` file) with columns
        ``talker`` and ``stimulus``/``file``/``path``/``filename``.
    strict : bool
        An error (not a warning) for phone labels outside the table.
    tolerance : float
        How far (s) a TextGrid may run past its audio.
    on_missing : {'raise', 'skip'}
        An audio file without a TextGrid: an error, or left out (logged with the count).

    Returns
    -------
    Corpus
        ``items``: ``stimulus`` (the file stem; the relative path with ``/`` -> ``-`` when stems
        repeat), ``word`` (the words of the item), ``talker``, ``path``, ``textgrid``,
        ``n_samples``, ``sfreq``.  Phones in ARPAbet (no stress), words in lower case, silences
        left out; ``corpus.lexicon`` holds each word's most frequent aligned pronunciation;
        ``corpus.manifest["phone_report"]`` the counts of mapped, silent and unknown labels.
    """
    root = check_path(root, "corpus root", must_exist=True, kind="dir")
    tg_root = check_path(textgrid_root or root, "TextGrid root", must_exist=True, kind="dir")
    check_option(on_missing, ("raise", "skip"), "on_missing")
    exts = {e.lower() for e in extensions}
    audio = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)
    if not audio:
        raise FileNotFoundError(f"no audio files ({', '.join(sorted(exts))}) under {root}")
    grids = sorted(p for p in tg_root.rglob("*") if p.is_file() and p.suffix.lower() == ".textgrid")
    by_rel = {p.relative_to(tg_root).with_suffix("").as_posix().lower(): p for p in grids}
    by_stem: dict[str, list[Path]] = {}
    for p in grids:
        by_stem.setdefault(p.stem.lower(), []).append(p)
    stems = Counter(p.stem for p in audio)
    table = _talker_table(talker)
    records, missing = [], []
    for f in audio:
        rel = f.relative_to(root)
        key = rel.with_suffix("").as_posix().lower()
        grid = by_rel.get(key)
        if grid is None and len(by_stem.get(f.stem.lower(), [])) == 1:
            grid = by_stem[f.stem.lower()][0]
        if grid is None:
            missing.append(rel.as_posix())
            continue
        sid = f.stem if stems[f.stem] == 1 else rel.with_suffix("").as_posix().replace("/", "-")
        tiers = read_textgrid(grid)
        records.append({"stimulus": sid, "path": rel.as_posix(), "talker": _talker_of(rel, sid, table),
                        "textgrid": str(grid), "source": str(grid), "what": f"TextGrid {grid.name}",
                        "xmax": max((df.attrs.get("xmax", 0.0) for df in tiers.values()), default=0.0),
                        "words": find_tier(tiers, "word", word_tier, grid),
                        "phones": find_tier(tiers, "phone", phone_tier, grid)})
    if missing:
        if on_missing == "raise":
            raise FileNotFoundError(f"{len(missing)} audio file(s) have no TextGrid under {tg_root}: "
                                    f"{missing[:5]}{' ...' if len(missing) > 5 else ''} (on_missing='skip' "
                                    f"leaves them out)")
        logger.info("%d audio file(s) without a TextGrid left out (first: %s)", len(missing), missing[0])
    if not records:
        raise FileNotFoundError(f"no audio file under {root} has a TextGrid under {tg_root}")
    man = {"name": name or root.name, "format": "textgrid", "textgrid_root": str(tg_root),
           "n_without_textgrid": len(missing)}
    corpus = corpus_from_tiers(root, records, phone_set=phone_set, strict=strict, tolerance=tolerance,
                               silences=silences, manifest=man)
    logger.info("loaded %s", corpus)
    return corpus


def phone_report(corpus: Corpus) -> dict:
    """The label counts a loader recorded (``corpus.manifest['phone_report']``), as a dict."""
    rep = corpus.manifest.get("phone_report")
    if rep is None:
        raise KeyError("this corpus has no phone_report (it was not loaded from alignments)")
    return json.loads(json.dumps(rep))
