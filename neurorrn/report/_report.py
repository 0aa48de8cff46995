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
    "Shift null and noise ceiling",
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
    r_full : DataArray (subject, sensor)
        Held-out correlation of the full model's predictions per subject.
    shift_p, shift_null : DataArray (subject, sensor) / (subject, permutation, sensor)
        Each subject's circular-shift p-values and null correlations
        (:func:`neurorrn.encoding.held_out_shift_null`).
    ceiling : DataArray (subject, sensor)
        Noise-ceiling correlation (for simulated data: the recording against the simulator's
        noise-free signal); ``notes["ceiling"]`` says why there is none otherwise.
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
    r_full: xr.DataArray | None = None
    shift_p: xr.DataArray | None = None
    shift_null: xr.DataArray | None = None
    ceiling: xr.DataArray | None = None
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
    S = dict(zip(("summary", "train", "recog", "sel", "rsa", "probe", "trf", "var", "null", "cfg"), SECTIONS))

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
    if data.r_full is not None and data.shift_p is not None and data.shift_null is not None and data.info is not None:
        _null_and_ceiling(b, data, S["null"])
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


#: Sensors whose ceiling correlation is below this are left out of ratios to the ceiling.
MIN_CEILING = 0.1


def _null_and_ceiling(b: _Builder, data: ReportData, section: str) -> None:
    """The circular-shift null of the held-out predictions and, where known, the noise ceiling."""
    n_sub = data.r_full.sizes["subject"]
    n_shifts = data.shift_null.sizes["permutation"]
    group = group_shift_null(data.shift_p)
    n_sig = int(group["significant"].sum())
    b.attempt(section, "Circular-shift null", lambda: b.figure(
        F.plot_shift_null(data.r_full, data.shift_null, data.shift_p, data.info, group["significant"]),
        "Held-out prediction against its circular-shift null", section,
        caption=(f"Correlation between each sensor's recording and the full model's cross-validated prediction "
                 f"(every held-out block predicted by the model of the outer fold that left it out), against "
                 f"its null from {n_shifts} circular shifts: in each subject, the response of every held-out "
                 "block is shifted by its own random offset of at least the lag window + 1 s relative to the "
                 "prediction (the fitted models unchanged, so the response keeps its autocorrelation), and "
                 f"p = (1 + #null ≥ observed) / (1 + {n_shifts}). Group test across the {n_sub} subjects, not "
                 "sensors: at each sensor the number of subjects with p < .05 against Binomial("
                 f"{n_sub}, .05), Benjamini–Hochberg FDR q < .05 over sensors; white: the {n_sig} "
                 f"significant sensors of {group.sizes['sensor']}. Violins: each subject's null at the 3 sensors "
                 "with the highest mean r and at the one with the lowest (red: observed). This tests whether "
                 "the full model predicts the sensor at all (acoustics included); what the model units add "
                 "is tested by the gain's cluster test above.")))
    if data.ceiling is not None:
        b.attempt(section, "Noise ceiling", lambda: b.figure(
            F.plot_noise_ceiling(data.r_full, data.ceiling, data.info, MIN_CEILING),
            "Prediction accuracy against the noise ceiling", section,
            caption=(f"Noise ceiling: {data.notes.get('ceiling_method', 'the highest correlation any model can reach')}"
                     f". r / ceiling is the fraction of the attainable correlation the full model reaches "
                     f"(its square: the share of the explainable variance explained); sensors with a mean "
                     f"ceiling below {MIN_CEILING:g} are left out of the ratio. {n_sub} subjects.")))
    else:
        b.html(f"<p class='text-muted'>No noise ceiling: {html.escape(data.notes.get('ceiling', 'not computed'))}"
               "</p>", "Noise ceiling: not shown", section)
    b.attempt(section, "Null and ceiling table", lambda: b.html(
        F.table_html(summarize_shift_null(data.r_full, data.shift_p, data.ceiling, min_ceiling=MIN_CEILING),
                     f"Per subject: share of sensors whose held-out prediction beats the circular-shift null "
                     f"({n_shifts} shifts; uncorrected p < .05, where .05 is expected by chance, and after "
                     "Benjamini–Hochberg FDR within the subject), median held-out r"
                     + (f", median noise-ceiling r and median r / ceiling at sensors with a ceiling ≥ {MIN_CEILING:g}"
                        if data.ceiling is not None else "")
                     + f"; last rows: mean and s.e.m. across the {n_sub} subjects."),
        "Shift null and ceiling by subject", section))


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


