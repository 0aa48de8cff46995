import pytest
import torch

from neurorrn.models.networks import CELL_COMPONENTS, CELLS, NetworkConfig, SpeechRNN


def _net(cell="lstm", hidden=(7, 5), n_in=4, n_out=3, seed=0):
    torch.manual_seed(seed)
    return SpeechRNN(NetworkConfig(cell=cell, n_input=n_in, hidden_sizes=list(hidden), n_output=n_out))


def test_default_is_earshot():
    m = SpeechRNN()
    assert [layer.hidden_size for layer in m.layers] == [512]
    assert m.layers[0].input_size == 256 and m.readout.out_features == 300
    assert m.config.output_activation == "sigmoid"
    # TF's forget bias of 1: bias_ih + bias_hh of the forget block is shifted by exactly 1 vs. PyTorch init
    h = 512
    b = m.layers[0].bias_ih_l0.detach()
    assert (b[h : 2 * h] > 1 - 1 / h**0.5 - 1e-6).all() and (b[h : 2 * h] < 1 + 1 / h**0.5 + 1e-6).all()


@pytest.mark.parametrize("cell", CELLS)
def test_shapes_and_packed_state(cell):
    m = _net(cell)
    x = torch.randn(3, 9, 4)
    lengths = torch.tensor([9, 5, 2])
    logits, state, hidden = m(x, lengths=lengths, return_hidden=True)
    assert logits.shape == (3, 9, 3) and [h.shape for h in hidden] == [(3, 9, 7), (3, 9, 5)]
    # padded frames: zero hidden, logits equal the read-out bias (EARSHOT's dynamic_decode)
    assert torch.all(hidden[1][1, 5:] == 0)
    torch.testing.assert_close(logits[2, 3], m.readout.bias)
    # the final state of each row is its state at its last valid frame
    for i, n in enumerate(lengths.tolist()):
        _, st_i = m(x[i : i + 1, :n])
        last = st_i[1][0] if cell == "lstm" else st_i[1]
        got = state[1][0] if cell == "lstm" else state[1]
        torch.testing.assert_close(got[:, i], last[:, 0])


@pytest.mark.parametrize("cell", CELLS)
def test_components_match_fused_forward(cell):
    m = _net(cell)
    x = torch.randn(2, 6, 4)
    logits, state, hidden = m(x, return_hidden=True)
    comps = CELL_COMPONENTS[cell]
    out, logits2, state2 = m.forward_components(x, comps)
    torch.testing.assert_close(logits2, logits, atol=1e-5, rtol=1e-5)
    for li, name in enumerate(m.layer_names):
        torch.testing.assert_close(out[(name, "h")], hidden[li], atol=1e-5, rtol=1e-5)
        for c in comps:
            assert out[(name, c)].shape == hidden[li].shape
    if cell == "lstm":
        # the last c equals the cell state returned by nn.LSTM
        torch.testing.assert_close(out[("lstm1", "c")][:, -1], state[1][1][0], atol=1e-5, rtol=1e-5)
        f = out[("lstm0", "forget_gate")]
        assert ((f > 0) & (f < 1)).all()


@pytest.mark.parametrize("cell", CELLS)
def test_stateful_streaming_equals_one_pass(cell):
    m = _net(cell)
    x = torch.randn(1, 20, 4)
    full, _ = m(x)
    a, st = m(x[:, :8])
    b, _ = m(x[:, 8:], st)
    torch.testing.assert_close(torch.cat([a, b], 1), full, atol=1e-6, rtol=1e-5)


def test_bad_input():
    m = _net()
    with pytest.raises(ValueError, match=r"x must have shape \(batch, time, 4\), got \(2, 5, 6\)"):
        m(torch.randn(2, 5, 6))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 5\]"):
        m(torch.randn(2, 5, 4), lengths=torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="Invalid value for component for a lstm network: 'gate'"):
        m.forward_components(torch.randn(1, 2, 4), ("gate",))
    with pytest.raises(ValueError, match="hidden_sizes must be a non-empty list"):
        SpeechRNN(NetworkConfig(hidden_sizes=[]))


@pytest.mark.gpu
def test_cuda_amp_matches_cpu():
    m = _net()
    x = torch.randn(4, 10, 4)
    ref, _ = m(x, lengths=torch.tensor([10, 7, 3, 10]))
    mc = m.to("cuda")
    with torch.autocast("cuda", dtype=torch.float16):
        out, _ = mc(x.cuda(), lengths=torch.tensor([10, 7, 3, 10]))
    torch.testing.assert_close(out.float().cpu(), ref, atol=2e-2, rtol=2e-2)


@pytest.mark.parametrize("cell", CELLS)
def test_unpacked_padded_run_gives_same_outputs(cell):
    m = _net(cell)
    x = torch.randn(3, 9, 4)
    lengths = torch.tensor([9, 5, 2])
    a, _, ha = m(x, lengths=lengths, return_hidden=True)
    b, _, hb = m(x, lengths=lengths, return_hidden=True, pack=False)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    for u, v in zip(ha, hb):
        torch.testing.assert_close(u, v, atol=1e-6, rtol=1e-5)


def test_random_state_seeds_weights_locally():
    import torch

    from neurorrn.models.networks import NetworkConfig, SpeechRNN

    cfg = NetworkConfig(n_input=5, hidden_sizes=[7], n_output=4)
    before = torch.random.get_rng_state()
    a, b = SpeechRNN(cfg, random_state=3), SpeechRNN(cfg, random_state=3)
    c = SpeechRNN(cfg, random_state=4)
    assert torch.equal(torch.random.get_rng_state(), before), "the global RNG must not move"
    for (name, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb), name
        assert not torch.equal(pa, pc), name
