"""Shared helpers of the pipeline tests that simulate an experiment."""

from __future__ import annotations

import numpy as np


def smooth_noise(n, k, rng, width=8):
    """``(n, k)`` float32 unit-variance noise smoothed by a Hann window (speech-envelope-like)."""
    x = rng.standard_normal((n + 4 * width, k))
    w = np.hanning(2 * width + 1)
    y = np.stack([np.convolve(x[:, j], w / w.sum(), mode="same") for j in range(k)], 1)[2 * width:2 * width + n]
    return (y / y.std(0)).astype(np.float32)
