"""Reading and writing audio files with errors that name the file.

RIFF/WAVE (PCM 8/16/24/32-bit, float) through :mod:`scipy.io.wavfile`, NIST SPHERE (TIMIT's
``.WAV``; uncompressed PCM only) by a small header parser, FLAC through the optional
``soundfile`` package.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np


class AudioFileError(ValueError):
    """An audio file that is missing, empty or cannot be decoded."""


def _to_float(data: np.ndarray) -> np.ndarray:
    if data.dtype.kind == "f":
        return data.astype(np.float32)
    if data.dtype == np.uint8:
        return ((data.astype(np.float32) - 128.0) / 128.0)
    return (data.astype(np.float32) / float(2 ** (8 * data.dtype.itemsize - 1)))


def read_sphere(path) -> tuple[np.ndarray, int]:
    """Read an uncompressed NIST SPHERE file (TIMIT ``.WAV``): (float32 audio, sfreq)."""
    path = Path(path)
    raw = path.read_bytes()
    if not raw.startswith(b"NIST_1A"):
        raise AudioFileError(f"{path}: not a NIST SPHERE file (no 'NIST_1A' header)")
    try:
        hdr_len = int(raw[8:16].strip())
        fields = {}
        for line in raw[16:hdr_len].decode("ascii", "replace").splitlines():
            parts = line.split(None, 2)
            if len(parts) == 3:
                fields[parts[0]] = parts[2].strip()
        sfreq = int(fields["sample_rate"])
        width = int(fields.get("sample_n_bytes", "2"))
        n_ch = int(fields.get("channel_count", "1"))
        coding = fields.get("sample_coding", "pcm")
        order = fields.get("sample_byte_format", "01")
    except (KeyError, ValueError) as err:
        raise AudioFileError(f"{path}: corrupt NIST SPHERE header ({err})") from None
    if "pcm" not in coding or "shorten" in coding or width != 2:
        raise AudioFileError(f"{path}: SPHERE coding {coding!r} with {width}-byte samples is not "
                             "supported (only uncompressed 16-bit PCM)")
    dt = np.dtype("<i2" if order == "01" else ">i2")
    body = raw[hdr_len:]
    if len(body) < 2:
        raise AudioFileError(f"{path}: SPHERE file has no samples")
    data = np.frombuffer(body[: len(body) // 2 * 2], dtype=dt)
    if n_ch > 1:
        data = data.reshape(-1, n_ch)[:, 0]
    return _to_float(data.astype(np.int16)), sfreq


_STREAMING_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF)  # "length unknown" markers of streaming writers


def wav_problem(path) -> str | None:
    """Why a RIFF/WAVE file is incomplete (truncated data chunk, missing header), or None.

    Reads only the chunk headers: cheap enough to run on every file of a corpus.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None  # not RIFF/WAVE: other readers judge it
        order = "little" if head[:4] == b"RIFF" else "big"
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            hdr = f.read(8)
            cid, n = hdr[:4], int.from_bytes(hdr[4:8], order)
            if cid == b"data":
                if n in _STREAMING_SIZES:
                    return None
                have = size - pos - 8
                if have < n:
                    return (f"truncated WAV: its data chunk declares {n} bytes but the file holds {have} "
                            f"({size} bytes in all)")
                return None
            pos += 8 + n + (n & 1)
        return f"truncated WAV: no complete data chunk in its {size} bytes"


def read_audio(path, name: str | None = None) -> tuple[np.ndarray, int]:
    """Read a mono sound as float32 in [-1, 1]: ``(audio, sfreq)``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    AudioFileError
        Empty file, no samples, or undecodable content; the message names the file (and the
        stimulus ``name`` when given).
    """
    path = Path(path)
    what = f"{path}" + (f" (stimulus {name!r})" if name else "")
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {what}")
    if path.stat().st_size == 0:
        raise AudioFileError(f"empty audio file (0 bytes): {what}")
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"NIST_1A"):
        audio, sfreq = read_sphere(path)
    elif path.suffix.lower() == ".flac" or head.startswith(b"fLaC"):
        try:
            import soundfile
        except ImportError:
            raise AudioFileError(f"{what}: reading FLAC needs the 'soundfile' package "
                                 "(pip install soundfile), or convert it to WAV") from None
        data, sfreq = soundfile.read(str(path), dtype="float32", always_2d=True)
        audio = data[:, 0]
    else:
        from scipy.io import wavfile

        problem = wav_problem(path)
        if problem:
            raise AudioFileError(f"{what}: {problem}")
        try:
            sfreq, data = wavfile.read(str(path))
        except Exception as err:  # noqa: BLE001 - scipy raises ValueError/struct errors
            raise AudioFileError(f"corrupt or unsupported WAV file {what}: {err}") from None
        if data.ndim == 2:
            data = data[:, 0]
        audio = _to_float(data)
    if audio.size == 0:
        raise AudioFileError(f"audio file has no samples: {what}")
    return audio, int(sfreq)


def wav_bytes(audio, sfreq: int) -> bytes:
    """16-bit PCM RIFF/WAVE bytes of float audio in [-1, 1] (clipped)."""
    from scipy.io import wavfile

    a = np.clip(np.asarray(audio, dtype=np.float64), -1.0, 32767 / 32768)
    buf = io.BytesIO()
    wavfile.write(buf, int(sfreq), np.round(a * 32768).astype(np.int16))
    return buf.getvalue()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
