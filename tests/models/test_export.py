import numpy as np
import pandas as pd
import pytest
import torch

from neurorrn.models import (FeatureNormalizer, FeatureSet, ModelBundle, NetworkConfig, NetworkSubject, SpeechRNN,
                             export_activations, export_corpus, make_targets)
from neurorrn.store import get_alignments, load_store, validate_store


@pytest.fixture
def bundle(planted):
    data = FeatureSet.from_xarray(planted)
    torch.manual_seed(0)
    model = SpeechRNN(NetworkConfig(n_input=data.n_features, hidden_sizes=[6, 5], n_output=10))
    tg = make_targets(sorted(set(data.word)), "srv", n_dims=10, n_active=2)
    norm = FeatureNormalizer("zscore").fit(data)
    return ModelBundle(model.config, model.state_dict(), tg,
                       {"kind": "planted", "params": {}, "frame_rate": 100.0, "sfreq": 16000, "n_features": 12},
                       norm, ["AA", "B"], {w: ["B", "AA"] for w in tg.words}, model_id="tiny")


def _alignments(planted):
    rows = []
    for sid, n in zip(planted["stimulus"].values, planted["n_frames"].values):
        rows += [(sid, "word", sid.split("__")[0], 0.0, n / 100), (sid, "phone", "B", 0.0, 0.05),
                 (sid, "phone", "AA", 0.05, n / 100)]
    return pd.DataFrame(rows, columns=["stimulus", "tier", "label", "start", "end"])


def test_bundle_roundtrip(bundle, tmp_path):
    p = bundle.save(tmp_path / "model.pt")
    with pytest.raises(FileExistsError, match="already exists"):
        bundle.save(p)
    b2 = ModelBundle.load(p)
    assert b2.features == bundle.features and b2.phones == ["AA", "B"] and b2.model_id == "tiny"
    np.testing.assert_array_equal(b2.targets.matrix, bundle.targets.matrix)
    np.testing.assert_array_equal(b2.normalizer.mean_, bundle.normalizer.mean_)
    x = torch.randn(1, 7, 12)
    torch.testing.assert_close(b2.build_model()(x)[0], bundle.build_model()(x)[0])
    torch.save({"format": "other"}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="is not a neurorrn model bundle"):
        ModelBundle.load(tmp_path / "x.pt")


