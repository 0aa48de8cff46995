"""Benchmark: build a 1000-word x 10-talker corpus (10,000 tokens) and print JSON timings.

Acceptance (issue 4): at most 2 minutes on 2 cores.  Usage::

    python benchmarks/bench_corpus.py [--n-words 1000] [--n-jobs 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-words", type=int, default=1000)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--out", default=None, help="corpus directory (default: a temporary one)")
    args = ap.parse_args()

    from neurorrn.speech import CorpusConfig, LexiconConfig, build_corpus

    cfg = CorpusConfig(name="bench", lexicon=LexiconConfig(source="cmudict", n_words=args.n_words),
                       n_jobs=args.n_jobs)
    tmp = None
    root = args.out
    if root is None:
        tmp = tempfile.mkdtemp(prefix="neurorrn-bench-")
        root = os.path.join(tmp, "corpus")
    try:
        r0s, r0c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        corpus = build_corpus(cfg, root)
        build = time.perf_counter() - t0
        r1s, r1c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_main = (r1s.ru_utime - r0s.ru_utime) + (r1s.ru_stime - r0s.ru_stime)
        # espeak servers and their forked children (reaped, so counted in RUSAGE_CHILDREN)
        cpu_servers = (r1c.ru_utime - r0c.ru_utime) + (r1c.ru_stime - r0c.ru_stime)
        t0 = time.perf_counter()
        build_corpus(cfg, root)  # cached: should do nothing
        cached = time.perf_counter() - t0
        print(json.dumps({
            "benchmark": "corpus_build", "n_words": args.n_words, "n_talkers": len(cfg.talkers),
            "n_tokens": len(corpus), "n_jobs": args.n_jobs, "cpu_count": os.cpu_count(),
            "load_average_before": round(load0, 2), "load_average_after": round(os.getloadavg()[0], 2),
            "build_seconds": round(build, 2), "tokens_per_second": round(len(corpus) / build, 1),
            "cpu_seconds_main": round(cpu_main, 2), "cpu_seconds_servers": round(cpu_servers, 2),
            # on 2 idle cores: the servers' work spread over 2 cores, but never less than the
            # serial main process (post-processing, WAV writing)
            "estimated_idle_2core_seconds": round(max(cpu_main, (cpu_main + cpu_servers) / 2), 2),
            "cached_rebuild_seconds": round(cached, 3),
            "audio_hours": round(float(corpus.items["duration"].sum()) / 3600, 3),
            "n_mismatched_pronunciations": int((~corpus.items["match"]).sum()),
            "passes_2_minute_budget_wall": build <= 120,
        }, indent=2))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
