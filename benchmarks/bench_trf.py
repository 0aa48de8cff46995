"""TRF speed, memory and agreement: neurorrn vs mne, himalaya and scikit-learn, side by side.

The standard problem (docs/encoding.md): 10 min at 100 Hz in 6 segments of 10,000 samples, 48
correlated speech-like features (16 spectrogram-like bands + 32 "RNN units"), lags 0-500 ms (51),
10 alphas, 5-fold contiguous cross-validation (fold k = segment k of segments 0-4), a per-target
(or, where a tool cannot, global) alpha, the refit on segments 0-4, and a test on segment 5.

Every tool runs in this one process on the same arrays.  Reported per tool: wall time of the whole
CV + refit, peak resident memory above the baseline while it ran (sampled every 5 ms; GPU: peak
allocated), held-out test r (mean over channels, segment 5), TRF-vs-truth r, the fraction of
channels whose chosen alpha equals ours, and the coefficient difference to ours
(max |delta| / max |ours|; same alpha where the tool chose the same one).

Usage::

    python benchmarks/bench_trf.py --channels 64              # everything (mne ~250 CPU s, himalaya ~30 min)
    python benchmarks/bench_trf.py --channels 300 --skip mne  # the 300-channel case
    python benchmarks/bench_trf.py --quick                    # 2 segments' worth, for a smoke test

Ours and one peer only, quickly (the peers cannot reuse work across folds x alphas, so
``--peer-fits N`` times N of their 50 CV refits and extrapolates)::

    python benchmarks/bench_trf.py --skip sklearn,mtrf,himalaya --peer-fits 5   # ours + mne (~2 min)
    python benchmarks/bench_trf.py --skip mne,sklearn,himalaya                   # ours + mtrf (mtrf ~30-120 CPU s)

``--himalaya-folds 1`` times one of the five folds of himalaya's CPU RidgeCV and extrapolates
(it materialises an (n_alphas, n_test, n_train) array and takes ~15 min on 2 cores).

Also in one run with the tools above:

* the **floor**: the least work an exact 5-fold x 10-alpha CV with a per-target alpha can do, with
  the best kernels found, timed here with one BLAS thread -- one pass of lagged cross-products
  over the training segments (the Grams and cross-products), one band reduction of the p x p
  training Gram per fold (the fastest exact factorisation that serves every alpha; ``?sytrd``,
  ``?syevd`` / ``?syevr`` and Cholesky of the same matrix are timed beside it for the choice), and
  for the refit with per-target alphas the cheaper of one more band reduction and one Cholesky per
  distinct alpha; our CV time is reported as a multiple of it.  Beside it, the flops of the whole
  algorithm (with applying Q to the 640 solutions and their scores) over one GEMM's measured speed;
* ``--contention N``: our CV fit (numpy f64 and torch f32) timed alone, beside N busy processes
  (each a one-thread GEMM loop, like a colleague's numpy job) and alone again, and the ratio; the
  last line is one JSON object ``{"contention": ...}`` with the ratios and whether they are within
  1.3x.  With ours only (about 1.5 min on a quiet 2-core machine), or the contention part alone
  (under a minute)::

      python benchmarks/bench_trf.py --contention 1 --skip mne,sklearn,mtrf,himalaya
      python benchmarks/bench_trf.py --contention 1 --only-extras --skip-floor

* ``--wide F``: the memory a fit with F features x 51 lags would need, and the up-front refusal
  (``MemoryError``) where it exceeds this machine; with ``--wide-basis NB`` the same problem is
  fitted with a lag basis of NB raised cosines (p = F x NB) and its time and peak RSS measured.
* mtrf (``mtrf`` on PyPI, mTRFpy) ``TRF.train`` with its own k-fold CV over the 5 training trials.

On a shared machine read the CPU-second ratios: wall times depend on what else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

import numpy as np

ALPHAS = np.logspace(2, 7, 10)


# ------------------------------------------------------------------------------------------ data
def make_problem(n_channels=64, n_segments=6, seg_len=10000, n_lags=51, sfreq=100.0, seed=0):
    """Speech-like correlated predictors and planted TRFs (float64)."""
    from scipy.signal import butter, fftconvolve, lfilter, sosfiltfilt

    rng = np.random.default_rng(seed)
    sos8 = butter(4, 8.0, fs=sfreq, output="sos")
    sos10 = butter(4, 10.0, fs=sfreq, output="sos")
    X = []
    proj = rng.standard_normal((16, 32)) / 4
    for _ in range(n_segments):
        drive = sosfiltfilt(sos8, rng.standard_normal((seg_len, 1)), axis=0) * 3
        bands = np.logaddexp(0, drive + sosfiltfilt(sos10, rng.standard_normal((seg_len, 16)), axis=0) * 2)
        units = lfilter([0.1], [1.0, -0.9], bands @ proj, axis=0)  # leaky integration of projected bands
        X.append(np.column_stack([bands, np.tanh(units)]))
    allx = np.concatenate(X)
    mu, sd = allx.mean(0), allx.std(0)
    X = [(x - mu) / sd for x in X]
    lags = np.arange(n_lags) / sfreq
    kern = np.stack([np.exp(-0.5 * ((lags - a) / w) ** 2) * s - 0.5 * np.exp(-0.5 * ((lags - a - 2 * w) / w) ** 2) * s
                     for a, w, s in ((0.08, 0.02, 1.0), (0.15, 0.04, -1.0), (0.3, 0.06, 0.8))])
    load_f = rng.standard_normal((3, 48)) * (rng.random((3, 48)) < 0.3)
    load_c = rng.standard_normal((n_channels, 3))
    h = np.einsum("cs,sf,sl->cfl", load_c, load_f, kern)
    h += 0.02 * np.abs(h).max() * rng.standard_normal(h.shape)
    Y = []
    for x in X:
        y = np.zeros((seg_len, n_channels))
        for f in range(48):
            y += fftconvolve(x[:, f:f + 1], h[:, f, :].T, axes=0)[:seg_len]
        Y.append(y)
    snr = rng.uniform(0.3, 1.5, n_channels)
    Y = [y + np.concatenate(Y).std(0) / snr * rng.standard_normal(y.shape) for y in Y]
    return X, Y, h


def lagged(x, n_lags):
    from neurorrn.encoding._lagged import lagged_design

    T = x.shape[0]
    return lagged_design(x, 0, n_lags - 1).reshape(T, -1)


# ------------------------------------------------------------------------------------------ memory
class PeakRSS:
    """Peak resident set size (bytes) above the level at entry, sampled in a thread."""

    def __init__(self, interval=0.005):
        import psutil

        self.proc = psutil.Process(os.getpid())
        self.interval = interval

    def __enter__(self):
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
        except Exception:  # noqa: BLE001
            pass
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.delta = self.peak - self.base
        self.gpu = 0
        try:
            import torch

            if torch.cuda.is_available():
                self.gpu = torch.cuda.max_memory_allocated()
        except Exception:  # noqa: BLE001
            pass


# ------------------------------------------------------------------------------------------ tools
GLOBAL = {}


def run_ours(X, Y, backend, dtype, device, n_lags):
    from neurorrn.encoding import TRF

    m = TRF(0.0, (n_lags - 1) / 100.0, 100.0, alpha=ALPHAS, cv=5, alpha_rule="best", backend=backend,
            dtype=dtype, device=device).fit(X[:5], Y[:5])
    # the global alpha that mne's / sklearn's loops would pick (mean r over channels)
    GLOBAL.setdefault("r", m.alphas_[np.argmax(m.cv_results_["r"].mean((0, 2)))])
    GLOBAL.setdefault("r2", m.alphas_[np.argmax(m.cv_results_["r2"].mean((0, 2)))])
    GLOBAL.setdefault("n_distinct_alphas", int(len(np.unique(m.alpha_))))  # the refit's Cholesky count
    return m.coef_, m.alpha_, 0.0


def run_mne(X, Y, n_lags, max_fits=None):
    """ReceptiveField + TimeDelayingRidge: an explicit loop over folds x alphas, global alpha.

    mne cannot reuse work across folds or alphas, so each of the 50 CV fits costs the same; with
    ``max_fits`` only that many are timed and the CV time is extrapolated (the refit at the global
    alpha chosen from neurorrn's identical CV scores is always run in full).
    """
    import mne
    from mne.decoding import ReceptiveField

    mne.set_log_level("WARNING")  # no per-fit progress bars in the benchmark output
    tmax = (n_lags - 1) / 100.0
    scores = np.zeros((5, len(ALPHAS), Y[0].shape[1]))
    n_fit = 0
    t0 = time.perf_counter()
    for k in range(5):
        tr = [i for i in range(5) if i != k]
        Xt = np.stack([X[i] for i in tr], 1)
        Yt = np.stack([Y[i] for i in tr], 1)
        for a, alpha in enumerate(ALPHAS):
            if max_fits is not None and n_fit >= max_fits:
                break
            rf = ReceptiveField(0.0, tmax, 100.0, estimator=float(alpha), scoring="corrcoef")
            rf.fit(Xt, Yt)
            scores[k, a] = rf.score(X[k][:, None], Y[k][:, None])
            n_fit += 1
    t_cv = time.perf_counter() - t0
    best = ALPHAS[np.argmax(scores.mean((0, 2)))] if max_fits is None else GLOBAL["r"]
    rf = ReceptiveField(0.0, tmax, 100.0, estimator=float(best)).fit(np.stack(X[:5], 1), np.stack(Y[:5], 1))
    extra = t_cv * (5 * len(ALPHAS) / n_fit - 1)
    return rf.coef_, np.full(Y[0].shape[1], best), extra


def run_sklearn(X, Y, n_lags, max_fits=None):
    """RidgeCV on the explicitly lagged design (global alpha by R²; scikit-learn has no per-target
    alpha with a cv splitter).  RidgeCV(cv=...) refits Ridge for each fold x alpha; with
    ``max_fits`` that many training-fold fits are timed and the rest extrapolated, and the final
    fit uses the alpha chosen from neurorrn's identical R² CV scores."""
    from sklearn.linear_model import Ridge, RidgeCV
    from sklearn.model_selection import PredefinedSplit

    D = np.concatenate([lagged(x, n_lags) for x in X[:5]])
    Yc = np.concatenate(Y[:5])
    fold = np.repeat(np.arange(5), [len(x) for x in X[:5]])
    C = Yc.shape[1]
    if max_fits is None:
        m = RidgeCV(alphas=ALPHAS, cv=PredefinedSplit(fold), fit_intercept=True).fit(D, Yc)
        return m.coef_.reshape(C, n_lags, -1).transpose(0, 2, 1), np.full(C, m.alpha_), 0.0
    t0 = time.perf_counter()
    for i in range(max_fits):
        k = i % 5
        Ridge(alpha=ALPHAS[i % len(ALPHAS)], fit_intercept=True).fit(D[fold != k], Yc[fold != k])
    extra = (time.perf_counter() - t0) * (5 * len(ALPHAS) / max_fits - 1)
    m = Ridge(alpha=GLOBAL["r2"], fit_intercept=True).fit(D, Yc)
    return m.coef_.reshape(C, n_lags, -1).transpose(0, 2, 1), np.full(C, GLOBAL["r2"]), extra


def run_mtrf(X, Y, n_lags):
    """mTRFpy's ``TRF.train``: k-fold CV over the 5 training trials (leave-one-trial-out, the same
    folds as ours up to their order), one global lambda by mean r, then the final fit.  mTRF scales
    its lambda by ``fs`` and its weights by ``fs``; the grid is given in our units (``alpha / fs``)
    and the weights divided by ``fs``.  It does not centre and it penalises a bias column."""
    from mtrf.model import TRF as MTRF

    fs = 100
    m = MTRF(direction=1)
    m.train([x for x in X[:5]], [y for y in Y[:5]], fs, 0.0, (n_lags - 1) / fs,
            [float(a) / fs for a in ALPHAS], k=5, verbose=False)
    coef = np.transpose(m.weights, (2, 0, 1)) / fs  # (C, F, L)
    return coef, np.full(Y[0].shape[1], float(m.regularization) * fs), 0.0


def run_himalaya(X, Y, n_lags, backend="numpy", dtype="float64", n_folds=5):
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV
    from himalaya.scoring import correlation_score
    from sklearn.model_selection import PredefinedSplit

    be = set_backend(backend)
    D = np.concatenate([lagged(x, n_lags) for x in X[:5]]).astype(dtype)
    Yc = np.concatenate(Y[:5]).astype(dtype)
    fold = np.repeat(np.arange(5), [len(x) for x in X[:5]])
    if n_folds < 5:
        fold = np.where(fold < n_folds, fold, -1)
    params = {"score_func": correlation_score}
    if dtype == "float64" or backend == "numpy":
        params["n_alphas_batch"] = 1
    m = RidgeCV(alphas=ALPHAS, cv=PredefinedSplit(fold), fit_intercept=True, solver_params=params)
    m.fit(be.asarray(D), be.asarray(Yc))
    coef = be.to_numpy(m.coef_).T  # (C, p)
    C = Yc.shape[1]
    return coef.reshape(C, n_lags, -1).transpose(0, 2, 1), be.to_numpy(m.best_alphas_), 0.0


# ------------------------------------------------------------------------------------------ floor, contention, wide
def floor_time(X, Y, n_lags, dtype="float64", n_distinct=3, n_alphas=len(ALPHAS), n_folds=5):
    """CPU seconds (and wall) of the least work of an exact 5-fold CV + refit, one BLAS thread:
    one pass of lagged cross-products over the training segments, one band reduction per fold, and
    the refit with per-target alphas by the cheaper of one band reduction and one Cholesky per
    distinct alpha (``n_distinct``, from our fit).  The other factorisations that could serve every
    alpha (``?sytrd``, ``?syevd``, ``?syevr``) are timed once beside it.

    Also the arithmetic of the whole algorithm: its flops (per fold ``4/3 p^3`` for the reduction,
    ``2 p^2 k`` to apply ``Q`` to the ``k = n_alphas x n_channels`` solutions and ``p^2 k`` for their
    held-out scores from one triangle of the test Gram; the Gram pass; the refit) over the speed of
    one large GEMM measured here: the time the algorithm would take if every kernel ran at GEMM
    speed.  CPU time is the robust measure on a shared machine."""
    from scipy import linalg
    from threadpoolctl import threadpool_limits

    from neurorrn.encoding._backend import get_backend
    from neurorrn.encoding._solve import BandPath
    from neurorrn.encoding._suffstats import segment_stats, total

    be = get_backend("numpy", dtype)
    clk = time.process_time
    out = {}
    with threadpool_limits(1):
        c0 = clk()
        st = total([segment_stats(x.astype(dtype), y.astype(dtype), 0, n_lags - 1, be) for x, y in zip(X[:5], Y[:5])])
        out["gram_pass_cpu_s"] = clk() - c0
        F1 = X[0].shape[1] + 1
        keep = np.flatnonzero(np.arange(st.G.shape[0]) % F1 != F1 - 1)  # the predictors' columns (p = F x L)
        G = st.G[np.ix_(keep, keep)]
        G += np.eye(G.shape[0], dtype=dtype) * float(np.mean(np.diag(G)))
        del st

        def timed(fn):
            A = G.copy()
            c = clk()
            fn(A)
            return clk() - c

        out["band_cpu_s"] = timed(lambda A: BandPath(A, overwrite=True))
        sytrd, sytrd_lwork = linalg.lapack.get_lapack_funcs(("sytrd", "sytrd_lwork"), (G,))
        lwork = linalg.lapack._compute_lwork(sytrd_lwork, G.shape[0], lower=1)  # the blocked algorithm
        out["sytrd_cpu_s"] = timed(lambda A: sytrd(A.T, lower=1, lwork=lwork, overwrite_a=1))
        out["syevd_cpu_s"] = timed(lambda A: linalg.eigh(A, driver="evd", overwrite_a=True, check_finite=False))
        out["syevr_cpu_s"] = timed(lambda A: linalg.eigh(A, driver="evr", overwrite_a=True, check_finite=False))
        out["cholesky_cpu_s"] = timed(lambda A: linalg.cho_factor(A, lower=True, overwrite_a=True, check_finite=False))
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((2000, 2000)), rng.standard_normal((2000, 2000))
        c = clk()
        a @ b
        out["gemm_gflops"] = 2 * 2000**3 / (clk() - c) / 1e9
    # the floor: the Gram pass, 5 folds' band reductions and the refit's cheaper factorisation
    out["n_distinct_alphas"] = int(n_distinct)
    out["refit_cpu_s"] = min(out["band_cpu_s"], n_distinct * out["cholesky_cpu_s"])
    out["floor_cpu_s"] = out["gram_pass_cpu_s"] + n_folds * out["band_cpu_s"] + out["refit_cpu_s"]
    p = int(G.shape[0])
    out["p"] = p
    T = sum(x.shape[0] for x in X[:5])
    F1, C = X[0].shape[1] + 1, Y[0].shape[1]
    k = n_alphas * C
    flops = {"gram_pass": 2.0 * n_lags * F1 * (F1 + C) * T,
             "reductions": n_folds * 4 / 3 * p**3,
             "apply_q_and_scores": n_folds * 3.0 * p**2 * k,
             "refit": min(4 / 3 * p**3, n_distinct * p**3 / 3)}
    out["flops"] = flops
    out["flop_floor_cpu_s"] = sum(flops.values()) / (out["gemm_gflops"] * 1e9)
    return out


_BUSY = "import numpy as np\na = np.random.default_rng(0).random((1000, 1000))\nwhile True:\n    a = (a @ a) / 1000.0\n"


def _busy(n):
    import subprocess

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", _BUSY], env=env) for _ in range(n)]
    time.sleep(2.0)  # let them start
    return procs


def time_ours(X, Y, n_lags, backend, dtype, repeats=1):
    """(wall, CPU) seconds of our CV fit, best of ``repeats``."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run_ours(X, Y, backend, dtype, "cpu" if backend == "torch" else None, n_lags)
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    return best


def run_extras(args, X, Y, n_lags):
    out = {}
    if args.skip_floor:
        if args.contention:
            out["contention"] = run_contention(args, X, Y, n_lags)
        if args.wide:
            out["wide"] = run_wide(args.wide, args.wide_basis, n_lags, args.wide_seg_len)
        return out
    wall, cpu = time_ours(X, Y, n_lags, "numpy", "float64")
    fl = floor_time(X, Y, n_lags, n_distinct=GLOBAL.get("n_distinct_alphas", 3))
    out["floor"] = dict(fl, ours_numpy_f64_cpu_s=cpu, ours_numpy_f64_wall_s=wall, ratio_cpu=cpu / fl["floor_cpu_s"])
    print(json.dumps({"floor": out["floor"]}), flush=True)
    print(f"floor (numpy f64, 1 thread, CPU s): Gram pass {fl['gram_pass_cpu_s']:.2f} + 5 x band reduction "
          f"{fl['band_cpu_s']:.2f} + refit {fl['refit_cpu_s']:.2f} ({fl['n_distinct_alphas']} distinct alphas) = "
          f"{fl['floor_cpu_s']:.2f}; ours {cpu:.2f} CPU s = "
          f"{cpu / fl['floor_cpu_s']:.2f} x floor (wall {wall:.2f} s).  One p x p Gram (p = {fl['p']}): band "
          f"{fl['band_cpu_s']:.2f}, ?sytrd {fl['sytrd_cpu_s']:.2f}, ?syevd {fl['syevd_cpu_s']:.2f}, "
          f"?syevr {fl['syevr_cpu_s']:.2f}, Cholesky {fl['cholesky_cpu_s']:.2f} CPU s.  The whole algorithm, "
          f"{sum(fl['flops'].values()) / 1e9:.0f} Gflop, at this core's GEMM speed ({fl['gemm_gflops']:.1f} Gflop/s): "
          f"{fl['flop_floor_cpu_s']:.2f} CPU s", flush=True)
    if args.contention:
        out["contention"] = run_contention(args, X, Y, n_lags)
    if args.wide:
        out["wide"] = run_wide(args.wide, args.wide_basis, n_lags, args.wide_seg_len)
    return out


def run_contention(args, X, Y, n_lags):
    """Our CV fit alone, beside ``args.contention`` busy processes, and alone again."""
    rows = []
    for backend, dtype in (("numpy", "float64"), ("torch", "float32")):
        alone = time_ours(X, Y, n_lags, backend, dtype)
        procs = _busy(args.contention)
        try:
            busy = time_ours(X, Y, n_lags, backend, dtype)
        finally:
            for pr in procs:
                pr.kill()
                pr.wait()
        alone2 = time_ours(X, Y, n_lags, backend, dtype)  # the load outside may have changed
        a = min(alone[0], alone2[0])
        rows.append({"tool": f"neurorrn {backend} {dtype}", "alone_wall_s": a, "busy_wall_s": busy[0],
                     "alone_cpu_s": min(alone[1], alone2[1]), "busy_cpu_s": busy[1],
                     "n_busy": args.contention, "ratio_wall": busy[0] / a})
        print(json.dumps(rows[-1]), flush=True)
    worst = max(r["ratio_wall"] for r in rows)
    summary = {"n_busy": args.contention, "ratio_wall": {r["tool"]: round(r["ratio_wall"], 3) for r in rows},
               "max_ratio_wall": round(worst, 3), "target": 1.3, "met": bool(worst <= 1.3),
               "cpus": os.cpu_count(), "load_average_1min": os.getloadavg()[0]}
    print(json.dumps({"contention": summary}), flush=True)
    return {"rows": rows, "summary": summary}


def run_wide(n_features, n_basis, n_lags, seg_len=10000):
    """Memory of a fit with ``n_features`` x ``n_lags`` (the refusal, up front), and with a lag basis."""
    from scipy.signal import butter, sosfiltfilt

    from neurorrn.encoding import TRF
    from neurorrn.encoding._solve import check_memory, cv_memory, memory_limit

    p1 = n_lags * (n_features + 1)
    res = {"features": n_features, "lags": n_lags, "p": n_lags * n_features,
           "need_f64_gib": cv_memory(p1, 8, 6, True) / 2**30, "need_f32_gib": cv_memory(p1, 4, 6, True) / 2**30,
           "limit_gib": (memory_limit() or 0) / 2**30}
    rng = np.random.default_rng(1)
    sos = butter(4, 10.0, fs=100.0, output="sos")
    X = [sosfiltfilt(sos, rng.standard_normal((seg_len, n_features)), axis=0) for _ in range(6)]
    M = rng.standard_normal((8, 16))
    Y = [x[:, :8] @ M + rng.standard_normal((seg_len, 16)) for x in X]
    try:  # the estimator's own check, without starting a fit that would run for hours
        check_memory(p1, 8, 5, True, 1, "TRF", n_features, n_lags)
        res["refused"] = False
    except MemoryError:
        res["refused"] = True
    if res["refused"]:  # then the estimator refuses up front: time it
        t0 = time.perf_counter()
        try:
            TRF(0.0, (n_lags - 1) / 100.0, 100.0, alpha=ALPHAS, solver="primal").fit(X[:5], Y[:5])
        except MemoryError as err:
            res["message"] = str(err)
        res["refusal_s"] = time.perf_counter() - t0
    print(json.dumps(res), flush=True)
    if n_basis:
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            m = TRF(0.0, (n_lags - 1) / 100.0, 100.0, alpha=ALPHAS, lag_basis=n_basis, solver="primal").fit(X[:5], Y[:5])
            res["basis"] = {"n_basis": n_basis, "p": n_basis * n_features, "time_s": time.perf_counter() - t0}
        res["basis"]["peak_rss_gib"] = mem.delta / 2**30
        res["basis"]["test_r"] = float(np.mean(m.score_targets(X[5], Y[5])["r"]))
        print(json.dumps({"wide_basis": res["basis"]}), flush=True)
    return res


# ------------------------------------------------------------------------------------------ main
def test_r(coef, X, Y):
    from neurorrn.encoding._lagged import lagged_design

    n_lags = coef.shape[2]
    mu = np.concatenate(X[:5]).mean(0)
    muy = np.concatenate(Y[:5]).mean(0)
    D = lagged_design(X[5] - mu, 0, n_lags - 1).reshape(len(X[5]), -1)
    W = np.transpose(coef, (2, 1, 0)).reshape(-1, coef.shape[0])
    pred = D @ W + muy
    y = Y[5]
    pc, yc = pred - pred.mean(0), y - y.mean(0)
    return float(np.mean((pc * yc).sum(0) / np.sqrt((pc**2).sum(0) * (yc**2).sum(0))))


def truth_r(coef, h):
    return float(np.mean([np.corrcoef(coef[c].ravel(), h[c].ravel())[0, 1] for c in range(h.shape[0])]))


def summarise(rows, extras):
    """Ours (numpy f64, torch f32) over the floor and as a fraction of mne and mtrf, CPU and wall."""
    by = {r["tool"]: r for r in rows}
    ours = {k: next((r for t, r in by.items() if t.startswith(f"neurorrn {k}")), None)
            for k in ("numpy f64", "torch f32")}
    peers = {"mne": next((r for t, r in by.items() if t.startswith("mne ")), None),
             "mtrf": next((r for t, r in by.items() if t.startswith("mtrf")), None)}
    floor = extras.get("floor", {}).get("floor_cpu_s")
    out = {}
    for k, r in ours.items():
        if r is None:
            continue
        line = {"cpu_s": r["cpu_s"], "wall_s": r["time_s"]}
        if floor:
            line["x_floor_cpu"] = r["cpu_s"] / floor
        for name, pr in peers.items():
            if pr is not None:
                line[f"{name}_over_ours_cpu"] = pr["cpu_s"] / r["cpu_s"]
                line[f"{name}_over_ours_wall"] = pr["time_s"] / r["time_s"]
        out[k] = line
        print(f"acceptance, ours {k}: {r['cpu_s']:.2f} CPU s"
              + (f" = {line['x_floor_cpu']:.2f} x floor ({floor:.2f})" if floor else "")
              + "".join(f"; {n} {line[f'{n}_over_ours_cpu']:.1f}x (CPU) / {line[f'{n}_over_ours_wall']:.1f}x (wall)"
                        for n in peers if f"{n}_over_ours_cpu" in line), flush=True)
    print(json.dumps({"acceptance": out, "load_average_1min": os.getloadavg()[0]}), flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="small problem (smoke test)")
    ap.add_argument("--skip", nargs="*", default=[],
                    help="tools to skip, comma- or space-separated: mne sklearn mtrf himalaya himalaya_gpu torch "
                         "numpy cuda (e.g. --skip sklearn,mtrf,himalaya keeps ours and mne)")
    ap.add_argument("--himalaya-folds", type=int, default=5)
    ap.add_argument("--peer-fits", type=int, default=None,
                    help="time only this many of the 50 CV fits of mne and sklearn and extrapolate")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    ap.add_argument("--contention", type=int, default=0,
                    help="also time our CV fit beside this many busy processes and report the ratio")
    ap.add_argument("--wide", type=int, default=0, help="memory line for this many features x 51 lags")
    ap.add_argument("--wide-basis", type=int, default=0,
                    help="with --wide: fit it with a lag basis of this many raised cosines (time, peak RSS)")
    ap.add_argument("--wide-seg-len", type=int, default=10000, help="samples per segment of the --wide problem")
    ap.add_argument("--skip-floor", action="store_true", help="do not time the floor")
    ap.add_argument("--only-extras", action="store_true",
                    help="skip the tool comparison; run the floor, --contention and --wide parts")
    args = ap.parse_args(argv)
    args.skip = [k for item in args.skip for k in item.split(",") if k]
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1)))
    seg_len, n_lags = (2000, 21) if args.quick else (10000, 51)
    t0 = time.perf_counter()
    X, Y, h = make_problem(args.channels, seg_len=seg_len, n_lags=n_lags)
    print(f"# problem: {args.channels} ch, 6 x {seg_len} samples, 48 features x {n_lags} lags, {len(ALPHAS)} alphas, "
          f"5-fold CV (made in {time.perf_counter() - t0:.1f} s); {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}, cuda: {torch.cuda.is_available()}", flush=True)
    tools = [("neurorrn numpy f64", "numpy", lambda: run_ours(X, Y, "numpy", "float64", None, n_lags)),
             ("neurorrn torch f32 (CPU)", "torch", lambda: run_ours(X, Y, "torch", "float32", "cpu", n_lags)),
             ("neurorrn torch f64 (CPU)", "torch", lambda: run_ours(X, Y, "torch", "float64", "cpu", n_lags))]
    if torch.cuda.is_available():
        tools += [("neurorrn torch f32 (CUDA)", "cuda", lambda: run_ours(X, Y, "torch", "float32", "cuda", n_lags)),
                  ("neurorrn torch f64 (CUDA)", "cuda", lambda: run_ours(X, Y, "torch", "float64", "cuda", n_lags))]
    pf = args.peer_fits
    ext = f" ({pf}/50 CV fits timed, extrapolated)" if pf else ""
    tools += [(f"mne ReceptiveField (TDR), global alpha{ext}", "mne", lambda: run_mne(X, Y, n_lags, pf)),
              (f"sklearn RidgeCV on lagged design, global alpha{ext}", "sklearn",
               lambda: run_sklearn(X, Y, n_lags, pf))]
    tools.append(("mtrf (mTRFpy) TRF.train, 5-fold, global lambda", "mtrf", lambda: run_mtrf(X, Y, n_lags)))
    hf = args.himalaya_folds
    tools.append((f"himalaya RidgeCV numpy f64{' (%d/5 folds, extrapolated)' % hf if hf < 5 else ''}", "himalaya",
                  lambda: run_himalaya(X, Y, n_lags, "numpy", "float64", hf)))
    if torch.cuda.is_available():
        tools.append(("himalaya RidgeCV torch_cuda f32", "himalaya_gpu",
                      lambda: run_himalaya(X, Y, n_lags, "torch_cuda", "float32")))
    extras = run_extras(args, X, Y, n_lags)
    if args.only_extras:
        if args.out:
            with open(args.out, "w") as f:
                json.dump({"channels": args.channels, "extras": extras}, f, indent=1)
        return extras
    rows = []
    ref = None
    for name, key, fn in tools:
        if key in args.skip:
            continue
        try:
            with PeakRSS() as mem:
                t, tc = time.perf_counter(), time.process_time()
                coef, alpha, extra = fn()
                if key == "cuda":
                    torch.cuda.synchronize()
                dt = time.perf_counter() - t
                dcpu = time.process_time() - tc
        except Exception as err:  # noqa: BLE001  (report and go on with the other tools)
            print(f"{name}: FAILED {type(err).__name__}: {err}", flush=True)
            continue
        dt_wall_measured = dt
        if extra:
            dcpu *= (dt + extra) / dt
            dt += extra
        elif "extrapolated" in name:
            dcpu *= 5 / hf
            dt = dt * 5 / hf  # folds dominate; the refit adds about one more fold's worth
        if ref is None:
            ref = (coef, alpha)
        same = alpha == ref[1]
        if same.any():
            diff = np.abs(coef[same] - ref[0][same]).max() / np.abs(ref[0][same]).max()
        else:
            diff = float("nan")
        row = {"tool": name, "time_s": dt, "cpu_s": dcpu, "measured_wall_s": dt_wall_measured, "peak_rss_gib": mem.delta / 2**30, "peak_gpu_gib": mem.gpu / 2**30,
               "test_r": test_r(coef, X, Y), "truth_r": truth_r(coef, h), "alpha_match": float(same.mean()),
               "coef_rel_diff_same_alpha": float(diff)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = rows[0]["time_s"] if rows else float("nan")
    fastest = min((r["time_s"] for r in rows if r["tool"].startswith("neurorrn")), default=float("nan"))
    print()
    print(f"| tool ({args.channels} ch) | wall (s) | CPU (s) | x ours (fastest wall) | peak RAM (GiB) | peak GPU (GiB) | test r | TRF-truth r | alpha = ours | max rel. coef diff (same alpha) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['tool']} | {r['time_s']:.2f} | {r['cpu_s']:.1f} | {r['time_s'] / fastest:.1f} | {r['peak_rss_gib']:.2f} | "
              f"{r['peak_gpu_gib']:.2f} | {r['test_r']:.4f} | {r['truth_r']:.3f} | {100 * r['alpha_match']:.0f} % | "
              f"{r['coef_rel_diff_same_alpha']:.1e} |")
    del base
    acceptance = summarise(rows, extras)
    if "contention" in extras:  # the contention verdict as the last line
        print(json.dumps({"contention": extras["contention"]["summary"]}), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"channels": args.channels, "rows": rows, "extras": extras, "acceptance": acceptance}, f,
                      indent=1)
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
