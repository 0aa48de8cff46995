"""The lag-structured kernels against explicit lagged designs, folds, and statistics algebra."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.encoding._backend import get_backend
from neurorrn.encoding._folds import make_folds
from neurorrn.encoding._lagged import lag_range, lagged_cross, lagged_design, lagged_gram, lagged_predict, lagged_sum
from neurorrn.encoding._suffstats import center, moments, scores, segment_stats, total

BACKENDS = [("numpy", "float64"), ("torch", "float64")]


@pytest.mark.parametrize("backend,dtype", BACKENDS)
@pytest.mark.parametrize("d0,d1,T", [(0, 7, 80), (-4, 5, 90), (-8, -2, 75), (3, 9, 60), (0, 6, 9), (-3, 2, 7)])
def test_lagged_kernels_match_explicit_design(backend, dtype, d0, d1, T, rng):
    be = get_backend(backend, dtype, "cpu" if backend == "torch" else None)
    x = rng.standard_normal((T, 3))
    y = rng.standard_normal((T, 2))
    D = lagged_design(x, d0, d1).reshape(T, -1)
    xb = be.asarray(x)
    np.testing.assert_allclose(be.to_numpy(lagged_gram(xb, d0, d1, be)), D.T @ D, atol=1e-12)
    np.testing.assert_allclose(be.to_numpy(lagged_cross(xb, be.asarray(y), d0, d1, be)), D.T @ y, atol=1e-12)
    G, Z = lagged_gram(xb, d0, d1, be, y=be.asarray(y))  # both from one pass where d0 == 0
    np.testing.assert_allclose(be.to_numpy(G), D.T @ D, atol=1e-12)
    np.testing.assert_allclose(be.to_numpy(Z), D.T @ y, atol=1e-12)
    np.testing.assert_allclose(be.to_numpy(lagged_sum(xb, d0, d1, be)), D.sum(0), atol=1e-12)
    W = rng.standard_normal((d1 - d0 + 1, 3, 2))
    np.testing.assert_allclose(be.to_numpy(lagged_predict(xb, be.asarray(W), d0, d1, be)),
                               D @ W.reshape(-1, 2), atol=1e-12)


def test_lagged_design_matches_mne_delays():
    from mne.decoding.receptive_field import _delay_time_series

    x = np.arange(1.0, 6.0)[:, None]
    ours = lagged_design(x, -1, 2)[:, :, 0]
    np.testing.assert_array_equal(ours, _delay_time_series(x, -0.1, 0.2, 10.0)[:, 0, :])
    np.testing.assert_array_equal(lag_range(-0.1, 0.2, 10.0), [-1, 0, 1, 2])


def test_center_and_scores_are_exact(rng):
    """Centring/scaling with other data's means, and held-out scores, from statistics alone."""
    be = get_backend("numpy", "float64")
    d0, d1 = -2, 4
    x_tr, x_te = rng.standard_normal((200, 3)) + 3, rng.standard_normal((150, 3)) * 2 + 1
    y_tr, y_te = rng.standard_normal((200, 2)) + 5, rng.standard_normal((150, 2)) - 1
    st_tr, st_te = segment_stats(x_tr, y_tr, d0, d1, be), segment_stats(x_te, y_te, d0, d1, be)
    mu, sd, muy = moments(st_tr, scale=True)
    np.testing.assert_allclose(mu, x_tr.mean(0))
    np.testing.assert_allclose(sd, x_tr.std(0))
    c = center(st_te, d1 - d0 + 1, mu, sd, muy, be)
    D = lagged_design((x_te - mu) / sd, d0, d1).reshape(150, -1)
    np.testing.assert_allclose(c.G, D.T @ D, atol=1e-9)
    np.testing.assert_allclose(c.Z, D.T @ (y_te - muy), atol=1e-9)
    np.testing.assert_allclose(c.S, D.sum(0), atol=1e-9)
    W = rng.standard_normal((D.shape[1], 2))
    sc = scores(c, W, be)
    yhat = D @ W + muy
    for j in range(2):
        np.testing.assert_allclose(sc["r"][j], np.corrcoef(yhat[:, j], y_te[:, j])[0, 1], rtol=1e-9)
    from sklearn.metrics import explained_variance_score, r2_score

    np.testing.assert_allclose(sc["r2"], r2_score(y_te, yhat, multioutput="raw_values"), rtol=1e-9)
    np.testing.assert_allclose(sc["explained_variance"],
                               explained_variance_score(y_te, yhat, multioutput="raw_values"), rtol=1e-9)


