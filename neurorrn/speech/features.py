"""Acoustic features as ``xarray.DataArray`` (stimulus, time, frequency).

Kernels on plain arrays (``audio`` 1-D float, ``sfreq`` Hz) return ``(n_frames, n_bands)``:

- :func:`earshot_spectrogram`: EARSHOT's front end exactly (Magnuson et al. 2020,
  ``Audio.py``/``Pattern_Generator.py`` at commit 9bbc247): resample to 8 kHz, pre-emphasis 0.97,
  STFT with n_fft 510, a 10 ms (80-sample) Hann window zero-padded to 510 and centred, 10 ms hop,
  ``center=True`` with reflect padding (librosa <0.10 default), 256 bins over 0-4 kHz; then
  ``S = 20*log10(max(1e-5, |X|)) - 20`` dB and ``clip((S + 100)/100, 0, 1)``.  One second at
  8 kHz gives 101 frames; digital silence maps to 0.  EARSHOT also trims leading/trailing
  silence (``librosa.effects.trim``) when loading; we do not, because our tokens are aligned and
  their final pause is already fixed (``trim=True`` does it, as librosa 0.7's ``trim``).
- :func:`gammatone_spectrogram`: a 64-band gammatone filterbank, ERB-spaced centre frequencies
  from 50 Hz to 10 kHz (Glasberg & Moore 1990; Slaney's 4th-order filters via
  :func:`scipy.signal.gammatone`), squared and averaged in 10 ms frames, then the square root,
  i.e. the RMS amplitude per band and frame as ``gammatone.gtgram`` (used by eelbrain's
  ``gammatone_bank`` in Brodbeck et al. 2025).  Linear, no log, unless ``log=True``; ``power=True``
  squares it (mean power per frame).  Audio is
  resampled (to 24 kHz for the defaults) so the top band is below Nyquist and a frame is a
  whole number of samples; for 16 kHz audio the bands
  above 8 kHz carry no energy.
- :func:`logmel_spectrogram`: log power through a Slaney mel filterbank (25 ms Hann window,
  10 ms hop).
- :func:`envelope` / :func:`onsets`: the broadband envelope (RMS per 10 ms frame) and its
  half-wave-rectified first difference.

Frames are computed from the token's own samples only (the STFT/frames see no future beyond the
window), and no normalisation uses statistics of the token.  For networks that learn,
standardise with :class:`FeatureScaler`, fitted on *training* items and applied per frame.
"""

from __future__ import annotations

from math import gcd

import numpy as np
import pandas as pd
import xarray as xr

from .._dims import FREQUENCY, STIMULUS, TIME
from ..utils._check import check_ndim, check_option, check_positive
from ..utils._logging import progress

FEATURE_KINDS = ("earshot", "gammatone", "logmel", "envelope", "onsets")


#: below this rate a recording cannot hold speech (its Nyquist frequency is under the first formant)
MIN_AUDIO_SFREQ = 1000.0


def _check_audio(audio, sfreq, name="audio"):
    a = check_ndim(np.asarray(audio), 1, name)
    if a.size == 0:
        raise ValueError(f"{name} is empty (0 samples)")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains non-finite samples")
    check_positive(sfreq, "sfreq")
    if sfreq < MIN_AUDIO_SFREQ:
        raise ValueError(f"{name}: sfreq={sfreq:g} Hz is too low for speech audio (features need at least "
                         f"{MIN_AUDIO_SFREQ:g} Hz; speech corpora are usually 16000 Hz): is the file's rate wrong?")
    return a.astype(np.float64)


