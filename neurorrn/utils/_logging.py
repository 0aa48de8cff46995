"""One logger for the package, with a ``verbose`` switch.

Library code never prints: it logs through :data:`logger`; long functions take ``verbose``
(bool, int level or level name) and wrap their body in :func:`use_log_level`.
"""

from __future__ import annotations

import contextlib
import logging
import sys

logger = logging.getLogger("neurorrn")
if not logger.handlers:
    _h = logging.StreamHandler(sys.stderr)
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
    """Emit a :class:`NeurorrnWarning` and log it."""
    import warnings

    logger.warning(message)
    warnings.warn(message, category, stacklevel=stacklevel + 1)


def progress(iterable=None, *, total=None, desc=None, verbose=None, **kwargs):
    """A tqdm progress bar shown when logging at INFO or below (or ``verbose`` is true)."""
    from tqdm.auto import tqdm

    disable = _level(verbose) > logging.INFO if verbose is not None else logger.getEffectiveLevel() > logging.INFO
    return tqdm(iterable, total=total, desc=desc, disable=disable, file=sys.stderr, **kwargs)
