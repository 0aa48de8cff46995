"""Ridge solvers on sufficient statistics: fixed alpha, and all alphas per fold from one ``eigh``.

For a training Gram ``G = V diag(lam) V.T`` and cross-products ``Z``, the ridge solution for every
alpha is ``W(alpha) = V diag(1 / (lam + alpha)) V.T Z``: one eigendecomposition per fold serves the
whole alpha grid and every target, and the held-out scores of all ``W(alpha)`` come from the test
block's statistics (:func:`._suffstats.scores`).  Banded ridge (one penalty per feature space)
rescales the features of band ``b`` by ``sqrt(gamma_b)`` (``G -> D G D``), i.e. the penalty of
band ``b`` is ``alpha / gamma_b``, as in himalaya's ``BandedRidgeCV``.
"""

from __future__ import annotations

import numpy as np

from ._suffstats import Centered, center, moments, scores, total

MAX_CHOLESKY = 6  # distinct per-target alphas solved by Cholesky rather than one eigh


def fold_problems(block_stats, folds, L, scale, be, intercept=True):
    """Centred (train, test) statistics per fold, with the training folds' means and SDs."""
    out = []
    for tr, te in folds:
        st_tr = total([block_stats[i] for i in tr])
        st_te = total([block_stats[i] for i in te])
        mu, sd, muy = moments(st_tr, scale, intercept)
        out.append((center(st_tr, L, mu, sd, muy, be), center(st_te, L, mu, sd, muy, be)))
    return out


def _scaled(c: Centered, g) -> Centered:
    """Statistics of features multiplied by ``g`` (p,) (banded ridge)."""
    if g is None:
        return c
    return Centered(c.G * g[:, None] * g[None, :], c.Z * g[:, None], c.S * g, c.n, c.ysum, c.ysq)


def eig(G, be):
    lam, V = be.eigh(G)
    return be.maximum(lam, 0.0), V


def alpha_path_scores(ctr: Centered, cte: Centered, alphas, be, g=None, decomp=None,
                      max_elements: int = 2**26):
    """Held-out scores of ridge fits for every alpha: dict of (A, C) float64 arrays.

    ``g`` (p,) multiplies the features (banded ridge); ``decomp`` reuses ``(lam, V)`` of the
    (scaled) training Gram.  Targets are processed in batches of at most ``max_elements``
    ``A * p * C`` numbers.
    """
    ctr_s = _scaled(ctr, g)
    lam, V = eig(ctr_s.G, be) if decomp is None else decomp
    Q = V.T @ ctr_s.Z  # (p, C)
    a = be.asarray(np.asarray(alphas, dtype=np.float64))
    Dinv = 1.0 / (lam[None, :] + a[:, None])  # (A, p)
    if g is not None:
        Vg = V * g[:, None]  # weights in original feature scale: W = g * V diag Q
    else:
        Vg = V
    p, C = Q.shape
    A = len(alphas)
    step = max(1, int(max_elements // max(1, A * p)))
    parts = []
    for c0 in range(0, C, step):
        Qb = Q[:, c0:c0 + step]
        W = Vg @ (Dinv[:, :, None] * Qb[None])  # (A, p, Cb)
        test = Centered(cte.G, cte.Z[:, c0:c0 + step], cte.S, cte.n, cte.ysum[c0:c0 + step],
                        cte.ysq[c0:c0 + step])
        parts.append(scores(test, W, be))
    return {k: np.concatenate([pt[k] for pt in parts], axis=1) for k in parts[0]}, (lam, V)


def solve(c: Centered, alpha, be, g=None, decomp=None):
    """Ridge weights (p, C) for a scalar alpha or one alpha per target (C,)."""
    cs = _scaled(c, g)
    alpha = np.asarray(alpha, dtype=np.float64)
    if alpha.ndim == 0 or np.all(alpha == alpha.flat[0]):
        a = float(alpha.flat[0])
        if decomp is None:
            W = be.solve_psd(cs.G + a * be.eye(cs.G.shape[0]), cs.Z)
        else:
            lam, V = decomp
            W = V @ ((1.0 / (lam + a))[:, None] * (V.T @ cs.Z))
    elif decomp is None and len(np.unique(alpha)) <= MAX_CHOLESKY:
        # a few distinct alphas: one Cholesky (p^3/3 flops) per alpha beats an eigh (~4 p^3)
        W = be.zeros(cs.Z.shape)
        eye = be.eye(cs.G.shape[0])
        for a in np.unique(alpha):
            cols = np.flatnonzero(alpha == a)
            idx = be.torch.as_tensor(cols, device=be.device) if be.name == "torch" else cols
            W[:, idx] = be.solve_psd(cs.G + float(a) * eye, cs.Z[:, idx])
    else:
        lam, V = eig(cs.G, be) if decomp is None else decomp
        Q = V.T @ cs.Z
        a = be.asarray(alpha)
        W = V @ (Q / (lam[:, None] + a[None, :]))
    if g is not None:
        W = W * g[:, None]
    return W


def refit_stats(block_stats, L, scale, be, intercept=True):
    st = total(block_stats)
    mu, sd, muy = moments(st, scale, intercept)
    return center(st, L, mu, sd, muy, be), (mu, sd, muy)
