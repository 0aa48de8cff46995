"""Rosenblatt's perceptron: the learning rule, Novikoff's convergence bound, XOR, Cover's capacity.

Sources: F. Rosenblatt (1958) "The perceptron: a probabilistic model for information storage and
organization in the brain", Psychol. Rev. 65:386-408; A. B. J. Novikoff (1962) "On convergence
proofs on perceptrons", Symp. Math. Theory of Automata 12:615-622; M. Minsky & S. Papert (1969)
*Perceptrons*; T. M. Cover (1965) "Geometrical and statistical properties of systems of linear
inequalities with applications in pattern recognition", IEEE Trans. Electron. Comput. 14:326-334.

The rule (error correction, Rosenblatt's "α-system" in its modern form): present the patterns
in turn; when ``y_i (w · x_i) <= 0`` add ``η y_i x_i`` to ``w``.  From ``w = 0`` on data
separable with margin ``γ`` by a unit vector, with ``R = max ||x_i||``, the number of mistakes
is at most ``(R/γ)²`` (Novikoff), whatever the order.  XOR and n-bit parity are not linearly
separable, so the rule never stops making mistakes on them (Minsky & Papert).  Of the ``2^P``
dichotomies of ``P`` points in general position in ``N`` dimensions, ``C(P, N) = 2 Σ_{k<N}
binom(P-1, k)`` are separable by a hyperplane through the origin (Cover's function
counting theorem), so the fraction ``C(P, N)/2^P`` is 1/2 at ``P = 2N``: the perceptron's
capacity is two patterns per weight.

Differences from Rosenblatt (1958): a single layer of adjustable weights on the given inputs
(no random S->A projection), deterministic rather than probabilistic units.  The capacity curve
counts a dichotomy "learned" when the perceptron reaches zero errors within ``max_epochs``;
linear separability itself is decided exactly by a linear program (:func:`is_linearly_separable`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import comb
from sklearn.base import BaseEstimator, ClassifierMixin

from ..utils._check import check_positive, check_random_state, validate_type

__all__ = ["Perceptron", "novikoff_bound", "is_linearly_separable", "cover_fraction", "separable_data",
           "capacity_curve", "simulate_perceptron"]


def _check_xy(X, y):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (n_samples, n_features), got {X.shape}")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    classes = np.unique(y)
    if classes.size > 2:
        raise ValueError(f"y must hold two classes, got {classes.size}: {classes[:5]}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X holds NaN or infinite values")
    return X, y, classes


class Perceptron(ClassifierMixin, BaseEstimator):
    """Rosenblatt's perceptron trained with the error-correction rule.

    Parameters
    ----------
    max_epochs : int
        Passes through the training set; training stops earlier after an epoch without mistakes.
    learning_rate : float
        η (from ``w = 0`` it only scales ``w``, so mistakes do not depend on it).
    fit_intercept : bool
        Learn a threshold (a constant input of 1 is appended).
    shuffle : bool
        Present the patterns in a new random order every epoch.
    random_state : None, int or Generator

    Attributes
    ----------
    coef_ : array of shape (n_features,)
    intercept_ : float
    n_mistakes_ : int
        Total weight updates.
    mistakes_per_epoch_ : array of shape (n_epochs_,)
    converged_ : bool
        An epoch ended without a mistake.
    classes_ : array of shape (2,)
    """

    def __init__(self, max_epochs: int = 1000, learning_rate: float = 1.0, fit_intercept: bool = True,
                 shuffle: bool = True, random_state=None):
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state

    def _augment(self, X):
        return np.hstack([X, np.ones((X.shape[0], 1))]) if self.fit_intercept else X

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and labels ``y`` (two classes)."""
        X, y, classes = _check_xy(X, y)
        validate_type(self.max_epochs, "int", "max_epochs")
        check_positive(self.max_epochs, "max_epochs")
        check_positive(self.learning_rate, "learning_rate")
        rng = check_random_state(self.random_state)
        self.classes_ = classes
        s = np.where(y == classes[-1], 1.0, -1.0)
        Z = self._augment(X) * s[:, None]  # a mistake is z . w <= 0
        w = np.zeros(Z.shape[1])
        per_epoch = []
        converged = False
        order = np.arange(Z.shape[0])
        for _ in range(self.max_epochs):
            if self.shuffle:
                order = rng.permutation(Z.shape[0])
            mistakes = 0
            for i in order:
                if Z[i] @ w <= 0.0:
                    w += self.learning_rate * Z[i]
                    mistakes += 1
            per_epoch.append(mistakes)
            if mistakes == 0:
                converged = True
                break
        self.coef_ = w[: X.shape[1]].copy()
        self.intercept_ = float(w[-1]) if self.fit_intercept else 0.0
        self.mistakes_per_epoch_ = np.asarray(per_epoch, dtype=np.int64)
        self.n_mistakes_ = int(self.mistakes_per_epoch_.sum())
        self.n_epochs_ = len(per_epoch)
        self.converged_ = converged
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X):
        if not hasattr(self, "coef_"):
            raise RuntimeError("Perceptron is not fitted; call fit(X, y) first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have shape (n_samples, {self.n_features_in_}), got {X.shape}")
        return X @ self.coef_ + self.intercept_

    def predict(self, X):
        return np.where(self.decision_function(X) > 0, self.classes_[-1], self.classes_[0])