@pytest.mark.parametrize("backend,dtype", BACKENDS + [("torch", "float32")])
def test_total_and_center_of_several_blocks(backend, dtype, rng):
    """Summed block statistics (accumulated in place) and their centring equal the explicit
    lagged design of the concatenated blocks' (x - mu) / sd, and leave the blocks untouched."""
    be = get_backend(backend, dtype, "cpu" if backend == "torch" else None)
    d0, d1 = 0, 5
    xs = [rng.standard_normal((n, 4)) * 2 + 1 for n in (60, 70, 80, 90)]
    ys = [rng.standard_normal((n, 3)) + 2 for n in (60, 70, 80, 90)]
    blocks = [segment_stats(x, y, d0, d1, be) for x, y in zip(xs, ys)]
    before = [be.to_numpy(b.G).copy() for b in blocks]
    st = total(blocks)
    for b, g in zip(blocks, before):
        np.testing.assert_array_equal(be.to_numpy(b.G), g)
    assert st.n == 300
    mu, sd, muy = moments(st, scale=True)
    c = center(st, d1 - d0 + 1, mu, sd, muy, be)
    D = np.concatenate([lagged_design((x - mu) / sd, d0, d1).reshape(len(x), -1) for x in xs])
    tol = 1e-9 if dtype == "float64" else 2e-4
    G = be.to_numpy(c.G)
    np.testing.assert_allclose(G, D.T @ D, atol=tol * np.abs(D.T @ D).max())
    np.testing.assert_allclose(G, G.T, atol=(1e-13 if dtype == "float64" else 1e-5) * np.abs(G).max())
    np.testing.assert_allclose(be.to_numpy(c.Z), D.T @ (np.concatenate(ys) - muy), atol=tol * 300)


def test_folds_contiguous_segments_and_cuts():
    plan = make_folds([100] * 6, cv=3, n_lags=5)
    assert len(plan.folds) == 3 and not plan.cut and plan.n_blocks == 3
    # two segments, 4 folds: cut inside segments, each block contiguous
    plan = make_folds([100, 60], cv=4, n_lags=5)
    assert plan.cut and len(plan.folds) == 4
    covered = sorted((s, lo, hi) for s, lo, hi, _ in plan.pieces)
    assert covered[0][:2] == (0, 0) and sum(hi - lo for _, lo, hi in covered) == 160
    # groups: one label per segment, kept together
    plan = make_folds([50, 50, 50, 50], cv=2, groups=["a", "a", "b", "c"], n_lags=5)
    blocks_of_seg = {s: b for s, _, _, b in plan.pieces}
    assert blocks_of_seg[0] == blocks_of_seg[1]


def test_folds_reject_shuffled_splits():
    from sklearn.model_selection import KFold

    with pytest.raises(ValueError, match="folds look shuffled"):
        make_folds([1000], cv=KFold(5, shuffle=True, random_state=0), n_lags=10)
    with pytest.raises(ValueError, match="cv must be >= 2"):
        make_folds([1000], cv=1)
    with pytest.raises(ValueError, match="groups has 3 labels"):
        make_folds([10, 10], cv=2, groups=[1, 2, 3])