def resample(audio, sfreq_in, sfreq_out) -> np.ndarray:
    """Polyphase resampling (:func:`scipy.signal.resample_poly`) between integer rates."""
    from scipy.signal import resample_poly

    sfreq_in, sfreq_out = int(round(sfreq_in)), int(round(sfreq_out))
    if sfreq_in == sfreq_out:
        return np.asarray(audio, dtype=np.float64)
    g = gcd(sfreq_in, sfreq_out)
    out = resample_poly(np.asarray(audio, dtype=np.float64), sfreq_out // g, sfreq_in // g)
    return out[: int(np.ceil(len(audio) * sfreq_out / sfreq_in))]


def _stft_mag(y, n_fft, hop, win_length, pad_mode="reflect"):
    """|STFT| as librosa (center=True): window zero-padded to n_fft and centred."""
    from scipy.signal import get_window

    win = get_window("hann", win_length, fftbins=True)
    lpad = (n_fft - win_length) // 2
    window = np.zeros(n_fft)
    window[lpad: lpad + win_length] = win
    pad = n_fft // 2
    if pad_mode == "reflect" and y.size <= pad:
        pad_mode = "constant"  # reflect padding needs more samples than the pad
    y = np.pad(y, pad, mode=pad_mode)
    n_frames = 1 + (y.size - n_fft) // hop
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[: n_frames * hop : hop] * window
    return np.abs(np.fft.rfft(frames, n=n_fft, axis=1))


def earshot_trim_bounds(y, top_db: float = 60.0, frame_length: int = 32, hop_length: int = 16):
    """``(start, end)`` samples kept by ``librosa.effects.trim(y, top_db=60, frame_length=32,
    hop_length=16)`` as EARSHOT calls it when loading (librosa <0.10: centred RMS frames with
    reflect padding; a frame is silent when its power is more than ``top_db`` below the
    loudest frame's)."""
    y = np.asarray(y, dtype=np.float64)
    pad = frame_length // 2
    yp = np.pad(y, pad, mode="reflect" if y.size > pad else "constant")
    n = 1 + (yp.size - frame_length) // hop_length
    idx = np.arange(frame_length)[None, :] + hop_length * np.arange(n)[:, None]
    mse = np.mean(yp[idx] ** 2, axis=1)
    db = 10 * np.log10(np.maximum(1e-10, mse)) - 10 * np.log10(max(1e-10, mse.max()))
    nz = np.flatnonzero(db > -top_db)
    if nz.size == 0:
        return 0, 0
    return int(nz[0] * hop_length), int(min(y.size, (nz[-1] + 1) * hop_length))


def earshot_spectrogram(audio, sfreq, trim: bool = False) -> np.ndarray:
    """EARSHOT's 256-bin spectrogram of one sound.

    Parameters
    ----------
    audio : array of shape (n_samples,)
    sfreq : float
        Sampling rate of ``audio``; resampled to 8 kHz first.
    trim : bool
        Trim leading/trailing silence as EARSHOT's loader does (:func:`earshot_trim_bounds`,
        after resampling to 8 kHz).  Off by default: it shifts frames relative to alignments
        (:func:`compute_features` records the shift in the ``offset`` coord).

    Returns
    -------
    array of float32, shape (n_frames, 256)
        ``n_frames = 1 + n_samples_8k // 80``; values in [0, 1]; bins at ``k * 8000/510`` Hz.
    """
    y = _check_audio(audio, sfreq)
    y = resample(y, sfreq, 8000)
    if trim:
        a, b = earshot_trim_bounds(y)
        y = y[a:b]
    y = np.append(y[0], y[1:] - 0.97 * y[:-1])  # pre-emphasis, scipy.signal.lfilter([1, -.97], [1], y)
    mag = _stft_mag(y, n_fft=510, hop=80, win_length=80)
    s = 20.0 * np.log10(np.maximum(1e-5, mag)) - 20.0
    return np.clip((s + 100.0) / 100.0, 0.0, 1.0).astype(np.float32)


def earshot_frequencies() -> np.ndarray:
    """Centre frequencies (Hz) of EARSHOT's 256 bins."""
    return np.arange(256) * 8000.0 / 510


def erb_space(fmin: float, fmax: float, n: int) -> np.ndarray:
    """``n`` ERB-spaced frequencies from ``fmin`` to ``fmax`` (Glasberg & Moore 1990), ascending."""
    ear_q, min_bw = 9.26449, 24.7
    lo = np.log(fmin + ear_q * min_bw)
    hi = np.log(fmax + ear_q * min_bw)
    return np.exp(np.linspace(lo, hi, n)) - ear_q * min_bw


def gammatone_sos(cfs, sfreq) -> list[np.ndarray]:
    """4th-order gammatone filters as cascades of 4 biquads (Slaney 1993, Apple TR #35).

    The direct (b, a) form of :func:`scipy.signal.gammatone` is numerically unstable for low
    centre frequencies at audio rates (poles close to z = 1), so each filter is built as Slaney's
    four second-order sections sharing one pole pair, with bandwidth ``1.019 * ERB(cf)``,
    ``ERB = cf / 9.26449 + 24.7`` (Glasberg & Moore 1990), and normalised to unit gain at ``cf``.

    Returns
    -------
    list of arrays of shape (4, 6)
        ``sos`` arrays for :func:`scipy.signal.sosfilt`, one per centre frequency.
    """
    from scipy.signal import sosfreqz

    T = 1.0 / float(sfreq)
    out = []
    rt_pos, rt_neg = np.sqrt(3 + 2 ** 1.5), np.sqrt(3 - 2 ** 1.5)
    for cf in np.atleast_1d(cfs):
        erb = cf / 9.26449 + 24.7
        bw = 1.019 * 2 * np.pi * erb
        arg = 2 * np.pi * cf * T
        den = [1.0, -2 * np.cos(arg) * np.exp(-bw * T), np.exp(-2 * bw * T)]
        common = -T * np.exp(-bw * T)
        sos = np.array([[T, common * (np.cos(arg) + r * np.sin(arg)), 0.0, *den]
                        for r in (rt_pos, -rt_pos, rt_neg, -rt_neg)])
        _, h = sosfreqz(sos, worN=[cf], fs=sfreq)
        sos[0, :3] /= np.abs(h[0])
        out.append(sos)
    return out


def gammatone_spectrogram(audio, sfreq, n_bands: int = 64, fmin: float = 50.0,
                          fmax: float = 10000.0, frame_rate: float = 100.0,
                          log: bool = False, power: bool = False) -> np.ndarray:
    """Gammatone filterbank RMS amplitude (or mean power) per band and frame (Brodbeck et al. 2025 input).

    ``power=True`` gives the mean power (the square of the RMS amplitude) per frame: the linear
    power of Brodbeck et al.'s ``gammatone_bank`` input.

    Returns
    -------
    array of float32, shape (n_frames, n_bands)
        ``n_frames = n_samples_resampled // hop``; frame t covers samples
        ``[t*hop, (t+1)*hop)`` (causal, no centring).  Bands ascend in frequency
        (:func:`erb_space`).  With ``log=True``, ``log10(rms + 1e-5)``.
    """
    from scipy.signal import sosfilt

    y = _check_audio(audio, sfreq)
    fs = float(sfreq)
    hop = fs / frame_rate
    if fs < 2.2 * fmax or abs(hop - round(hop)) > 1e-9:
        # resample to a rate that puts fmax well below Nyquist and is a multiple of frame_rate
        target = int(frame_rate * np.ceil(max(2.4 * fmax, fs) / frame_rate))
        y = resample(y, fs, target)
        fs = float(target)
        hop = fs / frame_rate
    hop = int(round(hop))
    cfs = erb_space(fmin, fmax, n_bands)
    n_frames = y.size // hop
    out = np.zeros((n_frames, n_bands), np.float64)
    for k, sos in enumerate(gammatone_sos(cfs, fs)):
        z = sosfilt(sos, y)[: n_frames * hop]
        out[:, k] = np.sqrt(np.mean(z.reshape(n_frames, hop) ** 2, axis=1))
    if power:
        out = out ** 2
    if log:
        out = np.log10(out + 1e-5)
    return out.astype(np.float32)


def mel_filterbank(sfreq: float, n_fft: int, n_mels: int = 64, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Slaney-style mel filterbank (area-normalised triangles), shape (n_mels, n_fft//2+1)."""
    fmax = sfreq / 2 if fmax is None else fmax

    def hz_to_mel(f):
        f = np.asarray(f, float)
        lin = f / (200.0 / 3)
        return np.where(f >= 1000, 15 + np.log(np.maximum(f, 1e-9) / 1000) / (np.log(6.4) / 27), lin)

    def mel_to_hz(m):
        m = np.asarray(m, float)
        return np.where(m >= 15, 1000 * np.exp((np.log(6.4) / 27) * (m - 15)), m * 200.0 / 3)

    freqs = np.linspace(0, sfreq / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fb = np.zeros((n_mels, freqs.size))
    for i in range(n_mels):
        lo, c, hi = edges[i], edges[i + 1], edges[i + 2]
        up = (freqs - lo) / (c - lo)
        down = (hi - freqs) / (hi - c)
        fb[i] = np.maximum(0, np.minimum(up, down)) * 2.0 / (hi - lo)
    return fb


def mel_frequencies(sfreq, n_mels=64, fmin=0.0, fmax=None, n_fft=400) -> np.ndarray:
    """Centre frequencies of :func:`mel_filterbank` bands (Hz)."""
    fb = mel_filterbank(sfreq, n_fft, n_mels, fmin, fmax)
    freqs = np.linspace(0, sfreq / 2, n_fft // 2 + 1)
    return freqs[np.argmax(fb, axis=1)]


def logmel_spectrogram(audio, sfreq, n_mels: int = 64, win_ms: float = 25.0, hop_ms: float = 10.0,
                       fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """``log(mel power + 1e-10)``, shape (n_frames, n_mels); ``n_frames = 1 + n // hop`` (centred)."""
    y = _check_audio(audio, sfreq)
    win = int(round(win_ms * sfreq / 1000))
    hop = int(round(hop_ms * sfreq / 1000))
    n_fft = 1 << int(np.ceil(np.log2(win)))
    mag = _stft_mag(y, n_fft=n_fft, hop=hop, win_length=win)
    fb = mel_filterbank(sfreq, n_fft, n_mels, fmin, fmax)
    return np.log(mag ** 2 @ fb.T + 1e-10).astype(np.float32)


def envelope(audio, sfreq, frame_rate: float = 100.0) -> np.ndarray:
    """Broadband envelope: RMS of each frame ``[t*hop, (t+1)*hop)``, shape (n_frames, 1)."""
    y = _check_audio(audio, sfreq)
    hop = int(round(sfreq / frame_rate))
    n = y.size // hop
    return np.sqrt(np.mean(y[: n * hop].reshape(n, hop) ** 2, axis=1))[:, None].astype(np.float32)


def onsets(audio, sfreq, frame_rate: float = 100.0) -> np.ndarray:
    """Half-wave-rectified first difference of :func:`envelope` (first frame: the envelope)."""
    env = envelope(audio, sfreq, frame_rate)[:, 0].astype(np.float64)
    d = np.diff(env, prepend=0.0)
    return np.maximum(d, 0.0)[:, None].astype(np.float32)


def feature_kernel(kind: str, **params):
    """``(fn(audio, sfreq) -> (n_frames, n_bands), frequencies, frame_rate)`` for ``kind``."""
    check_option(kind, FEATURE_KINDS, "kind")
    if kind == "earshot":
        if set(params) - {"trim"}:
            raise TypeError(f"kind='earshot' takes only 'trim' (the rest is fixed), got {sorted(params)}")
        trim = bool(params.get("trim", False))
        return (lambda a, s: earshot_spectrogram(a, s, trim=trim)), earshot_frequencies(), 100.0
    if kind == "gammatone":
        p = {"n_bands": 64, "fmin": 50.0, "fmax": 10000.0, "frame_rate": 100.0, "log": False, "power": False,
             **params}
        return ((lambda a, s: gammatone_spectrogram(a, s, **p)),
                erb_space(p["fmin"], p["fmax"], p["n_bands"]), p["frame_rate"])
    if kind == "logmel":
        p = {"n_mels": 64, "win_ms": 25.0, "hop_ms": 10.0, "fmin": 0.0, "fmax": None, **params}

        def fn(a, s):
            return logmel_spectrogram(a, s, **p)

        return fn, None, 1000.0 / p["hop_ms"]
    fr = params.pop("frame_rate", 100.0)
    if params:
        raise TypeError(f"kind={kind!r} takes only frame_rate, got {sorted(params)}")
    fn = envelope if kind == "envelope" else onsets
    return (lambda a, s: fn(a, s, fr)), np.array([0.0]), fr


#: Default parameters of each feature kernel (what a bundle records next to the given ones).
FEATURE_DEFAULTS = {
    "earshot": {"trim": False},
    "gammatone": {"n_bands": 64, "fmin": 50.0, "fmax": 10000.0, "frame_rate": 100.0, "log": False, "power": False},
    "logmel": {"n_mels": 64, "win_ms": 25.0, "hop_ms": 10.0, "fmin": 0.0, "fmax": None},
    "envelope": {"frame_rate": 100.0},
    "onsets": {"frame_rate": 100.0},
}


def feature_params(kind: str, **params) -> dict:
    """The complete parameters ``kind`` is computed with: the defaults updated with ``params``.

    Unknown parameter names raise an error listing the allowed ones.
    """
    check_option(kind, FEATURE_KINDS, "kind")
    allowed = FEATURE_DEFAULTS[kind]
    bad = sorted(set(params) - set(allowed))
    if bad:
        raise TypeError(f"feature kind {kind!r} has no parameter(s) {bad}; allowed: {sorted(allowed)}")
    out = {**allowed, **params}
    for k, v in out.items():  # canonical types so that recorded and given settings compare equal
        if isinstance(allowed[k], float) and isinstance(v, int) and not isinstance(v, bool):
            out[k] = float(v)
    return out


def compute_features(source, kind: str = "earshot", *, sfreq: float | None = None,
                     stimulus=None, verbose=None, **params) -> xr.DataArray:
    """Features of a corpus or a list of sounds as a NaN-padded DataArray.

    Parameters
    ----------
    source : Corpus | sequence of 1-D arrays | sequence of (array, sfreq)
        A :class:`~neurorrn.speech.corpus.Corpus` (all its items, or those in ``stimulus``) or
        sounds.
    kind : {'earshot', 'gammatone', 'logmel', 'envelope', 'onsets'}
    sfreq : float | None
        Sampling rate of plain arrays (not needed for a corpus or (array, sfreq) pairs).
    stimulus : sequence of str | None
        Stimulus ids (for a corpus: a subset; for arrays: names, default ``"0", "1", ...``).
    **params
        Kernel parameters (e.g. ``n_bands`` for gammatone, ``n_mels`` for logmel).

    Returns
    -------
    DataArray of float32, dims ("stimulus", "time", "frequency")
        NaN past each token's end.  Coords: ``stimulus``, ``time`` (s, frame start),
        ``frequency`` (Hz; 0 for the broadband envelope/onsets), per-stimulus ``n_frames``,
        ``offset`` (s of audio trimmed from the start, earshot ``trim=True`` only; frame times
        plus ``offset`` are token times), ``word_end`` (s from the first frame to the word's
        offset in the alignments, NaN without them), ``word`` and ``talker`` (from a corpus;
        empty strings otherwise).  Attrs ``frame_rate``,
        ``kind``, ``params`` (JSON).
    """
    import json

    fn, freqs, frame_rate = feature_kernel(kind, **dict(params))
    sounds, ids, words, talkers = _gather(source, sfreq, stimulus)
    mats = []
    for audio, sr in progress(sounds, total=len(sounds), desc=f"features ({kind})", verbose=verbose):
        mats.append(fn(audio, sr))
    if kind == "logmel" and freqs is None:
        sr0 = sounds[0][1]
        p = {"n_mels": 64, "fmin": 0.0, "fmax": None, **params}
        win = int(round(params.get("win_ms", 25.0) * sr0 / 1000))
        freqs = mel_frequencies(sr0, p["n_mels"], p["fmin"], p["fmax"], 1 << int(np.ceil(np.log2(win))))
    n_frames = np.array([m.shape[0] for m in mats], dtype=np.int64)
    offsets = np.zeros(len(mats))
    if kind == "earshot" and params.get("trim"):
        for i, (audio, sr) in enumerate(sounds):
            offsets[i] = earshot_trim_bounds(resample(np.asarray(audio, float), sr, 8000))[0] / 8000.0
    word_end = np.full(len(mats), np.nan)
    from .corpus import Corpus

    if isinstance(source, Corpus) and source.alignments is not None and len(source.alignments):
        wt = source.alignments[source.alignments["tier"] == "word"].groupby("stimulus")["end"].max()
        word_end = np.array([float(wt.get(s, np.nan)) for s in ids]) - offsets
    n_bands = mats[0].shape[1]
    data = np.full((len(mats), int(n_frames.max()), n_bands), np.nan, np.float32)
    for i, m in enumerate(mats):
        data[i, : m.shape[0]] = m
    return xr.DataArray(
        data, dims=(STIMULUS, TIME, FREQUENCY),
        coords={STIMULUS: np.asarray(ids, dtype=str),
                TIME: np.arange(data.shape[1]) / float(frame_rate),
                FREQUENCY: np.asarray(freqs, dtype=np.float64),
                "n_frames": (STIMULUS, n_frames),
                "offset": (STIMULUS, offsets),
                "word_end": (STIMULUS, word_end),
                "word": (STIMULUS, np.asarray(words, dtype=str)),
                "talker": (STIMULUS, np.asarray(talkers, dtype=str))},
        attrs={"frame_rate": float(frame_rate), "kind": kind,
               "params": json.dumps(params, sort_keys=True, default=str)},
        name=f"{kind}_features")


def _gather(source, sfreq, stimulus):
    from .corpus import Corpus

    if isinstance(source, Corpus):
        items = source.items
        if stimulus is not None:
            ids = [str(s) for s in stimulus]
            missing = sorted(set(ids) - set(items["stimulus"]))
            if missing:
                raise KeyError(f"stimulus ids not in the corpus at {source.root}: {missing[:5]}")
            items = items.set_index("stimulus").loc[ids].reset_index()
        sounds = [source.load_audio(s) for s in items["stimulus"]]
        return sounds, list(items["stimulus"]), list(items["word"]), list(items["talker"])
    if isinstance(source, np.ndarray) and source.ndim == 1:
        source = [source]
    sounds = []
    for i, s in enumerate(source):
        if isinstance(s, tuple):
            if len(s) != 2:
                raise ValueError(f"sound #{i}: expected (audio, sfreq), got a tuple of length {len(s)}")
            sounds.append((np.asarray(s[0]), float(s[1])))
        else:
            if sfreq is None:
                raise ValueError(f"sound #{i} is a plain array: pass sfreq= (or (audio, sfreq) pairs)")
            sounds.append((np.asarray(s), float(sfreq)))
    if not sounds:
        raise ValueError("no sounds given")
    ids = [str(s) for s in stimulus] if stimulus is not None else [str(i) for i in range(len(sounds))]
    if len(ids) != len(sounds):
        raise ValueError(f"stimulus has {len(ids)} ids for {len(sounds)} sounds")
    return sounds, ids, [""] * len(ids), [""] * len(ids)


class FeatureScaler:
    """Per-frequency standardisation with statistics of *training* items only.

    ``fit`` pools every valid (non-NaN) frame of the given stimuli; ``transform`` applies
    ``(x - mean_) / scale_`` frame by frame, so it is causal and never uses a token's own
    statistics.  NaN padding stays NaN.

    Parameters
    ----------
    with_mean, with_std : bool
    eps : float
        Floor added to the standard deviation.
    """

    def __init__(self, with_mean: bool = True, with_std: bool = True, eps: float = 1e-8):
        self.with_mean = with_mean
        self.with_std = with_std
        self.eps = eps

    def fit(self, features: xr.DataArray, stimulus=None) -> "FeatureScaler":
        """Fit on ``features`` (dims stimulus, time, frequency), optionally only ``stimulus`` ids."""
        if not isinstance(features, xr.DataArray) or set(features.dims) != {STIMULUS, TIME, FREQUENCY}:
            raise ValueError("features must be a DataArray with dims ('stimulus', 'time', 'frequency'), "
                             f"got {getattr(features, 'dims', type(features).__name__)}")
        x = features if stimulus is None else features.sel({STIMULUS: list(stimulus)})
        arr = x.transpose(STIMULUS, TIME, FREQUENCY).values.reshape(-1, x.sizes[FREQUENCY])
        arr = arr[~np.isnan(arr).any(axis=1)]
        if arr.shape[0] < 2:
            raise ValueError(f"need at least 2 valid frames to fit, got {arr.shape[0]}")
        self.mean_ = arr.mean(0) if self.with_mean else np.zeros(arr.shape[1])
        self.scale_ = (arr.std(0) + self.eps) if self.with_std else np.ones(arr.shape[1])
        self.frequency_ = x[FREQUENCY].values.copy()
        self.n_frames_seen_ = int(arr.shape[0])
        return self

    def transform(self, features):
        """Standardise a DataArray (any dims incl. 'frequency') or an array whose last axis is
        frequency."""
        if not hasattr(self, "mean_"):
            raise RuntimeError("FeatureScaler is not fitted yet; call fit() first")
        if isinstance(features, xr.DataArray):
            if features.sizes.get(FREQUENCY) != self.mean_.size:
                raise ValueError(f"features have {features.sizes.get(FREQUENCY)} frequencies, the "
                                 f"scaler was fitted on {self.mean_.size}")
            m = xr.DataArray(self.mean_, dims=FREQUENCY)
            s = xr.DataArray(self.scale_, dims=FREQUENCY)
            out = ((features - m) / s).astype(np.float32)
            out.attrs = dict(features.attrs, scaled="train-set standardisation")
            return out
        a = np.asarray(features)
        if a.shape[-1] != self.mean_.size:
            raise ValueError(f"last axis must have {self.mean_.size} frequencies, got shape {a.shape}")
        return ((a - self.mean_) / self.scale_).astype(np.float32)

    def fit_transform(self, features, stimulus=None):
        return self.fit(features, stimulus).transform(features)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"frequency": self.frequency_, "mean": self.mean_, "scale": self.scale_})


def iter_feature_blocks(audio, sfreq: float, kind: str = "earshot", *, block_frames: int = 6000,
                        context_frames: int = 50, **params):
    """Features of a long sound, block by block, with bounded memory.

    Each block of ``block_frames`` frames is computed from the audio it covers plus
    ``context_frames`` frames of audio on either side (filter and window transients, centred
    windows), then the context frames are dropped.  With the default 0.5 s of context the blocks
    join to the features of the whole sound up to the filters' decayed transients (tested).

    Parameters
    ----------
    audio : 1-D array | callable
        The samples, or ``read(start, stop) -> samples`` (e.g. a reader of a long file) with the
        total length given as ``params["n_samples"]``.
    sfreq : float
    kind, **params : as :func:`compute_features`

    Yields
    ------
    ndarray of float32, shape (n_frames_k, n_features)
    """
    check_positive(block_frames, "block_frames", integer=True)
    n_samples = params.pop("n_samples", None)
    fn, _, frame_rate = feature_kernel(kind, **dict(params))
    if callable(audio):
        if n_samples is None:
            raise ValueError("a reader callable needs n_samples")
        read = audio
    else:
        a = check_ndim(np.asarray(audio), 1, "audio")
        n_samples = a.size
        read = lambda i, j: a[i:j]  # noqa: E731
    hop = float(sfreq) / frame_rate
    n_total = int(n_samples // hop) if kind in ("gammatone", "envelope", "onsets") else None
    full = fn(np.zeros(int(round(3 * hop))), sfreq).shape[0]  # frames of 3 hops: 3 (causal) or 4 (centred)
    if n_total is None:
        n_total = int(n_samples // int(round(hop))) + (full - 3)
    t0 = 0
    while t0 < n_total:
        t1 = min(n_total, t0 + block_frames)
        c0 = min(t0, context_frames)
        a0 = int(round((t0 - c0) * hop))
        a1 = min(int(n_samples), int(round((t1 + context_frames) * hop)))
        f = fn(np.asarray(read(a0, a1), dtype=np.float64), sfreq)
        blk = f[c0:c0 + (t1 - t0)]
        if blk.shape[0] < t1 - t0:  # the kernel made fewer frames at the very end
            blk = np.concatenate([blk, np.repeat(blk[-1:], t1 - t0 - blk.shape[0], axis=0)])
        yield np.asarray(blk, dtype=np.float32)
        t0 = t1
