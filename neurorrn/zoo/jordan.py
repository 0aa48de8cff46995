"""Jordan's (1986) sequential network: plan units, state units fed by the outputs.

Jordan, M. I. (1986). *Serial order: a parallel distributed processing approach*
(ICS Report 8604, UC San Diego):

.. math::

    s(t) = \\mu\\, s(t-1) + y(t-1), \\qquad
    h(t) = \\sigma(W_{ph} p + W_{sh} s(t) + b_h), \\qquad
    y(t) = \\sigma(W_{hy} h(t) + b_y),

where the *plan* ``p`` is clamped for the whole sequence and the *state* units copy the
previous output (fixed weight 1) and decay with self-recurrence ``mu``.  Because the state is
made of observable quantities, training uses *teacher forcing*: the state is built from the
target outputs ``d(t-1)`` instead of ``y(t-1)``, which turns learning into ordinary
back-propagation on ``(plan, state) -> output`` pairs.  After training the net runs freely
(state fed by its own outputs).  Jordan showed that learned sequences then behave as
attractors: cyclic sequences become limit cycles that the net returns to after a
perturbation or from other initial states -- :func:`simulate_jordan_attractor` measures this.

Where we differ: Jordan's value of ``mu`` is not restated here (a parameter, default 0.5);
training is full-batch gradient descent with momentum over all teacher-forced steps, with the
cross-entropy error of the logistic outputs (Jordan used squared error; its flat spots left
some runs stuck one output bit short of the targets); the don't-care targets of his
coarticulation simulations are supported through ``masks`` but not simulated.
"""

from __future__ import annotations

import json

import numpy as np

from ..subject import ModelSubject
from ..utils._check import check_finite, check_positive, check_random_state
from ..utils._logging import logger, progress
from .recurrent import _layers_to_store, _new_figure

__all__ = ["JordanNetwork", "teacher_forced_states", "simulate_jordan_attractor"]


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def teacher_forced_states(targets, mu, s0=None):
    """State-unit values under teacher forcing, ``s(t) = mu s(t-1) + d(t-1)``.

    Parameters
    ----------
    targets : array of shape (n_steps, n_outputs)
    mu : float
    s0 : array of shape (n_outputs,), optional
        State before the first step (default 0).

    Returns
    -------
    states : array of shape (n_steps, n_outputs)
        ``states[t]`` is the state seen when producing ``targets[t]``.
    """
    D = np.asarray(targets, dtype=np.float64)
    s = np.zeros(D.shape[1]) if s0 is None else np.asarray(s0, dtype=np.float64)
    S = np.empty_like(D)
    for t in range(D.shape[0]):
        S[t] = s
        s = mu * s + D[t]
    return S


