"""Print which floating-point code paths this process uses (``make test`` runs it before each pass).

The suite runs twice in ``make test``: everything on the machine's native kernels, then the tests
whose values come out of training (``tests/zoo``, ``tests/models``) on a second code path (OpenBLAS
forced to its Haswell kernels, MKL to its conditional-reproducibility ``COMPATIBLE`` branch and at most
AVX2, PyTorch's own kernels to AVX2), so that a
test pinned to one CPU's rounding fails here rather than on a user's machine.

``--expect-second`` exits 1 when the second path is not in force (the pass would then only
repeat the first).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys


def _mkl_branch() -> str:
    """MKL's numerical branch as its verbose mode reports it (``CNR:OFF`` is its native dispatch)."""
    code = "import torch; a = torch.ones(64, 64); a @ a"
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, MKL_VERBOSE="1"),
                         capture_output=True, text=True, timeout=120)
    m = re.search(r"CNR:(\w+)", out.stdout + out.stderr)
    return m.group(1) if m else "?"


def code_paths() -> dict:
    import numpy as np
    import threadpoolctl
    import torch

    np.ones((4, 4)) @ np.ones((4, 4))  # load the BLAS
    info = threadpoolctl.threadpool_info()
    blas = [f"{i['internal_api']}:{i.get('architecture') or '?'}" for i in info if i["user_api"] == "blas"]
    return {"numpy_blas": blas, "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch_blas": "mkl" if torch.backends.mkl.is_available() else "other",
            "mkl_branch": _mkl_branch() if torch.backends.mkl.is_available() else "",
            "MKL_ENABLE_INSTRUCTIONS": os.environ.get("MKL_ENABLE_INSTRUCTIONS", ""),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "")}


def main(argv: list[str]) -> int:
    label = next((a for a in argv if not a.startswith("--")), "code paths")
    paths = code_paths()
    print(f"[{label}] {json.dumps(paths)}", flush=True)  # noqa: T201 - a script's output
    if "--expect-second" in argv:
        want_blas = os.environ.get("OPENBLAS_CORETYPE", "Haswell").lower()
        ok_blas = all(b.split(":", 1)[1].lower() == want_blas for b in paths["numpy_blas"] if b.startswith("openblas"))
        ok_mkl = paths["torch_blas"] != "mkl" or paths["mkl_branch"] not in ("OFF", "?")
        if not ok_blas or not ok_mkl or paths["torch_cpu_capability"] != "AVX2":
            print(f"[{label}] the second code path is not in force: {paths}", file=sys.stderr)  # noqa: T201
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
