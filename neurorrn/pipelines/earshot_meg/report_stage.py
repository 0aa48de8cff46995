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
        data.chance = tr.meta.get("chance")
    ev = inputs.get("evaluate")
    if ev is not None:
        data.quality = ev.meta.get("quality_gate")
        data.accuracy = pd.read_csv(ev.path / "accuracy.csv")
        if ev.meta.get("mode") == "streams":
            data.accuracy.attrs["caption"] = (
                "Stream word accuracy and WER by item set and talker (Brodbeck et al. 2025: argmax over words of "
                f"the softmax, maximised over each token's last {ev.meta.get('last_frames', 10)} frames, on test "
                "streams without silences).")
        if (ev.path / "competitors.nc").is_file():
            with xr.open_dataset(ev.path / "competitors.nc", engine="h5netcdf") as tc:
                tc = tc.load()
            data.competitors, data.competitors_sem = tc["mean"], tc["se"]
            if not np.isfinite(tc["se"].values).any():
                data.competitors_sem = None


def _probing(data: ReportData, inputs) -> None:
    pr = inputs.get("probe")
    if pr is None:
        return
    res = _open_zarr(pr.path / "probe.zarr")
    layers = [str(x) for x in res["layer"].values]
    data.probe_accuracy = xr.DataArray(res["probe_accuracy"].transpose("task", "lag").values, dims=("layer", "lag"),
                                       coords={"layer": layers, "lag": res["lag"].values}, name="probe_accuracy")
    data.probe_chance = float(res["probe_chance"].values[0])
    if "probe_sem" in res:
        data.probe_sem = xr.DataArray(res["probe_sem"].transpose("task", "lag").values, dims=("layer", "lag"),
                                      coords={"layer": layers, "lag": res["lag"].values})
        data.probe_folds = int(res["probe_folds"].values[0])
    rows, nulls = [], {}
    for i, la in enumerate(layers):
        for j, c in enumerate(res["comparison"].values):
            name = f"{la}: PSI vs {c}"
            rows.append({"comparison": name, "r": float(res["rsa_r"].values[i, j]),
                         "p": float(res["rsa_p"].values[i, j])})
            if "rsa_null" in res:
                nulls[name] = np.asarray(res["rsa_null"].values[i, j], float)
    data.rsa = pd.DataFrame(rows)
    data.rsa_nulls = nulls or None
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
    subjects = [str(s) for s in sub["subject"].values]
    data.r2_baseline = sub["r2_baseline"].mean("task")
    data.r2_full = sub["r2_full"].mean("task")
    data.gain = xr.DataArray((sub["r2_full"] - sub["r2_baseline"]).transpose("task", "sensor").values,
                             dims=("subject", "sensor"), coords={"subject": subjects, "sensor": sub["sensor"].values})
    root = br.path / br.meta["bids_root"] if not br.meta.get("external") else Path(br.meta["bids_root"])
    data.info = _sensor_info(root, subjects[0], br.meta["task"], br.meta.get("session"))
    trfs = []
    for s in subjects:
        f = en.path / "trf" / f"trf_{s}_{sub['model'].values[0]}_{layer}.nc"
        with xr.open_dataarray(f, engine="h5netcdf") as da:
            trfs.append(da.load())
    per_subject = xr.concat(trfs, dim="subject").assign_coords(subject=subjects)
    trf = per_subject.mean("subject")
    data.trf = trf
    feats = list(trf["feature"].values)
    unit_feats = [f for f in feats if f.startswith(UNIT_PREFIX)]
    data.trf_features = ([feats[0]] + unit_feats[: max(0, n_trf_features - 1)])[:n_trf_features]
    _null_and_ceiling(data, sub, subjects, simulated=(en.path / "truth.nc").is_file())
    data.gain_clusters = _gain_clusters(data.gain, data.info)
    data.trf_clusters = _trf_clusters(per_subject, data.trf_features, data.info)
    if not data.gain_clusters:
        data.notes["Explained variance"] = (f"no cluster test: {len(subjects)} subject(s); a sign-flip permutation "
                                            "test across subjects needs at least 3 (6 or more to reach p < .05)")
    if (en.path / "truth.nc").is_file():
        with xr.open_dataarray(en.path / "truth.nc", engine="h5netcdf") as d:
            share = d.load()
        share = share.sel(subject=subjects, sensor=sub["sensor"].values)
        data.share = share
        data.notes["driven_r2"] = DRIVEN_R2
        data.driven = share.mean("subject") >= DRIVEN_R2
        data.variance_summary = summarize_gain(data.gain, share, driven=DRIVEN_R2, undriven=UNDRIVEN_R2)
        data.variance_summary["r_gain_truth (mean of subjects)"] = float(np.mean([
            np.corrcoef(data.gain.sel(subject=s).values, share.sel(subject=s).values)[0, 1] for s in subjects]))
        _trf_truth(data, root, subjects, br.meta["task"], trf)
    else:
        data.notes["Explained variance"] = "real data: no ground truth of which sensors model units drive"


