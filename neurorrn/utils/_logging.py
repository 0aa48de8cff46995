"""One logger for the package, with a ``verbose`` switch, and progress that suits the console.

Library code never prints: it logs through :data:`logger`; long functions take ``verbose``
(bool, int level or level name) and wrap their body in :func:`use_log_level`.

Progress (:func:`progress`): in a terminal, a tqdm bar, with log records printed above it
(never on the bar's line); when stderr is a file or a pipe (``make demo > log 2>&1``), no bar
but one INFO line at every tenth of the work, so a log file holds whole lines only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys


class _ConsoleHandler(logging.StreamHandler):
    """Writes records through ``tqdm.write`` so that they appear above an active progress bar."""

    def __init__(self):
        super().__init__(sys.stderr)

    def emit(self, record):
        try:
            msg = self.format(record)
            stream = sys.stderr
            from tqdm import tqdm

            if getattr(tqdm, "_instances", None):
                tqdm.write(msg, file=stream)
            else:
                stream.write(msg + "\n")
                stream.flush()
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


logger = logging.getLogger("neurorrn")
if not logger.handlers:
    _h = _ConsoleHandler()
    _h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s neurorrn: %(message)s", "%H:%M:%S"))
    logger.addHandler(_h)
    logger.setLevel(logging.WARNING)
    logger.propagate = True


class NeurorrnWarning(UserWarning):
    """Warnings raised by neurorrn (turned into errors in the test suite)."""


def _level(verbose) -> int:
    if verbose is None:
        return logger.level
    if isinstance(verbose, bool):
        return logging.INFO if verbose else logging.WARNING
    if isinstance(verbose, int):
        return verbose
    if isinstance(verbose, str):
        lv = logging.getLevelName(verbose.upper())
        if isinstance(lv, int):
            return lv
    raise ValueError(
        f"verbose must be a bool, an int level or one of 'DEBUG', 'INFO', 'WARNING', 'ERROR'; got {verbose!r}"
    )


def set_log_level(verbose=None) -> int:
    """Set the package log level; return the previous one."""
    old = logger.level
    logger.setLevel(_level(verbose))
    return old


@contextlib.contextmanager
def use_log_level(verbose=None):
    """Temporarily set the log level (``None`` keeps the current one)."""
    old = set_log_level(verbose)
    try:
        yield
    finally:
        logger.setLevel(old)


def warn(message: str, category=NeurorrnWarning, stacklevel: int = 2) -> None:
    """Emit a :class:`NeurorrnWarning` (shown once: the command line routes warnings to the log)."""
    import warnings

    warnings.warn(message, category, stacklevel=stacklevel + 1)


def route_warnings_to_log() -> None:
    """Show Python warnings as one log line each (``WARNING neurorrn: <Category>: message``).

    The command line calls this, so a warning appears once, in the same format as the log.
    """
    import warnings

    def _show(message, category, filename, lineno, file=None, line=None):
        logger.warning("%s: %s", category.__name__, message)

    warnings.showwarning = _show


def _console_is_terminal() -> bool:
    if os.environ.get("NEURORRN_PROGRESS", "").lower() in ("log", "lines"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class LogProgress:
    """Progress as log lines (for files and pipes): a line at a tenth of ``total`` when at least
    ``min_interval`` seconds passed since the last line (so a quick loop logs one line), and one
    when it ends.

    Offers the part of tqdm's interface the package uses (iteration, ``update``,
    ``set_postfix``, ``close``, context manager).
    """

    def __init__(self, iterable=None, total=None, desc=None, initial=0, unit="it", min_interval: float = 5.0,
                 **_ignored):
        import time

        self._clock = time.monotonic
        self._last = self._clock()
        self.min_interval = float(min_interval)
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.desc, self.unit = total, desc or "progress", unit
        self.n = int(initial)
        self._postfix = ""
        self._logged = self._tenth(self.n)
        self._closed = False

    def _tenth(self, n) -> int:
        return int(10 * n / self.total) if self.total else 0

    def _line(self) -> str:
        tot = f"/{self.total}" if self.total else ""
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        post = f", {self._postfix}" if self._postfix else ""
        return f"{self.desc}: {self.n}{tot} {self.unit}{pct}{post}"

    def update(self, k=1) -> None:
        self.n += k
        if (self.total and self.total >= 10 and self._tenth(self.n) > self._logged and self.n < self.total
                and self._clock() - self._last >= self.min_interval):
            self._logged = self._tenth(self.n)
            self._last = self._clock()
            logger.info(self._line())

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs) -> None:
        items = dict(ordered_dict or {}, **kwargs)
        self._postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_description(self, desc=None, refresh=True) -> None:
        self.desc = desc or self.desc

    def close(self) -> None:
        if not self._closed and self.n > 0:
            logger.info(self._line())
        self._closed = True

    def __iter__(self):
        for x in self.iterable:
            yield x
            self.update(1)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __len__(self):
        return self.total or 0


def progress(iterable=None, *, total=None, desc=None, verbose=None, **kwargs):
    """Progress of a long loop, shown when logging at INFO or below (or ``verbose`` is true).

    In a terminal a tqdm bar (log records appear above it); otherwise (stderr redirected to a
    file or pipe, or ``NEURORRN_PROGRESS=log``) :class:`LogProgress`: a log line at every tenth.
    """
    from tqdm.auto import tqdm

    disable = _level(verbose) > logging.INFO if verbose is not None else logger.getEffectiveLevel() > logging.INFO
    if disable or _console_is_terminal():
        kwargs.pop("min_interval", None)  # LogProgress only
        if not disable and "ncols" not in kwargs:
            try:  # a pseudo-terminal that reports no size still gets a bar
                if os.get_terminal_size(sys.stderr.fileno()).columns == 0:
                    kwargs["ncols"] = 100
                    kwargs.setdefault("nrows", 30)
            except (OSError, ValueError, AttributeError):
                pass
        return tqdm(iterable, total=total, desc=desc, disable=disable, file=sys.stderr, **kwargs)
    return LogProgress(iterable, total=total, desc=desc, **kwargs)
