"""The shipped run configs validate (with the schemas of every subsystem they feed), and config
errors are clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurorrn.config import ConfigError
from neurorrn.pipelines.run import load_run_config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = ["demo.yaml", "brodbeck2025.yaml", "meg_masc.yaml"]


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_validate(name):
    module, cfg = load_run_config(REPO / "configs" / name)
    pipe = module.build_pipeline()
    keyed = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in module.RUNTIME_SECTIONS}
    keys = pipe.keys(keyed)
    assert list(keys) == ["corpus", "features", "train", "evaluate", "export", "brain", "encode", "probe",
                          "report"]
    assert len(set(keys.values())) == len(keys)


def test_demo_is_small_and_has_a_units_response():
    _, cfg = load_run_config(REPO / "configs" / "demo.yaml")
    assert cfg.corpus.build["lexicon"]["n_words"] * len(cfg.corpus.build["talkers"]) <= 500
    # the schedule, not the clock, ends training; the time limit is a safety net that fails the stage
    # (the stream trainer always raises on it; the word trainer with on_time_limit: error)
    assert cfg.train.mode == "streams" and cfg.train.max_epochs <= 600 and cfg.train.max_steps is None
    assert cfg.train.max_time_s is None or cfg.train.max_time_s >= 900
    assert cfg.quality.min_accuracy >= 0.8
    assert max(cfg.network.hidden_sizes) <= 256
    preds = [r["predictor"] for r in cfg.brain.simulate["responses"]]
    assert "units" in preds and "envelope" in preds


def test_runtime_sections_do_not_change_keys(tmp_path):
    module, cfg = load_run_config(REPO / "configs" / "demo.yaml")
    pipe = module.build_pipeline()
    a = cfg.model_dump(mode="json")
    b = {**a, "out_dir": "elsewhere", "torch_threads": 8, "distributed": {"scheduler": "tcp://x:8786",
                                                                            "n_workers": 9, "threads_per_worker": 2}}
    strip = lambda d: {k: v for k, v in d.items() if k not in module.RUNTIME_SECTIONS}  # noqa: E731
    assert pipe.keys(strip(a)) == pipe.keys(strip(b))
    c = {**a, "encode": {**a["encode"], "n_components": 3}}
    ka, kc = pipe.keys(strip(a)), pipe.keys(strip(c))
    assert [n for n in ka if ka[n] != kc[n]] == ["encode", "report"]
    t = {**a, "train": {**a["train"], "max_time_s": 12345.0}}
    assert pipe.keys(strip(t)) == ka  # a safety net, not a setting of the result
    d = {**a, "probe": {**a["probe"], "cv": 3}}
    kd = pipe.keys(strip(d))
    assert [n for n in ka if ka[n] != kd[n]] == ["probe", "report"]


def _write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'encod'.*Did you mean 'encode'"):
        load_run_config(_write(tmp_path, "encod: {}\n"))
    with pytest.raises(ConfigError, match=r"Invalid value for pipeline: 'earshot'.*'earshot_meg'"):
        load_run_config(_write(tmp_path, "pipeline: earshot\n"))
    with pytest.raises(ConfigError, match=r"(?s)corpus.build: invalid CorpusConfig.*unknown key 'n_word'"):
        load_run_config(_write(tmp_path, "corpus: {build: {n_word: 3}}\n"))
    with pytest.raises(ConfigError, match="no response has predictor 'units'"):
        load_run_config(_write(tmp_path, "brain: {simulate: {responses: "
                                         "[{predictor: envelope, sources: [left_auditory]}]}}\n"))
    with pytest.raises(ConfigError, match="train.on_time_limit: a pipeline's train stage is cached"):
        load_run_config(_write(tmp_path, "train: {on_time_limit: stop, max_time_s: 10}\n"))
    with pytest.raises(ConfigError, match="brain.simulate: invalid SimulationConfig"):
        load_run_config(_write(tmp_path, "brain: {simulate: {sensors: meg999}}\n"))


def test_cli_status(tmp_path):
    from typer.testing import CliRunner

    from neurorrn.cli import app

    res = CliRunner().invoke(app, ["run", str(REPO / "configs" / "demo.yaml"), "--status", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "corpus     to run" in res.output and "report     to run" in res.output
    res = CliRunner().invoke(app, ["run", str(_write(tmp_path, "encod: {}\n"))])
    assert res.exit_code == 1 and "unknown key 'encod'" in res.output
