import numpy as np
import pandas as pd
import pytest

from neurorrn.probing.responses import feature_means, phone_epochs, phone_means, phone_table, phone_tokens
from neurorrn.store import from_arrays


@pytest.fixture
def ramp_store():
    # unit 0 = frame index, unit 1 = -frame index; 100 Hz; phones at known times
    n = 40
    a = np.stack([np.arange(n), -np.arange(n)], 1).astype(np.float32)
    b = a[:30].copy()
    al = pd.DataFrame([("s1", "phone", "P", 0.0, 0.10), ("s1", "phone", "AA1", 0.10, 0.255),
                       ("s1", "word", "pa", 0.0, 0.3), ("s2", "phone", "ʃ", 0.0, 0.12),
                       ("s2", "phone", "IY", 0.12, 0.28), ("s2", "phone", "ZH", 0.28, 0.29)],
                      columns=["stimulus", "tier", "label", "start", "end"])
    return from_arrays([a, b], ["s1", "s2"], 100.0, alignments=al, word=["pa", "she"], talker=["x", "y"])


def test_phone_table_maps_labels(ramp_store):
    t = phone_table(ramp_store)
    assert list(t["phone"]) == ["P", "AA", "SH", "IY"]  # ZH is not an analysis phone
    assert list(t["position"]) == [0, 1, 0, 1]
    assert list(t["word"]) == ["pa", "pa", "she", "she"]


def test_onset_window_frames(ramp_store):
    tok = phone_tokens(ramp_store, (0.05, 0.15), absolute=False)
    # P: frames 5..14 -> mean 9.5; AA onset 0.10: frames 15..24 -> 19.5
    s1 = tok.where(tok["stimulus"] == "s1", drop=True)
    np.testing.assert_allclose(s1.sel(unit=0).values, [9.5, 19.5])
    np.testing.assert_allclose(s1.sel(unit=1).values, [-9.5, -19.5])
    # IY in s2 (30 frames): onset 0.12 -> frames 17..26, inside; all four tokens kept
    assert tok.sizes["token"] == 4
    tok_abs = phone_tokens(ramp_store, (0.05, 0.15))
    np.testing.assert_allclose(tok_abs.sel(unit=1).values, np.abs(tok.sel(unit=1).values))
    # a window leaving the stimulus drops the token
    tok2 = phone_tokens(ramp_store, (0.10, 0.25))
    assert "IY" not in set(tok2["phone"].values.tolist())


def test_interval_and_stimulus_alignment(ramp_store):
    tok = phone_tokens(ramp_store, align="interval", absolute=False)
    # AA [0.10, 0.255): frames int(10)..int(25.5) = 10..24
    aa = tok.where(tok["phone"] == "AA", drop=True)
    np.testing.assert_allclose(aa.sel(unit=0).values, [np.arange(10, 25).mean()])
    assert int(aa["n_frames"][0]) == 15
    first = phone_tokens(ramp_store, (0.05, 0.15), align="stimulus")
    assert list(first["phone"].values) == ["P", "SH"]
    np.testing.assert_allclose(first.sel(unit=0).values, [9.5, 9.5])


def test_means_and_weighting(ramp_store):
    tok = phone_tokens(ramp_store, align="interval", absolute=False)
    m = phone_means(tok, ["P", "AA", "SH", "IY", "K"])
    assert m.dims == ("unit", "phone")
    assert np.isnan(m.sel(phone="K")).all()
    by = phone_means(tok, ["P", "SH"], by_talker=True)
    assert by.dims == ("unit", "phone", "talker")
    assert np.isnan(by.sel(phone="P", talker="y")).all()
    f = feature_means(tok)
    # voiced: AA and IY tokens; token-weighted vs frame-weighted means differ for unequal lengths
    aa, iy = tok.where(tok["phone"] == "AA", drop=True), tok.where(tok["phone"] == "IY", drop=True)
    want_tok = (float(aa.sel(unit=0)[0]) + float(iy.sel(unit=0)[0])) / 2
    np.testing.assert_allclose(float(f.sel(unit=0, feature="voiced")), want_tok)
    ff = feature_means(tok, weighting="frame")
    n1, n2 = int(aa["n_frames"][0]), int(iy["n_frames"][0])
    want_fr = (float(aa.sel(unit=0)[0]) * n1 + float(iy.sel(unit=0)[0]) * n2) / (n1 + n2)
    np.testing.assert_allclose(float(ff.sel(unit=0, feature="voiced")), want_fr)


def test_epochs(ramp_store):
    ep = phone_epochs(ramp_store, (-0.1, 0.1))
    assert ep.dims == ("token", "lag", "unit")
    assert ep.sizes["lag"] == 21
    np.testing.assert_allclose(ep["lag"].values, np.arange(-10, 11) / 100)
    aa = ep.isel(token=1)
    np.testing.assert_allclose(aa.sel(unit=0).values, np.arange(0, 21))
    p = ep.isel(token=0).sel(unit=0).values  # onset 0: negative lags are NaN
    assert np.isnan(p[:10]).all() and p[10] == 0


def test_errors(ramp_store):
    with pytest.raises(ValueError, match="align"):
        phone_tokens(ramp_store, align="offset")
    with pytest.raises(ValueError, match="window must be"):
        phone_tokens(ramp_store, (0.2, 0.1))
    with pytest.raises(ValueError, match="no phone intervals left"):
        phone_tokens(ramp_store, phones=["K"])
    bare = from_arrays([np.zeros((5, 2))], ["s"], 100.0)
    with pytest.raises(ValueError, match="no alignment rows on tier 'phone'"):
        phone_tokens(bare)
    with pytest.raises(TypeError, match="store"):
        phone_tokens(np.zeros(3))
    with pytest.raises(ValueError, match="lags must be"):
        phone_epochs(ramp_store, (0.2, -0.1))
