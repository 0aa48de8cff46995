"""Delétang et al. tasks: every generator checked against an independent decoding; protocol."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neurorrn.zoo.chomsky import (
    LEVELS,
    MODELS,
    TASKS,
    evaluate_model,
    get_task,
    register_model,
    results_table,
    run_benchmark,
)

LENGTHS = [1, 2, 3, 4, 5, 8, 13, 40, 57]


def _le(bits):
    """Little-endian bit list -> int."""
    return sum(int(b) << i for i, b in enumerate(bits))


def _until_term(row, term=2):
    row = list(row)
    return row[: row.index(term)]


def _check_even_pairs(x, y, n):
    return y[0] == np.sum(x[1:] != x[:-1]) % 2


def _check_modular_arithmetic(x, y, n):
    expr = "".join(str(t) if t < 5 else "+-*_"[t - 5] for t in x)
    return len(x) % 2 == 1 and y[0] == eval(expr) % 5  # noqa: S307 - digits and + - * only


def _check_parity_check(x, y, n):
    return y[0] == x.sum() % 2


def _check_cycle_navigation(x, y, n):
    return y[0] == np.sum(x - 1) % 5


def _check_stack_manipulation(x, y, n):
    if n == 1:
        return list(y) == [x[0], 2]
    k = next((i for i, t in enumerate(x) if t >= 2), len(x))
    stack = list(x[:k])
    for a in x[k:]:
        if a == 2:
            stack = stack[:-1]
        else:
            stack.append(a - 3)
    return _until_term(y) == stack[::-1] and len(y) == n + 1 and set(y[len(stack) + 1:]) <= {0}


def _check_reverse_string(x, y, n):
    return list(y) == list(x[::-1])


def _decode_brackets(x, table):
    return "".join(str(t) if t < 5 else table[t] for t in x)


def _check_modular_arithmetic_brackets(x, y, n):
    expr = _decode_brackets(x, {5: "+", 6: "-", 7: "*", 8: "(", 9: ")"})
    return len(expr) == n and y[0] == eval(expr) % 5  # noqa: S307


def _check_solve_equation(x, y, n):
    if n < 3:
        return y[0] == 0
    eq = _decode_brackets(x, {5: "+", 6: "-", 7: "(", 8: ")", 9: "x", 10: "="})
    lhs, rhs = eq.split("=")
    return eq.count("x") == 1 and eval(lhs.replace("x", str(y[0]))) % 5 == int(rhs)  # noqa: S307


def _check_duplicate_string(x, y, n):
    return list(y) == list(x) * 2


def _check_missing_duplicate_string(x, y, n):
    if n == 1:
        return y[0] == 1
    body = x[: 2 * (n // 2)]
    half = n // 2
    i = list(body).index(2)
    j = (i + half) % (2 * half)
    return list(x[2 * half:]) == [3] * (n % 2) and (body == 2).sum() == 1 and y[0] == body[j]


def _check_odds_first(x, y, n):
    return list(y) == list(x[1::2]) + list(x[::2])


def _split_numbers(x):
    i = list(x).index(2)
    return _le(x[:i]), _le(x[i + 1:])


def _check_binary_addition(x, y, n):
    if n <= 2:
        return _le(_until_term(y)) == _le(x)
    a, b = _split_numbers(x)
    res = _until_term(y)
    return _le(res) == a + b and (len(res) == 1 or res[-1] == 1) and len(y) == n + 1


def _check_binary_multiplication(x, y, n):
    if n <= 2:
        return _until_term(y) == [0] * (n - 1)
    a, b = _split_numbers(x)
    return _le(_until_term(y)) == a * b and len(y) == n


def _check_compute_sqrt(x, y, n):
    num = int("".join(map(str, x)), 2)
    return num >= 1 and int("".join(map(str, y)), 2) == math.isqrt(num) and len(y) == math.ceil(n / 2)


def _check_bucket_sort(x, y, n):
    return list(y) == sorted(x)


@pytest.mark.parametrize("name", list(TASKS))
def test_task_samples_are_correct(name):
    task = get_task(name)
    check = globals()[f"_check_{name}"]
    rng = np.random.default_rng(0)
    for n in LENGTHS:
        b = task.sample(16, n, rng)
        n_in = b.inputs.shape[1]
        assert b.targets.shape == (16, task.output_length(n)) == b.mask.shape
        assert b.inputs.min() >= 0 and b.inputs.max() < task.input_size
        assert b.targets.min() >= 0 and b.targets.max() < task.output_size
        for x, y in zip(b.inputs, b.targets):
            assert check(x, y, n_in), (name, n, x, y)


def test_levels_match_the_paper():
    assert [t for t, lv in LEVELS.items() if lv == "regular"] == [
        "even_pairs", "modular_arithmetic", "parity_check", "cycle_navigation"]
    assert [t for t, lv in LEVELS.items() if lv == "dcf"] == [
        "stack_manipulation", "reverse_string", "modular_arithmetic_brackets", "solve_equation"]
    assert len([t for t, lv in LEVELS.items() if lv == "cs"]) == 7


def test_masks_stop_at_the_termination_token():
    b = get_task("binary_addition").sample(8, 20, 0)
    for y, m in zip(b.targets, b.mask):
        stop = list(y).index(2)
        assert m[: stop + 1].all() and not m[stop + 1:].any()


def test_sampling_is_seeded():
    t = get_task("stack_manipulation")
    a, b = t.sample(4, 12, 3), t.sample(4, 12, 3)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)


def test_errors():
    with pytest.raises(ValueError, match="Invalid value for task: 'parity'.*Did you mean 'parity_check'"):
        get_task("parity")
    with pytest.raises(ValueError, match="length must be > 0"):
        get_task("reverse_string").sample(2, 0)
    with pytest.raises(ValueError, match=r"train_lengths must be \(min, max\)"):
        evaluate_model("parity_check", "lstm", training_steps=1, train_lengths=(5, 2))
    with pytest.raises(ValueError, match="Invalid value for model: 'transformers'.*Did you mean 'transformer'"):
        evaluate_model("parity_check", "transformers")
    with pytest.raises(ValueError, match="already registered"):
        register_model("lstm", lambda i, o, h: None)


def test_evaluate_model_protocol_runs_and_scores_in_range():
    res = evaluate_model("reverse_string", "gru", seed=0, training_steps=3, batch_size=4, hidden_size=8,
                         test_lengths=[41, 45], test_batch_size=4)
    assert set(res["accuracy_by_length"]) == {41, 45}
    assert all(0 <= a <= 1 for a in res["accuracy_by_length"].values())
    assert res["score"] == pytest.approx(np.mean(list(res["accuracy_by_length"].values())))


def test_registered_model_is_benchmarked():
    import torch

    class LastInput(torch.nn.Module):
        """A per-step linear readout of the input (no memory): a minimal registered model."""

        def __init__(self, i, o):
            super().__init__()
            self.lin = torch.nn.Linear(i, o)

        def forward(self, x):
            return self.lin(x)

    register_model("echo_test", lambda i, o, h: LastInput(i, o), overwrite=True)
    try:
        df = run_benchmark(tasks=["parity_check"], models=["echo_test", "rnn"], seeds=[0, 1], training_steps=2,
                           batch_size=4, hidden_size=4, test_lengths=[41], test_batch_size=8)
    finally:
        MODELS.pop("echo_test")
    assert set(df["model"]) == {"echo_test", "rnn"} and len(df) == 4
    table = results_table(df)
    assert list(table.columns) == ["echo_test", "rnn"]


def test_results_table_is_max_over_seeds_of_mean_over_lengths():
    df = pd.DataFrame({"task": "parity_check", "level": "regular", "model": "lstm", "learning_rate": 1e-3,
                       "seed": [0, 0, 1, 1], "length": [41, 42, 41, 42], "accuracy": [1.0, 0.5, 0.6, 0.6]})
    table = results_table(df)
    assert table.loc[("regular", "parity_check"), "lstm"] == pytest.approx(75.0)


def _doc_scores(task, model, seeds=(0, 1, 2)):
    """Scores at the documented budget (DOC_BUDGETS), every 40th test length of 41-500."""
    import torch

    from neurorrn.zoo.chomsky import DOC_BUDGETS, DOC_TEST_LENGTHS

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: extra threads only contend
    try:
        return [evaluate_model(task, model, seed=s, test_lengths=DOC_TEST_LENGTHS[::2], test_batch_size=32,
                               **DOC_BUDGETS[(task, model)])["score"] for s in seeds]
    finally:
        torch.set_num_threads(n_threads)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_lstm_solves_parity_where_the_transformer_fails_to_generalise():
    """Delétang et al.'s regular-task verdicts at the documented budget, seeds 0-2 (7.5 min
    measured on the shared 2-core machine).  docs/zoo_sequence.md: LSTM 100 % in every seed; Transformer near chance."""
    lstm = _doc_scores("parity_check", "lstm")
    transformer = _doc_scores("parity_check", "transformer")
    assert min(lstm) >= 0.9  # solved in every seed, not only the best
    assert max(transformer) <= 0.6  # chance is 0.5; the paper: 52 %


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_transformer_fits_even_pairs_but_does_not_generalise():
    """At its documented budget (unscaled embeddings, warm-up 100, 3000 steps) the Transformer
    fits even pairs at training lengths 1-40 in every seed and stays near chance beyond them
    (docs/zoo_sequence.md, seeds 0-2: training 100 %, test 51.4 / 50.1 / 50.4 %; the test
    took 7.5 min for the three seeds on the shared 2-core machine)."""
    import torch

    from neurorrn.zoo.chomsky import DOC_BUDGETS, DOC_TEST_LENGTHS

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runs = [evaluate_model("even_pairs", "transformer", seed=s, test_lengths=DOC_TEST_LENGTHS[::2],
                               test_batch_size=32, **DOC_BUDGETS[("even_pairs", "transformer")]) for s in (0, 1, 2)]
    finally:
        torch.set_num_threads(n_threads)
    assert min(r["train_accuracy"] for r in runs) >= 0.95  # fitted: the failure is one of generalisation
    assert max(r["score"] for r in runs) <= 0.65  # chance is 0.5; the paper: 96 %


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_lstm_solves_even_pairs_and_modular_arithmetic():
    """The LSTM's regular-task verdict at the documented budget, seeds 0-2 (about 10 min on an
    idle core).  docs/zoo_sequence.md (the release's LSTM: Haiku initialisation, one bias per
    gate, forget offset 1, ReLU readout): even pairs and modular arithmetic solved in every seed.
    Cycle navigation and bucket sort are documented, not tested: cycle navigation is solved by
    one seed of three at its 30,000 steps (about 11 min per seed) -- a test of the best of three
    seeds would fail whenever another floating-point path led all three to the non-generalising
    solution, as it led two here -- and bucket sort's 20,000 steps take about 13 min per seed."""
    assert min(_doc_scores("even_pairs", "lstm")) >= 0.9
    mod = _doc_scores("modular_arithmetic", "lstm")
    assert max(mod) >= 0.9 and np.mean(mod) >= 0.9  # chance is 0.2


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_relu_rnn_solves_cycle_navigation():
    """The release's RNN (Haiku's ReLU ``hk.VanillaRNN``) at the documented budget, seeds 0-2
    (10,000 steps each, 98-131 s per seed on the shared 2-core machine): docs/zoo_sequence.md gives 100 % in
    every seed, where the tanh RNN of the same budget fitted 89-92 % and scored 24-27 %."""
    assert min(_doc_scores("cycle_navigation", "rnn")) >= 0.9  # chance is 0.2


