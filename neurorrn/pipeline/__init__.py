"""Pipelines of cached stages, their runner, and dask fan-out of analyses.

* :mod:`neurorrn.pipeline.engine`: :class:`Stage`, :class:`Pipeline` (hash-keyed caching,
  resume after a crash, ``until``/``from_``), one log file per run;
* :func:`run_config`: what ``neurorrn run CONFIG`` does;
* :mod:`neurorrn.pipeline.distributed`: :func:`fan_out` of subject × model × layer tasks to a
  dask LocalCluster or scheduler, results written region by region to zarr.

See ``docs/pipeline.md`` and ``docs/distributed.md``.
"""

from .distributed import fan_out, make_tasks, open_results
from .engine import Pipeline, PipelineError, Stage, StageContext, StageResult
from .run import load_run_config, run_config

__all__ = ["Pipeline", "PipelineError", "Stage", "StageContext", "StageResult", "fan_out", "load_run_config",
           "make_tasks", "open_results", "run_config"]
