"""Hopfield networks (Hopfield 1982): Hebbian storage, asynchronous and synchronous recall.

Binary ±1 units, weights ``W = (1/N) Σ_μ ξ^μ ξ^μᵀ`` with a zero diagonal, energy
``E(s) = −½ sᵀ W s``.  Asynchronous updates (one unit at a time, random order per sweep)
never raise the energy; synchronous updates can end in 2-cycles.  Theory (Amit, Gutfreund &
Sompolinsky 1985; Hertz, Krogh & Palmer 1991): the one-step bit-error rate at load
α = P/N is Φ(−1/√α) and retrieval collapses near α_c ≈ 0.138.

Differences from Hopfield (1982): units are ±1 rather than 0/1 (the usual modern form, same
dynamics up to thresholds); a unit whose local field is exactly zero keeps its state.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from ..store import from_arrays
from ..utils._check import check_option, check_random_state, validate_type


def _check_patterns(patterns, name="patterns") -> np.ndarray:
    x = np.asarray(patterns)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"{name} must have shape (n_patterns, n_units) with n_units >= 2, got {x.shape}")
    if not np.all(np.isin(x, (-1, 1))):
        raise ValueError(f"{name} must hold only -1 and +1 values")
    return x.astype(np.float64)


class HopfieldNetwork:
    """A Hopfield network with Hebbian (outer-product) storage.

    Parameters
    ----------
    mode : {"async", "sync"}
        Default update mode for :meth:`recall`.
    max_sweeps : int
        Recall stops at a fixed point or after this many sweeps.
    random_state : None, int or Generator
        Seeds the asynchronous update order.

    Attributes
    ----------
    weights_ : array of shape (n_units, n_units)
    patterns_ : array of shape (n_patterns, n_units)
    """

    def __init__(self, mode: str = "async", max_sweeps: int = 50, random_state=None):
        self.mode = mode
        self.max_sweeps = max_sweeps
        self.random_state = random_state

    def fit(self, patterns):
        """Store ``patterns`` (n_patterns, n_units) of ±1 with the Hebb rule."""
        x = _check_patterns(patterns)
        n = x.shape[1]
        w = x.T @ x / n
        np.fill_diagonal(w, 0.0)
        self.weights_ = w
        self.patterns_ = x
        return self

    def _check_fitted(self):
        if not hasattr(self, "weights_"):
            raise RuntimeError("HopfieldNetwork is not fitted; call fit(patterns) first")

    def energy(self, states) -> np.ndarray:
        """``E = −½ sᵀWs`` for states of shape (n_states, n_units) (or one state)."""
        self._check_fitted()
        s = np.atleast_2d(np.asarray(states, dtype=np.float64))
        return -0.5 * np.einsum("bi,ij,bj->b", s, self.weights_, s)

    def overlaps(self, states) -> np.ndarray:
        """Overlaps ``m^μ = ξ^μ·s / N``, shape (n_states, n_patterns)."""
        self._check_fitted()
        s = np.atleast_2d(np.asarray(states, dtype=np.float64))
        return s @ self.patterns_.T / s.shape[1]

    def one_step_error(self) -> float:
        """Fraction of stored bits that flip after one update from the stored patterns."""
        self._check_fitted()
        h = self.patterns_ @ self.weights_
        return float(np.mean(np.where(h == 0, False, np.sign(h) != self.patterns_)))

    def recall(self, cues, mode: str | None = None, record_energy: bool = False):
        """Run the dynamics from ``cues`` until a fixed point (or ``max_sweeps``).

        Parameters
        ----------
        cues : array of shape (n_cues, n_units)
        mode : {"async", "sync"}, optional
        record_energy : bool
            Also return the energy after every single-unit update (async) or sweep (sync).

        Returns
        -------
        states : array of shape (n_cues, n_units)
            Final states.
        trajectory : array of shape (n_sweeps + 1, n_cues, n_units)
            States after each sweep (index 0: the cues).
        energies : array of shape (n_updates + 1, n_cues), only with ``record_energy``.
        """
        self._check_fitted()
        mode = check_option(mode or self.mode, ("async", "sync"), "mode")
        s = _check_patterns(cues, "cues").copy()
        if s.shape[1] != self.weights_.shape[0]:
            raise ValueError(f"cues have {s.shape[1]} units, the network has {self.weights_.shape[0]}")
        validate_type(self.max_sweeps, "int", "max_sweeps")
        rng = check_random_state(self.random_state)
        w = self.weights_
        traj, energies = [s.copy()], [self.energy(s)] if record_energy else None
        for _ in range(self.max_sweeps):
            before = s.copy()
            if mode == "sync":
                h = s @ w
                s = np.where(h > 0, 1.0, np.where(h < 0, -1.0, s))
                if record_energy:
                    energies.append(self.energy(s))
            else:
                h = s @ w
                for i in rng.permutation(s.shape[1]):
                    new = np.where(h[:, i] > 0, 1.0, np.where(h[:, i] < 0, -1.0, s[:, i]))
                    flip = new != s[:, i]
                    if flip.any():
                        h[flip] += 2.0 * new[flip, None] * w[i][None, :]
                        s[flip, i] = new[flip]
                    if record_energy:
                        energies.append(self.energy(s))
            traj.append(s.copy())
            if np.array_equal(before, s) or (mode == "sync" and len(traj) > 2
                                               and np.array_equal(traj[-3], s)):
                break
        out = (s, np.asarray(traj))
        return out + (np.asarray(energies),) if record_energy else out


def theoretical_one_step_error(alpha) -> np.ndarray:
    """Φ(−1/√α): the one-step bit-error rate at load α = P/N."""
    return norm.cdf(-1.0 / np.sqrt(np.asarray(alpha, dtype=np.float64)))


def random_patterns(n_patterns: int, n_units: int, random_state=None) -> np.ndarray:
    """Random ±1 patterns of shape (n_patterns, n_units)."""
    rng = check_random_state(random_state)
    return rng.choice([-1.0, 1.0], size=(n_patterns, n_units))


def retrieval_overlap(n_units: int, alpha: float, n_test: int = 10, random_state=None) -> float:
    """Mean final overlap with the pattern when recall (async) starts from stored patterns."""
    rng = check_random_state(random_state)
    p = max(1, int(round(alpha * n_units)))
    x = random_patterns(p, n_units, rng)
    net = HopfieldNetwork("async", max_sweeps=100, random_state=rng).fit(x)
    k = min(n_test, p)
    final, _ = net.recall(x[:k])
    return float(np.mean(np.sum(final * x[:k], axis=1) / n_units))


def mixture_state(patterns, indices=(0, 1, 2)) -> np.ndarray:
    """The symmetric mixture ``sgn(ξ^a + ξ^b + ξ^c)`` of an odd number of patterns (a spurious state)."""
    x = _check_patterns(patterns)
    idx = list(indices)
    if len(idx) % 2 == 0:
        raise ValueError(f"mixtures need an odd number of patterns, got {len(idx)}")
    return np.sign(x[idx].sum(0))


def demo(random_state=0, n_units: int = 200, n_patterns: int = 10, flip: float = 0.25):
    """Recall each stored pattern from a cue with a fraction ``flip`` of bits flipped.

    Returns ``{"store": Dataset, "summary": dict}``: the store holds unit states per sweep
    (``time_unit="step"``), stimuli ``cue<k>``; the summary the final overlaps.
    """
    rng = check_random_state(random_state)
    x = random_patterns(n_patterns, n_units, rng)
    net = HopfieldNetwork("async", max_sweeps=20, random_state=rng).fit(x)
    cues = x * np.where(rng.random(x.shape) < flip, -1.0, 1.0)
    final, traj = net.recall(cues)
    arrays = [traj[:, k, :] for k in range(n_patterns)]
    ids = [f"cue{k}" for k in range(n_patterns)]
    store = from_arrays(arrays, ids, 1.0, [f"unit:{i}" for i in range(n_units)], time_unit="step",
                        model_id="hopfield", config={"n_units": n_units, "n_patterns": n_patterns, "flip": flip},
                        layer=np.full(n_units, "units", dtype=object))
    m = np.sum(final * x, axis=1) / n_units
    return {"store": store, "summary": {"final_overlap": m.tolist(), "n_sweeps": int(traj.shape[0] - 1)}}
