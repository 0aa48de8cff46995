"""Ridge solvers on sufficient statistics: fixed alpha, and all alphas per fold from one decomposition.

For a training Gram ``G = V diag(lam) V.T`` and cross-products ``Z``, the ridge solution for every
alpha is ``W(alpha) = V diag(1 / (lam + alpha)) V.T Z``: one eigendecomposition per fold serves the
whole alpha grid and every target, and the held-out scores of all ``W(alpha)`` come from the test
block's statistics (:func:`._suffstats.scores`).

On the CPU the eigenvectors are not needed: an orthogonal reduction of ``G`` to a symmetric band
matrix, ``G = Q B Q.T`` (:class:`BandPath`, the first stage of LAPACK's two-stage
tridiagonalisation, all matrix-matrix work), gives ``W(alpha) = Q (B + alpha I)^-1 Q.T Z``, where
each ``(B + alpha I)`` system is a banded Cholesky solve (``?pbsv``, in float64) and ``Q`` is
applied from its block reflectors without being formed.  This is exact (the same solution as the
eigendecomposition to rounding), about 2x cheaper than the Householder tridiagonalisation
(``?sytrd`` + ``?gtsv`` + ``?ormqr``, :class:`TridiagonalPath`, kept for reference) and 4x
cheaper than ``eigh`` for p = 2448 with one thread (``benchmarks/bench_trf.py`` times them side by
side).  On CUDA, ``eigh`` (cuSOLVER) is used.  Banded ridge (one penalty per feature space)
rescales the features of band ``b`` by ``sqrt(gamma_b)`` (``G -> D G D``), i.e. the penalty of
band ``b`` is ``alpha / gamma_b``, as in himalaya's ``BandedRidgeCV``.
"""

from __future__ import annotations

import numpy as np

from ._suffstats import Centered, center, full_gram, moments, scores, total

MAX_CHOLESKY = 6  # distinct per-target alphas solved by Cholesky rather than one eigh (CUDA)
# on the CPU, more distinct alphas than this take the band path: float64, one Cholesky per alpha
# (p^3/3) is cheaper up to 4 of them (standard problem, p = 2499, one thread: 3 alphas 0.39 s by
# Cholesky against 0.61 s by the band path); float32 keeps the band path, whose float64
# refinement is more accurate than a float32 Cholesky
MAX_CHOLESKY_TRI = {"float64": 4, "float32": 1}
BANDWIDTH = 128  # half-bandwidth of the band reduction (BandPath); chosen by measurement (docs/encoding.md)


class DowndatedBlocks:
    """Block statistics that hold one p x p Gram matrix whatever the number of blocks and folds.

    Every block keeps its small statistics (cross-products ``Z``, sums, moments); of the Grams only
    the total over all pieces is kept.  A fold's training Gram is that total minus the Gram of the
    blocks outside the training set, which is recomputed from their samples (one extra pass of
    lagged cross-products over the data for all folds together); the test Gram is the same
    recomputed matrix.  Peak memory of a fold: the total, the training and test Grams and one
    centred matrix (4 p x p), against ``n_blocks + 4`` when all block Grams are kept.

    Parameters
    ----------
    piece_stats : callable
        ``piece_stats(piece) -> Stats`` for a piece ``(segment, start, stop, block)`` of ``plan``.
    plan : FoldPlan
    gram : callable
        ``gram(piece) -> G`` (the raw lagged Gram of one piece, as in ``piece_stats``).
    """

    def __init__(self, piece_stats, plan, gram, n_jobs=None):
        from ._backend import ordered_map
        from ._suffstats import small_total

        self.plan = plan
        self.gram = gram
        self.G = None
        small = [[] for _ in range(plan.n_blocks)]
        for (_, _, _, b), st in zip(plan.pieces, ordered_map(piece_stats, plan.pieces, n_jobs)):
            if self.G is None:
                self.G = st.G
            else:
                self.G += st.G
            st.G = None
            small[b].append(st)
        self.small = [small_total(v) if v else None for v in small]
        self.used = sorted(b for b, v in enumerate(small) if v)

    def gram_of(self, blocks):
        blocks = set(int(b) for b in blocks)
        out = None
        for piece in self.plan.pieces:
            if piece[3] in blocks:
                g = self.gram(piece)
                if out is None:
                    out = g
                else:
                    out += g
        return out

    def fold_parts(self, tr, te):
        """One fold as ``(train, test, G_out)``: raw :class:`Stats` whose training ``G`` is the
        total Gram, to be centred minus ``G_out`` (the Gram of the blocks outside the training set;
        :func:`._suffstats.center` with ``minus``), and the test statistics."""
        from ._suffstats import Stats, small_total

        outside = sorted(set(self.used) - set(int(b) for b in tr))
        G_out = self.gram_of(outside)
        G_te = G_out if sorted(int(b) for b in te) == outside else self.gram_of(te)
        s_tr = small_total([self.small[b] for b in tr])
        s_te = small_total([self.small[b] for b in te])
        return (Stats(self.G, s_tr.Z, s_tr.S, s_tr.n, s_tr.xsum, s_tr.xsq, s_tr.ysum, s_tr.ysq),
                Stats(G_te, s_te.Z, s_te.S, s_te.n, s_te.xsum, s_te.xsq, s_te.ysum, s_te.ysq), G_out)

    def total_stats(self):
        """Raw statistics of all pieces (hands over the total Gram: call last)."""
        from ._suffstats import Stats, small_total

        s = small_total([self.small[b] for b in self.used])
        G, self.G = self.G, None
        return Stats(G, s.Z, s.S, s.n, s.xsum, s.xsq, s.ysum, s.ysq)


