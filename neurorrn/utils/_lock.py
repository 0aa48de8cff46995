"""Exclusive OS file locks beside the files and folders a writer owns.

Every writer of a store path, a training ``--out`` folder and a pipeline ``out_dir`` holds an
exclusive :func:`fcntl.flock` on a small lock file next to its target (``.NAME.lock`` beside a
file; ``.neurorrn.lock`` inside a folder).  The lock file records the holder (process id, host,
start time, command line) so that a second writer is told who holds it.  The OS drops the lock
when the holder's process ends, however it ends (a SIGKILL included), so a crash never leaves a
folder locked.

A second writer either fails at once (``timeout=0``) or waits up to ``timeout`` seconds
(``None``: for ever) and then fails with :class:`LockedError`, whose message names the holder.

Locks are per process: with ``reentrant=True`` (folders), a process that already holds a lock
may take it again (the lock is released when the last holder lets go); with
``reentrant=False`` (single files such as stores) a second writer in the same process fails at
once instead of waiting for itself.

Only POSIX systems (``fcntl``) get the lock; elsewhere :func:`hold` does nothing.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import socket
import sys
import threading
import time
from pathlib import Path

try:  # pragma: no cover - always present on POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

FOLDER_LOCK = ".neurorrn.lock"
_POLL_S = 0.05

_held: dict[str, list] = {}  # lock path -> [fd, count]
_held_guard = threading.Lock()


class LockedError(BlockingIOError):
    """Another writer holds the lock of a path; the message names the holder and what to do."""

    def __init__(self, message: str, holder: dict | None = None):
        super().__init__(errno.EAGAIN, message)
        self.message = message
        self.holder = holder or {}

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # survives pickling (errors raised in worker processes)
        return (type(self), (self.message, self.holder))


def lock_path_for(target, folder: bool = False) -> Path:
    """The lock file of ``target``: ``.NAME.lock`` beside a file, ``.neurorrn.lock`` in a folder."""
    target = Path(target)
    if folder:
        return target / FOLDER_LOCK
    return target.with_name(f".{target.name}.lock")


def read_holder(lock_file) -> dict:
    """What the lock file says about its holder (``{}`` when it says nothing readable)."""
    try:
        text = Path(lock_file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition("=")
        if k:
            out[k.strip()] = v.strip()
    return out


def _describe(holder: dict) -> str:
    if not holder.get("pid"):
        return "another process (its id was not yet recorded)"
    s = f"process {holder['pid']}"
    if holder.get("host"):
        s += f" on {holder['host']}"
    if holder.get("since"):
        s += f" since {holder['since']}"
    if holder.get("cmd"):
        s += f" ({holder['cmd'][:120]})"
    return s


def _record(fd: int) -> None:
    info = (f"pid={os.getpid()}\nhost={socket.gethostname()}\n"
            f"since={_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC\n"
            f"cmd={' '.join(sys.argv)[:300]}\n")
    os.ftruncate(fd, 0)
    os.pwrite(fd, info.encode("utf-8", "replace"), 0)


def _try_lock(lock_file: Path) -> int | None:
    """Open and flock ``lock_file``; the fd on success, None when someone else holds it."""
    while True:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        # the previous holder may have unlinked the file between our open and our flock:
        # then we hold a lock on an orphan inode; start again on the file now at the path
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_file))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def acquire(target, *, folder: bool = False, timeout: float | None = 0, reentrant: bool = False,
            what: str = "path") -> Path:
    """Take the exclusive lock of ``target``; return the lock file's path.

    Raises :class:`LockedError` naming the holder when the lock is not free within ``timeout``
    seconds (0: do not wait; None: wait for ever).
    """
    lock_file = lock_path_for(target, folder)
    if fcntl is None:  # pragma: no cover
        return lock_file
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    key = str(lock_file.resolve())
    with _held_guard:
        if key in _held:
            if reentrant:
                _held[key][1] += 1
                return lock_file
            raise LockedError(f"{what} '{target}' is already being written by this process (process "
                              f"{os.getpid()}); finish or close the first writer before opening another",
                              {"pid": str(os.getpid())})
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    waited = False
    while True:
        fd = _try_lock(lock_file)
        if fd is not None:
            break
        if deadline is not None and time.monotonic() >= deadline:
            holder = read_holder(lock_file)
            raise LockedError(
                f"{what} '{target}' is locked by another writer: {_describe(holder)}. "
                + ("Waited %.0f s. " % float(timeout) if waited else "")
                + f"Wait for it to finish, or write to another location (lock file '{lock_file}')",
                holder)
        waited = True
        time.sleep(_POLL_S)
    _record(fd)
    with _held_guard:
        _held[key] = [fd, 1]
    return lock_file


def release(lock_file) -> None:
    """Let go of a lock taken by :func:`acquire` (the last holder in this process unlocks it)."""
    if fcntl is None:  # pragma: no cover
        return
    key = str(Path(lock_file).resolve())
    with _held_guard:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _held[key]
    fd = entry[0]
    # unlink while still holding it: a waiter that opened the old inode notices (see _try_lock)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(lock_file)
    os.close(fd)


def is_held_here(target, folder: bool = False) -> bool:
    """Whether this process holds the lock of ``target``."""
    return str(lock_path_for(target, folder).resolve()) in _held


@contextlib.contextmanager
def hold(target, *, folder: bool = False, timeout: float | None = 0, reentrant: bool = False,
         what: str = "path"):
    """Context manager around :func:`acquire` / :func:`release`."""
    lf = acquire(target, folder=folder, timeout=timeout, reentrant=reentrant, what=what)
    try:
        yield lf
    finally:
        release(lf)


class FolderLock:
    """A lock an object holds for its lifetime (released by :meth:`release` or when collected)."""

    def __init__(self, folder, *, timeout: float | None = 0, what: str = "folder"):
        self._file = acquire(folder, folder=True, timeout=timeout, reentrant=True, what=what)

    def release(self) -> None:
        if self._file is not None:
            release(self._file)
            self._file = None

    def __del__(self):  # pragma: no cover - depends on the garbage collector
        try:
            self.release()
        except Exception:  # noqa: BLE001
            pass


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["FOLDER_LOCK", "FolderLock", "LockedError", "acquire", "hold", "is_held_here", "lock_path_for",
           "pid_alive", "read_holder", "release"]
