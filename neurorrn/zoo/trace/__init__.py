"""TRACE (McClelland & Elman 1986), faithful to jTRACE (Strauss, Harris & Magnuson 2007).

Vectorised over inputs: a whole lexicon of inputs runs as one batched simulation.
See :mod:`neurorrn.zoo.trace._net` for the dynamics and where they differ from jTRACE, and
:mod:`neurorrn.zoo.trace._readout` for the readouts (recognition criteria and RTs, per-word RT
tables, Allopenna-style Luce scaling, ambiguous-phoneme inputs).
"""

from ._lexicon import Lexicon, check_trace_string, read_jt_lexicon, write_jt_lexicon
from ._model import TRACE_TO_ARPABET, TraceResult, TraceSubject, luce_choice, simulate
from ._net import TraceNetwork, aligned_slice, make_input
from ._params import TraceParams
from ._phonemes import CONTINUA, PHONEMES, feature_names, phoneme_features
from ._readout import CRITERIA, allopenna, ambiguous_input, recognition_cycle, recognition_times, rt_table

__all__ = [
    "CRITERIA", "allopenna", "ambiguous_input", "recognition_cycle", "recognition_times", "rt_table",
    "CONTINUA", "Lexicon", "PHONEMES", "TRACE_TO_ARPABET", "TraceNetwork", "TraceParams", "TraceResult",
    "TraceSubject", "aligned_slice", "check_trace_string", "feature_names", "luce_choice", "make_input",
    "phoneme_features", "read_jt_lexicon", "simulate", "write_jt_lexicon",
]
