import numpy as np
import pytest
import torch

from neurorrn.probing.lesions import lesion_module, lesion_store, lesion_sweep, psi_effect
from neurorrn.probing.responses import phone_tokens
from neurorrn.probing.selectivity import psi


def _manual_lstm(lstm, x, layer_units):
    """Reference: run a stacked LSTM step by step, forcing h_i = 0 for lesioned units of each layer."""
    h_in = x
    for k in range(lstm.num_layers):
        cell = torch.nn.LSTMCell(h_in.shape[-1], lstm.hidden_size)
        with torch.no_grad():
            for a, b in (("weight_ih", f"weight_ih_l{k}"), ("weight_hh", f"weight_hh_l{k}"),
                         ("bias_ih", f"bias_ih_l{k}"), ("bias_hh", f"bias_hh_l{k}")):
                getattr(cell, a).copy_(getattr(lstm, b))
        h = torch.zeros(x.shape[0], lstm.hidden_size)
        c = torch.zeros_like(h)
        outs = []
        for t in range(x.shape[1]):
            h, c = cell(h_in[:, t], (h, c))
            h = h.clone()
            h[:, layer_units.get(k, [])] = 0.0
            outs.append(h)
        h_in = torch.stack(outs, 1)
    return h_in


@pytest.mark.parametrize("layer", [0, 1])
def test_silenced_lstm_units_equal_forcing_h_to_zero(layer):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True)
    x = torch.randn(2, 6, 3)
    before = {n: p.detach().clone() for n, p in lstm.named_parameters()}
    with torch.no_grad(), lesion_module(lstm, [1, 3], layer=layer) as m:
        y, (h_n, _) = m(x)
    ref = _manual_lstm(lstm, x, {layer: [1, 3]})
    torch.testing.assert_close(y, ref, atol=1e-6, rtol=1e-5)
    if layer == 1:
        assert (y[..., [1, 3]] == 0).all() and (h_n[1][:, [1, 3]] == 0).all()
    for n, p in lstm.named_parameters():  # restored on exit
        assert torch.equal(p, before[n])
    with torch.no_grad():
        y2, _ = lstm(x)
    assert not torch.allclose(y2, y)


def test_gru_noise_and_connections():
    torch.manual_seed(1)
    gru = torch.nn.GRU(3, 4, batch_first=True)
    x = torch.randn(1, 5, 3)
    with torch.no_grad():
        y0, _ = gru(x)
        with lesion_module(gru, [0], "noise", noise_sd=1.0, random_state=0):
            y1, _ = gru(x)
        with lesion_module(gru, None, "connections", connections={"weight_ih_l0": (slice(None), 0)}):
            y2, _ = gru(x)
            assert (gru.weight_ih_l0[:, 0] == 0).all()
        x0 = x.clone()
        x0[..., 0] = 0
        y3, _ = gru(x0)
    assert torch.equal(y1[..., 1:], y0[..., 1:]) and not torch.equal(y1[..., 0], y0[..., 0])
    torch.testing.assert_close(y2, y3)  # cutting input 0's connections = removing input 0
    with pytest.raises(ValueError, match="unit indices must lie in"):
        with lesion_module(gru, [9]):
            pass
    with pytest.raises(TypeError, match="nn.RNN, nn.GRU or nn.LSTM"):
        with lesion_module(torch.nn.Linear(2, 2), [0]):
            pass
    with pytest.raises(KeyError, match="is not a parameter"):
        with lesion_module(gru, None, "connections", connections={"w": (0, 0)}):
            pass


def test_lesion_store_kinds(word_store):
    sil = lesion_store(word_store, [0, 1], "silence")
    a = sil["activation"].sel(unit=[0, 1]).values
    assert np.nanmax(np.abs(a)) == 0 and np.isnan(a).sum() == np.isnan(word_store["activation"].sel(unit=[0, 1])).sum()
    np.testing.assert_array_equal(sil["activation"].sel(unit=5).values, word_store["activation"].sel(unit=5).values)
    rem = lesion_store(word_store, [0, 1], "remove")
    assert rem.sizes["unit"] == word_store.sizes["unit"] - 2
    noisy = lesion_store(word_store, [2], "noise", noise_sd=2.0, random_state=0)
    d = (noisy["activation"] - word_store["activation"]).sel(unit=2).values
    sd = np.nanstd(word_store["activation"].sel(unit=2).values)
    assert np.nanstd(d) == pytest.approx(2 * sd, rel=0.05)
    with pytest.raises(KeyError, match="not in the store"):
        lesion_store(word_store, [999])
    with pytest.raises(ValueError, match="kind"):
        lesion_store(word_store, [0], "cut")


def test_sweep_psi_effect(word_store):
    # score: number of units with PSI+ > 0 at c = 0.3 (only planted units pass)
    def n_selective(store):
        tokens = phone_tokens(store, (0.03, 0.06))
        return int((psi(tokens, criteria=[0.3])["positive"].sum("phone") > 0).sum())

    score = psi_effect(word_store, n_selective)
    units = word_store["unit"].values
    sweep = lesion_sweep(score, units, [0, 10, 30], n_repeats=2, random_state=0)
    base = float(sweep["baseline"])
    assert base == 41  # 33 phone units + 8 feature units
    m = sweep["score"].mean("repeat").values
    assert m[0] == base and m[0] > m[1] > m[2]
    import xarray as xr

    clusters = xr.DataArray((units >= 33).astype(int), dims="unit", coords={"unit": units})
    sw = lesion_sweep(score, units, [5], n_repeats=1, clusters=clusters, random_state=0)
    # silencing the 33 phone units removes exactly them
    assert float(sw["cluster_score"].sel(cluster=0)) == base - 33
    with pytest.raises(ValueError, match="lesion sizes"):
        lesion_sweep(score, units, [100])
    with pytest.raises(TypeError, match="callable"):
        lesion_sweep(3, units, [1])


def test_lesion_in_a_speech_network_with_packed_sequences():
    """Silencing units of a SpeechRNN layer (packed, varying lengths) = zero hidden output, and the
    recognition readout changes; a lesion sweep can score the lesioned network."""
    from neurorrn.models.networks import NetworkConfig, SpeechRNN

    torch.manual_seed(0)
    net = SpeechRNN(NetworkConfig(n_input=5, hidden_sizes=[6, 4], n_output=3))
    x = torch.randn(3, 8, 5)
    lengths = torch.tensor([8, 5, 3])
    with torch.no_grad():
        base, _, hid = net(x, lengths=lengths, return_hidden=True)
        with lesion_module(net.layers[0], [2, 4]):
            out, _, hid_l = net(x, lengths=lengths, return_hidden=True)
        again, _ = net(x, lengths=lengths)
    assert (hid_l[0][..., [2, 4]] == 0).all()
    assert not torch.allclose(out, base)
    torch.testing.assert_close(again, base)

    def score(mask):
        with torch.no_grad(), lesion_module(net.layers[0], np.flatnonzero(mask)):
            o, _ = net(x, lengths=lengths)
        return float((o - base).abs().mean())

    sw = lesion_sweep(score, np.arange(6), [0, 3, 6], n_repeats=2)
    m = sw["score"].mean("repeat").values
    assert m[0] == 0 and m[2] > m[1] > 0
