"""The pipeline's stream mode (``train.mode: streams``, Brodbeck et al. 2025): the train stage runs the
stream trainer, the evaluate stage scores stream word accuracy and gates on it, the export stage
writes the units of that stream-trained network; the demo is in this mode; bad settings are refused
naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurorrn.config import ConfigError

REPO = Path(__file__).resolve().parents[2]

TINY_STREAMS = {
    "pipeline": "earshot_meg", "name": "tiny_streams", "torch_threads": 1,
    "corpus": {"build": {"name": "tiny", "lexicon": {"source": "words", "n_words": None,
                                                      "words": ["cat", "dog", "sun", "ship", "bat", "fish"]},
                         "talkers": ["m1", "f1"]}},
    "features": {"kind": "logmel", "params": {"n_mels": 16}, "normalization": "zscore"},
    "network": {"cell": "lstm", "hidden_sizes": [8], "output_bias_init": -1.6},
    "targets": {"kind": "localist"},
    "loss": {"kind": "cohort", "cohort_c": 1024.0, "offset_s": 0.1},
    "optim": {"kind": "rmsprop", "lr": 0.001},
    "train": {"mode": "streams", "batch_size": 4, "max_epochs": 2, "eval_every": 1, "checkpoint_every": 1,
              "amp": False},
    "streams": {"segment_s": 1.0, "steps_per_epoch": 2, "eval_rows": 2},
    "holdout": {"mode": "T", "excluded_talker": "f1"},
    "evaluation": {"monitor_splits": ["trained"], "monitor_max_tokens": 6},
    "quality": {"min_accuracy": 0.0},
    "export": {"streams": {"n_streams": 2, "params": {"n_words": 4}}},
    "brain": {"simulate": {"responses": [{"predictor": "units", "sources": ["left_ifg"], "n_units": 4}]}},
}


def _write(tmp_path, cfg, name="tiny.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(cfg))
    return p


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from neurorrn.pipelines.run import run_config

    tmp = tmp_path_factory.mktemp("streams")
    out = tmp / "out"
    res = run_config(_write(tmp, TINY_STREAMS), out_dir=out, until="export")
    res["stages"].update(run_config(_write(tmp, TINY_STREAMS), out_dir=out, until="evaluate")["stages"])
    return out, res


def _stage(out, res, name):
    from neurorrn.pipeline.engine import StageResult

    return StageResult.load(out / "stages" / name / res["stages"][name])


def test_train_stage_runs_the_stream_trainer(tiny_run):
    from neurorrn.models.bundle import ModelBundle

    out, res = tiny_run
    tr = _stage(out, res, "train")
    assert tr.meta["mode"] == "streams" and tr.meta["epochs"] == 2 and tr.meta["steps"] == 4
    assert set(tr.meta["stream_accuracy"]) == {"trained", "excluded_talker"}
    bundle = ModelBundle.load(tr.path / "model.pt")
    # the bundle is the stream trainer's: its run config is a StreamExperimentConfig with our settings
    assert bundle.run_config["streams"]["segment_s"] == 1.0 and bundle.run_config["backtrack"]["enabled"]
    assert bundle.run_config["train"]["batch_size"] == 4 and "mode" not in bundle.run_config["train"]
    rows = [json.loads(x) for x in (tr.path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and all("val_trained_accuracy" in r for r in rows)
    assert (tr.path / "stream_evaluation.csv").is_file()


def test_evaluate_stage_reports_stream_accuracy_and_gates_on_it(tiny_run):
    import pandas as pd

    out, res = tiny_run
    tr, ev = _stage(out, res, "train"), _stage(out, res, "evaluate")
    table = pd.read_csv(ev.path / "accuracy.csv")
    scored = pd.read_csv(tr.path / "stream_evaluation.csv")
    overall = table[table["talker"] == "all"].set_index("items")
    for split in ("trained", "excluded_talker"):
        part = scored[scored["split"] == split]
        assert overall.loc[split, "n_tokens"] == len(part)
        assert overall.loc[split, "stream accuracy"] == pytest.approx(part["correct"].mean())
        assert overall.loc[split, "stream accuracy"] == pytest.approx(tr.meta["stream_accuracy"][split])
        assert overall.loc[split, "WER"] == pytest.approx(1 - part["correct"].mean())
    assert overall.loc["all", "n_tokens"] == len(scored)
    per_talker = table[table["talker"] != "all"]
    assert set(zip(per_talker["items"], per_talker["talker"])) == {("trained", "m1"), ("excluded_talker", "f1")}
    gate = ev.meta["quality_gate"]
    assert gate["criterion"] == "stream" and gate["split"] == "trained" and gate["passed"]
    assert gate["accuracy"] == pytest.approx(round(tr.meta["stream_accuracy"]["trained"], 4))
    assert "stream word accuracy on the trained test streams" in gate["message"]


def test_failed_stream_gate_stops_a_strict_run(tmp_path, tiny_run):
    from neurorrn.pipeline.engine import PipelineError
    from neurorrn.pipelines.earshot_meg.config import RunConfig
    from neurorrn.pipelines.earshot_meg.speech_stages import quality_gate
    from neurorrn.pipelines.run import run_config
    import xarray as xr

    acc = xr.DataArray([[0.5, 0.2]], dims=("criterion", "split"),
                       coords={"criterion": ["stream"], "split": ["trained", "excluded_talker"]})
    cfg = RunConfig.from_dict({**TINY_STREAMS, "quality": {"min_accuracy": 0.8}})
    gate = quality_gate(acc, cfg.quality)
    assert not gate["passed"] and gate["accuracy"] == 0.5 and "below the configured 0.80" in gate["message"]
    gate = quality_gate(acc, cfg.quality.model_copy(update={"split": "excluded_talker", "min_accuracy": 0.1}))
    assert gate["passed"] and gate["accuracy"] == 0.2
    out, _ = tiny_run
    # hold-out T has no held-out words: a gate on them fails (and --strict stops at evaluate)
    strict = {**TINY_STREAMS, "quality": {"split": "excluded_word", "min_accuracy": 0.0}}
    with pytest.raises(PipelineError, match="no 'excluded_word' tokens were evaluated"):
        run_config(_write(tmp_path, strict), out_dir=out, until="evaluate", strict=True)


def test_export_writes_the_stream_trained_networks_units(tiny_run):
    """``streams.nc`` is the stream-trained bundle run over each whole stream from the zero state."""
    import torch

    from neurorrn.models.bundle import ModelBundle
    from neurorrn.models.export import compute_bundle_features
    from neurorrn.speech import read_audio
    from neurorrn.store import iter_stimuli, load_store

    out, res = tiny_run
    tr, ex = _stage(out, res, "train"), _stage(out, res, "export")
    assert ex.meta["trained_on"] == "streams" and ex.meta["reset_state"] is True
    bundle = ModelBundle.load(tr.path / "model.pt")
    stored = dict(iter_stimuli(load_store(ex.path / "streams.nc")))
    assert len(stored) == 2
    model = bundle.build_model()
    model.eval()
    for sid, act in stored.items():
        wav = read_audio(ex.path / "stimuli" / f"{sid}.wav", name=sid)
        feats = compute_bundle_features(bundle, [wav], stimulus=[sid])
        x = bundle.normalizer.transform_array(np.asarray(feats.values, np.float32))
        with torch.no_grad():
            _, _, hidden = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), return_hidden=True)
        assert act.shape == hidden[0].shape[1:]
        np.testing.assert_allclose(act, hidden[0][0].numpy(), atol=1e-4)


def test_demo_trains_on_streams():
    from neurorrn.models.stream_training import StreamExperimentConfig
    from neurorrn.pipelines.earshot_meg import StreamRunConfig, stream_experiment_config
    from neurorrn.pipelines.earshot_meg.speech_stages import train_in
    from neurorrn.pipelines.run import load_run_config

    module, cfg = load_run_config(REPO / "configs" / "demo.yaml")
    assert isinstance(cfg, StreamRunConfig) and cfg.train.mode == "streams" and cfg.stream_mode
    exp = stream_experiment_config(cfg)
    assert isinstance(exp, StreamExperimentConfig)
    assert exp.targets.kind == "localist" and exp.loss.kind == "cohort" and exp.loss.cohort_c == 1024.0
    assert exp.streams.noise_snr_db == 20.0 and exp.train.batch_size == 32
    assert cfg.quality.criterion == "stream" and cfg.quality.min_accuracy >= 0.8
    assert cfg.export.reset_state and cfg.export.stimuli == "streams"
    # the train stage reads these sections, so a change of any of them retrains
    pipe = module.build_pipeline()
    a = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in module.RUNTIME_SECTIONS}
    for sec, key, val in (("streams", "segment_s", 3.0), ("backtrack", "stop_patience", 50),
                          ("train", "max_epochs", 81)):
        b = {**a, sec: {**a[sec], key: val}}
        ka, kb = pipe.keys(a), pipe.keys(b)
        assert [n for n in ka if ka[n] != kb[n]][:3] == ["train", "evaluate", "export"]
    assert callable(train_in)


def test_brodbeck2025_trains_on_streams_with_the_papers_settings():
    from neurorrn.pipelines.earshot_meg import stream_experiment_config
    from neurorrn.pipelines.run import load_run_config
    from neurorrn.speech import CorpusConfig

    _, cfg = load_run_config(REPO / "configs" / "brodbeck2025.yaml")
    exp = stream_experiment_config(cfg)
    assert exp.targets.kind == "localist" and exp.network.output_activation == "sigmoid"
    assert exp.features.kind == "gammatone" and exp.features.normalization == "none"
    assert exp.features.params == {"n_bands": 64, "fmin": 50.0, "fmax": 10000.0, "frame_rate": 100.0, "log": False}
    assert CorpusConfig.from_dict(cfg.corpus.build).sfreq >= 22050
    assert exp.streams.noise_snr_db == 20.0 and exp.streams.segment_s == 10.0 and exp.streams.steps_per_epoch == 25
    assert exp.loss.kind == "cohort" and exp.loss.cohort_c == 1024.0 and exp.loss.offset_s == 0.1
    assert exp.optim.kind == "rmsprop" and exp.optim.lr == 1e-3 and exp.optim.clip_norm is None
    assert exp.train.batch_size == 32 and exp.backtrack.enabled and exp.network.hidden_sizes == [512]
    assert cfg.encode.units_kind == "kmeans" and cfg.encode.n_components == 32


@pytest.mark.parametrize("section, bad, field", [
    ({"streams": {"segment_s": 0}}, "segment_s", "streams.segment_s"),
    ({"streams": {"p_silence": 1.5}}, "probability", "streams.p_silence"),
    ({"streams": {"silence": [0.5, 0.2]}}, "shortest <= longest", "streams.silence"),
    ({"streams": {"eval_rows": 0}}, "eval_rows must be >= 1", "streams.eval_rows"),
    ({"train": {"mode": "streams", "batch_size": 0}}, "batch_size must be >= 1", "train.batch_size"),
    ({"backtrack": {"factor": 0.5}}, "factor must be >= 1", "backtrack.factor"),
    ({"evaluation": {"monitor_splits": ["train"]}}, "unknown split", "evaluation.monitor_splits"),
    ({"quality": {"criterion": "time_dependent"}}, "'stream'", "quality.criterion"),
    ({"train": {"mode": "streams", "carry_state": False}}, "unknown key", "train.carry_state"),
])
def test_invalid_stream_settings_are_refused_naming_the_field(tmp_path, section, bad, field):
    from neurorrn.pipelines.run import load_run_config

    cfg = {**TINY_STREAMS, **{k: ({**TINY_STREAMS.get(k, {}), **v} if isinstance(v, dict) else v)
                               for k, v in section.items()}}
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")) as err:
        load_run_config(_write(tmp_path, cfg))
    assert bad in str(err.value)


def test_mode_errors(tmp_path):
    from neurorrn.pipelines.run import load_run_config

    with pytest.raises(ConfigError, match=r"train\.mode: expected one of 'words', 'streams', got 'stream'"):
        load_run_config(_write(tmp_path, {"train": {"mode": "stream"}}))
    with pytest.raises(ConfigError, match=r"'streams' configure stream training; they need train\.mode: streams"):
        load_run_config(_write(tmp_path, {"streams": {"segment_s": 2.0}}))
    dense = {**TINY_STREAMS, "targets": {"kind": "dense", "path": "x.npy"}}
    with pytest.raises(ConfigError, match="needs network.output_activation: linear and loss.kind: mse"):
        load_run_config(_write(tmp_path, dense))


def test_stream_report_renders(tiny_run, tmp_path):
    """The report's training and recognition parts from a stream run: curves, the stream accuracy
    table by split and talker, competitor curves with their measure, the gate in the Summary."""
    from neurorrn.pipelines.earshot_meg.report_stage import _training
    from neurorrn.report import ReportData, build_report

    out, res = tiny_run
    inputs = {n: _stage(out, res, n) for n in ("train", "evaluate")}
    data = ReportData(title="streams")
    _training(data, inputs)
    assert "val_trained_accuracy" in data.history.columns and data.chance == pytest.approx(1 / 6)
    assert "stream accuracy" in data.accuracy.columns
    assert data.competitors is not None and data.competitors.attrs["measure"] == "softmax word score"
    html = build_report(data, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Stream word accuracy and WER by item set and talker" in html
    assert "stream word accuracy on the trained test streams" in html
    assert "could not be drawn" not in html


def test_stages_leave_torch_threads_to_the_run_unless_the_config_names_them():
    """A stage's config lacks the runtime sections: its ``torch_threads`` default must not override
    the value ``neurorrn run`` set from the user's config."""
    import torch

    from neurorrn.pipelines.earshot_meg.config import RunConfig
    from neurorrn.pipelines.earshot_meg.speech_stages import _set_torch_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        stage_view = {k: v for k, v in TINY_STREAMS.items() if k != "torch_threads"}
        _set_torch_threads(RunConfig.from_dict(stage_view))
        assert torch.get_num_threads() == 1
        _set_torch_threads(RunConfig.from_dict({**TINY_STREAMS, "torch_threads": 2}))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
