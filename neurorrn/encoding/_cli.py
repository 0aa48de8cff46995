"""``neurorrn encode CONFIG``: cross-validated TRF (or banded TRF) from predictor and response files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Union

import typer
from pydantic import Field

from ..config import ConfigModel


class EncodeConfig(ConfigModel):
    """An encoding analysis.

    ``predictors`` is a netCDF file holding a DataArray (time, feature) — or a mapping
    ``{space name: file}`` for a banded model with one penalty per feature space — and
    ``responses`` a netCDF DataArray (time, sensor) at the same rate and times.
    """

    predictors: Union[str, dict[str, str]]
    responses: str
    tmin: float = 0.0
    tmax: float = 0.5
    alpha: Optional[Union[float, list[float]]] = None
    cv: int = Field(5, ge=2, description="outer folds (contiguous) for held-out scores")
    inner_cv: int = Field(5, ge=2, description="folds for choosing alphas inside each training set")
    scoring: str = "r2"
    alpha_rule: str = "best"
    standardize: bool = False
    backend: str = "numpy"
    dtype: str = "float64"
    device: Optional[str] = None
    n_permutations: int = Field(0, ge=0, description="circular-shift null permutations (0: none)")
    random_state: int = 0
    output: Optional[str] = None


def _load(path: str, base: Path):
    import xarray as xr

    p = Path(path)
    if not p.is_absolute():
        p = base / p
    if not p.is_file():
        raise FileNotFoundError(f"no such file: '{p}'")
    da = xr.load_dataarray(p, engine="h5netcdf")
    return da


def run_encode(cfg: EncodeConfig, base: Path, output: Path | None = None, overwrite: bool = False) -> dict:
    """Run the analysis of ``cfg``; write the result Dataset (netCDF) and return a summary."""
    import numpy as np
    import xarray as xr

    from ..utils._io import atomic_path
    from . import BandedTRF, TRF, circular_shift_null, cross_validate

    Y = _load(cfg.responses, base)
    if "time" not in Y.dims or Y.sizes["time"] < 2:
        raise ValueError(f"{cfg.responses}: responses need a 'time' dim with at least 2 samples")
    sfreq = 1.0 / float(Y["time"].values[1] - Y["time"].values[0])
    common = dict(tmin=cfg.tmin, tmax=cfg.tmax, sfreq=sfreq, alpha=cfg.alpha, cv=cfg.inner_cv, scoring=cfg.scoring,
                  alpha_rule=cfg.alpha_rule, standardize=cfg.standardize, backend=cfg.backend, dtype=cfg.dtype,
                  device=cfg.device)
    if isinstance(cfg.predictors, dict):
        spaces = {k: _load(v, base) for k, v in cfg.predictors.items()}
        X = xr.concat([da.assign_coords(feature=[f"{k}:{f}" for f in da["feature"].values])
                       for k, da in spaces.items()], dim="feature")
        est = BandedTRF(bands={k: int(da.sizes["feature"]) for k, da in spaces.items()},
                        random_state=cfg.random_state, **common)
    else:
        X = _load(cfg.predictors, base)
        est = TRF(**common)
    ds = cross_validate(est, X, Y, cv=cfg.cv)
    if cfg.n_permutations:
        null = circular_shift_null(est, X, Y, n_permutations=cfg.n_permutations, random_state=cfg.random_state)
        ds["null_observed"] = null["observed"]
        ds["p_value"] = null["p_value"]
    ds.attrs["config_json"] = cfg.to_json()
    out = output or (Path(cfg.output) if cfg.output else None)
    summary = {"n_targets": int(ds.sizes[[d for d in ds["r_mean"].dims][0]]), "sfreq": sfreq,
               "mean_r": float(np.nanmean(ds["r_mean"].values)), "max_r": float(np.nanmax(ds["r_mean"].values)),
               "median_alpha": float(np.median(ds["best_alpha"].values))}
    if out is not None:
        out = Path(out)
        with atomic_path(out, overwrite=overwrite) as tmp:
            ds.to_netcdf(tmp, engine="h5netcdf")
        summary["output"] = str(out)
    return summary


def register(app: typer.Typer) -> None:
    """Add ``encode`` to the ``neurorrn`` app."""

    @app.command("encode")
    def encode(
        config: Path = typer.Argument(..., help="Encoding YAML (see docs/encoding.md)"),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Result netCDF (default: config `output`)"),
        overwrite: bool = typer.Option(False, help="Replace an existing output file"),
        verbose: bool = typer.Option(False, help="Log progress"),
    ) -> None:
        """Nested cross-validated TRF: coefficients, alphas, per-fold scores, predictions (netCDF)."""
        from ..config import ConfigError
        from ..utils._logging import use_log_level

        try:
            cfg = EncodeConfig.from_yaml(config)
            with use_log_level(verbose or None):
                summary = run_encode(cfg, config.parent, output, overwrite)
        except (ConfigError, FileNotFoundError, FileExistsError, ValueError, TypeError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        typer.echo(json.dumps(summary, indent=2))
