"""Pipeline folders: one run at a time, cache keys that see external inputs (issue 19: D4, W1, C4)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurorrn.cli import app
from neurorrn.utils._lock import LockedError

from ._pipe import build
from ._procs import spawn, wait_for

HERE = str(Path(__file__).parent)

RUNNER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from _pipe import build
cfg = json.loads(sys.argv[2])
res = build().run(cfg, sys.argv[3], options=json.loads(sys.argv[4]))
print(json.dumps(res["train"].meta))
"""


def test_D4_two_runs_of_one_folder(tmp_path):
    out = tmp_path / "out"
    cfg = {"corpus": {}, "train": {"epochs": 3}}
    gate = tmp_path / "gate"
    gate.mkdir()
    proc = spawn(RUNNER, args=(HERE, json.dumps(cfg), out,
                               json.dumps({"gate": str(gate), "gate_stage": "train2"})))
    try:
        wait_for(gate / "ready", proc, timeout=120)
        work = next((out / "stages" / "train").glob("*.work"))
        with pytest.raises(LockedError, match=rf"pipeline folder '.*out' is locked by another writer: "
                                              rf"process {proc.pid}"):
            build().run(cfg, out)
        assert work.is_dir() and (work / "epoch-1.txt").exists()  # the holder's scratch is untouched
    finally:
        (gate / "go").touch()
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert json.loads(stdout.splitlines()[-1])["curve"] == [1, 2, 3]
    res = build().run(cfg, out)  # the folder is free again, and everything is up to date
    assert res["train"].meta["pid"] == proc.pid
    assert not (out / ".neurorrn.lock").exists()


def test_W1_rebuilding_an_external_corpus_invalidates_the_stages_that_read_it(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    for w in ("a", "b", "c"):
        (root / f"{w}.wav").write_bytes(b"x")
    lex = tmp_path / "lexicon.txt"
    lex.write_text("a b c")
    cfg = {"corpus": {"root": str(root), "lexicon": {"path": str(lex)}}, "train": {"epochs": 1}}
    pipe = build()
    out = tmp_path / "out"
    assert pipe.run(cfg, out)["features"].meta["n"] == 3
    assert all(pipe.status(cfg, out).values())
    (root / "d.wav").write_bytes(b"x")  # the corpus is rebuilt in place with more words
    assert pipe.status(cfg, out) == {"corpus": False, "features": False, "train": False}
    res = pipe.run(cfg, out)
    assert res["corpus"].meta["n_files"] == 4 and res["features"].meta["n"] == 4
    lex.write_text("a b c d")  # the lexicon file changes
    assert pipe.status(cfg, out)["corpus"] is False
    assert pipe.run(cfg, out)["corpus"].meta["lexicon"] == ["a", "b", "c", "d"]
    info = json.loads((res["corpus"].path / "result.json").read_text())
    assert info["external"]["corpus.root"]["n_files"] == 4


def test_W1_explicit_external_inputs(tmp_path):
    data = tmp_path / "recordings.fif"
    data.write_bytes(b"1")
    cfg = {"corpus": {"recordings": str(data)}, "train": {"epochs": 1}}
    pipe = build(external=("corpus.recordings",))
    k1 = pipe.keys(cfg)
    os.utime(data, ns=(1, 10**18))
    k2 = pipe.keys(cfg)
    assert k1["corpus"] != k2["corpus"] and k1["train"] != k2["train"]
    assert build().keys(cfg)["corpus"] == build().keys(cfg)["corpus"]  # not a path key: no I/O


def test_C4_cli_errors_are_messages_not_tracebacks(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeline: earshot_meg\nname: [1, 2\n")
    r = CliRunner().invoke(app, ["run", str(bad)])
    assert r.exit_code == 1
    assert f"{bad}: not valid YAML" in r.output and "<unicode string>" not in r.output
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
    r = CliRunner().invoke(app, ["store", "inspect", str(tmp_path)])
    assert r.exit_code == 1 and "expected a file, got a directory" in r.output
    assert isinstance(r.exception, SystemExit)
    r = CliRunner().invoke(app, ["store", "validate", str(tmp_path)])
    assert r.exit_code == 1 and "expected a file, got a directory" in r.output
