"""The HTML report of a pipeline run, built with :class:`mne.Report`.

:class:`ReportData` gathers the results of a run in labelled form; :func:`build_report` turns it
into one self-contained HTML page (mne.Report inlines its scripts and images, so the page opens
offline) with a fixed list of sections, :data:`SECTIONS`.  A section whose results are absent still
appears, with a line saying why, so a reader never mistakes a missing analysis for a hidden one.
"""

from __future__ import annotations

import dataclasses
import html
import importlib
import platform
import sys
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from .. import __version__
from ..utils._check import validate_type
from ..utils._io import atomic_path
from ..utils._logging import logger
from . import figures as F

#: Section titles, in page order (the browser test checks that each is shown).
SECTIONS = (
    "Summary",
    "Training",
    "Recognition",
    "Selectivity (PSI/FSI)",
    "RSA",
    "Probes",
    "TRFs",
    "Explained variance",
    "Configuration and versions",
)

_VERSION_MODULES = ("numpy", "scipy", "torch", "mne", "mne_bids", "sklearn", "xarray", "pandas", "h5py",
                    "h5netcdf", "zarr", "dask", "distributed", "himalaya", "rsatoolbox", "matplotlib")


@dataclasses.dataclass
class ReportData:
    """Everything the report shows; every field is optional.

    Attributes
    ----------
    title : str
    quality : dict
        The quality gate's verdict on the trained network (``criterion``, ``split``,
        ``accuracy``, ``min_accuracy``, ``passed``, ``message``), shown first.
    history : DataFrame
        Training metrics per epoch (``epoch`` + numeric columns); ``chance`` the chance accuracy.
    accuracy : DataFrame
        Recognition accuracy table (rows: item sets, columns: criteria).
    competitors : DataArray (category, time)
        Mean competitor time courses; ``competitors_sem`` their standard errors.
    psi, fsi : DataArray (unit, phone) / (unit, feature)
        Selectivity maps.
    rsa : DataFrame (comparison, r, p); ``rsa_nulls`` dict comparison -> permutation null (array).
    probe_accuracy : DataArray (lag, [layer], [target]); ``probe_chance`` float or DataArray;
        ``probe_sem`` the standard error over ``probe_folds`` folds, like ``probe_accuracy``.
    trf : DataArray (sensor, feature, lag) and ``trf_features`` (which features to plot).
    info : mne.Info
        Sensor information for topomaps.
    r2_baseline, r2_full : DataArray (sensor,)
        Cross-validated R² of the acoustic baseline and of baseline + model units (mean of subjects).
    gain : DataArray (subject, sensor)
        Per-subject gain ΔR² (drawn per subject; tested across subjects).
    share : DataArray (subject, sensor)
        Ground truth of a simulation: the share of each sensor's variance due to model units.
    gain_clusters : dict of str to Dataset
        Spatial cluster-permutation tests of the gain across subjects, per sensor type
        (:func:`neurorrn.encoding.cluster_test`).
    trf_clusters : dict of str to Dataset
        Spatio-temporal cluster tests of each shown TRF across subjects (feature -> result).
    trf_truth : DataArray (sensor, lag)
        The simulator's ground-truth TRF of ``trf_truth_feature`` (for simulated data).
    driven : DataArray (sensor,) of bool
        Ground truth of a simulation: sensors that received model-unit responses.
    variance_summary : DataFrame
        Numbers behind the explained-variance figure (group, median gain, test...).
    config_yaml : str
        The run's configuration.
    stage_table : DataFrame
        Stage keys, timings and cache status.
    notes : dict of str to str
        Why a section is empty (section title → reason).
    """

    title: str = "neurorrn report"
    quality: dict | None = None
    history: pd.DataFrame | None = None
    chance: float | None = None
    accuracy: pd.DataFrame | None = None
    competitors: xr.DataArray | None = None
    competitors_sem: xr.DataArray | None = None
    psi: xr.DataArray | None = None
    fsi: xr.DataArray | None = None
    rsa: pd.DataFrame | None = None
    rsa_nulls: dict | None = None
    probe_accuracy: xr.DataArray | None = None
    probe_chance: Any = None
    probe_sem: xr.DataArray | None = None
    probe_folds: int | None = None
    trf: xr.DataArray | None = None
    trf_features: list | None = None
    info: Any = None
    r2_baseline: xr.DataArray | None = None
    r2_full: xr.DataArray | None = None
    driven: xr.DataArray | None = None
    gain: xr.DataArray | None = None
    share: xr.DataArray | None = None
    gain_clusters: dict | None = None
    trf_clusters: dict | None = None
    trf_truth: xr.DataArray | None = None
    trf_truth_feature: str | None = None
    trf_truth_r: float | None = None
    variance_summary: pd.DataFrame | None = None
    config_yaml: str | None = None
    stage_table: pd.DataFrame | None = None
    notes: dict = dataclasses.field(default_factory=dict)


