"""Speed of TRACE: all slex words x 100 cycles as one batched simulation.

Usage::

    python benchmarks/bench_trace.py [--lexicon ../shared/data/jtrace/slex.jt] [--threads 2] [--repeats 3]

The target is <= 1 s on 2 CPU cores for the 212 slex words (everything but silence) x 100
cycles.  For comparison, jTRACE takes about 0.15 s for one simulation, i.e. about 32 s for the
212 words one after another.  Reports the best of ``--repeats`` runs for float32 and float64.
The feature layer uses the exact per-column trajectory table (no processing noise).  Also
reports process CPU time, a fairer figure when other jobs share the cores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from neurorrn.zoo.trace import read_jt_lexicon, simulate

DEFAULT_LEXICON = Path(__file__).resolve().parents[2] / "shared" / "data" / "jtrace" / "slex.jt"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lexicon", type=Path, default=DEFAULT_LEXICON)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cycles", type=int, default=100)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    lex = read_jt_lexicon(args.lexicon)
    inputs = ["-" + w + "-" for w in lex.words if w != "-"]
    out = {"n_inputs": len(inputs), "n_words": len(lex), "n_cycles": args.cycles, "threads": args.threads}
    for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        best, best_cpu = float("inf"), float("inf")
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            simulate(inputs, lex, n_cycles=args.cycles, record=(), dtype=dtype)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        out[f"seconds_{name}"] = round(best, 3)
        # CPU seconds used by this process: on a machine shared with other jobs this is
        # closer to the unloaded wall time (for --threads 1) than the wall time itself
        out[f"cpu_seconds_{name}"] = round(best_cpu, 3)
    out["jtrace_sequential_estimate_s"] = round(0.15 * len(inputs), 1)
    out["meets_1s_target"] = out["seconds_float32"] <= 1.0
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
