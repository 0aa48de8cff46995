"""MNE in, MNE out: Raw / Epochs / Evoked inputs, kernels and patterns as mne.EvokedArray."""

import matplotlib

matplotlib.use("Agg")

import mne  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from neurorrn.encoding import TRF, BackwardTRF, BandedTRF, from_mne  # noqa: E402

SF = 100.0
CH = ["Fz", "Cz", "Pz", "C3", "C4", "Oz"]


def _planted(T=3000, F=2, L=11, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, F))
    h = rng.standard_normal((len(CH), F, L))
    y = np.zeros((T, len(CH)))
    for c in range(len(CH)):
        for f in range(F):
            y[:, c] += np.convolve(x[:, f], h[c, f])[:T]
    y += noise * rng.standard_normal(y.shape)
    return x, y * 1e-6, h * 1e-6  # volts


def _raw(y):
    info = mne.create_info(CH, SF, "eeg")
    raw = mne.io.RawArray(y.T, info, verbose=False)
    raw.set_montage("colin27_1020")
    return raw


def _trf(**kw):
    return TRF(tmin=0.0, tmax=0.1, sfreq=SF, alpha=kw.pop("alpha", 1e-3), **kw)


def test_raw_epochs_arrays_same_coefficients():
    """Raw (bad spans cut it into 3 stretches) = Epochs of those stretches = the arrays."""
    x, y, h = _planted()
    raw = _raw(y)
    # bad spans [1000, 1100) and [2100, 2200) leave [0, 1000), [1100, 2100), [2200, 3000)
    raw.set_annotations(mne.Annotations([10.0, 21.0], [1.0, 1.0], ["BAD_muscle", "bad_blink"]))
    pieces = [(0, 1000), (1100, 2100), (2200, 3000)]
    ref = _trf().fit([x[a:b] for a, b in pieces], [y[a:b] for a, b in pieces])
    on_raw = _trf().fit(x, raw)
    ep_pieces = pieces[:2]  # equal-length epochs
    epochs = mne.EpochsArray(np.stack([y[a:b].T for a, b in ep_pieces]), raw.info, tmin=0.0, verbose=False)
    ref_ep = _trf().fit([x[a:b] for a, b in ep_pieces], [y[a:b] for a, b in ep_pieces])
    on_epochs = _trf().fit(np.stack([x[a:b] for a, b in ep_pieces]), epochs)
    on_epochs_list = _trf().fit([x[a:b] for a, b in ep_pieces], epochs)
    np.testing.assert_allclose(on_raw.coef_, ref.coef_, rtol=0, atol=1e-12 * np.abs(ref.coef_).max())
    np.testing.assert_allclose(on_epochs.coef_, ref_ep.coef_, rtol=0, atol=1e-12 * np.abs(ref.coef_).max())
    np.testing.assert_array_equal(on_epochs.coef_, on_epochs_list.coef_)
    # the bad spans matter: fitting across them gives other coefficients
    whole = _trf().fit(x, y)
    assert np.abs(whole.coef_ - on_raw.coef_).max() > 1e-6 * np.abs(ref.coef_).max()
    # and the truth is recovered
    r = np.corrcoef(on_raw.coef_.ravel(), h.ravel())[0, 1]
    assert r > 0.99
    assert list(on_raw.target_names_) == CH
    assert on_raw.info_["ch_names"] == CH and on_raw.mne_input_ == "y"
    # score on a Raw picks the fitted channels by name and skips the bad spans
    sc = on_raw.score_targets(x, raw.copy().reorder_channels(CH[::-1]))
    ref_sc = on_raw.score_targets([x[a:b] for a, b in pieces], [y[a:b] for a, b in pieces])
    np.testing.assert_allclose(sc["r"], ref_sc["r"], rtol=1e-12)


def test_evoked_and_picks_and_bads():
    x, y, _ = _planted(T=800)
    raw = _raw(y)
    raw.info["bads"] = ["Oz"]
    t = _trf().fit(x, raw)
    assert list(t.target_names_) == CH[:5]  # bads excluded by default
    ref = _trf().fit(x, y[:, :5])
    np.testing.assert_allclose(t.coef_, ref.coef_, atol=1e-12 * np.abs(ref.coef_).max(), rtol=0)
    tp = _trf().fit(x, raw, picks=["Cz", "Pz"])
    assert list(tp.target_names_) == ["Cz", "Pz"]
    np.testing.assert_allclose(tp.coef_, ref.coef_[1:3], atol=1e-12 * np.abs(ref.coef_).max(), rtol=0)
    ev = mne.EvokedArray(y.T, raw.info, tmin=0.0, verbose=False)
    te = _trf().fit(x, ev)
    np.testing.assert_allclose(te.coef_, ref.coef_, atol=1e-12 * np.abs(ref.coef_).max(), rtol=0)