def novikoff_bound(X, y, w_star, fit_intercept: bool = False) -> float:
    """``(R/γ)²`` for the separator ``w_star`` (normalised here; with an intercept, its last entry).

    ``R`` is the largest (augmented) pattern norm, ``γ = min_i y_i w·x_i / ||w||``; an error if
    ``w_star`` does not separate the data.  Any separator gives a valid bound; the max-margin one
    the tightest.
    """
    X, y, classes = _check_xy(X, y)
    s = np.where(y == classes[-1], 1.0, -1.0)
    Xa = np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X
    w = np.asarray(w_star, dtype=np.float64)
    if w.shape != (Xa.shape[1],):
        raise ValueError(f"w_star must have shape ({Xa.shape[1]},), got {w.shape}")
    gamma = np.min(s * (Xa @ w)) / np.linalg.norm(w)
    if gamma <= 0:
        raise ValueError(f"w_star does not separate the data (margin {gamma:.3g} <= 0)")
    r = np.max(np.linalg.norm(Xa, axis=1))
    return float((r / gamma) ** 2)


def is_linearly_separable(X, y, fit_intercept: bool = False) -> bool:
    """Decide (a linear program) whether a hyperplane separates the two classes.

    Maximises ``t`` subject to ``y_i (w·x_i + b) >= t`` with ``|w_j|, |b| <= 1`` and ``t <= 1``
    (always feasible and bounded); the data are separable iff the optimum is positive
    (above ``1e-9``).
    """
    from scipy.optimize import linprog

    X, y, classes = _check_xy(X, y)
    if classes.size < 2:
        return True
    s = np.where(y == classes[-1], 1.0, -1.0)
    Xa = np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X
    d = Xa.shape[1]
    # variables (w, t): minimise -t; constraints -y_i x_i . w + t <= 0
    A = np.hstack([-(s[:, None] * Xa), np.ones((X.shape[0], 1))])
    c = np.zeros(d + 1)
    c[-1] = -1.0
    res = linprog(c, A_ub=A, b_ub=np.zeros(X.shape[0]), bounds=[(-1, 1)] * d + [(None, 1)], method="highs")
    if res.status != 0:
        raise RuntimeError(f"linear program failed: {res.message}")
    return bool(-res.fun > 1e-9)


def cover_fraction(n_patterns, n_dims) -> np.ndarray:
    """``C(P, N) / 2^P``: the fraction of dichotomies of P points in general position in N
    dimensions that a hyperplane through the origin separates (Cover 1965)."""
    P = np.atleast_1d(np.asarray(n_patterns, dtype=np.int64))
    N = int(n_dims)
    if N < 1 or np.any(P < 1):
        raise ValueError(f"n_patterns and n_dims must be >= 1, got {P.tolist()}, {N}")
    out = np.empty(P.shape, dtype=np.float64)
    for i, p in enumerate(P):
        k = np.arange(min(N, p))
        out[i] = min(1.0, 2.0 * np.sum(comb(p - 1, k, exact=False)) / 2.0 ** p)
    return out if np.ndim(n_patterns) else float(out[0])


