"""``neurorrn run CONFIG``: run a pipeline with caching (registered by :mod:`neurorrn.cli`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        config: Path = typer.Argument(..., help="Pipeline config (YAML), e.g. configs/demo.yaml"),
        until: Optional[str] = typer.Option(None, "--until", help="Stop after this stage."),
        from_: Optional[str] = typer.Option(None, "--from", help="Re-run this stage and what depends on it."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: the config's out_dir)."),
        scheduler: Optional[str] = typer.Option(
            None, "--scheduler",
            help="Where encoding/probing tasks run: 'serial', 'local' (a dask LocalCluster) or a dask "
                 "scheduler address such as tcp://10.0.0.5:8786 (default: the config's distributed.scheduler)."),
        n_jobs: Optional[int] = typer.Option(None, "--n-jobs", help="Worker processes for corpus synthesis."),
        status: bool = typer.Option(False, "--status", help="Only print which stages are up to date."),
        strict: bool = typer.Option(False, "--strict",
                                    help="Fail when a quality gate fails (e.g. the trained network's accuracy "
                                         "is below quality.min_accuracy) instead of warning."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Warnings only on the console."),
    ) -> None:
        """Run a pipeline: each stage is skipped when its config and inputs are unchanged."""
        from ..config import ConfigError
        from ..pipeline.engine import PipelineError
        from .run import load_run_config, run_config

        try:
            module, cfg = load_run_config(config)
            names = module.build_pipeline().names
            from ..utils._check import check_option

            for opt, value in (("--until", until), ("--from", from_)):
                if value is not None:
                    check_option(value, names, opt)
            if status:
                full = cfg.model_dump(mode="json")
                keyed = {k: v for k, v in full.items() if k not in module.RUNTIME_SECTIONS}
                st = module.build_pipeline().status(keyed, out if out is not None else cfg.out_dir)
                for name, done in st.items():
                    typer.echo(f"{name:<10} {'up to date' if done else 'to run'}")
                return
            res = run_config(config, out_dir=out, until=until, from_=from_, scheduler=scheduler, n_jobs=n_jobs,
                             strict=strict, verbose="WARNING" if quiet else "INFO")
        except (ConfigError, PipelineError, OSError, ValueError) as err:  # OSError: a locked out_dir too
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        typer.echo(json.dumps(res, indent=2))
