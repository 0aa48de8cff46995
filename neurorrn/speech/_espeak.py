"""espeak-ng through ctypes, in synchronous mode with phoneme events.

The library comes from the ``espeakng-loader`` wheel by default (espeak-ng 1.52, with its own
data) and Debian's ``libespeak-ng1`` (1.51) is the fallback.  Only one library, and one
initialised engine, may live in a process: espeak-ng keeps global state, so parallel synthesis
uses several processes (see :func:`neurorrn.speech.corpus.build_corpus`), never threads.

Event semantics (checked against the acoustics, see ``docs/speech.md``):

- a ``PHONEME`` event's ``sample`` is the sample index (at the engine's native 22050 Hz) where
  that phoneme starts, counted from the start of the message;
- a stop consonant's event marks its *release burst*; the closure silence before it belongs to the
  preceding segment;
- ``_:`` and ``_`` are the utterance-final pauses, whose length varies from run to run by a few
  samples (so callers trim the final pause to a fixed length);
- espeak-ng 1.52 prefixes stressed phoneme names with ``'`` or ``,``; 1.51 does not.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import logging

# no package imports here: the synthesis server (_espeak_server.py) loads this file on its own
logger = logging.getLogger("neurorrn")

# espeak_ng constants (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_PHONEME_INPUT = 0x100  # espeakPHONEMES: text between [[ ]] is phoneme mnemonics
_EV_LIST_TERMINATED, _EV_WORD, _EV_SENTENCE, _EV_MARK, _EV_PLAY, _EV_END = 0, 1, 2, 3, 4, 5
_EV_MSG_TERMINATED, _EV_PHONEME = 6, 7
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}

#: Native output rate of espeak-ng (Hz).
NATIVE_SFREQ = 22050


class _ID(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _ID)]


_SYNTH_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


class EspeakUnavailableError(RuntimeError):
    """No espeak-ng shared library could be loaded."""


def _candidates() -> list[tuple[str, str, str | None]]:
    """(label, library path, data path or None) in order of preference."""
    out = []
    env = os.environ.get("NEURORRN_ESPEAK_LIBRARY")
    if env:
        out.append(("NEURORRN_ESPEAK_LIBRARY", env, os.environ.get("NEURORRN_ESPEAK_DATA")))
    try:
        import espeakng_loader

        out.append(("espeakng-loader", espeakng_loader.get_library_path(),
                    espeakng_loader.get_data_path()))
    except Exception as err:  # noqa: BLE001 - optional dependency
        logger.debug("espeakng-loader not usable: %s", err)
    sys_lib = ctypes.util.find_library("espeak-ng")
    for name in filter(None, [sys_lib, "libespeak-ng.so.1", "libespeak-ng.so"]):
        out.append(("system", name, None))
    return out


def _load_library():
    errors = []
    for label, path, data in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as err:
            errors.append(f"{label} ({path}): {err}")
            continue
        return label, path, data, lib
    raise EspeakUnavailableError(
        "could not load an espeak-ng library; install the Python package 'espeakng-loader' "
        "(pip install espeakng-loader) or Debian's libespeak-ng1 (apt-get install libespeak-ng1). "
        "Tried: " + "; ".join(errors or ["nothing found"]))


@dataclass
class RawSynthesis:
    """Raw engine output: int16 audio at :data:`NATIVE_SFREQ`, events as (name, sample)."""

    audio: object  # np.ndarray of int16 (or its bytes)
    sfreq: int
    phonemes: list = field(default_factory=list)   # [(espeak name incl. stress marks, sample)]
    words: list = field(default_factory=list)      # [(text_position (1-based), length, sample)]


class Engine:
    """One initialised espeak-ng engine (use :func:`get_engine`: one per process)."""

    def __init__(self):
        self.source, self.library_path, data, lib = _load_library()
        self.lib = lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.espeak_Info.restype = ctypes.c_char_p
        self._set_seed = getattr(lib, "espeak_ng_SetRandSeed", None)
        if self._set_seed is not None:
            self._set_seed.argtypes = [ctypes.c_long]
            self._set_seed.restype = None
        opts = _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT
        sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode() if data else None, opts)
        if sr <= 0:
            raise EspeakUnavailableError(
                f"espeak_Initialize failed (returned {sr}) for {self.library_path} with data {data}")
        self.sfreq = int(sr)
        self.data_path = data
        self.version = (lib.espeak_Info(None) or b"?").decode("utf-8", "replace")
        self._cb = _SYNTH_CB(self._callback)  # keep a reference: ctypes would free it
        lib.espeak_SetSynthCallback(self._cb)
        self._lock = threading.Lock()
        self._voice = None
        self._chunks: list = []
        self._ph: list = []
        self._w: list = []

    def seed(self, value: int = 0) -> None:
        """Seed espeak-ng's noise generator (``espeak_ng_SetRandSeed``, where available)."""
        if self._set_seed is not None:
            self._set_seed(int(value))

    def _callback(self, wav, n, ev):
        if n > 0:
            self._chunks.append(ctypes.string_at(wav, 2 * n))
        i = 0
        while ev[i].type != _EV_LIST_TERMINATED:
            e = ev[i]
            if e.type == _EV_PHONEME:
                self._ph.append((e.id.string.decode("utf-8", "replace"), int(e.sample)))
            elif e.type == _EV_WORD:
                self._w.append((int(e.text_position), int(e.length), int(e.sample)))
            i += 1
        return 0

    def synth(self, text: str, voice: str, rate: int = 175, pitch: int = 50, prange: int = 50,
              volume: int = 100, phoneme_input: bool = False, as_bytes: bool = False) -> RawSynthesis:
        """Synthesize ``text`` with ``voice`` (e.g. ``"en-us+f3"``) and return audio + events.

        With ``phoneme_input`` the text may contain ``[[...]]`` espeak phoneme mnemonics.
        """
        with self._lock:
            if voice != self._voice:
                if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                    raise ValueError(f"espeak-ng does not know the voice {voice!r} "
                                     f"(library {self.library_path}, version {self.version})")
                self._voice = voice
            for key, val in (("rate", rate), ("pitch", pitch), ("range", prange), ("volume", volume)):
                self.lib.espeak_SetParameter(_PARAM[key], int(val), 0)
            self._chunks, self._ph, self._w = [], [], []
            buf = ctypes.create_string_buffer(text.encode("utf-8"))
            flags = _CHARS_UTF8 | (_PHONEME_INPUT if phoneme_input else 0)
            err = self.lib.espeak_Synth(buf, len(buf), 0, 0, 0, flags, None, None)
            if err != 0:
                raise RuntimeError(f"espeak_Synth failed with code {err} for text {text!r}")
            self.lib.espeak_Synchronize()
            audio = b"".join(self._chunks)
            if not as_bytes:  # the synthesis server does without numpy (a small process forks fast)
                import numpy as np

                audio = np.frombuffer(audio, dtype=np.int16).copy()
            return RawSynthesis(audio, self.sfreq, list(self._ph), list(self._w))


_ENGINE: Engine | None = None


def get_engine() -> Engine:
    """The process's single espeak-ng engine (created on first use).

    A forked child inherits its parent's engine, state included; that is what
    :mod:`neurorrn.speech._worker` relies on to start every utterance from the same state.
    """
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine()
        logger.debug("espeak-ng %s loaded from %s (%s)", _ENGINE.version, _ENGINE.library_path,
                     _ENGINE.source)
    return _ENGINE


def library_status() -> str:
    """One line for ``neurorrn info``: which espeak-ng library loads, its version, or why not."""
    try:
        eng = get_engine()
    except Exception as err:  # noqa: BLE001 - reported, not raised
        return f"does not load: {err}"
    return f"{eng.version} from {eng.source} ({Path(eng.library_path).name}), {eng.sfreq} Hz"


def is_available() -> bool:
    """Whether an espeak-ng library loads and initialises in this process."""
    try:
        get_engine()
    except Exception:  # noqa: BLE001
        return False
    return True