@pytest.mark.parametrize("backend,dtype", BACKENDS)
def test_per_target_solve_cholesky_equals_eigh(backend, dtype, rng):
    from neurorrn.encoding._solve import eig, refit_stats, solve

    be = get_backend(backend, dtype, "cpu" if backend == "torch" else None)
    x, y = rng.standard_normal((300, 3)), rng.standard_normal((300, 5))
    c, _ = refit_stats([segment_stats(x, y, 0, 4, be)], 5, False, be)
    alpha = np.array([1.0, 10.0, 1.0, 100.0, 10.0])
    W_chol = be.to_numpy(solve(c, alpha, be))
    W_eigh = be.to_numpy(solve(c, alpha, be, decomp=eig(c.G, be)))
    np.testing.assert_allclose(W_chol, W_eigh, atol=1e-10)
    G, Z = be.to_numpy(c.G), be.to_numpy(c.Z)
    np.testing.assert_allclose(W_chol[:, 3], np.linalg.solve(G + 100.0 * np.eye(len(G)), Z[:, 3]), atol=1e-10)


@pytest.mark.parametrize("backend,dtype", BACKENDS + [("numpy", "float32"), ("torch", "float32")])
def test_tridiagonal_path_equals_eigendecomposition(backend, dtype, rng):
    """The eigenvector-free CPU path (?sytrd + ?gtsv + ?ormqr) gives the eigh path's weights and
    scores for every alpha, with and without banded feature scaling, and per-target solves."""
    from neurorrn.encoding._solve import TridiagonalPath, alpha_path_scores, eig, refit_stats, solve

    be = get_backend(backend, dtype, "cpu" if backend == "torch" else None)
    tol = 1e-9 if dtype == "float64" else 2e-3
    x = rng.standard_normal((400, 4)) @ rng.standard_normal((4, 4))   # correlated predictors
    y = rng.standard_normal((400, 7))
    c_tr, _ = refit_stats([segment_stats(x[:300], y[:300], 0, 5, be)], 6, True, be)
    c_te, _ = refit_stats([segment_stats(x[300:], y[300:], 0, 5, be)], 6, True, be)
    alphas = np.logspace(-1, 4, 6)
    G, Z = be.to_numpy(c_tr.G).astype(np.float64), be.to_numpy(c_tr.Z).astype(np.float64)
    tri = TridiagonalPath(be.to_numpy(c_tr.G))
    W = tri.weights(tri.rotate(be.to_numpy(c_tr.Z)), alphas)
    for a, w in zip(alphas, W):
        np.testing.assert_allclose(w, np.linalg.solve(G + a * np.eye(len(G)), Z), rtol=tol, atol=tol * np.abs(w).max())
    for g in (None, be.asarray(rng.uniform(0.5, 2.0, G.shape[0]))):
        fast, dec = alpha_path_scores(c_tr, c_te, alphas, be, g=g)
        assert dec is None
        cs = c_tr if g is None else type(c_tr)(c_tr.G * g[:, None] * g[None, :], c_tr.Z * g[:, None],
                                               c_tr.S * g, c_tr.n, c_tr.ysum, c_tr.ysq)
        ref, _ = alpha_path_scores(c_tr, c_te, alphas, be, g=g, decomp=eig(cs.G, be))
        for k in ("r", "r2", "explained_variance"):
            np.testing.assert_allclose(fast[k], ref[k], rtol=tol, atol=tol)
    alpha = rng.choice(alphas, 7)
    alpha[:5] = alphas[:5]                       # five distinct alphas: the tridiagonal solve
    np.testing.assert_allclose(be.to_numpy(solve(c_tr, alpha, be)),
                               be.to_numpy(solve(c_tr, alpha, be, decomp=eig(c_tr.G, be))),
                               rtol=tol, atol=tol * float(np.abs(Z).max()) / alphas[0])
    one = TridiagonalPath(np.array([[4.0]]))     # p = 1
    np.testing.assert_allclose(one.weights(one.rotate(np.array([[2.0, 4.0]])), [0.0, 4.0])[:, 0], [[0.5, 1.0], [0.25, 0.5]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("p,b", [(1, 4), (2, 4), (7, 3), (23, 4), (40, 6), (41, 128)])
def test_band_path_solves_every_alpha(p, b, dtype, rng):
    """The band reduction (?geqrt + ?symm/?syr2k, then banded Cholesky per alpha) gives
    ``(G + alpha I)^-1 Z`` for every alpha, for band widths that do and do not divide p, in the
    Gram's memory (overwrite) or on a copy, and keeps the eigenvalues of G."""
    from neurorrn.encoding._solve import BandPath

    X = rng.standard_normal((3 * p + 5, p)) @ rng.standard_normal((p, p))  # correlated columns
    G = (X.T @ X).astype(dtype)
    Z = rng.standard_normal((p, 5))
    alphas = np.array([0.1, 1.0, 30.0])
    G64 = G.astype(np.float64)
    tol = 1e-9 if dtype == "float64" else 2e-3
    for overwrite in (False, True):
        Gw = G.copy()
        band = BandPath(Gw, overwrite=overwrite, bandwidth=b)
        if not overwrite:
            np.testing.assert_array_equal(Gw, G)
        W = band.weights(band.rotate(Z), alphas)
        for a, w in zip(alphas, W):
            ref = np.linalg.solve(G64 + a * np.eye(p), Z)
            np.testing.assert_allclose(w, ref, rtol=tol, atol=tol * np.abs(ref).max())
        B = np.zeros((p, p))
        for i in range(band.ab.shape[0]):
            B[np.arange(i, p), np.arange(p - i)] = band.ab[i, :p - i]
        B = B + np.tril(B, -1).T
        lam = np.linalg.eigvalsh(G64)
        np.testing.assert_allclose(np.linalg.eigvalsh(B), lam, atol=tol * lam.max())
        assert band.scale >= lam.max() * (1 - tol)


def test_band_path_indefinite_to_rounding_falls_back_to_lu(rng):
    """Where ``B + alpha I`` is not positive definite (a negative shift here), the banded Cholesky
    fails and the banded LU solve still gives ``(G + alpha I)^-1 Z``."""
    from neurorrn.encoding._solve import BandPath

    p = 30
    X = rng.standard_normal((100, p))
    G = X.T @ X
    lam = np.linalg.eigvalsh(G)
    alpha = -0.5 * (lam[0] + lam[1])                 # between the two smallest eigenvalues: indefinite
    Z = rng.standard_normal((p, 2))
    band = BandPath(G, bandwidth=4)
    w = band.weights(band.rotate(Z), [alpha])[0]
    np.testing.assert_allclose(w, np.linalg.solve(G + alpha * np.eye(p), Z), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("lo,hi", [(0, 6), (-4, 5), (-8, -2), (3, 9), (0, 40)])
@pytest.mark.parametrize("chunk", [1, 7, 1024])
def test_window_products_in_sample_blocks_match_explicit_sums(lo, hi, chunk, rng):
    """The blocked lag products ``sum_t x[t].T z[t + lag]`` (zero outside the segment) equal the
    explicit sums for blocks that do and do not divide the segment, lags past either end included."""
    from neurorrn.encoding._lagged import _window_products

    be = get_backend("numpy", "float64")
    T = 37
    x, z1, z2 = rng.standard_normal((T, 3)), rng.standard_normal((T, 2)), rng.standard_normal((T, 1))
    z = np.concatenate([z1, z2], 1)
    P = _window_products(x, [z1, z2], lo, hi, be, chunk=chunk)
    for k, lag in enumerate(range(lo, hi + 1)):
        ref = np.zeros((3, 3))
        for t in range(T):
            if 0 <= t + lag < T:
                ref += np.outer(x[t], z[t + lag])
        np.testing.assert_allclose(P[k], ref, atol=1e-12)


@pytest.mark.parametrize("d0,d1", [(0, 12), (-5, 9), (-11, -2), (2, 14)])
def test_lagged_gram_of_a_segment_longer_than_a_block(d0, d1, rng):
    """Segments longer than the sample blocks of the Gram pass (CHUNK) give the explicit Gram."""
    from neurorrn.encoding._lagged import CHUNK

    be = get_backend("numpy", "float64")
    T = 2 * CHUNK + 77
    x = rng.standard_normal((T, 3)) + 1.0
    y = rng.standard_normal((T, 2))
    D = lagged_design(x, d0, d1).reshape(T, -1)
    G, Z = lagged_gram(x, d0, d1, be, y=y)
    np.testing.assert_allclose(G, D.T @ D, rtol=0, atol=1e-12 * np.abs(D.T @ D).max())
    np.testing.assert_allclose(Z, D.T @ y, rtol=0, atol=1e-12 * np.abs(D.T @ y).max())


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-4)])
def test_quad_diag_from_one_triangle(dtype, tol, rng):
    """``diag(W.T G W)`` from the lower triangle of G (read as C order: its upper triangle) by
    ?trmm equals the full product, whatever the other triangle holds."""
    from neurorrn.encoding._suffstats import quad_diag

    A = rng.standard_normal((30, 40))
    G = (A @ A.T).astype(dtype)
    W = rng.standard_normal((30, 9)).astype(dtype)
    ref = np.einsum("pk,pk->k", W.astype(np.float64), G.astype(np.float64) @ W.astype(np.float64))
    Gu = np.triu(G)  # only the triangle ?trmm reads, as center(..., upper=True) leaves it
    for GG in (G, Gu):
        np.testing.assert_allclose(quad_diag(GG, W), ref, rtol=tol)
    np.testing.assert_allclose(quad_diag(G, np.asfortranarray(W)), ref, rtol=tol)


