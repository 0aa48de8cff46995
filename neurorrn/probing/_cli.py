"""``neurorrn probe CONFIG``: probing analyses of a model's hidden units from one config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add ``probe`` to the ``neurorrn`` app."""

    @app.command("probe")
    def probe(
        config: Path = typer.Argument(..., help="Probe YAML (e.g. configs/probe_example.yaml)"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory (default: config `out`)"),
        store: Optional[Path] = typer.Option(None, "--store", help="Override the config's `store`"),
        verbose: bool = typer.Option(False, help="Log progress"),
    ) -> None:
        """PSI/FSI map with clusters, probes over lags and RSA (with figures) for one store."""
        from ..config import ConfigError
        from ..store import StoreValidationError
        from .pipeline import ProbeConfig, run_probe

        try:
            cfg = ProbeConfig.from_yaml(config)
            if store is not None:
                cfg.store = str(store)
            summary = run_probe(cfg, out, verbose=verbose)
        except (ConfigError, FileNotFoundError, FileExistsError, ValueError, KeyError,
                StoreValidationError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        short = {k: summary[k] for k in ("n_units", "n_tokens", "n_selective_units", "probes", "rsa") if k in summary}
        typer.echo(json.dumps(short, indent=2, ensure_ascii=False))
