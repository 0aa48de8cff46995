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

#: Fraction of the largest sensor response to model units above which a sensor counts as driven
#: by them, and below which it counts as not driven (sensors in between are reported apart).
DRIVEN_FRACTION = 0.25
UNDRIVEN_FRACTION = 0.05


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
    from neurorrn.brain import SimulationConfig, load_ground_truth, simulate

    exp = ctx.inputs["export"]
    sim = dict(sec.simulate)
    n_subjects = int(sim.pop("n_subjects", 1))
    sim.setdefault("stimuli", {})
    sim["stimuli"] = {**sim["stimuli"], "source": "files", "path": str(exp.path / exp.meta["stimuli"])}
    root = ctx.out / "bids"
    subjects, driven = [], {}
    for i in range(n_subjects):
        sub = f"{i + 1:02d}"
        one = SimulationConfig.from_dict({**sim, "subject": sub, "seed": int(sim.get("seed", cfg.seed)) + i},
                                         source="brain.simulate")
        simulate(one, root, store=str(exp.path / exp.meta["streams"]), overwrite=True)
        gt = load_ground_truth(root, sub, task=one.task)
        driven[sub] = _driven_sensors(gt)
        subjects.append(sub)
    xr.Dataset({"unit_share": xr.concat([d for d in driven.values()], dim="subject")},
               coords={"subject": subjects}).to_netcdf(ctx.out / "driven.nc", engine="h5netcdf")
    return {"source": "simulate", "bids_root": "bids", "subjects": subjects, "task": one.task,
            "n_driven": {s: int((d >= DRIVEN_FRACTION).sum()) for s, d in driven.items()}}


def _driven_sensors(gt: xr.Dataset) -> xr.DataArray:
    """Share of each sensor's ground-truth model-unit response energy relative to the largest one,
    within each channel type (0..1; the sensor TRFs of every ``units:*`` feature, summed)."""
    trf = gt["sensor_trf"]
    feats = [f for f in trf["feature"].values.astype(str) if f.startswith("units:")]
    if not feats:
        raise ValueError("the simulation has no 'units' response: brain.simulate.responses needs one "
                         "with predictor: units, so model units drive some sources")
    energy = (trf.sel(feature=feats) ** 2).sum(("feature", "lag"))
    share = energy.copy(data=np.zeros(energy.shape))
    types = _sensor_types(gt, energy["sensor"].values)
    for t in set(types):
        m = types == t
        e = energy.values[m]
        share.values[m] = e / e.max() if e.max() > 0 else 0.0
    return share.rename("unit_share")


def _sensor_types(gt, sensors) -> np.ndarray:
    if "ch_type" in gt.coords:
        return np.asarray(gt["ch_type"].sel(sensor=sensors).values, str)
    names = np.asarray(sensors, str)
    # Neuromag: names ending in 1 are magnetometers; others planar gradiometers; EEG otherwise
    return np.array(["mag" if n.startswith("MEG") and n.endswith("1") else "grad" if n.startswith("MEG")
                     else "eeg" for n in names])


def _dataset(cfg: RunConfig) -> dict:
    """A real dataset: check it against its manifest and list the subjects to analyse."""
    from neurorrn.brain import check_dataset, load_manifest  # noqa: F401 - API of the brain helper

    ds = cfg.brain.dataset
    if ds is None:
        raise ValueError("brain.source='dataset' needs a brain.dataset section (manifest, root, subjects)")
    manifest = load_manifest(ds.manifest)
    report = check_dataset(manifest, ds.root)
    problems = getattr(report, "problems", None) or (report.get("missing", []) if isinstance(report, dict) else [])
    if problems:
        raise FileNotFoundError(f"dataset at '{ds.root}' does not match {ds.manifest}: {problems[:5]}")
    subjects = ds.subjects or sorted(p.name[4:] for p in Path(ds.root).glob("sub-*") if p.is_dir())
    if not subjects:
        raise FileNotFoundError(f"no sub-* folders under '{ds.root}'")
    return {"source": "dataset", "bids_root": str(Path(ds.root).resolve()), "subjects": subjects,
            "task": ds.task, "external": True}


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
        {"l_freq": 0.5, "h_freq": 20.0}
    tasks = make_tasks(br.meta["subjects"], [cfg.name], _layers(sec.layers, exp.meta["layers"]),
                       bids_root=str(root), bids_task=br.meta["task"], store=str(exp.path / exp.meta["streams"]),
                       stim_dir=str(stim_dir), sfreq=sec.sfreq, tmin=sec.tmin, tmax=sec.tmax, alphas=sec.alphas,
                       cv=sec.cv, baseline=list(sec.baseline), gammatone_bands=sec.gammatone_bands,
                       units_kind=sec.units_kind, n_components=sec.n_components,
                       side_dir=str(ctx.out / "trf"), preprocess={**pre, "sfreq": sec.sfreq})
    res = fan_out(T.encode_task, tasks, ctx.out / "encode.zarr", **_scheduler(ctx),
                  attrs={"analysis": "encode", "config_json": json.dumps(sec.model_dump(mode="json"))}).load()
    meta = {"n_tasks": len(tasks), "median_gain": float(np.nanmedian(res["gain"].values))}
    if (br.path / "driven.nc").is_file():
        with xr.open_dataset(br.path / "driven.nc", engine="h5netcdf") as d:
            share = d["unit_share"].load()
        meta["gain_by_group"] = {}
        for i in range(res.sizes["task"]):
            sub = str(res["subject"].values[i])
            s = share.sel(subject=sub).sel(sensor=res["sensor"].values).values
            g = res["gain"].isel(task=i).values
            meta["gain_by_group"][f"{sub}/{res['layer'].values[i]}"] = {
                "driven": float(np.median(g[s >= DRIVEN_FRACTION])),
                "not_driven": float(np.median(g[s < UNDRIVEN_FRACTION]))}
    logger.info("encode: %s", json.dumps(meta))
    return meta


# ------------------------------------------------------------------------------------ probe
def probe_stage(ctx) -> dict:
    """PSI/FSI, probes over time and RSA for every layer of the model (isolated tokens)."""
    cfg = _cfg(ctx)
    sec = cfg.probe
    exp = ctx.inputs["export"]
    tasks = make_tasks(["model"], [cfg.name], _layers(sec.layers, exp.meta["layers"]),
                       store=str(exp.path / exp.meta["tokens"]), window=list(sec.window),
                       psi_threshold=sec.psi_threshold, lags=list(sec.lags), cv=sec.cv,
                       reference_rdm=sec.reference_rdm, n_permutations=sec.n_permutations,
                       random_state=sec.random_state, side_dir=str(ctx.out / "maps"))
    res = fan_out(T.probe_task, tasks, ctx.out / "probe.zarr", **_scheduler(ctx),
                  attrs={"analysis": "probe", "config_json": json.dumps(sec.model_dump(mode="json"))}).load()
    peak = res["probe_accuracy"].max("lag")
    return {"n_tasks": len(tasks), "peak_probe_accuracy": {str(la): float(v) for la, v in
                                                           zip(res["layer"].values, peak.values)},
            "chance": float(res["probe_chance"].values[0]),
            "rsa": {str(c): float(v) for c, v in zip(res["comparison"].values, res["rsa_r"].values[0])}}
