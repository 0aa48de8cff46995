"""Synthetic speech corpora on disk: audio, phone and word tiers, talkers, lexicon, manifest.

Layout of a corpus root::

    manifest.json      format, version, config (JSON), config hash, espeak-ng version,
                       counts, sha256 of every table
    items.tsv          one row per token: stimulus, word, talker, path, n_samples, sfreq,
                       duration, split, match, espeak_phones, sha256 (of the WAV file)
    alignments.tsv     stimulus, tier ('phone'|'word'), label, start, end (s from token onset)
    lexicon.tsv        the lexicon (:meth:`Lexicon.to_tsv`)
    talkers.tsv        the talkers used
    audio/<talker>/<word>.wav   16-bit PCM

:func:`build_corpus` is cached: when ``root`` already holds a corpus built from the same config
(same hash; ``n_jobs`` does not count) it loads it and writes nothing.  A build goes to a
temporary directory that is renamed into place at the end, so an interrupted build leaves no
half corpus.  Synthesis runs in ``n_jobs`` espeak server processes (fresh interpreters; espeak-ng
keeps global state, so each holds its own engine and forks a pristine child per token, see
:mod:`neurorrn.speech._worker`): the corpus is byte-identical whatever ``n_jobs``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import pandas as pd
from pydantic import Field

from ..config import ConfigModel, config_hash
from ..utils._check import check_path, check_random_state
from ..utils._io import atomic_path, write_text_atomic
from ..utils._logging import logger, progress, use_log_level
from ._audio import read_audio, sha256_bytes, sha256_file, wav_bytes, wav_problem
from .lexicon import Lexicon, read_earshot_pronunciations, read_lexicon_tsv
from .talkers import DEFAULT_TALKERS, get_talker

FORMAT = "neurorrn-speech-corpus"
FORMAT_VERSION = 1
ITEM_COLUMNS = ("stimulus", "word", "talker", "path", "n_samples", "sfreq", "duration", "split",
                "match", "espeak_phones", "sha256")
ALIGNMENT_COLUMNS = ("stimulus", "tier", "label", "start", "end")


class CorpusError(ValueError):
    """A corpus directory that is inconsistent, corrupt or built from another config."""


# ----------------------------------------------------------------------------- config
class LexiconConfig(ConfigModel):
    """Where the words come from.

    ``source``: ``cmudict`` (the ``n_words`` most frequent words, see
    :meth:`Lexicon.from_cmudict`), ``earshot`` (EARSHOT's pronunciation file at ``path``, first
    ``n_words`` if given), ``words`` (the list ``words`` looked up in CMUdict), ``tsv`` (a
    :meth:`Lexicon.to_tsv` file).
    """

    source: Literal["cmudict", "earshot", "words", "tsv"] = "cmudict"
    n_words: Optional[int] = Field(1000, gt=0)
    min_phones: int = Field(3, ge=1)
    max_phones: Optional[int] = None
    min_letters: int = 3
    single_pronunciation: bool = True
    path: Optional[str] = None
    words: Optional[list[str]] = None


class SplitConfig(ConfigModel):
    """Train/test labels of tokens.

    Labels follow EARSHOT's terms (and :func:`neurorrn.models.data.holdout_split`):
    ``none``: all ``trained``.  ``earshot``: EARSHOT's "M" hold-out (Magnuson et al. 2020,
    ``Pattern_Feeder.py``): one talker (``test_talker``, else a random one) is
    ``excluded_talker`` for all words; of a shuffled word list, talker i of the others loses
    words ``[i*k, (i+1)*k)`` with ``k = n_words // n_talkers`` (``excluded_word``).
    ``talker``: the talkers in ``test_talkers`` are ``excluded_talker``, the rest ``trained``.
    """

    kind: Literal["none", "earshot", "talker"] = "none"
    test_talker: Optional[str] = None
    test_talkers: list[str] = Field(default_factory=list)
    random_state: int = 0


class CorpusConfig(ConfigModel):
    """Config of a synthetic corpus (``configs/corpus_small.yaml`` is an example)."""

    name: str = "corpus"
    lexicon: LexiconConfig = Field(default_factory=LexiconConfig)
    talkers: list[str] = Field(default_factory=lambda: list(DEFAULT_TALKERS))
    sfreq: int = Field(16000, gt=0)
    final_pause: float = Field(0.05, ge=0)
    force_pronunciation: bool = True
    split: SplitConfig = Field(default_factory=SplitConfig)
    n_jobs: int = Field(1, ge=1, description="worker processes (not part of the cache key)")

    def cache_key(self) -> str:
        """Hash of everything that changes the corpus (``n_jobs`` excluded)."""
        return config_hash(self.model_dump(mode="json", exclude={"n_jobs"}), FORMAT_VERSION)


def make_lexicon(cfg: LexiconConfig) -> Lexicon:
    """Build the :class:`Lexicon` a :class:`LexiconConfig` describes."""
    if cfg.source == "cmudict":
        return Lexicon.from_cmudict(cfg.n_words or 1000, cfg.min_phones, cfg.max_phones,
                                    cfg.min_letters, cfg.single_pronunciation)
    if cfg.source == "words":
        if not cfg.words:
            raise ValueError("lexicon.source='words' needs a non-empty lexicon.words list")
        return Lexicon.from_words(cfg.words)
    if cfg.path is None:
        raise ValueError(f"lexicon.source={cfg.source!r} needs lexicon.path")
    lex = read_earshot_pronunciations(cfg.path) if cfg.source == "earshot" else read_lexicon_tsv(cfg.path)
    if cfg.n_words is not None and cfg.n_words < len(lex):
        lex = lex.subset(lex.words[: cfg.n_words])
    return lex


def assign_split(words, talkers, cfg: SplitConfig) -> dict[tuple[str, str], str]:
    """(word, talker) -> split label, see :class:`SplitConfig`."""
    words, talkers = list(words), list(talkers)
    out = {(w, t): "trained" for w in words for t in talkers}
    if cfg.kind == "none":
        return out
    if cfg.kind == "talker":
        unknown = sorted(set(cfg.test_talkers) - set(talkers))
        if unknown or not cfg.test_talkers:
            raise ValueError(f"split.test_talkers must name corpus talkers {talkers}, got {cfg.test_talkers}")
        for w in words:
            for t in cfg.test_talkers:
                out[(w, t)] = "excluded_talker"
        return out
    rng = check_random_state(cfg.random_state)
    if cfg.test_talker is not None and cfg.test_talker not in talkers:
        raise ValueError(f"split.test_talker {cfg.test_talker!r} is not a corpus talker {talkers}")
    held = cfg.test_talker if cfg.test_talker is not None else talkers[int(rng.integers(len(talkers)))]
    k = len(words) // len(talkers)
    shuffled = [words[i] for i in rng.permutation(len(words))]
    others = [t for t in talkers if t != held]
    for i, t in enumerate(others):
        for w in shuffled[i * k:(i + 1) * k]:
            out[(w, t)] = "excluded_word"
    for w in words:
        out[(w, held)] = "excluded_talker"
    return out


# ----------------------------------------------------------------------------- corpus
@dataclass
class Corpus:
    """A corpus on disk: items, alignments, lexicon, and audio loading.

    Attributes
    ----------
    root : Path
    items : DataFrame
        One row per token with at least ``stimulus``, ``word``, ``talker``, ``path`` (relative
        to ``root``), ``n_samples``, ``sfreq`` (and ``split`` where defined).
    alignments : DataFrame
        ``stimulus, tier ('phone'|'word'), label, start, end`` (s from the token's onset).
    lexicon : Lexicon | None
    talkers : DataFrame | None
    manifest : dict
    """

    root: Path
    items: pd.DataFrame
    alignments: pd.DataFrame
    lexicon: Optional[Lexicon] = None
    talkers: Optional[pd.DataFrame] = None
    manifest: dict = field(default_factory=dict)

    def __post_init__(self):
        self.root = Path(self.root)
        for c in ("stimulus", "word", "talker", "path"):
            if c not in self.items.columns:
                raise CorpusError(f"corpus items lack column {c!r} (columns: {list(self.items.columns)})")
        for i, rel in enumerate(self.items["path"]):
            confined_path(self.root, rel, f"items.tsv row {i + 1} (stimulus {self.items['stimulus'].iloc[i]!r})")
        dup = self.items["stimulus"][self.items["stimulus"].duplicated()]
        if len(dup):
            raise CorpusError(f"duplicate stimulus ids in corpus at {self.root}: {list(dup[:5])}")
        self._index = {s: i for i, s in enumerate(self.items["stimulus"])}

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return (f"<Corpus {self.manifest.get('name', self.root.name)!r}: {len(self)} tokens, "
                f"{self.items['word'].nunique()} words, {self.items['talker'].nunique()} talkers>")

    @property
    def stimuli(self) -> list[str]:
        return list(self.items["stimulus"])

    def item(self, stimulus: str) -> pd.Series:
        if stimulus not in self._index:
            raise KeyError(f"stimulus {stimulus!r} is not in the corpus at {self.root} ({len(self)} items)")
        return self.items.iloc[self._index[stimulus]]

    def load_audio(self, stimulus: str) -> tuple[np.ndarray, int]:
        """``(float32 audio, sfreq)`` of one token (errors name the stimulus and file)."""
        row = self.item(stimulus)
        return read_audio(self.root / row["path"], name=stimulus)

    def get_alignments(self, stimulus=None, tier: str | None = None) -> pd.DataFrame:
        df = self.alignments
        if stimulus is not None:
            ids = [stimulus] if isinstance(stimulus, str) else list(stimulus)
            df = df[df["stimulus"].isin(ids)]
        if tier is not None:
            df = df[df["tier"] == tier]
        return df.reset_index(drop=True)

    def select(self, **criteria) -> "Corpus":
        """A view restricted to items whose columns equal (or are in) the given values."""
        mask = np.ones(len(self.items), bool)
        for col, val in criteria.items():
            if col not in self.items.columns:
                raise KeyError(f"unknown item column {col!r}; columns are {list(self.items.columns)}")
            vals = [val] if isinstance(val, (str, int, float, bool)) else list(val)
            mask &= self.items[col].isin(vals).to_numpy()
        items = self.items[mask].reset_index(drop=True)
        al = self.alignments[self.alignments["stimulus"].isin(set(items["stimulus"]))].reset_index(drop=True)
        return Corpus(self.root, items, al, self.lexicon, self.talkers, self.manifest)

    def verify(self, checksums: bool = True) -> list[str]:
        """Problems found (missing or truncated files, wrong sha256); empty when the corpus is intact.

        Without ``checksums`` only the files' presence and their WAV headers are checked (a
        truncated file is found from its header and size, without reading the audio).
        """
        problems = []
        for r in self.items.itertuples():
            p = self.root / r.path
            if not p.is_file():
                problems.append(f"missing audio file for {r.stimulus}: {p}")
            elif p.suffix.lower() == ".wav" and (why := wav_problem(p)):
                problems.append(f"{why}, for {r.stimulus}: {p}")
            elif checksums and "sha256" in self.items.columns and sha256_file(p) != r.sha256:
                problems.append(f"checksum mismatch for {r.stimulus}: {p}")
        return problems


def confined_path(root: Path, rel, where: str) -> Path:
    """``root / rel`` for a relative path from a data file that stays inside ``root``.

    Raises :class:`CorpusError` naming ``where`` (file and row) for an absolute path or one that
    climbs out of ``root`` with ``..``.
    """
    rel = str(rel)
    norm = os.path.normpath(rel)
    if not rel or os.path.isabs(rel) or norm == ".." or norm.startswith(".." + os.sep):
        raise CorpusError(f"{where}: path {rel!r} must be relative to the corpus root '{root}' and stay inside "
                          "it (no absolute paths, no '..')")
    return root / norm


def stimulus_id(word: str, talker: str) -> str:
    """``"cat__m1"``."""
    return f"{word}__{talker}"


# ----------------------------------------------------------------------------- building
def _token_rows(syn, word, tname, sfreq, tmp_root: Path):
    """Write one token's WAV; return its item row and alignment rows."""
    sid = stimulus_id(word, tname)
    rel = f"audio/{tname}/{word}.wav"
    data = wav_bytes(syn.audio, sfreq)
    out = tmp_root / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    item = {"stimulus": sid, "word": word, "talker": tname, "path": rel,
            "n_samples": int(syn.audio.size), "sfreq": int(sfreq),
            "duration": syn.audio.size / sfreq, "match": syn.match,
            "espeak_phones": " ".join(syn.espeak_phones), "sha256": sha256_bytes(data)}
    aligns = [(sid, r.tier, r.label, float(r.start), float(r.end)) for r in syn.intervals.itertuples()]
    return item, aligns


