"""Encoding and decoding: fast TRFs, banded ridge, variance partitioning, decoding.

See ``docs/encoding.md``.  Estimators follow scikit-learn; results are xarray objects.
"""

from ._banded import BandedTRF
from ._boosting import BoostingTRF
from ._cluster import cluster_test, clusters_table, plot_cluster, sensor_adjacency
from ._crossval import cross_validate, trf_to_xarray
from ._decoding import BackwardTRF, response_epochs, time_resolved_decoding
from ._group import cross_validate_group, fit_group
from ._mne import from_mne, to_evoked, to_source_estimate
from ._predictors import predictors_from_store
from ._statistics import (circular_shift_null, held_out_shift_null, improvement_over_baseline, noise_ceiling,
                          variance_partitioning)
from ._trf import TRF
from ._viz import plot_scores, plot_trf, plot_trf_topomap, trf_evoked

__all__ = [
    "TRF", "BandedTRF", "BackwardTRF", "cross_validate", "trf_to_xarray", "circular_shift_null",
    "held_out_shift_null", "noise_ceiling", "variance_partitioning", "improvement_over_baseline",
    "predictors_from_store",
    "time_resolved_decoding", "response_epochs", "plot_trf", "plot_trf_topomap", "plot_scores", "trf_evoked",
    "from_mne", "to_evoked", "to_source_estimate", "BoostingTRF", "fit_group", "cross_validate_group", "cluster_test", "clusters_table",
    "sensor_adjacency", "plot_cluster",
]
