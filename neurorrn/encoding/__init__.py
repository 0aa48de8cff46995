"""Encoding and decoding: fast TRFs, banded ridge, variance partitioning, decoding.

See ``docs/encoding.md``.  Estimators follow scikit-learn; results are xarray objects.
"""

from ._banded import BandedTRF
from ._crossval import cross_validate, trf_to_xarray
from ._statistics import circular_shift_null, improvement_over_baseline, noise_ceiling, variance_partitioning
from ._trf import TRF

__all__ = [
    "TRF", "BandedTRF", "cross_validate", "trf_to_xarray", "circular_shift_null", "noise_ceiling",
    "variance_partitioning", "improvement_over_baseline",
]