def build_corpus(config, root, *, overwrite: bool = False, n_jobs: int | None = None,
                 verbose=None) -> Corpus:
    """Synthesize a corpus to ``root`` (or load it when it is already there).

    Parameters
    ----------
    config : CorpusConfig | dict | path-like
        The config (a YAML path is read with :meth:`CorpusConfig.from_yaml`).
    root : path-like
        Output directory.
    overwrite : bool
        Replace a corpus in ``root`` that was built from a *different* config.
    n_jobs : int | None
        Worker processes (default ``config.n_jobs``); 1 synthesizes in this process.

    Returns
    -------
    Corpus

    Raises
    ------
    CorpusError
        ``root`` holds a corpus from another config (and ``overwrite`` is False), or something
        that is not a corpus.
    """
    cfg = _as_config(config)
    root = check_path(root, "root")
    key = cfg.cache_key()
    with use_log_level(verbose):
        if (root / "manifest.json").is_file():
            try:
                man = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                man = {}
            if man.get("config_hash") == key:
                corpus = load_corpus(root, verify=False)
                problems = [p for p in corpus.verify(checksums=False)]
                if not problems:
                    logger.info("corpus at %s is up to date (config hash %s); nothing to do", root, key)
                    return corpus
                logger.warning("corpus at %s is incomplete (%s); rebuilding", root, problems[0])
            elif not overwrite:
                raise CorpusError(f"{root} holds a corpus built from another config (hash "
                                  f"{man.get('config_hash')!r}, this config {key!r}); pass "
                                  "overwrite=True or choose another root")
        elif root.exists() and any(root.iterdir()) and not overwrite:
            raise CorpusError(f"{root} exists, is not empty and holds no corpus manifest; "
                              "pass overwrite=True or choose another root")
        lexicon = make_lexicon(cfg.lexicon)
        talkers = {t: get_talker(t) for t in cfg.talkers}
        if len(set(cfg.talkers)) != len(cfg.talkers):
            raise ValueError(f"talkers contains duplicates: {cfg.talkers}")
        splits = assign_split(lexicon.words, cfg.talkers, cfg.split)
        pairs = [(w, t) for w in lexicon.words for t in cfg.talkers]
        n_jobs = cfg.n_jobs if n_jobs is None else int(n_jobs)
        t0 = time.perf_counter()
        with atomic_path(root, overwrite=True, is_dir=True) as tmp:
            tmp.mkdir(parents=True)
            items, aligns = _run_synthesis(pairs, lexicon, talkers, cfg, tmp, n_jobs, verbose)
            items_df = pd.DataFrame(items)
            items_df["split"] = [splits[(w, t)] for w, t in zip(items_df["word"], items_df["talker"])]
            items_df = items_df.loc[:, list(ITEM_COLUMNS)]
            al_df = pd.DataFrame(aligns, columns=list(ALIGNMENT_COLUMNS))
            tables = {
                "items.tsv": items_df.to_csv(sep="\t", index=False),
                "alignments.tsv": al_df.to_csv(sep="\t", index=False, float_format="%.7f"),
                "talkers.tsv": pd.DataFrame([talkers[t].to_dict() for t in cfg.talkers]).to_csv(
                    sep="\t", index=False),
            }
            for name, text in tables.items():
                (tmp / name).write_text(text, encoding="utf-8")
            lexicon.to_tsv(tmp / "lexicon.tsv")
            from ._espeak import get_engine

            eng = get_engine()
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "name": cfg.name,
                "config": json.loads(cfg.model_dump_json()), "config_hash": key,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "espeak_ng": {"version": eng.version, "source": eng.source},
                "n_items": len(items_df), "n_words": len(lexicon), "n_talkers": len(talkers),
                "n_mismatched_pronunciations": int((~items_df["match"]).sum()),
                "lexicon_selection": json.loads(json.dumps(getattr(lexicon, "selection", {}), default=str)),
                "homophones": {"merged_out_of_lexicon": getattr(lexicon, "merged_homophones", {}),
                               "groups_in_lexicon": lexicon.homophones(),
                               "note": "groups in the lexicon share one target when trained with "
                                       "targets.homophones: merge (the default)"},
                "build_seconds": round(time.perf_counter() - t0, 3),
                "checksums": {n: sha256_file(tmp / n) for n in
                              ("items.tsv", "alignments.tsv", "talkers.tsv", "lexicon.tsv")},
            }
            write_text_atomic(tmp / "manifest.json", json.dumps(manifest, indent=2))
        logger.info("built corpus %s: %d tokens in %.1f s", root, len(items_df), manifest["build_seconds"])
        return load_corpus(root)


