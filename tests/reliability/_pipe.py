"""A toy three-stage pipeline for the engine's lock, cache and kill tests (importable by child processes)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from neurorrn.pipeline.engine import Pipeline, Stage


def _gate(ctx, name):
    gate = ctx.options.get("gate")
    if gate and ctx.options.get("gate_stage", "features") == name:
        Path(gate, "ready").touch()
        while not Path(gate, "go").exists():
            time.sleep(0.02)


def corpus_stage(ctx):
    sec = ctx.section("corpus") or {}
    files = sorted(p.name for p in Path(sec["root"]).iterdir()) if sec.get("root") else ["built"]
    lex = Path(sec["lexicon"]["path"]).read_text().split() if sec.get("lexicon") else []
    (ctx.out / "files.json").write_text(json.dumps(files))
    _gate(ctx, "corpus")
    return {"n_files": len(files), "lexicon": lex}


def features_stage(ctx):
    files = json.loads((ctx.inputs["corpus"].path / "files.json").read_text())
    _gate(ctx, "features")
    (ctx.out / "features.json").write_text(json.dumps([f.upper() for f in files]))
    return {"n": len(files)}


def train_stage(ctx):
    """Writes one checkpoint file per 'epoch' into ctx.work and resumes from the last one."""
    n_epochs = int(ctx.section("train")["epochs"])
    done = sorted(int(p.stem.split("-")[1]) for p in ctx.work.glob("epoch-*.txt"))
    start = done[-1] if done else 0
    log = []
    for e in range(start + 1, n_epochs + 1):
        _gate(ctx, f"train{e}")
        (ctx.work / f"epoch-{e}.txt").write_text(str(e))
        log.append(e)
        if ctx.options.get("sleep"):
            time.sleep(float(ctx.options["sleep"]))
    curve = [int((ctx.work / f"epoch-{e}.txt").read_text()) for e in range(1, n_epochs + 1)]
    (ctx.out / "curve.json").write_text(json.dumps(curve))
    return {"curve": curve, "resumed_from": start, "pid": os.getpid()}


def build(external=()):
    return Pipeline("toy", [
        Stage("corpus", corpus_stage, ("corpus",), external=tuple(external)),
        Stage("features", features_stage, (), ("corpus",)),
        Stage("train", train_stage, ("train",), ("features",)),
    ])
