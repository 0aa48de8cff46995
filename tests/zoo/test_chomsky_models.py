"""Transformer / Stack-RNN / Tape-RNN of the Chomsky benchmark: planted mechanics."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurorrn.zoo.chomsky import MODELS, evaluate_model  # noqa: E402
from neurorrn.zoo.chomsky.models import StackRNN, TapeRNN, TransformerEncoder  # noqa: E402


def _zero_(module):
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()


def _tokens(seq, n_in):
    x = torch.zeros(1, len(seq), n_in)
    for t, k in enumerate(seq):
        x[0, t, k] = 1.0
    return x


def _hand_wired_core(net):
    """Hidden unit k ~ 1 on input token k, else 0 (no recurrence): relu(1 * x) for the ReLU
    core (the default), tanh(10 * x) for the tanh core."""
    with torch.no_grad():
        for k in range(3):
            net.core.weight_ih[k, k] = _core_gain(net)


def _core_gain(net):
    return 1.0 if net.core.nonlinearity == "relu" else 10.0


@pytest.mark.parametrize("push, gain, activation", [("linear", 1.0, "relu"), ("tanh", 10.0, "relu"),
                                                     ("linear", 1.0, "tanh")])
def test_stack_rnn_is_last_in_first_out(push, gain, activation):
    # tokens: 0 = push +1, 1 = push -1, 2 = pop; input dim 3 = "empty" flag.  The pushed value
    # is W h (the release's, default) or tanh(W h); h ~ 1 on the token's unit
    net = StackRNN(4, 2, hidden_size=3, stack_size=5, cell_size=1, push=push, activation=activation)
    _zero_(net)
    _hand_wired_core(net)
    with torch.no_grad():
        net.actions.weight[0, :2] = 20.0  # push on tokens 0 and 1
        net.actions.weight[1, 2] = 20.0  # pop on token 2
        net.push_value.weight[0, 0], net.push_value.weight[0, 1] = gain, -gain
        top = net.features(_tokens([0, 1, 1, 2, 2, 2], 4))[0, :, 3].numpy()
    np.testing.assert_allclose(top, [1, -1, -1, -1, 1, 0], atol=1e-6)


def test_memory_networks_are_the_releases_push_write_and_readout():
    """Defaults: ReLU cores (hk.VanillaRNN), linear push (StackRNN), a 64-64 ReLU MLP write
    (TapeRNN), ReLU before the readout."""
    stack, tape = StackRNN(4, 2, hidden_size=3, cell_size=1), TapeRNN(4, 2, hidden_size=3, cell_size=1)
    assert stack.push == "linear" and stack.readout_relu and tape.write == "mlp" and tape.readout_relu
    assert stack.core.nonlinearity == tape.core.nonlinearity == "relu"
    assert [m.out_features for m in tape.write_value if isinstance(m, torch.nn.Linear)] == [64, 64, 1]
    x = _tokens([0, 1, 2], 4)
    # the readout's ReLU matters for a core whose state can be negative: the tanh core
    for net in (StackRNN(4, 2, hidden_size=3, cell_size=1, activation="tanh"),
                TapeRNN(4, 2, hidden_size=3, cell_size=1, activation="tanh")):
        _zero_(net)
        with torch.no_grad():
            net.core.bias_ih[:] = -50.0  # every unit at tanh(-50) = -1: relu(h) = 0
            net.readout.bias[:] = torch.tensor([0.3, -0.7])
            out = net(x)
            assert (net.features(x)[..., :3] < 0).all()
            np.testing.assert_allclose(out.numpy(), np.tile([0.3, -0.7], (1, 3, 1)), atol=1e-6)
    # an unsquashed write: the MLP's output bias 5 is what lies under the head (tanh would give 0.99991)
    _zero_(tape)
    with torch.no_grad():
        tape.write_value[-1].bias[:] = 5.0
        tape.actions.bias[0] = 50.0  # stay
        under_head = tape.features(x)[0, :, 3].numpy()
    np.testing.assert_allclose(under_head, 5.0, atol=1e-5)
    tanh_tape = TapeRNN(4, 2, hidden_size=3, cell_size=1, write="tanh")
    _zero_(tanh_tape)
    with torch.no_grad():
        tanh_tape.write_value.bias[:] = 5.0
        tanh_tape.actions.bias[0] = 50.0
        np.testing.assert_allclose(tanh_tape.features(x)[0, :, 3].numpy(), math.tanh(5.0), atol=1e-5)


def _haiku_scale_ok(w, fan_in):
    """Haiku's TruncatedNormal(1/sqrt(fan_in)): |w| <= 2 / sqrt(fan_in), sd 0.8796 / sqrt(fan_in)."""
    w = w.detach().numpy().ravel() * math.sqrt(fan_in)
    return np.abs(w).max() <= 2.0 and abs(w.std() - 0.8796) < 6 / math.sqrt(w.size)


