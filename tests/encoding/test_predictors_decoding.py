"""Predictors from ActivationStores placed on a timeline; backward models; time-resolved decoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neurorrn.encoding import BackwardTRF, predictors_from_store, response_epochs, time_resolved_decoding
from neurorrn.store import from_arrays


def _store(rng, frame_rate=100.0):
    arrays = [rng.standard_normal((30, 6)).astype(np.float32), rng.standard_normal((45, 6)).astype(np.float32)]
    return from_arrays(arrays, ["s1", "s2"], frame_rate, layer=["l1"] * 4 + ["l2"] * 2), arrays


def _timeline(onsets=(0.5, 2.0), stims=("s1", "s2")):
    return pd.DataFrame({"onset": list(onsets), "duration": [0.3, 0.45], "kind": "sound", "stimulus": list(stims),
                         "label": list(stims)})


def test_magnitude_change_units_placed_at_onsets(rng):
    ds, arrays = _store(rng)
    tl = _timeline()
    mag = predictors_from_store(ds, tl, sfreq=100.0, kind="magnitude", n_times=300)
    assert mag.dims == ("time", "feature") and list(mag.feature.values) == ["magnitude:l1", "magnitude:l2"]
    np.testing.assert_allclose(mag.values[50:80, 0], np.abs(arrays[0][:, :4]).sum(1))
    np.testing.assert_allclose(mag.values[200:245, 1], np.abs(arrays[1][:, 4:]).sum(1))
    assert np.all(mag.values[:50] == 0) and np.all(mag.values[80:200] == 0)
    ch = predictors_from_store(ds, tl, sfreq=100.0, kind="change", n_times=300)
    ab = np.abs(arrays[0][:, :4])
    expected = np.clip(np.diff(ab, axis=0, prepend=0), 0, None).sum(1)
    np.testing.assert_allclose(ch.values[50:80, 0], expected)
    units = predictors_from_store(ds, tl, sfreq=100.0, kind="units", layer="l2", n_times=300)
    np.testing.assert_allclose(units.values[200:245], arrays[1][:, 4:])


def test_kmeans_one_cluster_equals_magnitude_over_units(rng):
    """Brodbeck's K-means predictors with K=1 are the flat sums divided by the number of units."""
    ds, arrays = _store(rng)
    km = predictors_from_store(ds, _timeline(), sfreq=100.0, kind="kmeans", n_clusters=1, n_times=300)
    mag = predictors_from_store(ds, _timeline(), sfreq=100.0, kind="magnitude", n_times=300).values.sum(1)
    np.testing.assert_allclose(km.values[:, 0], mag / 6, rtol=1e-6)
    assert list(km.feature.values) == ["kmeans1:0:sum", "kmeans1:0:onset"]


def test_kmeans_separates_unit_groups(rng):
    t = np.arange(200)
    a = np.sin(t / 7.0)[:, None] * (1 + 0.05 * rng.standard_normal((200, 3)))
    b = (np.arange(200) % 40 < 5)[:, None] * (1 + 0.05 * rng.standard_normal((200, 3)))
    ds = from_arrays([np.column_stack([a[:, 0], b[:, 0], a[:, 1], b[:, 1], a[:, 2], b[:, 2]])], ["s"], 100.0)
    tl = pd.DataFrame({"onset": [0.0], "kind": ["sound"], "stimulus": ["s"], "label": ["s"]})
    km = predictors_from_store(ds, tl, sfreq=100.0, kind="kmeans", n_clusters=2, random_state=0)
    labels = km.attrs["unit_cluster"]
    assert labels[0] == labels[2] == labels[4] != labels[1] == labels[3] == labels[5]


def test_pca_and_resampling(rng):
    ds, arrays = _store(rng)
    pca = predictors_from_store(ds, _timeline(), sfreq=100.0, kind="pca", n_components=3, n_times=300)
    assert pca.shape == (300, 3) and pca.attrs["explained_variance_ratio"].shape == (3,)
    # 100 Hz store -> 50 Hz brain rate: half the samples, anti-aliased; constant signals stay constant
    const = from_arrays([np.ones((40, 2))], ["s1"], 100.0)
    tl = pd.DataFrame({"onset": [1.0], "kind": ["sound"], "stimulus": ["s1"], "label": ["x"]})
    out = predictors_from_store(const, tl, sfreq=50.0, kind="magnitude", n_times=100)
    np.testing.assert_allclose(out.values[52:68, 0], 2.0, atol=1e-6)
    assert np.all(out.values[:50] == 0)
    np.testing.assert_allclose(out.time.values[1], 0.02)


def test_predictor_errors(rng):
    ds, _ = _store(rng)
    with pytest.raises(ValueError, match=r"no activations for stimulus id\(s\) \['nope'\]"):
        predictors_from_store(ds, _timeline(stims=("s1", "nope")), sfreq=100.0)
    with pytest.raises(ValueError, match="store has no layer"):
        predictors_from_store(ds, _timeline(), sfreq=100.0, layer="l9")
    with pytest.raises(ValueError, match="n_clusters must be in 1..6"):
        predictors_from_store(ds, _timeline(), sfreq=100.0, kind="kmeans", n_clusters=9)
    with pytest.raises(ValueError, match="Did you mean 'kmeans'"):
        predictors_from_store(ds, _timeline(), sfreq=100.0, kind="kmean")
    with pytest.raises(ValueError, match="outside the 100 samples"):
        predictors_from_store(ds, _timeline(onsets=(0.5, 3.0)), sfreq=100.0, n_times=100)
    with pytest.raises(ValueError, match="no 'sound' events"):
        predictors_from_store(ds, _timeline().assign(kind="word"), sfreq=100.0)