def test_to_evoked_round_trip_and_topomap():
    x, y, h = _planted()
    raw = _raw(y)
    X = xr.DataArray(x, dims=("time", "feature"), coords={"time": np.arange(len(x)) / SF,
                                                          "feature": ["envelope", "onsets"]})
    t = TRF(tmin=-0.05, tmax=0.1, sfreq=SF, alpha=1e-3).fit(X, raw)
    evs = t.to_evoked()
    assert [e.comment for e in evs] == ["envelope", "onsets"]
    for f, ev in enumerate(evs):
        assert isinstance(ev, mne.EvokedArray)
        assert ev.ch_names == CH
        assert ev.info["sfreq"] == SF
        np.testing.assert_allclose(ev.times, t.lags_, atol=1e-12)
        np.testing.assert_array_equal(ev.data, t.coef_[:, f, :])
    assert np.isclose(evs[0].tmin, -0.05)
    one = t.to_evoked("onsets")
    np.testing.assert_array_equal(one.data, evs[1].data)
    assert t.to_evoked(1).comment == "onsets"
    # channel positions travel: topomaps and plot_joint work
    assert evs[0].get_montage() is not None
    fig = evs[0].plot_topomap(times=[0.02], show=False)
    fig2 = evs[0].plot_joint(times=[0.02], show=False)
    import matplotlib.pyplot as plt

    plt.close(fig)
    plt.close(fig2)
    with pytest.raises(ValueError, match="Allowed values"):
        t.to_evoked("pitch")
    with pytest.raises(ValueError, match="backward"):
        t.to_evoked(kind="patterns")


def test_to_evoked_from_arrays_and_banded():
    x, y, _ = _planted(T=1500, F=4)
    tt = np.arange(len(y)) / SF
    Y = xr.DataArray(y, dims=("time", "sensor"), coords={"time": tt, "sensor": CH})
    t = _trf().fit(xr.DataArray(x, dims=("time", "feature"), coords={"time": tt}), Y)
    ev = t.to_evoked(0)
    assert ev.ch_names == CH and ev.get_channel_types() == ["misc"] * len(CH)
    info = mne.create_info(CH, SF, "eeg")
    assert t.to_evoked(0, info=info).get_channel_types() == ["eeg"] * len(CH)
    with pytest.raises(ValueError, match="sfreq"):
        t.to_evoked(0, info=mne.create_info(CH, 250.0, "eeg"))
    b = BandedTRF(tmin=0, tmax=0.1, sfreq=SF, bands=[2, 2], alpha=[1e-3, 1.0], cv=3, n_iter=2).fit(x, _raw(y))
    evs = b.to_evoked()
    assert len(evs) == 4 and evs[3].ch_names == CH
    np.testing.assert_array_equal(evs[3].data, b.coef_[:, 3])


def test_backward_patterns_to_evoked_and_predict_by_name():
    rng = np.random.default_rng(1)
    T = 4000
    s = rng.standard_normal((T, 1))
    pattern = np.array([1.0, 0.5, -0.5, 0.0, 0.2, -1.0])
    resp = np.zeros((T, len(CH)))
    lat = 5  # the response follows the stimulus by 50 ms
    resp[lat:] = s[:-lat] * pattern
    resp = (resp + 0.5 * rng.standard_normal(resp.shape)) * 1e-6
    raw = _raw(resp)
    b = BackwardTRF(tmin=-0.1, tmax=0.0, sfreq=SF, alpha=1e-12).fit(raw, s)
    ev = b.to_evoked(0)  # Haufe patterns by default
    np.testing.assert_allclose(ev.times, -b.lags_[::-1], atol=1e-12)
    assert ev.ch_names == CH
    k = int(np.argmin(np.abs(ev.times - lat / SF)))
    topo = ev.data[:, k]
    assert np.corrcoef(topo, pattern)[0, 1] > 0.95
    # the pattern peaks at the planted latency
    assert np.argmax(np.abs(ev.data).sum(0)) == k
    np.testing.assert_array_equal(b.to_evoked(0, kind="coef").data, b.coef_[0][:, ::-1])
    # predict picks the fitted channels by name, whatever the order or extra channels
    p1 = b.predict(raw)
    shuffled = raw.copy().reorder_channels(CH[::-1])
    p2 = b.predict(shuffled)
    np.testing.assert_allclose(np.asarray(p1), np.asarray(p2), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="lacks the channel"):
        b.predict(raw.copy().drop_channels(["Cz"]))


