"""``neurorrn corpus ...`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    corpus_app = typer.Typer(help="Build and inspect synthetic speech corpora.", no_args_is_help=True)
    app.add_typer(corpus_app, name="corpus")

    @corpus_app.command("build")
    def build(config: Path = typer.Argument(..., help="Corpus config (YAML), e.g. configs/corpus_small.yaml"),
              out: Path = typer.Option(None, "--out", "-o", help="Output directory (default: corpora/<name>)"),
              n_jobs: int = typer.Option(None, "--n-jobs", "-j", help="Synthesis processes (default: config)"),
              overwrite: bool = typer.Option(False, help="Replace a corpus built from another config"),
              quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar")) -> None:
        """Synthesize a corpus (cached: an up-to-date corpus is left untouched)."""
        from ..config import ConfigError
        from .corpus import CorpusConfig, CorpusError, build_corpus

        try:
            cfg = CorpusConfig.from_yaml(config)
            root = out if out is not None else Path("corpora") / cfg.name
            corpus = build_corpus(cfg, root, overwrite=overwrite, n_jobs=n_jobs,
                                  verbose="WARNING" if quiet else "INFO")
        except (ConfigError, CorpusError, FileNotFoundError, ValueError, KeyError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        man = corpus.manifest
        typer.echo(json.dumps({"root": str(corpus.root), "n_items": man.get("n_items"),
                               "n_words": man.get("n_words"), "n_talkers": man.get("n_talkers"),
                               "config_hash": man.get("config_hash"),
                               "build_seconds": man.get("build_seconds"),
                               "n_mismatched_pronunciations": man.get("n_mismatched_pronunciations")},
                              indent=2))

    @corpus_app.command("info")
    def info(root: Path = typer.Argument(..., help="Corpus directory"),
             verify: bool = typer.Option(False, help="Check every WAV's sha256")) -> None:
        """Summarise a corpus (and optionally verify its checksums)."""
        from .corpus import CorpusError, load_corpus

        try:
            corpus = load_corpus(root, verify=verify)
        except (CorpusError, FileNotFoundError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        it = corpus.items
        typer.echo(json.dumps({"root": str(root), "name": corpus.manifest.get("name"),
                               "n_items": len(it), "words": int(it["word"].nunique()),
                               "talkers": sorted(it["talker"].unique()),
                               "splits": it["split"].value_counts().to_dict() if "split" in it else {},
                               "espeak_ng": corpus.manifest.get("espeak_ng"),
                               "verified": bool(verify)}, indent=2))
