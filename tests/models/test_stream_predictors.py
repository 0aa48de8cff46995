"""Brodbeck et al. (2025) predictors per layer: flat sum/onset and K-means clusters within layers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurorrn.encoding import predictors_from_store
from neurorrn.store import from_arrays


def _timeline():
    return pd.DataFrame({"onset": [0.5, 2.0], "duration": [0.3, 0.45], "kind": "sound", "stimulus": ["s1", "s2"],
                         "label": ["s1", "s2"]})


def test_kmeans_per_layer_one_cluster_is_the_layer_mean():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((30, 6)).astype(np.float32), rng.standard_normal((45, 6)).astype(np.float32)]
    ds = from_arrays(arrays, ["s1", "s2"], 100.0, layer=["l1"] * 4 + ["l2"] * 2)
    km = predictors_from_store(ds, _timeline(), sfreq=100.0, kind="kmeans", n_clusters=1, kmeans_per_layer=True,
                               n_times=300)
    assert list(km.feature.values) == ["kmeans1:l1:0:sum", "kmeans1:l1:0:onset", "kmeans1:l2:0:sum",
                                       "kmeans1:l2:0:onset"]
    mag = predictors_from_store(ds, _timeline(), sfreq=100.0, kind="magnitude", n_times=300)
    ch = predictors_from_store(ds, _timeline(), sfreq=100.0, kind="change", n_times=300)
    np.testing.assert_allclose(km.values[:, 0], mag.values[:, 0] / 4, rtol=1e-6)
    np.testing.assert_allclose(km.values[:, 2], mag.values[:, 1] / 2, rtol=1e-6)
    np.testing.assert_allclose(km.values[:, 3], ch.values[:, 1] / 2, rtol=1e-6, atol=1e-12)


def test_kmeans_per_layer_keeps_clusters_within_layers():
    t = np.arange(200)
    rng = np.random.default_rng(1)
    a = np.sin(t / 7.0)[:, None] * (1 + 0.05 * rng.standard_normal((200, 4)))
    b = (t % 40 < 5)[:, None] * (1 + 0.05 * rng.standard_normal((200, 4)))
    # layer l1: units a, b, a, b; layer l2: units a, b, a, b (the same two groups in both layers)
    x = np.column_stack([a[:, 0], b[:, 0], a[:, 1], b[:, 1], a[:, 2], b[:, 2], a[:, 3], b[:, 3]])
    ds = from_arrays([x.astype(np.float32)], ["s"], 100.0, layer=["l1"] * 4 + ["l2"] * 4)
    tl = pd.DataFrame({"onset": [0.0], "kind": ["sound"], "stimulus": ["s"], "label": ["s"]})
    pooled = predictors_from_store(ds, tl, sfreq=100.0, kind="kmeans", n_clusters=2, random_state=0)
    assert pooled.sizes["feature"] == 4
    lab = pooled.attrs["unit_cluster"]
    assert lab[0] == lab[2] == lab[4] == lab[6] != lab[1] == lab[3] == lab[5] == lab[7]
    assert pooled.attrs["cluster_layer"] == "l1,l1"  # a tie goes to the first layer
    per = predictors_from_store(ds, tl, sfreq=100.0, kind="kmeans", n_clusters=2, kmeans_per_layer=True,
                                random_state=0)
    assert per.sizes["feature"] == 8 and str(per.feature.values[4]).startswith("kmeans2:l2:")
    lab = per.attrs["unit_cluster"]
    assert lab[4] == lab[6] != lab[5] == lab[7]