def separable_data(n_samples: int, n_features: int, margin: float = 0.1, random_state=None):
    """Gaussian patterns labelled by a random unit vector ``w_star``, keeping those with
    ``|w_star·x| / ||x|| >= margin`` (so the normalised margin is at least ``margin``).

    Returns ``X`` (n_samples, n_features), ``y`` in {-1, 1}, ``w_star``.
    """
    rng = check_random_state(random_state)
    check_positive(margin, "margin")
    w = rng.standard_normal(n_features)
    w /= np.linalg.norm(w)
    keep = []
    while sum(len(k) for k in keep) < n_samples:
        x = rng.standard_normal((4 * n_samples, n_features))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        keep.append(x[np.abs(x @ w) >= margin])
    X = np.concatenate(keep)[:n_samples]
    return X, np.where(X @ w > 0, 1, -1), w


def capacity_curve(n_dims: int = 20, ratios=None, n_dichotomies: int = 50, max_epochs: int = 500,
                   random_state=None):
    """Fraction of random dichotomies the perceptron learns, against ``α = P/N``.

    For each ``P = round(α N)``: ``n_dichotomies`` sets of Gaussian patterns with random ±1
    labels; a perceptron through the origin (no intercept, as in Cover's theorem) trains for up
    to ``max_epochs`` epochs; linear separability is also decided exactly by LP.

    Returns
    -------
    dict
        ``ratio``, ``n_patterns``, ``learned`` (perceptron), ``separable`` (LP), ``theory``
        (``C(P, N)/2^P``) as arrays, and ``crossing_learned`` / ``crossing_separable``: the α at
        which the fraction falls through 1/2 (linear interpolation).
    """
    rng = check_random_state(random_state)
    ratios = np.arange(0.5, 4.01, 0.25) if ratios is None else np.asarray(ratios, dtype=np.float64)
    P = np.maximum(1, np.round(ratios * n_dims).astype(int))
    learned, separable = np.zeros(P.size), np.zeros(P.size)
    for j, p in enumerate(P):
        for _ in range(n_dichotomies):
            X = rng.standard_normal((p, n_dims))
            y = rng.choice([-1, 1], size=p)
            if np.unique(y).size < 2:
                y[0] = -y[0]
            sep = is_linearly_separable(X, y)
            separable[j] += sep
            if sep:  # a non-separable set can never be learned: skip the max_epochs run
                clf = Perceptron(max_epochs=max_epochs, fit_intercept=False, random_state=rng).fit(X, y)
                learned[j] += clf.converged_
    learned /= n_dichotomies
    separable /= n_dichotomies
    return {"ratio": P / n_dims, "n_patterns": P, "learned": learned, "separable": separable,
            "theory": cover_fraction(P, n_dims), "crossing_learned": _crossing(P / n_dims, learned),
            "crossing_separable": _crossing(P / n_dims, separable)}


def _crossing(x, f, level=0.5) -> float:
    """First ``x`` where ``f`` falls through ``level`` (linear interpolation); NaN if never."""
    below = np.flatnonzero(f < level)
    if below.size == 0:
        return float("nan")
    k = below[0]
    if k == 0:
        return float(x[0])
    return float(x[k - 1] + (f[k - 1] - level) * (x[k] - x[k - 1]) / (f[k - 1] - f[k]))


def _xor_data():
    return np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float), np.array([0, 1, 1, 0])


def _parity_data(n_bits):
    X = ((np.arange(2 ** n_bits)[:, None] >> np.arange(n_bits)) & 1).astype(float)
    return X, X.sum(1).astype(int) % 2


def _verdict(bound_ok, xor_never, crossing):
    if bound_ok and xor_never and abs(crossing - 2.0) <= 0.2:
        return "reproduced"
    if bound_ok and xor_never and abs(crossing - 2.0) <= 0.4:
        return "approximate"
    return "not reproduced"


