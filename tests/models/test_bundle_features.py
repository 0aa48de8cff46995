"""Bundles know their input: features computed with other settings are refused."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.models import FeatureNormalizer, FeatureSet, ModelBundle, NetworkConfig, NetworkSubject, SpeechRNN, \
    export_activations, make_targets
from neurorrn.models.bundle import bundle_feature_info, features_record
from neurorrn.speech import compute_features


def _sounds(n=3, sr=16000):
    rng = np.random.default_rng(0)
    return [(0.1 * rng.standard_normal(int(sr * 0.3)), sr) for _ in range(n)]


@pytest.fixture
def logmel_bundle():
    feats = compute_features(_sounds(), "logmel", n_mels=16)
    data = FeatureSet.from_xarray(feats.assign_coords(word=("stimulus", ["a", "b", "c"]),
                                                      talker=("stimulus", ["t"] * 3)))
    model = SpeechRNN(NetworkConfig(n_input=16, hidden_sizes=[4], n_output=3), random_state=0)
    info = features_record(feats, "earshot", {}, 16000.0, 16)  # the attrs win over a wrong config
    return ModelBundle(model.config, model.state_dict(), make_targets(["a", "b", "c"], "localist"), info,
                       FeatureNormalizer("zscore").fit(data), model_id="lm16")


def test_bundle_records_the_complete_settings(logmel_bundle):
    f = logmel_bundle.features
    assert f["kind"] == "logmel"
    assert f["params"] == {"n_mels": 16, "win_ms": 25.0, "hop_ms": 10.0, "fmin": 0.0, "fmax": None}
    assert bundle_feature_info("gammatone", {"n_bands": 32}, 100.0, 22050, 32)["params"]["fmax"] == 10000.0
    with pytest.raises(TypeError, match="no parameter.*'bands'"):
        bundle_feature_info("gammatone", {"bands": 32}, 100.0, 22050, 32)


def test_export_refuses_mismatching_features(logmel_bundle, tmp_path):
    ok = compute_features(_sounds(), "logmel", n_mels=16, win_ms=25.0)  # a default given explicitly: same
    export_activations(logmel_bundle, ok, tmp_path / "ok.nc")
    other = compute_features(_sounds(), "logmel", n_mels=16, win_ms=30.0)
    with pytest.raises(ValueError, match=r"different 'logmel' parameters.*win_ms=30.0 \(model: 25.0\)"):
        export_activations(logmel_bundle, other, tmp_path / "bad.nc")
    gt = compute_features(_sounds(), "gammatone", n_bands=16)  # same width, other kind
    with pytest.raises(ValueError, match="are 'gammatone' features but model 'lm16' was trained on 'logmel'"):
        export_activations(logmel_bundle, gt, tmp_path / "bad.nc")
    assert not (tmp_path / "bad.nc").exists()


def test_subject_refuses_mismatching_features(logmel_bundle):
    subj = NetworkSubject(logmel_bundle)
    ok = compute_features(_sounds(1), "logmel", n_mels=16).isel(stimulus=0)
    out = subj.run_one(ok)
    assert out["lstm0.h"].shape == (int(ok["n_frames"]), 4)
    gt = compute_features(_sounds(1), "gammatone", n_bands=16).isel(stimulus=0)
    with pytest.raises(ValueError, match="'gammatone' features but model 'lm16'"):
        subj.run_one(gt)