def _run_synthesis(pairs, lexicon, talkers, cfg, tmp, n_jobs, verbose):
    """Synthesize all (word, talker) pairs with ``n_jobs`` espeak servers; write WAVs.

    Requests go to the servers in chunks; each token is synthesized in a pristine forked child
    (:mod:`neurorrn.speech._worker`), so the result does not depend on ``n_jobs`` or on order.
    Post-processing (tiers, trimming, resampling, WAV writing) runs here while the servers work.
    """
    from multiprocessing.connection import wait

    from ._worker import SynthServer
    from .synthesis import _postprocess, _request, _resolve

    prepared = []
    for word, tname in pairs:
        w, phones, stress = _resolve(word, lexicon)
        tk = talkers[tname]
        prepared.append((w, tname, phones, tk, _request(w, phones, stress, tk, cfg.force_pronunciation)))
    chunk = 50
    by_voice: dict[str, list[int]] = {}
    for i, p in enumerate(prepared):
        by_voice.setdefault(p[4][1], []).append(i)
    # one server per voice (a server never switches voices), at most n_jobs working at once
    queues = {v: [idx[i:i + chunk] for i in range(0, len(idx), chunk)] for v, idx in by_voice.items()}
    results: dict[int, tuple] = {}
    bar = progress(total=len(pairs), desc=f"synthesizing {cfg.name}", verbose=verbose, unit="token")
    servers: dict[str, SynthServer] = {}
    busy: dict[str, list] = {}
    try:
        while any(queues.values()) or busy:
            for v in list(queues):
                if len(busy) >= max(1, n_jobs):
                    break
                if v in busy or not queues[v]:
                    continue
                if v not in servers:
                    servers[v] = SynthServer(v)
                idx = queues[v].pop(0)
                servers[v].submit([prepared[i][4] for i in idx])
                busy[v] = idx
            ready = wait([servers[v]._in for v in busy])
            for v in [v for v in list(busy) if servers[v]._in in ready]:
                idx = busy.pop(v)
                for i, (status, raw) in zip(idx, servers[v].collect()):
                    w, tname, phones, tk, req = prepared[i]
                    if status != "ok":
                        raise RuntimeError(f"espeak-ng failed on {stimulus_id(w, tname)}: {raw}")
                    syn = _postprocess(raw, w, phones, tk, cfg.sfreq, cfg.final_pause,
                                       cfg.force_pronunciation, req[0])
                    results[i] = _token_rows(syn, w, tname, cfg.sfreq, tmp)
                bar.update(len(idx))
                if not queues[v]:
                    servers.pop(v).close()
    finally:
        bar.close()
        for srv in servers.values():
            srv.close()
    items, aligns = [], []
    for i in range(len(prepared)):
        items.append(results[i][0])
        aligns.extend(results[i][1])
    return items, aligns


