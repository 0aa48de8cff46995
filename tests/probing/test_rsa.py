import itertools

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from neurorrn.probing.features import ANALYSIS_PHONES
from neurorrn.probing.rsa import (
    compare_rdms, feature_rdm, load_rdm, lower_triangle, permutation_test, rdm, rdms_over_lags,
    time_resolved_rsa,
)

# Feature-table RDM vs the Mesgarani et al. (2014) human PSI RDM, Pearson r of the lower triangles,
# as EARSHOT's RSA_Analysis.py computes it (pairwise_distances on Phoneme_Feature.txt columns 4..17,
# np.corrcoef of the row-wise lower triangles).  Worked out here with numpy/sklearn on the shared files.
EARSHOT_FEATURE_VS_MESGARANI = {"correlation": 0.645487790991291, "cosine": 0.6507821231758877,
                                "euclidean": 0.47240254749759664}


def _labelled(d, labels):
    return xr.DataArray(d, dims=("phone", "phone_other"), coords={"phone": labels, "phone_other": labels})


@pytest.mark.parametrize("metric", sorted(EARSHOT_FEATURE_VS_MESGARANI))
def test_feature_table_vs_mesgarani_golden(shared_data, metric):
    ref = load_rdm(shared_data / "mesgarani2014" / f"psi_rdm_{metric}.tsv")
    assert list(ref["phone"].values) == list(ANALYSIS_PHONES)  # IPA labels mapped to ARPAbet
    r = compare_rdms(feature_rdm(metric), ref)
    assert r == pytest.approx(EARSHOT_FEATURE_VS_MESGARANI[metric], abs=1e-12)


def test_same_value_from_the_published_feature_file(shared_data):
    # the same computation with EARSHOT's own table, independently of ours
    from neurorrn.probing.features import read_earshot_feature_file

    table = read_earshot_feature_file(shared_data / "earshot" / "Phoneme_Feature.txt")
    ref = load_rdm(shared_data / "mesgarani2014" / "psi_rdm_cosine.tsv")
    r = compare_rdms(rdm(table.astype(float), "phone", "cosine"), ref)  # rows in the file's order
    assert r == pytest.approx(EARSHOT_FEATURE_VS_MESGARANI["cosine"], abs=1e-12)


def test_alignment_by_label_not_position(rng):
    x = xr.DataArray(rng.normal(size=(6, 5)), dims=("phone", "unit"), coords={"phone": list("ABCDEF")})
    a = rdm(x, metric="euclidean")
    b = rdm(x + rng.normal(scale=0.5, size=x.shape), metric="euclidean")
    perm = [3, 0, 5, 1, 4, 2]
    b_shuffled = b.isel(phone=perm, phone_other=perm)
    assert compare_rdms(a, b) == pytest.approx(compare_rdms(a, b_shuffled))
    with pytest.raises(KeyError, match="missing from RDM b"):
        compare_rdms(a, b.isel(phone=[0, 1, 2], phone_other=[0, 1, 2]))


def test_comparisons_match_scipy_and_rsatoolbox(rng):
    from rsatoolbox.rdm import RDMs, compare

    x = xr.DataArray(rng.normal(size=(8, 4)), dims=("phone", "unit"), coords={"phone": list("ABCDEFGH")})
    a, b = rdm(x), rdm(x ** 2)
    la, lb = lower_triangle(a.values), lower_triangle(b.values)
    assert compare_rdms(a, b, "pearson") == pytest.approx(stats.pearsonr(la, lb)[0])
    assert compare_rdms(a, b, "spearman") == pytest.approx(stats.spearmanr(la, lb)[0])
    assert compare_rdms(a, b, "pearson") == pytest.approx(float(compare(RDMs(la[None]), RDMs(lb[None]), "corr")[0, 0]))
    assert compare_rdms(a, b, "tau-a") == pytest.approx(float(compare(RDMs(la[None]), RDMs(lb[None]), "tau-a")[0, 0]))


def test_rdm_matches_sklearn_and_checks():
    from sklearn.metrics import pairwise_distances

    t = feature_rdm("euclidean")
    from neurorrn.probing.features import phone_feature_table

    np.testing.assert_allclose(t.values, pairwise_distances(phone_feature_table().values.astype(float)))
    flat = xr.DataArray(np.ones((3, 4)), dims=("phone", "unit"), coords={"phone": list("abc")})
    with pytest.raises(ValueError, match="undefined for constant patterns"):
        rdm(flat, metric="correlation")
    with pytest.raises(ValueError, match="metric"):
        rdm(flat, metric="manhattan")