def _blocks_and_folds(rng, n_blocks=4, T=150, d0=-2, d1=5):
    be = get_backend("numpy", "float64")
    xs = [rng.standard_normal((T, 3)) @ rng.standard_normal((3, 3)) + i for i in range(n_blocks)]
    ys = [rng.standard_normal((T, 4)) + 2 for _ in range(n_blocks)]
    blocks = [segment_stats(x, y, d0, d1, be) for x, y in zip(xs, ys)]
    folds = [(np.array([b for b in range(n_blocks) if b != k]), np.array([k])) for k in range(n_blocks)]
    folds.append((np.array([0, 1]), np.array([3])))  # block 2 neither trains nor tests
    return be, blocks, folds, d1 - d0 + 1


def test_fold_problem_from_the_total_gram_equals_the_sum_of_training_blocks(rng):
    """KeptBlocks / DowndatedBlocks: a fold's training Gram as the total minus the Gram outside
    (inside the centring pass), in full or as the upper block triangle, equals centring the sum of
    the training blocks; the refit's statistics are the same sums."""
    from neurorrn.encoding._solve import DowndatedBlocks, KeptBlocks, fold_problem
    from neurorrn.encoding._suffstats import full_gram

    be, blocks, folds, L = _blocks_and_folds(rng)
    kept = KeptBlocks(list(blocks))
    plan = type("Plan", (), {"pieces": [(b, 0, 150, b) for b in range(4)], "n_blocks": 4})()
    down = DowndatedBlocks(lambda piece: _copy(blocks[piece[3]]),
                           plan, lambda piece: blocks[piece[3]].G.copy())
    for fold in folds:
        ref_tr, ref_te = fold_problem(blocks, fold, L, True, be)
        for source in (kept, down):
            for upper in (False, True):
                ctr, cte = fold_problem(source, fold, L, True, be, upper=upper)
                assert ctr.upper == upper and cte.upper == upper
                if upper:
                    iu = np.triu_indices(ctr.G.shape[0])
                    np.testing.assert_allclose(ctr.G[iu], ref_tr.G[iu], rtol=1e-10, atol=1e-10 * np.abs(ref_tr.G).max())
                    full_gram(ctr), full_gram(cte)
                np.testing.assert_allclose(ctr.G, ref_tr.G, rtol=1e-10, atol=1e-10 * np.abs(ref_tr.G).max())
                np.testing.assert_allclose(cte.G, ref_te.G, rtol=1e-12, atol=1e-12 * np.abs(ref_te.G).max())
                np.testing.assert_allclose(ctr.Z, ref_tr.Z, rtol=1e-12)
                np.testing.assert_allclose(ctr.S, ref_tr.S, rtol=1e-12, atol=1e-12)
    ref = total(blocks)
    tot = kept.total_stats()
    np.testing.assert_array_equal(tot.G, ref.G)  # the same additions in the same order
    np.testing.assert_array_equal(tot.Z, ref.Z)


