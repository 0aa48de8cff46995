"""Probing and interpretability of hidden units: PSI/FSI, probes over time, RSA, lesions, clustering.

Everything works on an ActivationStore (:mod:`neurorrn.store`) with a phone alignment tier; see
``docs/probing.md``.
"""

from .clustering import HierarchicalResult, cluster_time_courses, hierarchical_clustering, kmeans_units
from .features import ANALYSIS_PHONES, FEATURES, phone_feature_table, read_earshot_feature_file
from .lesions import lesion_module, lesion_store, lesion_sweep, psi_effect
from .probes import make_folds, probe_features, probe_over_time, temporal_generalization
from .responses import feature_means, phone_epochs, phone_means, phone_table, phone_tokens
from .rsa import (
    RSAResult, compare_rdms, feature_rdm, load_rdm, permutation_test, rdm, rdms_over_lags, time_resolved_rsa,
)
from .selectivity import EARSHOT_CRITERIA, fsi, psi, ranksum_selectivity, selectivity_index, squeeze
from .simulate import planted_store

__all__ = [
    "ANALYSIS_PHONES", "EARSHOT_CRITERIA", "FEATURES", "HierarchicalResult", "RSAResult", "cluster_time_courses",
    "compare_rdms", "feature_means", "feature_rdm", "fsi", "hierarchical_clustering", "kmeans_units",
    "lesion_module", "lesion_store", "lesion_sweep", "load_rdm", "make_folds", "permutation_test", "phone_epochs",
    "phone_feature_table", "phone_means", "phone_table", "phone_tokens", "planted_store", "probe_features",
    "probe_over_time", "psi", "psi_effect", "ranksum_selectivity", "rdm", "rdms_over_lags",
    "read_earshot_feature_file", "selectivity_index", "squeeze", "temporal_generalization", "time_resolved_rsa",
]