def test_zoo_runner_writes_store_and_figure(tmp_path):
    from neurorrn.store import open_store
    from neurorrn.zoo._registry_seq import SEQ_REGISTRY

    out = SEQ_REGISTRY["chomsky"](tmp_path, random_state=0, tasks=["parity_check", "reverse_string"],
                                  training_steps=2, hidden_size=4, batch_size=4, test_lengths=[41, 43],
                                  n_store_sequences=2)
    ds = open_store(out["store"], validate=True)
    assert ds.attrs["time_unit"] == "step"
    assert list(ds["word"].values) == ["parity_check"] * 2 + ["reverse_string"] * 2
    # reverse_string reads 41 symbols then emits 41: its time course is twice as long
    assert list(ds["n_frames"].values) == [42, 42, 82, 82]
    assert set(out["summary"]["scores"]) == {"parity_check", "reverse_string"}
    assert out["figure"].exists()


# ------------------------------------------------------------- documented grid and its table
def test_accuracy_is_masked_after_the_termination_token():
    import torch

    from neurorrn.zoo.chomsky.benchmark import _accuracy

    task = get_task("stack_manipulation")
    batch = task.sample(8, 12, 0)
    logits = torch.nn.functional.one_hot(torch.from_numpy(batch.targets), task.output_size).float()
    stop = batch.mask.sum(1)  # scored positions per sequence: the stack and its termination token
    for i, k in enumerate(stop):
        logits[i, k:] = torch.roll(logits[i, k:], 1, dims=-1)  # every padding position wrong
    correct, counted = _accuracy(logits, batch, torch)
    assert correct == counted == stop.sum()
    logits[0, 0] = torch.roll(logits[0, 0], 1, dims=-1)  # one scored position wrong
    assert _accuracy(logits, batch, torch)[0] == stop.sum() - 1


