"""``neurorrn simulate CONFIG`` and ``neurorrn data check MANIFEST ROOT``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Dataset manifests: check a local copy of a dataset.", no_args_is_help=True)
    app.add_typer(data_app, name="data")

    @app.command("simulate")
    def simulate_cmd(
        config: Path = typer.Argument(..., help="Simulation config (YAML, see configs/simulate_small.yaml)"),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="BIDS root (default: config.output)"),
        overwrite: bool = typer.Option(False, help="Replace an existing recording"),
    ) -> None:
        """Simulate a listening experiment with known TRFs and write it as BIDS with its ground truth."""
        from ..config import ConfigError
        from .simulate import simulate
        from .simulate_config import SimulationConfig

        try:
            cfg = SimulationConfig.from_yaml(config)
        except (ConfigError, FileNotFoundError) as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(2) from None
        out = output if output is not None else cfg.output
        if out is None:
            typer.echo("no output folder: give --output or set 'output' in the config", err=True)
            raise typer.Exit(2)
        try:
            res = simulate(cfg, root=out, overwrite=overwrite)
        except FileExistsError as err:
            typer.echo(f"{err} (use --overwrite)", err=True)
            raise typer.Exit(1) from None
        gt = res.ground_truth
        typer.echo(json.dumps({
            "bids_root": str(res.bids_root), "sensors": cfg.sensors, "sfreq": cfg.sfreq,
            "duration_s": res.raw.n_times / cfg.sfreq, "n_channels": len(res.raw.ch_names),
            "events": res.timeline.events["kind"].value_counts().to_dict(),
            "features": [str(f) for f in gt["feature"].values],
            "snr_db": {k[len("snr_db_achieved_"):]: v for k, v in gt.attrs.items() if k.startswith("snr_db_achieved_")},
        }, indent=2))

    @data_app.command("check")
    def check_cmd(
        manifest: str = typer.Argument(..., help="Manifest YAML path or id (e.g. meg-masc)"),
        root: Path = typer.Argument(..., help="Local dataset root"),
        no_checksums: bool = typer.Option(False, "--no-checksums", help="Skip md5 verification"),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
    ) -> None:
        """Report which files of a dataset are present, missing or corrupt (exit 1 if incomplete)."""
        from ..config import ConfigError
        from .manifests import check_dataset, find_manifest, load_manifest

        try:
            man = load_manifest(find_manifest(manifest))
            report = check_dataset(man, root, checksums=not no_checksums)
        except (ConfigError, FileNotFoundError, NotADirectoryError) as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(2) from None
        if as_json:
            typer.echo(json.dumps({"manifest": man.id, "root": str(root), "ok": report.ok,
                                   "counts": report.counts(), "entries": report.rows}, indent=2, default=str))
        else:
            typer.echo(str(report))
        if not report.ok:
            raise typer.Exit(1)
