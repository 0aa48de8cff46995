"""Your own model: a torch.nn.Module written here is recorded through forward hooks, its store
validates, and its units feed predictors_from_store and a TRF that recovers a planted kernel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
from torch import nn

from neurorrn.models import HookSubject, export_activations, export_module_activations
from neurorrn.store import get_alignments, load_store, validate_store

RATE = 100.0


class GRUNet(nn.Module):
    """A user's model: a GRU and a linear read-out at every frame."""

    def __init__(self, n_in=6, n_hidden=10, n_out=4, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.gru = nn.GRU(n_in, n_hidden, batch_first=True)
        self.head = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        h, _ = self.gru(x)
        return self.head(h)


class TimeMajorLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.rnn = nn.LSTM(6, 5)  # batch_first=False: (time, batch, units)

    def forward(self, x):
        out, _ = self.rnn(x.transpose(0, 1))
        return out


def _features(n_frames=(40, 25, 33), n_feat=6, seed=0):
    rng = np.random.default_rng(seed)
    T = max(n_frames)
    vals = np.full((len(n_frames), T, n_feat), np.nan, np.float32)
    for i, n in enumerate(n_frames):
        vals[i, :n] = rng.standard_normal((n, n_feat))
    ids = [f"s{i}" for i in range(len(n_frames))]
    return xr.DataArray(vals, dims=("stimulus", "time", "frequency"),
                        coords={"stimulus": ids, "time": np.arange(T) / RATE, "n_frames": ("stimulus", list(n_frames)),
                                "word": ("stimulus", (["cat", "dog", "cap"] * len(n_frames))[: len(n_frames)]),
                                "talker": ("stimulus", (["a", "b", "a"] * len(n_frames))[: len(n_frames)])},
                        attrs={"frame_rate": RATE})


def _alignments():
    return pd.DataFrame({"stimulus": ["s0", "s0", "s1"], "tier": ["phone", "word", "phone"],
                         "label": ["K", "cat", "D"], "start": [0.0, 0.0, 0.05], "end": [0.1, 0.3, 0.2]})


def test_gru_head_exported_through_hooks(tmp_path):
    net = GRUNet()
    feats = _features()
    path = export_module_activations(net, feats, tmp_path / "acts.nc", layers=["gru", "head"],
                                     alignments=_alignments())
    assert validate_store(path) == []
    ds = load_store(path)
    assert ds.attrs["frame_rate"] == RATE and ds.attrs["model_id"] == "GRUNet"
    assert ds.sizes["unit"] == 14 and list(ds["n_frames"].values) == [40, 25, 33]
    assert sorted(set(ds["layer"].values)) == ["gru", "head"] and set(ds["component"].values) == {"h"}
    assert list(ds["word"].values) == ["cat", "dog", "cap"] and list(ds["talker"].values) == ["a", "b", "a"]
    np.testing.assert_allclose(ds["time"].values[:3], [0.0, 0.01, 0.02])
    x = torch.as_tensor(feats.values[1, :25])[None]
    with torch.no_grad():
        h, _ = net.gru(x)
        y = net(x)
    gru = ds["activation"].sel(stimulus="s1").values[:25, ds["layer"].values == "gru"]
    head = ds["activation"].sel(stimulus="s1").values[:25, ds["layer"].values == "head"]
    np.testing.assert_allclose(gru, h[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(head, y[0].numpy(), rtol=1e-5, atol=1e-6)
    assert np.isnan(ds["activation"].sel(stimulus="s1").values[25:]).all()
    al = get_alignments(ds, tier="phone")
    assert al["label"].tolist() == ["K", "D"]
    assert net.training  # the module's mode is restored


def test_export_activations_accepts_a_module(tmp_path):
    net = GRUNet()
    with pytest.raises(ValueError, match="pass layers="):
        export_activations(net, _features(), tmp_path / "a.nc")
    p = export_activations(net, _features(), tmp_path / "a.nc", layers={"rnn": "gru"})
    assert list(np.unique(load_store(p)["layer"].values)) == ["rnn"]


def test_time_major_lstm_is_unpacked():
    net = TimeMajorLSTM()
    feats = _features()
    ds = export_module_activations(net, feats, layers=["rnn"])
    x = torch.as_tensor(feats.values[0, :40])[:, None]
    with torch.no_grad():
        out, _ = net.rnn(x)
    np.testing.assert_allclose(ds["activation"].values[0, :40], out[:, 0].numpy(), rtol=1e-5, atol=1e-6)


def test_stream_mode_carries_state():
    net = GRUNet()
    feats = _features()
    iso = export_module_activations(net, feats, layers=["gru"], mode="isolated")
    stream = export_module_activations(net, feats, layers=["gru"], mode="stream")
    cat = torch.as_tensor(np.concatenate([feats.values[0, :40], feats.values[1, :25], feats.values[2, :33]]))[None]
    with torch.no_grad():
        h, _ = net.gru(cat)
    np.testing.assert_allclose(stream["activation"].sel(stimulus="s1").values[:25], h[0, 40:65].numpy(),
                               rtol=1e-5, atol=1e-6)
    # the first segment starts from the same zero state; the next ones do not
    np.testing.assert_allclose(stream["activation"].values[0], iso["activation"].values[0], rtol=1e-5, atol=1e-6)
    assert np.abs(stream["activation"].values[1, :5] - iso["activation"].values[1, :5]).max() > 1e-3
    assert stream.attrs["config_json"].count('"stream"') == 1


def test_errors_name_the_problem():
    net = GRUNet()
    with pytest.raises(ValueError, match=r"GRUNet has no submodule 'gur'\. Did you mean \['gru'\]"):
        HookSubject(net, ["gur"], RATE)
    with pytest.raises(ValueError, match="may not contain"):
        HookSubject(net, {"a.b": "gru"}, RATE)

    class TwoRates(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(6, 4, batch_first=True)
            self.pool = nn.AvgPool1d(2)

        def forward(self, x):
            h, _ = self.gru(x)
            return self.pool(h.transpose(1, 2)).transpose(1, 2)

    chan_first = {"pool": lambda out: out[0].T}  # the pooling layer's output is (batch, units, time)
    with pytest.raises(ValueError, match=r"different numbers of frames \{'gru': 40, 'pool': 20\}"):
        export_module_activations(TwoRates(), _features(), layers=["gru", "pool"], unpack=chan_first)
    with pytest.raises(ValueError, match="give 20 frames for 40 input frames.*pass frame_rate="):
        export_module_activations(TwoRates(), _features(), layers=["pool"], unpack=chan_first)
    with pytest.raises(ValueError, match=r"unpack names layers \['gru'\] that are not in layers \['pool'\]"):
        export_module_activations(TwoRates(), _features(), layers=["pool"], unpack={"gru": lambda o: o})
    ds = export_module_activations(TwoRates(), _features(), layers=["pool"], frame_rate=50.0, unpack=chan_first)
    assert ds.attrs["frame_rate"] == 50.0 and list(ds["n_frames"].values) == [20, 12, 16]
    st = export_module_activations(TwoRates(), _features(), layers=["pool"], frame_rate=50.0, mode="stream",
                                   unpack=chan_first)
    assert list(st["n_frames"].values) == [20, 12, 17]  # 98 frames -> 49, cut at 20 and 32 (12.5 rounded)


def test_hooked_units_feed_predictors_and_a_trf():
    """Plant a kernel on one hooked unit in a simulated recording; the TRF recovers it."""
    from neurorrn.brain import Timeline
    from neurorrn.encoding import TRF, predictors_from_store

    rng = np.random.default_rng(7)
    n_stim, T = 12, 60
    feats = _features(n_frames=(T,) * n_stim, seed=3)
    store = export_module_activations(GRUNet(), feats, layers=["gru"])
    onsets = 0.5 + np.arange(n_stim) * 0.9
    events = pd.DataFrame({"onset": onsets, "kind": "sound", "stimulus": store["stimulus"].values,
                           "label": store["stimulus"].values})
    n_times = int(round((onsets[-1] + 1.5) * RATE))
    tl = Timeline(events, sfreq=RATE, n_times=n_times)
    P = predictors_from_store(store, tl, kind="units", layer="gru")
    assert P.shape == (n_times, 10)
    x = P.values[:, 3]
    kernel = np.array([0.0, 0.0, 0.5, 1.0, 0.6, 0.2, 0.0, -0.3, -0.1, 0.0, 0.0])
    y = np.convolve(x - x.mean(), kernel)[:n_times][:, None] * np.ones((1, 2))
    y = y + 0.05 * y.std() * rng.standard_normal(y.shape)
    trf = TRF(tmin=0.0, tmax=0.1, sfreq=RATE, alpha=1e-3).fit(P.values[:, [3]], y)
    est = np.asarray(trf.coef_)[0, 0]
    assert np.corrcoef(est, kernel)[0, 1] > 0.95