def _copy(st):
    from neurorrn.encoding._suffstats import Stats

    return Stats(st.G.copy(), st.Z.copy(), st.S.copy(), st.n, st.xsum, st.xsq, st.ysum, st.ysq)


@pytest.mark.parametrize("overwrite", [True, False])
def test_alpha_path_scores_of_upper_triangle_folds(overwrite, rng):
    """Scores of every alpha from folds centred as upper block triangles equal those of full
    matrices, on the band path (in place, or on a copy) and on the eigendecomposition path."""
    from neurorrn.encoding._solve import KeptBlocks, alpha_path_scores, eig, fold_problem

    be, blocks, folds, L = _blocks_and_folds(rng)
    alphas = np.logspace(-1, 4, 6)
    for fold in folds[:2]:
        ctr, cte = fold_problem(blocks, fold, L, True, be)
        ref, _ = alpha_path_scores(ctr, cte, alphas, be, decomp=eig(ctr.G, be))
        for decomp in (False, True):
            ctr_u, cte_u = fold_problem(KeptBlocks(list(blocks)), fold, L, True, be, upper=True)
            dec = eig(ctr.G, be) if decomp else None
            got, _ = alpha_path_scores(ctr_u, cte_u, alphas, be, decomp=dec, overwrite=overwrite)
            for k in ("r", "r2", "explained_variance"):
                np.testing.assert_allclose(got[k], ref[k], rtol=1e-9, atol=1e-9)