class KeptBlocks:
    """Every block's statistics kept, with the total Gram of all blocks formed once.

    A fold's training Gram is then the total minus the Grams of the blocks outside the training
    set, formed inside the centring pass (:func:`._suffstats.center` with ``minus``): one read of
    each of the two matrices per fold instead of summing the training blocks' Grams into a new
    p x p array (standard problem: 3 sums of p x p matrices per fold); the refit's statistics use
    the same total.  Peak memory of a fold: the blocks, the total and the two centred matrices.

    Parameters
    ----------
    blocks : list of Stats or None
        Per-block statistics (``None`` for blocks without samples).
    """

    def __init__(self, blocks):
        self.blocks = blocks
        self.used = [b for b, st in enumerate(blocks) if st is not None]
        # the sum in block order, as total(), so that the refit is unchanged by it; made here, not
        # lazily, so that folds run on several threads (n_jobs) only ever read it
        sts = [blocks[b] for b in self.used]
        G = sts[0].G + sts[1].G if len(sts) > 1 else sts[0].G.copy()
        for st in sts[2:]:
            G += st.G
        self.G = G

    def _total_gram(self):
        return self.G

    def fold_parts(self, tr, te):
        """As :meth:`DowndatedBlocks.fold_parts`."""
        from ._suffstats import Stats, small_total

        outside = sorted(set(self.used) - set(int(b) for b in tr))
        s_tr = small_total([self.blocks[b] for b in tr])
        st_te = total([self.blocks[b] for b in te])
        G_out = st_te.G if sorted(int(b) for b in te) == outside else total([self.blocks[b] for b in outside]).G
        return (Stats(self._total_gram(), s_tr.Z, s_tr.S, s_tr.n, s_tr.xsum, s_tr.xsq, s_tr.ysum, s_tr.ysq),
                st_te, G_out)

    def total_stats(self):
        """Raw statistics of all blocks (the total Gram; the same sums as :func:`total`)."""
        from ._suffstats import Stats, small_total

        s = small_total([self.blocks[b] for b in self.used])
        G = self._total_gram()
        return Stats(G, s.Z, s.S, s.n, s.xsum, s.xsq, s.ysum, s.ysq)


def fold_problem(block_stats, fold, L, scale, be, intercept=True, upper=False):
    """Centred (train, test) statistics of one fold ``(train blocks, test blocks)``, centred with
    the training blocks' means (and SDs).  ``block_stats`` is a list of per-block :class:`Stats`,
    a :class:`KeptBlocks` or a :class:`DowndatedBlocks`.  ``upper``: the centred Grams' upper
    block triangles only (see :func:`._suffstats.center`; for :func:`alpha_path_scores`)."""
    tr, te = fold
    if isinstance(block_stats, (DowndatedBlocks, KeptBlocks)):
        st_tr, st_te, G_out = block_stats.fold_parts(tr, te)
        mu, sd, muy = moments(st_tr, scale, intercept)
        ctr = center(st_tr, L, mu, sd, muy, be, minus=G_out, upper=upper)  # the total minus the Gram outside
        del st_tr, G_out
        return ctr, center(st_te, L, mu, sd, muy, be, upper=upper)
    st_tr, st_te = total([block_stats[i] for i in tr]), None
    mu, sd, muy = moments(st_tr, scale, intercept)
    ctr = center(st_tr, L, mu, sd, muy, be)
    del st_tr
    if st_te is None:
        st_te = total([block_stats[i] for i in te])
    return ctr, center(st_te, L, mu, sd, muy, be)


def iter_fold_problems(block_stats, folds, L, scale, be, intercept=True):
    """:func:`fold_problem` of each fold, made one fold at a time (so that a caller that is done
    with a fold frees its p x p arrays and the next fold reuses the memory)."""
    for fold in folds:
        yield fold_problem(block_stats, fold, L, scale, be, intercept)


def fold_problems(block_stats, folds, L, scale, be, intercept=True):
    """All folds' centred (train, test) statistics as a list (see :func:`iter_fold_problems`)."""
    return list(iter_fold_problems(block_stats, folds, L, scale, be, intercept))


REG_TYPES = ("ridge", "laplacian")


