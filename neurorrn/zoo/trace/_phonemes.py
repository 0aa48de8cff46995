"""The default TRACE phoneme inventory and its feature definitions.

The 15 phonemes of TRACE (McClelland & Elman 1986) as defined in jTRACE's
``TracePhones.DefaultPhonDefs`` (Strauss, Harris & Magnuson 2007): seven feature continua
(POW power, VOC vocalic, DIF diffuseness, ACU acuteness, GRD gradual onset / consonantal,
VOI voicing, BUR burst), each a row of nine values, so a phoneme is a 63-vector of peak
values.  ``S`` is /ʃ/, ``^`` is /ʌ/ and ``-`` is silence.  These are jTRACE's values, which
differ from McClelland (1991) for /r/, /l/, /a/ and /^/.
"""

from __future__ import annotations

import numpy as np

#: Phoneme symbols in jTRACE's input alphabet (this order indexes the phoneme layer).
PHONEMES = ("p", "b", "t", "d", "k", "g", "s", "S", "r", "l", "a", "i", "u", "^", "-")
#: Names of the seven feature continua.
CONTINUA = ("POW", "VOC", "DIF", "ACU", "GRD", "VOI", "BUR")
#: Number of values per continuum.
N_VALUES = 9

_K = {4: 0.1, 5: 0.3, 6: 1.0, 7: 0.3, 8: 0.1}
# Per phoneme, per continuum: a 1-based bin that holds 1.0, or {bin: value} (empty: none).
_DEFS = {
    "p": (5, 8, 2, 7, 8, 8, {1: 1.0, 2: 0.2}),
    "b": (5, 8, 2, 7, 8, 2, {1: 0.2, 2: 1.0}),
    "t": (5, 8, 2, 2, 8, 8, {3: 1.0, 4: 0.2}),
    "d": (5, 8, 2, 2, 8, 2, {3: 0.2, 4: 1.0}),
    "k": (5, 8, 7, _K, 8, 8, {5: 1.0, 6: 0.2}),
    "g": (5, 8, 7, _K, 8, 2, {5: 0.2, 6: 1.0}),
    "s": (3, 5, 2, {1: 1.0, 2: 0.3, 3: 0.1}, 4, 8, {}),
    "S": (3, 5, 3, {3: 0.1, 4: 0.3, 5: 1.0, 6: 0.3, 7: 0.1}, 4, 8, {}),
    "r": (2, 2, {7: 0.5, 8: 1.0}, 7, 5, 1, {}),
    "l": (2, 2, {7: 1.0, 8: 0.5}, 5, 5, 1, {}),
    "a": (1, 1, 7, {6: 0.1, 7: 0.3, 8: 1.0}, 2, 1, {}),
    "i": (1, 1, 1, {1: 1.0, 2: 0.3, 3: 0.1}, 2, 1, {}),
    "u": (1, 1, 3, {5: 0.1, 6: 0.3, 7: 1.0, 8: 0.3}, 2, 1, {}),
    "^": (2, 1, 4, {6: 0.1, 7: 0.3, 8: 1.0}, 2, 1, {}),
    "-": (9, 9, 9, 9, 9, 9, 9),
}


def feature_names() -> list[str]:
    """The 63 feature-unit names, ``"POW1" ... "BUR9"`` (continuum-major)."""
    return [f"{c}{v + 1}" for c in CONTINUA for v in range(N_VALUES)]


def phoneme_features() -> np.ndarray:
    """The default phoneme definitions.

    Returns
    -------
    defs : array of shape (15, 63)
        Row ``i`` holds the peak feature values of :data:`PHONEMES` ``[i]``; columns follow
        :func:`feature_names`.
    """
    out = np.zeros((len(PHONEMES), len(CONTINUA) * N_VALUES))
    for i, ph in enumerate(PHONEMES):
        for c, spec in enumerate(_DEFS[ph]):
            items = {spec: 1.0} if isinstance(spec, int) else spec
            for b, v in items.items():
                out[i, c * N_VALUES + b - 1] = v
    return out
