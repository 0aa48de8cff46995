"""Fixtures for the speech-network tests: planted word-specific feature trajectories."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

N_FEAT = 12


def planted_features(n_words: int = 6, talkers=("a", "b", "c"), n_feat: int = N_FEAT, noise: float = 0.25,
                     seed: int = 0, frame_rate: float = 100.0, noise_seed: int | None = None) -> xr.DataArray:
    """Tokens whose frames follow a word-specific trajectory of 3 segments (+ talker offset, noise).

    Words share their first segment in pairs (w0/w1, w2/w3, ...) so they form cohorts: the
    network can only tell them apart from the second segment on.
    """
    rng = np.random.default_rng(seed)
    segs = {}
    for i in range(n_words):
        first = rng.normal(size=n_feat) if i % 2 == 0 else segs[f"w{i - 1}"][0]
        segs[f"w{i}"] = [first, rng.normal(size=n_feat), rng.normal(size=n_feat)]
    talk = {t: 0.2 * rng.normal(size=n_feat) for t in talkers}
    if noise_seed is not None:  # same words and talkers, new token noise and durations
        rng = np.random.default_rng(noise_seed)
    mats, ids, words, tks = [], [], [], []
    for w, s in segs.items():
        for t in talkers:
            lens = rng.integers(6, 9, size=3)
            m = np.concatenate([np.repeat(s[k][None], lens[k], 0) for k in range(3)]) + talk[t]
            mats.append(m + noise * rng.normal(size=m.shape))
            ids.append(f"{w}__{t}")
            words.append(w)
            tks.append(t)
    n_t = max(len(m) for m in mats)
    data = np.full((len(mats), n_t, n_feat), np.nan, np.float32)
    for i, m in enumerate(mats):
        data[i, : len(m)] = m
    return xr.DataArray(
        data, dims=("stimulus", "time", "frequency"),
        coords={"stimulus": ids, "time": np.arange(n_t) / frame_rate, "frequency": np.arange(n_feat, dtype=float),
                "n_frames": ("stimulus", np.array([len(m) for m in mats])), "word": ("stimulus", words),
                "talker": ("stimulus", tks)},
        attrs={"frame_rate": frame_rate, "kind": "planted"})


@pytest.fixture
def make_planted():
    return planted_features


@pytest.fixture
def planted():
    return planted_features()


@pytest.fixture(autouse=True)
def _few_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