def chain_laplacian(n: int) -> np.ndarray:
    """Graph Laplacian of a chain of ``n`` nodes: 1, 2, ..., 2, 1 on the diagonal, -1 beside it."""
    R = np.zeros((n, n))
    if n < 2:
        return R
    i = np.arange(n - 1)
    R[i, i + 1] = R[i + 1, i] = -1.0
    R[np.arange(n), np.arange(n)] = 2.0
    R[0, 0] = R[-1, -1] = 1.0
    return R


def penalty_matrix(reg_type, n_features: int, n_lags: int):
    """The penalty ``R`` of ``||y - D w||^2 + alpha w.T R w`` in our lag-major layout, or ``None``
    for ridge (``R = I``).  As MNE's ``TimeDelayingRidge(reg_type=...)``: ``'laplacian'`` (or
    ``('laplacian', 'laplacian')``) penalises the squared differences between neighbouring lags of
    each feature and between neighbouring features at each lag; ``('laplacian', 'ridge')`` only
    the lags, ``('ridge', 'laplacian')`` only the features (in MNE neither adds the identity)."""
    from ..utils._check import check_option

    rt = (reg_type, reg_type) if isinstance(reg_type, str) else tuple(reg_type)
    if len(rt) != 2:
        raise ValueError(f"reg_type must be a string or a (lags, features) pair, got {reg_type!r}")
    for r in rt:
        check_option(r, REG_TYPES, "reg_type")
    time = rt[0] == "laplacian" and n_lags > 1
    feat = rt[1] == "laplacian" and n_features > 1
    if not time and not feat:
        return None
    R = np.zeros((n_lags * n_features,) * 2)
    if time:
        R += np.kron(chain_laplacian(n_lags), np.eye(n_features))
    if feat:
        R += np.kron(np.eye(n_lags), chain_laplacian(n_features))
    return R


def select_columns(c: Centered, idx, be) -> Centered:
    """Statistics of the columns ``idx`` only (per-predictor lag windows)."""
    if idx is None:
        return c
    full_gram(c)
    i = be.torch.as_tensor(idx, device=be.device) if be.name == "torch" else idx
    return Centered(c.G[i][:, i], c.Z[i], c.S[i], c.n, c.ysum, c.ysq)


def _penalized_scores(ctr, cte, alphas, R, be):
    """Held-out scores for a general penalty: one Cholesky of ``G + alpha R`` per alpha."""
    Rb = be.asarray(R)
    Ws = [be.solve_psd(ctr.G + float(a) * Rb, ctr.Z, overwrite=True) for a in alphas]
    W = be.torch.stack(Ws) if be.name == "torch" else np.stack(Ws)
    return scores(cte, W, be)


def _scaled(c: Centered, g) -> Centered:
    """Statistics of features multiplied by ``g`` (p,) (banded ridge)."""
    if g is None:
        return c
    return Centered(c.G * g[:, None] * g[None, :], c.Z * g[:, None], c.S * g, c.n, c.ysum, c.ysq, upper=c.upper)


def eig(G, be):
    lam, V = be.eigh(G)
    return be.maximum(lam, 0.0), V


class TridiagonalPath:
    """``W(alpha) = Q (T + alpha I)^-1 Q.T Z`` for many alphas from one ``?sytrd`` of ``G`` (CPU).

    Parameters
    ----------
    G : array (p, p)
        Symmetric positive semi-definite; float32 or float64 numpy array (not modified).
    """

    def __init__(self, G, overwrite: bool = False):
        from scipy.linalg import get_lapack_funcs
        from scipy.linalg.lapack import _compute_lwork

        G = np.asarray(G)
        if overwrite and G.flags.c_contiguous and G.dtype in (np.float32, np.float64):
            a = G.T  # G is symmetric: its transpose is the same matrix, Fortran-ordered, no copy
        else:
            a = np.array(G, order="F", copy=True)
        self.dtype = a.dtype
        self.p = a.shape[0]
        sytrd, sytrd_lwork = get_lapack_funcs(("sytrd", "sytrd_lwork"), (a,))
        lwork = _compute_lwork(sytrd_lwork, self.p, lower=1)
        a, d, e, tau, info = sytrd(a, lower=1, lwork=lwork, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"?sytrd failed with info={info}")
        self.d = d.astype(np.float64)
        self.e = e.astype(np.float64)
        self._refl = _shift_reflectors(a)
        self._tau = tau
        self._ormqr = get_lapack_funcs("ormqr", (a,))
        self._gtsv = get_lapack_funcs("gtsv", (self.d,))
        # eigenvalues of G lie in [min, max] of the Gershgorin discs of T
        self.scale = float(np.max(np.abs(self.d)) + 2 * (np.max(np.abs(self.e)) if self.p > 1 else 0.0))

    def apply(self, B, trans: str) -> np.ndarray:
        """``Q.T @ B`` (trans "T") or ``Q @ B`` (trans "N") for B (p, k); the first row is untouched."""
        B = np.asarray(B, dtype=self.dtype)
        if self.p == 1:
            return B.copy()
        rest = np.asfortranarray(B[1:])
        lwork = int(self._ormqr("L", trans, self._refl, self._tau, rest, -1)[1][0].real)
        out, _, info = self._ormqr("L", trans, self._refl, self._tau, rest, max(lwork, 1), overwrite_c=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"?ormqr failed with info={info}")
        return np.vstack([B[:1], out])

    def rotate(self, Z) -> np.ndarray:
        """``Q.T @ Z`` in float64 (the right-hand sides of the tridiagonal systems)."""
        return self.apply(Z, "T").astype(np.float64)

    def weights(self, QZ, alphas) -> np.ndarray:
        """``W`` (A, p, k) for rotated right-hand sides ``QZ`` (p, k) and ``alphas`` (A,)."""
        A = len(alphas)
        k = QZ.shape[1]
        U = np.empty((self.p, A * k), dtype=np.float64, order="F")
        for i, a in enumerate(alphas):
            U[:, i * k:(i + 1) * k] = self.solve_tri(QZ, float(a))
        W = self.apply(U, "N")
        return W.reshape(self.p, A, k).transpose(1, 0, 2)

    def solve_tri(self, QZ, alpha: float) -> np.ndarray:
        if self.p == 1:
            return QZ / (self.d[0] + alpha)
        _, _, _, x, info = self._gtsv(self.e, self.d + alpha, self.e, QZ)
        if info != 0:
            raise np.linalg.LinAlgError(f"?gtsv failed with info={info} (alpha={alpha})")
        return x


