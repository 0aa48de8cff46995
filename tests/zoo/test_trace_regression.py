"""TRACE: pinned values, whole-lexicon recognition and the command line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from neurorrn.cli import app
from neurorrn.store import open_store
from neurorrn.zoo.trace import PHONEMES, read_jt_lexicon, simulate


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """TRACE's batched ops are memory-bound; one thread is as fast and robust on a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def slex(shared_data):
    return read_jt_lexicon(shared_data / "jtrace" / "slex.jt")


def test_pinned_abrupt_values(slex):
    """Exact values this implementation gives for jTRACE's default simulation (-^br^pt-, slex)."""
    r = simulate("-^br^pt-", slex, n_cycles=100)
    tgt = r.word_activation("^br^pt", alignment=4)
    cycles = [10, 20, 30, 40, 60, 80, 99]
    np.testing.assert_allclose(tgt[cycles], PINNED_TARGET, atol=5e-6)
    np.testing.assert_allclose(r.word_activation("^", alignment=4)[cycles], PINNED_EMBEDDED, atol=5e-6)
    np.testing.assert_allclose(r.phoneme[0, 60, PHONEMES.index("b"), 6], PINNED_PHONEME_B, atol=5e-6)


PINNED_TARGET = [-0.01, 0.042328, 0.182141, 0.417951, 0.729466, 0.791485, 0.771528]
PINNED_EMBEDDED = [-0.01, 0.05192, 0.16337, 0.202577, 0.067049, -0.031813, -0.063197]
PINNED_PHONEME_B = 0.646845


def _recognised(words, slex, dtype=torch.float32):
    """At cycle 99 the target at its aligned slice beats every other word unit at every slice.

    The silence word ``-`` is not a lexical competitor here (with it, all words but ``^`` pass:
    for the input ``-^-`` the surrounding silence units end more active than ``^``)."""
    r = simulate(["-" + w + "-" for w in words], slex, n_cycles=100, word_slices=[4], dtype=dtype)
    sil = slex.index("-")
    out = {}
    for i, w in enumerate(words):
        j = slex.index(w)
        other = r.word_max[i, -1].copy()
        other[[j, sil]] = -np.inf
        out[w] = bool(r.word[i, -1, j, 0] > other.max())
    return out


def test_all_slex_words_recognised_without_noise(slex):
    words = [w for w in slex.words if w != "-"]
    assert len(words) == 212
    res = _recognised(words, slex)
    assert all(res.values()), [w for w, ok in res.items() if not ok]


def test_cli_trace(shared_data, tmp_path):
    out = tmp_path / "abrupt.nc"
    res = CliRunner().invoke(app, ["zoo", "trace", "--lexicon", str(shared_data / "jtrace" / "slex.jt"),
                                   "--input", "-^br^pt-", "--cycles", "30", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "winner" in res.output
    with open_store(out) as ds:
        assert ds.sizes["time"] == 30 and ds.attrs["time_unit"] == "cycle"
        assert "word:^br^pt@4" in set(ds.unit.values)
    res = CliRunner().invoke(app, ["zoo", "trace", "--lexicon", str(shared_data / "jtrace" / "slex.jt"),
                                   "--input", "-bxk-", "--cycles", "3", "--out", str(tmp_path / "x.nc")])
    assert res.exit_code == 1 and "'-bxk-' contains ['x']" in res.output


def test_zoo_list_and_run(tmp_path):
    import json

    res = CliRunner().invoke(app, ["zoo", "list"])
    assert res.exit_code == 0
    for name in ("trace", "iam", "hopfield", "boltzmann", "attractor", "triangle"):
        assert name in res.output
    res = CliRunner().invoke(app, ["zoo", "run", "hopfield", "--out", str(tmp_path), "--set", "n_units=100",
                                   "--set", "alphas=[0.05]", "--set", "n_cue_units=60", "--set", "n_cue_patterns=3"])
    assert res.exit_code == 0, res.output
    with open_store(tmp_path / "hopfield.nc") as ds:
        assert ds.attrs["time_unit"] == "step"
    assert json.loads((tmp_path / "hopfield.json").read_text())["final_overlap"]
    res = CliRunner().invoke(app, ["zoo", "run", "hopfeld", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "Did you mean 'hopfield'" in res.output


def test_registry_register_errors():
    from neurorrn.zoo import REGISTRY, get_simulation, register

    with pytest.raises(ValueError, match="already registered"):
        register("trace", lambda out_dir, **kw: None)
    with pytest.raises(TypeError, match="must be callable"):
        register("new_thing", 3)
    with pytest.raises(ValueError, match="Invalid value for simulation name"):
        get_simulation("nope")
    assert callable(REGISTRY["trace"])


def test_zoo_run_trace_needs_and_uses_a_lexicon(shared_data, tmp_path):
    from neurorrn.zoo import REGISTRY

    with pytest.raises(ValueError, match="TRACE needs a lexicon"):
        REGISTRY["trace"](tmp_path)
    res = REGISTRY["trace"](tmp_path, lexicon=shared_data / "jtrace" / "slex.jt", inputs=["-bark-"], n_cycles=60)
    assert res["summary"]["-bark-"]["winner"] == "bark"
    assert (tmp_path / "trace.nc").exists() and (tmp_path / "trace.json").exists()
