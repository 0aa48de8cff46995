"""Training folders: one writer, no silent overwrite, honest resume (issue 19: D3, W2, W3, U1)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from neurorrn.models import load_checkpoint
from neurorrn.utils._lock import LockedError

from ._planted import planted, trainer
from ._procs import spawn, wait_for


def _cfg(**train):
    from neurorrn.models import ExperimentConfig

    return ExperimentConfig.from_dict({
        "name": "planted", "features": {"kind": "logmel", "normalization": "zscore"},
        "network": {"hidden_sizes": [8]}, "targets": {"kind": "srv", "n_dims": 12, "n_active": 3},
        "optim": {"kind": "adam", "lr": 0.02},
        "train": {"batch_size": 4, "max_epochs": 3, "carry_state": False, "eval_every": 2, "checkpoint_every": 2,
                  **train},
        "holdout": {"mode": "T", "excluded_talker": "b"}, "evaluation": {"batch_size": 64}})


def _snapshot(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}


def test_D3_a_fresh_run_over_an_existing_one_is_refused(tmp_path):
    from neurorrn.models import train_on_features

    feats = planted()
    train_on_features(_cfg(), feats, tmp_path)
    before = _snapshot(tmp_path)
    assert {"model.pt", "checkpoint.pt", "summary.json", "metrics.jsonl"} <= set(before)
    with pytest.raises(FileExistsError, match=r"already holds a training run \(checkpoint\.pt, model\.pt, "
                                              r"summary\.json\); resume it \(--resume\)"):
        train_on_features(_cfg(random_state=5), feats, tmp_path)
    assert _snapshot(tmp_path) == before  # nothing replaced, nothing appended


def test_D3_leftovers_of_a_run_killed_before_its_first_checkpoint_are_cleared(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2}\n')
    (tmp_path / "best.pt").write_bytes(b"partial")
    data, tr = trainer(tmp_path, max_epochs=2)
    tr.fit(data)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2]
    assert not (tmp_path / "best.pt").exists() or (tmp_path / "best.pt").read_bytes() != b"partial"


def test_W2_resume_refuses_a_changed_config_unless_told(tmp_path):
    data, tr = trainer(tmp_path, max_epochs=2)
    tr.fit(data)
    tr.release()
    data, tr2 = trainer(tmp_path, lr=0.05, max_epochs=4)
    with pytest.raises(ValueError, match=r"training configuration differs.*\n  - optim\.lr: 0\.02 -> 0\.05"):
        tr2.resume(tmp_path / "checkpoint.pt")
    data, tr3 = trainer(tmp_path, lr=0.02, max_epochs=4, batch_size=2)
    with pytest.raises(ValueError, match=r"train\.batch_size: 4 -> 2"):
        tr3.resume(tmp_path / "checkpoint.pt")
    # only when to stop may change freely
    data, tr4 = trainer(tmp_path, lr=0.02, max_epochs=3, device="cpu")
    tr4.resume(tmp_path / "checkpoint.pt")
    tr4.release()
    # told: the new learning rate is the one the optimiser uses from the next step on
    data, tr5 = trainer(tmp_path, lr=0.05, max_epochs=3)
    tr5.resume(tmp_path / "checkpoint.pt", allow_config_change=True)
    assert tr5.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    tr5.fit(data)
    assert json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])["lr"] == pytest.approx(0.05)


def test_W3_resume_after_a_kill_does_not_duplicate_metrics(tmp_path):
    data, tr = trainer(tmp_path, max_epochs=2)
    tr.fit(data)  # checkpoint at epoch 2
    shutil.copy(tmp_path / "checkpoint.pt", tmp_path / "ck2.pt")
    tr.config = tr.config.model_copy(update={"max_epochs": 3})
    tr.fit(data)  # epoch 3 logged ...
    tr.release()
    shutil.copy(tmp_path / "ck2.pt", tmp_path / "checkpoint.pt")  # ... but killed before its checkpoint
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 3
    data, tr2 = trainer(tmp_path, max_epochs=4)
    tr2.resume(tmp_path / "checkpoint.pt")
    tr2.fit(data)
    epochs = [json.loads(x)["epoch"] for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3, 4]


TRAIN_HOLDER = """
import pathlib, sys
sys.path.insert(0, sys.argv[3])
from _planted import trainer
out, ready = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
import time
def validate(model):
    ready.touch()
    while not (out.parent / "go").exists():
        time.sleep(0.02)
    return {}
data, tr = trainer(out, max_epochs=2, validate=validate, eval_every=1)
tr.fit(data)
print("trained", tr.epoch_)
"""


def test_two_processes_training_into_one_folder(tmp_path):
    out = tmp_path / "run"
    here = str(__import__("pathlib").Path(__file__).parent)
    proc = spawn(TRAIN_HOLDER, args=(out, tmp_path / "ready", here))
    try:
        wait_for(tmp_path / "ready", proc, timeout=120)
        data, tr = trainer(out, max_epochs=2)
        with pytest.raises(LockedError, match=rf"training folder '.*run' is locked by another writer: "
                                              rf"process {proc.pid}"):
            tr.fit(data)
        assert tr.epoch_ == 0
    finally:
        (tmp_path / "go").touch()
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "trained 2" in stdout
    assert [json.loads(x)["epoch"] for x in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 2


def test_U1_corrupt_or_incomplete_checkpoints_get_clear_errors(tmp_path):
    data, tr = trainer(tmp_path, max_epochs=1)
    tr.fit(data)
    raw = (tmp_path / "checkpoint.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"'.*cut\.pt' cannot be read as a checkpoint \(truncated, corrupt"):
        load_checkpoint(tmp_path / "cut.pt")
    ck = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    del ck["optimizer"]
    torch.save(ck, tmp_path / "partial.pt")
    with pytest.raises(ValueError, match=r"checkpoint '.*partial\.pt' lacks \['optimizer'\]"):
        load_checkpoint(tmp_path / "partial.pt")


def test_U1_a_bundle_missing_keys_is_named(tmp_path):
    from neurorrn.models import ModelBundle
    from neurorrn.models.bundle import BUNDLE_FORMAT, BUNDLE_VERSION

    torch.save({"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "network": {}, "state_dict": {}},
               tmp_path / "m.pt")
    with pytest.raises(ValueError, match=r"model bundle '.*m\.pt' lacks \['targets', 'features', 'normalizer'"):
        ModelBundle.load(tmp_path / "m.pt")
