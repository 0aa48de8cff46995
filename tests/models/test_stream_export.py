"""Export at story scale: vectorised c/gates, state reset, split, block-by-block sounds, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from neurorrn.models import FeatureNormalizer, FeatureSet, ModelBundle, NetworkConfig, SpeechRNN, \
    export_activations, make_targets
from neurorrn.models.bundle import bundle_feature_info
from neurorrn.models.export import _run, export_sounds
from neurorrn.speech import compute_features
from neurorrn.store import load_store, validate_store

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_vectorised_components_match_the_step_loop(cell):
    model = SpeechRNN(NetworkConfig(cell=cell, n_input=5, hidden_sizes=[7, 4], n_output=3), random_state=1)
    comps = {"lstm": ("h", "c", "input_gate", "forget_gate", "cell_input", "output_gate"),
             "gru": ("h", "reset_gate", "update_gate", "candidate")}[cell]
    x = torch.randn(3, 20, 5, generator=torch.Generator().manual_seed(0))
    state = model.zero_state(3)
    state = [(s[0] + 0.3, s[1] - 0.2) if cell == "lstm" else s + 0.3 for s in state]  # a carried state
    fast, st_fast = _run(model, x, None, comps, state)
    slow, _, st_slow = model.forward_components(x, comps, state=state)
    for k, (ln, c) in enumerate((ln, c) for ln in model.layer_names for c in comps):
        torch.testing.assert_close(fast[k], slow[(ln, c)], atol=2e-6, rtol=1e-5)
    if cell == "lstm":
        torch.testing.assert_close(st_fast[1][1], st_slow[1][1], atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("T,chunk", [(1, None), (7, None), (64, None), (100, 8), (37, 50), (1000, None)])
def test_cell_scan_matches_the_recurrence(T, chunk):
    from neurorrn.models.export import _cell_scan

    g = torch.Generator().manual_seed(T)
    f = torch.rand(2, T, 5, generator=g)
    f[0, T // 2:, 0] = 0.0  # a forget gate at zero cuts the history
    ig = torch.randn(2, T, 5, generator=g)
    c0 = torch.randn(2, 5, generator=g)
    want, c = [], c0
    for t in range(T):
        c = f[:, t] * c + ig[:, t]
        want.append(c)
    torch.testing.assert_close(_cell_scan(f, ig, c0, chunk=chunk), torch.stack(want, dim=1), atol=1e-5, rtol=1e-5)


def _bundle(kind="logmel", params=None, n_units=8, n_feat=16):
    params = params or {"n_mels": n_feat}
    model = SpeechRNN(NetworkConfig(n_input=n_feat, hidden_sizes=[n_units], n_output=2), random_state=0)
    norm = FeatureNormalizer("none")
    norm.mean_ = np.zeros(n_feat, np.float32)
    norm.scale_ = np.ones(n_feat, np.float32)
    return ModelBundle(model.config, model.state_dict(), make_targets(["a", "b"], "localist"),
                       bundle_feature_info(kind, params, 100.0, 8000.0, n_feat), norm, model_id="m")


def _sounds(n=3, sr=8000, dur=0.8):
    rng = np.random.default_rng(0)
    return {f"s{i}": (0.1 * rng.standard_normal(int(sr * dur)), sr) for i in range(n)}


def test_stream_export_reset_and_split(tmp_path):
    b = _bundle()
    feats = compute_features(list(_sounds().values()), "logmel", n_mels=16, stimulus=["s0", "s1", "s2"])
    feats = feats.assign_coords(split=("stimulus", ["trained", "test", "test"]))
    carried = load_store(export_activations(b, feats, tmp_path / "c.nc", mode="stream", block_frames=7))
    reset = load_store(export_activations(b, feats, tmp_path / "r.nc", mode="stream", block_frames=7,
                                          reset_state=True, components=("h", "c")))
    iso = load_store(export_activations(b, feats, tmp_path / "i.nc", mode="isolated"))
    assert list(reset["split"].values) == ["trained", "test", "test"]
    validate_store(tmp_path / "r.nc")  # written block by block (StoreWriter.write_blocks)
    assert list(reset["n_frames"].values) == list(feats["n_frames"].values)
    h = reset["activation"].sel(unit=[u for u in reset["unit"].values if ".h:" in u])
    np.testing.assert_allclose(h.values, iso["activation"].values, atol=1e-5, equal_nan=True)
    # carried state: the second stimulus starts where the first ended
    assert np.abs(carried["activation"].isel(stimulus=1, time=0).values
                  - iso["activation"].isel(stimulus=1, time=0).values).max() > 1e-4
    np.testing.assert_allclose(carried["activation"].isel(stimulus=0).values, iso["activation"].isel(stimulus=0).values,
                               atol=1e-5, equal_nan=True)


def test_export_sounds_matches_whole_features(tmp_path):
    b = _bundle()
    sounds = _sounds(2)
    feats = compute_features(list(sounds.values()), "logmel", n_mels=16, stimulus=list(sounds))
    whole = load_store(export_activations(b, feats, tmp_path / "w.nc", mode="stream", reset_state=True))
    blocks = load_store(export_sounds(b, sounds, tmp_path / "b.nc", block_frames=13, split={"s0": "x", "s1": "y"}))
    np.testing.assert_allclose(blocks["activation"].values, whole["activation"].values, atol=1e-5, equal_nan=True)
    np.testing.assert_array_equal(blocks["n_frames"].values, whole["n_frames"].values)
    assert list(blocks["split"].values) == ["x", "y"]


SCRIPT = textwrap.dedent("""
    import json, resource, sys, wave
    import numpy as np, torch
    torch.set_num_threads(1)
    sys.path.insert(0, {repo!r})
    from neurorrn.models.export import export_sounds
    from neurorrn.models.bundle import ModelBundle
    b = ModelBundle.load({bundle!r})
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    export_sounds(b, {{"story": {wav!r}}}, {out!r}, components=("h", "c"), block_frames=6000)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({{"base_mb": base / 1024, "peak_mb": peak / 1024}}))
""")


@pytest.mark.slow
def test_sixty_minute_stream_exports_in_bounded_memory(tmp_path):
    """An hour at 8 kHz: holding its h and c (2 x 64 units) would take 184 MB; we allow 80 MB of growth."""
    import wave

    sr, minutes = 8000, 60
    wav = tmp_path / "story.wav"
    rng = np.random.default_rng(0)
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        for _ in range(minutes):
            w.writeframes((rng.standard_normal(60 * sr) * 3000).astype("<i2").tobytes())
    b = _bundle(n_units=64)
    b.save(tmp_path / "m.pt")
    out = tmp_path / "story.nc"
    code = SCRIPT.format(repo=str(REPO), bundle=str(tmp_path / "m.pt"), wav=str(wav), out=str(out))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900,
                         env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr[-2000:]
    mem = json.loads(res.stdout.strip().splitlines()[-1])
    assert mem["peak_mb"] - mem["base_mb"] < 80, mem
    ds = load_store(out)
    assert int(ds["n_frames"].values[0]) == minutes * 60 * 100 + 1  # centred log-mel frames
    assert np.isfinite(ds["activation"].isel(stimulus=0, time=-1).values).all()
