import numpy as np
import pytest
import xarray as xr
from scipy import stats

from neurorrn.probing.features import ANALYSIS_PHONES
from neurorrn.probing.responses import TOKEN, phone_tokens
from neurorrn.probing.selectivity import (
    EARSHOT_CRITERIA, fsi, psi, ranksum_selectivity, selectivity_index, squeeze, threshold_counts,
)


def _means(rng, n_units=20, n=33):
    return xr.DataArray(rng.uniform(0, 1, size=(n_units, n)), dims=("unit", "phone"),
                        coords={"unit": np.arange(n_units), "phone": list(ANALYSIS_PHONES[:n])})


def test_kernel_matches_brute_force(rng):
    m = rng.normal(size=(4, 7))
    crit = [0.0, 0.3, 1.0]
    pos, neg = threshold_counts(m, crit)
    for k, c in enumerate(crit):
        for u in range(4):
            for p in range(7):
                assert pos[k, u, p] == sum(m[u, p] - m[u, q] > c for q in range(7))
                assert neg[k, u, p] == sum(m[u, q] - m[u, p] > c for q in range(7))
    # the phone axis may be anywhere
    pos0, _ = threshold_counts(m.T, crit, axis=0)
    np.testing.assert_array_equal(pos0, np.swapaxes(pos, 1, 2))


def test_psi_golden_properties(rng):
    means = _means(rng)
    idx = selectivity_index(means, "phone", EARSHOT_CRITERIA)
    assert idx["positive"].dims == ("criterion", "unit", "phone")
    pos0 = idx["positive"].sel(criterion=0.0).values
    neg0 = idx["negative"].sel(criterion=0.0).values
    for u in range(pos0.shape[0]):
        assert sorted(pos0[u]) == list(range(33))  # a permutation of 0..32
    assert (pos0 + neg0 == 32).all()
    # above each unit's range every entry is 0
    rng_u = np.ptp(means.values, axis=1)
    for u in range(means.sizes["unit"]):
        big = idx.sel(unit=u, criterion=EARSHOT_CRITERIA[EARSHOT_CRITERIA >= rng_u[u]])
        assert int(big["positive"].sum()) == 0 and int(big["negative"].sum()) == 0
    assert (idx["positive"].diff("criterion") <= 0).all()  # counts only fall as c grows


def test_psi_recovers_planted_diphone_code(diphone_store):
    # EARSHOT's diphone analysis: |h| 50-150 ms into each CV/VC diphone, labelled by its first phone
    tokens = phone_tokens(diphone_store, (0.05, 0.15), align="stimulus")
    assert tokens.sizes[TOKEN] == diphone_store.sizes["stimulus"]
    assert (tokens["position"] == 0).all()
    res = psi(tokens, criteria=[0.0, 0.2])
    m = res["positive"].sel(criterion=0.2)
    for u, p in enumerate(ANALYSIS_PHONES):  # unit u is planted for phone u
        assert int(m.sel(unit=u, phone=p)) == 32
        assert int(m.sel(unit=u).sum()) == 32
    # noise units carry no selectivity at c = 0.2
    noise = m.isel(unit=slice(33 + 8, None))
    assert int(noise.sum()) == 0
    sq = squeeze(m)
    assert set(sq["unit"].values.tolist()) == set(range(33 + 8))


def test_fsi_recovers_planted_features(diphone_store):
    tokens = phone_tokens(diphone_store, (0.05, 0.15), align="stimulus")
    res = fsi(tokens, criteria=[0.1])
    m = res["positive"].sel(criterion=0.1)
    assert m.sizes["feature"] == 14
    # units 33, 34 are the planted nasal units: nasal is their most selective feature
    for u in (33, 34):
        assert str(m.sel(unit=u).idxmax("feature").values) == "nasal"
        assert int(m.sel(unit=u, feature="nasal")) == 13


def test_ranksum_matches_scipy_and_recovers_plant(word_store):
    tokens = phone_tokens(word_store, (0.03, 0.06))
    sub = tokens.isel(unit=[0, 1, 50])
    masks = {p: sub["phone"].values == p for p in ("P", "T", "K")}
    res = ranksum_selectivity(sub, masks, alpha=0.001)
    x = sub.values
    for i, a in enumerate(masks):
        for j, b in enumerate(masks):
            if i != j:
                want = stats.mannwhitneyu(x[masks[a]], x[masks[b]], alternative="greater", axis=0,
                                          method="asymptotic").pvalue
                np.testing.assert_allclose(res["pvalue"].values[:, i, j], want)
    full = psi(tokens, method="ranksum")
    m = full["positive"]
    assert m.dims == ("unit", "phone")
    hits = [int(m.sel(unit=u, phone=p)) for u, p in enumerate(ANALYSIS_PHONES)]
    assert np.median(hits) >= 30  # planted unit u is significantly above nearly every other phone
    # a pure-noise unit is rarely "selective": at alpha = 0.001 ~1 false positive in 1056 tests
    assert int(m.isel(unit=-1).sum()) <= 6


def test_selectivity_errors(rng, word_store):
    means = _means(rng)
    with pytest.raises(ValueError, match="must have dims 'unit' and 'feature'"):
        selectivity_index(means, "feature")
    with pytest.raises(ValueError, match="method"):
        psi(phone_tokens(word_store), method="ttest")
    tokens = phone_tokens(word_store)
    with pytest.raises(ValueError, match="at least 2 tokens per phone; too few for"):
        ranksum_selectivity(tokens, {"P": tokens["phone"].values == "P", "X": np.zeros(tokens.sizes[TOKEN], bool)})
    with pytest.raises(ValueError, match="alpha must lie in"):
        ranksum_selectivity(tokens, {}, alpha=2)
    with pytest.raises(ValueError, match="has no dim 'unit'"):
        squeeze(means.rename(unit="u"))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (3, 33), elements=st.floats(-5, 5, allow_nan=False), unique=True),
       st.floats(0, 3))
def test_psi_properties_hypothesis(m, c):
    pos, neg = threshold_counts(m, [0.0, c])
    for u in range(3):
        assert sorted(pos[0, u]) == list(range(33))
    assert (pos[0] + neg[0] == 32).all()
    # pairs counted in PSI+ and PSI- are the same ordered pairs seen from both sides
    assert pos[1].sum() == neg[1].sum()
    above = np.ptp(m, axis=1) <= c
    assert (pos[1][above] == 0).all() and (neg[1][above] == 0).all()


def test_per_talker_maps_and_ranksum_fsi(diphone_store):
    tokens = phone_tokens(diphone_store, (0.05, 0.15), align="stimulus")
    per = psi(tokens, criteria=[0.2], by_talker=True)["positive"].sel(criterion=0.2)
    assert per.dims == ("unit", "phone", "talker") and list(per["talker"].values) == ["t0", "t1"]
    for t in ("t0", "t1"):  # the plant is the same for every talker
        assert int(per.sel(unit=0, phone="P", talker=t)) == 32
    rs = fsi(tokens, method="ranksum")
    assert rs["positive"].dims == ("unit", "feature")
    assert str(rs["positive"].sel(unit=33).idxmax("feature").values) == "nasal"