def test_haiku_initialisation_of_every_model():
    from neurorrn.zoo.chomsky.benchmark import SequenceModel

    torch.manual_seed(0)
    lstm = MODELS["lstm"](4, 5, 256)  # hk.LSTM: one layer on [x, h] (fan-in 260) for the four gates
    assert _haiku_scale_ok(lstm.rnn.weight_hh_l0, 260) and _haiku_scale_ok(lstm.rnn.weight_ih_l0, 260)
    assert _haiku_scale_ok(lstm.readout.weight, 256)
    b = lstm.rnn.bias_ih_l0.detach().numpy()
    np.testing.assert_array_equal(b[256:512], 1.0)  # Haiku's forget offset; every other bias 0
    assert not b[:256].any() and not b[512:].any() and not lstm.rnn.bias_hh_l0.detach().numpy().any()
    rnn = MODELS["rnn"](4, 5, 256)  # hk.VanillaRNN: separate input (fan-in 4) and state (fan-in 256) maps
    assert rnn.rnn.nonlinearity == "relu"  # hk.VanillaRNN: h = relu(W_i x + b_i + W_h h + b_h)
    with torch.no_grad():
        assert (rnn.features(-torch.ones(2, 3, 4) * 100) >= 0).all()
        tanh_rnn = MODELS["rnn"](4, 5, 8, activation="tanh")
        assert (tanh_rnn.features(torch.randn(2, 3, 4) * 100) < 0).any()
    assert _haiku_scale_ok(rnn.rnn.weight_hh_l0, 256) and _haiku_scale_ok(rnn.rnn.weight_ih_l0, 4)
    radius = lambda m: np.abs(np.linalg.eigvals(m.rnn.weight_hh_l0.detach().numpy())).max()  # noqa: E731
    torch_rnn = SequenceModel.build("rnn", 4, 5, 256, init="torch")
    assert 0.8 < radius(rnn) < 0.96 and 0.5 < radius(torch_rnn) < 0.65  # the circular law: 0.88 vs 0.58
    assert torch_rnn.rnn.bias_hh_l0.detach().abs().max() > 0  # torch's uniform biases
    gru = MODELS["gru"](4, 5, 64)  # not in the paper's table: torch's initialisation
    assert gru.rnn.weight_hh_l0.detach().abs().max() <= 1 / 8 and gru.rnn.bias_hh_l0.detach().abs().max() > 0
    for net in (StackRNN(4, 2, hidden_size=256), TapeRNN(4, 2, hidden_size=256)):
        assert _haiku_scale_ok(net.core.weight_hh, 256) and _haiku_scale_ok(net.core.weight_ih, 4 + 8)
        assert all(not p.detach().numpy().any() for n, p in net.named_parameters() if "bias" in n)
    tape = TapeRNN(4, 2, hidden_size=256)
    assert _haiku_scale_ok(tape.write_value[2].weight, 64)
    # the same seed gives the same network
    torch.manual_seed(3)
    a = MODELS["stack_rnn"](4, 2, 16)
    torch.manual_seed(3)
    b = MODELS["stack_rnn"](4, 2, 16)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_tape_rnn_writes_moves_and_jumps_by_the_input_length():
    # tokens: 0 = write +1 then move right, 1 = write -1 then move right; empty token: jump left
    net = TapeRNN(4, 2, hidden_size=4, cell_size=1, write="tanh")
    _zero_(net)
    _hand_wired_core(net)
    with torch.no_grad():
        net.core.weight_ih[3, 3] = _core_gain(net)
        net.actions.weight[2, :2] = 20.0  # right
        net.actions.weight[3, 3] = 20.0  # jump left
        net.write_value.weight[0, 0], net.write_value.weight[0, 1] = 10.0, -10.0
        x = torch.cat([_tokens([0, 1, 1], 4), _tokens([3, 3], 4)], dim=1)
        under_head = net.features(x)[0, :, 4].numpy()
    # after 3 writes the head is on a blank cell; the first jump back by n = 3 lands on the
    # cell written first (+1); the second jump (by 3 again, the empty token wrote 0) lands on
    # the cell after the last write on a 5-cell circular tape
    np.testing.assert_allclose(under_head[:3], [0, 0, 0], atol=1e-6)
    assert under_head[3] == pytest.approx(1.0, abs=1e-6)