def test_errors_name_what_they_got():
    x, y, _ = _planted(T=1000)
    raw = _raw(y)
    epochs = mne.EpochsArray(y.reshape(5, 200, -1).transpose(0, 2, 1), raw.info, verbose=False)
    with pytest.raises(ValueError, match=r"mne\.Epochs \(5 epochs of 200 samples.*array of shape \(200, 2\)"):
        _trf().fit(x[:200], epochs)
    with pytest.raises(ValueError, match=r"X has 999 samples but y is mne\.io\.Raw \(6 channels, 1000 samples"):
        _trf().fit(x[:999], raw)
    with pytest.raises(ValueError, match="sfreq=250 Hz: pass sfreq=100"):
        TRF(sfreq=250.0, alpha=1.0).fit(x, raw)
    with pytest.raises(ValueError, match="picks.*MNE inputs only"):
        _trf().fit(x, y, picks=["Cz"])
    raw.set_annotations(mne.Annotations([3.0], [1.0], ["BAD_"]))
    with pytest.raises(ValueError, match="leave 2 good stretch"):
        _trf().fit([x, x, x], raw)
    from neurorrn.encoding import cross_validate

    with pytest.raises(TypeError, match="from_mne"):
        cross_validate(_trf(), x, raw)
    xs, ys, info = from_mne(x, raw, SF)
    assert len(xs) == len(ys) == 2 and info["ch_names"] == CH
    assert [len(a) for a in xs] == [300, 600]


def test_response_epochs_from_raw_drops_bad_windows():
    import pandas as pd

    from neurorrn.brain import Timeline
    from neurorrn.encoding import response_epochs

    rng = np.random.default_rng(0)
    ev = pd.DataFrame({"onset": [0.5, 0.5, 0.6, 1.0, 1.0, 1.5], "duration": [1.5, 0.3, 0.2, 0.3, 0.3, 0.2],
                       "kind": ["sound", "word", "phone", "word", "phone", "phone"], "stimulus": ["s"] * 6,
                       "label": ["s", "cat", "K", "dog", "D", "G"]})
    tl = Timeline(ev, sfreq=SF)
    y = rng.standard_normal((250, len(CH)))
    raw = _raw(y)
    raw.set_annotations(mne.Annotations([1.45], [0.05], ["BAD_blink"]))  # inside G's window only
    ep = response_epochs(raw, tl, tmin=-0.1, tmax=0.2, picks=["Cz", "Pz"])
    assert list(ep.label.values) == ["K", "D"] and list(ep["sensor"].values) == ["Cz", "Pz"]
    np.testing.assert_allclose(ep.values[0, :, 10], y[60, [1, 2]])


def test_bad_spans_with_first_samp_and_meas_date():
    """Annotations in the measurement clock (first_samp > 0, orig_time set) cut the right samples."""
    from datetime import datetime, timezone

    from neurorrn.encoding._mne import good_spans

    x, y, _ = _planted(T=1000)
    info = mne.create_info(CH, SF, "eeg")
    raw = mne.io.RawArray(y.T, info, first_samp=500, verbose=False)
    raw.set_meas_date(datetime(2020, 1, 1, tzinfo=timezone.utc))
    # 5 s after the first sample = 10 s after the measurement's start (first_samp = 5 s)
    raw.set_annotations(mne.Annotations([10.0], [1.0], ["BAD_x"], orig_time=raw.info["meas_date"]))
    assert good_spans(raw) == [(0, 500), (600, 1000)]
    t = _trf().fit(x, raw)
    ref = _trf().fit([x[:500], x[600:]], [y[:500], y[600:]])
    np.testing.assert_allclose(t.coef_, ref.coef_, rtol=0, atol=1e-12 * np.abs(ref.coef_).max())


# ------------------------------------------------------------------------------ source estimates
def _stc_problem(seed=0, noise=0.3, tmin=2.0):
    """A surface SourceEstimate (6 lh + 5 rh vertices) driven by a planted kernel of 2 predictors."""
    rng = np.random.default_rng(seed)
    T, F, L = 3000, 2, 11
    x = rng.standard_normal((T, F))
    lh, rh = np.array([3, 17, 40, 41, 90, 123]), np.array([0, 5, 8, 60, 61])
    V = len(lh) + len(rh)
    h = rng.standard_normal((V, F, L))
    y = np.zeros((T, V))
    for v in range(V):
        for f in range(F):
            y[:, v] += np.convolve(x[:, f], h[v, f])[:T]
    y += noise * rng.standard_normal(y.shape)
    stc = mne.SourceEstimate(y.T * 1e-9, vertices=[lh, rh], tmin=tmin, tstep=1 / SF, subject="sample")
    return x, y * 1e-9, h * 1e-9, stc


