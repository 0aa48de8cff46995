"""Models for the benchmarks: any :class:`~neurorrn.subject.ModelSubject` taking ``(audio, sfreq)``.

Built in: :class:`AcousticBaseline` (envelope and a log spectrogram: the baseline every model
must beat) and :class:`ReservoirSubject` (a fixed random recurrent network on the spectrogram;
its seed stands for its weights, so seed ``s`` and any other seed are "a model" and "an
untrained copy" of the same architecture).  Trained speech networks enter as
``bundle:PATH`` (:class:`neurorrn.models.export.NetworkSubject`).
"""

from __future__ import annotations

import json

import numpy as np
import scipy.signal

from ..subject import ModelSubject
from ..utils._check import check_positive, check_random_state, validate_type

__all__ = ["AcousticBaseline", "ReservoirSubject", "log_spectrogram"]


def _audio(stimulus):
    if isinstance(stimulus, tuple) and len(stimulus) == 2:
        audio, sfreq = stimulus
    elif hasattr(stimulus, "audio") and hasattr(stimulus, "sfreq"):
        audio, sfreq = stimulus.audio, stimulus.sfreq
    else:
        raise TypeError(f"stimulus must be (audio, sfreq) or a neurorrn.brain.stimuli.Stimulus, "
                        f"got {type(stimulus).__name__}")
    audio = np.asarray(audio, dtype=np.float64).ravel()
    check_positive(sfreq, "sfreq")
    if audio.size == 0:
        raise ValueError("stimulus audio is empty")
    return audio, float(sfreq)


