"""Issue 16's acceptance signature of stream training, over three seeds (slow: ~6 min CPU per seed).

``configs/stream_small.yaml`` (60 words x 6 espeak-ng talkers, f2 held out; the network the demo
trains) must recognise words in NoSil streams: trained talkers >= 0.85, the held-out talker
>= 0.6 (chance 1/60).  Training stops on its epoch count, never on the clock, so every machine
gets the same three models up to floating-point rounding; the margins are asserted on the mean
minus twice the spread over the seeds, so that a seed that merely scrapes past does not pass a
regression.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from neurorrn.models.stream_training import StreamExperimentConfig
    from neurorrn.speech import CorpusConfig, build_corpus
    from neurorrn.speech._espeak import get_engine

    try:
        get_engine()
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"no espeak-ng library: {err}")
    cfg = StreamExperimentConfig.from_yaml(REPO / "configs" / "stream_small.yaml")
    return build_corpus(CorpusConfig.from_dict(cfg.corpus.build), tmp_path_factory.mktemp("corpus") / "c")


@pytest.mark.slow
def test_stream_small_recognises_words_in_streams_over_three_seeds(corpus, tmp_path):
    from neurorrn.models.stream_training import StreamExperimentConfig, train_streams

    torch.set_num_threads(1)
    trained, excluded = [], []
    for seed in SEEDS:
        cfg = StreamExperimentConfig.from_yaml(REPO / "configs" / "stream_small.yaml")
        cfg.train = cfg.train.model_copy(update={"random_state": seed, "eval_every": 0})
        s = train_streams(cfg, corpus, tmp_path / f"seed{seed}")
        assert s["chance"] == pytest.approx(1 / 60)
        assert s["stop_reason"] == "max_epochs"
        trained.append(s["stream_accuracy"]["trained"])
        excluded.append(s["stream_accuracy"]["excluded_talker"])
    trained, excluded = np.array(trained), np.array(excluded)
    assert trained.mean() - 2 * trained.std(ddof=1) >= 0.85, trained
    assert excluded.mean() - 2 * excluded.std(ddof=1) >= 0.6, excluded
