"""Runs a researcher can analyse: snapshots, best weights as the model, resume budgets, offset RTs
from the word's offset."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neurorrn.models import (ExperimentConfig, FeatureSet, ModelBundle, NetworkConfig, SpeechRNN, TrainConfig, Trainer,
                             evaluate_network, make_loss, make_targets, train_on_features)
from neurorrn.models.training import OptimConfig, load_checkpoint


def _cfg(**train):
    return ExperimentConfig.from_dict({
        "name": "planted", "features": {"kind": "logmel", "normalization": "zscore"},
        "network": {"hidden_sizes": [16], "output_bias_init": -1.5},
        "targets": {"kind": "srv", "n_dims": 24, "n_active": 4}, "optim": {"kind": "adam", "lr": 0.02},
        "train": {"batch_size": 6, "max_epochs": 12, "carry_state": False, "eval_every": 3, "checkpoint_every": 6,
                  **train},
        "holdout": {"mode": "T", "excluded_talker": "c"}, "evaluation": {"batch_size": 64, "competitors": False}})


def test_snapshots_and_best_weights_are_the_model(make_planted, tmp_path):
    feats = make_planted(n_words=6, talkers=("a", "b", "c"))
    cfg = _cfg(snapshot_epochs=[3, 9], early_stopping={"monitor": "train_loss", "mode": "min"})
    summary = train_on_features(cfg, feats, tmp_path)
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["epoch00003.pt", "epoch00009.pt"]
    snap = load_checkpoint(tmp_path / "snapshots" / "epoch00003.pt")
    assert snap["epoch"] == 3
    best = load_checkpoint(tmp_path / "best.pt")
    bundle = ModelBundle.load(tmp_path / "model.pt")
    for k, v in best["model"].items():
        torch.testing.assert_close(bundle.state_dict[k], v)
    assert summary["model_weights"].startswith(f"best.pt (epoch {best['epoch']}")
    losses = [json.loads(l)["train_loss"] for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert best["epoch"] == int(np.argmin(losses)) + 1


def test_resume_gets_the_new_time_budget(make_planted, tmp_path):
    data = FeatureSet.from_xarray(make_planted(n_words=4, talkers=("a", "b")))
    targets = make_targets(sorted(set(data.word)), "srv", n_dims=20, n_active=3)

    def trainer(**kw):
        m = SpeechRNN(NetworkConfig(n_input=data.n_features, hidden_sizes=[6], n_output=20), random_state=0)
        return Trainer(m, targets, make_loss("earshot"), TrainConfig(batch_size=4, carry_state=False, **kw),
                       OptimConfig(kind="adam", lr=0.01), out_dir=tmp_path, verbose=False)

    first = trainer(max_epochs=3).fit(data)
    first._elapsed = 1e6  # as if the first run had used up a long time budget
    first.save(tmp_path / "checkpoint.pt")
    again = trainer(max_epochs=5, max_time_s=3600.0)
    again.resume(tmp_path / "checkpoint.pt").fit(data)
    assert again.epoch_ == 5  # the new budget applies to this call, not to the accumulated time


def test_offset_rt_from_the_word_offset(make_planted):
    feats = make_planted(n_words=4, talkers=("a",))
    data = FeatureSet.from_xarray(feats)
    targets = make_targets(sorted(set(data.word)), "srv", n_dims=20, n_active=3)
    model = SpeechRNN(NetworkConfig(n_input=data.n_features, hidden_sizes=[6], n_output=20), random_state=0)
    offsets = data.lengths - 5  # each word ends 5 frames (a final pause) before its token
    a = evaluate_network(model, data, targets, criteria=("relative",))
    b = evaluate_network(model, data, targets, criteria=("relative",), word_offsets=offsets)
    np.testing.assert_array_equal(b["word_offset"].values, offsets)
    np.testing.assert_allclose(b["offset_rt"].values, a["offset_rt"].values + 5, equal_nan=True)
    with pytest.raises(ValueError, match="word_offsets must have one value per token"):
        evaluate_network(model, data, targets, word_offsets=offsets[:2])


def test_compute_features_gives_word_end(tmp_path):
    import pandas as pd
    from scipy.io import wavfile

    from neurorrn.speech import Corpus, compute_features

    (tmp_path / "a").mkdir()
    wavfile.write(tmp_path / "a" / "x.wav", 16000, (np.random.default_rng(0).standard_normal(8000) * 3000)
                  .astype(np.int16))
    corpus = Corpus(tmp_path, pd.DataFrame([{"stimulus": "x", "word": "x", "talker": "t", "path": "a/x.wav",
                                             "n_samples": 8000, "sfreq": 16000}]),
                    pd.DataFrame([{"stimulus": "x", "tier": "word", "label": "x", "start": 0.0, "end": 0.42}]))
    f = compute_features(corpus, "logmel", n_mels=8)
    assert float(f["word_end"].values[0]) == pytest.approx(0.42)
