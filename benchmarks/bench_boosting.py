"""Boosting TRFs: neurorrn's BoostingTRF vs eelbrain.boosting, side by side on one problem.

The problem: one continuous recording of ``--minutes`` at 100 Hz, two speech-like predictors
(a rectified 8 Hz-band "envelope" and its positive derivative, "onsets"), kernels 0-500 ms
(51 lags) planted as Brodbeck-style biphasic responses with a different mixture per channel,
``--channels`` channels at SNRs 0.3-1.5.  Both tools fit the first 80 % (10 partitions,
early stopping) and predict the last 20 %.

Configurations: Eelbrain's ``boosting`` defaults (``error='l2'``) and the setting of Brodbeck et
al.'s RNN-MEG analyses (``error='l1', basis=0.05, selective_stopping=1``).

Reported per configuration and tool: wall time (one thread each: eelbrain ``n_workers=False``,
BLAS/OpenMP at 1 thread), the time ratio, max |coef difference| / max |coef|, the correlation of
the two kernels, each kernel's correlation with the truth, and each held-out prediction r (mean
over channels).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_boosting.py              # 5 min, 8 channels
    OMP_NUM_THREADS=1 python benchmarks/bench_boosting.py --quick      # 1 min, 2 channels
    python benchmarks/bench_boosting.py --config l1 --minutes 2 --channels 4
"""

from __future__ import annotations

import argparse
import json
import os
import time

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

SF = 100.0
N_LAGS = 51
CONFIGS = {
    "l2 (eelbrain default)": {},
    "l1 + basis 50 ms + selective stopping": {"error": "l1", "basis": 0.05, "selective_stopping": 1},
}


def make_problem(minutes=5.0, n_channels=8, seed=0):
    from scipy.signal import butter, sosfiltfilt

    rng = np.random.default_rng(seed)
    T = int(minutes * 60 * SF)
    env = np.abs(sosfiltfilt(butter(4, 8.0, fs=SF, output="sos"), rng.standard_normal(T))) ** 0.6
    onsets = np.maximum(np.diff(env, prepend=env[0]), 0)
    x = np.column_stack([env, onsets])
    lags = np.arange(N_LAGS) / SF
    kern = np.stack([np.exp(-0.5 * ((lags - 0.05) / 0.015) ** 2) - 0.6 * np.exp(-0.5 * ((lags - 0.12) / 0.03) ** 2),
                     np.exp(-0.5 * ((lags - 0.1) / 0.02) ** 2) - 0.5 * np.exp(-0.5 * ((lags - 0.2) / 0.04) ** 2)])
    mix = rng.standard_normal((n_channels, 2, 2))
    h = np.einsum("cfk,kl->cfl", mix, kern) / x.std(0)[None, :, None]
    s = np.zeros((T, n_channels))
    for c in range(n_channels):
        for f in range(2):
            s[:, c] += np.convolve(x[:, f], h[c, f])[:T]
    snr = rng.uniform(0.3, 1.5, n_channels)
    y = s + s.std(0) / snr * rng.standard_normal(s.shape)
    return x, y, h


def predict(coef, lags_s, x, intercept=0.0):
    d = np.round(np.asarray(lags_s) * SF).astype(int)
    T = x.shape[0]
    out = np.zeros((T, coef.shape[0])) + intercept
    for i, di in enumerate(d):
        if di >= 0:
            out[di:] += x[: T - di] @ coef[:, :, i].T
        else:
            out[: T + di] += x[-di:] @ coef[:, :, i].T
    return out


def held_out_r(pred, y):
    pc, yc = pred - pred.mean(0), y - y.mean(0)
    return float(np.mean((pc * yc).sum(0) / np.sqrt((pc ** 2).sum(0) * (yc ** 2).sum(0))))


def run_eelbrain(x, y, kw):
    import eelbrain as eel

    eel.configure(n_workers=False)
    t = eel.UTS(0, 1 / SF, len(x))
    xs = [eel.NDVar(x[:, f], (t,), name=f"x{f}") for f in range(x.shape[1])]
    Y = eel.NDVar(y.T, (eel.Scalar("sensor", np.arange(y.shape[1])), t), name="y")
    t0 = time.perf_counter()
    res = eel.boosting(Y, xs, 0, (N_LAGS - 1) / SF + 1 / SF, partitions=10, **kw)
    wall = time.perf_counter() - t0
    coef = np.stack([h.get_data(("sensor", "time")) for h in res.h_scaled], 1)
    return coef, np.asarray(res.h_time.times), wall


def run_ours(x, y, kw):
    from neurorrn.encoding import BoostingTRF

    t0 = time.perf_counter()
    est = BoostingTRF(0.0, (N_LAGS - 1) / SF, SF, partitions=10, **kw).fit(x, y)
    wall = time.perf_counter() - t0
    return est.coef_, est.lags_, wall


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--config", choices=["l2", "l1"], action="append", default=None,
                    help="run only this configuration (repeatable; default both)")
    ap.add_argument("--json", default=None, help="write the results here")
    a = ap.parse_args(argv)
    if a.quick:
        a.minutes, a.channels = 1.0, 2
    x, y, h = make_problem(a.minutes, a.channels)
    n_tr = int(0.8 * len(x))
    rows = []
    for name, kw in CONFIGS.items():
        if a.config and name.split()[0] not in a.config:
            continue
        ce, le, te = run_eelbrain(x[:n_tr], y[:n_tr], kw)
        co, lo, to = run_ours(x[:n_tr], y[:n_tr], kw)
        truth = np.zeros_like(co)
        i0 = int(round(-lo[0] * SF))
        truth[:, :, i0:i0 + N_LAGS] = h
        row = {
            "config": name, "minutes": a.minutes, "channels": a.channels,
            "eelbrain_s": round(te, 2), "neurorrn_s": round(to, 2), "speedup": round(te / to, 2),
            "max_abs_diff_rel": float(np.abs(co - ce).max() / np.abs(ce).max()) if co.shape == ce.shape else None,
            "kernel_r_between": float(np.corrcoef(co.ravel(), ce.ravel())[0, 1]) if co.shape == ce.shape else None,
            "kernel_r_truth_eelbrain": float(np.corrcoef(ce.ravel(), truth.ravel())[0, 1]),
            "kernel_r_truth_neurorrn": float(np.corrcoef(co.ravel(), truth.ravel())[0, 1]),
            "test_r_eelbrain": held_out_r(predict(ce, le, x)[n_tr:], y[n_tr:]),
            "test_r_neurorrn": held_out_r(predict(co, lo, x)[n_tr:], y[n_tr:]),
        }
        rows.append(row)
        print(json.dumps(row))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