def test_table_verdict_rule():
    from neurorrn.zoo.chomsky import table_verdict

    agree_all = {("lstm", "parity_check"): 99.0, ("transformer", "parity_check"): 51.0,
                 ("stack_rnn", "reverse_string"): 95.0, ("lstm", "reverse_string"): 60.0}
    assert table_verdict(agree_all)[0] == "reproduced"
    half = {**agree_all, ("lstm", "parity_check"): 89.9, ("stack_rnn", "reverse_string"): 80.0}
    verdict, agree = table_verdict(half)
    assert verdict == "approximate" and sum(agree.values()) == 2
    assert table_verdict({**half, ("lstm", "reverse_string"): 95.0})[0] == "not reproduced"
    assert table_verdict({("gru", "parity_check"): 100.0}) == ("not reproduced", {})  # no paper value


def test_run_grid_records_resumes_and_summarises(tmp_path):
    from neurorrn.zoo.chomsky import run_grid, runs_markdown, summarize_runs

    path = tmp_path / "runs.json"
    kw = dict(training_steps=3, batch_size=4, hidden_size=8, test_lengths=[41, 61], test_batch_size=4)
    rec = run_grid(path, cells=[("parity_check", "lstm"), ("reverse_string", "stack_rnn")], seeds=[0, 1], **kw)
    assert len(rec) == 4 and path.exists()
    r = rec[0]
    assert (r["task"], r["model"], r["seed"], r["training_steps"]) == ("parity_check", "lstm", 0, 3)
    assert r["score"] == pytest.approx(np.mean(list(r["accuracy_by_length"].values())))
    assert [s for s, _ in r["history"]] == [] and r["test_lengths"] == [41, 61]  # 3 steps < one window
    again = run_grid(path, cells=[("parity_check", "lstm")], seeds=[0, 1, 2], **kw)  # only seed 2 is new
    assert len(again) == 5 and [x["seed"] for x in again if x["model"] == "lstm"] == [0, 1, 2]
    summ = summarize_runs(again)
    row = summ[summ["model"] == "lstm"].iloc[0]
    scores = [100 * x["score"] for x in again if x["model"] == "lstm"]
    assert row["best"] == pytest.approx(max(scores)) and row["mean"] == pytest.approx(np.mean(scores))
    assert row["sd"] == pytest.approx(np.std(scores, ddof=1)) and row["seeds"] == [0, 1, 2]
    assert row["paper"] == 100.0 and row["paper_solved"] and row["solved"] == (max(scores) >= 90)
    main, by_length, curve = runs_markdown(again, lengths=[41, 61, 81], curve_steps=[100]).split("\n\n")
    assert main.count("\n") == 3
    assert "| regular | parity_check | lstm | 3 steps x batch 4, hidden 8, lr 0.003 | 0–2 |" in main
    best = max((x for x in again if x["model"] == "lstm"), key=lambda x: x["score"])
    acc = best["accuracy_by_length"]
    assert (f"| parity_check | lstm (seed {best['seed']}) | {100 * acc['41']:.1f} | {100 * acc['61']:.1f} | – |"
            in by_length)
    assert "| parity_check | lstm | – |" in curve  # 3 steps: no point of the curve yet


