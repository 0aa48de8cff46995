"""A small TRACE simulation for the registry and the command line."""

from __future__ import annotations

from ._lexicon import read_jt_lexicon
from ._model import simulate
from ._params import TraceParams


def demo(lexicon=None, inputs=("-^br^pt-",), n_cycles: int = 100, random_state=0, **params):
    """Run TRACE on ``inputs``; return ``{"store": Dataset, "summary": {input: winner}}``.

    Parameters
    ----------
    lexicon : path-like, Lexicon or None
        A jTRACE ``.jt`` lexicon; ``None`` needs the path (no lexicon ships with the package).
    inputs : sequence of str
    n_cycles : int
    **params
        :class:`TraceParams` fields.
    """
    from ._lexicon import Lexicon

    if lexicon is None:
        raise ValueError("TRACE needs a lexicon: pass lexicon=PATH to a jTRACE .jt file (e.g. slex.jt)")
    lex = lexicon if isinstance(lexicon, Lexicon) else read_jt_lexicon(lexicon)
    res = simulate(list(inputs), lex, TraceParams(**params), n_cycles, random_state=random_state)
    summary = {}
    for i, lab in enumerate(res.inputs):
        word, slc = res.winner(i)
        summary[lab] = {"winner": word, "slice": slc,
                        "winner_final_activation": float(res.word_activation(word, i, slc)[-1])}
    return {"store": res.to_store(), "summary": summary}