class JordanNetwork(ModelSubject):
    """Jordan (1986) network trained with teacher forcing.

    Parameters
    ----------
    n_hidden : int
    mu : float
        Self-recurrence of the state units, in ``[0, 1)``.
    learning_rate : float
    momentum : float
    n_epochs : int
        Full-batch gradient steps.
    init_scale : float
    random_state : int | Generator | None
    verbose : bool | str | None

    Attributes
    ----------
    W_ph_, W_sh_, b_h_, W_hy_, b_y_ : arrays
        Plan-to-hidden, state-to-hidden, hidden bias, hidden-to-output, output bias.
    loss_curve_ : list of float
        Mean squared error per output value (training minimises cross-entropy).
    """

    model_id = "zoo.jordan"
    frame_rate = 1.0
    time_unit = "step"

    def __init__(self, n_hidden=20, mu=0.5, learning_rate=1.0, momentum=0.9, n_epochs=2000, init_scale=0.5,
                 random_state=None, verbose=None):
        self.n_hidden = n_hidden
        self.mu = mu
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.n_epochs = n_epochs
        self.init_scale = init_scale
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, plans, sequences, masks=None):
        """Learn plan -> sequence maps with teacher forcing.

        Parameters
        ----------
        plans : array of shape (n_sequences, n_plan)
        sequences : list of arrays of shape (n_steps_i, n_outputs)
            Target output sequences, values in [0, 1].
        masks : list of arrays like ``sequences``, optional
            0 marks a don't-care target.

        Returns
        -------
        self
        """
        check_positive(self.n_hidden, "n_hidden", integer=True)
        check_positive(self.learning_rate, "learning_rate")
        check_positive(self.n_epochs, "n_epochs", integer=True)
        if not 0 <= self.mu < 1:
            raise ValueError(f"mu must be in [0, 1), got {self.mu!r}")
        P = check_finite(np.asarray(plans, dtype=np.float64), "plans")
        if P.ndim != 2:
            raise ValueError(f"plans must be 2-D (n_sequences, n_plan), got shape {P.shape}")
        if len(sequences) != P.shape[0]:
            raise ValueError(f"got {P.shape[0]} plans but {len(sequences)} sequences")
        D_list = [check_finite(np.asarray(d, dtype=np.float64), f"sequences[{i}]") for i, d in enumerate(sequences)]
        n_out = D_list[0].shape[1]
        for i, d in enumerate(D_list):
            if d.ndim != 2 or d.shape[1] != n_out:
                raise ValueError(f"sequences[{i}] must have shape (n_steps, {n_out}), got {d.shape}")
        M_list = [np.ones_like(d) for d in D_list] if masks is None else [np.asarray(m, float) for m in masks]
        # teacher forcing: every step is an independent (plan, state) -> target pattern
        Pin = np.concatenate([np.repeat(P[i:i + 1], len(d), 0) for i, d in enumerate(D_list)])
        Sin = np.concatenate([teacher_forced_states(d, self.mu) for d in D_list])
        D = np.concatenate(D_list)
        M = np.concatenate(M_list)
        rng = check_random_state(self.random_state)
        s, H = self.init_scale, self.n_hidden
        self.W_ph_ = rng.uniform(-s, s, (P.shape[1], H))
        self.W_sh_ = rng.uniform(-s, s, (n_out, H))
        self.b_h_ = rng.uniform(-s, s, H)
        self.W_hy_ = rng.uniform(-s, s, (H, n_out))
        self.b_y_ = rng.uniform(-s, s, n_out)
        params = [self.W_ph_, self.W_sh_, self.b_h_, self.W_hy_, self.b_y_]
        vel = [np.zeros_like(p) for p in params]
        lr = self.learning_rate / len(D)
        self.loss_curve_ = []
        for _ in progress(range(self.n_epochs), desc="Jordan epochs", verbose=self.verbose):
            h = _sigmoid(Pin @ self.W_ph_ + Sin @ self.W_sh_ + self.b_h_)
            y = _sigmoid(h @ self.W_hy_ + self.b_y_)
            diff = M * (y - D)
            self.loss_curve_.append(float(np.sum(diff ** 2) / max(M.sum(), 1.0)))
            d_o = diff  # cross-entropy gradient for logistic outputs (no flat spot)
            d_h = (d_o @ self.W_hy_.T) * h * (1 - h)
            grads = (Pin.T @ d_h, Sin.T @ d_h, d_h.sum(0), h.T @ d_o, d_o.sum(0))
            for p, v, g in zip(params, vel, grads):
                v *= self.momentum
                v -= lr * g
                p += v
        logger.info("Jordan net: MSE %.4g after %d epochs", self.loss_curve_[-1], self.n_epochs)
        self.n_plan_, self.n_outputs_ = P.shape[1], n_out
        return self

    def run(self, plan, n_steps, state0=None, perturb=None):
        """Run freely: the state units are fed by the net's own outputs.

        Parameters
        ----------
        plan : array of shape (n_plan,)
        n_steps : int
        state0 : array of shape (n_outputs,), optional
            Initial state (default 0).
        perturb : dict {step: array of shape (n_outputs,)}, optional
            Added to the state at the given steps.

        Returns
        -------
        dict
            ``state``, ``hidden``, ``output``: arrays of shape (n_steps, n_units).
        """
        if not hasattr(self, "W_ph_"):
            raise RuntimeError("JordanNetwork is not fitted yet; call fit first")
        plan = np.asarray(plan, dtype=np.float64)
        if plan.shape != (self.n_plan_,):
            raise ValueError(f"plan must have shape ({self.n_plan_},), got {plan.shape}")
        check_positive(n_steps, "n_steps", integer=True)
        s = np.zeros(self.n_outputs_) if state0 is None else np.asarray(state0, dtype=np.float64).copy()
        perturb = perturb or {}
        drive = plan @ self.W_ph_ + self.b_h_
        S, Hh, Y = (np.empty((n_steps, k)) for k in (self.n_outputs_, self.n_hidden, self.n_outputs_))
        for t in range(n_steps):
            if t in perturb:
                s = s + np.asarray(perturb[t], dtype=np.float64)
            h = _sigmoid(drive + s @ self.W_sh_)
            y = _sigmoid(h @ self.W_hy_ + self.b_y_)
            S[t], Hh[t], Y[t] = s, h, y
            s = self.mu * s + y
        return {"state": S, "hidden": Hh, "output": Y}

    def run_one(self, stimulus):
        """ModelSubject hook; ``stimulus = (plan, n_steps)``."""
        plan, n_steps = stimulus
        return self.run(plan, n_steps)

    def config_json(self):
        return json.dumps({k: getattr(self, k) for k in ("n_hidden", "mu", "learning_rate", "momentum",
                                                         "n_epochs", "init_scale")})


