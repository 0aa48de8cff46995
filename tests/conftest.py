"""Test configuration: markers, shared reference data, small helpers."""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NEURORRN_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow (make test-slow)")
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:  # noqa: BLE001
        has_cuda = False
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (published reference files); tests skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)


def _rank_main(fn, rank, args):
    """Body of one forked rank: run ``fn``, then leave with ``os._exit`` (no interpreter teardown:
    gloo's process-group destructor can deadlock at exit, so nothing may run after the work)."""
    code = 0
    try:
        fn(rank, *args)
    except BaseException:  # noqa: BLE001 - reported through the exit code and stderr
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_ranks(fn, nprocs: int, args=(), timeout: float = 120.0) -> None:
    """Run ``fn(rank, *args)`` in ``nprocs`` forked processes and wait at most ``timeout`` s.

    A rank still alive at the deadline is killed and the test fails saying which ranks hung; a
    rank that raised fails the test with its exit code.  So a deadlocked rank (e.g. in gloo's
    shutdown) is a failure after ``timeout`` seconds, never a hung suite.
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")  # the children inherit imported modules (spawn re-imports torch: ~10 s each)
    procs = [ctx.Process(target=_rank_main, args=(fn, r, tuple(args)), daemon=True) for r in range(nprocs)]
    for p in procs:
        p.start()
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    hung = [r for r, p in enumerate(procs) if p.is_alive()]
    for r in hung:
        procs[r].kill()
    for p in procs:
        p.join(10)
    if hung:
        pytest.fail(f"rank(s) {hung} of {nprocs} still running after {timeout:g} s; killed them")
    failed = {r: p.exitcode for r, p in enumerate(procs) if p.exitcode != 0}
    if failed:
        pytest.fail(f"rank(s) failed with exit codes {failed} (their tracebacks are in the captured stderr)")


@pytest.fixture
def ranks():
    """:func:`run_ranks`: forked worker processes bounded by a timeout."""
    return run_ranks
