"""End-to-end workflows built from :mod:`neurorrn.pipeline` stages.

:data:`PIPELINES` maps a config's ``pipeline:`` value to the module that defines it (a module
with ``CONFIG_MODEL``, ``RUNTIME_SECTIONS`` and ``build_pipeline()``).
"""

from __future__ import annotations

import importlib

PIPELINES = {"earshot_meg": "pipelines.earshot_meg"}


def get_pipeline_module(name: str):
    """The module of pipeline ``name`` (an unknown name lists the known ones)."""
    from neurorrn.utils._check import check_option

    check_option(name, list(PIPELINES), "pipeline")
    return importlib.import_module(PIPELINES[name])


__all__ = ["PIPELINES", "get_pipeline_module"]
