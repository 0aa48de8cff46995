"""TRACE's canonical simulation for the registry and the command line, with its figure."""

from __future__ import annotations

import numpy as np

from ._lexicon import read_jt_lexicon
from ._model import simulate
from ._params import TraceParams
from ._phonemes import PHONEMES
from ._readout import CRITERIA, allopenna, recognition_times

#: McClelland & Elman 1986 / jTRACE's default simulation: "abrupt" wins, the embedded "^" (a)
#: rises early and is then suppressed.
PUBLISHED = {"winner": "^br^pt", "embedded_^": "rises, then suppressed below rest",
             "recognised (relative criterion)": "yes"}


def demo(lexicon=None, inputs=("-^br^pt-",), n_cycles: int = 100, random_state=0, n_watch: int = 4, **params):
    """Run TRACE on ``inputs``; return ``{"store", "figure", "summary"}``.

    The figure shows, for the first input, the word units at the input's aligned slice (the
    target and the ``n_watch - 1`` other most active words) over cycles, the phoneme units at
    the slices of the input's phonemes, and the Luce response probabilities (k = 7) among the
    watched words with Allopenna et al.'s Δ scaling, as jTRACE's graph panels draw them.
    The summary gives, per input, the winner and the recognition time under each criterion
    (:func:`~neurorrn.zoo.trace.recognition_times`).

    Verdict rule (on the first input): ``"reproduced"`` when the winner is the input's word,
    the target is recognised under the relative criterion and, if the lexicon holds ``^``
    (the embedded word of -^br^pt-), ``^`` peaks above rest and ends below its peak and below
    0; ``"not reproduced"`` when the winner is wrong; ``"approximate"`` otherwise.

    Parameters
    ----------
    lexicon : path-like, Lexicon or None
        A jTRACE ``.jt`` lexicon; ``None`` needs the path (no lexicon ships with the package).
    inputs : sequence of str
    n_cycles : int
    **params
        :class:`TraceParams` fields.
    """
    from .._summary import make_summary, new_figure, verdict_from_checks
    from ._lexicon import Lexicon

    if lexicon is None:
        raise ValueError("TRACE needs a lexicon: pass lexicon=PATH to a jTRACE .jt file (e.g. slex.jt)")
    lex = lexicon if isinstance(lexicon, Lexicon) else read_jt_lexicon(lexicon)
    p = TraceParams(**params)
    res = simulate(list(inputs), lex, p, n_cycles, random_state=random_state)
    per_input = {}
    rts = {c: recognition_times(res, criterion=c) if all(s.replace("-", "") in lex.words for s in res.inputs)
           else np.full(len(res.inputs), np.nan) for c in CRITERIA}
    for i, lab in enumerate(res.inputs):
        word, slc = res.winner(i)
        per_input[lab] = {"winner": word, "slice": slc,
                          "winner_final_activation": float(res.word_activation(word, i, slc)[-1]),
                          **{f"rt_{c}": float(rts[c][i]) for c in CRITERIA}}
    lab0 = res.inputs[0]
    target = lab0.replace("-", "")
    first = per_input[lab0]
    checks = {"winner": first["winner"] == target, "recognised": bool(np.isfinite(first["rt_relative"]))}
    ours = {"winner": first["winner"], "recognised (relative criterion)":
            f"cycle {first['rt_relative']:g}" if checks["recognised"] else "no"}
    if "^" in lex.words and target != "^":
        emb = res.word_activation("^", 0, "aligned")
        checks["embedded"] = bool(emb.max() > p.rest_w and emb[-1] < emb.max() and emb[-1] < 0)
        ours["embedded_^"] = f"peak {emb.max():.3f}, final {emb[-1]:.3f}"
    else:
        ours["embedded_^"] = "not in this lexicon/input"
    verdict = verdict_from_checks(checks, core=("winner",))
    # figure: word and phoneme time courses, Luce probabilities
    fig, (ax1, ax2, ax3) = new_figure(3)
    aligned = res.word_activation(None, 0, "aligned")                          # (n_cycles, n_words)
    order = [j for j in np.argsort(-aligned.max(0)) if lex.words[j] != "-"]
    watch = ([lex.index(target)] if target in lex.words else []) + [j for j in order if lex.words[j] != target]
    watch = watch[:n_watch]
    for j in watch:
        ax1.plot(aligned[:, j], label=lex.words[j])
    ax1.set(xlabel="cycle", ylabel="activation", title=f"words at slice {res.onset_slice(0)} ({lab0})")
    ax1.legend(fontsize=7)
    d = p.delta_input
    for k, ch in enumerate(lab0):
        s = min(int(d * (k + 1) // p.slices_per_phon), res.phoneme.shape[3] - 1)
        ax2.plot(res.phoneme[0, :, PHONEMES.index(ch), s], label=f"/{ch}/ @ {s}")
    ax2.set(xlabel="cycle", ylabel="activation", title="phonemes at their slices")
    ax2.legend(fontsize=6, ncol=2)
    prob = allopenna(aligned[:, watch], k=7.0)
    for n, j in enumerate(watch):
        ax3.plot(prob[:, n], label=lex.words[j])
    ax3.set(xlabel="cycle", ylabel="predicted fixation proportion", ylim=(0, 1),
            title="Luce choice (k = 7) x Δ, watched words")
    ax3.legend(fontsize=7)
    fig.tight_layout()
    summary = make_summary("McClelland & Elman (1986) Cognitive Psychology 18:1-86; jTRACE (Strauss, Harris & "
                           "Magnuson 2007)", PUBLISHED, ours, verdict, [random_state],
                           f"{n_cycles} cycles, {len(lex)} words", inputs=per_input,
                           checks=checks, **{k: v for k, v in per_input.items()})
    return {"store": res.to_store(), "figure": fig, "summary": summary}