class BandPath:
    """``W(alpha) = Q (B + alpha I)^-1 Q.T Z`` for many alphas from one reduction of ``G`` to a
    symmetric band matrix ``B = Q.T G Q`` of half-bandwidth ``b`` (CPU).

    The reduction is the first stage of LAPACK's two-stage tridiagonalisation (``?sytrd_sy2sb``),
    written here with scipy's LAPACK/BLAS: for each panel of ``b`` columns, a blocked QR
    (``?geqrt``) of the part below the band gives ``b`` Householder reflectors ``I - V T V.T``,
    applied to both sides of the trailing matrix by a symmetric rank-2b update (``?symm`` +
    ``?syr2k``).  Unlike ``?sytrd``, whose half is memory-bound matrix-vector products, all of this
    is matrix-matrix work (2x faster at p = 2448 with one thread).  Each alpha is then a banded
    Cholesky solve (``?pbsv``, O(p b^2), in float64), and ``Q`` is applied from the stored
    reflectors.  Exact: the same solution as the eigendecomposition, to rounding.

    Parameters
    ----------
    G : array (p, p)
        Symmetric positive semi-definite, float32 or float64.
    overwrite : bool
        Work in ``G``'s memory when it is C-contiguous and writeable (``G`` is destroyed).
    bandwidth : int
        Half-bandwidth ``b`` of the band matrix.
    """

    def __init__(self, G, overwrite: bool = False, bandwidth: int = BANDWIDTH):
        from scipy.linalg import get_blas_funcs, get_lapack_funcs

        G = np.asarray(G)
        p = G.shape[0]
        if overwrite and G.flags.c_contiguous and G.flags.writeable and G.dtype in (np.float32, np.float64):
            buf = G.reshape(-1)  # symmetric: read in Fortran order it is the same matrix
        else:
            dt = G.dtype if G.dtype in (np.float32, np.float64) else np.dtype(np.float64)
            buf = np.array(G, dtype=dt, order="F").reshape(-1, order="F")
        self.dtype = buf.dtype
        self.p = p
        b = max(1, min(int(bandwidth), p - 1))
        self.b = b
        ab = np.zeros((b + 1, p), dtype=np.float64)  # lower band storage: ab[i, c] = B[c + i, c]
        geqrt = get_lapack_funcs("geqrt", (buf,))
        symm, syr2k, gemm = get_blas_funcs(("symm", "syr2k", "gemm"), (buf,))
        refl = []
        j, m = 0, p
        while True:
            A = buf[: m * m].reshape((m, m), order="F")  # the trailing matrix, lower triangle valid
            if m <= b + 1:
                for i in range(m):
                    ab[i, j:j + m - i] = np.diagonal(A, -i)
                break
            for i in range(b):
                ab[i, j:j + b - i] = np.diagonal(A[:b, :b], -i)
            kk = min(b, m - b)
            v, t, info = geqrt(kk, A[b:, :b])  # panel below the diagonal block = Q [R; 0]
            if info != 0:
                raise np.linalg.LinAlgError(f"?geqrt failed with info={info}")
            for c in range(b):  # R (kk x b, upper trapezoidal) is the band's outermost part
                r = min(c, kk - 1) + 1
                ab[b - c:b - c + r, j + c] = v[:r, c]
            V = np.tril(v[:, :kk], -1)
            V[np.arange(kk), np.arange(kk)] = 1.0
            V = np.asfortranarray(V)  # Fortran order: BLAS takes V (and W, Wc below) without copies
            m2 = m - b
            _compact_trailing(buf, m, b)
            A2 = buf[: m2 * m2].reshape((m2, m2), order="F")
            # Q.T A2 Q = A2 - V Wc.T - Wc V.T with W = A2 V T, Wc = W - V (T.T V.T W) / 2
            W = gemm(1.0, symm(1.0, A2, V, side=0, lower=1), t)
            Wc = W - 0.5 * gemm(1.0, V, t.T @ (V.T @ W))
            out = syr2k(-1.0, V, Wc, beta=1.0, c=A2, trans=0, lower=1, overwrite_c=1)
            if not np.shares_memory(out, buf):
                A2[...] = out
            refl.append((j + b, V, t))
            j, m = j + b, m2
        self._refl = refl
        self.ab = ab
        # eigenvalues of G lie in [min, max] of the Gershgorin discs of B
        s = np.abs(ab[0]).copy()
        for i in range(1, b + 1):
            s[: p - i] += np.abs(ab[i, : p - i])
            s[i:] += np.abs(ab[i, : p - i])
        self.scale = float(s.max())

    def apply(self, B, trans: str) -> np.ndarray:
        """``Q.T @ B`` (trans "T") or ``Q @ B`` (trans "N") for B (p, k), in the Gram's dtype."""
        from scipy.linalg import get_blas_funcs

        B = np.array(B, dtype=self.dtype, order="C", copy=True)
        gemm = get_blas_funcs("gemm", (B,))
        refl = self._refl if trans == "T" else self._refl[::-1]
        for k0, V, t in refl:
            tt = t.T if trans == "T" else t
            Bk = B[k0:]
            M = np.ascontiguousarray(tt @ (V.T @ Bk))
            # Bk -= V @ M, in place: Bk.T (Fortran order) += -M.T @ V.T, no (m, k) temporary
            out = gemm(-1.0, M.T, V, trans_b=1, beta=1.0, c=Bk.T, overwrite_c=1)
            if not np.shares_memory(out, Bk):
                Bk[...] = out.T
        return B

    def rotate(self, Z) -> np.ndarray:
        """``Q.T @ Z`` in float64 (the right-hand sides of the banded systems)."""
        return self.apply(Z, "T").astype(np.float64)

    def weights2d(self, QZ, alphas) -> np.ndarray:
        """``W`` (p, A*k), alpha-major columns, for rotated right-hand sides ``QZ`` (p, k)."""
        k = QZ.shape[1]
        U = np.empty((self.p, len(alphas) * k), dtype=np.float64)
        for i, a in enumerate(alphas):
            U[:, i * k:(i + 1) * k] = self.solve_tri(QZ, float(a))
        return self.apply(U, "N")

    def weights(self, QZ, alphas) -> np.ndarray:
        """``W`` (A, p, k) for rotated right-hand sides ``QZ`` (p, k) and ``alphas`` (A,)."""
        k = QZ.shape[1]
        return self.weights2d(QZ, alphas).reshape(self.p, len(alphas), k).transpose(1, 0, 2)

    def solve_tri(self, QZ, alpha: float) -> np.ndarray:
        """``(B + alpha I)^-1 QZ`` (banded Cholesky, float64)."""
        from scipy.linalg import LinAlgError, solveh_banded

        if self.p == 1:
            return QZ / (self.ab[0, 0] + alpha)
        ab = self.ab.copy()
        ab[0] += alpha
        try:
            return solveh_banded(ab, QZ, lower=True, check_finite=False)
        except LinAlgError:
            pass
        # not positive definite to rounding (alpha at the Gram's rounding level): banded LU with
        # partial pivoting, as ?gtsv on the tridiagonal path
        from scipy.linalg import solve_banded

        b = self.b
        full = np.zeros((2 * b + 1, self.p))
        full[b:] = ab  # lower part: full[b + i, c] = B[c + i, c]
        for i in range(1, b + 1):  # upper part: full[b - i, c] = B[c - i, c] = B[c, c - i]
            full[b - i, i:] = ab[i, : self.p - i]
        try:
            return solve_banded((b, b), full, QZ, check_finite=False)
        except LinAlgError as err:
            raise np.linalg.LinAlgError(f"banded solve failed (alpha={alpha}): {err}") from None


