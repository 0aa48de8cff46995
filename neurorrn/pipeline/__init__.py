"""The stage engine: pipelines of cached stages, and dask fan-out of analyses.

* :mod:`neurorrn.pipeline.engine`: :class:`Stage`, :class:`Pipeline` (hash-keyed caching,
  resume after a crash, ``until``/``from_``), one log file per run;
* :mod:`neurorrn.pipeline.distributed`: :func:`fan_out` of subject × model × layer tasks to a
  dask LocalCluster or scheduler, results written region by region to zarr.

The end-to-end workflows built on it, and ``run_config`` (what ``neurorrn run CONFIG`` does),
live in :mod:`neurorrn.pipelines`. See ``docs/pipeline.md`` and ``docs/distributed.md``.
"""

from .distributed import fan_out, make_tasks, open_results
from .engine import Pipeline, PipelineError, Stage, StageContext, StageResult

__all__ = ["Pipeline", "PipelineError", "Stage", "StageContext", "StageResult", "fan_out", "make_tasks",
           "open_results"]