def test_transformer_sin_cos_positions_and_permutation_equivariance():
    net = TransformerEncoder(3, 2, d_model=8, n_layers=1, n_heads=2, positional="sin_cos").eval()
    pe = net._positions(5, "cpu").numpy()
    np.testing.assert_allclose(pe[3, 0], math.sin(3.0), rtol=1e-6)
    np.testing.assert_allclose(pe[3, 1], math.cos(3.0), rtol=1e-6)
    np.testing.assert_allclose(pe[2, 2], math.sin(2.0 / 10000 ** (2 / 8)), rtol=1e-5)
    x = torch.randn(2, 6, 3)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    free = TransformerEncoder(3, 2, d_model=8, n_layers=1, n_heads=2, positional="none").eval()
    with torch.no_grad():  # without positions an encoder cannot tell positions apart ...
        torch.testing.assert_close(free(x[:, perm]), free(x)[:, perm], atol=1e-5, rtol=1e-5)
        # ... with them it can
        assert (net(x[:, perm]) - net(x)[:, perm]).abs().max() > 1e-3


def test_models_are_registered_and_train():
    for name in ("transformer", "stack_rnn", "tape_rnn"):
        assert name in MODELS
        res = evaluate_model("reverse_string", name, seed=0, training_steps=2, batch_size=4, hidden_size=8,
                             test_lengths=[41], test_batch_size=4)
        assert 0 <= res["score"] <= 1


def test_errors():
    with pytest.raises(ValueError, match="Invalid value for positional: 'rope'"):
        TransformerEncoder(3, 2, positional="rope")
    with pytest.raises(ValueError, match=r"d_model \(10\) must be a multiple of n_heads \(4\)"):
        TransformerEncoder(3, 2, d_model=10, n_heads=4)
    net = TransformerEncoder(3, 2, d_model=8, n_heads=2, positional="learned", max_length=4)
    with pytest.raises(ValueError, match="sequence of 6 steps is longer than max_length=4"):
        net(torch.zeros(1, 6, 3))


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_stack_rnn_generalises_reverse_string_where_the_lstm_does_not():
    """Delétang et al.'s DCF verdict at the documented budget (DOC_BUDGETS), seeds 0-2, every
    40th test length of 41-500 (about 8 min on an idle core); docs/zoo_sequence.md gives the
    per-seed scores at every 20th length."""
    from neurorrn.zoo.chomsky import DOC_BUDGETS, DOC_TEST_LENGTHS

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        def scores(model):
            return [evaluate_model("reverse_string", model, seed=s, test_lengths=DOC_TEST_LENGTHS[::2],
                                   test_batch_size=32, **DOC_BUDGETS[("reverse_string", model)])["score"]
                    for s in (0, 1, 2)]

        stack, lstm = scores("stack_rnn"), scores("lstm")
    finally:
        torch.set_num_threads(n_threads)
    assert max(stack) >= 0.9  # solved (the paper's statistic: best seed)
    assert max(lstm) <= 0.7  # near chance (0.5; the paper: 61 %) in every seed


def test_warmup_and_model_kwargs_reach_the_training_loop():
    """Warm-up scales the first steps' learning rate by step / warmup_steps; model_kwargs build the model."""
    def change(warmup):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            init = TransformerEncoder(3, 2, d_model=8, n_layers=1, n_heads=2)
        res = evaluate_model("parity_check", "transformer", seed=0, training_steps=3, batch_size=4, hidden_size=8,
                             learning_rate=1e-2, warmup_steps=warmup, model_kwargs=dict(n_layers=1, n_heads=2),
                             test_lengths=[41], test_batch_size=4, return_model=True)
        net = res["model"]
        assert len(net.encoder.layers) == 1
        return max((a - b).abs().max().item() for a, b in zip(net.parameters(), init.parameters()))

    assert change(0) > 5e-3  # three Adam steps of ~1e-2
    assert change(10_000) < 1e-4  # learning rate at most 3e-6 during the warm-up
    unscaled = TransformerEncoder(3, 2, d_model=16, n_heads=2, scale_embedding=False)
    assert unscaled.scale == 1.0 and TransformerEncoder(3, 2, d_model=16, n_heads=2).scale == 4.0
    with pytest.raises(ValueError, match="warmup_steps must be >= 0"):
        evaluate_model("parity_check", "transformer", training_steps=1, warmup_steps=-1, test_lengths=[41])


