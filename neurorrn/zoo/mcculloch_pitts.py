"""McCulloch & Pitts (1943) nets of threshold neurons, with and without circles.

Source: W. S. McCulloch & W. Pitts (1943) "A logical calculus of the ideas immanent in nervous
activity", Bull. Math. Biophys. 5:115-133; S. C. Kleene (1956) "Representation of events in nerve
nets and finite automata", Automata Studies 3-41; the state x symbol construction follows
M. Minsky (1967) *Computation: Finite and Infinite Machines*, ch. 3.

A neuron is all-or-none: it fires at time ``t+1`` iff the summed excitation it receives at
``t`` reaches its threshold and none of its *inhibitory* synapses is active (absolute
inhibition, McCulloch & Pitts' assumption 4).  Every synapse has the same one-step delay.
A net "with circles" (a cycle in its connection graph) can hold activity indefinitely after a
single input pulse; a net without circles (McCulloch & Pitts' part II vs part III) forgets
any input after at most its depth in steps.  Kleene showed that nets with circles realise
exactly the regular events: :func:`compile_dfa` turns any deterministic finite automaton
into a net that recognises its language with one step of delay per symbol (plus one for the
output neuron), at any string length.

Differences from the sources: weights are integers (McCulloch & Pitts used only unit
excitatory synapses and let several synapses join the same pair); thresholds are integers;
the input neurons ("peripheral afferents") are given as a separate input array rather than
as neurons of the net.
"""

from __future__ import annotations

import numpy as np

from ..utils._check import check_random_state, validate_type

__all__ = ["MPNet", "DFA", "compile_dfa", "circle_net", "chain_net", "parity_dfa", "even_pairs_dfa",
           "random_dfa", "recognise", "simulate_mcculloch_pitts"]


