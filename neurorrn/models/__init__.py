"""Speech networks of the EARSHOT family: networks, targets, losses, training, evaluation, export.

References: Magnuson et al. (2020), Cognitive Science 44:e12823 (EARSHOT); Brodbeck, Hannagan &
Magnuson (2025), PLoS Comput Biol 21:e1013244.  See ``docs/models.md``.
"""

from .bundle import ModelBundle
from .data import FeatureNormalizer, FeatureSet, holdout_split
from .evaluation import (CATEGORIES, CRITERIA, accuracy, competitor_sets, competitor_time_courses, load_evaluation,
                         save_evaluation,
                         cosine_similarity, evaluate_network, mean_rt, recognition_time)
from .experiment import ExperimentConfig, run_experiment, train_on_features
from .export import NetworkSubject, export_activations, export_corpus
from .hooks import HookSubject, export_module_activations
from .pretrained import PRETRAINED_KINDS, PretrainedSubject, export_pretrained, load_pretrained
from .losses import LOSSES, LossConfig, cohort_loss, earshot_loss, make_loss, mse_loss
from .networks import CELL_COMPONENTS, NetworkConfig, SpeechRNN, build_network
from .targets import TARGETS, TargetConfig, TargetSet, make_targets
from .training import (EarlyStoppingConfig, OptimConfig, TrainConfig, Trainer, TrainingBudgetError, init_distributed,
                       load_checkpoint, noam_factor, save_checkpoint)

__all__ = [
    "CATEGORIES", "CELL_COMPONENTS", "CRITERIA", "EarlyStoppingConfig", "ExperimentConfig", "FeatureNormalizer",
    "FeatureSet", "LOSSES", "LossConfig", "ModelBundle", "NetworkConfig", "NetworkSubject", "OptimConfig",
    "SpeechRNN", "TARGETS", "TargetConfig", "TargetSet", "TrainConfig", "Trainer", "TrainingBudgetError", "accuracy", "build_network",
    "cohort_loss", "competitor_sets", "competitor_time_courses", "cosine_similarity", "earshot_loss",
    "evaluate_network", "export_activations", "export_corpus", "export_module_activations", "HookSubject",
    "PRETRAINED_KINDS", "PretrainedSubject", "export_pretrained", "load_pretrained", "holdout_split", "init_distributed",
    "load_checkpoint", "load_evaluation", "save_evaluation", "make_loss", "make_targets", "mean_rt", "mse_loss", "noam_factor", "recognition_time",
    "run_experiment", "save_checkpoint", "train_on_features",
]
