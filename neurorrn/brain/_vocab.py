"""The vocabulary shared by stimulus timelines and the dataset event parsers.

Event kinds and their BIDS ``value`` codes, the labels that mark silence rather than a phone,
phone-label normalisation and the timeline error.  :mod:`.timeline` and :mod:`.events` both
import from here (and never from each other in a circle).
"""

from __future__ import annotations

import re

#: BIDS ``value`` code of each event kind.
KIND_CODES = {"sound": 1, "word": 2, "phone": 3}
#: Phone labels that mark silence or out-of-vocabulary material rather than a phone.
SILENCE_LABELS = {"", "SP", "SIL", "SPN", "H#", "PAU", "OOV", "N/A", "NAN", "<SIL>", "EPI"}
_STRESS = re.compile(r"[012]$")


class TimelineError(ValueError):
    """An event table that cannot be a timeline (bad columns, events outside the recording...)."""


def normalize_phone(label: str) -> tuple[str, str]:
    """Split a phone label into ``(ARPAbet without stress, position)``.

    Accepts MEG-MASC/LibriBrain ``'dh_B'`` (position suffix ``_B/_I/_E/_S``), Armeni
    ``'AH0'`` (stress digit) and plain ``'DH'``; the position is ``''`` when absent.
    """
    lab = str(label).strip().strip('"').strip("'")
    pos = ""
    m = re.match(r"^(.*)_([BIES])$", lab)
    if m:
        lab, pos = m.group(1), m.group(2)
    lab = _STRESS.sub("", lab).upper()
    return lab, pos


__all__ = ["KIND_CODES", "SILENCE_LABELS", "TimelineError", "normalize_phone"]