def test_lstm_is_the_releases_forget_offset_and_relu_readout():
    from neurorrn.zoo.chomsky.benchmark import SequenceModel

    torch.manual_seed(0)
    plain = SequenceModel.build("lstm", 3, 2, 5, forget_bias=0.0, readout_relu=False, init="torch")
    torch.manual_seed(0)
    # the benchmark's LSTM (Haiku's forget offset 1, ReLU before the readout), drawn as torch does
    net = MODELS["lstm"](3, 2, 5, init="torch")
    b_plain, b = plain.rnn.bias_ih_l0.detach(), net.rnn.bias_ih_l0.detach()
    np.testing.assert_allclose((b - b_plain)[5:10].numpy(), 1.0, atol=1e-7)  # the forget gate only
    np.testing.assert_allclose((b - b_plain)[[*range(5), *range(10, 20)]].numpy(), 0.0)  # input, cell, output
    # the readout sees relu(h): a state with only negative values gives the readout's bias alone
    x = torch.randn(2, 4, 3)
    with torch.no_grad():
        net.rnn.bias_ih_l0[10:15] = -50.0  # cell input tanh(.) = -1: c < 0, h < 0 for every unit
        net.rnn.bias_ih_l0[15:20] = 50.0  # output gate open
        h = net.features(x)
        assert (h < 0).all()
        np.testing.assert_allclose(net(x).numpy(), net.readout.bias.expand(2, 4, 2).numpy(), atol=1e-6)
        plain.load_state_dict(net.state_dict())
        assert not torch.allclose(plain(x), net(x))  # without the ReLU the negative state reaches the output


def test_lstm_has_one_bias_per_gate_as_haiku():
    """hk.LSTM has one bias per gate (one hk.Linear on [x, h]); torch's LSTM two (b_ih + b_hh).
    With Adam each trainable bias moves by about the learning rate on the first step, so torch's
    pair moves the gate's bias twice as far: the benchmark's LSTM holds b_hh at 0 untrained."""
    one = MODELS["lstm"](3, 2, 5)
    torch.manual_seed(1)
    two = MODELS["lstm"](3, 2, 5, double_bias=True)
    two.load_state_dict(one.state_dict())
    assert not one.rnn.bias_hh_l0.requires_grad and two.rnn.bias_hh_l0.requires_grad
    assert float(one.rnn.bias_hh_l0.abs().sum()) == 0.0
    n_trainable = sum(p.numel() for p in one.parameters() if p.requires_grad)
    assert n_trainable == 4 * 5 * (3 + 5) + 4 * 5 + (5 * 2 + 2)  # Haiku's LSTM and readout
    x, y = torch.randn(4, 6, 3), torch.randint(0, 2, (4 * 6,))
    lr, moved = 1e-2, []
    for net in (one, two):
        before = (net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0).detach().clone()
        opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
        torch.nn.functional.cross_entropy(net(x).reshape(-1, 2), y).backward()
        opt.step()
        moved.append(float(((net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0).detach() - before).abs().max()))
    assert float(one.rnn.bias_hh_l0.abs().sum()) == 0.0  # still 0 after the step
    assert moved[0] == pytest.approx(lr, rel=1e-3) and moved[1] == pytest.approx(2 * lr, rel=1e-3)
    # torch's initialisation keeps torch's two biases unless asked; the function is unchanged
    torch.manual_seed(2)
    t2 = MODELS["lstm"](3, 2, 5, init="torch")
    torch.manual_seed(2)
    t1 = MODELS["lstm"](3, 2, 5, init="torch", double_bias=False)
    assert t2.rnn.bias_hh_l0.requires_grad and not t1.rnn.bias_hh_l0.requires_grad
    with torch.no_grad():
        np.testing.assert_allclose(t1(x).numpy(), t2(x).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="double_bias applies to the LSTM only"):
        MODELS["rnn"](3, 2, 5, double_bias=True)


def test_sequence_model_errors():
    from neurorrn.zoo.chomsky.benchmark import SequenceModel

    with pytest.raises(ValueError, match="forget_bias applies to the LSTM only"):
        SequenceModel.build("rnn", 3, 2, 5, forget_bias=1.0)
    with pytest.raises(ValueError, match="forget_bias applies to the LSTM only"):
        MODELS["rnn"](3, 2, 5, forget_bias=1.0)  # through the benchmark's factory (model_kwargs)
    assert MODELS["gru"](3, 2, 5, readout_relu=False) is not None
    with pytest.raises(ValueError, match="cell"):
        SequenceModel.build("elman", 3, 2, 5)
    with pytest.raises(ValueError, match="init.*xavier"):
        MODELS["lstm"](3, 2, 5, init="xavier")
    with pytest.raises(ValueError, match="activation applies to the RNN only"):
        MODELS["lstm"](3, 2, 5, activation="tanh")
    with pytest.raises(ValueError, match="activation.*sigmoid"):
        MODELS["rnn"](3, 2, 5, activation="sigmoid")
    with pytest.raises(ValueError, match="Invalid value for activation: 'gelu'"):
        StackRNN(3, 2, activation="gelu")
    with pytest.raises(ValueError, match="Invalid value for push: 'relu'; expected one of 'tanh', 'linear'"):
        StackRNN(3, 2, push="relu")
    with pytest.raises(ValueError, match="Invalid value for write: 'linear'; expected one of 'tanh', 'mlp'"):
        TapeRNN(3, 2, write="linear")
    with pytest.raises(ValueError, match="Invalid value for init: 'xavier'"):
        TapeRNN(3, 2, init="xavier")
