"""Stages brain → encode → probe of the ``earshot_meg`` pipeline.

``brain`` simulates the listening experiment with the ground-truth simulator (the model's own
units drive some sources) or checks a real dataset against its manifest; ``encode`` and
``probe`` fan their per-(subject, model, layer) tasks out with
:func:`neurorrn.pipeline.distributed.fan_out` (serially, on a LocalCluster or on a dask
scheduler: ``distributed`` section or ``--scheduler``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from neurorrn.pipeline.distributed import fan_out, make_tasks
from neurorrn.utils._logging import logger

from . import tasks as T
from .config import RunConfig

#: Ground truth of a simulation: a sensor is "driven by model units" when the simulated unit
#: response alone explains at least DRIVEN_R2 of its (band-passed) variance, and "not driven"
#: below UNDRIVEN_R2; sensors in between are reported apart.
DRIVEN_R2 = 0.05
UNDRIVEN_R2 = 0.005


def _cfg(ctx) -> RunConfig:
    return RunConfig.from_dict(ctx.config, source="run config")


def _scheduler(ctx) -> dict:
    """fan_out keyword arguments from the run options (``--scheduler``) or the config."""
    cfg = _cfg(ctx)
    sched = ctx.options.get("scheduler") or cfg.distributed.scheduler
    return {"scheduler": None if sched == "local" else sched, "n_workers": cfg.distributed.n_workers,
            "threads_per_worker": cfg.distributed.threads_per_worker}


# ------------------------------------------------------------------------------------ brain
def brain_stage(ctx) -> dict:
    """Simulate the experiment (one BIDS recording per subject) or point at a real dataset."""
    cfg = _cfg(ctx)
    sec = cfg.brain
    if sec.source == "dataset":
        return _dataset(cfg)
    from neurorrn.brain import SimulationConfig, simulate

    exp = ctx.inputs["export"]
    sim = dict(sec.simulate)
    n_subjects = sec.n_subjects
    sim.setdefault("stimuli", {})
    sim["stimuli"] = {**sim["stimuli"], "source": "files", "path": str(exp.path / exp.meta["stimuli"])}
    root = ctx.out / "bids"
    subjects = []
    for i in range(n_subjects):
        sub = f"{i + 1:02d}"
        one = SimulationConfig.from_dict({**sim, "subject": sub, "seed": int(sim.get("seed", cfg.seed)) + i},
                                         source="brain.simulate")
        simulate(one, root, store=str(exp.path / exp.meta["streams"]), overwrite=True)
        subjects.append(sub)
    return {"source": "simulate", "bids_root": "bids", "subjects": subjects, "task": one.task}


def unit_r2(gt: xr.Dataset, raw, l_freq: float | None = 0.5, h_freq: float | None = 20.0) -> xr.DataArray:
    """The share of each sensor's variance that the simulated model-unit response explains.

    The unit-driven part of the recording is rebuilt from the ground truth (the ``units:*``
    predictors convolved with their kernels at every source, through the forward gain), band-passed
    like the analysed data, and its variance divided by that of the band-passed recording.  This is
    the R² that a perfect model-unit predictor could add at that sensor: the gain an encoding
    analysis should find there, and ~0 where the units put nothing.

    Returns
    -------
    DataArray (sensor,)
    """
    import mne

    from neurorrn.brain.simulate import noiseless_signal

    feats = [f for f in gt["feature"].values.astype(str) if f.startswith("units:")]
    if not feats:
        raise ValueError("the simulation has no 'units' response: brain.simulate.responses needs one "
                         "with predictor: units, so that model units drive some sources")
    sf = float(gt.attrs["sfreq"])
    sensors = list(gt["sensor"].values.astype(str))
    y = raw.get_data(picks=sensors)
    u = noiseless_signal(gt, feats).sel(sensor=sensors).values
    n = min(y.shape[1], u.shape[1])
    y, u = y[:, :n], u[:, :n]
    if l_freq is not None or h_freq is not None:
        y = mne.filter.filter_data(y, sf, l_freq, h_freq, verbose="error")
        u = mne.filter.filter_data(u, sf, l_freq, h_freq, verbose="error")
    r2 = u.var(1) / np.where(y.var(1) > 0, y.var(1), np.nan)
    return xr.DataArray(r2, dims="sensor", coords={"sensor": sensors}, name="unit_r2")


def _dataset(cfg: RunConfig) -> dict:
    """A real dataset: check it against its manifest and list the subjects to analyse."""
    from neurorrn.brain.manifests import check_dataset, load_manifest

    ds = cfg.brain.dataset
    if ds is None:
        raise ValueError("brain.source='dataset' needs a brain.dataset section (manifest, root, subjects)")
    root = Path(ds.root).expanduser()
    report = check_dataset(load_manifest(ds.manifest), root, checksums=False)
    if not report.ok:
        raise FileNotFoundError(f"the dataset at '{root}' is incomplete for {ds.manifest}:\n{report}")
    subjects = ds.subjects or sorted(p.name[4:] for p in root.glob("sub-*") if p.is_dir())
    if not subjects:
        raise FileNotFoundError(f"no sub-* folders under '{root}'")
    if ds.task is None:
        raise ValueError("brain.dataset.task is required (the BIDS task of the recordings to analyse)")
    return {"source": "dataset", "bids_root": str(root.resolve()), "subjects": subjects,
            "task": ds.task, "session": ds.session, "external": True}


# ----------------------------------------------------------------------------------- encode
def _layers(requested, available) -> list[str]:
    if requested is None:
        return list(available)
    bad = [la for la in requested if la not in available]
    if bad:
        raise ValueError(f"layers {bad} are not in the model; it has {list(available)}")
    return list(requested)


def encode_stage(ctx) -> dict:
    """Baseline vs model-unit TRFs for every subject × model × layer (fanned out)."""
    cfg = _cfg(ctx)
    sec = cfg.encode
    br, exp = ctx.inputs["brain"], ctx.inputs["export"]
    root = br.path / br.meta["bids_root"] if not br.meta.get("external") else Path(br.meta["bids_root"])
    stim_dir = exp.path / exp.meta["stimuli"] if exp.meta.get("stimuli") else root / "stimuli" / "audio"
    pre = cfg.brain.dataset.preprocess if cfg.brain.source == "dataset" and cfg.brain.dataset else \
        {"l_freq": sec.band[0], "h_freq": sec.band[1]}
    tasks = make_tasks(br.meta["subjects"], [cfg.name], _layers(sec.layers, exp.meta["layers"]),
                       bids_root=str(root), bids_task=br.meta["task"], bids_session=br.meta.get("session"),
                       store=str(exp.path / exp.meta["streams"]),
                       stim_dir=str(stim_dir), sfreq=sec.sfreq, tmin=sec.tmin, tmax=sec.tmax, alphas=sec.alphas,
                       cv=sec.cv, baseline=list(sec.baseline), gammatone_bands=sec.gammatone_bands,
                       units_kind=sec.units_kind, n_components=sec.n_components, banded=sec.banded,
                       alpha_rule=sec.alpha_rule, n_shifts=sec.n_shifts, random_state=cfg.seed,
                       side_dir=str(ctx.out / "trf"), preprocess={**pre, "sfreq": sec.sfreq})
    res = fan_out(T.encode_task, tasks, ctx.out / "encode.zarr", **_scheduler(ctx),
                  attrs={"analysis": "encode", "config_json": json.dumps(sec.model_dump(mode="json"))}).load()
    meta = {"n_tasks": len(tasks), "median_gain": float(np.nanmedian(res["gain"].values))}
    if br.meta["source"] == "simulate":
        truth = _ground_truth_r2(root, br.meta["subjects"], br.meta["task"], pre["l_freq"], pre["h_freq"])
        truth.to_netcdf(ctx.out / "truth.nc", engine="h5netcdf")
        meta["gain_by_group"] = {}
        for i in range(res.sizes["task"]):
            sub = str(res["subject"].values[i])
            s = truth.sel(subject=sub).sel(sensor=res["sensor"].values).values
            g = res["gain"].isel(task=i).values
            meta["gain_by_group"][f"{sub}/{res['layer'].values[i]}"] = {
                "driven": float(np.median(g[s >= DRIVEN_R2])) if (s >= DRIVEN_R2).any() else None,
                "not_driven": float(np.median(g[s < UNDRIVEN_R2])) if (s < UNDRIVEN_R2).any() else None,
                "r_gain_truth": float(np.corrcoef(g, s)[0, 1])}
    logger.info("encode: %s", json.dumps(meta))
    return meta


def _ground_truth_r2(root, subjects, task, l_freq, h_freq) -> xr.DataArray:
    """:func:`unit_r2` of every simulated subject, (subject, sensor)."""
    from neurorrn.brain import load_ground_truth, read_bids

    out = []
    for sub in subjects:
        raw, _ = read_bids(root, subject=sub, task=task, preload=True)
        out.append(unit_r2(load_ground_truth(root, sub, task=task), raw, l_freq, h_freq))
    return xr.concat(out, dim="subject").assign_coords(subject=list(subjects))


# ------------------------------------------------------------------------------------ probe
def probe_stage(ctx) -> dict:
    """PSI/FSI, probes over time and RSA for every layer of the model (isolated tokens)."""
    cfg = _cfg(ctx)
    sec = cfg.probe
    exp = ctx.inputs["export"]
    tasks = make_tasks(["model"], [cfg.name], _layers(sec.layers, exp.meta["layers"]),
                       store=str(exp.path / exp.meta["tokens"]), window=list(sec.window),
                       psi_threshold=sec.psi_threshold, lags=list(sec.lags), cv=sec.cv,
                       reference_rdm=sec.reference_rdm, n_permutations=sec.n_permutations, estimator=sec.estimator,
                       random_state=sec.random_state, side_dir=str(ctx.out / "maps"))
    res = fan_out(T.probe_task, tasks, ctx.out / "probe.zarr", **_scheduler(ctx),
                  attrs={"analysis": "probe", "config_json": json.dumps(sec.model_dump(mode="json"))}).load()
    peak = res["probe_accuracy"].max("lag")
    return {"n_tasks": len(tasks), "peak_probe_accuracy": {str(la): float(v) for la, v in
                                                           zip(res["layer"].values, peak.values)},
            "chance": float(res["probe_chance"].values[0]),
            "rsa": {str(c): float(v) for c, v in zip(res["comparison"].values, res["rsa_r"].values[0])}}
