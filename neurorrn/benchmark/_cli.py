"""``neurorrn benchmark list | run MODEL BENCHMARK | leaderboard DIR``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..utils._cli import parse_sets

benchmark_app = typer.Typer(help="Model-brain benchmarks (Brain-Score scoring).", no_args_is_help=True)


@benchmark_app.command("list")
def list_cmd() -> None:
    """List the registered benchmarks and models."""
    from . import BENCHMARKS, MODELS

    for name, cls in BENCHMARKS.items():
        typer.echo(f"benchmark {name:<10} {cls.reference}")
    for name, cls in MODELS.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        typer.echo(f"model     {name:<10} {doc}")
    typer.echo("model     bundle:PATH  a trained speech network (ModelBundle)")
    typer.echo("model     store:PATH   activations recorded on the benchmark's stimuli")


@benchmark_app.command("run")
def run_cmd(
    model: str = typer.Argument(..., help="Model: a registry name, bundle:PATH or store:PATH"),
    benchmark: str = typer.Argument(..., help="Benchmark name (see `neurorrn benchmark list`)"),
    out: Path = typer.Option(Path("benchmark_out"), "--out", help="Folder for <model>__<benchmark>.nc/.json"),
    model_sets: Optional[List[str]] = typer.Option(None, "--model-set", help="KEY=VALUE for the model"),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="KEY=VALUE for the benchmark"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs"),
) -> None:
    """Score MODEL on BENCHMARK; print the score and write the per-sensor scores."""
    from . import run_benchmark

    try:
        res = run_benchmark(model, benchmark, out, parse_sets(model_sets, "--model-set"),
                            parse_sets(sets, "--set"), overwrite=overwrite)
    except (ValueError, TypeError, FileExistsError, FileNotFoundError) as err:
        typer.echo(f"benchmark: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"model": model, "benchmark": benchmark, "score": res.attrs["score"],
                           "raw_median_r": res.attrs["raw_median_r"],
                           "n_sensors_scored": res.attrs["n_sensors_scored"]}, indent=2))


@benchmark_app.command("leaderboard")
def leaderboard_cmd(
    folder: Path = typer.Argument(..., help="Folder of <model>__<benchmark>.json scores"),
    figure: Optional[Path] = typer.Option(None, "--figure", help="Write the bar chart here (.png)"),
) -> None:
    """Tabulate (and plot) every score in FOLDER."""
    from . import leaderboard, plot_leaderboard

    try:
        table = leaderboard(folder)
    except (ValueError, FileNotFoundError) as err:
        typer.echo(f"benchmark: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(table.round(3).to_string())
    if figure is not None:
        plot_leaderboard(table).savefig(figure, dpi=120)
        typer.echo(f"wrote {figure}")


def register(app: typer.Typer) -> None:
    """Add the ``benchmark`` command group to the main CLI."""
    app.add_typer(benchmark_app, name="benchmark")
