"""Schema of an ``earshot_meg`` run (``configs/demo.yaml``, ``configs/brodbeck2025.yaml``, ...).

The training sections (``features``, ``network``, ``targets``, ``loss``, ``optim``, ``train``,
``holdout``, ``evaluation``) are those of :class:`neurorrn.models.experiment.ExperimentConfig`,
so a training config (``configs/earshot_paper.yaml``) pastes in unchanged.  ``corpus.build`` is
handed to :func:`neurorrn.speech.build_corpus` and ``brain.simulate`` to the simulator, which
validate them with their own schemas.  The sections defined here are the experiment's stimuli
(``export``), the analyses (``encode``, ``probe``), the report, and ``distributed`` (where to run;
it never changes a result and is not part of any cache key).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from neurorrn.config import ConfigModel
from neurorrn.models.experiment import EvaluationSection, FeatureSection, HoldoutSection
from neurorrn.models.losses import LossConfig
from neurorrn.models.networks import NetworkConfig
from neurorrn.models.targets import TargetConfig
from neurorrn.models.training import OptimConfig, TrainConfig


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
    The isolated corpus tokens are always exported too (for probing).
    """

    components: list[str] = ["h"]
    stimuli: Literal["streams", "dataset"] = "streams"
    streams: StreamSection = StreamSection()
    batch_size: int = Field(64, ge=1)


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


class RunConfig(ConfigModel):
    """An ``earshot_meg`` pipeline run."""

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
    train: TrainConfig = TrainConfig()
    holdout: HoldoutSection = HoldoutSection()
    evaluation: EvaluationSection = EvaluationSection()
    quality: QualitySection = QualitySection()
    export: ExportSection = ExportSection()
    brain: BrainSection = BrainSection()
    encode: EncodeSection = EncodeSection()
    probe: ProbeSection = ProbeSection()
    report: ReportSection = ReportSection()
    distributed: DistributedSection = DistributedSection()


def validate_sections(cfg: "RunConfig") -> None:
    """Validate the sections that other subsystems own, before anything runs (fail fast)."""
    from neurorrn.config import ConfigError

    if cfg.train.on_time_limit != "error":
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