class MPNet:
    """A net of McCulloch-Pitts neurons.

    Parameters
    ----------
    excitatory : array of shape (n_units, n_units)
        Non-negative integer weights; ``excitatory[i, j]`` is the number of synapses from neuron
        ``j`` onto neuron ``i``.
    thresholds : array of shape (n_units,)
        Positive integer thresholds.
    inhibitory : bool array of shape (n_units, n_units), optional
        ``inhibitory[i, j]``: neuron ``j`` inhibits neuron ``i`` absolutely.
    input_excitatory : array of shape (n_units, n_inputs), optional
        Synapses from the input (afferent) lines.
    input_inhibitory : bool array of shape (n_units, n_inputs), optional
    unit_names : list of str, optional
    """

    def __init__(self, excitatory, thresholds, inhibitory=None, input_excitatory=None,
                 input_inhibitory=None, unit_names=None):
        w = np.asarray(excitatory)
        if w.ndim != 2 or w.shape[0] != w.shape[1]:
            raise ValueError(f"excitatory must have shape (n_units, n_units), got {w.shape}")
        n = w.shape[0]
        if np.any(w < 0) or not np.all(np.equal(np.mod(w, 1), 0)):
            raise ValueError("excitatory weights must be non-negative integers (synapse counts)")
        th = np.asarray(thresholds)
        if th.shape != (n,):
            raise ValueError(f"thresholds must have shape ({n},), got {th.shape}")
        if np.any(th < 1) or not np.all(np.equal(np.mod(th, 1), 0)):
            raise ValueError("thresholds must be integers >= 1 (a neuron with threshold 0 would fire spontaneously)")
        inh = np.zeros((n, n), bool) if inhibitory is None else np.asarray(inhibitory, bool)
        if inh.shape != (n, n):
            raise ValueError(f"inhibitory must have shape ({n}, {n}), got {inh.shape}")
        vin = np.zeros((n, 0)) if input_excitatory is None else np.asarray(input_excitatory)
        if vin.ndim != 2 or vin.shape[0] != n:
            raise ValueError(f"input_excitatory must have shape ({n}, n_inputs), got {vin.shape}")
        if np.any(vin < 0) or not np.all(np.equal(np.mod(vin, 1), 0)):
            raise ValueError("input_excitatory weights must be non-negative integers")
        iin = np.zeros(vin.shape, bool) if input_inhibitory is None else np.asarray(input_inhibitory, bool)
        if iin.shape != vin.shape:
            raise ValueError(f"input_inhibitory must have shape {vin.shape}, got {iin.shape}")
        names = [f"n{i}" for i in range(n)] if unit_names is None else [str(u) for u in unit_names]
        if len(names) != n or len(set(names)) != n:
            raise ValueError(f"unit_names must be {n} unique names, got {len(names)} ({len(set(names))} unique)")
        self.excitatory = w.astype(np.int64)
        self.thresholds = th.astype(np.int64)
        self.inhibitory = inh
        self.input_excitatory = vin.astype(np.int64)
        self.input_inhibitory = iin
        self.unit_names = names

    @property
    def n_units(self) -> int:
        return self.excitatory.shape[0]

    @property
    def n_inputs(self) -> int:
        return self.input_excitatory.shape[1]

    def has_circle(self) -> bool:
        """Whether the connection graph (excitatory or inhibitory) has a cycle."""
        adj = (self.excitatory > 0) | self.inhibitory
        # Kahn's algorithm: the graph is acyclic iff every node can be removed in topological order
        indeg = adj.sum(1).astype(int)  # edges j -> i are adj[i, j]; in-degree of i is row sum
        alive = np.ones(self.n_units, bool)
        stack = list(np.flatnonzero(indeg == 0))
        while stack:
            j = stack.pop()
            alive[j] = False
            for i in np.flatnonzero(adj[:, j]):
                indeg[i] -= 1
                if indeg[i] == 0:
                    stack.append(i)
        return bool(alive.any())

    def depth(self) -> int:
        """Longest path (in synapses) through an acyclic net; an error for a net with circles."""
        if self.has_circle():
            raise ValueError("depth is defined only for nets without circles")
        adj = (self.excitatory > 0) | self.inhibitory
        longest = np.zeros(self.n_units, int)
        for _ in range(self.n_units):
            new = np.array([max([longest[j] + 1 for j in np.flatnonzero(adj[i])], default=0)
                            for i in range(self.n_units)])
            if np.array_equal(new, longest):
                break
            longest = new
        return int(longest.max(initial=0))

    def step(self, state, inputs=None) -> np.ndarray:
        """The firing pattern at ``t+1`` from the pattern ``state`` and ``inputs`` at ``t``."""
        s = np.asarray(state, bool)
        x = np.zeros(self.n_inputs, bool) if inputs is None else np.asarray(inputs, bool)
        drive = self.excitatory @ s + self.input_excitatory @ x
        vetoed = (self.inhibitory & s[None, :]).any(1) | (self.input_inhibitory & x[None, :]).any(1)
        return (drive >= self.thresholds) & ~vetoed

    def run(self, inputs=None, n_steps=None, initial_state=None) -> np.ndarray:
        """Run the net.

        Parameters
        ----------
        inputs : bool array of shape (n_times, n_inputs), optional
            Afferent firing at each time; after the last row the afferents are silent.
        n_steps : int, optional
            Number of updates (default ``n_times``).
        initial_state : bool array of shape (n_units,), optional
            Firing at time 0 (default: all silent).

        Returns
        -------
        states : bool array of shape (n_steps + 1, n_units)
            Row ``t`` is the firing pattern at time ``t``.
        """
        x = np.zeros((0, self.n_inputs), bool) if inputs is None else np.asarray(inputs, bool)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"inputs must have shape (n_times, {self.n_inputs}), got {x.shape}")
        if n_steps is None:
            n_steps = x.shape[0]
        validate_type(n_steps, "int", "n_steps")
        s = np.zeros(self.n_units, bool) if initial_state is None else np.asarray(initial_state, bool)
        if s.shape != (self.n_units,):
            raise ValueError(f"initial_state must have shape ({self.n_units},), got {s.shape}")
        out = np.zeros((n_steps + 1, self.n_units), bool)
        out[0] = s
        silent = np.zeros(self.n_inputs, bool)
        for t in range(n_steps):
            out[t + 1] = self.step(out[t], x[t] if t < x.shape[0] else silent)
        return out


def circle_net(length: int = 1) -> MPNet:
    """A ring of ``length`` neurons (threshold 1) driven by one input line into neuron 0.

    A single pulse travels round the circle for ever: McCulloch & Pitts' "reverberation".
    """
    validate_type(length, "int", "length")
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    w = np.zeros((length, length), int)
    for i in range(length):
        w[(i + 1) % length, i] = 1
    vin = np.zeros((length, 1), int)
    vin[0, 0] = 1
    return MPNet(w, np.ones(length, int), input_excitatory=vin, unit_names=[f"ring{i}" for i in range(length)])


