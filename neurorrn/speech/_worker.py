"""Deterministic synthesis: every utterance starts from the engine's freshly initialised state.

espeak-ng keeps *static* state between utterances (the glottal-source phase and pitch
"flutter" counter, echo buffer, the random generator, ...): the same text synthesized twice in a
process gives different samples and a final-pause event that moves by a few samples, and
``espeak_Terminate`` + ``espeak_Initialize`` does not reset it.  The first utterance after
initialisation is reproducible, though.  So synthesis runs in a *server* process (a fresh interpreter
started with :mod:`subprocess`, so it is safe next to threads, torch or CUDA in the caller) that
initialises its one engine and never synthesizes itself: it loads the requested voice, then
``fork``\\ s a child per utterance (the server is single-threaded and small, so forking it is
safe and fast), the child synthesizes from the pristine state, sends its result back through a
pipe and exits.  Each server serves one voice, loaded once (espeak-ng 1.52 loses phoneme events
after ~25 voice loads without a synthesis in between).  A few ms per utterance buy
byte-identical output whatever the order, the process or the number of workers.
"""

from __future__ import annotations

import atexit
import os
import threading

import numpy as np

from ..utils._logging import logger
from ._espeak_server import _recv, _send  # the pipe protocol: the server's own (stdlib only)


class SynthServer:
    """A separate small Python process (``_espeak_server.py``) holding one espeak-ng engine;
    each request is synthesized in a pristine forked child of it."""

    def __init__(self, voice: str):
        import subprocess
        import sys
        from pathlib import Path

        r_req, w_req = os.pipe()   # parent -> server
        r_res, w_res = os.pipe()   # server -> parent
        script = Path(__file__).with_name("_espeak_server.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(r_req), str(w_res), str(int(logger.getEffectiveLevel())),
             voice],
            pass_fds=(r_req, w_res), stdin=subprocess.DEVNULL, close_fds=True)
        os.close(r_req)
        os.close(w_res)
        self._out = os.fdopen(w_req, "wb")
        self._in = os.fdopen(r_res, "rb")
        self._lock = threading.Lock()
        try:
            status, info = _recv(self._in)
        except EOFError:
            self.close()
            raise RuntimeError("the espeak-ng synthesis server exited during start-up") from None
        if status != "ready":
            self.close()
            from ._espeak import EspeakUnavailableError

            raise EspeakUnavailableError(info)
        self.version = info
        self.voice = voice

    def fileno(self) -> int:
        return self._in.fileno()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def submit(self, batch) -> None:
        """Send requests ``(text, voice, rate, pitch, prange, volume, phoneme_input)``."""
        _send(self._out, list(batch))

    def collect(self) -> list:
        """Replies to the last batch: ``[("ok", RawSynthesis) | ("err", message), ...]``."""
        from ._espeak import RawSynthesis

        out = []
        for status, val in _recv(self._in):
            if status == "ok":
                audio, sr, ph, words = val
                val = RawSynthesis(np.frombuffer(audio, dtype=np.int16).copy(), int(sr), ph, words)
            out.append((status, val))
        return out

    def run(self, batch) -> list:
        """Synthesize each request in a fresh child; raise on the first failure."""
        with self._lock:
            self.submit(batch)
            out = self.collect()
        values = []
        for status, val in out:
            if status == "err":
                raise RuntimeError(f"espeak-ng synthesis failed: {val}")
            values.append(val)
        return values

    def close(self) -> None:
        try:
            _send(self._out, None)
            self._out.close()
        except Exception:  # noqa: BLE001
            pass
        try:
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            self.proc.kill()
        try:
            self._in.close()
        except Exception:  # noqa: BLE001
            pass


_SERVERS: dict[str, SynthServer] = {}
_SERVER_LOCK = threading.Lock()


def server_for(voice: str) -> SynthServer:
    """The process-wide synthesis server for ``voice`` (started on first use, stopped at exit).

    One server per voice: a server loads its voice once and never switches (see
    ``_espeak_server.py``), so every utterance starts from "engine initialised + voice loaded".
    """
    with _SERVER_LOCK:
        srv = _SERVERS.get(voice)
        if srv is None or not srv.alive():
            srv = SynthServer(voice)
            _SERVERS[voice] = srv
            atexit.register(srv.close)
        return srv


def run_requests(requests) -> list:
    """Synthesize espeak requests (grouped by voice, each on its voice's server); keep order."""
    out = [None] * len(requests)
    by_voice: dict[str, list[int]] = {}
    for i, req in enumerate(requests):
        by_voice.setdefault(req[1], []).append(i)
    for voice, idx in by_voice.items():
        for i, raw in zip(idx, server_for(voice).run([requests[i] for i in idx])):
            out[i] = raw
    return out


def isolation_supported() -> bool:
    return hasattr(os, "fork")
