"""Recurrent speech networks of the EARSHOT family (PyTorch).

:class:`SpeechRNN` maps a sequence of acoustic frames to an output vector per frame:
``input (batch, time, n_input) -> [recurrent layer]+ -> Linear(n_output) -> logits``.
With the defaults it is the network of Magnuson et al. (2020, Cognitive Science 44:e12823,
``EARShot.py`` at commit 9bbc247): 256 spectral channels -> one LSTM of 512 units (tanh, forget
bias 1 as in TensorFlow's ``LSTMCell``) -> a dense layer of 300 units read through a sigmoid.
Brodbeck, Hannagan & Magnuson (2025) stack several stateful LSTM layers; ``hidden_sizes``
gives one size per layer.

Cells: ``"lstm"``, ``"gru"`` and ``"rnn"`` (a tanh Elman layer trained with BPTT, EARSHOT's
``BasicRNNCell`` option).  Each layer is a :class:`torch.nn.LSTM` / ``GRU`` / ``RNN`` of one
layer, so on CUDA it runs the cuDNN kernels; variable lengths go through packed sequences, so
the state returned for each row is the state at that row's last valid frame (what EARSHOT
carries from one batch to the next).

:meth:`SpeechRNN.forward_components` re-computes the same forward pass step by step to expose
the cell state ``c`` and the gates for export; it agrees with :meth:`SpeechRNN.forward`
(tested) but is slower and meant for analysis, not training.
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..config import ConfigModel
from ..utils._check import check_option

CELLS = ("lstm", "gru", "rnn")
OUTPUT_ACTIVATIONS = ("sigmoid", "linear")
#: Components each cell can export; "h" is the layer output.
CELL_COMPONENTS = {
    "lstm": ("h", "c", "input_gate", "forget_gate", "cell_input", "output_gate"),
    "gru": ("h", "reset_gate", "update_gate", "candidate"),
    "rnn": ("h",),
}


class NetworkConfig(ConfigModel):
    """Architecture of a :class:`SpeechRNN` (defaults: EARSHOT, Magnuson et al. 2020).

    Attributes
    ----------
    cell : {"lstm", "gru", "rnn"}
    n_input : int
        Feature channels per frame (EARSHOT: 256 linear-frequency bins).
    hidden_sizes : list of int
        Units per recurrent layer, input side first (EARSHOT: ``[512]``).
    n_output : int
        Output units = target dimensions (EARSHOT: 300).
    output_activation : {"sigmoid", "linear"}
        How outputs are read (sigmoid for binary targets, linear for dense targets with MSE).
    forget_bias : float
        Added to the LSTM forget-gate bias at initialisation (TensorFlow's default 1.0).
    output_bias_init : float | None
        Initial value of every read-out bias (None: PyTorch's uniform default; TensorFlow, and so
        EARSHOT, starts at 0).  ``logit(n_active / n_dims)`` (-3.37 for 10 of 300) starts the
        sigmoid outputs at the targets' base rate: with Adam each parameter moves by about the
        learning rate per step, so from 0 the biases alone need thousands of steps to get there,
        which is much of EARSHOT's long initial plateau.
    """

    cell: Literal["lstm", "gru", "rnn"] = "lstm"
    n_input: int = 256
    hidden_sizes: list[int] = [512]
    n_output: int = 300
    output_activation: Literal["sigmoid", "linear"] = "sigmoid"
    forget_bias: float = 1.0
    output_bias_init: float | None = None


def _rnn_class(cell: str):
    return {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]


class SpeechRNN(nn.Module):
    """Stacked recurrent network with a linear read-out at every frame.

    Parameters
    ----------
    config : NetworkConfig
        Architecture; see :class:`NetworkConfig`.
    device : str | torch.device | None
        Where to put the parameters (default CPU).
    random_state : int | None
        Seed for the weight initialisation, drawn from a forked RNG so the global torch RNG is
        left untouched (``None``: the global RNG, as plain PyTorch).

    Notes
    -----
    State layout: a list with one entry per layer; for LSTM layers the entry is a tuple
    ``(h, c)`` of tensors of shape ``(1, batch, hidden)``, for GRU/RNN a tensor ``h`` of shape
    ``(1, batch, hidden)``.  ``None`` means zeros (EARSHOT's test-time state).
    """

    def __init__(self, config: NetworkConfig | None = None, device=None, random_state: int | None = None):
        super().__init__()
        self.config = config if config is not None else NetworkConfig()
        if random_state is None:
            self._build()
        else:
            # seeds are arguments: initialise from a local seed without touching the global RNG
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(random_state))
                self._build()
        if device is not None:
            self.to(device)

    def _build(self) -> None:
        cfg = self.config
        check_option(cfg.cell, CELLS, "cell")
        if not cfg.hidden_sizes or any(int(h) < 1 for h in cfg.hidden_sizes):
            raise ValueError(f"hidden_sizes must be a non-empty list of positive ints, got {cfg.hidden_sizes}")
        cls = _rnn_class(cfg.cell)
        sizes = [cfg.n_input, *cfg.hidden_sizes]
        kw = {"nonlinearity": "tanh"} if cfg.cell == "rnn" else {}
        self.layers = nn.ModuleList(
            cls(sizes[i], sizes[i + 1], num_layers=1, batch_first=True, **kw) for i in range(len(cfg.hidden_sizes))
        )
        self.readout = nn.Linear(sizes[-1], cfg.n_output)
        if cfg.cell == "lstm" and cfg.forget_bias:
            with torch.no_grad():
                for layer in self.layers:
                    h = layer.hidden_size
                    layer.bias_ih_l0[h : 2 * h] += cfg.forget_bias  # gate order i, f, g, o
        if cfg.output_bias_init is not None:
            with torch.no_grad():
                self.readout.bias.fill_(float(cfg.output_bias_init))

    # ------------------------------------------------------------------------------------
    @property
    def layer_names(self) -> list[str]:
        """``["lstm0", "lstm1", ...]`` (cell name + index)."""
        return [f"{self.config.cell}{i}" for i in range(len(self.layers))]

    @property
    def device(self) -> torch.device:
        return self.readout.weight.device

    def zero_state(self, batch: int, device=None, dtype=None) -> list:
        """All-zero state for ``batch`` rows."""
        device = self.device if device is None else device
        dtype = self.readout.weight.dtype if dtype is None else dtype
        out = []
        for layer in self.layers:
            z = torch.zeros(1, batch, layer.hidden_size, device=device, dtype=dtype)
            out.append((z, z.clone()) if self.config.cell == "lstm" else z)
        return out

    def forward(self, x: torch.Tensor, state=None, lengths: torch.Tensor | None = None,
                return_hidden: bool = False, pack: bool | None = None):
        """Run the network.

        Parameters
        ----------
        x : Tensor of shape (batch, time, n_input)
        state : list | None
            Initial state per layer (see class notes); ``None`` = zeros.
        lengths : Tensor of shape (batch,) | None
            Valid frames per row.  When given (and not all equal to ``time``) rows are packed,
            outputs past each row's end are zero hidden states (so logits equal the read-out
            bias there, as in EARSHOT's ``dynamic_decode``), and the returned state is each
            row's state at its last valid frame.
        return_hidden : bool
            Also return the hidden output ``h`` of every layer, each ``(batch, time, hidden)``.
        pack : bool | None
            Use packed sequences when lengths vary (default).  ``False`` runs the padded batch
            (about twice as fast on CPU) and zeroes each layer's output past each row's end, so
            the outputs are the same; only the returned state is then the state after the
            padding, not at each row's last valid frame.

        Returns
        -------
        logits : Tensor of shape (batch, time, n_output)
        state : list
            Final state per layer.
        hidden : list of Tensor, only if ``return_hidden``
        """
        if x.dim() != 3 or x.shape[-1] != self.config.n_input:
            raise ValueError(
                f"x must have shape (batch, time, {self.config.n_input}), got {tuple(x.shape)}"
            )
        n_time = x.shape[1]
        varying = lengths is not None and bool((lengths != n_time).any())
        packed = varying and pack is not False
        if varying:
            lengths_cpu = lengths.detach().to("cpu", torch.int64)
            if int(lengths_cpu.min()) < 1 or int(lengths_cpu.max()) > n_time:
                raise ValueError(f"lengths must lie in [1, {n_time}], got range "
                                 f"[{int(lengths_cpu.min())}, {int(lengths_cpu.max())}]")
        hidden = []
        new_state = []
        h = x
        for i, layer in enumerate(self.layers):
            s = None if state is None else state[i]
            if packed:
                p = pack_padded_sequence(h, lengths_cpu, batch_first=True, enforce_sorted=False)
                out, s_new = layer(p, s)
                h, _ = pad_packed_sequence(out, batch_first=True, total_length=n_time)
            else:
                h, s_new = layer(h, s)
                if varying:
                    valid = torch.arange(n_time, device=h.device)[None, :] < lengths.to(h.device)[:, None]
                    h = h * valid[..., None].to(h.dtype)
            new_state.append(s_new)
            if return_hidden:
                hidden.append(h)
        logits = self.readout(h)
        if return_hidden:
            return logits, new_state, hidden
        return logits, new_state

    def output(self, logits: torch.Tensor) -> torch.Tensor:
        """Read logits through the output activation (sigmoid or identity)."""
        return torch.sigmoid(logits) if self.config.output_activation == "sigmoid" else logits

    @staticmethod
    def detach_state(state):
        """Detach a state (for truncated BPTT / state carry between batches)."""
        if state is None:
            return None
        return [tuple(t.detach() for t in s) if isinstance(s, tuple) else s.detach() for s in state]

    # ------------------------------------------------------------------------------------
    @torch.no_grad()
    def forward_components(self, x: torch.Tensor, components: Sequence[str] = ("h",), state=None):
        """Step-by-step forward pass exposing cell states and gates.

        Parameters
        ----------
        x : Tensor of shape (batch, time, n_input)
        components : sequence of str
            Any of :data:`CELL_COMPONENTS` for this cell (``"h"`` always available).
        state : list | None
            Initial state (see class notes).

        Returns
        -------
        out : dict
            ``{(layer_name, component): Tensor (batch, time, hidden)}`` in layer order.
        logits : Tensor of shape (batch, time, n_output)
        state : list
            State after the last frame.
        """
        cell = self.config.cell
        allowed = CELL_COMPONENTS[cell]
        for c in components:
            check_option(c, allowed, f"component for a {cell} network")
        if state is None:
            state = self.zero_state(x.shape[0], device=x.device, dtype=x.dtype)
        out: dict = {}
        inp = x
        new_state = []
        for li, layer in enumerate(self.layers):
            w_ih, w_hh = layer.weight_ih_l0, layer.weight_hh_l0
            b_ih, b_hh = layer.bias_ih_l0, layer.bias_hh_l0
            xi = torch.nn.functional.linear(inp, w_ih, b_ih)  # (batch, time, k*hidden)
            rec = {c: [] for c in components}
            hs = []
            if cell == "lstm":
                h, c_ = state[li][0][0], state[li][1][0]
                for t in range(inp.shape[1]):
                    gates = xi[:, t] + torch.nn.functional.linear(h, w_hh, b_hh)
                    i, f, g, o = gates.chunk(4, dim=-1)
                    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
                    c_ = f * c_ + i * g
                    h = o * torch.tanh(c_)
                    hs.append(h)
                    vals = {"h": h, "c": c_, "input_gate": i, "forget_gate": f, "cell_input": g,
                            "output_gate": o}
                    for k in components:
                        rec[k].append(vals[k])
                new_state.append((h[None], c_[None]))
            elif cell == "gru":
                h = state[li][0]
                for t in range(inp.shape[1]):
                    gh = torch.nn.functional.linear(h, w_hh, b_hh)
                    xr, xz, xn = xi[:, t].chunk(3, dim=-1)
                    hr, hz, hn = gh.chunk(3, dim=-1)
                    r = torch.sigmoid(xr + hr)
                    z = torch.sigmoid(xz + hz)
                    n = torch.tanh(xn + r * hn)
                    h = (1 - z) * n + z * h
                    hs.append(h)
                    vals = {"h": h, "reset_gate": r, "update_gate": z, "candidate": n}
                    for k in components:
                        rec[k].append(vals[k])
                new_state.append(h[None])
            else:
                h = state[li][0]
                for t in range(inp.shape[1]):
                    h = torch.tanh(xi[:, t] + torch.nn.functional.linear(h, w_hh, b_hh))
                    hs.append(h)
                    if "h" in rec:
                        rec["h"].append(h)
                new_state.append(h[None])
            inp = torch.stack(hs, dim=1)
            for k in components:
                out[(self.layer_names[li], k)] = torch.stack(rec[k], dim=1)
        return out, self.readout(inp), new_state


def build_network(config: NetworkConfig | dict | None = None, device=None,
                  random_state: int | None = None) -> SpeechRNN:
    """Build a :class:`SpeechRNN` from a config (or mapping); ``random_state`` seeds the weights."""
    if isinstance(config, dict):
        config = NetworkConfig.from_dict(config, source="network")
    return SpeechRNN(config, device=device, random_state=random_state)