def log_spectrogram(audio, sfreq: float, frame_rate: float = 100.0, n_bands: int = 16,
                    fmin: float = 100.0, fmax: float | None = None) -> np.ndarray:
    """Log power in ``n_bands`` log-spaced bands, 25-ms Hann windows every ``1/frame_rate`` s.

    Returns an array of shape (n_frames, n_bands), ``n_frames = ceil(duration * frame_rate)``.
    """
    hop = int(round(sfreq / frame_rate))
    win = int(round(0.025 * sfreq))
    n_frames = int(np.ceil(audio.size / hop))
    padded = np.concatenate([np.zeros(win // 2), audio, np.zeros(win + hop)])
    f, _, z = scipy.signal.stft(padded, sfreq, window="hann", nperseg=win, noverlap=win - hop,
                                boundary=None, padded=False)
    p = np.abs(z[:, :n_frames]) ** 2
    fmax = sfreq / 2 if fmax is None else fmax
    edges = np.geomspace(fmin, fmax, n_bands + 1)
    bands = np.stack([p[(f >= lo) & (f < hi)].sum(0) if np.any((f >= lo) & (f < hi)) else np.zeros(p.shape[1])
                      for lo, hi in zip(edges[:-1], edges[1:])], axis=1)
    out = np.log(bands + 1e-10)
    if out.shape[0] < n_frames:
        out = np.pad(out, ((0, n_frames - out.shape[0]), (0, 0)), mode="edge")
    return out


class AcousticBaseline(ModelSubject):
    """Envelope (RMS per frame) and log spectrogram: ``{"envelope": (T, 1), "spectrogram": (T, n_bands)}``."""

    time_unit = "s"

    def __init__(self, n_bands: int = 8, frame_rate: float = 100.0):
        self.n_bands = n_bands
        self.frame_rate = frame_rate
        self.model_id = "acoustic"

    def config_json(self) -> str:
        return json.dumps({"n_bands": self.n_bands, "frame_rate": self.frame_rate})

    def run_one(self, stimulus):
        audio, sfreq = _audio(stimulus)
        spec = log_spectrogram(audio, sfreq, self.frame_rate, self.n_bands)
        hop = int(round(sfreq / self.frame_rate))
        env = np.sqrt(np.array([np.mean(audio[i * hop:(i + 1) * hop] ** 2) if i * hop < audio.size else 0.0
                                for i in range(spec.shape[0])]))
        return {"envelope": env[:, None], "spectrogram": spec}


class ReservoirSubject(ModelSubject):
    """A random tanh recurrent network on the log spectrogram, with a linear phone readout.

    ``h_t = tanh(W h_{t-1} + U x_t)`` (``W`` random with spectral radius ``spectral_radius``;
    ``random_state`` draws ``W``, ``U`` and the initial readout) and phone posteriors
    ``y_t = softmax(gain · R h_t)`` (``gain = 0``: the linear readout ``R h_t``).  Untrained,
    ``R`` is random; :meth:`fit_readout` trains it by ridge regression to the phone labels of
    aligned stimuli (an echo-state phone recogniser).  So ``ReservoirSubject(random_state=s)`` is
    "an untrained copy" of the same model after :meth:`fit_readout`.  Output layers
    ``{"reservoir": (n_frames, n_units), "readout": (n_frames, n_outputs)}``.
    """

    time_unit = "s"

    def __init__(self, n_units: int = 64, n_outputs: int = 12, n_bands: int = 16, spectral_radius: float = 0.9,
                 input_scale: float = 0.5, gain: float = 10.0, frame_rate: float = 100.0, random_state=0):
        validate_type(n_units, "int", "n_units")
        check_positive(n_units, "n_units")
        validate_type(n_outputs, "int", "n_outputs")
        check_positive(n_outputs, "n_outputs")
        self.n_units = n_units
        self.n_outputs = n_outputs
        self.n_bands = n_bands
        self.spectral_radius = spectral_radius
        self.input_scale = input_scale
        check_positive(gain, "gain", strict=False)
        self.gain = gain
        self.frame_rate = frame_rate
        self.random_state = random_state
        rng = check_random_state(random_state)
        w = rng.standard_normal((n_units, n_units))
        self.W = w * spectral_radius / max(np.max(np.abs(np.linalg.eigvals(w))), 1e-12)
        self.U = rng.standard_normal((n_units, n_bands)) * input_scale / np.sqrt(n_bands)
        self.R = rng.standard_normal((n_outputs, n_units)) / np.sqrt(n_units)
        self.classes_ = None
        self.model_id = f"reservoir-{random_state}"

    def config_json(self) -> str:
        return json.dumps({"n_units": self.n_units, "n_outputs": self.n_outputs, "n_bands": self.n_bands,
                           "spectral_radius": self.spectral_radius, "input_scale": self.input_scale,
                           "gain": self.gain, "random_state": str(self.random_state),
                           "trained": self.classes_ is not None})

    def _states(self, stimulus) -> np.ndarray:
        audio, sfreq = _audio(stimulus)
        x = log_spectrogram(audio, sfreq, self.frame_rate, self.n_bands)
        x = (x - x.mean(0)) / (x.std(0) + 1e-9)
        h = np.zeros(self.n_units)
        out = np.empty((x.shape[0], self.n_units))
        for t in range(x.shape[0]):
            h = np.tanh(self.W @ h + self.U @ x[t])
            out[t] = h
        return out

    def run_one(self, stimulus):
        h = self._states(stimulus)
        y = h @ self.R.T
        if self.gain > 0:
            z = self.gain * y
            z = np.exp(z - z.max(axis=1, keepdims=True))
            y = z / z.sum(axis=1, keepdims=True)
        return {"reservoir": h, "readout": y}

    def fit_readout(self, stimuli, tier: str = "phone", alpha: float = 1.0):
        """Train the readout by ridge regression to one-hot labels of ``tier`` (frames outside any
        interval are the class ``"sil"``); the ``n_outputs − 1`` most frequent labels get their own
        unit, the rest share one.  ``stimuli``: :class:`~neurorrn.brain.stimuli.Stimulus` objects
        with alignments.  Returns ``self``.
        """
        check_positive(alpha, "alpha")
        feats, labels = [], []
        for s in stimuli:
            if not hasattr(s, "alignments"):
                raise TypeError("fit_readout needs Stimulus objects with alignments")
            h = self._states(s)
            t = (np.arange(h.shape[0]) + 0.5) / self.frame_rate
            lab = np.full(h.shape[0], "sil", dtype=object)
            for r in s.alignments[s.alignments["tier"] == tier].itertuples():
                lab[(t >= r.start) & (t < r.end)] = r.label
            feats.append(h)
            labels.append(lab)
        if not feats:
            raise ValueError("fit_readout needs at least one stimulus")
        H = np.concatenate(feats)
        y = np.concatenate(labels)
        names, counts = np.unique(y, return_counts=True)
        top = list(names[np.argsort(-counts)][: self.n_outputs - 1])
        classes = top + ["other"]
        idx = np.array([classes.index(v) if v in top else len(top) for v in y])
        Y = np.eye(len(classes))[idx]
        self.R = np.linalg.solve(H.T @ H + alpha * np.eye(self.n_units), H.T @ Y).T
        if self.R.shape[0] < self.n_outputs:
            self.R = np.vstack([self.R, np.zeros((self.n_outputs - self.R.shape[0], self.n_units))])
        self.classes_ = classes
        self.model_id = f"reservoir-{self.random_state}-trained"
        return self
