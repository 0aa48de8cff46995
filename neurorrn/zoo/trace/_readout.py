"""TRACE readouts: recognition criteria and reaction times, RT tables, Allopenna-style Luce
scaling and ambiguous-phoneme inputs.

Recognition criteria (the three the Magnuson lab uses for TRACE and TISK; thresholds as in
TISK 1.0's README: absolute 0.75, relative 0.05, time-based 10 cycles):

* ``"absolute"``: the target's activation reaches ``threshold`` while it is ahead of every
  competitor (strictly);
* ``"relative"``: the target leads the most active competitor by at least ``lead``;
* ``"time"``: the target is ahead of every competitor (strictly) for ``sustain`` consecutive
  cycles; the RT is the first cycle of that stretch.

Competitors are every other word, each at its most active alignment slice (jTRACE's
"max over alignments" readout; the silence word ``-`` is left out by default).  An RT is the
cycle index (cycle 0 = the resting state); ``NaN`` when the criterion is never met.  Exact ties
never count as "ahead".
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ...utils._check import check_option, validate_type
from ._model import TraceResult, luce_choice, simulate
from ._net import make_input
from ._params import TraceParams

CRITERIA = ("absolute", "relative", "time")
#: Default thresholds (TISK 1.0: absolute 0.75, relative 0.05, time-based 10 cycles).
DEFAULTS = {"threshold": 0.75, "lead": 0.05, "sustain": 10}


def recognition_cycle(target, competitors, criterion: str = "relative", threshold: float = 0.75,
                      lead: float = 0.05, sustain: int = 10) -> float:
    """First cycle at which ``target`` meets the recognition ``criterion`` (NaN if never).

    Parameters
    ----------
    target : array of shape (n_cycles,)
        The target word's activation over cycles.
    competitors : array of shape (n_cycles, n_competitors)
        The other words' activations (e.g. each at its most active slice).
    criterion : {"absolute", "relative", "time"}
    threshold, lead, sustain : float, float, int
        See the module docstring.
    """
    check_option(criterion, CRITERIA, "criterion")
    t = np.asarray(target, dtype=np.float64)
    c = np.asarray(competitors, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"target must have shape (n_cycles,), got {t.shape}")
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[0] != t.shape[0]:
        raise ValueError(f"competitors must have shape ({t.shape[0]}, n_competitors), got {c.shape}")
    best = c.max(axis=1) if c.shape[1] else np.full(t.shape, -np.inf)
    ahead = t > best
    if criterion == "absolute":
        ok = ahead & (t >= threshold)
    elif criterion == "relative":
        ok = (t - best) >= lead
    else:
        validate_type(sustain, "int", "sustain")
        if sustain < 1:
            raise ValueError(f"sustain must be >= 1 cycle, got {sustain}")
        run = np.convolve(ahead.astype(int), np.ones(sustain, dtype=int), mode="valid")
        hits = np.flatnonzero(run == sustain)
        return float(hits[0]) if hits.size else float("nan")
    hits = np.flatnonzero(ok)
    return float(hits[0]) if hits.size else float("nan")


def recognition_times(result: TraceResult, targets=None, criterion: str = "relative", *, threshold: float = 0.75,
                      lead: float = 0.05, sustain: int = 10, alignment="max", exclude=("-",)) -> np.ndarray:
    """RT (cycle) of each input's target word under ``criterion``.

    Parameters
    ----------
    result : TraceResult
    targets : sequence of str, optional
        One target word per input; default each input string without its silences (``"-"``).
    alignment : {"max", "aligned"} or int
        The target's time course: its most active slice (``"max"``), the slice aligned with
        the input's first phoneme (``"aligned"``, needs recorded word units) or a given slice.
        Competitors are always taken at their most active slice.
    exclude : sequence of str
        Words that are never competitors (the silence word by default).

    Returns
    -------
    rt : array of shape (n_inputs,)
    """
    validate_type(result, TraceResult, "result")
    lex = result.lexicon
    targets = [s.replace("-", "") for s in result.inputs] if targets is None else list(targets)
    if len(targets) != len(result.inputs):
        raise ValueError(f"got {len(targets)} targets for {len(result.inputs)} inputs")
    out = np.empty(len(targets))
    drop = [lex.index(w) for w in exclude if w in lex.words]
    for i, w in enumerate(targets):
        if w not in lex.words:
            raise ValueError(f"target {w!r} (input {result.inputs[i]!r}) is not in the lexicon")
        j = lex.index(w)
        tgt = result.word_activation(w, i, alignment)
        comp = np.delete(result.word_max[i], sorted(set(drop + [j])), axis=1)
        out[i] = recognition_cycle(tgt, comp, criterion, threshold, lead, sustain)
    return out


def rt_table(lexicon, words=None, params: TraceParams | None = None, n_cycles: int = 120, *,
             criteria: Sequence[str] = CRITERIA, threshold: float = 0.75, lead: float = 0.05, sustain: int = 10,
             **simulate_kw):
    """Per-word recognition times over a lexicon: each word presented as ``-word-``.

    Returns a :class:`pandas.DataFrame` with one row per word: ``word``, ``length`` (phonemes),
    ``frequency``, and ``rt_<criterion>`` (cycles; NaN when not recognised within ``n_cycles``)
    for each of ``criteria``.  ``simulate_kw`` go to :func:`~neurorrn.zoo.trace.simulate`
    (e.g. ``dtype``, ``chunk_size``).
    """
    import pandas as pd

    for c in criteria:
        check_option(c, CRITERIA, "criteria")
    words = [w for w in lexicon.words if w != "-"] if words is None else list(words)
    if not words:
        raise ValueError("rt_table needs at least one word")
    res = simulate(["-" + w + "-" for w in words], lexicon, params, n_cycles, record=(), **simulate_kw)
    table = {"word": words, "length": [len(w) for w in words],
             "frequency": [float(lexicon.frequency[lexicon.index(w)]) for w in words]}
    for c in criteria:
        table[f"rt_{c}"] = recognition_times(res, words, c, threshold=threshold, lead=lead, sustain=sustain)
    return pd.DataFrame(table)


def allopenna(acts, k: float = 7.0, scale: str = "max") -> np.ndarray:
    """Predicted fixation proportions from word activations (Allopenna, Magnuson & Tanenhaus 1998).

    Response strengths ``S_i = exp(k·a_i)`` among the displayed items, Luce's rule
    ``S_i / Σ_j S_j``, then scaled by ``Δ(t) = max_j a_j(t) / max_{t', j} a_j(t')`` (clipped to
    [0, 1]) so that early, when no item is active, the predicted fixations are low (the
    proportion of trials with a fixation on any picture grows over time).  ``scale="none"``
    returns the unscaled Luce probabilities.  (AMT 1998's exact scaling is recalled, not
    re-read: check it before fitting eye-tracking data.)

    Parameters
    ----------
    acts : array of shape (n_cycles, n_items)
        Activations of the displayed items (e.g. target, cohort, rhyme, unrelated).

    Returns
    -------
    p : array of shape (n_cycles, n_items)
    """
    check_option(scale, ("max", "none"), "scale")
    a = np.asarray(acts, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 1:
        raise ValueError(f"acts must have shape (n_cycles, n_items), got {a.shape}")
    p = luce_choice(a, k)
    if scale == "none":
        return p
    top = a.max(axis=1)
    peak = top.max()
    delta = np.clip(top / peak, 0.0, 1.0) if peak > 0 else np.zeros_like(top)
    return p * delta[:, None]


def ambiguous_input(string: str, position: int, other: str, weight: float = 0.5,
                    params: TraceParams | None = None) -> np.ndarray:
    """Input layer with the phoneme at ``position`` of ``string`` made ambiguous with ``other``.

    Its features are ``(1 − weight)·own + weight·other`` (e.g. ``ambiguous_input("-gIft-"...``
    with the first phoneme between /g/ and /k/ for a Ganong simulation); ``weight=0`` gives
    ``string``'s own input and ``weight=1`` the input with ``other`` in place.  Pass the array
    to :func:`~neurorrn.zoo.trace.simulate` as an input.

    Returns
    -------
    input : array of shape (63, f_slices)
    """
    validate_type(position, "int", "position")
    return make_input(string, params, mix={position: (other, float(weight))})


__all__ = ["CRITERIA", "DEFAULTS", "allopenna", "ambiguous_input", "recognition_cycle", "recognition_times",
           "rt_table"]
