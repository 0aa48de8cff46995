"""The DDP pipeline leaves its process group without gloo's teardown deadlock (issue 19, C1).

Two real interpreter processes (gloo, CPU) do what ``neurorrn.pipelines.ddp.train_distributed``
does: train with a DistributedDataParallel trainer that is dropped when training returns (kept
alive by a reference cycle, as trainers can be), leave the group with ``leave_process_group``,
then rank 0 alone resumes the finished checkpoint with a single-process trainer; both ranks end
through ordinary interpreter exit (not ``os._exit``), where the hang was seen.  Both must finish
within the time bound.  The full torchrun run of the pipeline is ``tests/pipeline``'s slow test.
"""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from ._procs import spawn

RANK = """
import json, os, pathlib, sys
rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], pathlib.Path(sys.argv[4])
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, RANK=str(rank), WORLD_SIZE=str(world),
                  LOCAL_RANK=str(rank))
import torch
import torch.distributed as dist
torch.set_num_threads(1)
from neurorrn.models.training import init_distributed
from neurorrn.pipelines.ddp import _live_ddp_wrappers, leave_process_group
from tests.reliability._planted import trainer

assert init_distributed() == (rank, world)


def train_in(work):  # what a pipeline's train_in does: a DDP trainer, dropped on return
    data, tr = trainer(work, max_epochs=2, checkpoint_every=1)
    assert tr._ddp is not None
    tr.fit(data)
    tr.release()
    tr._cycle = tr  # a reference cycle keeps it (and its DDP wrapper) alive past this scope


train_in(out / "work")
alive = _live_ddp_wrappers()
leave_process_group()
assert not dist.is_initialized()
assert _live_ddp_wrappers() == 0, "a DDP wrapper outlived the process group"
if rank == 0:  # alone now, as the pipeline's rank 0 completing the train stage
    data, tr = trainer(out / "work", max_epochs=2, checkpoint_every=1)
    assert tr._ddp is None
    tr.resume(out / "work" / "checkpoint.pt")
    tr.fit(data)
    tr.release()
    (out / "done.json").write_text(json.dumps({"epoch": tr.epoch_, "step": tr.step_, "alive_before": alive}))
print("left", rank, flush=True)
"""


@pytest.mark.timeout(400)
def test_ranks_leave_the_group_and_exit_without_hanging(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [spawn(RANK, args=(r, 2, port, tmp_path)) for r in range(2)]
    outs = []
    try:
        for r, p in enumerate(procs):
            try:
                outs.append(p.communicate(timeout=240))
            except subprocess.TimeoutExpired:
                pytest.fail(f"rank {r} still running after 240 s (a hang in leaving the process group?)")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for r, (p, (out, err)) in enumerate(zip(procs, outs)):
        assert p.returncode == 0, f"rank {r} exited {p.returncode}:\n{err[-3000:]}"
        assert out.strip().splitlines()[-1] == f"left {r}"
    done = json.loads((tmp_path / "done.json").read_text())
    assert done["epoch"] == 2 and done["step"] > 0
    assert done["alive_before"] == 1  # the cycle did keep the wrapper alive until leave_process_group
