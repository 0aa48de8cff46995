"""The memory-augmented and attention baselines of Delétang et al. (2023): Transformer, Stack-RNN, Tape-RNN.

Each factory ``(input_size, output_size, hidden_size) -> torch.nn.Module`` maps
``(batch, time, input_size)`` one-hot inputs (the task's tokens followed by ``output_length``
"empty" tokens, last input dimension = 1 there) to ``(batch, time, output_size)`` logits, like
the recurrent baselines in :mod:`neurorrn.zoo.chomsky.benchmark`.  Every module also has
``features(x)``: the ``(batch, time, n_features)`` internal time course that the zoo runner
records in its ActivationStore.

- :class:`TransformerEncoder` -- a non-causal encoder over the whole sequence (input and
  empty tokens), positional encodings added to the token embeddings (scaled by
  ``sqrt(d_model)`` as in Vaswani et al. and the release, unless ``scale_embedding=False``,
  which leaves the positions a larger share of the sum): ``"sin_cos"`` (Vaswani
  et al. 2017; the paper's default), ``"learned"`` (trained absolute positions up to
  ``max_length``) or ``"none"``.  Pre-layer-norm blocks, ``n_layers`` x ``n_heads``.
- :class:`StackRNN` -- Joulin & Mikolov's (2015) stack-augmented RNN as the release builds it
  (``models/stack_rnn.py``): an RNN core (the release's ``hk.VanillaRNN``:
  ``relu(W_i x + W_h h + b)``; ``activation="tanh"``: tanh) reads ``[input, top of stack]``; from its state a
  softmax over PUSH/POP/NO-OP and a pushed value (``push="linear"``: ``W h + b``, the release's;
  ``"tanh"``: ``tanh(W h + b)``) update a differentiable stack of ``stack_size`` cells of
  ``cell_size`` values (superposition of the three stack updates); by default the stack is as
  deep as the sequence is long, so no push is ever lost.
- :class:`TapeRNN` -- the release's Tape-RNN (``models/tape_rnn.py``, input-length jumps): a
  ReLU RNN core (as the Stack-RNN's) reads ``[input, cell under the head]``; it writes a value under the head
  (``write="mlp"``: the release's MLP of two 64-unit ReLU layers and a linear output;
  ``"tanh"``: ``tanh(W h + b)``), then moves the head by a softmax mixture of the actions STAY,
  LEFT, RIGHT, JUMP-LEFT and JUMP-RIGHT (jumps by the input length), on a circular tape as long
  as the sequence.

Both read out as the release's ``make_rnn`` does, a linear layer on ``relu`` of the core's
state (``readout_relu=True``), and draw every weight as Haiku's ``hk.Linear`` does
(``init="haiku"``: truncated normals of scale 1/sqrt(fan-in), zero biases; ``"torch"``:
torch's uniform initialisation).  ``push="tanh", write="tanh", readout_relu=False,
init="torch", activation="tanh"`` is the first version of these modules (written from the paper's description);
its documented runs are kept in docs/zoo_sequence.md with those arguments.

Where we differ from the release (``google-deepmind/neural_networks_chomsky_hierarchy``,
JAX/Haiku): written from the paper's description in torch, not translated; sizes are
arguments (the paper: cores of 256 units, stack/tape cells of 8 values, Transformer with
64-dimensional embeddings, 5 layers x 8 heads and dropout 0.1 in the release; ours defaults to
2 layers x 4 heads without dropout); ALiBi, relative and rotary encodings are not implemented; the stack is as deep as the sequence (a fixed 30-cell stack, tried
first, reached 99.6 % on reverse string at training lengths but 64.7 % at lengths 41-500: it
cannot hold more than 30 pushes; the release's default depth is 30); the Tape-RNN's tape is as
long as the sequence (the release: a fixed tape, 30 cells by default and 40 in its example script,
wrapping around).
"""

from __future__ import annotations

import math

# TransformerEncoder, StackRNN and TapeRNN are built on first access (module __getattr__), so that
# importing this module does not import torch.
__all__ = ["transformer", "stack_rnn", "tape_rnn"]


def _nn():
    import torch

    return torch, torch.nn


def _input_length(x):
    """Number of task tokens (positions whose 'empty' flag, the last input dimension, is 0)."""
    return int((x[0, :, -1] == 0).sum().item())


