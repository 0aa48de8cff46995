"""Crash safety and bounded memory of store I/O (subprocess tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from neurorrn import store as S

WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from neurorrn.store import StoreWriter
    path, n = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    block = rng.standard_normal((200, 512)).astype("float32")
    with StoreWriter(path, n_units=512, frame_rate=100.0, overwrite=True, compression=None) as w:
        for i in range(n):
            w.write([block + i], [f"big{i}"])
            if i == 5:
                print("writing", flush=True)
    print("done", flush=True)
    """
)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_kill_mid_write_leaves_previous_file_intact(tmp_path, rng):
    path = tmp_path / "store.nc"
    earlier = S.from_arrays([rng.standard_normal((7, 3)).astype(np.float32)], ["old"], 100.0, word=["cat"])
    S.save_store(earlier, path)
    before = path.read_bytes()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    # ~400 KB per stimulus: 20000 stimuli would take far longer than we wait
    proc = subprocess.Popen([sys.executable, str(script), str(path), "20000"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        # let it write a good amount, then kill it hard
        deadline = time.time() + 30
        tmp_files = []
        while time.time() < deadline:
            tmp_files = [p for p in tmp_path.iterdir() if p.name.startswith(".store.nc.tmp-")]
            if tmp_files and tmp_files[0].stat().st_size > 20 << 20:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert tmp_files, "the writer never produced its temporary file"
    # the earlier store is untouched and valid
    assert path.read_bytes() == before
    S.validate_store(path)
    with S.open_store(path) as ds:
        assert list(ds.stimulus.values) == ["old"]
    # nothing half-written validates
    leftovers = [p for p in tmp_path.iterdir() if p.name != path.name and p.suffix == ".nc"]
    assert leftovers
    for p in leftovers:
        problems = S.validate_store(p, raise_on_error=False)
        assert problems, f"half-written {p.name} validated"
        with pytest.raises(S.StoreValidationError):
            S.open_store(p)


READER = textwrap.dedent(
    """
    import sys, json
    import numpy as np
    import neurorrn.store as S
    def status_mb(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    rss_mb = lambda: status_mb("VmRSS")
    hwm_mb = lambda: status_mb("VmHWM")  # peak RSS of this process image (ru_maxrss survives exec)
    base = rss_mb()
    ds = S.open_store(sys.argv[1])
    info = S.describe(ds)
    one = ds["activation"].sel(stimulus="s3").values
    opened_peak = hwm_mb()
    n = sum(1 for _ in S.iter_stimuli(ds, chunk=4))
    problems = S.validate_store(ds, raise_on_error=False)
    peak = hwm_mb()
    print(json.dumps({"base": base, "after": rss_mb(), "peak": peak, "opened_peak": opened_peak, "n": n, "problems": problems,
                      "one": list(one.shape)}))
    """
)


def test_open_large_store_does_not_read_it(tmp_path):
    path = tmp_path / "large.nc"
    n_stim, n_time, n_units = 200, 500, 1000  # 400 MB of float32
    rng = np.random.default_rng(1)
    block = rng.standard_normal((n_time, n_units)).astype(np.float32)
    with S.StoreWriter(path, n_units=n_units, frame_rate=100.0, compression=None) as w:
        for i in range(n_stim):
            w.write([block], [f"s{i}"])
    size_mb = path.stat().st_size / 2**20
    assert size_mb > 380
    budget_mb = 50  # far below the store's size
    script = tmp_path / "reader.py"
    script.write_text(READER)
    out = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, check=True)
    import json

    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["n"] == n_stim and res["problems"] == [] and res["one"] == [n_time, n_units]
    # interpreter + libraries are loaded before `base`: opening, describing and selecting one
    # stimulus stay within the budget; iterating and validating read chunk by chunk
    assert res["opened_peak"] - res["base"] < budget_mb, res
    assert res["peak"] - res["base"] < size_mb / 2, res