def simulate_perceptron(n_sets: int = 20, n_dims: int = 20, n_dichotomies: int = 40, max_epochs: int = 500,
                        random_state=0):
    """Novikoff's bound on random separable sets, XOR/parity, and Cover's capacity curve.

    Verdict rule: "reproduced" if no run exceeded its Novikoff bound, XOR and 3-bit parity were
    never learned, and the learned fraction falls through 1/2 within ±10 % of ``P = 2N``
    (|α − 2| ≤ 0.2); "approximate" within ±20 %; else "not reproduced".

    Returns ``store`` (the weights after every update on the first separable set,
    ``time_unit="step"``), ``figure`` and ``summary``.
    """
    rng = check_random_state(random_state)
    ratios_bound = []
    traj = None
    for k in range(n_sets):
        X, y, w_star = separable_data(100, 10, margin=0.05, random_state=rng)
        clf = Perceptron(max_epochs=10_000, fit_intercept=False, random_state=rng).fit(X, y)
        bound = novikoff_bound(X, y, w_star)
        ratios_bound.append(clf.n_mistakes_ / bound)
        if k == 0:
            traj = _weight_trajectory(X, y)
    ratios_bound = np.asarray(ratios_bound)
    xor_learned = []
    for data in (_xor_data(), _parity_data(3)):
        clf = Perceptron(max_epochs=200, random_state=rng).fit(*data)
        xor_learned.append(bool(clf.converged_ or clf.score(*data) == 1.0))
    xor_acc = Perceptron(max_epochs=200, random_state=rng).fit(*_xor_data()).score(*_xor_data())
    cap = capacity_curve(n_dims, n_dichotomies=n_dichotomies, max_epochs=max_epochs, random_state=rng)
    from .recurrent import _layers_to_store

    ds = _layers_to_store([{"weights": traj}], ["separable_set0"], "perceptron",
                          config={"n_sets": n_sets, "n_dims": n_dims, "max_epochs": max_epochs})
    fig = _figure(ratios_bound, cap, n_dims)
    bound_ok = bool(np.all(ratios_bound <= 1.0))
    xor_never = not any(xor_learned)
    summary = {
        "reference": "Rosenblatt (1958) Psychol. Rev. 65:386-408; Novikoff (1962); Minsky & Papert (1969); "
                     "Cover (1965) IEEE Trans. Electron. Comput. 14:326-334",
        "published": {"mistakes_over_novikoff_bound_max": "<= 1", "xor_learned": False, "parity3_learned": False,
                      "capacity_crossing_P_over_N": 2.0},
        "ours": {"mistakes_over_novikoff_bound_max": float(ratios_bound.max()), "xor_learned": xor_learned[0],
                 "parity3_learned": xor_learned[1], "capacity_crossing_P_over_N": cap["crossing_learned"]},
        "verdict": _verdict(bound_ok, xor_never, cap["crossing_learned"]),
        "seeds": [int(random_state)] if isinstance(random_state, (int, np.integer)) else [],
        "budget": f"{n_sets} separable sets (100 x 10, margin 0.05); capacity N={n_dims}, "
                  f"{n_dichotomies} dichotomies per P, <= {max_epochs} epochs",
        "xor_best_accuracy": float(xor_acc),
        "capacity_crossing_separable": cap["crossing_separable"],
    }
    return {"store": ds, "figure": fig, "summary": summary, "capacity": cap}


def _weight_trajectory(X, y, max_epochs=10_000):
    """The weights after each update of a fixed-order perceptron run (for the store)."""
    Z = X * np.where(y > 0, 1.0, -1.0)[:, None]
    w = np.zeros(X.shape[1])
    out = [w.copy()]
    for _ in range(max_epochs):
        changed = False
        for z in Z:
            if z @ w <= 0:
                w = w + z
                out.append(w.copy())
                changed = True
        if not changed:
            break
    return np.asarray(out, dtype=np.float32)


def _figure(ratios_bound, cap, n_dims):
    from .recurrent import _new_figure

    fig, axes = _new_figure(1, 2, size=(10, 3.6))
    ax = axes[0, 0]
    ax.hist(ratios_bound, bins=15, color="0.5")
    ax.axvline(1.0, color="r", ls="--", label="Novikoff bound")
    ax.set(xlabel="mistakes / (R/γ)²", ylabel="random separable sets", title="convergence within the bound")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    ax.plot(cap["ratio"], cap["theory"], "k-", label="Cover C(P,N)/2^P")
    ax.plot(cap["ratio"], cap["separable"], "bs", mfc="none", label="separable (LP)")
    ax.plot(cap["ratio"], cap["learned"], "ro", label="learned by perceptron")
    ax.axvline(2.0, color="0.6", ls=":")
    ax.axhline(0.5, color="0.6", ls=":")
    ax.set(xlabel="P / N", ylabel="fraction of dichotomies", title=f"capacity, N = {n_dims}")
    ax.legend(fontsize=8)
    return fig