def chain_net(length: int = 1) -> MPNet:
    """The same neurons as :func:`circle_net` with the closing synapse removed (no circle)."""
    net = circle_net(length)
    w = net.excitatory.copy()
    w[0, length - 1] = 0
    return MPNet(w, net.thresholds, input_excitatory=net.input_excitatory,
                 unit_names=[f"chain{i}" for i in range(length)])


class DFA:
    """A deterministic finite automaton over symbols ``0..n_symbols-1``.

    Parameters
    ----------
    transitions : int array of shape (n_states, n_symbols)
        ``transitions[q, a]`` is the state after reading ``a`` in ``q``.
    accepting : iterable of int
        The accepting states.
    start : int
    name : str
    """

    def __init__(self, transitions, accepting, start: int = 0, name: str = "dfa"):
        d = np.asarray(transitions)
        if d.ndim != 2 or d.size == 0:
            raise ValueError(f"transitions must have shape (n_states, n_symbols), got {d.shape}")
        if not np.issubdtype(d.dtype, np.integer) or d.min() < 0 or d.max() >= d.shape[0]:
            raise ValueError(f"transitions must hold state indices in [0, {d.shape[0] - 1}]")
        acc = sorted({int(q) for q in accepting})
        if any(q < 0 or q >= d.shape[0] for q in acc):
            raise ValueError(f"accepting states must lie in [0, {d.shape[0] - 1}], got {acc}")
        if not 0 <= int(start) < d.shape[0]:
            raise ValueError(f"start must lie in [0, {d.shape[0] - 1}], got {start}")
        self.transitions, self.accepting, self.start, self.name = d, acc, int(start), name

    @property
    def n_states(self) -> int:
        return self.transitions.shape[0]

    @property
    def n_symbols(self) -> int:
        return self.transitions.shape[1]

    def _check_string(self, string) -> np.ndarray:
        s = np.asarray(string, dtype=np.int64).reshape(-1)
        if s.size and (s.min() < 0 or s.max() >= self.n_symbols):
            raise ValueError(f"string symbols must lie in [0, {self.n_symbols - 1}]")
        return s

    def prefix_accepts(self, string) -> np.ndarray:
        """Acceptance of every prefix, shape (len(string) + 1,): entry ``k`` is for ``string[:k]``."""
        s = self._check_string(string)
        q = self.start
        out = np.zeros(s.size + 1, bool)
        acc = np.zeros(self.n_states, bool)
        acc[self.accepting] = True
        out[0] = acc[q]
        for k, a in enumerate(s):
            q = self.transitions[q, a]
            out[k + 1] = acc[q]
        return out


def parity_dfa() -> DFA:
    """Strings over {0, 1} with an even number of 1s (Delétang et al.'s parity check)."""
    return DFA([[0, 1], [1, 0]], accepting=[0], name="parity")


def even_pairs_dfa() -> DFA:
    """Strings over {a=0, b=1} whose number of ``ab`` and ``ba`` pairs is even.

    Equivalently, the first and last symbols agree (the empty string and single symbols count as
    even).  States: 0 start, 1/2 first symbol a and last a/b, 3/4 first b and last b/a.
    """
    return DFA([[1, 3], [1, 2], [1, 2], [4, 3], [4, 3]], accepting=[0, 1, 3], name="even_pairs")


def random_dfa(n_states: int = 6, n_symbols: int = 3, random_state=None) -> DFA:
    """A random DFA: random transitions, each state accepting with probability 1/2."""
    rng = check_random_state(random_state)
    validate_type(n_states, "int", "n_states")
    validate_type(n_symbols, "int", "n_symbols")
    if n_states < 1 or n_symbols < 1:
        raise ValueError(f"n_states and n_symbols must be >= 1, got {n_states}, {n_symbols}")
    d = rng.integers(0, n_states, size=(n_states, n_symbols))
    acc = np.flatnonzero(rng.random(n_states) < 0.5)
    return DFA(d, acc, 0, name=f"random{n_states}x{n_symbols}")


