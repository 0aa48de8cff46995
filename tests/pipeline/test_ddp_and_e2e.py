"""End to end on a tiny config (slow): every stage runs, a second run is all cache hits, one
changed setting re-runs only its dependents, and torchrun + DDP (gloo, 2 CPU processes) trains the
``train`` stage that a plain run then picks up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

TINY = {
    "pipeline": "earshot_meg", "name": "tiny", "torch_threads": 1,
    "corpus": {"build": {"name": "tiny", "lexicon": {"source": "words", "n_words": None,
                                                      "words": ["cat", "dog", "sun", "ship", "bat", "fish",
                                                                "map", "top"]},
                         "talkers": ["m1", "f1"]}},
    "features": {"kind": "earshot"},
    "network": {"cell": "lstm", "hidden_sizes": [16]},
    "targets": {"kind": "srv", "n_dims": 50, "n_active": 5},
    "optim": {"kind": "adam", "lr": 0.005},
    "train": {"batch_size": 8, "max_epochs": 3, "eval_every": 1, "checkpoint_every": 1, "carry_state": False,
              "amp": False},
    "holdout": {"mode": "none"},
    "export": {"streams": {"n_streams": 3, "params": {"n_words": 6}}},
    "brain": {"n_subjects": 2, "simulate": {
        "sensors": "eeg64", "sfreq": 100.0, "snr_db": 0.0, "noise": {"brain_dipoles": 10},
        "stimuli": {"pre": 0.5, "isi": [0.3, 0.5], "post": 0.5},
        "responses": [{"predictor": "envelope", "sources": ["left_auditory", "right_auditory"]},
                      {"predictor": "units", "sources": ["left_ifg"], "n_units": 8}]}},
    "encode": {"tmin": 0.0, "tmax": 0.3, "cv": 3, "n_components": 3,
               "baseline": ["hilbert_envelope", "hilbert_onsets"]},
    "probe": {"lags": [-0.1, 0.3, 0.1], "cv": 2, "n_permutations": 100},
}


#: The same run with the network trained on continuous streams (``train.mode: streams``).
TINY_STREAMS = {
    **TINY, "name": "tiny_streams",
    "features": {"kind": "logmel", "params": {"n_mels": 16}, "normalization": "zscore"},
    "targets": {"kind": "localist"},
    "loss": {"kind": "cohort", "cohort_c": 1024.0, "offset_s": 0.1},
    "optim": {"kind": "rmsprop", "lr": 0.001},
    "train": {"mode": "streams", "batch_size": 4, "max_epochs": 2, "eval_every": 1, "checkpoint_every": 1,
              "amp": False},
    "streams": {"segment_s": 1.0, "steps_per_epoch": 2, "eval_rows": 2},
    "evaluation": {"monitor_splits": ["trained"], "monitor_max_tokens": 8},
    "quality": {"min_accuracy": 0.0},
}


def _write(tmp_path, cfg) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("tiny", [TINY, TINY_STREAMS], ids=["words", "streams"])
def test_tiny_pipeline_end_to_end(tmp_path, tiny):
    from neurorrn.pipelines.run import run_config
    from neurorrn.report import SECTIONS

    cfg = _write(tmp_path, tiny)
    out = tmp_path / "out"
    first = run_config(cfg, out_dir=out)
    assert set(first["stages"]) == {"corpus", "features", "train", "evaluate", "export", "brain", "encode", "probe",
                                    "report"}
    html = Path(first["report"]).read_text(encoding="utf-8")
    for sec in SECTIONS:
        assert f">{sec}<" in html
    assert "could not be drawn" not in html
    if tiny["train"].get("mode") == "streams":
        assert "Stream word accuracy and WER by item set and talker" in html and "softmax word score" in html
    second = run_config(cfg, out_dir=out)
    assert second["stages"] == first["stages"]
    log = sorted((out / "logs").glob("run-*.log"))[-1].read_text()
    assert log.count("up to date") == 9 and " running " not in log
    changed = dict(tiny, probe={**tiny["probe"], "cv": 3})
    third = run_config(_write(tmp_path, changed), out_dir=out)
    rerun = [n for n in first["stages"] if first["stages"][n] != third["stages"][n]]
    assert rerun == ["probe", "report"]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_torchrun_ddp_trains_the_train_stage(tmp_path):
    cfg = _write(tmp_path, TINY)
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "neurorrn.pipelines.ddp", str(cfg), "--out", str(out)],
                          capture_output=True, text=True, timeout=1100, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads(proc.stdout.strip().splitlines()[-1])
    assert meta["epochs"] == 3
    from neurorrn.pipelines.run import load_run_config

    module, c = load_run_config(cfg)
    keyed = {k: v for k, v in c.model_dump(mode="json").items() if k not in module.RUNTIME_SECTIONS}
    st = module.build_pipeline().status(keyed, out)
    assert st["corpus"] and st["features"] and st["train"] and not st["evaluate"]
    # the checkpoint came from 2 ranks: each step saw half of every batch
    ck_log = [json.loads(x) for x in (out / "stages" / "train").glob("*/metrics.jsonl").__next__()
              .read_text().splitlines()]
    assert [r["epoch"] for r in ck_log] == [1, 2, 3]
