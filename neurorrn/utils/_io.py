"""Atomic file writes: write to a temporary file next to the target, then rename into place.

* The temporary name is ``.NAME.tmp-PID-HOST-RANDOM[SUFFIX]``: a crash leaves only such a
  hidden file, and the next process that writes into that folder with :func:`atomic_path` removes
  the ones whose writer (same host, that process id) is no longer alive
  (:func:`remove_stale_temps`; each process sweeps a folder once).
* ``overwrite=False`` is enforced **at the rename**: a file is put in place with
  :func:`os.link` (which fails when the name exists), a folder with :func:`os.rename` (which
  fails over a non-empty folder), so two writers racing for one name never both succeed.
* Files come out with the mode an ordinary ``open()`` would give (``0o666`` minus the umask),
  not ``mkstemp``'s private ``0o600``; folders likewise (``0o777`` minus the umask).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import socket
from pathlib import Path

from ._lock import pid_alive

_SWEPT: set[str] = set()
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:24] or "host"
_TMP_RE = re.compile(r"\.tmp-(\d+)-([A-Za-z0-9]*)-")


def current_umask() -> int:
    """The process's umask (read from /proc when possible: setting it is not thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def temp_name(name: str, suffix: str = "") -> str:
    """A hidden temporary name for ``name`` that records this writer (process id and host)."""
    return f".{name}.tmp-{os.getpid()}-{_HOST}-{secrets.token_hex(4)}{suffix}"


def remove_stale_temps(folder, name: str | None = None) -> list[Path]:
    """Delete temporary files/folders in ``folder`` left by writers that died (same host only).

    ``name`` limits the sweep to the temporaries of one target.  Returns what was removed.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    pattern = f".{name}.tmp-*" if name is not None else ".*.tmp-*"
    for p in folder.glob(pattern):
        m = _TMP_RE.search(p.name)
        if m is None or m.group(2) != _HOST:
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or pid_alive(pid):
            continue
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
        except FileNotFoundError:
            pass
    return removed


def _put_in_place(tmp: Path, path: Path, overwrite: bool, is_dir: bool) -> None:
    if overwrite:
        if is_dir and path.exists():
            old = path.with_name(temp_name(path.name, ".old"))
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        return
    if is_dir:
        try:
            os.rename(tmp, path)  # fails over an existing non-empty folder or a file
        except OSError as err:
            if err.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise FileExistsError(f"'{path}' already exists; pass overwrite=True to replace it") from None
            raise
        return
    try:
        os.link(tmp, path)  # link-or-fail: the check and the creation are one system call
    except FileExistsError:
        raise FileExistsError(f"'{path}' already exists (another writer created it first); "
                              "pass overwrite=True to replace it") from None
    except OSError as err:  # pragma: no cover - file systems without hard links
        if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP if hasattr(errno, "ENOTSUP") else -1,
                             errno.EXDEV):
            raise
        if path.exists():
            raise FileExistsError(f"'{path}' already exists; pass overwrite=True to replace it") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


@contextlib.contextmanager
def atomic_path(path, overwrite: bool = False, suffix: str | None = None, is_dir: bool = False):
    """Yield a temporary path in the target's directory; put it at ``path`` on success.

    On any exception the temporary file is removed and whatever was at ``path`` before is
    untouched; after a crash it is left as a hidden ``.NAME.tmp-*`` file that the next call for
    a path in that folder removes.  With ``is_dir=True`` the yielded path does not exist yet:
    create the folder there.  ``overwrite=False`` is checked up front (to fail early) and again
    at the rename, atomically.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' already exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = str(path.parent.resolve())
    if folder not in _SWEPT:  # once per folder and process: a folder of 100k files is listed once
        remove_stale_temps(path.parent)
        _SWEPT.add(folder)
    suffix = path.suffix if suffix is None else suffix
    tmp = path.with_name(temp_name(path.name, suffix))
    if not is_dir:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # mode follows the umask
        os.close(fd)
    try:
        yield tmp
        if not is_dir and tmp.exists():
            # writers such as h5py or torch.save may recreate the file with their own mode
            os.chmod(tmp, 0o666 & ~current_umask())
        _put_in_place(tmp, path, overwrite, is_dir)
    except BaseException:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


_FICLONE = 0x40049409  # linux/fs.h: share the source's blocks (btrfs, XFS with reflink, bcachefs...)


def clone_or_copy(src, dst) -> str:
    """Copy ``src`` to ``dst`` as a copy-on-write clone when the file system can (no data is
    copied: instant whatever the size), else an ordinary copy.  Returns ``"clone"`` or ``"copy"``."""
    try:
        import fcntl

        with open(src, "rb") as fs, open(dst, "wb") as fd:
            fcntl.ioctl(fd.fileno(), _FICLONE, fs.fileno())
        return "clone"
    except (OSError, ImportError, AttributeError):
        shutil.copyfile(src, dst)
        return "copy"


def write_text_atomic(path, text: str, overwrite: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