def test_run_grid_takes_each_cells_documented_seeds(tmp_path, monkeypatch):
    from neurorrn.zoo.chomsky import DOC_SEEDS, run_grid
    from neurorrn.zoo.chomsky import benchmark

    assert DOC_SEEDS == {}  # every documented cell: seeds 0, 1, 2
    monkeypatch.setitem(benchmark.DOC_SEEDS, ("parity_check", "lstm"), (4, 7))
    kw = dict(training_steps=2, batch_size=4, hidden_size=4, test_lengths=[41], test_batch_size=4)
    rec = run_grid(tmp_path / "runs.json", cells=[("parity_check", "lstm"), ("even_pairs", "lstm")], **kw)
    assert [(r["task"], r["seed"]) for r in rec] == [("parity_check", 4), ("parity_check", 7), ("even_pairs", 0),
                                                     ("even_pairs", 1), ("even_pairs", 2)]


def test_history_is_the_learning_curve():
    res = evaluate_model("parity_check", "lstm", training_steps=6, batch_size=4, hidden_size=4,
                         test_lengths=[41], test_batch_size=4, history_every=2)
    assert [s for s, _ in res["history"]] == [2, 4, 6]
    assert all(0 <= a <= 1 for _, a in res["history"])


def test_test_curve_leaves_training_and_final_scores_unchanged(tmp_path):
    """``test_every`` scores the model during training from its own generator: the training draws,
    the learning curve and the final scores are those of the run without it, and run_grid keeps
    the curve in the record."""
    from neurorrn.zoo.chomsky import run_grid

    kw = dict(training_steps=6, batch_size=4, hidden_size=4, test_lengths=[41, 45], test_batch_size=4)
    plain = evaluate_model("parity_check", "lstm", seed=3, history_every=2, **kw)
    curve = evaluate_model("parity_check", "lstm", seed=3, history_every=2, test_every=3, **kw)
    assert curve["history"] == plain["history"] and plain["test_history"] == []
    assert curve["accuracy_by_length"] == plain["accuracy_by_length"]
    assert [s for s, _ in curve["test_history"]] == [3, 6]
    assert all(0 <= a <= 1 for _, a in curve["test_history"])
    rec = run_grid(tmp_path / "runs.json", cells=[("parity_check", "lstm")], seeds=[3], test_every=3,
                   training_steps=6, batch_size=4, hidden_size=4, test_lengths=[41, 45], test_batch_size=4)
    assert rec[0]["test_every"] == 3 and rec[0]["test_history"] == curve["test_history"]
    from neurorrn.zoo.chomsky import runs_markdown

    row = "| parity_check | lstm | 6 steps x batch 4, hidden 4, lr 0.003 | 3 | " + " | ".join(
        f"{100 * a:.1f}" for _, a in curve["test_history"]) + " |"
    assert row in runs_markdown(rec).splitlines() and "| seed | step 3 | step 6 |" in runs_markdown(rec)
    with pytest.raises(ValueError, match="test_every"):
        evaluate_model("parity_check", "lstm", training_steps=1, test_every=0, test_lengths=[41])


