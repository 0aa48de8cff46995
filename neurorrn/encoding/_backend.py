"""Array backends for the ridge kernels: numpy (CPU) and torch (CPU or CUDA).

The kernels in :mod:`._lagged` and :mod:`._solve` are written once against the small
interface below, so that the same code runs on numpy arrays or torch tensors.  A backend
holds a dtype and a device; nothing global is switched.
"""

from __future__ import annotations

import numpy as np

from ..utils._check import check_option

BACKENDS = ("numpy", "torch")
DTYPES = ("float32", "float64")


class NumpyBackend:
    """float32/float64 numpy with LAPACK (scipy) for the factorisations."""

    name = "numpy"

    def __init__(self, dtype: str = "float64"):
        self.dtype = np.dtype(dtype)
        self.device = "cpu"

    def asarray(self, a):
        return np.ascontiguousarray(np.asarray(a, dtype=self.dtype))

    def to_numpy(self, a) -> np.ndarray:
        return np.asarray(a)

    def zeros(self, shape):
        return np.zeros(shape, dtype=self.dtype)

    def eye(self, n):
        return np.eye(n, dtype=self.dtype)

    def cumsum(self, a, axis):
        return np.cumsum(a, axis=axis)

    def einsum(self, spec, *ops):
        return np.einsum(spec, *ops, optimize=True)

    def transpose(self, a, axes):
        return np.transpose(a, axes)

    def eigh(self, a):
        from scipy import linalg

        # divide and conquer (LAPACK ?syevd): the fastest driver for all eigenvectors here.
        return linalg.eigh(a, driver="evd", overwrite_a=False, check_finite=False)

    def solve_psd(self, a, b, overwrite: bool = False):
        """Solve ``a x = b`` for symmetric positive (semi-)definite ``a`` (Cholesky; symmetric
        indefinite LU if Cholesky fails).  ``overwrite``: factorise in ``a``'s memory (no copy);
        ``a`` is left with its upper triangle intact and is restored if Cholesky fails."""
        from scipy import linalg

        if overwrite and a.flags.c_contiguous and a.flags.writeable:
            af = a.T  # the same symmetric matrix, Fortran-ordered: LAPACK works in place
            diag = np.diagonal(a).copy()
        else:
            af, diag = a, None
        try:
            c = linalg.cho_factor(af, lower=True, check_finite=False, overwrite_a=diag is not None)
            return linalg.cho_solve(c, b, check_finite=False)
        except linalg.LinAlgError:
            if diag is not None:  # rebuild the factorised triangle from the intact one
                for j in range(af.shape[0]):
                    af[j + 1:, j] = af[j, j + 1:]
                    af[j, j] = diag[j]
            return linalg.solve(a, b, assume_a="sym", check_finite=False)

    def sum(self, a, axis):
        return a.sum(axis=axis)

    def sqrt(self, a):
        return np.sqrt(a)

    def maximum(self, a, v):
        return np.maximum(a, v)


class TorchBackend:
    """torch tensors on CPU or CUDA; float32 is the fast path (see docs/encoding.md)."""

    name = "torch"

    def __init__(self, dtype: str = "float32", device=None):
        import torch

        from ..utils._check import check_device

        self.torch = torch
        self.dtype = getattr(torch, str(dtype))
        self.device = check_device(device)

    def asarray(self, a):
        t = self.torch
        if isinstance(a, t.Tensor):
            return a.to(device=self.device, dtype=self.dtype).contiguous()
        return t.as_tensor(np.ascontiguousarray(a), dtype=self.dtype, device=self.device)

    def to_numpy(self, a) -> np.ndarray:
        if isinstance(a, self.torch.Tensor):
            return a.detach().cpu().numpy()
        return np.asarray(a)

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.dtype, device=self.device)

    def eye(self, n):
        return self.torch.eye(n, dtype=self.dtype, device=self.device)

    def cumsum(self, a, axis):
        return self.torch.cumsum(a, dim=axis)

    def einsum(self, spec, *ops):
        return self.torch.einsum(spec, *ops)

    def transpose(self, a, axes):
        return a.permute(*axes)

    def eigh(self, a):
        return self.torch.linalg.eigh(a)

    def solve_psd(self, a, b, overwrite: bool = False):
        t = self.torch
        c, info = t.linalg.cholesky_ex(a)
        if int(info) == 0:
            return t.cholesky_solve(b, c)
        return t.linalg.solve(a, b)

    def sum(self, a, axis):
        return a.sum(dim=axis)

    def sqrt(self, a):
        return self.torch.sqrt(a)

    def maximum(self, a, v):
        return self.torch.clamp(a, min=v)


