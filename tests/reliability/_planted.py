"""Tiny planted features and a trainer factory (shared by the training tests and their child processes)."""

from __future__ import annotations

import numpy as np
import xarray as xr


def planted(n_words=4, talkers=("a", "b"), n_feat=6, seed=0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    mats, ids, words, tks = [], [], [], []
    for i in range(n_words):
        proto = rng.normal(size=(3, n_feat))
        for t in talkers:
            m = np.repeat(proto, 4, axis=0) + 0.2 * rng.normal(size=(12, n_feat))
            mats.append(m.astype(np.float32))
            ids.append(f"w{i}__{t}")
            words.append(f"w{i}")
            tks.append(t)
    data = np.stack(mats)
    return xr.DataArray(
        data, dims=("stimulus", "time", "frequency"),
        coords={"stimulus": ids, "time": np.arange(12) / 100.0, "frequency": np.arange(n_feat, dtype=float),
                "n_frames": ("stimulus", np.full(len(ids), 12)), "word": ("stimulus", words),
                "talker": ("stimulus", tks)},
        attrs={"frame_rate": 100.0, "kind": "planted"})


def trainer(out_dir=None, lr=0.02, max_epochs=2, checkpoint_every=0, validate=None, **train):
    import torch

    from neurorrn.models import (FeatureSet, NetworkConfig, OptimConfig, SpeechRNN, TrainConfig, Trainer,
                                 make_loss, make_targets)

    data = FeatureSet.from_xarray(planted())
    tg = make_targets(sorted(set(data.word)), "srv", n_dims=12, n_active=3, random_state=1)
    torch.manual_seed(0)
    model = SpeechRNN(NetworkConfig(cell="gru", n_input=data.n_features, hidden_sizes=[8], n_output=12))
    train.setdefault("batch_size", 4)
    cfg = TrainConfig(max_epochs=max_epochs, checkpoint_every=checkpoint_every, **train)
    tr = Trainer(model, tg, make_loss("earshot"), cfg, OptimConfig(kind="adam", lr=lr), out_dir=out_dir,
                 validate=validate)
    return data, tr