def test_architectures_runner_repeats_the_grid_runs(tmp_path):
    """Seed s of ``chomsky_architectures`` is run s of the documented grid (same budget, same draws)."""
    from neurorrn.zoo.chomsky import run_grid
    from neurorrn.zoo.chomsky.benchmark import simulate_chomsky_architectures

    kw = dict(training_steps=4, batch_size=4, hidden_size=8)
    cells = [("parity_check", "transformer"), ("reverse_string", "stack_rnn")]
    rec = run_grid(tmp_path / "runs.json", cells=cells, seeds=[1], test_lengths=[41, 81], **kw)
    out = simulate_chomsky_architectures(cells=cells, test_lengths=[41, 81], random_state=1, **kw)
    s = out["summary"]
    assert s["scores"] == {f"{r['model']}/{r['task']}": pytest.approx(100 * r["score"], abs=1e-9) for r in rec}
    assert set(s["published"]) == {"transformer/parity_check", "stack_rnn/reverse_string"}
    assert list(out["store"]["architecture"].values) == ["transformer"] * 2 + ["stack_rnn"] * 2


def _record(task, model, seed, score, steps=100, lr=3e-3):
    """A run record as run_grid writes it (no training: the table code only reads these fields)."""
    return {"task": task, "model": model, "level": LEVELS[task], "seed": seed, "training_steps": steps,
            "batch_size": 8, "hidden_size": 16, "learning_rate": lr, "test_lengths": [41],
            "test_batch_size": 4, "accuracy_by_length": {"41": score}, "score": score,
            "train_accuracy": 1.0, "history": [[100, 1.0]], "seconds": 1.0}


