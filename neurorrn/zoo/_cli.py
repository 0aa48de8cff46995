"""``neurorrn zoo``: list and run the classic models; ``neurorrn zoo trace`` runs TRACE."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..utils._cli import parse_sets

zoo_app = typer.Typer(help="Classic models (TRACE, IA, Hopfield, Boltzmann, attractor nets, SRNs...).",
                      no_args_is_help=True)


@zoo_app.command("list")
def zoo_list() -> None:
    """List the registered simulations."""
    from . import REGISTRY

    width = max(map(len, REGISTRY))
    for name, func in REGISTRY.items():
        doc = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""
        typer.echo(f"{name:<{width}}  {doc}")


@zoo_app.command("run")
def zoo_run(
    name: str = typer.Argument(..., help="Simulation name (see `neurorrn zoo list`)"),
    out: Path = typer.Option(Path("zoo_out"), "--out", help="Output folder"),
    seed: int = typer.Option(0, "--seed", help="random_state"),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="KEY=VALUE passed to the simulation"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs"),
) -> None:
    """Run a registered simulation; writes <out>/<name>.nc, <name>.png and <name>.json and prints
    the published values beside ours with the verdict."""
    from . import get_simulation
    from ._summary import comparison_lines

    try:
        runner = get_simulation(name)
    except ValueError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    try:
        res = runner(out, random_state=seed, overwrite=overwrite, **parse_sets(sets))
    except (ValueError, FileExistsError, FileNotFoundError, TypeError) as err:
        typer.echo(f"{name}: {err}", err=True)
        raise typer.Exit(1) from None
    summary = res["summary"]
    if all(k in summary for k in ("published", "ours", "verdict", "seeds", "budget", "reference")):
        typer.echo(f"{name}:")
        for line in comparison_lines(summary):
            typer.echo(f"  {line}")
    else:
        typer.echo(json.dumps(summary, indent=2, default=str))
    typer.echo(f"store:   {res['store']}")
    typer.echo(f"figure:  {res.get('figure')}")
    typer.echo(f"summary: {Path(res['store']).with_suffix('.json')}")


@zoo_app.command("trace")
def zoo_trace(
    lexicon: Path = typer.Option(..., "--lexicon", help="jTRACE .jt lexicon (e.g. slex.jt)"),
    inputs: List[str] = typer.Option(..., "--input", help="TRACE phoneme string, e.g. -^br^pt- (repeatable)"),
    cycles: int = typer.Option(100, "--cycles", min=1, help="Number of cycles"),
    out: Path = typer.Option(..., "--out", help="Output store (.nc)"),
    feedback: bool = typer.Option(True, "--feedback/--no-feedback", help="Word-to-phoneme feedback"),
    noise_sd: float = typer.Option(0.0, "--noise-sd", min=0.0, help="Input noise SD"),
    stochasticity_sd: float = typer.Option(0.0, "--stochasticity-sd", min=0.0, help="Processing noise SD"),
    seed: int = typer.Option(0, "--seed", help="Seed for the noise"),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="Other TraceParams fields, KEY=VALUE"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing store"),
) -> None:
    """Run TRACE and store word and phoneme activations per cycle and alignment slice."""
    from ..config import ConfigError
    from ..store import save_store
    from .trace import TraceParams, read_jt_lexicon, simulate

    try:
        lex = read_jt_lexicon(lexicon)
        params = TraceParams.from_dict({"feedback": feedback, "noise_sd": noise_sd,
                                        "stochasticity_sd": stochasticity_sd, **parse_sets(sets)},
                                       source="--set")
        res = simulate(list(inputs), lex, params, cycles, random_state=seed)
        path = save_store(res.to_store(), out, overwrite=overwrite)
    except (ValueError, FileExistsError, FileNotFoundError, ConfigError) as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
    for i, lab in enumerate(res.inputs):
        word, slc = res.winner(i)
        typer.echo(f"{lab}: winner {word!r} at slice {slc} "
                   f"(activation {res.word_activation(word, i, slc)[-1]:.3f} at cycle {cycles - 1})")
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the ``zoo`` command group to the main CLI."""
    app.add_typer(zoo_app, name="zoo")
