"""Delétang et al. (2023) Chomsky-hierarchy tasks and their length-generalisation benchmark."""

from .benchmark import (
    MODELS,
    PAPER_SCORES,
    SOLVED,
    chomsky_verdict,
    evaluate_model,
    register_model,
    results_table,
    run_benchmark,
)
from .tasks import LEVELS, TASKS, Batch, ChomskyTask, get_task

__all__ = ["TASKS", "LEVELS", "Batch", "ChomskyTask", "get_task", "MODELS", "register_model",
           "evaluate_model", "run_benchmark", "results_table", "PAPER_SCORES", "SOLVED", "chomsky_verdict"]