def versions() -> pd.DataFrame:
    """Versions of Python, neurorrn and the scientific stack (``not installed`` where absent)."""
    rows = {"neurorrn": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for mod in _VERSION_MODULES:
        try:
            m = importlib.import_module(mod)
        except Exception:  # noqa: BLE001 - any import failure is reported as such
            rows[mod] = "not installed"
            continue
        rows[mod] = getattr(m, "__version__", None) or _dist_version(mod)
    return F.mapping_table(rows)


_DISTRIBUTIONS = {"sklearn": "scikit-learn", "mne_bids": "mne-bids"}


def _dist_version(module: str) -> str:
    """A package's version from its installed metadata (for modules without ``__version__``)."""
    from importlib import metadata

    try:
        return metadata.version(_DISTRIBUTIONS.get(module, module))
    except metadata.PackageNotFoundError:
        return "unknown"


def _whole_pixels(fig) -> None:
    """Size a figure to whole pixels plus half a pixel.

    A size such as 4.6 in at 100 dpi is 459.99999 px: the canvas buffer and the PNG writer then
    disagree by one pixel per row and the image comes out sheared.  Half a pixel makes truncation
    and rounding agree.
    """
    dpi = float(fig.dpi)
    w, h = fig.get_size_inches()
    fig.set_size_inches((round(w * dpi) + 0.5) / dpi, (round(h * dpi) + 0.5) / dpi)


class _Builder:
    def __init__(self, title: str):
        import mne

        self.report = mne.Report(title=title, verbose="error")
        self.filled: dict[str, int] = {s: 0 for s in SECTIONS}

    def figure(self, fig, title, section, caption=None):
        import matplotlib.pyplot as plt

        _whole_pixels(fig)
        self.report.add_figure(fig, title=title, section=section, caption=caption, image_format="png")
        plt.close(fig)
        self.filled[section] += 1

    def html(self, content, title, section):
        self.report.add_html(content, title=title, section=section)
        self.filled[section] += 1

    def code(self, code, title, section, language="yaml"):
        self.report.add_code(code, title=title, section=section, language=language)
        self.filled[section] += 1

    def attempt(self, section, what, fn):
        """Run one figure builder; a failure becomes a visible note, never a missing section."""
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - reported in the page and the log
            logger.warning("report: %s (%s) failed: %s", what, section, err)
            self.html(f"<p class='text-danger'>{html.escape(what)} could not be drawn: "
                      f"{html.escape(type(err).__name__)}: {html.escape(str(err))}</p>", f"{what} (error)",
                      section)


def build_report(data: ReportData, fname, *, overwrite: bool = True) -> Path:
    """Write the HTML report for ``data`` to ``fname`` (atomically); return the path.

    Parameters
    ----------
    data : ReportData
    fname : path-like
        Must end in ``.html``.
    overwrite : bool
    """
    validate_type(data, ReportData, "data")
    fname = Path(fname)
    if fname.suffix != ".html":
        raise ValueError(f"report file name must end in .html, got {fname.name!r}")
    b = _Builder(data.title)
    S = dict(zip(("summary", "train", "recog", "sel", "rsa", "probe", "trf", "var", "cfg"), SECTIONS))

    if data.quality is not None:
        b.attempt(S["summary"], "Quality gate", lambda: b.html(quality_html(data.quality), "Quality gate",
                                                                 S["summary"]))
    if data.history is not None:
        b.attempt(S["train"], "Training curves", lambda: b.figure(
            F.plot_training_curves(data.history, data.chance), "Training curves", S["train"],
            caption="Loss and metrics per epoch (from the training log)."))
    if data.accuracy is not None:
        b.attempt(S["recog"], "Recognition accuracy", lambda: b.html(
            F.table_html(data.accuracy, data.accuracy.attrs.get(
                "caption", "Recognition accuracy by item set and criterion "
                           "(EARSHOT: absolute 0.7, relative 0.05, time-dependent 0.05 for 10 frames).")),
            "Recognition accuracy", S["recog"]))
    if data.competitors is not None:
        b.attempt(S["recog"], "Competitor time courses", lambda: b.figure(
            F.plot_competitors(data.competitors, data.competitors_sem), "Competitor time courses", S["recog"],
            caption=data.competitors.attrs.get(
                "caption", "Cosine similarity of the output to the target and to competitors (mean ± s.e.m.).")))
    for name, da, col in (("PSI", data.psi, "phone"), ("FSI", data.fsi, "feature")):
        if da is not None:
            b.attempt(S["sel"], f"{name} heatmap", lambda da=da, col=col, name=name: b.figure(
                F.plot_selectivity_heatmap(da, col, name), f"{name} heatmap", S["sel"],
                caption=f"{name} of every selective unit, rows and columns ordered by complete-linkage "
                        "clustering of z-scored maps."))
    if data.rsa is not None:
        n_perm = {len(v) for v in (data.rsa_nulls or {}).values()}
        b.attempt(S["rsa"], "RSA", lambda: (
            b.figure(F.plot_rsa(data.rsa, data.rsa_nulls), "RSA", S["rsa"],
                     caption="Pearson r between the model's PSI RDM and each reference RDM (red) against its "
                             f"null from {', '.join(map(str, sorted(n_perm))) or 'no'} permutations of the phone "
                             "labels (grey); p = (1 + #null ≥ r) / (1 + permutations), exact for this null."),
            b.html(F.table_html(data.rsa, "RDM correlations; p: share of label permutations with r at "
                                "least the observed (the observed labelling counted once)."), "RSA table", S["rsa"])))
    if data.probe_accuracy is not None:
        b.attempt(S["probe"], "Probe accuracy over time", lambda: b.figure(
            F.plot_probe_accuracy(data.probe_accuracy, data.probe_chance, data.probe_sem, data.probe_folds),
            "Probe accuracy over time", S["probe"],
            caption="Cross-validated linear probe accuracy (folds grouped by word) around phone onsets, mean "
                    f"over {data.probe_folds or 'the'} folds with ± 1 s.e.m. band; dashed: chance (the majority "
                    "class share)."))
    if data.trf is not None and data.info is not None:
        feats = data.trf_features or list(data.trf["feature"].values[:3])
        for feat in feats:
            def _one(feat=feat):
                for k, fig in enumerate(F.plot_trf_joint(data.trf, data.info, feat)):
                    b.figure(fig, f"TRF {feat}" + (f" ({k + 1})" if k else ""), S["trf"])
            b.attempt(S["trf"], f"TRF {feat}", _one)
    for feat, res in (data.trf_clusters or {}).items():
        b.attempt(S["trf"], f"TRF clusters {feat}", lambda res=res, feat=feat: b.html(
            F.table_html(_trf_cluster_rows(res),
                         f"TRF of {feat}: spatio-temporal cluster permutation test against 0 across "
                         f"{res.attrs.get('n_subjects')} subjects (sensors × lags, neighbours from "
                         "mne.channels.find_ch_adjacency and adjacent lags, two-sided t threshold "
                         f"{float(res.attrs.get('threshold', np.nan)):.2f}, {res.attrs.get('n_permutations')} "
                         "sign-flip permutations; mne.stats.permutation_cluster_1samp_test). Clusters with "
                         "p < .05 first."), f"TRF clusters: {feat}", S["trf"]))
    if data.trf is not None and data.trf_truth is not None:
        feat = data.trf_truth_feature
        b.attempt(S["trf"], "TRF vs ground truth", lambda: b.figure(
            F.plot_trf_vs_truth(data.trf.sel(feature=feat).transpose("sensor", "lag"), data.trf_truth, feature=feat),
            "Recovered TRF vs ground truth", S["trf"],
            caption=f"The {feat} TRF recovered from the simulated recordings (mean of subjects) against the "
                    "simulator's ground-truth sensor TRF at the most strongly driven sensors, each scaled to "
                    f"its peak; r: correlation over lags. {data.notes.get('trf_truth', '')}"))
    if data.r2_baseline is not None and data.r2_full is not None and data.info is not None:
        b.attempt(S["var"], "Explained variance", lambda: b.figure(
            F.plot_explained_variance(data.r2_baseline, data.r2_full, data.info, data.driven),
            "Explained variance against the acoustic baseline", S["var"],
            caption="Cross-validated R² of the acoustic baseline, of baseline + model-unit predictors, and "
                    "the gain; white circles: sensors the simulation drove with model units."))
    for ch_type, res in (data.gain_clusters or {}).items():
        b.attempt(S["var"], f"Cluster test ({ch_type})", lambda res=res, ch_type=ch_type: (
            b.figure(F.plot_gain_clusters(res, data.info), f"Gain: cluster permutation test ({ch_type})", S["var"],
                     caption=f"Spatial cluster-based permutation test of the gain ΔR² > 0 across "
                             f"{res.attrs.get('n_subjects')} subjects (one-sample t per sensor, clusters of "
                             f"neighbouring sensors from mne.channels.find_ch_adjacency above t = "
                             f"{float(res.attrs.get('threshold', np.nan)):.2f}, {res.attrs.get('n_permutations')} sign-flip "
                             "permutations; mne.stats.permutation_cluster_1samp_test). White: sensors in "
                             "clusters with p < .05. Sensors are not treated as independent samples."),
            b.html(F.table_html(_cluster_rows(res), "Clusters of the gain map (p across subjects)."),
                   f"Clusters ({ch_type})", S["var"])))
    if data.gain is not None and data.info is not None and data.gain.sizes.get("subject", 0) > 0:
        b.attempt(S["var"], "Gain per subject", lambda: b.figure(
            F.plot_subject_maps(data.gain, data.info, None, "gain ΔR²", marked=None if data.share is None
                                else data.share >= data.notes.get("driven_r2", 0.05)),
            "Gain per subject", S["var"],
            caption="Gain ΔR² of every subject (one sensor type, shared colour scale); white: sensors the "
                    "simulation drove with model units in that subject."))
    if data.variance_summary is not None:
        n_sub = data.variance_summary["n_subjects"].max() if "n_subjects" in data.variance_summary else "?"
        b.attempt(S["var"], "Explained variance table", lambda: b.html(
            F.table_html(data.variance_summary,
                         f"Gain over the acoustic baseline by sensor group: each subject's median gain in the "
                         f"group, then across the {n_sub} subjects their mean, s.e.m. and a one-sided "
                         "one-sample t-test (gain > 0; df = subjects − 1), and a paired t-test of driven vs "
                         "not driven sensors. No test treats sensors as samples."),
            "Gain by sensor group", S["var"]))
    if data.config_yaml is not None:
        b.code(data.config_yaml, "Configuration", S["cfg"])
    if data.stage_table is not None:
        b.html(F.table_html(data.stage_table, "Stages of this run."), "Stages", S["cfg"])
    b.html(F.table_html(versions()), "Versions", S["cfg"])

    for sec in SECTIONS:
        if not b.filled[sec]:
            reason = data.notes.get(sec, "not part of this run's configuration")
            b.html(f"<p class='text-muted'>No results: {html.escape(reason)}</p>", f"{sec}: not computed", sec)
    with atomic_path(fname, overwrite=overwrite) as tmp:
        b.report.save(tmp, open_browser=False, overwrite=True, verbose="error")
        tmp.chmod(0o644)
    logger.info("report written to %s", fname)
    return fname


def _trf_cluster_rows(res: xr.Dataset, max_rows: int = 8) -> pd.DataFrame:
    rows = []
    for k in range(min(res.sizes.get("cluster", 0), max_rows)):
        m = res["cluster_mask"].values[k].astype(bool)
        lags = res["lag"].values[m.any(0)] * 1000
        rows.append({"cluster": k + 1, "sensors": int(m.any(1).sum()),
                     "lags (ms)": f"{lags.min():.0f} to {lags.max():.0f}", "sum of t": float(res["cluster_stat"].values[k]),
                     "p (permutation)": float(res["cluster_p"].values[k])})
    return pd.DataFrame(rows or [{"cluster": "none above threshold", "sensors": 0, "lags (ms)": "",
                                  "sum of t": np.nan, "p (permutation)": np.nan}])


def _cluster_rows(res: xr.Dataset) -> pd.DataFrame:
    rows = []
    for k in range(res.sizes.get("cluster", 0)):
        m = res["cluster_mask"].values[k].astype(bool)
        rows.append({"cluster": k + 1, "sensors": int(m.sum()), "sum of t": float(res["cluster_stat"].values[k]),
                     "p (permutation)": float(res["cluster_p"].values[k])})
    return pd.DataFrame(rows or [{"cluster": "none", "sensors": 0, "sum of t": np.nan, "p (permutation)": np.nan}])


def quality_html(gate: Mapping) -> str:
    """The quality gate's verdict as an HTML banner (green when passed, red when not)."""
    passed = bool(gate.get("passed"))
    acc = gate.get("accuracy")
    acc_s = "–" if acc is None else f"{float(acc):.3f}"
    verdict = "PASSED" if passed else "FAILED"
    style = "alert alert-success" if passed else "alert alert-danger"
    crit = str(gate.get("criterion", "")).replace("_", "-")
    split = str(gate.get("split", "")).replace("_", " ")
    return (f"<div class='{style}' role='alert' id='quality-gate'>"
            f"<strong>Quality gate {verdict}</strong>: model accuracy ({html.escape(crit)} criterion, "
            f"{html.escape(split)} tokens) <strong>{acc_s}</strong>, required "
            f"{float(gate.get('min_accuracy', 0.0)):.2f}.<br>{html.escape(str(gate.get('message', '')))}</div>")


def summarize_gain(gain: xr.DataArray, share: xr.DataArray, *, driven: float = 0.05,
                   undriven: float = 0.005) -> pd.DataFrame:
    """Gain in explained variance at sensors grouped by ground truth, tested across subjects.

    Each subject contributes one number per group (the median gain of its sensors in the group),
    so the tests' samples are subjects, never sensors.

    Parameters
    ----------
    gain : DataArray (subject, sensor)
        Cross-validated ΔR² (full − baseline) of each subject.
    share : DataArray (subject, sensor) or (sensor,)
        The ground truth per sensor, e.g. the share of its variance that the simulated model-unit
        response explains; a boolean mask is read as 1 (driven) / 0 (not driven).
    driven, undriven : float
        Sensors with ``share >= driven`` are "driven by model units", those with
        ``share < undriven`` "not driven"; the rest "weakly driven".

    Returns
    -------
    DataFrame with one row per group: ``group, n_subjects, sensors_per_subject, mean_gain`` (mean
    over subjects of their median gain), ``sem``, ``t``, ``p_gain_gt_0`` (one-sided one-sample
    t-test across subjects, NaN with fewer than 2), and on the driven row ``p_driven_gt_not``
    (one-sided paired t-test across subjects, driven vs not driven).
    """
    from scipy.stats import ttest_1samp, ttest_rel

    validate_type(gain, xr.DataArray, "gain")
    if "subject" not in gain.dims:
        gain = gain.expand_dims(subject=["1"])
    gain = gain.transpose("subject", "sensor")
    sensors = gain["sensor"].values
    sh = share.sel(sensor=sensors)
    sh = (sh.expand_dims(subject=gain["subject"].values) if "subject" not in sh.dims
          else sh.sel(subject=gain["subject"].values)).transpose("subject", "sensor").values.astype(float)
    g = gain.values
    masks = {"driven by model units": sh >= driven, "weakly driven": (sh >= undriven) & (sh < driven),
             "not driven": sh < undriven}
    per_subject = {lab: np.array([np.median(g[i][m[i]]) if m[i].any() else np.nan for i in range(len(g))])
                   for lab, m in masks.items()}
    rows = []
    for lab, v in per_subject.items():
        ok = v[np.isfinite(v)]
        test = ttest_1samp(ok, 0.0, alternative="greater") if ok.size >= 2 and np.ptp(ok) > 0 else None
        rows.append({"group": lab, "n_subjects": int(ok.size),
                     "sensors_per_subject": float(masks[lab].sum(1).mean()),
                     "mean_gain": float(ok.mean()) if ok.size else np.nan,
                     "sem": float(ok.std(ddof=1) / np.sqrt(ok.size)) if ok.size >= 2 else np.nan,
                     "t": float(test.statistic) if test is not None else np.nan,
                     "p_gain_gt_0": float(test.pvalue) if test is not None else np.nan})
    d, n = per_subject["driven by model units"], per_subject["not driven"]
    both = np.isfinite(d) & np.isfinite(n)
    rows[0]["p_driven_gt_not"] = (float(ttest_rel(d[both], n[both], alternative="greater").pvalue)
                                  if both.sum() >= 2 and np.ptp(d[both] - n[both]) > 0 else np.nan)
    return pd.DataFrame(rows)
