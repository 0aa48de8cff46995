"""Schema of an ``earshot_meg`` run (``configs/demo.yaml``, ``configs/brodbeck2025.yaml``, ...).

The train stage has two modes, chosen by ``train.mode``:

* ``words`` (the default): isolated words, EARSHOT-style.  The training sections (``features``,
  ``network``, ``targets``, ``loss``, ``optim``, ``train``, ``holdout``, ``evaluation``) are those
  of :class:`neurorrn.models.experiment.ExperimentConfig`, so a training config
  (``configs/earshot_paper.yaml``) pastes in unchanged (:class:`RunConfig`).
* ``streams``: continuous word streams (Brodbeck, Hannagan & Magnuson 2025).  ``train``,
  ``streams``, ``backtrack`` and ``evaluation`` are those of
  :class:`neurorrn.models.stream_training.StreamExperimentConfig` (plus ``mode: streams``), with
  range checks the trainer leaves out (:class:`StreamRunConfig`).

:meth:`RunConfig.from_dict` reads ``train.mode`` and validates with the matching class.  ``corpus.build`` is
handed to :func:`neurorrn.speech.build_corpus` and ``brain.simulate`` to the simulator, which
validate them with their own schemas.  The sections defined here are the experiment's stimuli
(``export``), the analyses (``encode``, ``probe``), the report, and ``distributed`` (where to run;
it never changes a result and is not part of any cache key).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from neurorrn.config import ConfigError, ConfigModel
from neurorrn.models.experiment import EvaluationSection, FeatureSection, HoldoutSection
from neurorrn.models.losses import LossConfig
from neurorrn.models.networks import NetworkConfig
from neurorrn.models.stream_training import (SPLIT_NAMES, BacktrackConfig, StreamEvaluationSection,
                                             StreamTrainConfig)
from neurorrn.models.stream_training import StreamSection as _TrainingStreams
from neurorrn.models.targets import TargetConfig
from neurorrn.models.training import OptimConfig, TrainConfig
from neurorrn.utils._check import check_at_least

#: ``train.mode`` values: isolated words (EARSHOT) or continuous streams (Brodbeck et al. 2025).
TRAIN_MODES = ("words", "streams")


class CorpusStage(ConfigModel):
    """The training corpus: built from ``build`` (:func:`neurorrn.speech.build_corpus`), or an
    existing corpus at ``root`` (read with :func:`neurorrn.speech.load_corpus`, not copied)."""

    build: dict[str, Any] | None = None
    root: str | None = None


class StreamSection(ConfigModel):
    """Continuous streams for the listening experiment (:func:`neurorrn.speech.make_stream`).

    ``params`` go to ``make_stream`` unchanged (words per stream, silences, talker changes...);
    ``n_streams`` streams are made with seeds ``random_state + i``.
    """

    n_streams: int = Field(4, ge=1)
    params: dict[str, Any] = {}
    random_state: int = 0


class ExportSection(ConfigModel):
    """What runs through the trained network and is written to ActivationStores.

    ``stimuli="streams"``: continuous streams made from the corpus (the simulated experiment);
    ``"dataset"``: the audio files of a real dataset (``brain.dataset``), run statefully.
    The isolated corpus tokens are always exported too (for probing).  Each stimulus is run with
    the state carried through it; ``reset_state`` (default) starts every stimulus from the zero
    state (separate stimuli, as the separate streams of the simulated experiment or the stories of a
    dataset), ``False`` carries the state on from one stimulus to the next.
    """

    components: list[str] = ["h"]
    stimuli: Literal["streams", "dataset"] = "streams"
    streams: StreamSection = StreamSection()
    batch_size: int = Field(64, ge=1)
    reset_state: bool = True


class DatasetSection(ConfigModel):
    """A real M/EEG dataset on the user's disk, described by a manifest in ``data_manifests/``.

    One recording per subject is analysed: BIDS ``task`` (and ``session``) of each of ``subjects``
    (default: every ``sub-*`` folder).  Its ``stimuli/**/*.wav`` are run through the network.
    """

    manifest: str
    root: str
    subjects: list[str] | None = None
    task: str | None = None
    session: str | None = None
    preprocess: dict[str, Any] = {"l_freq": 0.5, "h_freq": 20.0, "sfreq": 100.0}


class BrainSection(ConfigModel):
    """Brain data: ``source="simulate"`` (the ground-truth simulator,
    :class:`neurorrn.brain.SimulationConfig` settings in ``simulate``, one recording for each of
    ``n_subjects`` subjects with seeds ``seed + i``) or ``"dataset"`` (a real dataset, ``dataset``).

    The simulator's stimuli are always the export stage's streams and its ``units`` predictors the
    exported stream store, so ``simulate.stimuli`` sets only timing (``pre``, ``isi``, ``post``).
    """

    source: Literal["simulate", "dataset"] = "simulate"
    n_subjects: int = Field(1, ge=1)
    simulate: dict[str, Any] = {}
    dataset: DatasetSection | None = None


class EncodeSection(ConfigModel):
    """TRF models compared per subject × model × layer.

    ``baseline`` lists the acoustic predictors (``envelope``, ``onsets``, their Hilbert versions
    ``hilbert_envelope``/``hilbert_onsets``, ``gammatone``: a few gammatone bands and their onsets);
    ``band`` is the band-pass (Hz) applied to simulated recordings before resampling to ``sfreq``
    (real datasets use ``brain.dataset.preprocess``); ``alphas`` is the ridge grid (None: the TRF's grid relative to the predictors' power, with
    z-scored predictors); the full model adds model-unit predictors of kind
    ``units_kind`` (:func:`neurorrn.encoding.predictors_from_store`: ``pca``, ``magnitude``,
    ``change``, ``kmeans``, ``units``) with ``n_components`` components.  Both are fitted with
    the same lags, alphas and contiguous folds, so the gain in cross-validated R² is what the
    model units add over the acoustic baseline (Brodbeck et al. 2025).  ``banded`` fits the full
    model with one ridge penalty per feature space (acoustic, units;
    :class:`neurorrn.encoding.BandedTRF`), which keeps many unit predictors from forcing a stronger
    penalty on the acoustic ones.  ``alpha_rule``: the inner-CV penalty with the best mean score
    (``best``: the model's best prediction, what a comparison of explained variance asks for) or
    the largest within one standard error of it (``1se``: smoother TRFs).  ``n_shifts``: draws of
    the circular-shift null of the full model's held-out prediction accuracy per subject and sensor
    (:func:`neurorrn.encoding.held_out_shift_null`; offsets of at least the lag window + 1 s,
    seeded by the run's ``seed``; 0 skips it).
    """

    sfreq: float = Field(100.0, gt=0)
    band: tuple[float, float] = (0.5, 20.0)
    tmin: float = -0.1
    tmax: float = 0.5
    alphas: list[float] | None = None
    cv: int = Field(5, ge=2)
    baseline: list[Literal["envelope", "onsets", "hilbert_envelope", "hilbert_onsets", "gammatone"]] = [
        "envelope", "onsets", "gammatone"]
    gammatone_bands: int = Field(8, ge=1)
    units_kind: Literal["units", "pca", "magnitude", "change", "kmeans"] = "pca"
    n_components: int = Field(4, ge=1)
    layers: list[str] | None = None
    banded: bool = False
    alpha_rule: Literal["best", "1se"] = "1se"
    n_shifts: int = Field(1000, ge=0)


class ProbeSection(ConfigModel):
    """Hidden-unit analyses on the isolated-token store (Magnuson et al. 2020; Mesgarani 2014).

    ``psi_threshold`` is the PSI/FSI criterion c (a unit is selective for phone p over q when its
    mean |h| to p exceeds that to q by more than c; EARSHOT sweeps c over 0-0.5).  The default 0.1
    keeps only differences a tenth of the tanh range; at c = 0 every unit with any difference
    between its means counts as selective, so the maps would show every unit.
    """

    window: tuple[float, float] = (0.05, 0.15)
    psi_threshold: float = Field(0.1, ge=0.0, le=0.5)
    lags: tuple[float, float, float] = (-0.1, 0.5, 0.05)
    cv: int = Field(5, ge=2)
    reference_rdm: str | None = None
    n_permutations: int = Field(1000, ge=0)
    estimator: Literal["logistic", "ridge"] = "logistic"
    layers: list[str] | None = None
    random_state: int = 0


class QualitySection(ConfigModel):
    """The quality gate on the trained network, checked by the ``evaluate`` stage.

    The network should recognise at least ``min_accuracy`` of the ``split`` tokens by
    ``criterion`` (EARSHOT's ``time_dependent``, ``relative`` or ``absolute``).  Below it every
    later result describes a network that has not learned its task: the run says so in the log
    (a WARNING) and at the top of the report, and ``neurorrn run --strict`` stops with an error.
    """

    criterion: Literal["time_dependent", "relative", "absolute"] = "time_dependent"
    split: Literal["trained", "excluded_word", "excluded_talker", "all"] = "trained"
    min_accuracy: float = Field(0.8, ge=0.0, le=1.0)


class StreamQualitySection(ConfigModel):
    """The quality gate of a stream-trained network (``train.mode: streams``).

    ``criterion="stream"``: the paper's stream word accuracy (Brodbeck et al. 2025: argmax over
    words of the softmax, maximised over each token's last ``streams.last_frames`` frames, on the
    fixed test streams of ``split``: trained talkers' tokens in new orders, the held-out talker's,
    the held-out words', or ``all`` of them).  Below ``min_accuracy`` the log and the report's
    Summary say so; ``neurorrn run --strict`` stops with an error.
    """

    criterion: Literal["stream"] = "stream"
    split: Literal["trained", "excluded_word", "excluded_talker", "all"] = "trained"
    min_accuracy: float = Field(0.8, ge=0.0, le=1.0)


class ReportSection(ConfigModel):
    """The HTML report."""

    title: str = "neurorrn: EARSHOT network vs M/EEG"
    trf_features: int = 2


class DistributedSection(ConfigModel):
    """Where encoding and probing tasks run: ``scheduler`` ``"serial"`` (this process),
    ``"local"`` (a LocalCluster of ``n_workers``) or a dask scheduler address."""

    scheduler: str = "serial"
    n_workers: int = Field(2, ge=1)
    threads_per_worker: int = Field(1, ge=1)


class WordTrainSection(TrainConfig):
    """``train`` of the isolated-word mode: :class:`~neurorrn.models.training.TrainConfig` and
    ``mode: words`` (the default)."""

    mode: Literal["words"] = "words"


class StreamTrainSection(StreamTrainConfig):
    """``train`` of the stream mode: :class:`~neurorrn.models.stream_training.StreamTrainConfig`
    (parallel streams, epochs, evaluation and checkpoint intervals, snapshots) and ``mode: streams``.

    The schedule ends training (``max_epochs``, ``max_steps``, Backtrack's stop); ``max_time_s`` is a
    safety net whose breach fails the stage (its checkpoint resumes), as in the word mode.
    """

    mode: Literal["streams"]

    @field_validator("batch_size", "max_epochs", "max_steps")
    @classmethod
    def _positive(cls, v, info):
        return check_at_least(1, info.field_name, v, allow_none=True)

    @field_validator("eval_every", "checkpoint_every")
    @classmethod
    def _non_negative(cls, v, info):
        return check_at_least(0, info.field_name, v)

    @field_validator("max_time_s")
    @classmethod
    def _time(cls, v):
        if v is not None and v <= 0:
            raise ValueError("max_time_s must be > 0 (or null for no safety net)")
        return v

    @field_validator("snapshot_epochs")
    @classmethod
    def _snapshots(cls, v):
        if any(e < 1 for e in v):
            raise ValueError("snapshot_epochs must be epoch numbers >= 1")
        return v


class TrainStreamsSection(_TrainingStreams):
    """``streams``: how training and test streams are made
    (:class:`neurorrn.models.stream_training.StreamSection`; defaults: the paper's, ranges checked
    there before anything runs)."""


class TrainBacktrackSection(BacktrackConfig):
    """``backtrack``: the paper's stopping rule (:class:`neurorrn.models.stream_training.BacktrackConfig`)."""


class StreamMonitorSection(StreamEvaluationSection):
    """``evaluation`` of the stream mode: the test-stream sets monitored during training (all are
    scored at the end) and the token cap of each."""

    @field_validator("monitor_splits")
    @classmethod
    def _splits(cls, v):
        bad = [s for s in v if s not in SPLIT_NAMES]
        if bad:
            raise ValueError(f"unknown split(s) {bad}; allowed: {', '.join(SPLIT_NAMES)}")
        return v

    @field_validator("monitor_max_tokens")
    @classmethod
    def _cap(cls, v):
        return check_at_least(1, "monitor_max_tokens", v, allow_none=True)


class RunConfig(ConfigModel):
    """An ``earshot_meg`` pipeline run (``train.mode: words``; :class:`StreamRunConfig` for streams).

    :meth:`from_dict` picks the class by ``train.mode``, so ``RunConfig.from_dict`` reads either.
    """

    pipeline: Literal["earshot_meg"] = "earshot_meg"
    name: str = "earshot_meg"
    out_dir: str = "demo_output"
    seed: int = 0
    torch_threads: int | None = 2
    corpus: CorpusStage = CorpusStage()
    features: FeatureSection = FeatureSection()
    network: NetworkConfig = NetworkConfig()
    targets: TargetConfig = TargetConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    train: WordTrainSection = WordTrainSection()
    holdout: HoldoutSection = HoldoutSection()
    evaluation: EvaluationSection = EvaluationSection()
    quality: QualitySection = QualitySection()
    export: ExportSection = ExportSection()
    brain: BrainSection = BrainSection()
    encode: EncodeSection = EncodeSection()
    probe: ProbeSection = ProbeSection()
    report: ReportSection = ReportSection()
    distributed: DistributedSection = DistributedSection()

    @property
    def stream_mode(self) -> bool:
        """Whether the train stage trains on continuous streams."""
        return self.train.mode == "streams"

    @classmethod
    def from_dict(cls, data, source: str = "config"):
        """Validate a run config with the class of its ``train.mode`` (``words`` by default)."""
        if cls is not RunConfig or not isinstance(data, dict):
            return super().from_dict(data, source=source)
        train = data.get("train")
        mode = train.get("mode", "words") if isinstance(train, dict) else "words"
        if mode not in TRAIN_MODES:
            raise ConfigError(f"{source}: invalid RunConfig\n  - train.mode: expected one of "
                              f"{', '.join(map(repr, TRAIN_MODES))}, got {mode!r}")
        if mode == "words":
            extra = [k for k in ("streams", "backtrack") if k in data]
            if extra:
                raise ConfigError(f"{source}: section(s) {', '.join(map(repr, extra))} configure stream training; "
                                  "they need train.mode: streams (train.mode is 'words', isolated words)")
            return super().from_dict(data, source=source)
        return StreamRunConfig.from_dict(data, source=source)


class StreamRunConfig(RunConfig):
    """An ``earshot_meg`` run whose network is trained on continuous streams (``train.mode: streams``).

    ``train``, ``streams``, ``backtrack`` and ``evaluation`` are the sections of
    :class:`neurorrn.models.stream_training.StreamExperimentConfig`, whose defaults (the paper's)
    they keep; the features, network, targets, loss and optimiser sections are shared with the word
    mode.  The quality gate scores the paper's stream word accuracy (``quality.criterion: stream``).
    """

    train: StreamTrainSection
    streams: TrainStreamsSection = TrainStreamsSection()
    backtrack: TrainBacktrackSection = TrainBacktrackSection()
    evaluation: StreamMonitorSection = StreamMonitorSection()
    quality: StreamQualitySection = StreamQualitySection()


def stream_experiment_config(cfg: StreamRunConfig):
    """The :class:`~neurorrn.models.stream_training.StreamExperimentConfig` of a stream-mode run
    (what the train stage hands to :func:`~neurorrn.models.stream_training.train_streams`)."""
    from neurorrn.models.stream_training import StreamExperimentConfig

    if not cfg.stream_mode:
        raise ConfigError("train.mode is 'words': this run trains on isolated words, not on streams")
    return StreamExperimentConfig(
        name=cfg.name, features=cfg.features, network=cfg.network, targets=cfg.targets, loss=cfg.loss,
        optim=cfg.optim, train=StreamTrainConfig(**cfg.train.model_dump(exclude={"mode"})),
        streams=_TrainingStreams(**cfg.streams.model_dump()), backtrack=BacktrackConfig(**cfg.backtrack.model_dump()),
        holdout=cfg.holdout, evaluation=StreamEvaluationSection(**cfg.evaluation.model_dump()))


def validate_sections(cfg: "RunConfig") -> None:
    """Validate the sections that other subsystems own, before anything runs (fail fast)."""
    if cfg.stream_mode:
        targets = cfg.targets
        if targets.kind == "dense" and (cfg.network.output_activation != "linear" or cfg.loss.kind != "mse"):
            raise ConfigError(f"targets.kind {targets.kind!r} (dense vectors) in stream training needs "
                              f"network.output_activation: linear and loss.kind: mse; got "
                              f"{cfg.network.output_activation!r} and {cfg.loss.kind!r}")
    elif cfg.train.on_time_limit != "error":
        raise ConfigError("train.on_time_limit: a pipeline's train stage is cached, so it must not keep a model "
                          "cut short by the wall clock; use 'error' (the default) and size train.max_epochs")
    if cfg.corpus.build is not None:
        from neurorrn.speech import CorpusConfig

        CorpusConfig.from_dict(cfg.corpus.build, source="corpus.build")
    if cfg.brain.source == "simulate":
        from neurorrn.brain import SimulationConfig

        sim = SimulationConfig.from_dict(cfg.brain.simulate, source="brain.simulate")
        if not any(r.predictor == "units" for r in sim.responses):
            raise ConfigError("brain.simulate: no response has predictor 'units'; the experiment needs "
                              "one so that model units drive some sources")
    elif cfg.brain.dataset is None:
        raise ConfigError("brain: source 'dataset' needs a 'dataset' section (manifest, root)")


#: Sections that only say where or how fast to run; they are not part of any cache key.
RUNTIME_SECTIONS = ("out_dir", "distributed", "torch_threads")