def test_predictors_with_brain_timeline(rng):
    from neurorrn.brain import Timeline

    ds, arrays = _store(rng)
    tl = Timeline(_timeline(), sfreq=100.0, n_times=300)
    mag = predictors_from_store(ds, tl, kind="magnitude")
    assert mag.sizes["time"] == 300 and mag.attrs["sfreq"] == 100.0


def test_backward_model_reconstructs_envelope(rng):
    from scipy.signal import lfilter

    n, C = 6000, 8
    env = np.abs(lfilter([1.0], [1, -0.95], rng.standard_normal(n)))
    pattern = rng.standard_normal(C)
    lag = 10  # the brain responds 100 ms after the stimulus
    brain = np.zeros((n, C))
    brain[lag:] = env[:-lag, None] * pattern[None]
    brain += 0.5 * env.std() * rng.standard_normal((n, C))
    segs_x = [brain[:3000], brain[3000:]]
    segs_y = [env[:3000], env[3000:]]
    dec = BackwardTRF(-0.2, 0.0, 100.0, alpha=[1e-1, 1e1, 1e3], cv=2).fit(segs_x, segs_y)
    assert dec.coef_.shape == (1, C, 21)
    assert dec.score(segs_x, segs_y) > 0.8
    # Haufe patterns recover the spatial pattern at the true lag (-100 ms)
    pat = dec.patterns_[0, :, list(dec.delays_).index(-lag)]
    assert abs(np.corrcoef(pat, pattern)[0, 1]) > 0.99


def test_time_resolved_decoding_grouped_by_word(rng):
    n_ep, C, T = 160, 6, 20
    times = np.arange(T) / 100.0 - 0.05
    y = np.repeat(["AA", "IY"], n_ep // 2)
    words = np.tile([f"w{i}" for i in range(10)], n_ep // 10)
    X = rng.standard_normal((n_ep, C, T))
    pattern = rng.standard_normal(C)
    X[:, :, 8:14] += 1.5 * np.where(y == "AA", 1, -1)[:, None, None] * pattern[None, :, None]
    sc = time_resolved_decoding(X, y, groups=words, times=times, cv=5)
    assert sc.dims == ("fold", "time") and sc.attrs["chance"] == 0.5 and sc.attrs["scoring"] == "roc_auc"
    m = sc.mean("fold").values
    assert m[8:14].min() > 0.9 and abs(m[:5].mean() - 0.5) < 0.1
    gen = time_resolved_decoding(X[:, :, 6:12], y, groups=words, times=times[6:12], cv=3, generalize=True)
    assert gen.dims == ("fold", "train_time", "test_time") and gen.mean("fold").values[3, 4] > 0.9
    with pytest.raises(ValueError, match="one per epoch"):
        time_resolved_decoding(X, y[:-1], groups=words)
    with pytest.raises(ValueError, match="fewer than cv=5"):
        time_resolved_decoding(X, y, groups=np.repeat(["a", "b"], n_ep // 2))


def test_response_epochs_from_timeline(rng):
    from neurorrn.brain import Timeline

    ev = pd.DataFrame({"onset": [0.5, 0.5, 0.6, 1.0, 1.0], "duration": [0.5, 0.3, 0.2, 0.3, 0.3],
                       "kind": ["sound", "word", "phone", "word", "phone"], "stimulus": ["s"] * 5,
                       "label": ["s", "cat", "K", "dog", "D"]})
    tl = Timeline(ev, sfreq=100.0)
    resp = xr.DataArray(rng.standard_normal((200, 3)), dims=("time", "sensor"),
                        coords={"time": np.arange(200) / 100.0, "sensor": ["a", "b", "c"]})
    ep = response_epochs(resp, tl, tmin=-0.1, tmax=0.2)
    assert ep.dims == ("epoch", "sensor", "time") and ep.sizes["time"] == 31
    assert list(ep.label.values) == ["K", "D"] and list(ep.word.values) == ["cat", "dog"]
    np.testing.assert_allclose(ep.values[0, :, 10], resp.values[60])


def test_response_epochs_from_a_raw_at_another_rate(rng):
    import mne

    from neurorrn.brain import Timeline

    ev = pd.DataFrame({"onset": [0.5, 0.5, 0.6], "duration": [0.5, 0.3, 0.2], "kind": ["sound", "word", "phone"],
                       "stimulus": ["s"] * 3, "label": ["s", "cat", "K"]})
    tl = Timeline(ev, sfreq=100.0)
    data = np.zeros((2, 400))
    data[:, 120] = 1.0  # an impulse at 0.6 s (the phone onset), sampled at 200 Hz
    raw = mne.io.RawArray(data, mne.create_info(["EEG1", "EEG2"], 200.0, "eeg"), verbose="error")
    ep = response_epochs(raw, tl, tmin=-0.1, tmax=0.2)
    assert ep.sizes["time"] == 31 and list(ep["sensor"].values) == ["EEG1", "EEG2"]
    assert float(ep["time"].values[np.argmax(ep.values[0, 0])]) == pytest.approx(0.0)
    with pytest.raises(TypeError, match="mne.io.Raw or an xarray.DataArray"):
        response_epochs(data, tl)