def _null_and_ceiling(data: ReportData, sub: xr.Dataset, subjects: list, simulated: bool) -> None:
    """Per-subject held-out r, its circular-shift null and the noise ceiling (from ``encode``)."""
    if "shift_p" not in sub:
        data.notes["Shift null and noise ceiling"] = "encode.n_shifts is 0 (no circular-shift null computed)"
        return

    def per_subject(name, dims=("subject", "sensor")):
        da = sub[name].transpose("task", *dims[1:])
        return xr.DataArray(da.values, dims=dims, coords={"subject": subjects, "sensor": sub["sensor"].values})

    data.r_full = per_subject("r_full")
    data.shift_p = per_subject("shift_p")
    data.shift_null = per_subject("shift_null_r", ("subject", "permutation", "sensor"))
    ceiling = per_subject("ceiling_r")
    repeats = sub["ceiling_repeats"].values if "ceiling_repeats" in sub else np.zeros(len(subjects))
    if simulated and np.isfinite(ceiling.values).any():
        data.ceiling = ceiling
        data.notes["ceiling_method"] = (
            "the correlation of each sensor's recording with the simulator's noise-free signal (all simulated "
            "responses: acoustic and model units; neurorrn.brain.noiseless_signal) over the same held-out "
            "blocks, band-passed and resampled like the analysed data: the correlation a perfect model of "
            "the stimulus-driven signal would reach")
    elif np.isfinite(ceiling.values).all(axis=1).any():
        keep = [s for s, row in zip(subjects, ceiling.values) if np.isfinite(row).all()]
        data.ceiling = ceiling.sel(subject=keep)
        data.notes["ceiling_method"] = (
            f"split-half reliability of the stimuli played more than once ({int(np.max(repeats))} presentations "
            "at most; random halves, neurorrn.encoding.noise_ceiling), brought down to one presentation by "
            "the Spearman–Brown formula; ceiling r = its square root (subjects without repeats: "
            f"{', '.join(s for s in subjects if s not in keep) or 'none'})")
    else:
        data.notes["ceiling"] = (
            "real recordings have no noise-free signal, and a split-half (Spearman–Brown) ceiling "
            "(neurorrn.encoding.noise_ceiling) needs stimuli presented more than once, which these recordings "
            "do not have")


#: The recording's acoustic predictors and the simulator's names for them.
_TRUTH_FEATURES = {"hilbert_envelope": "envelope", "hilbert_onsets": "onsets"}


def _trf_truth(data: ReportData, root, subjects, task, trf) -> None:
    """The simulator's sensor-level TRF of the first acoustic predictor it knows, at the TRF's lags."""
    from neurorrn.brain import load_ground_truth

    feat = next((f for f in trf["feature"].values if f in _TRUTH_FEATURES), None)
    if feat is None:
        return
    parts = []
    for s in subjects:
        gt = load_ground_truth(root, s, task=task)
        parts.append(gt["sensor_trf"].sel(feature=_TRUTH_FEATURES[feat]).load())
    truth = xr.concat(parts, dim="subject").mean("subject")
    lags = trf["lag"].values
    truth = truth.interp(lag=lags).fillna(0.0).sel(sensor=trf["sensor"].values).transpose("sensor", "lag")
    data.trf_truth, data.trf_truth_feature = truth, str(feat)
    rec = trf.sel(feature=feat).transpose("sensor", "lag")
    power = (truth ** 2).sum("lag").values
    top = np.argsort(power)[::-1][:20]
    rs = [np.corrcoef(rec.values[i], truth.values[i])[0, 1] for i in top]
    data.notes["trf_truth"] = (f"Median correlation over lags at the 20 most strongly driven sensors: "
                               f"r = {np.nanmedian(rs):.2f}.")
    data.trf_truth_r = float(np.nanmedian(rs))