def group_shift_null(p: xr.DataArray, alpha: float = 0.05, q: float = 0.05) -> xr.Dataset:
    """Across subjects, per sensor: how many subjects beat their own circular-shift null.

    Under the global null at a sensor (no subject's response there follows the model's
    predictions) each subject's permutation p-value is uniform and independent of the other
    subjects', so the count ``k`` of subjects with ``p < alpha`` is Binomial(n_subjects, alpha);
    the group p-value is ``P(K >= k)`` (a binomial test of prevalence across subjects: the samples
    are subjects, never sensors), and sensors are declared significant after Benjamini–Hochberg
    FDR correction at ``q`` over sensors.

    Parameters
    ----------
    p : DataArray (subject, sensor)
        Each subject's permutation p-values.

    Returns
    -------
    Dataset on ("sensor",): ``n_subjects_significant``, ``p_group``, ``significant`` (bool);
    attrs ``n_subjects``, ``alpha``, ``q``.
    """
    from mne.stats import fdr_correction
    from scipy.stats import binom

    validate_type(p, xr.DataArray, "p")
    if "subject" not in p.dims or "sensor" not in p.dims:
        raise ValueError(f"p must have dims ('subject', 'sensor'), got {p.dims}")
    pv = p.transpose("subject", "sensor").values
    n = pv.shape[0]
    k = (pv < alpha).sum(0)
    pg = binom.sf(k - 1, n, alpha)
    sig = fdr_correction(pg, alpha=q)[0]
    return xr.Dataset({"n_subjects_significant": ("sensor", k), "p_group": ("sensor", pg),
                       "significant": ("sensor", sig)}, coords={"sensor": p["sensor"].values},
                      attrs={"n_subjects": n, "alpha": alpha, "q": q})


def summarize_shift_null(r: xr.DataArray, p: xr.DataArray, ceiling: xr.DataArray | None = None,
                         alpha: float = 0.05, min_ceiling: float = 0.1) -> pd.DataFrame:
    """Per subject: the share of sensors whose held-out prediction beats the circular-shift null,
    and the prediction accuracy against the noise ceiling; then mean and s.e.m. over subjects.

    Parameters
    ----------
    r, p : DataArray (subject, sensor)
        Observed held-out correlation and its permutation p-value.
    ceiling : DataArray (subject, sensor), optional
        Noise-ceiling correlation; ``r / ceiling`` is summarised at the sensors with
        ``ceiling >= min_ceiling`` (elsewhere the ratio of two small numbers is noise).

    Returns
    -------
    DataFrame: one row per subject and two summary rows (``mean``, ``s.e.m.``, over subjects, of
    every column but the sensor counts), with ``sensors``, ``share p < alpha`` (uncorrected; alpha expected by chance), ``share FDR q < .05``
    (Benjamini–Hochberg within the subject), ``median r``, and with a ceiling ``median ceiling r``,
    ``sensors with ceiling >= min_ceiling`` and ``median r / ceiling`` there.
    """
    from mne.stats import fdr_correction

    for name, da in (("r", r), ("p", p)):
        validate_type(da, xr.DataArray, name)
        if "subject" not in da.dims or "sensor" not in da.dims:
            raise ValueError(f"{name} must have dims ('subject', 'sensor'), got {da.dims}")
    subs = [str(s) for s in r["subject"].values]
    rows = []
    for s in r["subject"].values:
        rv = r.sel(subject=s).values
        pv = p.sel(subject=s, sensor=r["sensor"].values).values
        row = {"subject": str(s), "sensors": int(np.isfinite(pv).sum()),
               f"share p < {alpha:g}": float(np.mean(pv < alpha)),
               "share FDR q < .05": float(np.mean(fdr_correction(pv, alpha=0.05)[0])),
               "median r": float(np.nanmedian(rv))}
        if ceiling is not None:
            cv = (ceiling.sel(subject=s, sensor=r["sensor"].values).values if s in ceiling["subject"].values
                  else np.full(rv.shape, np.nan))  # a subject without a ceiling (e.g. no repeats)
            ok = cv >= min_ceiling
            row["median ceiling r"] = float(np.median(cv[np.isfinite(cv)])) if np.isfinite(cv).any() else np.nan
            row[f"sensors with ceiling ≥ {min_ceiling:g}"] = int(ok.sum())
            row["median r / ceiling"] = float(np.median(rv[ok] / cv[ok])) if ok.any() else np.nan
        rows.append(row)
    df = pd.DataFrame(rows)
    counts = [c for c in df.columns if c.startswith("sensors")]
    num = df.drop(columns=["subject"] + counts)  # counts are not summarised (they would print as floats)
    mean = {"subject": f"mean of {len(subs)}", **num.mean().to_dict()}
    sem = {"subject": "s.e.m.", **(num.std(ddof=1) / np.sqrt(len(subs))).to_dict()} if len(subs) > 1 else None
    out = pd.concat([df, pd.DataFrame([mean] + ([sem] if sem else []))], ignore_index=True)
    for c in counts:
        out[c] = pd.Series([int(v) if pd.notna(v) else "–" for v in out[c]], dtype=object)
    return out
