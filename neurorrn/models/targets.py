"""Output targets for word recognition networks: a registry of target spaces.

Each factory returns a :class:`TargetSet` — a matrix of shape ``(n_words, n_dims)`` with one row
per word — from a list of words:

``"srv"``
    EARSHOT's sparse random vectors (Magnuson et al. 2020, ``Pattern_Generator.
    Semantic_Generate_SRV``): ``n_active`` (10) ones among ``n_dims`` (300), drawn at random for
    each word and redrawn when the index set duplicates another word's.
``"srv_brodbeck"``
    Brodbeck, Hannagan & Magnuson (2025; ``Sparse-10of300``): the same, but a draw is rejected
    unless it differs from every earlier pattern in more than 2 indices
    (``|new \\ old| > 2``).
``"localist"``
    One-hot: ``n_dims = n_words`` (Brodbeck's ``OneHot``).
``"dense"``
    User-supplied word vectors read from a file (e.g. GloVe): a text file with a word then its
    values on each line (whitespace separated; a ``word2vec``-style header line ``n d`` is
    skipped), or a ``.npz`` with arrays ``words`` and ``vectors``.  Optionally centred
    (Brodbeck's ``Glove-300c``).

Seeds are arguments (``random_state``); the global RNGs are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import comb
from typing import Callable, Literal, Sequence

import numpy as np

from ..config import ConfigModel
from ..utils._check import check_option, check_path, check_random_state


class TargetConfig(ConfigModel):
    """Which target space to build (see :data:`TARGETS`)."""

    kind: Literal["srv", "srv_brodbeck", "localist", "dense"] = "srv"
    #: "merge": words with identical pronunciations share one target (the first of the group in
    #: the sorted word list; the others become aliases), as Brodbeck et al. merge DEVISE/DEVICE;
    #: "keep": one target per spelling (homophones can then never be told apart).
    homophones: Literal["merge", "keep"] = "merge"
    n_dims: int = 300
    n_active: int = 10
    path: str | None = None
    center: bool = False
    random_state: int = 0


@dataclass
class TargetSet:
    """Target vectors of a lexicon.

    Attributes
    ----------
    words : list of str
        Row labels, in order.
    matrix : ndarray of shape (n_words, n_dims), float32
    kind : str
        Registry name it was built with.
    binary : bool
        True for 0/1 targets (sigmoid + cross-entropy); False for dense (linear + MSE).
    aliases : dict of str -> str
        Words without a row of their own that use another word's target (merged homophones:
        ``{"there": "their"}``); :meth:`indices` resolves them.
    """

    words: list[str]
    matrix: np.ndarray
    kind: str
    binary: bool = True
    aliases: dict = field(default_factory=dict)
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        self.words = [str(w) for w in self.words]
        self.matrix = np.ascontiguousarray(self.matrix, dtype=np.float32)
        if self.matrix.ndim != 2 or self.matrix.shape[0] != len(self.words):
            raise ValueError(f"matrix must have shape ({len(self.words)}, n_dims), got {self.matrix.shape}")
        if len(set(self.words)) != len(self.words):
            dup = sorted({w for w in self.words if self.words.count(w) > 1})
            raise ValueError(f"duplicate words in the target set: {dup[:5]}")
        self.index = {w: i for i, w in enumerate(self.words)}
        self.aliases = {str(k): str(v) for k, v in dict(self.aliases or {}).items()}
        for a, w in self.aliases.items():
            if a in self.index:
                raise ValueError(f"alias {a!r} is also a target word")
            if w not in self.index:
                raise ValueError(f"alias {a!r} points to {w!r}, which has no target")
        self.index.update({a: self.index[w] for a, w in self.aliases.items()})

    @property
    def n_dims(self) -> int:
        return int(self.matrix.shape[1])

    def indices(self, words: Sequence[str]) -> np.ndarray:
        """Row index of each word; unknown words raise an error naming them."""
        missing = sorted({w for w in words if w not in self.index})
        if missing:
            raise KeyError(f"{len(missing)} word(s) have no target: {missing[:10]}")
        return np.array([self.index[w] for w in words], dtype=np.int64)

    def to_dict(self) -> dict:
        return {"words": list(self.words), "matrix": self.matrix, "kind": self.kind, "binary": self.binary,
                "aliases": dict(self.aliases)}

    @classmethod
    def from_dict(cls, d: dict) -> "TargetSet":
        return cls(list(d["words"]), np.asarray(d["matrix"]), str(d["kind"]), bool(d["binary"]),
                   dict(d.get("aliases") or {}))


def _check_words(words) -> list[str]:
    words = [str(w) for w in words]
    if not words:
        raise ValueError("words is empty")
    if len(set(words)) != len(words):
        dup = sorted({w for w in words if words.count(w) > 1})
        raise ValueError(f"duplicate words: {dup[:5]}")
    return words


def _sparse(words, n_dims: int, n_active: int, min_diff: int, random_state, kind: str) -> TargetSet:
    words = _check_words(words)
    if not 0 < n_active < n_dims:
        raise ValueError(f"n_active must lie in (0, n_dims={n_dims}), got {n_active}")
    if comb(n_dims, n_active) < len(words):
        raise ValueError(f"only {comb(n_dims, n_active)} patterns of {n_active} of {n_dims} exist, "
                         f"fewer than {len(words)} words")
    rng = check_random_state(random_state)
    patterns: list[frozenset] = []
    seen: set[frozenset] = set()
    mat = np.zeros((len(words), n_dims), dtype=np.float32)
    max_tries = 100_000
    for i in range(len(words)):
        for _ in range(max_tries):
            p = frozenset(rng.choice(n_dims, size=n_active, replace=False).tolist())
            if p in seen:
                continue
            if min_diff > 0 and any(len(p - q) <= min_diff for q in patterns):
                continue
            break
        else:
            raise RuntimeError(f"could not draw pattern {i} of {len(words)} differing in more than {min_diff} "
                               f"indices after {max_tries} tries; increase n_dims")
        patterns.append(p)
        seen.add(p)
        mat[i, sorted(p)] = 1.0
    return TargetSet(words, mat, kind, binary=True)


def srv_targets(words, n_dims: int = 300, n_active: int = 10, random_state=0, **_) -> TargetSet:
    """EARSHOT sparse random vectors: ``n_active`` ones of ``n_dims``, unique per word."""
    return _sparse(words, n_dims, n_active, 0, random_state, "srv")


def brodbeck_srv_targets(words, n_dims: int = 300, n_active: int = 10, random_state=42, **_) -> TargetSet:
    """Brodbeck et al. (2025) sparse vectors: any two differ in more than 2 of their indices."""
    return _sparse(words, n_dims, n_active, 2, random_state, "srv_brodbeck")


def localist_targets(words, **_) -> TargetSet:
    """One-hot targets (``n_dims = n_words``)."""
    words = _check_words(words)
    return TargetSet(words, np.eye(len(words), dtype=np.float32), "localist", binary=True)


def read_vectors(path) -> tuple[list[str], np.ndarray]:
    """Read word vectors from a text file (``word v1 v2 ...``) or an ``.npz`` (``words``, ``vectors``)."""
    path = check_path(path, "targets path", must_exist=True, kind="file")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("words", "vectors") if k not in z]
            if missing:
                raise ValueError(f"{path}: .npz target file lacks array(s) {missing}; expected 'words' and 'vectors'")
            return [str(w) for w in z["words"]], np.asarray(z["vectors"], dtype=np.float32)
    words, rows, dim = [], [], None
    for ln, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if ln == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            continue  # word2vec header
        try:
            vals = [float(v) for v in parts[1:]]
        except ValueError:
            raise ValueError(f"{path}:{ln}: expected a word followed by numbers, got {line[:60]!r}") from None
        if dim is None:
            dim = len(vals)
        if len(vals) != dim or dim == 0:
            raise ValueError(f"{path}:{ln}: {len(vals)} values, expected {dim}")
        words.append(parts[0])
        rows.append(vals)
    if not rows:
        raise ValueError(f"{path}: no word vectors found")
    return words, np.asarray(rows, dtype=np.float32)


def dense_targets(words, path=None, center: bool = False, **_) -> TargetSet:
    """Dense word vectors from a file; every word needs a vector (missing ones are listed)."""
    words = _check_words(words)
    if path is None:
        raise ValueError("dense targets need a file: set targets.path")
    vocab, vecs = read_vectors(path)
    idx = {w: i for i, w in enumerate(vocab)}
    missing = [w for w in words if w not in idx]
    if missing:
        raise KeyError(f"{len(missing)} word(s) have no vector in {path}: {missing[:10]}")
    mat = vecs[[idx[w] for w in words]]
    if center:
        mat = mat - mat.mean(axis=0, keepdims=True)
    return TargetSet(words, mat, "dense", binary=False)


#: Registry: name -> factory ``(words, **params) -> TargetSet``.
TARGETS: dict[str, Callable[..., TargetSet]] = {
    "srv": srv_targets,
    "srv_brodbeck": brodbeck_srv_targets,
    "localist": localist_targets,
    "dense": dense_targets,
}


def homophone_groups(pronunciations, words: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Groups of words with identical pronunciations: ``{kept: [merged, ...]}``.

    The kept word is the first of its group in ``words`` order (default: the mapping's order).
    Only groups of two or more words are returned.
    """
    words = list(pronunciations) if words is None else [str(w) for w in words]
    by_pron: dict[tuple, list[str]] = {}
    for w in words:
        if w not in pronunciations:
            raise KeyError(f"word {w!r} has no pronunciation")
        by_pron.setdefault(tuple(pronunciations[w]), []).append(w)
    return {g[0]: g[1:] for g in by_pron.values() if len(g) > 1}


