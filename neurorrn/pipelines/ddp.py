"""Train a pipeline's network on several GPUs (or CPU processes) with DistributedDataParallel.

Launch with torchrun; every rank runs this module::

    torchrun --standalone --nproc_per_node=4 -m neurorrn.pipelines.ddp configs/brodbeck2025.yaml
    torchrun --standalone --nproc_per_node=2 -m neurorrn.pipelines.ddp configs/demo.yaml --out /tmp/x  # CPU: gloo

1. rank 0 runs the stages ``train`` needs (``corpus``, ``features``) through the engine (cached);
2. every rank trains in the ``train`` stage's persistent work folder
   (``stages/train/<key>.work``): :class:`neurorrn.models.training.Trainer` wraps the network in
   DDP, each rank takes every ``world_size``-th token of each batch, rank 0 writes checkpoints;
3. the ranks leave the process group (:func:`leave_process_group`) and rank 0 alone runs the
   pipeline up to ``train``: the stage resumes from the finished checkpoint, evaluates, and is
   marked complete under the same key a plain ``neurorrn run`` computes, so the next
   ``neurorrn run CONFIG`` goes straight on to ``evaluate``.

The process group is initialised from torchrun's environment (NCCL with CUDA, else gloo).

Leaving the group safely
------------------------
gloo's process group can deadlock when it is torn down while something still uses it: a
DistributedDataParallel wrapper (its reducer holds the group and autograd hooks) that outlives
``destroy_process_group``, or a rank destroying the group while another still has a collective in
flight.  The trainer that held the DDP wrapper is gone when ``train_in`` returns, but a reference
cycle can keep it alive until some later garbage collection, which would then run the reducer's
teardown against a destroyed group, or at interpreter exit, where the test suite saw the hang.
:func:`leave_process_group` therefore collects garbage first (so every DDP wrapper is freed while
all ranks are still in the group and idle), then waits at a barrier (so no rank destroys the group
while another is still working in it), then destroys it; only then does rank 0 go on alone, and
every rank ends through ordinary interpreter exit with no gloo object left to tear down.
"""

from __future__ import annotations

import argparse
import gc
import json
from pathlib import Path

from ..utils._logging import logger


def _live_ddp_wrappers() -> int:
    from torch.nn.parallel import DistributedDataParallel

    # type(), not isinstance(): isinstance reads __class__, which some torch objects answer with a warning
    return sum(1 for o in gc.get_objects() if issubclass(type(o), DistributedDataParallel))


def leave_process_group() -> None:
    """Leave the default process group without gloo's teardown deadlock (see the module docstring).

    Collect garbage (freeing DDP wrappers of finished trainers), barrier, destroy the group.  Every
    rank must call it.  Does nothing outside a process group.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    gc.collect()
    alive = _live_ddp_wrappers()
    if alive:  # someone still holds a trainer: its teardown would come after the group's
        logger.warning("%d DistributedDataParallel wrapper(s) still referenced when leaving the process group; "
                       "drop the trainers that hold them before leave_process_group()", alive)
    if dist.get_world_size() > 1:
        dist.barrier()
    dist.destroy_process_group()


def train_distributed(config, out_dir=None) -> dict:
    """Steps 1-3 above, in the calling rank; returns the train stage's summary (rank 0) or {}."""
    import torch.distributed as dist

    from ..models.training import init_distributed
    from ..pipeline.engine import COMPLETE, StageResult
    from .run import load_run_config, run_config

    rank, world = init_distributed()
    module, cfg = load_run_config(config)
    if not hasattr(module, "train_in"):
        raise ValueError(f"pipeline {cfg.pipeline!r} has no distributed training entry point (train_in)")
    out = Path(out_dir if out_dir is not None else cfg.out_dir)
    keyed = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in module.RUNTIME_SECTIONS}
    pipe = module.build_pipeline()
    keys = pipe.keys(keyed)
    train_dir = out / "stages" / "train"
    done = (train_dir / keys["train"] / COMPLETE).is_file()
    if not done:
        if rank == 0:
            run_config(config, out_dir=out, until="features")
        if world > 1:
            dist.barrier()
        from neurorrn.speech import load_corpus

        corpus_res = StageResult.load(out / "stages" / "corpus" / keys["corpus"])
        feats = StageResult.load(out / "stages" / "features" / keys["features"])
        meta = corpus_res.meta
        corpus = load_corpus(Path(meta["root"]) if meta.get("external") else corpus_res.path / "corpus")
        work = train_dir / f"{keys['train']}.work"
        work.mkdir(parents=True, exist_ok=True)
        module.train_in(cfg, corpus, feats.path / "features.nc", work)  # its trainer (and DDP) is dropped
    # leave the process group before completing the stage: rank 0 then resumes the finished
    # checkpoint as a single process (a DDP wrapper there would wait for the other ranks forever)
    leave_process_group()
    result = {}
    if rank == 0:
        res = run_config(config, out_dir=out, until="train")
        result = json.loads((Path(res["out_dir"]) / "stages" / "train" / keys["train"] / "result.json")
                            .read_text())["meta"]
    return result


def main(argv=None) -> None:  # pragma: no cover - exercised through torchrun in the tests
    p = argparse.ArgumentParser(prog="python -m neurorrn.pipelines.ddp", description=__doc__.split("\n")[0])
    p.add_argument("config")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    res = train_distributed(args.config, args.out)
    if res:
        print(json.dumps(res))  # noqa: T201 - command-line output


if __name__ == "__main__":  # pragma: no cover
    main()