def compile_dfa(dfa: DFA) -> MPNet:
    """Compile a DFA into a McCulloch-Pitts net with circles (Kleene 1956; Minsky 1967).

    Neurons: ``start`` (fires at time 0 only, standing for the start state before any symbol),
    one neuron ``q<q>|<a>`` per state ``q`` and symbol ``a`` ("the automaton has just read
    ``a`` and is in ``q``"), and an output neuron ``accept``.  Input lines are one per symbol
    (exactly one fires per time step).  Neuron ``q'|a`` has threshold 2 and one synapse from
    input line ``a`` and one from every neuron (or ``start``) whose state ``p`` has
    ``transitions[p, a] = q'``: it fires iff the symbol was ``a`` and the automaton was in a
    state leading to ``q'``.  Exactly one state neuron fires at a time, so the net tracks the
    automaton for ever.  ``accept`` (threshold 1) collects the accepting states' neurons.

    Timing: symbol ``k`` (0-based) arrives at time ``k``; the state neuron for the prefix of
    length ``k+1`` fires at ``k+1`` and ``accept`` reports it at ``k+2``.  Use :func:`recognise`.
    """
    validate_type(dfa, DFA, "dfa")
    nq, na = dfa.n_states, dfa.n_symbols
    n = 1 + nq * na + 1
    names = ["start"] + [f"q{q}|{a}" for q in range(nq) for a in range(na)] + ["accept"]

    def idx(q, a):
        return 1 + q * na + a

    w = np.zeros((n, n), int)
    vin = np.zeros((n, na), int)
    th = np.ones(n, int)
    for q in range(nq):
        for a in range(na):
            th[idx(q, a)] = 2
            vin[idx(q, a), a] = 1
    for p in range(nq):
        for a in range(na):
            q = dfa.transitions[p, a]
            # from every neuron that represents "in state p" onto the neuron "q after a"
            sources = [idx(p, b) for b in range(na)] + ([0] if p == dfa.start else [])
            for j in sources:
                w[idx(q, a), j] += 1
    for q in dfa.accepting:
        for a in range(na):
            w[n - 1, idx(q, a)] = 1
    if dfa.start in dfa.accepting:
        w[n - 1, 0] = 1
    return MPNet(w, th, input_excitatory=vin, unit_names=names)


def recognise(net: MPNet, dfa: DFA, string) -> tuple[np.ndarray, np.ndarray]:
    """Run a net made by :func:`compile_dfa` on ``string``; return its verdict on every prefix.

    Returns
    -------
    accepts : bool array of shape (len(string) + 1,)
        The ``accept`` neuron's output for each prefix (entry ``k``: ``string[:k]``).
    states : bool array of shape (len(string) + 2, n_units)
        The firing of every neuron at every time.
    """
    s = dfa._check_string(string)
    if net.unit_names[0] != "start" or net.unit_names[-1] != "accept" or net.n_inputs != dfa.n_symbols:
        raise ValueError("net was not made by compile_dfa for this automaton's alphabet")
    x = np.zeros((s.size, dfa.n_symbols), bool)
    x[np.arange(s.size), s] = True
    init = np.zeros(net.n_units, bool)
    init[0] = True
    states = net.run(x, n_steps=s.size + 1, initial_state=init)
    return states[1:, -1].copy(), states


def _verdict(ok_circle, ok_chain, accuracies) -> str:
    if ok_circle and ok_chain and all(a == 1.0 for a in accuracies):
        return "reproduced"
    if ok_circle and ok_chain and all(a >= 0.99 for a in accuracies):
        return "approximate"
    return "not reproduced"