def test_source_estimate_targets_recover_the_kernel_and_equal_arrays():
    x, y, h, stc = _stc_problem()
    est = _trf(alpha=1e-3).fit(x, stc)
    ref = _trf(alpha=1e-3).fit(x, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-12, atol=1e-12 * np.abs(ref.coef_).max())
    r = np.corrcoef(est.coef_.ravel(), h.ravel())[0, 1]
    assert r > 0.99
    names = ["lh:3", "lh:17", "lh:40", "lh:41", "lh:90", "lh:123", "rh:0", "rh:5", "rh:8", "rh:60", "rh:61"]
    assert list(est.target_names_) == names and est.target_dim_ == "source"
    assert est.info_ is None and est.source_["subject"] == "sample"
    from neurorrn.encoding import trf_to_xarray

    ds = trf_to_xarray(est)
    assert list(ds["coef"].dims) == ["source", "feature", "lag"] and list(ds["source"].values) == names
    # kernels back as SourceEstimates over lags, on the fitted vertices
    k1 = est.to_source_estimate(1)
    assert isinstance(k1, mne.SourceEstimate) and k1.subject == "sample"
    np.testing.assert_array_equal(k1.vertices[0], stc.vertices[0])
    np.testing.assert_array_equal(k1.vertices[1], stc.vertices[1])
    np.testing.assert_allclose(k1.times, est.lags_)
    np.testing.assert_array_equal(k1.data, est.coef_[:, 1, :])
    assert len(est.to_source_estimate()) == 2
    # predictions over the vertices, and scoring against the estimate picks vertices by name
    pred = est.to_source_estimate(data=est.predict(x), tmin=stc.tmin)
    np.testing.assert_allclose(pred.times, stc.times)
    assert est.score(x, stc) == pytest.approx(ref.score(x, y), rel=1e-12)


def test_source_estimate_lists_volume_and_boosting():
    from neurorrn.encoding import BoostingTRF

    x, y, h, stc = _stc_problem(seed=1)
    halves = [stc.copy().crop(stc.times[0], stc.times[1499]), stc.copy().crop(stc.times[1500], None)]
    a = _trf(alpha=1e-3).fit([x[:1500], x[1500:]], halves)    # one segment per estimate
    b = _trf(alpha=1e-3).fit([x[:1500], x[1500:]], [y[:1500], y[1500:]])
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12, atol=1e-12 * np.abs(b.coef_).max())
    vol = mne.VolSourceEstimate(y[:, :4].T, vertices=[np.array([10, 11, 12, 30])], tmin=0.0, tstep=1 / SF)
    v = _trf(alpha=1e-3).fit(x, vol)
    assert list(v.target_names_) == ["vol:10", "vol:11", "vol:12", "vol:30"]
    assert isinstance(v.to_source_estimate(0), mne.VolSourceEstimate)
    dec = BackwardTRF(-0.1, 0.0, SF, alpha=1e-20).fit(stc, x)   # decoding from the vertices
    pat = dec.to_source_estimate(0)                              # Haufe patterns over vertices
    assert isinstance(pat, mne.SourceEstimate) and pat.data.shape == (11, 11)
    np.testing.assert_allclose(pat.times, -dec.lags_[::-1])
    np.testing.assert_allclose(dec.predict(stc), BackwardTRF(-0.1, 0.0, SF, alpha=1e-20).fit(y, x).predict(y),
                               rtol=1e-9, atol=1e-9)
    bo = BoostingTRF(0.0, 0.1, SF).fit(x, vol)
    np.testing.assert_allclose(bo.coef_, BoostingTRF(0.0, 0.1, SF).fit(x, y[:, :4]).coef_, rtol=1e-12, atol=1e-20)


def test_source_estimate_errors_name_what_was_given():
    x, y, h, stc = _stc_problem()
    with pytest.raises(ValueError, match=r"mne.SourceEstimate \(6 lh \+ 5 rh vertices.*sfreq=50 Hz.*resample"):
        TRF(0.0, 0.1, 50.0, alpha=1.0).fit(x, stc)
    vec = mne.VectorSourceEstimate(np.zeros((11, 3, 3000)), vertices=stc.vertices, tmin=0.0, tstep=1 / SF)
    with pytest.raises(ValueError, match=r"three orientations.*magnitude\(\).*normal\(src\)"):
        _trf().fit(x, vec)
    with pytest.raises(ValueError, match=r"X has 2000 samples but y is mne.SourceEstimate"):
        _trf().fit(x[:2000], stc)
    est = _trf().fit(x, stc)
    fewer = mne.SourceEstimate(stc.data[:5], vertices=[stc.vertices[0][:5], np.array([], int)], tmin=0.0,
                               tstep=1 / SF)
    with pytest.raises(ValueError, match=r"lacks the vertex\(es\) \['lh:123'"):
        est.score(x, fewer)
    with pytest.raises(ValueError, match="not fitted on a source estimate"):
        _trf().fit(x, y).to_source_estimate(0)
    with pytest.raises(ValueError, match=r"shape \(n_times, 11 vertices\)"):
        est.to_source_estimate(data=np.zeros((10, 3)))
