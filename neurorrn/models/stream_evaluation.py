"""Word recognition in continuous streams, as Brodbeck, Hannagan & Magnuson (2025) score it.

Source: ``evaluate.py``, ``report.py`` and ``data.py`` of the paper's code.  The network runs
statefully over a test stream (no reset between words).  For every word token:

1. the *activation* of every word at every frame: the output (logit) of its unit for one-hot
   targets; for sparse (SRV) targets the minimum of the sigmoid outputs over the word's active
   units; for dense targets minus the Euclidean distance of the output to the word's vector;
2. a softmax over words at every frame;
3. the maximum of each word's softmax over the token's **last 10 frames**;
4. the token is correct when the target's value is **strictly** larger than every other word's
   (a tie counts as an error).

Word error rate (WER) = 1 - accuracy, reported per talker and split.

Competitor sets (:func:`stream_competitor_sets`): ``cohort`` (at least 2 shared onset phones),
``v_cohort`` (identical up to and including the first vowel), ``rhyme`` (same length, differing
only in the first phone), ``unrelated`` (no shared first phone and not a rhyme), and
``onset{n}`` (exactly ``n`` shared onset phones).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..speech.phonology import strip_arpabet_stress
from ..utils._check import check_positive

LAST_FRAMES = 10


def _is_vowel(p: str) -> bool:
    return strip_arpabet_stress(p)[:1] in tuple("AEIOU")


def word_activation(outputs: torch.Tensor, targets, output_activation: str = "sigmoid") -> torch.Tensor:
    """Activation of every word at every frame, ``(..., n_words)``, from the raw read-out.

    Parameters
    ----------
    outputs : Tensor (..., n_dims)
        Logits (the read-out before its activation).
    targets : TargetSet
    output_activation : {"sigmoid", "linear"}
    """
    mat = torch.as_tensor(targets.matrix, dtype=outputs.dtype, device=outputs.device)
    if targets.kind == "localist":
        return outputs
    if not targets.binary:
        return -torch.cdist(outputs.reshape(-1, outputs.shape[-1]), mat).reshape(*outputs.shape[:-1], -1)
    y = torch.sigmoid(outputs) if output_activation == "sigmoid" else outputs
    active = [np.flatnonzero(r) for r in targets.matrix]
    n_act = {len(a) for a in active}
    if len(n_act) == 1:  # all words have the same number of active units: one gather
        idx = torch.as_tensor(np.stack(active), device=outputs.device)  # (n_words, k)
        return y[..., idx].amin(-1)
    return torch.stack([y[..., torch.as_tensor(a, device=outputs.device)].amin(-1) for a in active], dim=-1)


def score_tokens(scores: np.ndarray, tokens: pd.DataFrame, last_frames: int = LAST_FRAMES) -> pd.DataFrame:
    """Which tokens are recognised: the paper's rule on per-frame word scores.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, n_frames, n_words)
        Softmax over words at every frame.
    tokens : DataFrame
        ``row``, ``start``, ``end`` (frames, end exclusive), ``target`` (word column).
    last_frames : int
        Frames at the end of each token over which the maximum is taken (10).

    Returns
    -------
    DataFrame
        ``tokens`` with ``predicted`` (column of the best word; -1 on a tie for first place),
        ``margin`` (target minus best other word) and ``correct``.
    """
    check_positive(last_frames, "last_frames", integer=True)
    scores = np.asarray(scores)
    if scores.ndim != 3:
        raise ValueError(f"scores must have shape (n_rows, n_frames, n_words), got {scores.shape}")
    n_rows, n_frames, n_words = scores.shape
    out = tokens.copy()
    pred = np.empty(len(out), np.int64)
    margin = np.empty(len(out), np.float64)
    for k, (r, s, e, t) in enumerate(zip(out["row"], out["start"], out["end"], out["target"])):
        e = min(int(e), n_frames)
        if e <= int(s) or not 0 <= int(t) < n_words:
            raise ValueError(f"token {k} (row {r}, frames {s}-{e}, target {t}) lies outside scores {scores.shape}")
        m = scores[int(r), max(int(s), e - last_frames):e].max(axis=0)
        best = int(np.argmax(m))
        top = m[best]
        pred[k] = best if np.sum(m == top) == 1 else -1
        others = np.delete(m, int(t))
        margin[k] = float(m[int(t)] - others.max()) if others.size else np.inf
    out["predicted"] = pred
    out["margin"] = margin
    out["correct"] = margin > 0
    return out


def stream_accuracy(scored: pd.DataFrame, by: Sequence[str] = ("split",)) -> pd.DataFrame:
    """Accuracy, WER and token count grouped by ``by`` (e.g. ``("split", "talker")``)."""
    by = list(by)
    g = scored.groupby(by, sort=True)["correct"]
    out = pd.DataFrame({"accuracy": g.mean(), "n_tokens": g.size()})
    out["wer"] = 1.0 - out["accuracy"]
    return out.reset_index()


@torch.no_grad()
def stream_outputs(model, features: np.ndarray, lengths=None, *, normalizer=None, block_frames: int = 1000,
                   device=None) -> np.ndarray:
    """Run a network statefully over stream rows; logits ``(n_rows, n_frames, n_output)``.

    The state is carried from block to block (``block_frames`` frames each) and never reset.
    """
    device = model.device if device is None else torch.device(device)
    x = np.asarray(features, dtype=np.float32)
    if normalizer is not None:
        x = normalizer.transform_array(x)
    was = model.training
    model.eval()
    try:
        state, outs = None, []
        for t0 in range(0, x.shape[1], int(block_frames)):
            xb = torch.from_numpy(np.ascontiguousarray(x[:, t0:t0 + int(block_frames)])).to(device)
            logits, state = model(xb, state)
            outs.append(logits.float().cpu())
        return torch.cat(outs, dim=1).numpy()
    finally:
        model.train(was)


def evaluate_streams(model, streams, targets, *, normalizer=None, last_frames: int = LAST_FRAMES,
                     block_frames: int = 1000, device=None, return_scores: bool = False):
    """Score every token of test streams (a :class:`~neurorrn.models.stream_data.StreamBatch`).

    Returns the token table with ``predicted``, ``margin`` and ``correct`` (see :func:`score_tokens`),
    and with ``return_scores`` also the per-frame softmax over words ``(n_rows, n_frames, n_words)``.
    """
    logits = torch.from_numpy(stream_outputs(model, streams.features, normalizer=normalizer,
                                             block_frames=block_frames, device=device))
    act = word_activation(logits, targets, model.config.output_activation)
    scores = torch.softmax(act, dim=-1).numpy()
    scored = score_tokens(scores, streams.tokens, last_frames=last_frames)
    return (scored, scores) if return_scores else scored


def stream_competitor_sets(pronunciations: Mapping[str, Sequence[str]], words: Sequence[str] | None = None,
                           max_onset: int = 3) -> dict:
    """Brodbeck et al.'s competitor sets of every word (indices into ``words``).

    Returns
    -------
    dict
        ``{word: {"cohort": [...], "v_cohort": [...], "rhyme": [...], "unrelated": [...],
        "onset1": [...], ..., f"onset{max_onset}": [...]}}``; ``onset{n}`` holds the words sharing
        exactly ``n`` onset phones (``max_onset``: ``n`` or more).
    """
    words = list(pronunciations) if words is None else list(words)
    missing = [w for w in words if w not in pronunciations]
    if missing:
        raise KeyError(f"{len(missing)} word(s) lack a pronunciation: {missing[:10]}")
    pron = [tuple(strip_arpabet_stress(p) for p in pronunciations[w]) for w in words]

    def upto_vowel(p):
        for i, ph in enumerate(p):
            if _is_vowel(ph):
                return p[: i + 1]
        return p

    def shared(p, q):
        n = 0
        for a, b in zip(p, q):
            if a != b:
                break
            n += 1
        return n

    out = {}
    for i, w in enumerate(words):
        p = pron[i]
        cats = {"cohort": [], "v_cohort": [], "rhyme": [], "unrelated": [],
                **{f"onset{n}": [] for n in range(1, max_onset + 1)}}
        for j, q in enumerate(pron):
            if j == i:
                continue
            n = shared(p, q)
            if n >= 2:
                cats["cohort"].append(j)
            if upto_vowel(p) == upto_vowel(q):
                cats["v_cohort"].append(j)
            rhyme = len(p) == len(q) and len(p) >= 2 and p[1:] == q[1:] and p[0] != q[0]
            if rhyme:
                cats["rhyme"].append(j)
            if n >= 1:
                cats[f"onset{min(n, max_onset)}"].append(j)
            if n == 0 and not rhyme:
                cats["unrelated"].append(j)
        out[w] = cats
    return out


def competitor_time_courses(scores: np.ndarray, tokens: pd.DataFrame, sets: dict, words: Sequence[str], *,
                            n_frames: int = 60) -> pd.DataFrame:
    """Mean word score of the target and each competitor category from word onset.

    Parameters
    ----------
    scores : ndarray (n_rows, n_frames, n_words)
    tokens : DataFrame (``row``, ``start``, ``word``)
    sets : from :func:`stream_competitor_sets`
    words : the target set's words (column order of ``scores``)
    n_frames : frames after onset

    Returns
    -------
    DataFrame
        Index: frame from onset; one column per category (``target`` and each set); the mean
        over tokens of the mean over the category's words (NaN where no token has one).
    """
    cats = ["target", *next(iter(sets.values())).keys()]
    acc = {c: np.zeros(n_frames) for c in cats}
    cnt = {c: np.zeros(n_frames) for c in cats}
    widx = {w: i for i, w in enumerate(words)}
    T = scores.shape[1]
    for r, s, w in zip(tokens["row"], tokens["start"], tokens["word"]):
        s = int(s)
        e = min(T, s + n_frames)
        if e <= s:
            continue
        seg = scores[int(r), s:e]
        for c in cats:
            cols = [widx[w]] if c == "target" else sets[w][c]
            if not cols:
                continue
            acc[c][: e - s] += seg[:, cols].mean(axis=1)
            cnt[c][: e - s] += 1
    with np.errstate(invalid="ignore"):
        return pd.DataFrame({c: acc[c] / np.where(cnt[c] > 0, cnt[c], np.nan) for c in cats},
                            index=pd.RangeIndex(n_frames, name="frame"))