def test_exact_permutation_p_known_answer():
    # 4 items, model RDM = reference with distinct distances: only the identity of the 24
    # relabellings reaches r = 1, so p = 1/24 exactly
    d = np.array([[0, 1, 2, 4], [1, 0, 8, 16], [2, 8, 0, 32], [4, 16, 32, 0]], float)
    a = _labelled(d, list("abcd"))
    res = permutation_test(a, a, exact=True)
    assert res.r == pytest.approx(1.0)
    assert res.n_permutations == 24
    assert res.pvalue == pytest.approx(1 / 24)
    # against an independent brute force: share of relabellings with r >= observed
    ref = _labelled(np.array([[0, 3, 1, 2], [3, 0, 5, 1], [1, 5, 0, 4], [2, 1, 4, 0]], float), list("abcd"))
    res = permutation_test(a, ref, exact=True)
    il = np.tril_indices(4, -1)
    rs = [np.corrcoef(d[np.ix_(p, p)][il], ref.values[il])[0, 1] for p in itertools.permutations(range(4))]
    assert res.pvalue == pytest.approx(np.mean(np.array(rs) >= res.r - 1e-12))
    assert "exact" in res.counting


def test_random_permutation_p_counts_observed_once(rng):
    d = rng.uniform(size=(7, 7))
    d = d + d.T
    np.fill_diagonal(d, 0)
    a = _labelled(d, list("abcdefg"))
    res = permutation_test(a, a, n_permutations=999, random_state=0)
    # identity is (almost surely) never drawn again: p = (1 + #hits) / 1000
    hits = int(np.sum(res.null >= res.r - 1e-12))
    assert res.pvalue == pytest.approx((1 + hits) / 1000)
    assert res.pvalue < 0.01
    # an unrelated reference: p is roughly uniform, the null centred near 0
    b = _labelled(np.abs(rng.normal(size=(7, 7))), list("abcdefg"))
    b = (b + b.T.values) / 2
    res2 = permutation_test(a, b, n_permutations=2000, random_state=1)
    assert abs(res2.null.mean()) < 0.05
    with pytest.raises(ValueError, match="too many"):
        permutation_test(feature_rdm(), feature_rdm(), exact=True)


def test_time_resolved_rsa_finds_the_matching_lag(rng):
    labels = list("ABCDEF")
    pats = rng.normal(size=(6, 10))
    model = np.stack([rdm(xr.DataArray(pats + rng.normal(scale=s, size=pats.shape), dims=("phone", "unit"),
                                       coords={"phone": labels})).values for s in (5.0, 0.1, 5.0)])
    model = xr.DataArray(model, dims=("lag", "phone", "phone_other"),
                         coords={"lag": [0.0, 0.1, 0.2], "phone": labels, "phone_other": labels})
    brain_one = rdm(xr.DataArray(pats, dims=("phone", "unit"), coords={"phone": labels}))
    brain = xr.concat([brain_one * 0 + rng.uniform(size=(6, 6)) * (1 - np.eye(6)), brain_one], dim="time")
    brain = brain.assign_coords(time=[0.0, 0.15])
    r = time_resolved_rsa(model, brain)
    assert r.dims == ("lag", "time")
    assert float(r.sel(time=0.15).idxmax("lag")) == pytest.approx(0.1)
    assert float(r.sel(lag=0.1, time=0.15)) > 0.9


def test_rdms_over_lags(word_store):
    from neurorrn.probing.responses import phone_epochs

    ep = phone_epochs(word_store, [0.0, 0.05], phones=["P", "T", "S", "M"])
    r = rdms_over_lags(ep)
    assert r.dims == ("lag", "phone", "phone_other")
    assert r.shape == (2, 4, 4)
    # the same computation on "brain" epochs (token, time, sensor): relabelled dims give equal RDMs
    brain = ep.rename(lag="time", unit="sensor").transpose("token", "sensor", "time")
    rb = rdms_over_lags(brain, time_dim="time", feature_dim="sensor")
    np.testing.assert_allclose(rb.values, r.values)
    # and time-resolved RSA of the model against itself peaks on the diagonal at r = 1
    tr = time_resolved_rsa(r, rb)
    np.testing.assert_allclose(np.diag(tr.values), 1.0)
    with pytest.raises(ValueError, match="per-token coord 'word2'"):
        rdms_over_lags(ep, dim="word2")


def test_load_rdm_errors(tmp_path):
    p = tmp_path / "r.tsv"
    p.write_text("label\ta\tb\na\t0\t1\nc\t1\t0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="row labels"):
        load_rdm(p)
    p.write_text("label\ta\tb\na\t0\t1\nb\t2\t0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="square and symmetric"):
        load_rdm(p)
