"""The ``neurorrn`` command line (typer).

Core commands live here (``info``, ``store inspect|validate|consolidate|copy|move``).  Each subsystem adds
its own commands from a module ``neurorrn.<subsystem>._cli`` that defines
``register(app: typer.Typer) -> None``; modules listed in :data:`SUBCOMMAND_MODULES` that exist
are registered automatically.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import platform
import sys
from pathlib import Path

import typer

from . import __version__

app = typer.Typer(name="neurorrn", help="Recurrent speech models, M/EEG encoding and probing.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
store_app = typer.Typer(help="Inspect and validate ActivationStores.", no_args_is_help=True)
app.add_typer(store_app, name="store")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"neurorrn {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", help="Also show third-party libraries' messages (MNE...)."),
) -> None:
    """Recurrent speech models, M/EEG encoding and probing."""
    import os

    from .utils._logging import route_warnings_to_log

    route_warnings_to_log()
    if not verbose:  # MNE reads this when imported; a user's own setting wins
        os.environ.setdefault("MNE_LOGGING_LEVEL", "WARNING")
        if "mne" in sys.modules:
            sys.modules["mne"].set_log_level(os.environ["MNE_LOGGING_LEVEL"])

SUBCOMMAND_MODULES = (
    "neurorrn.speech._cli",
    "neurorrn.models._cli",
    "neurorrn.brain._cli",
    "neurorrn.encoding._cli",
    "neurorrn.probing._cli",
    "neurorrn.zoo._cli",
    "neurorrn.report._cli",
    "neurorrn.pipelines._cli",
    "neurorrn.benchmark._cli",
)


def _echo_json(obj) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


@app.command()
def info() -> None:
    """Versions, devices, and whether the espeak-ng library loads."""
    rows = {"neurorrn": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for mod in ("numpy", "scipy", "torch", "mne", "mne_bids", "sklearn", "xarray", "h5netcdf", "h5py",
                "zarr", "dask", "pandas"):
        try:
            rows[mod] = importlib.import_module(mod).__version__
        except Exception as err:  # noqa: BLE001
            rows[mod] = f"not importable ({type(err).__name__})"
    try:
        import torch

        rows["cuda"] = (f"{torch.cuda.device_count()} device(s): "
                        + ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
                        if torch.cuda.is_available() else "not available")
        rows["torch threads"] = torch.get_num_threads()
    except Exception as err:  # noqa: BLE001
        rows["cuda"] = f"unknown ({err})"
    rows["espeak-ng"] = _espeak_status()
    width = max(map(len, rows))
    for k, v in rows.items():
        typer.echo(f"{k:<{width}}  {v}")


def _espeak_status() -> str:
    try:
        spec = importlib.util.find_spec("neurorrn.speech._espeak")
    except ModuleNotFoundError:
        spec = None
    if spec is not None:
        try:
            mod = importlib.import_module("neurorrn.speech._espeak")
            return mod.library_status()
        except Exception as err:  # noqa: BLE001
            return f"does not load: {err}"
    try:
        import ctypes

        import espeakng_loader

        ctypes.CDLL(espeakng_loader.get_library_path())
        return f"loads ({espeakng_loader.get_library_path()})"
    except Exception as err:  # noqa: BLE001
        return f"does not load: {err}"


@store_app.command("inspect")
def store_inspect(path: Path = typer.Argument(..., help="Store file (.nc)")) -> None:
    """Print a summary of a store (dims, layers, coords, alignments, attrs) as JSON."""
    from .store import StoreValidationError, describe, open_store

    try:
        with open_store(path) as ds:
            _echo_json({"path": str(path), **describe(ds)})
    except (StoreValidationError, OSError) as err:  # OSError: missing path, a folder, unreadable
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None


@store_app.command("validate")
def store_validate(path: Path = typer.Argument(..., help="Store file (.nc)")) -> None:
    """Exit 0 when the store is valid, 1 (with the reasons) when it is not."""
    from .store import validate_store

    try:
        problems = validate_store(path, raise_on_error=False)
    except OSError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    if problems:
        typer.echo(f"{path}: INVALID", err=True)
        for p in problems:
            typer.echo(f"  - {p}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{path}: valid")


def _store_command(action, *args, **kwargs) -> None:
    """Run a store operation; its clear errors become one ``error:`` line and exit status 1."""
    from .store import StoreValidationError

    try:
        action(*args, **kwargs)
    except (StoreValidationError, OSError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None


@store_app.command("consolidate")
def store_consolidate(path: Path = typer.Argument(..., help="Store file (.nc) with a .parts folder")) -> None:
    """Fold an appended store's parts into one self-contained file at the same path."""
    from .store import consolidate_store

    _store_command(consolidate_store, path)
    typer.echo(f"{path}: self-contained")


@store_app.command("copy")
def store_copy(src: Path = typer.Argument(..., help="Store file (.nc)"),
               dst: Path = typer.Argument(..., help="New store file (.nc)"),
               overwrite: bool = typer.Option(False, help="Replace a store at DST")) -> None:
    """Copy a store with its parts into one self-contained file (copying the .nc alone is not enough)."""
    from .store import copy_store

    _store_command(copy_store, src, dst, overwrite=overwrite)
    typer.echo(f"{src} -> {dst}")


@store_app.command("move")
def store_move(src: Path = typer.Argument(..., help="Store file (.nc)"),
               dst: Path = typer.Argument(..., help="New store path (.nc)"),
               overwrite: bool = typer.Option(False, help="Replace a store at DST")) -> None:
    """Move a store and its parts (hard links on the same file system: no data copied)."""
    from .store import move_store

    _store_command(move_store, src, dst, overwrite=overwrite)
    typer.echo(f"{src} -> {dst}")


def _register_subcommands() -> None:
    for name in SUBCOMMAND_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            continue
        importlib.import_module(name).register(app)


_register_subcommands()


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
