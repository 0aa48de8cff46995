"""Every registered zoo simulation writes a valid store, a figure and a summary with published
values, ours and a verdict; ``neurorrn zoo run`` prints them side by side."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from neurorrn.cli import app
from neurorrn.store import open_store, validate_store
from neurorrn.zoo import REGISTRY
from neurorrn.zoo._summary import SUMMARY_KEYS, VERDICTS, check_summary, comparison_lines, verdict_from_checks

#: Small settings per simulation so the default suite stays fast (the registry defaults are the
#: published-scale runs).  A runner registered elsewhere may carry its own ``small_kw`` attribute.
SMALL = {
    "trace": {"n_cycles": 30},
    "iam": {"n_cycles": 20, "n_trials": 6},
    "hopfield": {"n_units": 200, "alphas": (0.05, 0.18), "n_test": 2, "n_cue_units": 50, "n_cue_patterns": 3},
    "boltzmann": {"n_runs": 1, "n_epochs": 30},
    "attractor": {"n_epochs": 60, "n_lesions": 1, "n_nets": 1, "proportions": None},
    "triangle": {"n_seeds": 1, "pre_epochs": 3, "read_epochs": 5},
    "interference": {"n_pairs": 4, "max_epochs": 30, "n_ac_epochs": 5},
    "trace_feedback_noise": {"n_words": 3, "noise_sds": (0.0, 0.5), "n_cycles": 30},
}


def _small_kw(name, request):
    kw = SMALL.get(name, getattr(REGISTRY[name], "small_kw", None))
    if kw is None:
        pytest.skip(f"{name}: no small settings (add them to SMALL or give the runner a small_kw attribute)")
    kw = dict(kw)
    if name == "trace":                     # TRACE needs the jTRACE lexicon; skips without ../shared/data
        kw["lexicon"] = request.getfixturevalue("shared_data") / "jtrace" / "slex.jt"
    if name == "trace_feedback_noise":
        kw["lexicon"] = request.getfixturevalue("shared_data") / "jtrace" / "biglex901.jt"
    return kw


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_model_writes_store_figure_and_summary(name, tmp_path, request):
    kw = _small_kw(name, request)
    res = REGISTRY[name](tmp_path, random_state=0, **kw)
    assert res["store"].exists() and res["store"].name == f"{name}.nc"
    with open_store(res["store"]) as ds:
        validate_store(ds)
        assert ds.attrs["time_unit"] in ("cycle", "step")
    assert res["figure"] is not None and res["figure"].exists() and res["figure"].stat().st_size > 1000
    assert res["figure"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = json.loads((tmp_path / f"{name}.json").read_text())
    for key in SUMMARY_KEYS:
        assert key in s, key
    check_summary(s)
    assert s["verdict"] in VERDICTS and set(s["published"]) <= set(s["ours"])
    with pytest.raises(FileExistsError):
        REGISTRY[name](tmp_path, random_state=0, **kw)


def test_cli_prints_published_beside_ours(tmp_path):
    res = CliRunner().invoke(app, ["zoo", "run", "hopfield", "--out", str(tmp_path), "--set", "n_units=200",
                                   "--set", "alphas=[0.05, 0.18]", "--set", "n_test=2", "--set", "n_cue_units=40",
                                   "--set", "n_cue_patterns=2"])
    assert res.exit_code == 0, res.output
    assert "published" in res.output and "ours" in res.output and "verdict:" in res.output
    assert "overlap_at_0.10" in res.output and (tmp_path / "hopfield.png").exists()


def test_summary_helpers():
    assert verdict_from_checks({"a": True, "b": True}) == "reproduced"
    assert verdict_from_checks({"a": True, "b": False}, core=("a",)) == "approximate"
    assert verdict_from_checks({"a": False, "b": True}, core=("a",)) == "not reproduced"
    assert verdict_from_checks({"a": False, "b": False, "c": True}) == "not reproduced"
    with pytest.raises(ValueError, match="core checks"):
        verdict_from_checks({"a": True}, core=("z",))
    good = {"reference": "X (1990)", "published": {"v": 1.0}, "ours": {"v": 0.9}, "verdict": "approximate",
            "seeds": [0], "budget": "10 steps"}
    check_summary(good)
    assert any("0.9" in line for line in comparison_lines(good))
    with pytest.raises(ValueError, match="lacks the keys"):
        check_summary({"published": {}})
    with pytest.raises(ValueError, match="verdict"):
        check_summary(dict(good, verdict="ok"))
    with pytest.raises(ValueError, match="lacks the published names"):
        check_summary(dict(good, ours={"w": 1}))
