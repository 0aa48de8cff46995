import json

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from neurorrn.cli import app
from neurorrn.config import ConfigError
from neurorrn.models import ExperimentConfig, ModelBundle, load_evaluation, train_on_features


def _cfg(**train):
    return ExperimentConfig.from_dict({
        "name": "planted",
        "features": {"kind": "logmel", "normalization": "zscore"},
        "network": {"hidden_sizes": [16], "output_bias_init": -1.5},
        "targets": {"kind": "srv", "n_dims": 24, "n_active": 4},
        "optim": {"kind": "adam", "lr": 0.02},
        "train": {"batch_size": 6, "max_epochs": 40, "carry_state": False, "eval_every": 10, "checkpoint_every": 20,
                  **train},
        "holdout": {"mode": "T", "excluded_talker": "c"},
        "evaluation": {"batch_size": 64},
    })


def test_train_on_features_end_to_end(make_planted, tmp_path):
    feats = make_planted(n_words=6, talkers=("a", "b", "c"))
    pron = {f"w{i}": ["P", f"V{i // 2}", f"C{i}"] for i in range(6)}  # pairs share their first two phones
    summary = train_on_features(_cfg(), feats, tmp_path, pronunciations=pron, sfreq=16000.0)
    assert summary["n_tokens"] == {"trained": 12, "excluded_word": 0, "excluded_talker": 6}
    assert summary["accuracy"]["time_dependent"]["trained"] >= 0.8
    assert json.loads((tmp_path / "summary.json").read_text())["epochs"] == summary["epochs"]
    b = ModelBundle.load(tmp_path / "model.pt")
    # the bundle records the features actually trained on (their attrs), not the config's kind (logmel)
    assert b.features["kind"] == "planted" and b.frame_rate == 100.0 and b.network.n_input == 12
    assert b.network.n_output == 24 and b.pronunciations["w0"] == ["P", "V0", "C0"]
    # the normaliser was fitted on the trained tokens only (talkers a, b)
    tr = feats.sel(stimulus=[s for s in feats.stimulus.values if not s.endswith("__c")]).values.reshape(-1, 12)
    np.testing.assert_allclose(b.normalizer.mean_, np.nanmean(tr, axis=0), rtol=1e-4, atol=1e-5)
    ds = load_evaluation(tmp_path / "evaluation.nc")
    assert ds["recognized"].dtype == bool
    assert set(ds["category"].values) == {"target", "cohort", "rhyme", "das_neighbour", "unrelated"}
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert "val_trained_accuracy" in json.loads(lines[9])
    # resume continues from the checkpoint to a larger max_epochs
    more = train_on_features(_cfg(max_epochs=45), feats, tmp_path, pronunciations=pron, resume=True)
    assert more["epochs"] == 45


def test_config_errors(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nnetwork: {hiden_sizes: [4]}\n")
    with pytest.raises(ConfigError, match="unknown key 'network.hiden_sizes'.*Did you mean 'hidden_sizes'"):
        ExperimentConfig.from_yaml(p)
    r = CliRunner().invoke(app, ["train", str(p)])
    assert r.exit_code == 1 and "hiden_sizes" in r.output


def test_shipped_configs_validate():
    from pathlib import Path

    from neurorrn.speech import CorpusConfig

    root = Path(__file__).resolve().parents[2] / "configs"
    paper = ExperimentConfig.from_yaml(root / "earshot_paper.yaml")
    assert paper.network.hidden_sizes == [512] and paper.holdout.mode == "M" and paper.train.batch_size == 1000
    assert paper.optim.warmup_steps == 4000 and paper.train.carry_state
    small = ExperimentConfig.from_yaml(root / "earshot_small.yaml")
    assert small.network.hidden_sizes[0] <= 256
    for c in (paper, small):
        CorpusConfig.from_dict(c.corpus.build)


def test_cli_export_and_evaluate_errors(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["export", str(tmp_path / "missing.pt"), "--corpus", str(tmp_path), "--out",
                            str(tmp_path / "o.nc")])
    assert r.exit_code == 1 and "missing.pt" in r.output
    (tmp_path / "o.nc").write_text("x")
    r = runner.invoke(app, ["export", str(tmp_path / "missing.pt"), "--corpus", str(tmp_path), "--out",
                            str(tmp_path / "o.nc")])
    assert r.exit_code == 1 and "already exists" in r.output
    r = runner.invoke(app, ["evaluate", str(tmp_path / "missing.pt"), "--corpus", str(tmp_path)])
    assert r.exit_code == 1 and "no such file" in r.output


def test_small_config_words_are_the_benchmark_choice():
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(repo / "benchmarks"))
    try:
        from _lexicon import pick_words
    finally:
        sys.path.remove(str(repo / "benchmarks"))
    words = pick_words(100)
    cfg = ExperimentConfig.from_yaml(repo / "configs" / "earshot_small.yaml")
    assert cfg.corpus.build["lexicon"]["words"] == list(words)
    # enough competitors for the curves: most words have a cohort and a rhyme partner
    has_cohort = sum(any(v != w and words[v][:2] == p[:2] for v in words) for w, p in words.items())
    has_rhyme = sum(any(v != w and len(words[v]) == len(p) and words[v][1:] == p[1:] for v in words)
                    for w, p in words.items())
    assert has_cohort >= 90 and has_rhyme >= 70
    assert len({tuple(p) for p in words.values()}) == 100  # no homophones


def test_dense_targets_need_linear_mse(make_planted, tmp_path):
    feats = make_planted(n_words=4, talkers=("a", "b"))
    vec = tmp_path / "vec.txt"
    vec.write_text("\n".join(f"w{i} {i} {1 - i} 0.5" for i in range(4)))
    cfg = _cfg(max_epochs=2)
    cfg.targets = cfg.targets.model_copy(update={"kind": "dense", "path": str(vec)})
    cfg.holdout = cfg.holdout.model_copy(update={"mode": "none"})
    with pytest.raises(ValueError, match="dense targets \\('dense'\\) need network.output_activation: linear"):
        train_on_features(cfg, feats, tmp_path / "a")
    cfg.network = cfg.network.model_copy(update={"output_activation": "linear", "output_bias_init": None})
    cfg.loss = cfg.loss.model_copy(update={"kind": "mse"})
    summary = train_on_features(cfg, feats, tmp_path / "b")
    assert summary["epochs"] == 2 and ModelBundle.load(tmp_path / "b" / "model.pt").targets.n_dims == 3
