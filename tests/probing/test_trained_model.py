"""End to end on a speech network trained with neurorrn.models (step 3): train -> export -> `neurorrn probe`.

The inputs are "spectra" built from phones: each analysis phone's frame is a random linear map of
its 14 articulatory features plus a phone-specific part, so a network that encodes its input keeps
phone identity and feature structure in its hidden units.  Marked slow (training takes ~30-60 s on 2
shared cores); the default suite runs the same command on a planted store (test_cli_figures.py).
"""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from typer.testing import CliRunner

from neurorrn.probing.features import ANALYSIS_PHONES, phone_feature_table

pytestmark = pytest.mark.slow


def _phonetic_features(n_words=40, talkers=("a", "b", "c"), n_feat=24, seed=0):
    rng = np.random.default_rng(seed)
    table = phone_feature_table()
    w = rng.normal(size=(14, n_feat))
    templ = {p: table.sel(phone=p).values @ w + 0.5 * rng.normal(size=n_feat) for p in ANALYSIS_PHONES}
    words = {}
    while len(words) < n_words:
        words.setdefault(f"w{len(words):02d}", [str(p) for p in rng.choice(ANALYSIS_PHONES, int(rng.integers(3, 6)))])
    mats, ids, ws, ts, rows = [], [], [], [], []
    for word, pron in words.items():
        for t in talkers:
            lens = rng.integers(6, 11, size=len(pron))
            m = np.concatenate([np.repeat(templ[p][None], n, 0) for p, n in zip(pron, lens)])
            m = m + 0.3 * rng.normal(size=m.shape)
            sid = f"{word}__{t}"
            b = np.concatenate([[0], np.cumsum(lens)]) / 100
            rows += [(sid, "phone", p, b[k], b[k + 1]) for k, p in enumerate(pron)]
            rows.append((sid, "word", word, 0.0, b[-1]))
            mats.append(m)
            ids.append(sid)
            ws.append(word)
            ts.append(t)
    n_t = max(len(m) for m in mats)
    data = np.full((len(mats), n_t, n_feat), np.nan, np.float32)
    for i, m in enumerate(mats):
        data[i, : len(m)] = m
    feats = xr.DataArray(
        data, dims=("stimulus", "time", "frequency"),
        coords={"stimulus": ids, "time": np.arange(n_t) / 100, "frequency": np.arange(n_feat, dtype=float),
                "n_frames": ("stimulus", [len(m) for m in mats]), "word": ("stimulus", ws),
                "talker": ("stimulus", ts)},
        attrs={"frame_rate": 100.0, "kind": "planted"})
    return feats, pd.DataFrame(rows, columns=["stimulus", "tier", "label", "start", "end"]), words


@pytest.mark.filterwarnings("ignore:You are writing invalid netcdf features")
def test_probe_command_on_a_trained_network(tmp_path):
    import torch

    from neurorrn.cli import app
    from neurorrn.models.experiment import ExperimentConfig, train_on_features
    from neurorrn.models.export import export_activations

    torch.set_num_threads(1)
    feats, al, words = _phonetic_features()
    cfg = ExperimentConfig.from_dict({
        "name": "tiny", "network": {"hidden_sizes": [48]}, "targets": {"kind": "srv", "n_dims": 60, "n_active": 5},
        "optim": {"kind": "adam", "lr": 0.01}, "holdout": {"mode": "none"}, "evaluation": {"competitors": False},
        "train": {"batch_size": 120, "max_epochs": 80, "amp": False, "eval_every": 40, "checkpoint_every": 1000}})
    summary = train_on_features(cfg, feats, tmp_path / "run", pronunciations=words)
    assert summary["accuracy"]["relative"]["trained"] > summary["chance"]
    store = export_activations(tmp_path / "run" / "model.pt", feats, tmp_path / "store.nc", alignments=al)
    pc = {"store": str(store), "out": str(tmp_path / "probe"),
          "psi": {"window": [0.02, 0.06], "criterion": 0.05},
          "probe": {"lag_step": 0.05, "estimator": "ridge", "n_splits": 4, "targets": ["phone", "syllabic"]},
          "rsa": {"n_permutations": 1000}}
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(pc), encoding="utf-8")
    res = CliRunner().invoke(app, ["probe", str(path)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["n_selective_units"] > 10
    assert out["probes"]["phone"]["peak"] > 0.5  # chance 1/32
    assert 0.0 <= out["probes"]["phone"]["peak_lag"] <= 0.1
    assert out["probes"]["syllabic"]["peak"] > 0.9
    rsa = out["rsa"]["results"]["features"]
    assert rsa["r"] > 0.2 and rsa["p"] < 0.01  # the feature structure of the input survives in the PSI map
    figs = {p.name for p in (tmp_path / "probe" / "figures").glob("*.png")}
    assert {"psi_heatmap.png", "probes.png", "rsa_features.png", "generalization.png"} <= figs
