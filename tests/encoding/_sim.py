"""Planted-kernel test data for the encoding tests (independent noise predictors, known TRFs)."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt


def kernels(n_features: int, n_lags: int, rng) -> np.ndarray:
    """Smooth biphasic kernels (n_features, n_lags), a different latency per feature."""
    t = np.arange(n_lags) / n_lags
    out = []
    for _ in range(n_features):
        lat, w = rng.uniform(0.1, 0.4), rng.uniform(0.04, 0.08)
        k = np.exp(-0.5 * ((t - lat) / w) ** 2) - 0.6 * np.exp(-0.5 * ((t - lat - 2.5 * w) / (1.5 * w)) ** 2)
        out.append(k * rng.choice([-1, 1]))
    return np.asarray(out)


def planted(n_segments=6, seg_len=10000, n_features=4, n_sensors=8, n_driven=4, n_lags=51, snr_db=-10.0,
            sfreq=100.0, seed=0, lowpass=10.0):
    """Independent low-passed noise predictors; the first ``n_driven`` sensors are driven.

    Returns X (list of (T, F)), Y (list of (T, C)), h (C, F, L) and the noise-free signals.
    """
    rng = np.random.default_rng(seed)
    sos = butter(4, lowpass, fs=sfreq, output="sos")
    X = [sosfiltfilt(sos, rng.standard_normal((seg_len, n_features)), axis=0) for _ in range(n_segments)]
    X = [x / x.std(0) for x in X]
    h = np.zeros((n_sensors, n_features, n_lags))
    for c in range(n_driven):
        h[c] = kernels(n_features, n_lags, rng) * rng.uniform(0.5, 1.5, size=(n_features, 1))
    Y, S = [], []
    for x in X:
        s = np.zeros((x.shape[0], n_sensors))
        for c in range(n_driven):
            for f in range(n_features):
                s[:, c] += np.convolve(x[:, f], h[c, f])[: x.shape[0]]
        S.append(s)
    p_sig = np.concatenate(S)[:, :n_driven].var(0).mean() if n_driven else 1.0
    sd_noise = np.sqrt(p_sig / 10 ** (snr_db / 10))
    Y = [s + sd_noise * rng.standard_normal(s.shape) for s in S]
    return X, Y, h, S