def _compact_trailing(buf, m: int, b: int):
    """Move the trailing block ``A[b:, b:]`` of the Fortran-ordered m x m matrix at the start of
    ``buf`` to the start of ``buf`` as a Fortran-ordered (m-b) x (m-b) matrix, in place.

    Column ``j`` goes to ``j (m-b)``, from ``(j+b) m + b``: never behind its source, so columns
    copied in increasing order, in runs whose target ends before the next run's source begins,
    only overwrite what has been read."""
    m2 = m - b
    A = buf[: m * m].reshape((m, m), order="F")
    j0 = 0
    while j0 < m2:
        # the target of columns j0..j1-1 ends at j1 m2, at or before the source of column j0
        j1 = max(j0 + 1, min(m2, ((j0 + b) * m + b) // m2))
        dst = buf[j0 * m2:j1 * m2].reshape((m2, j1 - j0), order="F")
        dst[...] = A[b:, b + j0:b + j1]
        j0 = j1


def _shift_reflectors(a: np.ndarray) -> np.ndarray:
    """``a[1:, :-1]`` as a Fortran-ordered (p-1, p-1) array made inside ``a``'s memory.

    Column ``j`` of the result starts at ``j (p-1)`` in the buffer, at or before where its source
    ``a[1:, j]`` starts (``j p + 1``), so copying the columns in increasing order only overwrites
    what has been read (each column copy is buffered by numpy where source and target overlap).
    """
    p = a.shape[0]
    if p < 2:
        return np.zeros((0, 0), dtype=a.dtype, order="F")
    if not (a.flags.f_contiguous and a.flags.writeable):
        return np.asfortranarray(a[1:, :-1])
    buf = a.reshape(-1, order="F")  # a view (a is Fortran-contiguous)
    for j in range(p - 1):
        buf[j * (p - 1):(j + 1) * (p - 1)] = buf[j * p + 1:(j + 1) * p]
    return buf[: (p - 1) ** 2].reshape((p - 1, p - 1), order="F")


def _use_tridiagonal(be) -> bool:
    """The eigenvector-free path runs on CPU backends (LAPACK through scipy)."""
    return not (be.name == "torch" and str(be.device) != "cpu")


def _tridiagonal_ok(tri: TridiagonalPath, alphas) -> bool:
    """Alphas above the Gram's rounding level (a few ulps of its largest eigenvalue), so that
    ``T + alpha I`` is positive definite; below it the eigendecomposition, which clips negative
    rounding eigenvalues at 0, is the safer route."""
    return float(np.min(alphas)) > 4 * np.finfo(tri.dtype).eps * tri.scale


def alpha_path_scores(ctr: Centered, cte: Centered, alphas, be, g=None, decomp=None,
                      max_elements: int = 2**26, overwrite: bool = False, penalty=None):
    """Held-out scores of ridge fits for every alpha: dict of (A, C) float64 arrays.

    ``g`` (p,) multiplies the features (banded ridge); ``decomp`` reuses ``(lam, V)`` of the
    (scaled) training Gram.  Targets are processed in batches of at most ``max_elements``
    ``A * p * C`` numbers.  Without ``decomp``, CPU backends use the band path
    (:class:`BandPath`) and return ``None`` as the decomposition.
    """
    if penalty is not None:
        if g is not None:
            raise ValueError("a Laplacian penalty cannot be combined with banded ridge")
        return _penalized_scores(full_gram(ctr), full_gram(cte), alphas, penalty, be), None
    if decomp is not None or not _use_tridiagonal(be):
        full_gram(ctr), full_gram(cte)
    ctr_s = _scaled(ctr, g)
    if decomp is None and _use_tridiagonal(be):
        alphas64 = np.asarray(alphas, dtype=np.float64)
        Gn = be.to_numpy(ctr_s.G)
        # the training Gram (or its scaled copy) may be factorised in place when it is ours and
        # every alpha is safely above its rounding level (the trace bounds the largest eigenvalue)
        own = (overwrite or ctr_s is not ctr) and be.name == "numpy" and \
            float(np.min(alphas64)) > 4 * np.finfo(Gn.dtype).eps * float(np.trace(Gn))
        if not own:  # a copy is reduced (it reads the lower triangle), and eigh may follow
            full_gram(ctr_s)
        tri = BandPath(Gn, overwrite=own)
        if own or _tridiagonal_ok(tri, alphas64):
            return _tridiagonal_scores(tri, ctr_s, cte, alphas64, be, g, max_elements), None
        full_gram(cte)
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


def _tridiagonal_scores(tri, ctr_s, cte, alphas, be, g, max_elements):
    QZ = tri.rotate(be.to_numpy(ctr_s.Z))  # (p, C)
    p, C = QZ.shape
    A = len(alphas)
    step = max(1, int(max_elements // max(1, A * p)))
    gn = None if g is None else be.to_numpy(g).astype(tri.dtype)
    parts = []
    for c0 in range(0, C, step):
        W = tri.weights2d(QZ[:, c0:c0 + step], alphas)  # (p, A * Cb): scored together (one ?trmm with the test Gram)
        cb = W.shape[1] // A
        if gn is not None:
            W *= gn[:, None]
        Zb = cte.Z[:, c0:c0 + step]
        Zb = Zb.repeat(1, A) if be.name == "torch" else np.tile(Zb, (1, A))  # alpha-major, as W
        test = Centered(cte.G, Zb, cte.S, cte.n, np.tile(cte.ysum[c0:c0 + step], A),
                        np.tile(cte.ysq[c0:c0 + step], A))
        sc = scores(test, be.asarray(W), be)
        parts.append({k: v.reshape(A, cb) for k, v in sc.items()})
    return {k: np.concatenate([pt[k] for pt in parts], axis=1) for k in parts[0]}


def solve(c: Centered, alpha, be, g=None, decomp=None, penalty=None):
    """Ridge weights (p, C) for a scalar alpha or one alpha per target (C,); with ``penalty`` R,
    the weights minimising ``||y - D w||^2 + alpha w.T R w`` (one Cholesky per distinct alpha)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    if penalty is not None:
        Rb = be.asarray(penalty)
        W = be.zeros(c.Z.shape)
        a_t = np.broadcast_to(alpha, (c.Z.shape[1],))
        for a in np.unique(a_t):
            cols = np.flatnonzero(a_t == a)
            idx = be.torch.as_tensor(cols, device=be.device) if be.name == "torch" else cols
            W[:, idx] = be.solve_psd(c.G + float(a) * Rb, c.Z[:, idx], overwrite=True)
        return W
    cs = _scaled(c, g)
    if alpha.ndim == 0 or np.all(alpha == alpha.flat[0]):
        a = float(alpha.flat[0])
        if decomp is None:
            W = be.solve_psd(_plus_diag(cs.G, a, be), cs.Z, overwrite=True)
        else:
            lam, V = decomp
            W = V @ ((1.0 / (lam + a))[:, None] * (V.T @ cs.Z))
    elif decomp is None and _use_tridiagonal(be) and len(np.unique(alpha)) > _max_cholesky_tri(cs.G):
        # several distinct alphas on the CPU: one band reduction, one banded solve per alpha
        tri = BandPath(be.to_numpy(cs.G))
        if not _tridiagonal_ok(tri, alpha):
            return solve(c, alpha, be, g, decomp=eig(cs.G, be))
        Zn = be.to_numpy(cs.Z)

        def band_solve(R):
            QR = tri.rotate(R)
            U = np.empty_like(QR)
            for a in np.unique(alpha):
                cols = np.flatnonzero(alpha == a)
                U[:, cols] = tri.solve_tri(np.asfortranarray(QR[:, cols]), float(a))
            return tri.apply(U, "N").astype(np.float64)

        Wn = band_solve(Zn)
        if tri.dtype != np.float64:
            # one step of iterative refinement with a float64 residual: the float32 reduction's
            # error (~1e-4 relative on the standard problem) falls to that of the float32
            # statistics themselves (~1e-5), below a float32 Cholesky's
            G64 = be.to_numpy(cs.G).astype(np.float64)
            Wn += band_solve(Zn.astype(np.float64) - G64 @ Wn - Wn * alpha[None, :])
        W = be.asarray(Wn)
    elif decomp is None and len(np.unique(alpha)) <= MAX_CHOLESKY:
        # a few distinct alphas: one Cholesky (p^3/3 flops) per alpha beats an eigh (~4 p^3)
        W = be.zeros(cs.Z.shape)
        for a in np.unique(alpha):
            cols = np.flatnonzero(alpha == a)
            idx = be.torch.as_tensor(cols, device=be.device) if be.name == "torch" else cols
            W[:, idx] = be.solve_psd(_plus_diag(cs.G, float(a), be), cs.Z[:, idx], overwrite=True)
    else:
        lam, V = eig(cs.G, be) if decomp is None else decomp
        Q = V.T @ cs.Z
        a = be.asarray(alpha)
        W = V @ (Q / (lam[:, None] + a[None, :]))
    if g is not None:
        W = W * g[:, None]
    return W


def _max_cholesky_tri(G) -> int:
    """Distinct alphas up to which :func:`solve` factorises by Cholesky on the CPU."""
    return MAX_CHOLESKY_TRI["float64" if "64" in str(G.dtype) else "float32"]


def _plus_diag(G, a: float, be):
    """``G + a I`` as a new array, without forming the identity (one p x p array)."""
    out = G.clone() if be.name == "torch" else G.copy()
    if be.name == "torch":
        out.diagonal().add_(a)
    else:
        out.flat[:: out.shape[0] + 1] += a
    return out


def refit_stats(block_stats, L, scale, be, intercept=True):
    st = total(block_stats)
    mu, sd, muy = moments(st, scale, intercept)
    return center(st, L, mu, sd, muy, be), (mu, sd, muy)


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine (None where unknown)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def memory_limit() -> int | None:
    """The memory a fit may plan to use: 90 % of physical memory, or what the kernel reports as
    available now (``MemAvailable``) where that is less."""
    phys = physical_memory()
    lim = None if phys is None else int(0.9 * phys)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    lim = avail if lim is None else min(lim, avail)
                    break
    except OSError:
        pass
    return lim


def cv_memory(p1: int, itemsize: int, n_blocks: int, downdate: bool, n_workers: int = 1) -> int:
    """Peak bytes of the p x p arrays of a cross-validated fit (``p1 = n_lags * (n_features + 1)``).

    Kept blocks (:class:`KeptBlocks`): every block's Gram and their total plus, per fold in flight,
    the two centred matrices and one temporary (the band reduction works in place; its reflectors
    take half a matrix).  Downdated: the total Gram plus, per fold in flight, the Gram outside the
    training set and the two centred matrices.
    """
    per = p1 * p1 * itemsize
    if downdate:
        return per * (1 + 3 * n_workers)
    return per * (n_blocks + 3 * n_workers)


def check_memory(p1, itemsize, n_blocks, downdate, n_workers, name, n_features, n_lags,
                 limit: int | None = None):
    """Refuse up front a fit whose p x p arrays would not fit in memory, naming what reduces it."""
    limit = memory_limit() if limit is None else limit
    if limit is None:
        return
    need = cv_memory(p1, itemsize, n_blocks, downdate, n_workers)
    if need > limit:
        gib = 2**30
        half = cv_memory(p1, min(itemsize, 4), n_blocks, downdate, 1)
        raise MemoryError(
            f"{name}: {n_features} features x {n_lags} lags (p = {n_features * n_lags}) needs about {need / gib:.1f} GiB "
            f"for its p x p matrices ({'1' if downdate else n_blocks} + {3 * n_workers} of "
            f"{p1 * p1 * itemsize / gib:.2f} GiB), more than the {limit / gib:.1f} GiB this machine can give "
            f"now. "
            f"What reduces it: dtype='float32' ({half / gib:.1f} GiB with n_jobs=1); fewer lags "
            f"(a narrower tmin..tmax, or a lower sfreq); a lag basis (lag_basis=..., p = n_features x "
            f"n_basis); fewer features (PCA of the units); and, when there are fewer samples than p, "
            f"solver='dual' (memory n_samples^2)."
        )


# ----------------------------------------------------------------------------------------------
# the dual (kernel) path: fewer samples than coefficients
# ----------------------------------------------------------------------------------------------
def _centred_design(pieces, design, mu, sd):
    """The explicit design (n, p) of ``(x - mu) / sd`` over a list of pieces (each lagged on its own)."""
    return np.concatenate([design.explicit((np.asarray(x, dtype=np.float64) - mu) / sd) for x in pieces])


def dual_fit(xs, ys, design, alphas, scale, intercept, xtest=None):
    """Ridge in the dual: ``W = D.T U (Lam + alpha)^-1 U.T y`` from ``K = D D.T = U Lam U.T``.

    ``xs``, ``ys``: training pieces (each lagged on its own); ``alphas``: (A,) grid or (C,) per
    target (``per_target``).  Returns the moments ``(mu, sd, muy)``, and either the weights
    (p, C) for per-target alphas (``xtest`` None) or the held-out predictions (A, n_test, C) of
    every alpha for the test pieces ``xtest``.  Exact (the same solution as the primal) and needs
    ``n_samples^2 + n_samples x p`` numbers instead of ``p^2``.
    """
    from scipy import linalg

    from ._suffstats import Stats, moments

    x64 = [np.asarray(x, dtype=np.float64) for x in xs]
    y = np.concatenate([np.asarray(v, dtype=np.float64) for v in ys])
    F = x64[0].shape[1]
    st = Stats(None, None, None, len(y), sum((x.sum(0) for x in x64), np.zeros(F)),
               sum(((x**2).sum(0) for x in x64), np.zeros(F)), y.sum(0), (y**2).sum(0))
    mu, sd, muy = moments(st, scale, intercept)
    D = _centred_design(x64, design, mu, sd)
    K = D @ D.T
    lam, U = linalg.eigh(K, driver="evd", overwrite_a=True, check_finite=False)
    del K
    lam = np.maximum(lam, 0.0)
    Q = U.T @ (y - muy)  # (n, C)
    alphas = np.asarray(alphas, dtype=np.float64)
    if xtest is None:  # one alpha per target
        W = D.T @ (U @ (Q / (lam[:, None] + alphas[None, :])))
        return W, (mu, sd, muy)
    KU = _centred_design(xtest, design, mu, sd) @ D.T @ U  # (n_test, n)
    preds = np.stack([KU @ (Q / (lam[:, None] + a)) for a in alphas]) + muy
    return preds, (mu, sd, muy)


def check_dual_memory(n: int, p: int, n_workers: int, name: str, limit: int | None = None):
    """Refuse up front a dual fit whose design (n x p) and kernels (n x n, twice) would not fit."""
    limit = memory_limit() if limit is None else limit
    if limit is None:
        return
    need = 8 * (n * p + 2 * n * n) * max(1, n_workers)
    if need > limit:
        gib = 2**30
        raise MemoryError(
            f"{name}: the dual solver for {n} samples x p = {p} needs about {need / gib:.1f} GiB (the explicit "
            f"design and two {n} x {n} kernels{' per fold in flight' if n_workers > 1 else ''}), more than the "
            f"{limit / gib:.1f} GiB this machine can give now. What reduces it: a lag basis (lag_basis=...), "
            f"fewer lags or features, or solver='primal' (memory p^2)."
        )