def get_backend(backend: str = "numpy", dtype: str = "float64", device=None):
    """Return a backend object for ``backend`` in {'numpy', 'torch'} and ``dtype``.

    ``device`` applies to torch only (``None``/``"auto"``: CUDA when available, else CPU);
    asking numpy for a GPU device is an error.
    """
    check_option(backend, BACKENDS, "backend")
    check_option(str(dtype), DTYPES, "dtype")
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"device={device!r} needs backend='torch'; the numpy backend runs on the CPU only")
        return NumpyBackend(str(dtype))
    return TorchBackend(str(dtype), device)


# ----------------------------------------------------------------------------------------------
# threads: one BLAS thread per task, parallelism over independent tasks (folds, segments)
# ----------------------------------------------------------------------------------------------
def n_workers(n_jobs) -> int:
    """Worker threads for ``n_jobs`` (None or 1: one; -1: all CPUs; -k: all but k - 1)."""
    import os

    from ..utils._check import validate_type

    if n_jobs is None:
        return 1
    validate_type(n_jobs, "int", "n_jobs")
    n_cpu = os.cpu_count() or 1
    if n_jobs == 0:
        raise ValueError("n_jobs must be a positive number of threads, or negative to count back from "
                         "the number of CPUs (-1: all), got 0")
    return max(1, n_jobs if n_jobs > 0 else n_cpu + 1 + n_jobs)


class single_blas_thread:
    """Context in which BLAS/LAPACK (OpenBLAS, MKL), OpenMP and torch's CPU kernels use one thread.

    The ridge kernels are dominated by the band reduction and GEMMs on p x p matrices.
    Multi-threaded BLAS gains little on them (1.37x with 2 threads on 2 cores) and collapses when
    another process competes for the cores (2.1-2.4x slower with one busy neighbour: a thread
    barrier waits for a descheduled sibling, docs/encoding.md); one thread per task, with
    independent tasks (folds, segments) on ``n_jobs`` threads, degrades gracefully and gives results
    that do not depend on the thread count.  The limits are set whatever the environment says
    (``OPENBLAS_NUM_THREADS`` ...), through threadpoolctl for every BLAS/OpenMP library loaded in
    the process and ``torch.set_num_threads`` when torch is loaded, and restored on exit.
    """

    def __enter__(self):
        import sys

        from threadpoolctl import threadpool_limits

        self._ctl = threadpool_limits(limits=1)
        self._torch = sys.modules.get("torch")
        self._torch_threads = None
        if self._torch is not None and hasattr(self._torch, "get_num_threads"):
            self._torch_threads = self._torch.get_num_threads()
            if self._torch_threads != 1:
                self._torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        self._ctl.restore_original_limits()
        if self._torch_threads not in (None, 1):
            self._torch.set_num_threads(self._torch_threads)


def ordered_map(fn, items, n_jobs):
    """``map(fn, items)`` in order, on ``n_workers(n_jobs)`` threads (LAPACK releases the GIL).

    At most ``n_workers`` results are computed ahead of the consumer, so memory stays bounded.
    """
    n = n_workers(n_jobs)
    if n == 1:
        yield from map(fn, items)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    it = iter(items)
    with ThreadPoolExecutor(max_workers=n) as ex:
        pending = deque()
        for item in it:
            pending.append(ex.submit(fn, item))
            if len(pending) >= n:
                break
        while pending:
            fut = pending.popleft()
            res = fut.result()
            for item in it:
                pending.append(ex.submit(fn, item))
                break
            yield res