def _as_config(config) -> CorpusConfig:
    if isinstance(config, CorpusConfig):
        return config
    if isinstance(config, dict):
        return CorpusConfig.from_dict(config)
    if isinstance(config, (str, os.PathLike)):
        return CorpusConfig.from_yaml(config)
    raise TypeError(f"config must be a CorpusConfig, a dict or a YAML path, got {type(config).__name__}")


def load_corpus(root, verify: bool | str = "quick") -> Corpus:
    """Open a corpus written by :func:`build_corpus`.

    Parameters
    ----------
    verify : bool | "quick"
        ``"quick"`` (default): every audio file exists and no WAV is truncated (headers and sizes
        only); ``True``: also every file's sha256 against ``items.tsv``; ``False``: no check.
        The tables (``items.tsv``, ``alignments.tsv``...) are always checked against the manifest.

    Raises
    ------
    FileNotFoundError
        No ``manifest.json`` in ``root``.
    CorpusError
        Unknown format or newer version, a table whose checksum does not match the manifest,
        or (with ``verify``) damaged audio files.
    """
    root = check_path(root, "root", must_exist=True, kind="dir")
    mpath = root / "manifest.json"
    if not mpath.is_file():
        raise FileNotFoundError(f"{root} is not a corpus: no manifest.json")
    try:
        man = json.loads(mpath.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CorpusError(f"{mpath}: not valid JSON ({err})") from None
    if man.get("format") != FORMAT:
        raise CorpusError(f"{mpath}: format {man.get('format')!r}, expected {FORMAT!r}")
    if int(man.get("format_version", 0)) > FORMAT_VERSION:
        raise CorpusError(f"{mpath}: format version {man['format_version']} is newer than this "
                          f"neurorrn reads ({FORMAT_VERSION}); upgrade neurorrn")
    for name, digest in man.get("checksums", {}).items():
        p = confined_path(root, name, f"{mpath} checksums key")
        if not p.is_file():
            raise CorpusError(f"corpus table missing: {p}")
        if sha256_file(p) != digest:
            raise CorpusError(f"corpus table {p} does not match its checksum in the manifest "
                              "(modified or damaged)")
    def table(name, **kw):
        try:
            return pd.read_csv(root / name, sep="\t", keep_default_na=False, **kw)
        except pd.errors.EmptyDataError:
            raise CorpusError(f"corpus at {root} has no items: {root / name} is empty") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
            raise CorpusError(f"{root / name}: not a readable tab-separated table ({err})") from None

    items = table("items.tsv", dtype={"stimulus": str, "word": str, "talker": str, "path": str,
                                      "espeak_phones": str, "sha256": str, "split": str})
    if "match" in items.columns:
        items["match"] = items["match"].astype(str).str.lower().eq("true")
    al = table("alignments.tsv", dtype={"stimulus": str, "tier": str, "label": str})
    lex = read_lexicon_tsv(root / "lexicon.tsv") if (root / "lexicon.tsv").is_file() else None
    talkers = pd.read_csv(root / "talkers.tsv", sep="\t") if (root / "talkers.tsv").is_file() else None
    if len(items) == 0:
        raise CorpusError(f"corpus at {root} has no items: {root / 'items.tsv'} lists no tokens")
    corpus = Corpus(root, items, al, lex, talkers, man)
    if verify not in (True, False, "quick"):
        raise ValueError(f"verify must be True, False or 'quick', got {verify!r}")
    if verify:
        problems = corpus.verify(checksums=verify is True)
        if problems:
            raise CorpusError(f"corpus at {root} is damaged: " + "; ".join(problems[:5])
                              + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    return corpus
