"""Delétang et al. (2023) Chomsky-hierarchy tasks and their length-generalisation benchmark."""

from .benchmark import (
    ARCHITECTURES,
    DOC_BUDGETS,
    DOC_SEEDS,
    DOC_TEST_LENGTHS,
    MODELS,
    PAPER_SCORES,
    SOLVED,
    architecture_markdown,
    chomsky_verdict,
    evaluate_model,
    load_runs,
    register_model,
    results_table,
    run_benchmark,
    run_grid,
    runs_markdown,
    summarize_runs,
    table_verdict,
)
from .tasks import LEVELS, TASKS, Batch, ChomskyTask, get_task

__all__ = ["TASKS", "LEVELS", "Batch", "ChomskyTask", "get_task", "MODELS", "register_model",
           "evaluate_model", "run_benchmark", "results_table", "PAPER_SCORES", "SOLVED", "chomsky_verdict",
           "table_verdict", "DOC_BUDGETS", "DOC_SEEDS", "DOC_TEST_LENGTHS", "run_grid", "summarize_runs",
           "runs_markdown",
           "load_runs", "ARCHITECTURES", "architecture_markdown"]
