"""End-to-end workflows built from :mod:`neurorrn.pipeline` stages, and how a config runs one.

* :data:`PIPELINES` maps a config's ``pipeline:`` value to the module that defines it (a module
  with ``CONFIG_MODEL``, ``RUNTIME_SECTIONS`` and ``build_pipeline()``), e.g.
  :mod:`neurorrn.pipelines.earshot_meg`;
* :func:`run_config` / :func:`load_run_config`: what ``neurorrn run CONFIG`` does;
* :mod:`neurorrn.pipelines.ddp`: a pipeline's ``train`` stage under ``torchrun``.

The engine (:mod:`neurorrn.pipeline`) knows nothing of these workflows; they import it.
"""

from __future__ import annotations

import importlib

PIPELINES = {"earshot_meg": "neurorrn.pipelines.earshot_meg"}


def get_pipeline_module(name: str):
    """The module of pipeline ``name`` (an unknown name lists the known ones)."""
    from neurorrn.utils._check import check_option

    check_option(name, list(PIPELINES), "pipeline")
    return importlib.import_module(PIPELINES[name])


from .run import load_run_config, run_config  # noqa: E402

__all__ = ["PIPELINES", "get_pipeline_module", "load_run_config", "run_config"]