def _trf_clusters(per_subject: xr.DataArray, features, info) -> dict:
    """Spatio-temporal cluster tests (sensors x lags, two-sided) of each shown TRF across subjects,
    on magnetometers (or the first sensor type present): ``{feature: Dataset}``."""
    import mne

    from neurorrn.encoding import cluster_test

    if per_subject.sizes["subject"] < 3:
        return {}
    names = [str(x) for x in per_subject["sensor"].values]
    types = np.array(mne.pick_info(info, [info["ch_names"].index(n) for n in names]).get_channel_types())
    ch_type = next((t for t in ("mag", "grad", "eeg") if t in set(types)), None)
    if ch_type is None:
        return {}
    keep = np.flatnonzero(types == ch_type)
    tinfo = mne.pick_info(info, [info["ch_names"].index(names[i]) for i in keep])
    out = {}
    for feat in features or []:
        one = per_subject.sel(feature=feat).isel(sensor=keep).transpose("subject", "sensor", "lag")
        out[str(feat)] = cluster_test(one, info=tinfo, tail=0, n_permutations=1024, random_state=0)
    return out


def _gain_clusters(gain: xr.DataArray, info) -> dict:
    """Spatial cluster-permutation test of gain > 0 across subjects, per sensor type present."""
    import mne

    from neurorrn.encoding import cluster_test

    if gain.sizes["subject"] < 3:  # sign-flip permutations of fewer subjects cannot reach p < .05
        return {}
    names = [str(x) for x in gain["sensor"].values]
    types = np.array(mne.pick_info(info, [info["ch_names"].index(n) for n in names]).get_channel_types())
    out = {}
    for ch_type in ("mag", "grad", "eeg"):
        keep = np.flatnonzero(types == ch_type)
        if keep.size < 3:
            continue
        one = gain.isel(sensor=keep)
        tinfo = mne.pick_info(info, [info["ch_names"].index(str(n)) for n in one["sensor"].values])
        out[ch_type] = cluster_test(one, info=tinfo, tail=1, n_permutations=1024, random_state=0)
    return out


def _stage_table(ctx) -> pd.DataFrame:
    """Every stage of this run (not only the report's direct inputs): key and run time."""
    from . import build_pipeline

    rows = []
    for name, key in build_pipeline().keys(ctx.config).items():
        if name == "report":
            continue
        f = ctx.run_dir / "stages" / name / key / "result.json"
        sec = json.loads(f.read_text()).get("seconds") if f.is_file() else None
        rows.append({"stage": name, "key": key, "run time (s)": sec})
    return pd.DataFrame(rows)


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
    data.stage_table = _stage_table(ctx)
    build_report(data, ctx.out / "report.html")
    out = {"report": "report.html"}
    if data.variance_summary is not None:
        m = data.variance_summary.set_index("group")
        out["gain_by_group"] = {g: {"mean_gain": float(m.loc[g, "mean_gain"]), "p_gain_gt_0": float(m.loc[g, "p_gain_gt_0"])}
                                for g in m.index}
    if data.gain_clusters:
        out["gain_cluster_p"] = {t: (float(r["cluster_p"].values.min()) if r.sizes.get("cluster", 0) else None)
                                 for t, r in data.gain_clusters.items()}
    if data.trf_truth is not None:
        out["trf_truth_r"] = data.trf_truth_r
    if data.shift_p is not None:
        from neurorrn.report import group_shift_null

        group = group_shift_null(data.shift_p)
        out["shift_null"] = {"n_shifts": int(data.shift_null.sizes["permutation"]),
                             "n_subjects": int(group.attrs["n_subjects"]),
                             "group_significant_sensors": int(group["significant"].sum()),
                             "mean_share_p_lt_05": float((data.shift_p < 0.05).mean("sensor").mean())}
        if data.ceiling is not None:
            c, r = data.ceiling.values, data.r_full.values
            ok = c >= 0.1
            out["shift_null"]["median_r_over_ceiling"] = float(np.median(r[ok] / c[ok])) if ok.any() else None
    return out
