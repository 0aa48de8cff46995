"""``neurorrn train``, ``neurorrn evaluate`` and ``neurorrn export`` (speech networks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import typer


def _fail(err: Exception) -> None:
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the model commands to the ``neurorrn`` app."""

    @app.command("train")
    def train(
        config: Path = typer.Argument(..., help="Experiment YAML (e.g. configs/earshot_small.yaml)"),
        out: Path = typer.Option(None, "--out", "-o", help="Run directory (default runs/<name>)"),
        resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoint.pt"),
        allow_config_change: bool = typer.Option(
            False, "--allow-config-change", help="With --resume: continue under changed training settings"),
        device: Optional[str] = typer.Option(None, help="Override train.device (cpu, cuda, auto)"),
        max_epochs: Optional[int] = typer.Option(None, help="Override train.max_epochs"),
        verbose: bool = typer.Option(True, help="Progress bar and per-epoch log"),
    ) -> None:
        """Train a speech network from a config; writes model.pt, evaluation.nc, summary.json."""
        from ..config import ConfigError
        from .experiment import ExperimentConfig, run_experiment

        try:
            cfg = ExperimentConfig.from_yaml(config)
            upd = {}
            if device is not None:
                upd["device"] = device
            if max_epochs is not None:
                upd["max_epochs"] = max_epochs
            if upd:
                cfg.train = cfg.train.model_copy(update=upd)
            out_dir = out if out is not None else Path("runs") / cfg.name
            summary = run_experiment(cfg, out_dir, resume=resume, verbose=verbose,
                                     allow_config_change=allow_config_change)
        except (ConfigError, OSError, ValueError, KeyError) as err:
            _fail(err)
        typer.echo(json.dumps(summary, allow_nan=False))

    @app.command("evaluate")
    def evaluate(
        bundle: Path = typer.Argument(..., help="Model bundle (model.pt)"),
        corpus: Path = typer.Option(..., "--corpus", help="Corpus root"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write per-token results (.nc)"),
        overwrite: bool = typer.Option(False, help="Replace an existing --out file"),
    ) -> None:
        """Recognition accuracy (EARSHOT's three criteria) and RTs of a trained model on a corpus."""
        from ..speech import load_corpus
        from .bundle import ModelBundle
        from .data import FeatureSet, holdout_split
        from .evaluation import accuracy, evaluate_network, save_evaluation
        from .export import check_frame_rate, compute_bundle_features

        try:
            b = ModelBundle.load(bundle)
            if out is not None and out.exists() and not overwrite:
                raise FileExistsError(f"'{out}' already exists; pass --overwrite to replace it")
            c = load_corpus(corpus)
            feats = compute_bundle_features(b, c)
            check_frame_rate(feats.attrs["frame_rate"], b)
            data = b.normalizer.transform(FeatureSet.from_xarray(feats))
            ho = (b.run_config or {}).get("holdout")
            if ho:  # the training run's hold-out, recomputed (same words, talkers and seed -> same split)
                data.split = holdout_split(data.word, data.talker, ho["mode"], ho.get("excluded_talker"),
                                           ho.get("random_state", 0))
            known = np.isin(data.word.astype(str), b.targets.words)
            if not known.all():
                raise ValueError(f"{int((~known).sum())} token(s) are words the model has no target for: "
                                 f"{sorted(set(data.word[~known].tolist()))[:5]}")
            ds = evaluate_network(b.build_model(), data, b.targets, pronunciations=b.pronunciations or None)
            acc = accuracy(ds)
            if out is not None:
                save_evaluation(ds, out, overwrite=overwrite)
        except (FileNotFoundError, FileExistsError, ValueError, KeyError) as err:
            _fail(err)
        typer.echo(json.dumps({str(cr): {str(s): float(acc.sel(criterion=cr, split=s)) for s in acc["split"].values}
                               for cr in acc["criterion"].values}, allow_nan=False))

    @app.command("export")
    def export(
        bundle: Path = typer.Argument(..., help="Model bundle (model.pt)"),
        corpus: Path = typer.Option(..., "--corpus", help="Corpus root (needs alignments)"),
        out: Path = typer.Option(..., "--out", "-o", help="Output ActivationStore (.nc)"),
        components: str = typer.Option("h", help="Comma-separated: h, c, input_gate, forget_gate, ..."),
        mode: str = typer.Option("isolated", help="isolated (zero state) or stream (carried state)"),
        overwrite: bool = typer.Option(False, help="Replace an existing store"),
        batch_size: int = typer.Option(64, min=1, help="Stimuli per forward pass / write"),
    ) -> None:
        """Write hidden-unit time courses of every layer to an ActivationStore."""
        from ..speech import load_corpus
        from .bundle import ModelBundle
        from .export import export_corpus

        try:
            if out.exists() and not overwrite:
                raise FileExistsError(f"output store '{out}' already exists; pass --overwrite to replace it")
            b = ModelBundle.load(bundle)
            path = export_corpus(b, load_corpus(corpus), out, components=[c.strip() for c in components.split(",")],
                                 mode=mode, overwrite=overwrite, batch_size=batch_size)
        except (FileNotFoundError, FileExistsError, ValueError, KeyError) as err:
            _fail(err)
        typer.echo(str(path))

