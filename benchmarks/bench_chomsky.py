"""Delétang et al. (2023) length-generalisation table: RNN/GRU/LSTM, Transformer, Stack-RNN, Tape-RNN.

Trains each model on each task (lengths 1-40, uniform curriculum) and scores per-token accuracy
at unseen lengths, averaged over test lengths and maximised over seeds -- the paper's protocol
(:mod:`neurorrn.zoo.chomsky.benchmark`).  The defaults are scaled down to run in about ten
minutes on two shared CPU cores; pass ``--paper`` for the paper's settings (GPU-days).

Expected pattern (paper, Table 2): RNN and LSTM near 100 % on the regular tasks, near chance
on the context-free/context-sensitive ones (LSTM also solves bucket sort); the Transformer fails
length generalisation even on regular tasks such as parity; the Stack-RNN solves deterministic
context-free tasks (reverse string, stack manipulation); the Tape-RNN also duplicate string.
Each model's verdict: solved (>= 90 %) / not solved agrees with the paper's table per task.  The acceptance bar
checked at the end: LSTM >= 90 % on parity_check and even_pairs, <= 70 % on reverse_string.

The documented multi-seed table (docs/zoo_sequence.md) comes from ``--grid``: every
(task, model) cell of ``DOC_BUDGETS`` at its budget over ``--seeds``, one record per run appended
to ``neurorrn/zoo/chomsky/runs.json`` (interrupted grids resume); ``--table`` prints the docs'
tables from that file (``architecture_markdown``: the paper's five columns; ``runs_markdown``:
per-cell budgets, accuracy by length) and the learning curves.

Usage::

    .venv/bin/python benchmarks/bench_chomsky.py --grid [--cells parity_check:lstm ...] [--seeds 0 1 2]
    .venv/bin/python benchmarks/bench_chomsky.py --table

    .venv/bin/python benchmarks/bench_chomsky.py [--tasks parity_check even_pairs ...]
        [--models lstm transformer stack_rnn tape_rnn] [--seeds 0] [--steps 2500] [--hidden 64] [--batch-size 32]
        [--lr 5e-3] [--test-lengths 41 60 100 200 300 500] [--out results/chomsky]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DEFAULT_TASKS = ["parity_check", "even_pairs", "cycle_navigation", "modular_arithmetic", "reverse_string",
                 "stack_manipulation", "duplicate_string", "bucket_sort"]


def _markdown(table):
    """Markdown table (level, task, per model: ours and the paper's score (≈); percent)."""
    from neurorrn.zoo.chomsky import PAPER_SCORES

    cols = list(table.columns)
    head = " | ".join(f"{c} | {c} paper (≈)" for c in cols)
    lines = [f"| level | task | {head} |", "|---|---|" + "---|---|" * len(cols)]
    for (level, task), row in table.iterrows():
        cells = []
        for c in cols:
            paper = PAPER_SCORES.get(c, {}).get(task)
            cells.append(f"{row[c]:.1f} | " + ("–" if paper is None else f"{paper:.0f}"))
        lines.append(f"| {level} | {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _grid(a):
    import torch

    from neurorrn.zoo.chomsky.benchmark import architecture_markdown, load_runs, run_grid, runs_markdown

    runs = a.runs or Path(__file__).resolve().parents[1] / "neurorrn" / "zoo" / "chomsky" / "runs.json"
    if a.grid:
        torch.set_num_threads(a.threads)
        cells = None if a.cells is None else [tuple(c.split(":")) for c in a.cells]
        run_grid(runs, cells=cells, seeds=a.seeds)
    records = load_runs(runs)
    print("paper's layout (ours = best seed, % (paper); ✗: solved / not solved disagrees; [mean ± sd, seeds]):")
    print(architecture_markdown(records))
    print()
    print(runs_markdown(records))
    print("\nlearning curves (training accuracy %, every 500 steps):")
    for r in records:
        curve = [f"{100 * acc:.0f}" for step, acc in r["history"] if step % 500 == 0]
        print(f"{r['task']:>20s} {r['model']:>12s} seed {r['seed']}: " + " ".join(curve))
    return records


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    p.add_argument("--models", nargs="+", default=["lstm"])
    p.add_argument("--seeds", nargs="+", type=int, default=None, help="default: 0 (--grid: each cell's DOC_SEEDS, 0 1 2 for most)")
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", nargs="+", type=float, default=[5e-3])
    p.add_argument("--test-lengths", nargs="+", type=int, default=[41, 60, 100, 150, 200, 300, 400, 500])
    p.add_argument("--test-batch-size", type=int, default=32)
    p.add_argument("--warmup", type=int, default=0, help="linear learning-rate warm-up steps (0: none)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--paper", action="store_true",
                   help="paper settings: 3 seeds x 3 rates, 1M steps, hidden 256, batch 128, lengths 41-500")
    p.add_argument("--out", type=Path, default=None, help="folder for results.csv, table.md, settings.json")
    p.add_argument("--grid", action="store_true", help="run the documented cells (DOC_BUDGETS) into --runs")
    p.add_argument("--table", action="store_true", help="print the docs table from --runs and stop")
    p.add_argument("--cells", nargs="+", default=None, help="task:model cells for --grid (default: all)")
    p.add_argument("--runs", type=Path, default=None, help="run records (default: the packaged runs.json)")
    a = p.parse_args(argv)
    if a.grid or a.table:
        return _grid(a)  # seeds None: each cell's DOC_SEEDS (0 1 2 unless listed there)
    a.seeds = [0] if a.seeds is None else a.seeds
    if a.paper:
        a.seeds, a.lr, a.steps, a.hidden, a.batch_size = [0, 1, 2], [1e-3, 5e-4, 1e-4], 1_000_000, 256, 128
        a.test_lengths, a.test_batch_size = list(range(41, 501)), 512

    import torch

    from neurorrn.zoo.chomsky import results_table, run_benchmark

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    df = run_benchmark(tasks=a.tasks, models=a.models, seeds=a.seeds, learning_rates=a.lr,
                       training_steps=a.steps, hidden_size=a.hidden, batch_size=a.batch_size,
                       test_lengths=a.test_lengths, test_batch_size=a.test_batch_size, warmup_steps=a.warmup)
    if a.out is not None:  # save the raw results before anything else can fail
        a.out.mkdir(parents=True, exist_ok=True)
        df.to_csv(a.out / "results.csv", index=False)
    table = results_table(df)
    wall = time.perf_counter() - t0
    settings = {"tasks": a.tasks, "models": a.models, "seeds": a.seeds, "learning_rates": a.lr,
                "training_steps": a.steps, "hidden_size": a.hidden, "batch_size": a.batch_size,
                "train_lengths": [1, 40], "test_lengths": a.test_lengths, "test_batch_size": a.test_batch_size,
                "warmup_steps": a.warmup, "torch_threads": a.threads, "wall_seconds": round(wall, 1)}
    md = _markdown(table)
    print(json.dumps(settings))
    print(md)
    train = df.groupby(["task", "model"], sort=False)["train_accuracy"].max().unstack("model") * 100
    print("\ntraining-length accuracy (last 100 steps, %):")
    print(train.round(1).to_string())
    from neurorrn.zoo.chomsky import chomsky_verdict

    for model in table.columns:
        ours = table[model].droplevel("level").dropna().to_dict()
        verdict, agree = chomsky_verdict(ours, model)
        print(f"{model}: solved/not solved agrees with the paper on {sum(agree.values())}/{len(agree)} tasks "
              f"-> {verdict}")
    if "lstm" in table.columns:
        checks = {"parity_check >= 90": ("parity_check", lambda v: v >= 90),
                  "even_pairs >= 90": ("even_pairs", lambda v: v >= 90),
                  "reverse_string <= 70": ("reverse_string", lambda v: v <= 70)}
        lstm = table["lstm"].droplevel("level")
        for label, (task, ok) in checks.items():
            if task in lstm.index:
                print(f"LSTM {label}: {lstm[task]:.1f} -> {'met' if ok(lstm[task]) else 'NOT met'}")
    if a.out is not None:
        (a.out / "table.md").write_text(md + "\n")
        (a.out / "settings.json").write_text(json.dumps(settings, indent=2))
    return table


if __name__ == "__main__":
    main()
