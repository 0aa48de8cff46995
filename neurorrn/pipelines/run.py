"""Run a pipeline from a YAML config: what ``neurorrn run CONFIG`` does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..config import ConfigError, dump_yaml, load_yaml
from ..utils._io import atomic_path
from ..utils._lock import hold
from ..utils._logging import logger


def load_run_config(path):
    """Read a run config; return ``(pipeline module, validated config)``.

    The YAML names its pipeline in ``pipeline:`` (default ``earshot_meg``); the pipeline's
    ``CONFIG_MODEL`` validates the rest (unknown keys are errors naming the allowed ones).
    """
    from . import get_pipeline_module

    data = load_yaml(path)
    name = data.get("pipeline", "earshot_meg")
    try:
        module = get_pipeline_module(name)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from None
    cfg = module.CONFIG_MODEL.from_dict(data, source=str(path))
    if hasattr(module, "validate"):
        module.validate(cfg)
    return module, cfg


def run_config(path, *, out_dir=None, until: str | None = None, from_: str | None = None,
               scheduler: str | None = None, n_jobs: int | None = None, strict: bool = False,
               verbose=None) -> dict:
    """Run the pipeline a config describes.

    Parameters
    ----------
    path : path-like
        The YAML config.
    out_dir : path-like, optional
        Overrides the config's ``out_dir``.
    until, from_ : str, optional
        Stop after / force a re-run from this stage (see :meth:`Pipeline.run`).
    scheduler : str, optional
        ``"serial"``, ``"local"`` or a dask scheduler address for fanned-out analyses
        (overrides ``distributed.scheduler``; never part of a cache key).
    n_jobs : int, optional
        Worker processes for stages that can use them (corpus synthesis).
    strict : bool
        Stop with an error when a quality gate fails (e.g. the trained network's accuracy is
        below the config's ``quality.min_accuracy``); otherwise the run goes on and says so in
        the log and at the top of the report.

    Returns
    -------
    dict
        ``out_dir``, ``stages`` (name → key), ``report`` (path or None), ``seconds``.
    """
    module, cfg = load_run_config(path)
    out = Path(out_dir if out_dir is not None else cfg.out_dir)
    full = cfg.model_dump(mode="json")
    keyed = {k: v for k, v in full.items() if k not in module.RUNTIME_SECTIONS}
    pipe = module.build_pipeline()
    out.mkdir(parents=True, exist_ok=True)
    with hold(out, folder=True, reentrant=True, what="pipeline folder"):  # config.yaml and report.html too
        dump_yaml(full, out / "config.yaml")
        options = {"scheduler": scheduler, "n_jobs": n_jobs, "strict": bool(strict)}
        if getattr(cfg, "torch_threads", None):
            import torch

            torch.set_num_threads(int(cfg.torch_threads))
        results = pipe.run(keyed, out, until=until, from_=from_, options=options, verbose=verbose)
        report = None
        if "report" in results:
            src = results["report"].path / results["report"].meta.get("report", "report.html")
            report = out / "report.html"
            with atomic_path(report, overwrite=True) as tmp:
                shutil.copyfile(src, tmp)
                tmp.chmod(0o644)
            logger.info("report: %s", report.resolve())
        summary = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return {"out_dir": str(out.resolve()), "stages": {n: r.key for n, r in results.items()},
            "report": None if report is None else str(report.resolve()), "seconds": summary["seconds"]}