def test_export_isolated_matches_model(bundle, planted, tmp_path):
    al = _alignments(planted)
    path = export_activations(bundle, planted, tmp_path / "acts.nc", alignments=al, require_alignments=True,
                              batch_size=4)
    validate_store(path)
    ds = load_store(path)
    assert ds.sizes["unit"] == 11 and sorted(set(ds["layer"].values)) == ["lstm0", "lstm1"]
    assert set(ds["component"].values) == {"h"}
    assert list(ds["word"].values[:3]) == ["w0"] * 3
    np.testing.assert_array_equal(ds["n_frames"].values, planted["n_frames"].values)
    # each token from the zero state, on normalised features
    model = bundle.build_model()
    data = bundle.normalizer.transform(FeatureSet.from_xarray(planted))
    i = 7
    n = int(data.lengths[i])
    _, _, hidden = model(torch.from_numpy(data.features[i : i + 1, :n]), return_hidden=True)
    got = ds["activation"].isel(stimulus=i).values[:n]
    np.testing.assert_allclose(got[:, :6], hidden[0][0].detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(got[:, 6:], hidden[1][0].detach().numpy(), atol=1e-6)
    assert np.isnan(ds["activation"].isel(stimulus=i).values[n:]).all()
    pd.testing.assert_frame_equal(get_alignments(ds, tier="phone").reset_index(drop=True),
                                  al[al.tier == "phone"].reset_index(drop=True), check_dtype=False)


def test_export_components_and_stream(bundle, planted, tmp_path):
    path = export_activations(bundle, planted, tmp_path / "c.nc", components=("h", "c", "forget_gate"),
                              mode="stream", block_frames=5, batch_size=5)
    ds = load_store(path)
    assert ds.sizes["unit"] == 3 * 11
    assert set(ds["component"].values) == {"h", "c", "forget_gate"}
    # stream mode: one continuous run over the concatenated tokens
    data = bundle.normalizer.transform(FeatureSet.from_xarray(planted))
    stream = np.concatenate([data.features[i, : data.lengths[i]] for i in range(data.n_tokens)])
    _, _, hidden = bundle.build_model()(torch.from_numpy(stream[None]), return_hidden=True)
    h1 = ds["activation"].isel(unit=np.flatnonzero((ds["layer"].values == "lstm1") & (ds["component"].values == "h")))
    flat = np.concatenate([h1.isel(stimulus=i).values[: data.lengths[i]] for i in range(data.n_tokens)])
    np.testing.assert_allclose(flat, hidden[1][0].detach().numpy(), atol=1e-5)


def test_export_errors(bundle, planted, tmp_path):
    wrong_rate = planted.assign_attrs(frame_rate=200.0)
    with pytest.raises(ValueError, match=r"features are at 200 frames/s but model 'tiny' was trained on 100 frames/s"):
        export_activations(bundle, wrong_rate, tmp_path / "a.nc")
    (tmp_path / "exists.nc").write_text("x")
    with pytest.raises(FileExistsError, match=r"output store .*exists.nc' already exists; pass overwrite=True"):
        export_activations(bundle, planted, tmp_path / "exists.nc")
    with pytest.raises(ValueError, match="no alignments were given"):
        export_activations(bundle, planted, tmp_path / "b.nc", require_alignments=True)
    al = _alignments(planted)
    with pytest.raises(ValueError, match=r"1 stimulus\(es\) have no phone alignments: \['w0__a'\]"):
        export_activations(bundle, planted, tmp_path / "b.nc", alignments=al[al.stimulus != "w0__a"],
                           require_alignments=True)
    with pytest.raises(ValueError, match="features have 4 channels but model 'tiny' expects 12"):
        export_activations(bundle, planted.isel(frequency=slice(0, 4)), tmp_path / "b.nc")
    with pytest.raises(ValueError, match="Invalid value for component of a lstm network: 'reset_gate'"):
        export_activations(bundle, planted, tmp_path / "b.nc", components=("reset_gate",))

    class NoAlignments:
        root = "/corpus/x"
        alignments = pd.DataFrame(columns=["stimulus", "tier", "label", "start", "end"])

    with pytest.raises(ValueError, match="corpus at '/corpus/x' has no alignments"):
        export_corpus(bundle, NoAlignments(), tmp_path / "b.nc")
    assert not (tmp_path / "a.nc").exists() and not (tmp_path / "b.nc").exists()


def test_network_subject(bundle, planted, tmp_path):
    subj = NetworkSubject(bundle, components=("h", "c"))
    feats = [planted.isel(stimulus=i).values[: int(planted["n_frames"][i])] for i in range(3)]
    out = subj.run_one(feats[0])
    assert list(out) == ["lstm0.h", "lstm0.c", "lstm1.h", "lstm1.c"] and out["lstm1.c"].shape == (len(feats[0]), 5)
    ds = subj.record(feats, ["a", "b", "c"], word=np.array(["w0", "w0", "w0"]))
    assert ds.sizes["unit"] == 22 and set(ds["component"].values) == {"h", "c"}
    stream = NetworkSubject(bundle, mode="stream")
    a = stream.run_one(feats[0])["lstm1.h"]
    b = stream.run_one(feats[1])["lstm1.h"]
    stream.reset()
    b0 = stream.run_one(feats[1])["lstm1.h"]
    assert not np.allclose(b, b0)  # carried state changes the second item
    both = NetworkSubject(bundle, mode="stream").run_one(np.concatenate(feats[:2]))["lstm1.h"]
    np.testing.assert_allclose(np.concatenate([a, b]), both, atol=1e-5)
    with pytest.raises(ValueError, match=r"features must have shape \(n_frames, 12\), got \(5, 3\)"):
        subj.run_one(np.zeros((5, 3)))