def _cycle_distance(Y, cycle):
    """Distance of each output vector to the nearest point of a cycle: (n_steps,)."""
    return np.min(np.linalg.norm(Y[:, None, :] - cycle[None, :, :], axis=-1), axis=1)


def simulate_jordan_attractor(n_plans=3, period=4, n_outputs=6, n_repeats=6, mu=0.5, n_hidden=20,
                              n_epochs=3000, n_starts=10, n_free=40, random_state=0):
    """Cyclic sequences learned with teacher forcing become limit-cycle attractors (Jordan 1986).

    Each of ``n_plans`` localist plans is paired with its own random cycle of ``period``
    binary output vectors, shown ``n_repeats`` times from a zero state.  After training the
    net runs freely (a) from the zero state -- it reproduces the cycle -- and (b) from
    ``n_starts`` random initial states -- its outputs converge onto the trained cycle.

    Returns
    -------
    dict
        ``store`` (state/hidden/output time courses: one clean and ``n_starts`` perturbed
        runs per plan), ``figure`` (distance to the cycle over time) and ``summary``:
        ``free_run_accuracy`` (thresholded outputs vs the cycle), ``distance_start`` and
        ``distance_end`` (mean distance to the nearest cycle point at the first and last
        step from random starts), ``order_accuracy`` (at the end, successive outputs
        follow the cycle order).
    """
    rng = check_random_state(random_state)
    plans = np.eye(n_plans)
    cycles = []
    while len(cycles) < n_plans:
        c = rng.integers(0, 2, (period, n_outputs)).astype(float)
        if len({tuple(r) for r in c}) == period:  # distinct vectors so the order is defined
            cycles.append(c)
    seqs = [np.tile(c, (n_repeats, 1)) for c in cycles]
    net = JordanNetwork(n_hidden=n_hidden, mu=mu, n_epochs=n_epochs, random_state=rng).fit(plans, seqs)
    runs, names, plan_of = [], [], []
    correct, d_start, d_end, order_ok = [], [], [], []
    fig, axes = _new_figure(1, n_plans, size=(4 * n_plans, 3.2))
    s_max = 1.0 / (1.0 - mu)
    for i, (plan, cyc) in enumerate(zip(plans, cycles)):
        clean = net.run(plan, period * n_repeats)
        correct.append(np.mean((clean["output"] > 0.5) == (seqs[i] > 0.5)))
        runs.append(clean)
        names.append(f"plan{i}_clean")
        plan_of.append(f"plan{i}")
        for k in range(n_starts):
            r = net.run(plan, n_free, state0=rng.uniform(0, s_max, n_outputs))
            dist = _cycle_distance(r["output"], cyc)
            d_start.append(dist[0])
            d_end.append(dist[-1])
            # order: the nearest cycle index must advance by one each step at the end
            idx = np.argmin(np.linalg.norm(r["output"][-period - 1:, None] - cyc[None], axis=-1), axis=1)
            order_ok.append(np.all(np.diff(idx) % period == 1))
            axes[0, i].plot(dist, color="tab:blue", alpha=0.5)
            runs.append(r)
            names.append(f"plan{i}_start{k:02d}")
            plan_of.append(f"plan{i}")
        axes[0, i].set(xlabel="step", ylabel="distance to trained cycle", title=f"plan {i}")
    fig.suptitle("Jordan (1986): learned cycles are attractors (random initial states)")
    ds = _layers_to_store(runs, names, "zoo.jordan.attractor", net.config_json(),
                          word=np.asarray(plan_of, dtype=object))
    summary = {"free_run_accuracy": float(np.mean(correct)), "distance_start": float(np.mean(d_start)),
               "distance_end": float(np.mean(d_end)), "order_accuracy": float(np.mean(order_ok)),
               "final_training_mse": net.loss_curve_[-1]}
    return {"store": ds, "figure": fig, "summary": summary, "model": net, "cycles": cycles}
