"""The stage engine: caching by config + input hashes, partial re-runs, resume after a crash."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from neurorrn.pipeline.engine import COMPLETE, Pipeline, PipelineError, Stage


def _make(calls: Counter, fail: set | None = None) -> Pipeline:
    fail = fail if fail is not None else set()

    def src(ctx):
        calls["a"] += 1
        (ctx.out / "x.txt").write_text(str(ctx.section("a")["n"] * 2))
        return {"value": ctx.section("a")["n"] * 2}

    def mid(ctx):
        calls["b"] += 1
        if "b" in fail:
            fail.discard("b")
            raise RuntimeError("simulated crash in b")
        x = int((ctx.inputs["a"].path / "x.txt").read_text())
        return {"value": x + ctx.section("b")["add"]}

    def side(ctx):
        calls["c"] += 1
        return {"value": ctx.inputs["a"].meta["value"] * ctx.section("c")["mul"]}

    def end(ctx):
        calls["d"] += 1
        return {"value": ctx.inputs["b"].meta["value"] + ctx.inputs["c"].meta["value"]}

    return Pipeline("toy", [Stage("a", src, ("a",)), Stage("b", mid, ("b",), ("a",)),
                            Stage("c", side, ("c",), ("a",)), Stage("d", end, (), ("b", "c"))])


CFG = {"a": {"n": 3}, "b": {"add": 1}, "c": {"mul": 10}}


def test_runs_caches_and_reruns_only_dependents(tmp_path):
    calls = Counter()
    pipe = _make(calls)
    res = pipe.run(CFG, tmp_path)
    assert res["d"].meta["value"] == (6 + 1) + 60
    assert calls == Counter(a=1, b=1, c=1, d=1)
    assert all(pipe.status(CFG, tmp_path).values())
    # second run: everything cached
    res2 = pipe.run(CFG, tmp_path)
    assert calls == Counter(a=1, b=1, c=1, d=1)
    assert res2["d"].key == res["d"].key
    # change one setting of c: c and d re-run, a and b do not
    cfg = json.loads(json.dumps(CFG))
    cfg["c"]["mul"] = 100
    res3 = pipe.run(cfg, tmp_path)
    assert calls == Counter(a=1, b=1, c=2, d=2)
    assert res3["d"].meta["value"] == 7 + 600
    assert res3["b"].key == res["b"].key and res3["c"].key != res["c"].key
    # switching back is a cache hit (old outputs are kept)
    pipe.run(CFG, tmp_path)
    assert calls == Counter(a=1, b=1, c=2, d=2)
    # a log file per run and a run summary
    assert len(list((tmp_path / "logs").glob("run-*.log"))) == 4
    summary = json.loads((tmp_path / "run.json").read_text())
    assert summary["stages"]["d"]["key"] == res["d"].key


def test_key_depends_on_section_and_inputs_only():
    pipe = _make(Counter())
    k1 = pipe.keys(CFG)
    k2 = pipe.keys({**CFG, "unrelated": {"x": 1}})
    assert k1 == k2
    k3 = pipe.keys({**CFG, "a": {"n": 4}})
    assert all(k3[n] != k1[n] for n in "abcd")  # a changed: everything downstream changes


def test_unkeyed_settings_stay_out_of_the_key():
    def f(ctx):
        return {}

    pipe = Pipeline("t", [Stage("a", f, ("train",), unkeyed=("train.max_time_s",)), Stage("b", f, (), ("a",))])
    k1 = pipe.keys({"train": {"max_epochs": 5, "max_time_s": 10}})
    assert k1 == pipe.keys({"train": {"max_epochs": 5, "max_time_s": 9999}})
    assert k1 == pipe.keys({"train": {"max_epochs": 5}})
    assert k1["a"] != pipe.keys({"train": {"max_epochs": 6, "max_time_s": 10}})["a"]


def test_resume_after_crash(tmp_path):
    calls = Counter()
    pipe = _make(calls, fail={"b"})
    with pytest.raises(RuntimeError, match="simulated crash in b"):
        pipe.run(CFG, tmp_path)
    st = pipe.status(CFG, tmp_path)
    assert st == {"a": True, "b": False, "c": False, "d": False}
    assert not list((tmp_path / "stages" / "b").glob(".*tmp-*"))  # no half-written output
    res = pipe.run(CFG, tmp_path)
    assert calls == Counter(a=1, b=2, c=1, d=1)
    assert res["d"].meta["value"] == 67


def test_incomplete_output_is_redone(tmp_path):
    calls = Counter()
    pipe = _make(calls)
    res = pipe.run(CFG, tmp_path)
    (res["c"].path / COMPLETE).unlink()  # as if the run died before the marker was written
    pipe.run(CFG, tmp_path)
    assert calls == Counter(a=1, b=1, c=2, d=1)  # d's key is unchanged, so it stays cached


def test_until_and_from(tmp_path):
    calls = Counter()
    pipe = _make(calls)
    res = pipe.run(CFG, tmp_path, until="b")
    assert set(res) == {"a", "b"} and calls == Counter(a=1, b=1)
    pipe.run(CFG, tmp_path)
    assert calls == Counter(a=1, b=1, c=1, d=1)
    pipe.run(CFG, tmp_path, from_="c")
    assert calls == Counter(a=1, b=1, c=2, d=2)
    pipe.run(CFG, tmp_path, from_="a", until="b")
    assert calls == Counter(a=2, b=2, c=2, d=2)
    with pytest.raises(ValueError, match="Invalid value for until: 'bb'.*Did you mean 'b'"):
        pipe.run(CFG, tmp_path, until="bb")
    with pytest.raises(PipelineError, match="--from 'c' is not needed for --until 'b'"):
        pipe.run(CFG, tmp_path, until="b", from_="c")


def test_bad_definitions():
    f = lambda ctx: None  # noqa: E731
    with pytest.raises(PipelineError, match="stage 'b' reads 'z', which is not an earlier stage"):
        Pipeline("p", [Stage("a", f), Stage("b", f, inputs=("z",))])
    with pytest.raises(PipelineError, match="duplicate stage name 'a'"):
        Pipeline("p", [Stage("a", f), Stage("a", f)])


def test_non_json_result_fails_cleanly(tmp_path):
    pipe = Pipeline("p", [Stage("a", lambda ctx: {"x": object()})])
    with pytest.raises(TypeError, match="stage result is not JSON-able"):
        pipe.run({}, tmp_path)
    assert pipe.status({}, tmp_path) == {"a": False}
