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
        Training metrics per epoch (``epoch`` + numeric columns).
    accuracy : DataFrame
        Recognition accuracy table (rows: item sets, columns: criteria).
    competitors : DataArray (category, time)
        Mean competitor time courses; ``competitors_sem`` their standard errors.
    psi, fsi : DataArray (unit, phone) / (unit, feature)
        Selectivity maps.
    rsa : DataFrame (comparison, r, p)
    probe_accuracy : DataArray (lag, [layer], [target]); ``probe_chance`` float or DataArray.
    trf : DataArray (sensor, feature, lag) and ``trf_features`` (which features to plot).
    info : mne.Info
        Sensor information for topomaps.
    r2_baseline, r2_full : DataArray (sensor,)
        Cross-validated R² of the acoustic baseline and of baseline + model units.
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
    accuracy: pd.DataFrame | None = None
    competitors: xr.DataArray | None = None
    competitors_sem: xr.DataArray | None = None
    psi: xr.DataArray | None = None
    fsi: xr.DataArray | None = None
    rsa: pd.DataFrame | None = None
    probe_accuracy: xr.DataArray | None = None
    probe_chance: Any = None
    trf: xr.DataArray | None = None
    trf_features: list | None = None
    info: Any = None
    r2_baseline: xr.DataArray | None = None
    r2_full: xr.DataArray | None = None
    driven: xr.DataArray | None = None
    variance_summary: pd.DataFrame | None = None
    config_yaml: str | None = None
    stage_table: pd.DataFrame | None = None
    notes: dict = dataclasses.field(default_factory=dict)


def versions() -> pd.DataFrame:
    """Versions of Python, neurorrn and the scientific stack (``not installed`` where absent)."""
    rows = {"neurorrn": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for mod in _VERSION_MODULES:
        try:
            rows[mod] = getattr(importlib.import_module(mod), "__version__", "?")
        except Exception:  # noqa: BLE001 - any import failure is reported as such
            rows[mod] = "not installed"
    return F.mapping_table(rows)


class _Builder:
    def __init__(self, title: str):
        import mne

        self.report = mne.Report(title=title, verbose="error")
        self.filled: dict[str, int] = {s: 0 for s in SECTIONS}

    def figure(self, fig, title, section, caption=None):
        import matplotlib.pyplot as plt

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
            F.plot_training_curves(data.history), "Training curves", S["train"],
            caption="Loss and metrics per epoch (from the training log)."))
    if data.accuracy is not None:
        b.attempt(S["recog"], "Recognition accuracy", lambda: b.html(
            F.table_html(data.accuracy, "Recognition accuracy by item set and criterion "
                         "(EARSHOT: absolute 0.7, relative 0.05, time-dependent 0.05 for 10 frames)."),
            "Recognition accuracy", S["recog"]))
    if data.competitors is not None:
        b.attempt(S["recog"], "Competitor time courses", lambda: b.figure(
            F.plot_competitors(data.competitors, data.competitors_sem), "Competitor time courses", S["recog"],
            caption="Cosine similarity of the output to the target and to competitors (mean ± s.e.m.)."))
    for name, da, col in (("PSI", data.psi, "phone"), ("FSI", data.fsi, "feature")):
        if da is not None:
            b.attempt(S["sel"], f"{name} heatmap", lambda da=da, col=col, name=name: b.figure(
                F.plot_selectivity_heatmap(da, col, name), f"{name} heatmap", S["sel"],
                caption=f"{name} of every selective unit, rows and columns ordered by complete-linkage "
                        "clustering of z-scored maps."))
    if data.rsa is not None:
        b.attempt(S["rsa"], "RSA", lambda: (
            b.figure(F.plot_rsa(data.rsa), "RSA", S["rsa"]),
            b.html(F.table_html(data.rsa, "RDM correlations; p: share of label permutations with r at "
                                "least the observed."), "RSA table", S["rsa"])))
    if data.probe_accuracy is not None:
        b.attempt(S["probe"], "Probe accuracy over time", lambda: b.figure(
            F.plot_probe_accuracy(data.probe_accuracy, data.probe_chance), "Probe accuracy over time",
            S["probe"], caption="Cross-validated linear probe accuracy (folds grouped by word) around phone "
                                "onsets; dashed: chance."))
    if data.trf is not None and data.info is not None:
        feats = data.trf_features or list(data.trf["feature"].values[:3])
        for feat in feats:
            def _one(feat=feat):
                for k, fig in enumerate(F.plot_trf_joint(data.trf, data.info, feat)):
                    b.figure(fig, f"TRF {feat}" + (f" ({k + 1})" if k else ""), S["trf"])
            b.attempt(S["trf"], f"TRF {feat}", _one)
    if data.r2_baseline is not None and data.r2_full is not None and data.info is not None:
        b.attempt(S["var"], "Explained variance", lambda: b.figure(
            F.plot_explained_variance(data.r2_baseline, data.r2_full, data.info, data.driven),
            "Explained variance against the acoustic baseline", S["var"],
            caption="Cross-validated R² of the acoustic baseline, of baseline + model-unit predictors, and "
                    "the gain; white circles: sensors the simulation drove with model units."))
    if data.variance_summary is not None:
        b.attempt(S["var"], "Explained variance table", lambda: b.html(
            F.table_html(data.variance_summary, "Gain over the acoustic baseline by sensor group."),
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


def summarize_gain(baseline: xr.DataArray, full: xr.DataArray, share: xr.DataArray, *,
                   driven: float = 0.25, undriven: float = 0.05) -> pd.DataFrame:
    """Gain in explained variance (full − baseline) at sensors grouped by ground truth.

    Parameters
    ----------
    baseline, full : DataArray (sensor,)
        Cross-validated R² of the two models.
    share : DataArray (sensor,)
        The ground truth per sensor, e.g. the share of its variance that the simulated model-unit
        response explains; a boolean mask is read as 1 (driven) / 0 (not driven).
    driven, undriven : float
        Sensors with ``share >= driven`` are "driven by model units", those with
        ``share < undriven`` "not driven"; the rest "weakly driven".

    Returns
    -------
    DataFrame with one row per group: ``group, n_sensors, median_gain, mean_gain, frac_positive,
    p_gain_gt_0`` (one-sided Wilcoxon signed-rank test of gain > 0), and on the driven row
    ``p_driven_gt_other`` (one-sided Mann–Whitney test, driven vs not driven).
    """
    from scipy.stats import mannwhitneyu, wilcoxon

    sensors = baseline["sensor"].values
    gain = full.sel(sensor=sensors).values - baseline.values
    sh = share.sel(sensor=sensors).values.astype(float)
    groups = (("driven by model units", sh >= driven), ("weakly driven", (sh >= undriven) & (sh < driven)),
              ("not driven", sh < undriven))
    rows = []
    for lab, m in groups:
        g = gain[m]
        p = float(wilcoxon(g, alternative="greater").pvalue) if m.sum() >= 5 and np.any(g != 0) else np.nan
        rows.append({"group": lab, "n_sensors": int(m.sum()),
                     "median_gain": float(np.median(g)) if m.any() else np.nan,
                     "mean_gain": float(np.mean(g)) if m.any() else np.nan,
                     "frac_positive": float(np.mean(g > 0)) if m.any() else np.nan, "p_gain_gt_0": p})
    m_d, m_n = groups[0][1], groups[2][1]
    rows[0]["p_driven_gt_other"] = (float(mannwhitneyu(gain[m_d], gain[m_n], alternative="greater").pvalue)
                                    if m_d.sum() >= 2 and m_n.sum() >= 2 else np.nan)
    return pd.DataFrame(rows)