def test_refit_by_cholesky_per_alpha_equals_the_band_refit(rng, monkeypatch):
    """Per-target alphas with a few distinct values: one Cholesky per distinct alpha (float64
    default) gives the band reduction's solution (forced by allowing no Cholesky) to 1e-10."""
    import neurorrn.encoding._solve as S
    from neurorrn.encoding._solve import refit_stats, solve

    be = get_backend("numpy", "float64")
    x = rng.standard_normal((900, 4)) @ rng.standard_normal((4, 4)) + 2.0
    y = rng.standard_normal((900, 9))
    c, _ = refit_stats([segment_stats(x, y, -2, 9, be)], 12, True, be)
    alpha = np.array([3.0, 30.0, 300.0, 3.0, 30.0, 3.0, 300.0, 3000.0, 3.0])  # 4 distinct
    assert len(np.unique(alpha)) <= S.MAX_CHOLESKY_TRI["float64"]
    W_chol = solve(c, alpha, be)
    monkeypatch.setitem(S.MAX_CHOLESKY_TRI, "float64", 0)
    W_band = solve(c, alpha, be)
    assert not np.array_equal(W_chol, W_band)  # two different computations
    np.testing.assert_allclose(W_chol, W_band, rtol=0, atol=1e-10 * np.abs(W_band).max())
    G, Z = c.G, c.Z
    np.testing.assert_allclose(W_chol[:, 7], np.linalg.solve(G + 3000.0 * np.eye(len(G)), Z[:, 7]),
                               rtol=0, atol=1e-10 * np.abs(W_chol[:, 7]).max())
