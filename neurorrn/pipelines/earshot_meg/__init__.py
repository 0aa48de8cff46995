"""The ``earshot_meg`` pipeline: train an EARSHOT-style network (on isolated words, or on continuous
word streams as Brodbeck et al. 2025: ``train.mode``), then ask how well its hidden units explain
M/EEG beyond acoustics, and what they encode.

Stages (each cached by its config sections and its inputs' keys)::

    corpus → features → train → evaluate → export → brain → encode
                                                  ↘ probe
                                                           → report

``brain`` simulates the listening experiment (the model's own units drive some sources) or loads
a real dataset through its manifest.  See ``docs/pipeline.md``.
"""

from __future__ import annotations

from neurorrn.pipeline.engine import Pipeline, Stage

from .analysis_stages import brain_stage, encode_stage, probe_stage
from .config import RUNTIME_SECTIONS, RunConfig, StreamRunConfig, stream_experiment_config, validate_sections
from .report_stage import report_stage
from .speech_stages import corpus_stage, evaluate_stage, export_stage, features_stage, train_in, train_stage

#: The train stage's sections (``streams`` and ``backtrack`` exist with ``train.mode: streams`` only).
TRAIN_SECTIONS = ("features", "network", "targets", "loss", "optim", "train", "holdout", "evaluation", "name",
                  "streams", "backtrack")

CONFIG_MODEL = RunConfig


def build_pipeline() -> Pipeline:
    """The stages of the pipeline, with the config sections each depends on."""
    return Pipeline("earshot_meg", [
        Stage("corpus", corpus_stage, ("corpus",), description="synthesize (or check) the training corpus"),
        Stage("features", features_stage, ("features",), ("corpus",), description="acoustic features"),
        Stage("train", train_stage, TRAIN_SECTIONS, ("corpus", "features"),
              description="train the network (isolated words or continuous streams)",
              unkeyed=("train.max_time_s",)),
        Stage("evaluate", evaluate_stage, ("quality",), ("train",), version="4",
              description="recognition accuracy (or stream word accuracy), competitors"),
        Stage("export", export_stage, ("export",), ("corpus", "train"),
              description="hidden units of corpus tokens and experiment stimuli"),
        Stage("brain", brain_stage, ("brain", "seed"), ("export",),
              description="simulate the M/EEG experiment or check a real dataset"),
        Stage("encode", encode_stage, ("encode", "brain.dataset.preprocess", "name", "seed"), ("export", "brain"),
              version="2", description="TRFs: acoustic baseline vs + model units; shift null, noise ceiling"),
        Stage("probe", probe_stage, ("probe", "name"), ("export",), description="PSI/FSI, probes, RSA"),
        Stage("report", report_stage, ("report",), ("train", "evaluate", "export", "brain", "encode", "probe"),
              description="the HTML report"),
    ])


def validate(cfg: RunConfig) -> None:
    """Check the sections other subsystems own (called before a run starts)."""
    validate_sections(cfg)


__all__ = ["CONFIG_MODEL", "RUNTIME_SECTIONS", "RunConfig", "StreamRunConfig", "build_pipeline", "stream_experiment_config",
           "train_in", "validate"]
