"""Benchmarks: a recording, its stimuli and its noise ceiling, scored against any model.

* :class:`SimulatorBenchmark` - the ground-truth simulator (:func:`neurorrn.brain.simulate`)
  driven by a model's units: its noise ceiling is exact (the correlation of each sensor's
  noise-free signal with the recording), and the driving model is the known best model.
* :class:`RecordingBenchmark` - a BIDS recording with ``events.tsv`` and its stimuli
  (``<id>.wav``); optional manifest check of the dataset, ceiling from a table or from repeated
  recordings of the same stimuli (:func:`neurorrn.encoding.noise_ceiling`), or none (raw r).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..utils._check import check_option, check_path, validate_type
from ..utils._logging import logger

__all__ = ["BrainData", "Benchmark", "SimulatorBenchmark", "RecordingBenchmark", "default_driver", "record_model"]


@dataclass
class BrainData:
    """What a benchmark scores against.

    Attributes
    ----------
    data : DataArray (time, sensor)
        The recording (attr ``sfreq``).
    timeline : neurorrn.brain.Timeline
        Sound onsets per stimulus id on the recording's clock.
    stimuli : list of neurorrn.brain.stimuli.Stimulus
    ceiling : DataArray (sensor,) or None
    info : dict
        Provenance (strings and numbers).
    """

    data: xr.DataArray
    timeline: object
    stimuli: list
    ceiling: xr.DataArray | None = None
    info: dict = field(default_factory=dict)


def default_driver(random_state=0):
    """The simulator's default driving model: a reservoir whose phone readout is trained on 20
    synthetic sentences drawn with seed ``1000 + random_state`` (never the benchmark's stimuli)."""
    from ..brain.stimuli import synthetic_stimuli
    from ._models import ReservoirSubject

    train = synthetic_stimuli(20, 8, random_state=1000 + int(random_state), story="train")
    return ReservoirSubject(random_state=random_state).fit_readout(train)


def record_model(model, stimuli) -> xr.Dataset:
    """The model's store on the stimuli: each stimulus is passed as ``(audio, sfreq)``."""
    from ..subject import ModelSubject

    validate_type(model, ModelSubject, "model")
    if getattr(model, "time_unit", "s") != "s":
        raise ValueError(f"model {model.model_id!r} has time_unit {model.time_unit!r}; benchmarks on recordings "
                         "need models with time in seconds")
    return model.record([(s.audio, s.sfreq) for s in stimuli], [s.id for s in stimuli], verbose=False)


class Benchmark:
    """Base class: ``load()`` gives :class:`BrainData` (cached); ``score(model)`` scores a model.

    Parameters
    ----------
    tmin, tmax : float
        TRF lags (s).
    cv : int
        Contiguous cross-validation folds.
    min_ceiling : float
        Sensors with a lower ceiling are not scored.
    predictors : {"units", "pca"}
        How the model's units become predictors (``pca``: ``n_components`` components).
    """

    name = "benchmark"
    reference = ""

    def __init__(self, tmin: float = 0.0, tmax: float = 0.6, cv: int = 5, min_ceiling: float = 0.1,
                 predictors: str = "units", n_components: int = 16):
        self.tmin = tmin
        self.tmax = tmax
        self.cv = cv
        self.min_ceiling = min_ceiling
        self.predictors = check_option(predictors, ("units", "pca"), "predictors")
        self.n_components = n_components
        self._data = None

    def _load(self) -> BrainData:  # pragma: no cover - abstract
        raise NotImplementedError

    def load(self) -> BrainData:
        if self._data is None:
            self._data = self._load()
        return self._data

    def score(self, model, layer=None, verbose=None) -> xr.Dataset:
        """Score ``model`` (a ModelSubject, or a store Dataset recorded on this benchmark's stimuli).

        ``layer`` picks the model layer(s) whose units are the predictors (default: every unit).
        """
        from ..encoding import predictors_from_store
        from ._score import score_predictors

        bd = self.load()
        store = model if isinstance(model, xr.Dataset) else record_model(model, bd.stimuli)
        sf = float(bd.data.attrs["sfreq"])
        kw = {"n_components": min(self.n_components, store.sizes["unit"])} if self.predictors == "pca" else {}
        if layer is not None:
            kw["layer"] = layer
        x = predictors_from_store(store, bd.timeline, sfreq=sf, kind=self.predictors, n_times=bd.data.sizes["time"],
                                  **kw)
        x = x.assign_coords(time=bd.data["time"].values)
        res = score_predictors(x, bd.data, bd.ceiling, tmin=self.tmin, tmax=self.tmax, cv=self.cv,
                               min_ceiling=self.min_ceiling, verbose=verbose)
        res.attrs.update(benchmark=self.name, model=str(store.attrs.get("model_id", "")),
                         reference=self.reference, layer=str(layer or "all"))
        return res


class SimulatorBenchmark(Benchmark):
    """The simulator's recording of synthetic speech, with responses driven by a model's units.

    Parameters
    ----------
    driver : ModelSubject, optional
        The model whose units (of ``layer``) drive the cortical sources through random Gaussian
        kernels (default: :class:`~neurorrn.benchmark.ReservoirSubject` with seed 0, its readout
        trained on the phones of other synthetic stimuli, and ``layer="readout"``).
    layer : str, optional
        The driver's layer whose units drive the sources (None: its first ``n_units`` units).
    n_stimuli, words_per_stimulus : int
        Synthetic "sentences".
    snr_db : float
        Signal-to-noise ratio on the magnetometers.
    sfreq : float
        Recording rate.
    picks : {"mag", "grad", "meg"}
        Channels scored.
    seed : int
        Seeds the stimuli, kernels and noise.
    """

    name = "sim"
    reference = "ground-truth simulator (neurorrn.brain.simulate); scoring after Schrimpf et al. (2021) PNAS"

    def __init__(self, driver=None, layer="readout", n_units: int = 12, n_stimuli: int = 20,
                 words_per_stimulus: int = 8, snr_db: float = -5.0, sfreq: float = 100.0, picks: str = "mag",
                 seed: int = 0, tmax: float = 0.4, **kw):
        super().__init__(tmax=tmax, **kw)
        self.driver = driver
        self.layer = layer
        self.n_units = n_units
        self.n_stimuli = n_stimuli
        self.words_per_stimulus = words_per_stimulus
        self.snr_db = snr_db
        self.sfreq = sfreq
        self.picks = check_option(picks, ("mag", "grad", "meg"), "picks")
        self.seed = seed

    def _load(self) -> BrainData:
        from ..brain.simulate import simulate
        from ..brain.simulate_config import SimulationConfig
        from ..brain.stimuli import synthetic_stimuli
        driver = self.driver if self.driver is not None else default_driver()
        stims = synthetic_stimuli(self.n_stimuli, self.words_per_stimulus, random_state=self.seed)
        store = record_model(driver, stims)
        cfg = SimulationConfig.from_dict({
            "seed": self.seed, "sfreq": self.sfreq, "snr_db": self.snr_db, "trf_tmax": self.tmax,
            "responses": [{"predictor": "units", "sources": ["left_auditory", "right_auditory", "left_stg"],
                           "n_units": int(min(self.n_units, store.sizes["unit"])), "layer": self.layer}],
            "stimuli": {"n_stimuli": self.n_stimuli, "words_per_stimulus": self.words_per_stimulus}})
        logger.info("benchmark sim: simulating %d stimuli driven by %s", len(stims), driver.model_id)
        res = simulate(cfg, stimuli=stims, store=store)
        names = res.raw.ch_names[: res.signal.shape[0]]
        picks = {"mag": ("mag",), "grad": ("grad",), "meg": ("mag", "grad")}[self.picks]
        types = np.array(res.raw.get_channel_types(picks=names))
        keep = np.isin(types, picks)
        data = res.raw.get_data(picks=list(np.array(names)[keep]))
        sig = res.signal[keep]
        # the same contiguous folds as the scoring: per fold, the correlation of the noise-free
        # signal with the recording, averaged (the best held-out r any model can reach)
        folds = np.array_split(np.arange(data.shape[1]), self.cv)
        ceiling = np.mean([[np.corrcoef(s[f], d[f])[0, 1] for s, d in zip(sig, data)] for f in folds], axis=0)
        sensors = np.array(names, dtype=object)[keep]
        t = np.arange(data.shape[1]) / self.sfreq
        da = xr.DataArray(data.T, dims=("time", "sensor"), coords={"time": t, "sensor": sensors},
                          attrs={"sfreq": self.sfreq})
        ceil = xr.DataArray(ceiling, dims=("sensor",), coords={"sensor": sensors})
        return BrainData(da, res.timeline, stims, ceil,
                         {"driver": driver.model_id, "seed": self.seed, "snr_db": self.snr_db})


class RecordingBenchmark(Benchmark):
    """A BIDS recording with ``events.tsv`` and its stimulus audio, e.g. a manifest-described dataset.

    Parameters
    ----------
    root : path
        BIDS root.
    subject, task : str
    session, run : str, optional
    stimuli : path, optional
        Folder of ``<stimulus id>.wav`` (default ``<root>/stimuli/audio``).
    ceiling : path or DataArray, optional
        A TSV with columns ``sensor`` and ``ceiling`` (or a DataArray over ``sensor``); ``None``
        scores raw correlations.
    manifest : path or name, optional
        A dataset manifest; the local copy is checked against it first (missing required files
        are an error).
    picks : str
        MNE channel type(s) scored (e.g. ``"mag"``, ``"eeg"``).
    sfreq : float
        The recording is resampled to this rate.
    """

    name = "recording"
    reference = "scoring after Schrimpf et al. (2021) PNAS 118:e2105646118"

    def __init__(self, root, subject: str, task: str, session=None, run=None, stimuli=None, ceiling=None,
                 manifest=None, picks: str = "mag", sfreq: float = 100.0, **kw):
        super().__init__(**kw)
        self.root = root
        self.subject = subject
        self.task = task
        self.session = session
        self.run = run
        self.stimuli = stimuli
        self.ceiling = ceiling
        self.manifest = manifest
        self.picks = picks
        self.sfreq = sfreq

    def _load(self) -> BrainData:
        from ..brain.io import read_bids
        from ..brain.stimuli import Stimulus, read_wav

        root = check_path(self.root, "root", must_exist=True)
        if self.manifest is not None:
            from ..brain.manifests import check_dataset, find_manifest, load_manifest

            report = check_dataset(load_manifest(find_manifest(self.manifest)), root, checksums=False)
            bad = [e for e in getattr(report, "entries", []) if getattr(e, "status", "present") != "present"
                   and getattr(e, "required", True)]
            if bad:
                raise FileNotFoundError(f"dataset at '{root}' does not match manifest {self.manifest!r}: "
                                        f"{len(bad)} required entr(y/ies) missing or corrupt")
        raw, timeline = read_bids(root, self.subject, self.task, self.session, self.run)
        if timeline is None:
            raise ValueError(f"recording sub-{self.subject} task-{self.task} has no events.tsv: a benchmark needs "
                             "the sound onsets")
        raw.load_data()
        if abs(raw.info["sfreq"] - self.sfreq) > 1e-6:
            raw.resample(self.sfreq, verbose="error")
            timeline = timeline.resample(self.sfreq, raw.n_times)
        raw.pick(self.picks)
        data = raw.get_data()
        sdir = check_path(self.stimuli if self.stimuli is not None else root / "stimuli" / "audio", "stimuli",
                          must_exist=True)
        stims = []
        for sid in timeline.stimuli:
            wav = sdir / f"{sid}.wav"
            if not wav.exists():
                raise FileNotFoundError(f"stimulus {sid!r} of events.tsv has no audio '{wav}'")
            audio, sf = read_wav(wav)
            stims.append(Stimulus(sid, audio, sf))
        sensors = np.array(raw.ch_names, dtype=object)
        da = xr.DataArray(data.T, dims=("time", "sensor"),
                          coords={"time": np.arange(data.shape[1]) / self.sfreq, "sensor": sensors},
                          attrs={"sfreq": self.sfreq})
        return BrainData(da, timeline, stims, self._ceiling(sensors), {"root": str(root), "subject": self.subject})

    def _ceiling(self, sensors):
        c = self.ceiling
        if c is None:
            return None
        if isinstance(c, xr.DataArray):
            return c
        path = check_path(c, "ceiling", must_exist=True)
        tab = pd.read_csv(path, sep="\t")
        missing = {"sensor", "ceiling"} - set(tab.columns)
        if missing:
            raise ValueError(f"ceiling table '{path}' lacks column(s) {sorted(missing)}; "
                             "expected 'sensor' and 'ceiling'")
        return xr.DataArray(tab["ceiling"].to_numpy(float), dims=("sensor",),
                            coords={"sensor": tab["sensor"].astype(str).to_numpy(dtype=object)})


def _jsonable_attrs(ds: xr.Dataset) -> dict:
    return json.loads(json.dumps(dict(ds.attrs), default=str))


def save_score(res: xr.Dataset, out_dir, model_name: str, benchmark_name: str, overwrite: bool = False) -> Path:
    """Write ``<model>__<benchmark>.nc`` (per-sensor scores) and ``.json`` (the summary)."""
    out = check_path(out_dir, "out_dir")
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{model_name}__{benchmark_name}".replace("/", "_").replace(":", "-")
    nc, js = out / f"{stem}.nc", out / f"{stem}.json"
    for p in (nc, js):
        if p.exists() and not overwrite:
            raise FileExistsError(f"'{p}' already exists; pass overwrite=True to replace it")
    res.to_netcdf(nc)
    summary = {"model": model_name, "benchmark": benchmark_name, **_jsonable_attrs(res)}
    js.write_text(json.dumps(summary, indent=2))
    return js
