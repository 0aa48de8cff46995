import numpy as np
import pytest
import xarray as xr
from scipy.cluster import hierarchy
from sklearn.metrics import adjusted_rand_score

from neurorrn.probing.clustering import cluster_time_courses, hierarchical_clustering, kmeans_units, zscore_columns
from neurorrn.probing.responses import phone_tokens
from neurorrn.probing.selectivity import psi
from neurorrn.probing.simulate import planted_store

PLANT = {"feature": {"nasal": [0, 1, 2, 3], "fricative": [4, 5, 6, 7], "plosive": [8, 9, 10, 11],
                     "syllabic": [12, 13, 14, 15]}}


@pytest.fixture(scope="module")
def feature_store():
    return planted_store(n_words=60, n_talkers=2, plant=PLANT, n_noise_units=0, random_state=4)


def test_zscore_like_r_scale(rng):
    x = rng.normal(size=(10, 3))
    x[:, 2] = 5.0
    z, const = zscore_columns(x)
    np.testing.assert_allclose(z[:, :2], (x[:, :2] - x[:, :2].mean(0)) / x[:, :2].std(0, ddof=1))
    assert const.tolist() == [False, False, True] and (z[:, 2] == 0).all()


def test_hierarchical_recovers_planted_groups(feature_store):
    tokens = phone_tokens(feature_store, (0.03, 0.06))
    m = psi(tokens, criteria=[0.1])["positive"].sel(criterion=0.1)
    res = hierarchical_clustering(m)
    truth = np.repeat(np.arange(4), 4)
    assert adjusted_rand_score(truth, res.unit_clusters(4).values) == 1.0
    # same linkage as scipy's complete linkage on the scaled map
    z, _ = zscore_columns(m.transpose("phone", "unit").values)
    np.testing.assert_allclose(res.row_linkage, hierarchy.linkage(z, "complete"))
    # phones: nasals form their own cluster
    rows = res.row_clusters(5)
    phones = list(m["phone"].values)
    nas = {rows[phones.index(p)] for p in ("M", "N", "NG")}
    assert len(nas) == 1
    assert sum(rows == nas.pop()) == 3
    assert len(res.row_order) == 33 and len(res.col_order) == 16


def test_kmeans_recovers_planted_groups(feature_store):
    km = kmeans_units(feature_store, 4, random_state=0)
    assert adjusted_rand_score(np.repeat(np.arange(4), 4), km["cluster"].values) == 1.0
    tc = cluster_time_courses(feature_store, km["cluster"])
    assert tc.dims == ("stimulus", "time", "cluster")
    # with K = 1 the cluster mean is the flat sum divided by the number of units
    one = xr.DataArray(np.zeros(16, int), dims="unit", coords={"unit": feature_store["unit"].values})
    flat = np.abs(feature_store["activation"].values).sum(-1) / 16  # NaN past each end, as the means
    np.testing.assert_allclose(cluster_time_courses(feature_store, one).values[..., 0], flat, rtol=1e-5)


def test_clustering_errors(feature_store):
    with pytest.raises(ValueError, match="2-D with a 'unit' dim"):
        hierarchical_clustering(xr.DataArray(np.zeros((2, 3, 4)), dims=("criterion", "phone", "unit")))
    with pytest.raises(ValueError, match="exceeds the number of units"):
        kmeans_units(feature_store, 40)
    with pytest.raises(ValueError, match="needs dims"):
        kmeans_units(xr.DataArray(np.zeros((3, 4)), dims=("a", "b")), 2)
