"""The ``report`` stage: gather every stage's results into :class:`neurorrn.report.ReportData`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from neurorrn.report import ReportData, build_report, summarize_gain
from neurorrn.utils._logging import logger

from .analysis_stages import DRIVEN_R2, UNDRIVEN_R2
from .config import RUNTIME_SECTIONS, RunConfig
from .tasks import UNIT_PREFIX


def _open_zarr(path):
    from neurorrn.pipeline.distributed import open_results

    return open_results(path).load()


def _training(data: ReportData, inputs) -> None:
    tr = inputs.get("train")
    if tr is not None and (tr.path / "metrics.jsonl").is_file():
        rows = [json.loads(x) for x in (tr.path / "metrics.jsonl").read_text().splitlines() if x.strip()]
        data.history = pd.DataFrame(rows).drop(columns=["lr", "time_s", "step"], errors="ignore")
    ev = inputs.get("evaluate")
    if ev is not None:
        data.quality = ev.meta.get("quality_gate")
        data.accuracy = pd.read_csv(ev.path / "accuracy.csv")
        if (ev.path / "competitors.nc").is_file():
            with xr.open_dataset(ev.path / "competitors.nc", engine="h5netcdf") as tc:
                tc = tc.load()
            data.competitors, data.competitors_sem = tc["mean"], tc["se"]


def _probing(data: ReportData, inputs) -> None:
    pr = inputs.get("probe")
    if pr is None:
        return
    res = _open_zarr(pr.path / "probe.zarr")
    layers = [str(x) for x in res["layer"].values]
    data.probe_accuracy = xr.DataArray(res["probe_accuracy"].transpose("task", "lag").values, dims=("layer", "lag"),
                                       coords={"layer": layers, "lag": res["lag"].values}, name="probe_accuracy")
    data.probe_chance = float(res["probe_chance"].values[0])
    rows = []
    for i, la in enumerate(layers):
        for j, c in enumerate(res["comparison"].values):
            rows.append({"comparison": f"{la}: PSI vs {c}", "r": float(res["rsa_r"].values[i, j]),
                         "p": float(res["rsa_p"].values[i, j])})
    data.rsa = pd.DataFrame(rows)
    model = str(res["model"].values[0])
    for kind in ("psi", "fsi"):
        f = pr.path / "maps" / f"{kind}_{model}_{layers[0]}.nc"
        if f.is_file():
            with xr.open_dataarray(f, engine="h5netcdf") as da:
                setattr(data, kind, da.load())


def _sensor_info(bids_root, subject, task, session=None):
    from neurorrn.brain import read_bids

    raw, _ = read_bids(bids_root, subject=subject, task=task, session=session, preload=False)
    return raw.info


def _encoding(data: ReportData, inputs, n_trf_features: int) -> None:
    en, br = inputs.get("encode"), inputs.get("brain")
    if en is None or br is None:
        return
    res = _open_zarr(en.path / "encode.zarr")
    layer = str(res["layer"].values[0])
    sel = np.flatnonzero(res["layer"].values.astype(str) == layer)
    sub = res.isel(task=sel)
    data.r2_baseline = sub["r2_baseline"].mean("task")
    data.r2_full = sub["r2_full"].mean("task")
    root = br.path / br.meta["bids_root"] if not br.meta.get("external") else Path(br.meta["bids_root"])
    subject = str(sub["subject"].values[0])
    data.info = _sensor_info(root, subject, br.meta["task"], br.meta.get("session"))
    trfs = []
    for s in sub["subject"].values:
        f = en.path / "trf" / f"trf_{s}_{sub['model'].values[0]}_{layer}.nc"
        with xr.open_dataarray(f, engine="h5netcdf") as da:
            trfs.append(da.load())
    trf = xr.concat(trfs, dim="subject").mean("subject")
    data.trf = trf
    feats = list(trf["feature"].values)
    unit_feats = [f for f in feats if f.startswith(UNIT_PREFIX)]
    data.trf_features = ([feats[0]] + unit_feats[: max(0, n_trf_features - 1)])[:n_trf_features]
    rows = []
    if (en.path / "truth.nc").is_file():
        with xr.open_dataarray(en.path / "truth.nc", engine="h5netcdf") as d:
            share = d.load()
        mean_share = share.mean("subject").sel(sensor=data.r2_baseline["sensor"].values)
        data.driven = mean_share >= DRIVEN_R2
        summary = summarize_gain(data.r2_baseline, data.r2_full, mean_share, driven=DRIVEN_R2,
                                 undriven=UNDRIVEN_R2)
        summary.insert(0, "subjects", "mean")
        summary["r_gain_truth"] = float(np.corrcoef(data.r2_full.values - data.r2_baseline.values,
                                                    mean_share.values)[0, 1])
        rows.append(summary)
        for i in range(sub.sizes["task"]):
            s = str(sub["subject"].values[i])
            one = summarize_gain(sub["r2_baseline"].isel(task=i), sub["r2_full"].isel(task=i),
                                 share.sel(subject=s), driven=DRIVEN_R2, undriven=UNDRIVEN_R2)
            one.insert(0, "subjects", s)
            gain = sub["r2_full"].isel(task=i).values - sub["r2_baseline"].isel(task=i).values
            one["r_gain_truth"] = float(np.corrcoef(gain, share.sel(subject=s).sel(
                sensor=sub["sensor"].values).values)[0, 1])
            rows.append(one)
        data.variance_summary = pd.concat(rows, ignore_index=True)
    else:
        data.notes["Explained variance"] = "real data: no ground truth of which sensors model units drive"


def report_stage(ctx) -> dict:
    """Write ``report.html`` from the results of every earlier stage."""
    cfg = RunConfig.from_dict(ctx.config, source="run config")
    data = ReportData(title=cfg.report.title)
    for part, fn in (("training", lambda: _training(data, ctx.inputs)),
                     ("probing", lambda: _probing(data, ctx.inputs)),
                     ("encoding", lambda: _encoding(data, ctx.inputs, cfg.report.trf_features))):
        try:
            fn()
        except FileNotFoundError as err:
            logger.warning("report: %s results missing: %s", part, err)
    shown = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in RUNTIME_SECTIONS}
    data.config_yaml = yaml.safe_dump(shown, sort_keys=False)
    data.stage_table = pd.DataFrame([{"stage": n, "key": r.key,
                                      "seconds": json.loads((r.path / "result.json").read_text()).get("seconds")}
                                     for n, r in ctx.inputs.items()])
    build_report(data, ctx.out / "report.html")
    out = {"report": "report.html"}
    if data.variance_summary is not None:
        m = data.variance_summary[data.variance_summary["subjects"] == "mean"].set_index("group")
        out["median_gain"] = {g: float(m.loc[g, "median_gain"]) for g in m.index}
    return out