def _make_classes():
    torch, nn = _nn()

    class TransformerEncoder(nn.Module):
        """Non-causal Transformer encoder with sin/cos (or learned, or no) positional encodings."""

        def __init__(self, input_size, output_size, d_model=64, n_layers=2, n_heads=4, positional="sin_cos",
                     max_length=1024, dropout=0.0, scale_embedding=True):
            super().__init__()
            if positional not in ("sin_cos", "learned", "none"):
                raise ValueError(f"Invalid value for positional: {positional!r}; expected 'sin_cos', "
                                 "'learned' or 'none'")
            if d_model % n_heads:
                raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({n_heads})")
            self.positional, self.max_length, self.d_model = positional, int(max_length), int(d_model)
            self.scale = math.sqrt(self.d_model) if scale_embedding else 1.0
            self.embed = nn.Linear(input_size, d_model)
            if positional == "learned":
                self.pos = nn.Parameter(torch.randn(self.max_length, d_model) * 0.02)
            layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=4 * d_model, dropout=dropout,
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d_model)
            self.readout = nn.Linear(d_model, output_size)

        def _positions(self, T, device):
            if self.positional == "sin_cos":
                pos = torch.arange(T, device=device, dtype=torch.float32)[:, None]
                div = torch.exp(torch.arange(0, self.d_model, 2, device=device, dtype=torch.float32)
                                * (-math.log(10000.0) / self.d_model))
                pe = torch.zeros(T, self.d_model, device=device)
                pe[:, 0::2] = torch.sin(pos * div)
                pe[:, 1::2] = torch.cos(pos * div[: self.d_model // 2])
                return pe
            if self.positional == "learned":
                if T > self.max_length:
                    raise ValueError(f"sequence of {T} steps is longer than max_length={self.max_length} "
                                     "learned positions")
                return self.pos[:T]
            return None

        def features(self, x):
            h = self.embed(x) * self.scale
            pe = self._positions(x.shape[1], x.device)
            if pe is not None:
                h = h + pe
            return self.norm(self.encoder(h))

        def forward(self, x):
            return self.readout(self.features(x))

    class StackRNN(nn.Module):
        """ReLU (or tanh) RNN with a differentiable stack (PUSH / POP / NO-OP), Joulin & Mikolov 2015."""

        def __init__(self, input_size, output_size, hidden_size=64, stack_size=None, cell_size=8, push="linear",
                     readout_relu=True, init="haiku", activation="relu"):
            super().__init__()
            _check_choice(push, ("tanh", "linear"), "push")
            _check_choice(init, ("torch", "haiku"), "init")
            self.hidden_size, self.cell_size = int(hidden_size), int(cell_size)
            self.stack_size = None if stack_size is None else int(stack_size)
            self.push, self.readout_relu = push, bool(readout_relu)
            _check_choice(activation, ("relu", "tanh"), "activation")
            self.core = nn.RNNCell(input_size + cell_size, hidden_size, nonlinearity=activation)
            self.actions = nn.Linear(hidden_size, 3)  # push, pop, no-op
            self.push_value = nn.Linear(hidden_size, cell_size)
            self.readout = nn.Linear(hidden_size, output_size)
            if init == "haiku":
                _haiku_linear_init(self, torch)

        def features(self, x):
            B, T, _ = x.shape
            h = x.new_zeros(B, self.hidden_size)
            depth = T if self.stack_size is None else self.stack_size  # None: deep enough for every push
            stack = x.new_zeros(B, depth, self.cell_size)
            out = []
            for t in range(T):
                h = self.core(torch.cat([x[:, t], stack[:, 0]], dim=-1), h)
                a = torch.softmax(self.actions(h), dim=-1)[:, :, None, None]
                v = self.push_value(h)
                v = (torch.tanh(v) if self.push == "tanh" else v)[:, None]
                pushed = torch.cat([v, stack[:, :-1]], dim=1)
                popped = torch.cat([stack[:, 1:], stack.new_zeros(B, 1, self.cell_size)], dim=1)
                stack = a[:, 0] * pushed + a[:, 1] * popped + a[:, 2] * stack
                out.append(torch.cat([h, stack[:, 0]], dim=-1))
            return torch.stack(out, dim=1)

        def forward(self, x):
            h = self.features(x)[..., : self.hidden_size]
            return self.readout(torch.relu(h) if self.readout_relu else h)

    class TapeRNN(nn.Module):
        """ReLU (or tanh) RNN with a differentiable circular tape (write, then STAY/LEFT/RIGHT/JUMP-LEFT/JUMP-RIGHT)."""

        def __init__(self, input_size, output_size, hidden_size=64, cell_size=8, write="mlp", readout_relu=True,
                     init="haiku", activation="relu"):
            super().__init__()
            _check_choice(write, ("tanh", "mlp"), "write")
            _check_choice(init, ("torch", "haiku"), "init")
            self.hidden_size, self.cell_size = int(hidden_size), int(cell_size)
            self.write, self.readout_relu = write, bool(readout_relu)
            _check_choice(activation, ("relu", "tanh"), "activation")
            self.core = nn.RNNCell(input_size + cell_size, hidden_size, nonlinearity=activation)
            self.actions = nn.Linear(hidden_size, 5)  # stay, left, right, jump left, jump right
            if write == "mlp":  # the release's hk.nets.MLP([64, 64, cell_size]): ReLU between layers
                self.write_value = nn.Sequential(nn.Linear(hidden_size, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                                 nn.Linear(64, cell_size))
            else:
                self.write_value = nn.Linear(hidden_size, cell_size)
            self.readout = nn.Linear(hidden_size, output_size)
            if init == "haiku":
                _haiku_linear_init(self, torch)

        def features(self, x):
            B, T, _ = x.shape
            n = max(_input_length(x), 1)
            size = T  # one cell per step, so the tape never overwrites what the sequence wrote
            h = x.new_zeros(B, self.hidden_size)
            tape = x.new_zeros(B, size, self.cell_size)  # the head is at index 0
            # stay, left, right, jump left, jump right: rolling the tape by -1 brings the right
            # neighbour under the head (the head moves right)
            shifts = (0, 1, -1, n, -n)
            out = []
            for t in range(T):
                h = self.core(torch.cat([x[:, t], tape[:, 0]], dim=-1), h)
                a = torch.softmax(self.actions(h), dim=-1)
                w = self.write_value(h)
                w = (torch.tanh(w) if self.write == "tanh" else w)[:, None]
                tape = torch.cat([w, tape[:, 1:]], dim=1)
                tape = sum(a[:, k, None, None] * torch.roll(tape, s, dims=1) for k, s in enumerate(shifts))
                out.append(torch.cat([h, tape[:, 0]], dim=-1))
            return torch.stack(out, dim=1)

        def forward(self, x):
            h = self.features(x)[..., : self.hidden_size]
            return self.readout(torch.relu(h) if self.readout_relu else h)

    return TransformerEncoder, StackRNN, TapeRNN


def _check_choice(value, allowed, name):
    if value not in allowed:
        raise ValueError(f"Invalid value for {name}: {value!r}; expected one of {', '.join(map(repr, allowed))}")


def _haiku_linear_init(module, torch):
    """Re-draw every linear map of a memory network as Haiku's ``hk.Linear`` does.

    Weights ``TruncatedNormal(1/sqrt(fan_in))`` (a standard normal cut at +-2, times the scale),
    biases 0; the RNN core's input and recurrent maps are two such layers (``hk.VanillaRNN``).
    The draws come from torch's global generator, so ``torch.manual_seed`` fixes them.
    """
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias") or "bias_" in name:
                p.zero_()
            else:
                p.copy_(_haiku_truncated_normal(p.shape, p.shape[1] ** -0.5, torch))


def _haiku_truncated_normal(shape, stddev, torch):
    """Haiku's ``TruncatedNormal(stddev)``: a standard normal cut at +-2, times ``stddev``
    (drawn from torch's global generator, so ``torch.manual_seed`` fixes it)."""
    w = torch.empty(shape)
    torch.nn.init.trunc_normal_(w, 0.0, 1.0, -2.0, 2.0)
    return w * stddev


_CLASSES = None


def _classes():
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _make_classes()
    return _CLASSES


def __getattr__(name):  # the classes are built on first use so that importing needs no torch
    if name in ("TransformerEncoder", "StackRNN", "TapeRNN"):
        return dict(zip(("TransformerEncoder", "StackRNN", "TapeRNN"), _classes()))[name]
    raise AttributeError(name)


def transformer(input_size, output_size, hidden_size, **kw):
    """Factory: :class:`TransformerEncoder` with ``d_model = hidden_size`` (sin/cos positions)."""
    return _classes()[0](input_size, output_size, d_model=hidden_size, **kw)


def stack_rnn(input_size, output_size, hidden_size, **kw):
    """Factory: :class:`StackRNN` with a ``hidden_size`` ReLU core (the release's)."""
    return _classes()[1](input_size, output_size, hidden_size=hidden_size, **kw)


def tape_rnn(input_size, output_size, hidden_size, **kw):
    """Factory: :class:`TapeRNN` with a ``hidden_size`` ReLU core (the release's)."""
    return _classes()[2](input_size, output_size, hidden_size=hidden_size, **kw)