def make_targets(words, kind: str | TargetConfig = "srv", *, pronunciations=None, **params) -> TargetSet:
    """Build targets for ``words`` with a registered factory (see :data:`TARGETS`).

    With a :class:`TargetConfig` whose ``homophones`` is ``"merge"`` (the default) and
    ``pronunciations`` given, words that sound the same get one target row (the first of each
    group in ``words`` order); the others become :attr:`TargetSet.aliases`, and the merge is
    logged.
    """
    from ..utils._logging import logger

    aliases = {}
    if isinstance(kind, TargetConfig):
        cfg = kind
        kind = cfg.kind
        params = {"n_dims": cfg.n_dims, "n_active": cfg.n_active, "path": cfg.path, "center": cfg.center,
                  "random_state": cfg.random_state, **params}
        if cfg.homophones == "merge" and pronunciations is not None:
            groups = homophone_groups(pronunciations, words)
            aliases = {m: k for k, ms in groups.items() for m in ms}
            if aliases:
                logger.info("homophones merged into one target each (%d): %s", len(aliases),
                            ", ".join(f"{m}->{k}" for m, k in sorted(aliases.items())))
            words = [w for w in words if w not in aliases]
    check_option(kind, TARGETS, "targets kind")
    ts = TARGETS[kind](words, **params)
    if aliases:
        ts.aliases = aliases
        ts.__post_init__()
    return ts


__all__ = ["TARGETS", "TargetConfig", "TargetSet", "homophone_groups", "make_targets", "read_vectors", "srv_targets",
           "brodbeck_srv_targets", "localist_targets", "dense_targets"]
