"""Stand-alone synthesis server (run as a script by :mod:`neurorrn.speech._worker`).

It loads ``_espeak.py`` by path (not the ``neurorrn`` package, to stay small: forking a small
process is fast), initialises the engine, and for each request forks a child that synthesizes
from the engine's pristine state.  Protocol on two pipes: 8-byte little-endian length + pickle.
Each server serves ONE voice, loaded once at start-up: espeak-ng 1.52 loses phoneme events
after ~25 voice loads without synthesis in between, so a server never switches voices.
Request: ``[(text, voice, rate, pitch, prange, volume, phoneme_input), ...]`` or ``None`` (quit).
Reply: ``[("ok", (audio int16 bytes, sfreq, phonemes, words)) | ("err", message), ...]``.
"""

import importlib.util
import os
import pickle
import struct
import sys


def _send(f, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(struct.pack("<Q", len(data)))
    f.write(data)
    f.flush()


def _recv(f):
    head = f.read(8)
    if len(head) < 8:
        raise EOFError("synthesis server pipe closed")
    (n,) = struct.unpack("<Q", head)
    data = f.read(n)
    if len(data) < n:
        raise EOFError("synthesis server pipe closed mid-message")
    return pickle.loads(data)


def _child(eng, req):
    text, voice, rate, pitch, prange, volume, phon = req
    eng.seed(0)
    raw = eng.synth(text, voice, rate=rate, pitch=pitch, prange=prange, volume=volume,
                    phoneme_input=phon, as_bytes=True)
    return raw.audio, raw.sfreq, raw.phonemes, raw.words


def _fork_one(eng, req):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            try:
                res = ("ok", _child(eng, req))
            except BaseException as err:  # noqa: BLE001
                res = ("err", f"{type(err).__name__}: {err}")
            with os.fdopen(w, "wb") as f:
                f.write(pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        return ("err", f"synthesis child died (wait status {status})")
    return pickle.loads(data)


def main(fd_in, fd_out, level, voice):
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("_neurorrn_espeak", os.path.join(here, "_espeak.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    mod.logger.setLevel(level)
    fin, fout = os.fdopen(fd_in, "rb"), os.fdopen(fd_out, "wb")
    try:
        eng = mod.get_engine()
    except BaseException as err:  # noqa: BLE001
        _send(fout, ("err", f"{type(err).__name__}: {err}"))
        return
    if eng.lib.espeak_SetVoiceByName(voice.encode()) != 0:
        _send(fout, ("err", f"ValueError: espeak-ng does not know the voice {voice!r}"))
        return
    eng._voice = voice
    _send(fout, ("ready", eng.version))
    while True:
        try:
            batch = _recv(fin)
        except EOFError:
            break
        if batch is None:
            break
        out = []
        for req in batch:
            if req[1] != voice:
                out.append(("err", f"RuntimeError: this server serves voice {voice!r}, not {req[1]!r}"))
                continue
            out.append(_fork_one(eng, req))
        _send(fout, out)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
