"""Circular-shift null of held-out prediction accuracy at the demo's scale: seconds per shift of
``neurorrn.encoding.held_out_shift_null`` (fixed cross-validated predictions, all offsets by FFT)
against the refitting ``neurorrn.encoding.circular_shift_null`` (one pass of cross-products and an
alpha-grid scoring per shift) on the same data, in one run; prints JSON with the ratio.

Data: 8 segments × 2600 samples (100 Hz) × 306 sensors, 6 predictors, lags 0-500 ms, 4 folds (the
demo's encode stage per subject).  ``--refit-shifts`` is small because the refit is slow.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shifts", type=int, default=1000)
    ap.add_argument("--refit-shifts", type=int, default=5)
    ap.add_argument("--sensors", type=int, default=306)
    args = ap.parse_args()
    from neurorrn.encoding import TRF, circular_shift_null, held_out_shift_null

    rng = np.random.default_rng(0)
    X = [rng.standard_normal((2600, 6)) for _ in range(8)]
    Y = [rng.standard_normal((2600, args.sensors)) for _ in range(8)]
    P = [y * 0.3 + rng.standard_normal(y.shape) for y in Y]
    t0, c0 = time.perf_counter(), time.process_time()
    held_out_shift_null(Y, P, 100.0, n_shifts=args.shifts, min_shift=1.5)
    fft = (time.perf_counter() - t0, time.process_time() - c0)
    est = TRF(0.0, 0.5, 100.0, cv=4, scoring="r2")
    t0, c0 = time.perf_counter(), time.process_time()
    circular_shift_null(est, X, Y, n_permutations=args.refit_shifts, random_state=0)
    refit = (time.perf_counter() - t0, time.process_time() - c0)
    per = {"held_out_shift_null_s_per_shift": fft[1] / args.shifts,
           "circular_shift_null_s_per_shift": refit[1] / args.refit_shifts}
    print(json.dumps({"sensors": args.sensors, "shifts": args.shifts, "refit_shifts": args.refit_shifts,
                      "cpu_s": {"held_out_shift_null": round(fft[1], 3), "circular_shift_null": round(refit[1], 3)},
                      "wall_s": {"held_out_shift_null": round(fft[0], 3), "circular_shift_null": round(refit[0], 3)},
                      **{k: float(f"{v:.3g}") for k, v in per.items()},
                      "ratio_per_shift": round(per["circular_shift_null_s_per_shift"]
                                               / per["held_out_shift_null_s_per_shift"], 1)}, indent=1))


if __name__ == "__main__":
    main()