def simulate_mcculloch_pitts(length: int = 1000, ring: int = 3, n_steps: int = 200, n_strings: int = 5,
                             random_state=0):
    """Reverberation in a circle vs. a chain, and exact recognition of regular languages.

    A single pulse enters a ring of ``ring`` neurons and the same neurons without the closing
    synapse, for ``n_steps`` steps; then nets compiled from the parity, even-pairs and a random
    6-state, 3-symbol DFA read ``n_strings`` random strings of ``length`` symbols each, and
    every prefix's verdict is compared with the automaton's.

    Verdict rule: "reproduced" if the circle is still active at the last step, the chain is
    silent from step ``ring + 1`` on, and every prefix of every string is classified correctly;
    "approximate" if the accuracies are all at least 0.99; else "not reproduced".

    Returns
    -------
    dict
        ``store`` (firing per step for the pulse runs and the first parity string),
        ``figure``, ``summary`` (zoo run format).
    """
    rng = check_random_state(random_state)
    validate_type(length, "int", "length")
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    circ, chain = circle_net(ring), chain_net(ring)
    pulse = np.array([[True]])
    s_circ = circ.run(pulse, n_steps=n_steps)
    s_chain = chain.run(pulse, n_steps=n_steps)
    active_circ = s_circ.any(1)
    active_chain = s_chain.any(1)
    last_chain = int(np.flatnonzero(active_chain).max())
    ok_circle = bool(active_circ[-1] and active_circ[1:].all())
    ok_chain = bool(not active_chain[ring + 1:].any())
    accs, runs = {}, {}
    dfas = [parity_dfa(), even_pairs_dfa(), random_dfa(6, 3, rng)]
    for dfa in dfas:
        net = compile_dfa(dfa)
        correct, total = 0, 0
        for k in range(n_strings):
            s = rng.integers(0, dfa.n_symbols, size=length)
            got, states = recognise(net, dfa, s)
            truth = dfa.prefix_accepts(s)
            correct += int(np.sum(got == truth))
            total += truth.size
            if k == 0:
                runs[dfa.name] = (states, got, truth)
        accs[dfa.name] = correct / total
    from .recurrent import _layers_to_store

    par_states = runs["parity"][0]
    store_runs = [{"units": s_circ.astype(np.float32)}, {"units": s_chain.astype(np.float32)}]
    ds_pulse = _layers_to_store(store_runs, ["pulse_circle", "pulse_chain"], "mcculloch_pitts",
                                config={"ring": ring, "n_steps": n_steps})
    ds_parity = _layers_to_store([{"units": par_states.astype(np.float32)}], ["parity_string0"],
                                 "mcculloch_pitts_parity", config={"length": length})
    fig = _figure(s_circ, s_chain, runs["parity"], accs)
    summary = {
        "reference": "McCulloch & Pitts (1943) Bull. Math. Biophys. 5:115-133; Kleene (1956) Automata Studies 3-41",
        "published": {"circle_after_pulse": "active indefinitely", "chain_after_pulse": "silent after its depth",
                      **{f"{name}_accuracy": 1.0 for name in accs}},
        "ours": {"circle_after_pulse": f"active at all {n_steps} steps" if ok_circle else "died out",
                 "chain_after_pulse": f"silent from step {last_chain + 1}" if ok_chain else "still active",
                 **{f"{name}_accuracy": float(a) for name, a in accs.items()}},
        "verdict": _verdict(ok_circle, ok_chain, list(accs.values())),
        "seeds": [int(random_state)] if isinstance(random_state, (int, np.integer)) else [],
        "budget": f"{n_steps} steps after a pulse; {n_strings} strings x {length} symbols per automaton",
        "string_length": length,
    }
    return {"store": ds_pulse, "store_parity": ds_parity, "figure": fig, "summary": summary}


def _figure(s_circ, s_chain, parity_run, accs):
    from .recurrent import _new_figure

    fig, axes = _new_figure(1, 3, size=(13, 3.4))
    show = min(40, s_circ.shape[0])
    axes[0, 0].imshow(s_circ[:show].T, aspect="auto", cmap="Greys", interpolation="nearest")
    axes[0, 0].set(title="circle: one pulse at t=0", xlabel="time step", ylabel="neuron")
    axes[0, 1].imshow(s_chain[:show].T, aspect="auto", cmap="Greys", interpolation="nearest")
    axes[0, 1].set(title="same neurons, no circle", xlabel="time step")
    states, got, truth = parity_run
    k = min(60, got.size)
    axes[0, 2].step(np.arange(k), truth[:k] + 0.05, where="post", label="parity DFA")
    axes[0, 2].step(np.arange(k), got[:k].astype(float), where="post", ls="--", label="compiled net")
    axes[0, 2].set(title="parity: " + ", ".join(f"{n} {a:.3f}" for n, a in accs.items()),
                   xlabel="prefix length", ylabel="accept")
    axes[0, 2].legend(fontsize=7)
    return fig
