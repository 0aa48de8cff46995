"""A registry of synthetic talkers (espeak-ng voice + variant + rate + pitch + pitch range).

Each talker is an ``en-us`` espeak-ng voice with a voice variant (``+m1`` ... ``+f5``) and its own
speaking rate (words/min), base pitch and pitch range (espeak's 0-99 scales).  All use the
``en-us`` phoneme table, so that a pronunciation forced through phoneme input (``[[...]]``)
means the same thing for every talker.  ``f0_hz`` is the F0 measured by autocorrelation on the
stressed vowel of "banana" / "mama" with espeak-ng 1.52 (see ``docs/speech.md``); it spans about
85-220 Hz, 6 male and 6 female talkers, mirroring EARSHOT's 10 macOS voices in spirit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..utils._check import check_option


@dataclass(frozen=True)
class Talker:
    """One synthetic talker.

    Attributes
    ----------
    name : str
        Registry key, used in stimulus ids (``"cat__m1"``).
    voice : str
        espeak-ng voice name with variant, e.g. ``"en-us+m1"``.
    rate : int
        Speaking rate in words per minute (espeak 80-450).
    pitch, range : int
        espeak base pitch and pitch range (0-99).
    sex : str
        ``"male"`` or ``"female"`` (of the voice variant).
    f0_hz : float
        Measured mean F0 of a stressed vowel (informative only).
    """

    name: str
    voice: str
    rate: int = 175
    pitch: int = 50
    range: int = 50
    sex: str = "male"
    f0_hz: float = float("nan")

    def to_dict(self) -> dict:
        return asdict(self)


_DEFAULT = (
    Talker("m1", "en-us+m1", 165, 40, 50, "male", 85.0),
    Talker("m2", "en-us+m2", 170, 40, 50, "male", 91.0),
    Talker("m3", "en-us+m3", 175, 50, 50, "male", 108.0),
    Talker("m4", "en-us+m4", 185, 50, 60, "male", 96.0),
    Talker("m5", "en-us-nyc+m5", 175, 50, 50, "male", 100.0),
    Talker("m7", "en-us+m7", 160, 55, 40, "male", 112.0),
    Talker("f1", "en-us+f1", 175, 50, 50, "female", 184.0),
    Talker("f2", "en-us+f2", 185, 45, 50, "female", 188.0),
    Talker("f3", "en-us+f3", 175, 50, 50, "female", 217.0),
    Talker("f4", "en-us+f4", 165, 50, 60, "female", 182.0),
    Talker("f5", "en-us+f5", 170, 40, 40, "female", 200.0),
    Talker("f1s", "en-us+f1", 150, 35, 30, "female", 170.0),
)

#: name -> :class:`Talker`; extend with :func:`register_talker`.
TALKERS: dict[str, Talker] = {t.name: t for t in _DEFAULT}

#: The default 10 talkers of a corpus (5 male, 5 female).
DEFAULT_TALKERS = ("m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "f4", "f5")


def get_talker(talker) -> Talker:
    """Return a :class:`Talker` from a name or a Talker.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the registered talkers.
    """
    if isinstance(talker, Talker):
        return talker
    if not isinstance(talker, str):
        raise TypeError(f"talker must be a talker name (str) or a Talker, got {type(talker).__name__}")
    if talker not in TALKERS:
        check_option(talker, list(TALKERS), "talker")
    return TALKERS[talker]


def register_talker(talker: Talker, overwrite: bool = False) -> Talker:
    """Add a talker to :data:`TALKERS` (``overwrite`` to replace one)."""
    if not isinstance(talker, Talker):
        raise TypeError(f"talker must be a Talker, got {type(talker).__name__}")
    if "__" in talker.name or "/" in talker.name or not talker.name:
        raise ValueError(f"talker name {talker.name!r} must be non-empty without '__' or '/'")
    if talker.name in TALKERS and not overwrite and TALKERS[talker.name] != talker:
        raise ValueError(f"talker {talker.name!r} is already registered; pass overwrite=True")
    TALKERS[talker.name] = talker
    return talker


def list_talkers():
    """The registry as a pandas DataFrame (one row per talker)."""
    import pandas as pd

    return pd.DataFrame([t.to_dict() for t in TALKERS.values()])