def test_architecture_table_has_the_papers_columns_and_marks_disagreements():
    from neurorrn.zoo.chomsky import ARCHITECTURES, PAPER_SCORES, architecture_markdown

    records = [_record("parity_check", "lstm", 0, 1.0), _record("parity_check", "lstm", 1, 0.8),
               _record("parity_check", "lstm", 2, 0.9),
               _record("parity_check", "transformer", 0, 0.95),  # solved where the paper's is not
               _record("reverse_string", "stack_rnn", 0, 0.5),  # not solved where the paper's is
               _record("reverse_string", "lstm", 0, 0.6)]
    table, summary = architecture_markdown(records, budgets=None).split("\n\n")
    assert summary == ("Solved / not solved agrees with the paper in 2 of 4 cells with a paper value (4 cells run): "
                       "approximate (`table_verdict`).")
    lines = table.splitlines()
    assert ARCHITECTURES == ("rnn", "stack_rnn", "tape_rnn", "transformer", "lstm")  # Table 2's order
    assert lines[0] == "| level | task | RNN | Stack-RNN | Tape-RNN | Transformer | LSTM |"
    assert len(lines) == 4  # header, rule, one row per task with runs, in the paper's order
    rows = {ln.split(" | ")[1]: [c.strip(" |") for c in ln.split(" | ")[2:]] for ln in lines[2:]}
    assert list(rows) == ["parity_check", "reverse_string"]
    rnn, stack, tape, transformer, lstm = rows["parity_check"]
    assert lstm == "100.0 (100) [90.0 ± 10.0, n=3]"  # best seed, mean ± sd over the three
    assert transformer == f"95.0 ({PAPER_SCORES['transformer']['parity_check']:.0f}) ✗ [n=1]"
    assert rnn == "– (100)" and stack == "– (100)" and tape == "– (100)"  # not run: the paper's value only
    rnn, stack, tape, transformer, lstm = rows["reverse_string"]
    assert stack == "50.0 (100) ✗ [n=1]" and lstm == "60.0 (61) [n=1]" and rnn == "– (62)"
    # a cell at two budgets: an error without budgets=, only the named budget's runs with it
    two = records + [_record("parity_check", "lstm", 0, 0.5, steps=200)]
    with pytest.raises(ValueError, match="parity_check.*lstm.*2 budgets"):
        architecture_markdown(two, budgets=None)
    budgets = {("parity_check", "lstm"): dict(training_steps=200, batch_size=8, hidden_size=16,
                                              learning_rate=3e-3)}
    only = architecture_markdown(two, budgets=budgets, tasks=["parity_check", "duplicate_string"])
    parity, dup = only.split("\n\n")[0].splitlines()[2:]
    assert parity.endswith("| 50.0 (100) ✗ [n=1] |") and "95.0" not in parity  # other cells have no budget
    assert dup == "| cs | duplicate_string | – (50) | – (53) | – (100) | – (53) | – (58) |"
    with pytest.raises(ValueError, match="tasks"):
        architecture_markdown(records, budgets=None, tasks=["no_such_task"])


def _doc_block(name):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "zoo_sequence.md").read_text()
    return doc.split(f"<!-- {name}:begin -->\n")[1].split(f"\n<!-- {name}:end -->")[0]


def test_docs_table_is_generated_from_the_run_records():
    """docs/zoo_sequence.md shows exactly the tables that the packaged runs.json gives."""
    from neurorrn.zoo.chomsky import ARCHITECTURES, architecture_markdown, load_runs, runs_markdown

    records = load_runs()
    assert _doc_block("chomsky-runs") == runs_markdown(records)
    table = _doc_block("chomsky-table")
    assert table == architecture_markdown(records)
    assert len({r["seed"] for r in records}) >= 3
    cells = [[c.strip() for c in ln.strip("|").split("|")[2:]] for ln in table.split("\n\n")[0].splitlines()[2:]]
    for j, m in enumerate(ARCHITECTURES):  # every column has runs at its documented budget
        assert any(not row[j].startswith("–") for row in cells), m
