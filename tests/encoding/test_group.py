"""fit_group: many subjects in one call; the stacked (shared-Gram) fit equals separate fits."""

import mne
import numpy as np
import pytest
import xarray as xr

from neurorrn.encoding import TRF, BoostingTRF, fit_group

SF = 100.0


def _subjects(n_sub=4, T=1500, F=2, C=3, seed=0, lengths=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, F))
    h = rng.standard_normal((C, F, 11))
    Ys, H = [], []
    for _ in range(n_sub):
        hs = h + 0.3 * rng.standard_normal(h.shape)
        y = np.zeros((T, C))
        for c in range(C):
            for f in range(F):
                y[:, c] += np.convolve(x[:, f], hs[c, f])[:T]
        Ys.append(y + rng.standard_normal(y.shape))
        H.append(hs)
    return x, Ys, np.stack(H)


def test_stacked_equals_separate_fits_with_cv():
    x, Ys, H = _subjects()
    est = TRF(0.0, 0.1, SF, alpha=np.logspace(-1, 4, 6), cv=3, alpha_rule="best")
    ds, ests = fit_group(est, x, Ys, return_estimators=True)
    assert ds.attrs["shared_gram"] == 1 and len(ests) == 1
    assert dict(ds["coef"].sizes) == {"subject": 4, "sensor": 3, "feature": 2, "lag": 11}
    assert list(ds["subject"].values) == ["sub-01", "sub-02", "sub-03", "sub-04"]
    for s, y in enumerate(Ys):
        ref = TRF(0.0, 0.1, SF, alpha=np.logspace(-1, 4, 6), cv=3, alpha_rule="best").fit(x, y)
        np.testing.assert_allclose(ds["coef"].values[s], ref.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(ds["alpha"].values[s], ref.alpha_)
        np.testing.assert_allclose(ds["intercept"].values[s], ref.intercept_, rtol=1e-9, atol=1e-12)
        # each subject's own kernel is recovered (not the group mean)
        assert np.corrcoef(ds["coef"].values[s].ravel(), H[s].ravel())[0, 1] > 0.95
    sep = fit_group(est, x, Ys, share_gram=False)
    assert sep.attrs["shared_gram"] == 0
    np.testing.assert_allclose(sep["coef"].values, ds["coef"].values, rtol=1e-9, atol=1e-12)


def test_dict_inputs_named_sensors_and_boosting():
    x, Ys, _ = _subjects(n_sub=3, C=2)
    t = np.arange(len(x)) / SF
    Y = {f"s{i}": xr.DataArray(y, dims=("time", "sensor"), coords={"time": t, "sensor": ["Cz", "Pz"]})
         for i, y in enumerate(Ys)}
    X = xr.DataArray(x, dims=("time", "feature"), coords={"time": t, "feature": ["env", "ons"]})
    ds = fit_group(BoostingTRF(0.0, 0.1, SF), X, Y)
    assert list(ds["sensor"].values) == ["Cz", "Pz"] and list(ds["feature"].values) == ["env", "ons"]
    assert list(ds["subject"].values) == ["s0", "s1", "s2"]
    ref = BoostingTRF(0.0, 0.1, SF).fit(X, Y["s1"])
    np.testing.assert_allclose(ds["coef"].sel(subject="s1").values, ref.coef_, rtol=1e-9, atol=1e-12)


def test_mne_subjects_with_different_bads_join_by_name():
    x, Ys, _ = _subjects(n_sub=3, C=3)
    raws = []
    for i, y in enumerate(Ys):
        raw = mne.io.RawArray(y.T, mne.create_info(["Fz", "Cz", "Pz"], SF, "eeg"), verbose=False)
        if i == 1:
            raw.info["bads"] = ["Pz"]
        raws.append(raw)
    ds = fit_group(TRF(0.0, 0.1, SF, alpha=1.0), x, raws, subjects=["a", "b", "c"])
    assert ds.attrs["shared_gram"] == 0
    assert set(ds["sensor"].values) == {"Fz", "Cz", "Pz"}
    assert np.isnan(ds["coef"].sel(subject="b", sensor="Pz")).all()
    ref = TRF(0.0, 0.1, SF, alpha=1.0).fit(x, Ys[1][:, :2])
    np.testing.assert_allclose(ds["coef"].sel(subject="b", sensor=["Fz", "Cz"]).values, ref.coef_, rtol=1e-10)
    from neurorrn.encoding import cross_validate, cross_validate_group

    sc = cross_validate_group(TRF(0.0, 0.1, SF, alpha=1.0), x, raws, subjects=["a", "b", "c"], cv=3)
    assert sc.attrs["shared_gram"] == 0 and np.isnan(sc["r_mean"].sel(subject="b", sensor="Pz"))
    ref_sc = cross_validate(TRF(0.0, 0.1, SF, alpha=1.0), x, Ys[0], cv=3, return_predictions=False)
    np.testing.assert_allclose(sc["r_mean"].sel(subject="a", sensor=["Fz", "Cz", "Pz"]).values,
                               ref_sc["r_mean"].values, rtol=1e-10)


def test_errors():
    x, Ys, _ = _subjects(n_sub=2)
    with pytest.raises(TypeError, match="one entry per subject"):
        fit_group(TRF(alpha=1.0), x, Ys[0])
    with pytest.raises(ValueError, match="2 subjects"):
        fit_group(TRF(alpha=1.0), x, Ys, subjects=["a", "b", "c"])
    with pytest.raises(ValueError, match="lacks subject"):
        fit_group(TRF(alpha=1.0), {"sub-01": x}, Ys)


def test_group_grand_average_to_evoked():
    from neurorrn.encoding import to_evoked

    x, Ys, H = _subjects(n_sub=4, C=3)
    t = np.arange(len(x)) / SF
    Y = [xr.DataArray(y, dims=("time", "sensor"), coords={"time": t, "sensor": ["Fz", "Cz", "Pz"]}) for y in Ys]
    ds = fit_group(TRF(0.0, 0.1, SF, alpha=1.0), x, Y)
    info = mne.create_info(["Pz", "Oz", "Cz", "Fz"], SF, "eeg")
    evs = to_evoked(ds, info=info)
    assert len(evs) == 2 and evs[0].nave == 4 and evs[0].ch_names == ["Fz", "Cz", "Pz"]
    np.testing.assert_allclose(evs[1].data, ds["coef"].mean("subject").values[:, 1])
    np.testing.assert_allclose(evs[1].times, ds["lag"].values)
    assert evs[0].get_channel_types() == ["eeg"] * 3
    # the grand average approaches the group's mean kernel
    assert np.corrcoef(evs[0].data.ravel(), H.mean(0)[:, 0].ravel())[0, 1] > 0.95


def test_cross_validate_group_stacked_equals_separate_and_gain_map_cluster():
    """Gain of a predictor planted in a sensor cluster: held-out score maps per subject, the gain
    over a baseline model, and a cluster test over sensors that finds it."""
    from neurorrn.encoding import cluster_test, cross_validate, cross_validate_group

    ch = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3", "Pz", "P4",
          "P8", "O1", "O2"]
    planted = ["C3", "Cz", "C4", "P3", "Pz"]
    rng = np.random.default_rng(11)
    T, n_sub = 1500, 8
    x = rng.standard_normal((T, 2))
    kern = np.exp(-0.5 * ((np.arange(11) - 5) / 1.5) ** 2)
    Ys = []
    for _ in range(n_sub):
        base = np.convolve(x[:, 0], kern)[:T, None] * rng.uniform(0.5, 1.0, len(ch))  # everywhere
        extra = np.convolve(x[:, 1], kern)[:T, None] * np.isin(ch, planted) * rng.uniform(0.3, 0.6)
        y = base + extra + 2.0 * rng.standard_normal((T, len(ch)))
        Ys.append(xr.DataArray(y, dims=("time", "sensor"), coords={"time": np.arange(T) / SF, "sensor": ch}))
    est = TRF(0.0, 0.1, SF, alpha=10.0)
    full = cross_validate_group(est, x, Ys, cv=3)
    assert full.attrs["shared_gram"] == 1 and dict(full["r_mean"].sizes) == {"subject": n_sub, "sensor": 19}
    ref = cross_validate(est, x, Ys[2], cv=3, return_predictions=False)
    np.testing.assert_allclose(full["r_mean"].isel(subject=2).values, ref["r_mean"].values, rtol=1e-10)
    np.testing.assert_allclose(full["r"].isel(subject=2).values, ref["r"].values, rtol=1e-10)
    base = cross_validate_group(est, x[:, :1], Ys, cv=3)
    gain = full["r_mean"] - base["r_mean"]
    info = mne.create_info(ch, SF, "eeg")
    info.set_montage("colin27_1020")
    res = cluster_test(gain, info=info, n_permutations=128, random_state=0)
    assert float(res["cluster_p"][0]) < 0.05
    found = set(np.asarray(ch)[res["cluster_mask"][0].values])
    assert len(found & set(planted)) >= 4 and len(found - set(planted)) <= 2
