import json

import matplotlib
import numpy as np
import yaml
from typer.testing import CliRunner

from neurorrn.cli import app
from neurorrn.probing import figures as F
from neurorrn.probing.clustering import hierarchical_clustering
from neurorrn.probing.lesions import lesion_sweep
from neurorrn.probing.pipeline import ProbeConfig
from neurorrn.probing.probes import probe_over_time, temporal_generalization
from neurorrn.probing.responses import phone_epochs, phone_tokens
from neurorrn.probing.rsa import feature_rdm, permutation_test, rdm, rdms_over_lags, time_resolved_rsa
from neurorrn.probing.selectivity import psi, squeeze
from neurorrn.store import save_store

matplotlib.use("Agg")


def test_probe_command_end_to_end(word_store, tmp_path):
    # two layers: the phone units, and the feature + noise units
    layer = np.where(word_store["unit"].values < 33, "lstm0", "lstm1").astype(object)
    store = save_store(word_store.assign_coords(layer=("unit", layer)), tmp_path / "store.nc")
    cfg = {"store": str(store), "out": str(tmp_path / "out"),
           "psi": {"window": [0.03, 0.08], "criterion": 0.2, "criteria": [0.0, 0.3, 0.1]},
           "probe": {"lags": [-0.1, 0.3], "lag_step": 0.05, "targets": ["phone", "nasal"], "estimator": "ridge",
                     "n_splits": 3},
           "rsa": {"n_permutations": 200}}
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    res = CliRunner().invoke(app, ["probe", str(path)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["n_selective_units"] == 41  # the planted units, and only them, at c = 0.2
    assert out["probes"]["phone"]["peak"] > 0.6 and out["probes"]["phone"]["peak_lag"] in (0.0, 0.05)
    assert out["rsa"]["results"]["features"]["p"] < 0.05
    d = tmp_path / "out"
    for f in ("psi.nc", "fsi.nc", "clusters.nc", "probes.nc", "generalization.nc", "rsa.json", "summary.json"):
        assert (d / f).is_file(), f
    figs = sorted(p.name for p in (d / "figures").glob("*.png"))
    assert figs == ["generalization.png", "probes.png", "probes_by_layer.png", "psi_by_criterion.png",
                    "psi_heatmap.png", "rsa_features.png"]
    summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    assert summary["config"]["psi"]["criterion"] == 0.2
    by_layer = summary["probes_by_layer"]
    assert by_layer["lstm0"]["peak"] > 0.5 > by_layer["lstm1"]["peak"]  # only lstm0 codes phone identity


def test_probe_command_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("psi: {windw: [0, 1]}\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["probe", str(bad)])
    assert res.exit_code == 1 and "windw" in res.output
    empty = tmp_path / "empty.yaml"
    empty.write_text("out: x\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["probe", str(empty), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "needs `store`" in res.output


def test_example_config_is_valid():
    from pathlib import Path

    cfg = ProbeConfig.from_yaml(Path(__file__).resolve().parents[2] / "configs" / "probe_example.yaml")
    assert cfg.psi.window == (0.05, 0.15)


def test_every_figure_renders(word_store):
    import matplotlib.pyplot as plt
    import xarray as xr

    tokens = phone_tokens(word_store, (0.03, 0.08))
    idx = psi(tokens, criteria=[0.0, 0.2])
    m = squeeze(idx["positive"].sel(criterion=0.2))
    figs = [F.plot_psi_heatmap(m, hierarchical_clustering(m), title="PSI"), F.plot_psi_by_criterion(idx)]
    ep = phone_epochs(word_store, [0.0, 0.05, 0.1])
    pr = probe_over_time(ep, "phone", estimator="ridge", n_splits=3)
    figs.append(F.plot_probe_time_course(pr))
    figs.append(F.plot_temporal_generalization(temporal_generalization(ep, estimator="ridge", n_splits=3)))
    model = rdm(m.astype(float))
    figs.append(F.plot_rsa(model, feature_rdm(), permutation_test(model, feature_rdm(), n_permutations=50)))
    lr = rdms_over_lags(ep)
    figs.append(F.plot_time_resolved_rsa(time_resolved_rsa(lr, lr.rename(lag="time"))))
    sw = lesion_sweep(lambda mask: float(mask.sum()), np.arange(6), [1, 2], n_repeats=2,
                      clusters=xr.DataArray([0, 0, 1, 1, 2, 2], dims="unit", coords={"unit": np.arange(6)}))
    figs.append(F.plot_lesion_sweep(sw))
    for f in figs:
        assert len(f.axes) >= 1
        f.canvas.draw()
        plt.close(f)
