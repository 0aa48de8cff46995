"""The one vocabulary of dimension names.

Public functions take ``dim="time"`` style arguments drawn from these names, never a bare
``axis=``.  Time axes are uniform: a start, a step and a count, compared with a tolerance
(:func:`check_uniform_time`).
"""

from __future__ import annotations

import numpy as np

STIMULUS = "stimulus"
TIME = "time"
UNIT = "unit"
SENSOR = "sensor"
FEATURE = "feature"
LAG = "lag"
FREQUENCY = "frequency"
PHONE = "phone"
LAYER = "layer"
FOLD = "fold"
ALPHA = "alpha"
TARGET = "target"
CLUSTER = "cluster"
SUBJECT = "subject"
TOKEN = "token"
CRITERION = "criterion"
CHANNEL = "channel"

ALL_DIMS = (
    STIMULUS, TIME, UNIT, SENSOR, FEATURE, LAG, FREQUENCY, PHONE, LAYER, FOLD, ALPHA, TARGET,
    CLUSTER, SUBJECT, TOKEN, CRITERION, CHANNEL,
)

#: Dims of the ``activation`` variable of an ActivationStore, in order.
STORE_DIMS = (STIMULUS, TIME, UNIT)

#: Relative tolerance used to compare time steps (e.g. 100 Hz vs 100.0000001 Hz).
TIME_RTOL = 1e-6


def time_axis(n_times: int, step: float, start: float = 0.0) -> np.ndarray:
    """Return a uniform time axis ``start + step * arange(n_times)`` in float64."""
    return start + step * np.arange(int(n_times), dtype=np.float64)


def check_uniform_time(times, name: str = "time", rtol: float = TIME_RTOL) -> tuple[float, float, int]:
    """Check that ``times`` is uniform; return ``(start, step, count)``.

    Raises
    ------
    ValueError
        If the axis has fewer than two points... (one point is allowed and has step NaN)
        or if consecutive differences vary by more than ``rtol`` relative to the mean step.
    """
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {t.shape}")
    if t.size == 0:
        raise ValueError(f"{name} is empty")
    if t.size == 1:
        return float(t[0]), float("nan"), 1
    d = np.diff(t)
    step = float((t[-1] - t[0]) / (t.size - 1))
    if step <= 0 or not np.allclose(d, step, rtol=rtol * 100, atol=abs(step) * rtol * 100):
        raise ValueError(
            f"{name} must be uniform and increasing; steps range from {d.min():g} to {d.max():g}"
        )
    return float(t[0]), step, int(t.size)
