"""Sufficient statistics of a lagged ridge problem, per block of samples.

For a block of (possibly several) segments, :class:`Stats` keeps

* ``G``: the lagged Gram matrix of the predictors augmented with a constant column
  (``(L*(F+1), L*(F+1))``, lag-major; the constant's lagged copies are the per-lag validity masks),
* ``Z``: the lagged cross-products with the responses (``(L*(F+1), C)``),
* ``S``: the column sums of the augmented lagged design,
* ``n``, and float64 moments ``xsum, xsq`` (F) and ``ysum, ysq`` (C) of the raw samples.

Statistics add over blocks.  Because the constant column is carried along, centring the
predictors with *any* means (for example the training folds' means) and scaling them is an exact
``O(p^2)`` transformation of these statistics (:func:`center`), and held-out Pearson r, R² and
explained variance of any weights follow from the test block's statistics alone (:func:`scores`),
without touching samples.  This is what makes cross-validation over folds x alphas cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._lagged import lagged_cross, lagged_gram, lagged_sum


@dataclass
class Stats:
    G: object
    Z: object
    S: object
    n: int
    xsum: np.ndarray
    xsq: np.ndarray
    ysum: np.ndarray
    ysq: np.ndarray

    def __add__(self, other: "Stats") -> "Stats":
        return Stats(self.G + other.G, self.Z + other.Z, self.S + other.S, self.n + other.n,
                     self.xsum + other.xsum, self.xsq + other.xsq, self.ysum + other.ysum,
                     self.ysq + other.ysq)


def segment_stats(x: np.ndarray, y: np.ndarray, d0: int, d1: int, be) -> Stats:
    """Statistics of one segment: ``x`` (T, F) and ``y`` (T, C) float arrays (numpy)."""
    T = x.shape[0]
    x64 = np.asarray(x, dtype=np.float64)
    y64 = np.asarray(y, dtype=np.float64)
    xa = be.asarray(np.concatenate([x, np.ones((T, 1), dtype=x.dtype)], axis=1))
    G, Z = lagged_gram(xa, d0, d1, be, y=be.asarray(y))
    return Stats(
        G=G,
        Z=Z,
        S=lagged_sum(xa, d0, d1, be),
        n=T,
        xsum=x64.sum(0), xsq=(x64**2).sum(0), ysum=y64.sum(0), ysq=(y64**2).sum(0),
    )


def replace_y(st: Stats, x: np.ndarray, y: np.ndarray, d0: int, d1: int, be) -> Stats:
    """The same predictor statistics with new responses ``y`` (only ``Z`` and y-moments change)."""
    T = x.shape[0]
    xa = be.asarray(np.concatenate([x, np.ones((T, 1), dtype=x.dtype)], axis=1))
    y64 = np.asarray(y, dtype=np.float64)
    return Stats(st.G, lagged_cross(xa, be.asarray(y), d0, d1, be), st.S, st.n, st.xsum, st.xsq,
                 y64.sum(0), (y64**2).sum(0))


def total(stats) -> Stats:
    """Sum of a non-empty list of :class:`Stats` (the same additions, in the same order, as
    ``stats[0] + stats[1] + ...``; the large ``G`` and ``Z`` are accumulated in place)."""
    if len(stats) == 1:
        return stats[0]
    out = stats[0] + stats[1]
    for s in stats[2:]:
        out.G += s.G
        out.Z += s.Z
        out = Stats(out.G, out.Z, out.S + s.S, out.n + s.n, out.xsum + s.xsum, out.xsq + s.xsq,
                    out.ysum + s.ysum, out.ysq + s.ysq)
    return out


@dataclass
class Centered:
    """Statistics after centring with given means (and optional scaling); y centred too."""

    G: object  # (p, p)
    Z: object  # (p, C)
    S: object  # (p,)
    n: int
    ysum: np.ndarray  # sum of centred y, float64 (C,)
    ysq: np.ndarray  # sum of squares of centred y, float64 (C,)
    upper: bool = False  # G holds only its upper block triangle (center(..., upper=True))


def full_gram(c: "Centered") -> "Centered":
    """``c`` with a full symmetric ``G`` (in place) where only its upper block triangle was made."""
    if c.upper:
        G = c.G
        iu = np.tril_indices(G.shape[0], -1)
        G[iu] = G.T[iu]
        c.upper = False
    return c


def moments(st: Stats, scale: bool, intercept: bool = True):
    """Means (F; zeros if not ``intercept``), SDs (F; ones if not ``scale``) and y means (C), float64."""
    mu = st.xsum / st.n
    if scale:
        var = np.maximum(st.xsq / st.n - mu**2, 0.0)
        sd = np.sqrt(var)
        sd[sd <= np.finfo(np.float64).eps * np.maximum(np.abs(mu), 1.0)] = 1.0
    else:
        sd = np.ones_like(mu)
    if not intercept:
        return np.zeros_like(mu), sd, np.zeros_like(st.ysum)
    return mu, sd, st.ysum / st.n


def center(st: Stats, L: int, mu, sd, muy, be, minus=None, upper: bool = False) -> Centered:
    """Exact statistics of the lagged design of ``(x - mu) / sd`` and of ``y - muy``.

    With ``minus`` (a raw Gram of the same shape), the Gram centred is ``st.G - minus`` (a
    fold's training Gram as the total minus the Gram outside the training set), formed row by row
    inside the centring pass instead of as a p x p array of its own.  With ``upper`` (numpy), only
    the upper block triangle of the centred Gram is written (half the work; the lower blocks are
    zero and the result says ``upper=True``): enough for the band reduction and :func:`quad_diag`,
    which read one triangle; :func:`full_gram` fills in the rest.
    """
    F = mu.shape[0]
    F1 = F + 1
    C = st.Z.shape[1]
    m = be.asarray(mu)
    s = be.asarray(1.0 / sd)
    my = be.asarray(muy)
    p = L * F
    G4 = st.G.reshape(L, F1, L, F1)
    M4 = None if minus is None else minus.reshape(L, F1, L, F1)
    Gx1 = G4[:, :F, :, F]  # (L, F, L): G[l, f, m, ones]
    G11 = G4[:, F, :, F]  # (L, L)
    if M4 is not None:
        Gx1 = Gx1 - M4[:, :F, :, F]
        G11 = G11 - M4[:, F, :, F]
    # Gc[l,f,m,g] = s_f s_g (Gx[l,f,m,g] - Gx1[l,f,m] mu_g - mu_f Gx1[m,g,l] + G11[l,m] mu_f mu_g)
    #             = s_f s_g (Gx - K - K.T)[l,f,m,g]   with K[l,f,m,g] = h[l,f,m] mu_g and
    # h[l,f,m] = Gx1[l,f,m] - G11[l,m] mu_f / 2 (G and G11 are symmetric); written one lag row at
    # a time, so that the only p x p array made is the result and each of its elements is written
    # once (the correction and the scaling of a row are (F, L, F) temporaries that stay in cache).
    Gc4 = be.zeros((L, F, L, F))
    Gc = Gc4.reshape(p, p)
    h = Gx1 - 0.5 * m[None, :, None] * G11[:, None, :]
    scaled = not np.all(sd == 1.0)
    if be.name == "numpy":
        _center_rows(Gc4, G4, M4, h, m, s if scaled else None, upper)
    for i in range(L if be.name != "numpy" else 0):  # Gc = (Gx - (K + K.T)) * s_row * s_col, by lag rows
        row = G4[i, :F, :, :F] if M4 is None else G4[i, :F, :, :F] - M4[i, :F, :, :F]
        row = row - (h[i][:, :, None] * m[None, None, :] + m[:, None, None] * h[:, :, i][None, :, :])
        if scaled:
            row = row * s[:, None, None]
            row = row * s[None, None, :]
        Gc4[i] = row
    Z4 = st.Z.reshape(L, F1, C)
    S4 = st.S.reshape(L, F1)
    Sc = S4[:, :F] - m[None, :] * S4[:, F][:, None]  # sums of lagged centred x
    Zc = Z4[:, :F] - m[None, :, None] * Z4[:, F][:, None, :] - Sc[:, :, None] * my[None, None, :]
    Zc = Zc * s[None, :, None]
    Sc = Sc * s[None, :]
    ys = st.ysum - st.n * muy
    yq = st.ysq - 2 * muy * st.ysum + st.n * muy**2
    return Centered(Gc, Zc.reshape(p, C), Sc.reshape(p), st.n, ys, yq, upper=upper and be.name == "numpy")


def _center_rows(Gc4, G4, M4, h, m, s, upper: bool):
    """The loop of :func:`center` for numpy, in place: each lag row of the result is written from
    ``G4`` (minus ``M4``), then corrected and scaled where it lies, with one (F, L, F) buffer
    (two temporaries instead of eight per row).  ``upper``: only the blocks on and right of the
    block diagonal (lags ``j >= i``)."""
    L, F = Gc4.shape[0], Gc4.shape[1]
    buf = np.empty((F, L, F), dtype=Gc4.dtype)
    ss = None if s is None else (s[:, None] * s[None, :])[:, None, :]  # s_f s_g, (F, 1, F)
    for i in range(L):
        j0 = i if upper else 0
        out = Gc4[i, :, j0:, :]
        t = buf[:, : L - j0]
        if M4 is None:
            out[...] = G4[i, :F, j0:, :F]
        else:
            np.subtract(G4[i, :F, j0:, :F], M4[i, :F, j0:, :F], out=out)
        np.multiply(h[i][:, j0:, None], m[None, None, :], out=t)
        out -= t
        np.multiply(m[:, None, None], h[j0:, :, i][None, :, :], out=t)
        out -= t
        if ss is not None:
            out *= ss


def scores(test: Centered, W, be) -> dict:
    """Held-out scores of weights ``W`` (p, C) or (A, p, C) from test statistics alone.

    Returns float64 numpy arrays of shape (C,) or (A, C): ``r`` (Pearson), ``r2``
    (1 - SSE / SS about the test mean) and ``explained_variance`` (sklearn's definition).
    """
    if be.name == "numpy" and np.ndim(W) == 2:
        q = quad_diag(test.G, W)  # sum yhat^2
    else:
        GW = test.G @ W
        q = be.to_numpy(be.sum(W * GW, -2)).astype(np.float64)  # sum yhat^2
    sy = be.to_numpy(be.sum(test.S[:, None] * W, -2)).astype(np.float64)  # sum yhat
    syy = be.to_numpy(be.sum(test.Z * W, -2)).astype(np.float64)  # sum y*yhat
    return _scores_from_moments(test.n, test.ysum, test.ysq, sy, q, syy)


def quad_diag(G, W) -> np.ndarray:
    """``diag(W.T @ G @ W)`` (float64, (k,)) for a symmetric ``G`` (p, p) and ``W`` (p, k), numpy.

    From one triangle of ``G``: with ``G = L + L.T - D`` (``L`` its lower triangle with the
    diagonal ``D``), ``w.T G w = 2 w.T L w - w.T D w``, and ``L W`` is a triangular product
    (``?trmm``, ``p^2 k`` flops) instead of the general ``G @ W`` (``2 p^2 k``): half the flops of
    the held-out scores of every alpha and target of a fold, at the same BLAS speed.
    """
    from scipy.linalg import get_blas_funcs

    G = np.asarray(G)
    W = np.asarray(W)
    if G.dtype not in (np.float32, np.float64) or W.dtype != G.dtype or G.shape[0] < 2:
        return np.einsum("pk,pk->k", W, G @ W).astype(np.float64)
    # G (C order) read in Fortran order is G.T = G; W.T (k, p) is W's memory in Fortran order, so
    # (W.T @ L) is one ?trmm from the right with no copies
    Gf = G.T if G.flags.c_contiguous else np.asfortranarray(G)
    Wt = W.T if W.flags.c_contiguous else np.asfortranarray(W.T)
    trmm = get_blas_funcs("trmm", (Gf, Wt))
    WL = trmm(1.0, Gf, Wt, side=1, lower=1)  # (k, p): rows w.T L
    d = np.diagonal(G)
    q = 2.0 * np.einsum("kp,kp->k", WL, Wt, dtype=np.float64) - np.einsum("kp,p,kp->k", Wt, d, Wt, dtype=np.float64)
    return q


def _scores_from_moments(n, ys, yq, sy, q, syy) -> dict:
    vy = n * yq - ys**2
    vp = n * q - sy**2
    cov = n * syy - ys * sy
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.sqrt(vy * vp)
        sse = yq - 2 * syy + q
        sst = yq - ys**2 / n
        r2 = 1.0 - sse / sst
        mres = (ys - sy) / n
        ev = 1.0 - (sse / n - mres**2) / (sst / n)
    r = np.where(np.isfinite(r), r, 0.0)
    return {"r": r, "r2": r2, "explained_variance": ev}


def small_total(stats):
    """Sum of :class:`Stats` whose ``G`` is ``None`` (everything but the Gram)."""
    out = stats[0]
    for s in stats[1:]:
        out = Stats(None, out.Z + s.Z, out.S + s.S, out.n + s.n, out.xsum + s.xsum, out.xsq + s.xsq,
                    out.ysum + s.ysum, out.ysq + s.ysq)
    return out


def mean_centered_diag(xdata, mu, sd, d0: int, d1: int) -> float:
    """Mean diagonal of the lagged Gram matrix of ``(x - mu) / sd`` over all segments, from
    prefix sums of the samples (the diagonal of :func:`center`'s result without forming it)."""
    tot = np.zeros((d1 - d0 + 1, mu.shape[0]))
    for x in xdata:
        T = x.shape[0]
        z = ((np.asarray(x, dtype=np.float64) - mu) / sd) ** 2
        P = np.concatenate([np.zeros((1, z.shape[1])), np.cumsum(z, axis=0)])
        for i, d in enumerate(range(d0, d1 + 1)):
            if abs(d) >= T:
                continue
            tot[i] += P[T - d] if d >= 0 else P[T] - P[-d]
    return float(tot.mean())


# ----------------------------------------------------------------------------------------------
# designs: how a segment's predictors become columns (lags, or a lag basis)
# ----------------------------------------------------------------------------------------------
class LagDesign:
    """Columns ``x_f(t - d)`` for every lag ``d = d0 .. d1`` (``n_cols = n_lags`` per feature)."""

    def __init__(self, d0: int, d1: int, be):
        self.d0, self.d1, self.be = d0, d1, be
        self.n_cols = d1 - d0 + 1

    def stats(self, x, y, w=None) -> Stats:
        if w is not None:
            return weighted_stats(self, x, y, w)
        return segment_stats(x, y, self.d0, self.d1, self.be)

    def gram(self, x, w=None):
        if w is not None:
            return weighted_stats(self, x, None, w).G
        xa = self.be.asarray(np.concatenate([x, np.ones((x.shape[0], 1), dtype=x.dtype)], axis=1))
        return lagged_gram(xa, self.d0, self.d1, self.be)

    def rows(self, xa, a: int, b: int) -> np.ndarray:
        """Rows ``a:b`` of the explicit design of ``xa`` (T, F1), shape (b - a, n_cols * F1)."""
        from ._lagged import lagged_design

        lo, hi = _context(xa.shape[0], a, b, self.d0, self.d1)
        return np.asarray(lagged_design(xa[lo:hi], self.d0, self.d1))[a - lo:b - lo].reshape(b - a, -1)

    def mean_diag(self, xdata, mu, sd) -> float:
        return mean_centered_diag(xdata, mu, sd, self.d0, self.d1)

    def to_lags(self, W):
        """Weights (n_cols, F, C) as a kernel over lags (n_lags, F, C)."""
        return W

    def explicit(self, x) -> np.ndarray:
        """The (T, n_cols * F) design of (already centred) predictors ``x`` (dual path)."""
        from ._lagged import lagged_design

        return np.asarray(lagged_design(x, self.d0, self.d1)).reshape(x.shape[0], -1)


class BasisDesign:
    """Columns ``sum_l B[l, k] x_f(t - d_l)`` for the ``n_basis`` columns of a lag basis ``B``
    (n_lags, n_basis): the kernel of each feature is ``B @ w_f``, with ``p = n_basis x F``.

    The statistics are those of the basis-projected lagged design of the predictors augmented with
    the constant column, laid out as :class:`LagDesign`'s with "lags" = basis functions, so centring
    (:func:`center`) and everything downstream are unchanged and exact.
    """

    def __init__(self, d0: int, d1: int, B: np.ndarray, be):
        from ._lagged import basis_design

        self.d0, self.d1, self.B, self.be = d0, d1, np.asarray(B, dtype=np.float64), be
        self.n_cols = self.B.shape[1]
        self._design = basis_design

    def _u(self, x):
        xa = np.concatenate([x, np.ones((x.shape[0], 1), dtype=x.dtype)], axis=1)
        U = self._design(xa, self.d0, self.d1, self.B)
        return self.be.asarray(U.reshape(x.shape[0], -1))

    def rows(self, xa, a: int, b: int) -> np.ndarray:
        lo, hi = _context(xa.shape[0], a, b, self.d0, self.d1)
        return self._design(xa[lo:hi], self.d0, self.d1, self.B)[a - lo:b - lo].reshape(b - a, -1)

    def stats(self, x, y, w=None) -> Stats:
        if w is not None:
            return weighted_stats(self, x, y, w)
        U = self._u(x)
        x64 = np.asarray(x, dtype=np.float64)
        y64 = np.asarray(y, dtype=np.float64)
        return Stats(G=U.T @ U, Z=U.T @ self.be.asarray(y), S=self.be.sum(U, 0), n=x.shape[0],
                     xsum=x64.sum(0), xsq=(x64**2).sum(0), ysum=y64.sum(0), ysq=(y64**2).sum(0))

    def gram(self, x, w=None):
        if w is not None:
            return weighted_stats(self, x, None, w).G
        U = self._u(x)
        return U.T @ U

    def mean_diag(self, xdata, mu, sd) -> float:
        tot = 0.0
        for x in xdata:
            z = self._design((np.asarray(x, dtype=np.float64) - mu) / sd, self.d0, self.d1, self.B)
            tot = tot + (z**2).sum(0)
        return float(np.mean(tot))

    def to_lags(self, W):
        return np.einsum("lk,kfc->lfc", self.B, W)

    def explicit(self, x) -> np.ndarray:
        return self._design(x, self.d0, self.d1, self.B).reshape(x.shape[0], -1)



def _context(T: int, a: int, b: int, d0: int, d1: int):
    """The samples ``lo:hi`` whose lagged design reproduces rows ``a:b`` of the whole segment's."""
    return max(0, a - max(d1, 0)), min(T, b + max(-d0, 0))


def weighted_stats(design, x, y, w, chunk: int = 2048) -> Stats:
    """Statistics with sample weights ``w`` (T,): ``G = D.T diag(w) D``, ``Z = D.T diag(w) y``,
    ``S = D.T w``, ``n = sum(w)`` and weighted moments, so that centring (:func:`center`) uses
    weighted means and :func:`scores` gives weighted R², r and explained variance.

    Weights break the lag structure that makes :func:`._lagged.lagged_gram` cheap, so the design is
    formed explicitly, ``chunk`` rows at a time: ``T p^2`` flops instead of ``2 L F^2 T``.
    """
    be = design.be
    T, F = x.shape
    w = np.asarray(w, dtype=np.float64)
    xa = np.concatenate([x, np.ones((T, 1), dtype=x.dtype)], axis=1)
    p1 = design.n_cols * (F + 1)
    G = be.zeros((p1, p1))
    S = be.zeros((p1,))
    Z = None if y is None else be.zeros((p1, y.shape[1]))
    for a in range(0, T, chunk):
        b = min(T, a + chunk)
        D = be.asarray(design.rows(xa, a, b))
        Dw = D * be.asarray(w[a:b])[:, None]
        G += Dw.T @ D
        S += be.sum(Dw, 0)
        if Z is not None:
            Z += Dw.T @ be.asarray(y[a:b])
    x64 = np.asarray(x, dtype=np.float64)
    if y is None:
        ysum = ysq = np.zeros(1)
    else:
        y64 = np.asarray(y, dtype=np.float64)
        ysum, ysq = (w[:, None] * y64).sum(0), (w[:, None] * y64**2).sum(0)
    return Stats(G, Z, S, float(w.sum()), (w[:, None] * x64).sum(0), (w[:, None] * x64**2).sum(0), ysum, ysq)
