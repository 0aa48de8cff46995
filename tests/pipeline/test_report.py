"""The HTML report: every section present, figures drawn, and a real headless browser loads it
without JavaScript errors and shows every section."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import mne
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neurorrn.encoding import cluster_test
from neurorrn.report import SECTIONS, ReportData, build_report, summarize_gain
from neurorrn.report import figures as F

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _info(n=32):
    """The first ``n`` magnetometers of a Neuromag-306 system (real names and positions)."""
    info = mne.channels.read_meg_canonical_info("neuromag")
    info = mne.pick_info(info, mne.pick_types(info, meg="mag")[:n])
    with info._unlock():
        info["sfreq"] = 100.0
    return info


def _data(with_trf=True) -> ReportData:
    rng = np.random.default_rng(0)
    info = _info()
    sens = info["ch_names"]
    lags = np.round(np.arange(-0.05, 0.3, 0.01), 3)
    trf = xr.DataArray(rng.standard_normal((32, 2, lags.size)), dims=("sensor", "feature", "lag"),
                       coords={"sensor": sens, "feature": ["envelope", "units"], "lag": lags})
    subs = [f"{i:02d}" for i in range(6)]
    base = xr.DataArray(rng.random(32) * 0.1, dims="sensor", coords={"sensor": sens})
    driven = xr.DataArray(np.arange(32) < 8, dims="sensor", coords={"sensor": sens})
    full = base + 0.05 * driven + 0.001 * rng.random(32)
    subs = [f"{i:02d}" for i in range(6)]
    share = xr.DataArray(np.tile(driven.values * 0.2, (6, 1)), dims=("subject", "sensor"),
                         coords={"subject": subs, "sensor": sens})
    gain = 0.25 * share + 0.005 * rng.standard_normal((6, 32))
    return ReportData(
        title="test report",
        history=pd.DataFrame({"epoch": [1, 2, 3], "loss": [1, 0.5, 0.3], "train_accuracy": [0.1, 0.5, 0.8]}),
        accuracy=pd.DataFrame({"items": ["trained", "excluded"], "time-dependent": [0.9, 0.4]}),
        competitors=xr.DataArray(rng.random((3, 50)), dims=("category", "time"),
                                 coords={"category": ["target", "cohort", "unrelated"], "time": np.arange(50) * 0.01}),
        psi=xr.DataArray(rng.random((40, 10)), dims=("unit", "phone"),
                         coords={"unit": np.arange(40), "phone": list("abcdefghij")}),
        rsa=pd.DataFrame({"comparison": ["features", "human PSI"], "r": [0.3, 0.2], "p": [0.01, 0.04]}),
        probe_accuracy=xr.DataArray(rng.random((2, 20)), dims=("layer", "lag"),
                                    coords={"layer": ["l0", "l1"], "lag": np.linspace(-0.1, 0.5, 20)}),
        probe_chance=0.1, trf=trf if with_trf else None, trf_features=["units"], info=info,
        r2_baseline=base, r2_full=full, driven=driven,
        variance_summary=summarize_gain((full - base).expand_dims(subject=["01"]), driven),
        config_yaml="corpus:\n  n_words: 10\n",
        gain=gain, share=share, gain_clusters={"mag": cluster_test(gain, info=info, tail=1, n_permutations=64)},
        trf_clusters={"units": cluster_test(
            (trf.sel(feature="units") + 0.3 * xr.DataArray(rng.standard_normal((6, 32, lags.size)),
                                                          dims=("subject", "sensor", "lag"))
             ).assign_coords(subject=subs).transpose("subject", "sensor", "lag"),
            info=info, n_permutations=64)},
        trf_truth=trf.sel(feature="envelope").transpose("sensor", "lag") * 2.0, trf_truth_feature="envelope",
        rsa_nulls={"features": rng.normal(0, 0.1, 200), "human PSI": rng.normal(0, 0.1, 200)},
        probe_sem=xr.DataArray(np.full((2, 20), 0.03), dims=("layer", "lag"),
                               coords={"layer": ["l0", "l1"], "lag": np.linspace(-0.1, 0.5, 20)}), probe_folds=4,
        quality={"criterion": "time_dependent", "split": "trained", "accuracy": 0.91, "min_accuracy": 0.8,
                 "passed": True, "message": "time-dependent accuracy on trained tokens 0.910 >= 0.80"},
        **_null_fields(sens, subs, rng),
        notes={"ceiling_method": "the correlation of each sensor's recording with the simulator's noise-free "
                                 "signal"})


def _null_fields(sens, subs, rng, n_shifts=99):
    """Held-out r, shift nulls and ceilings: sensors 0-7 predicted (r 0.3, ceiling 0.5), the rest not."""
    n = len(sens)
    ceiling = np.where(np.arange(n) < 8, 0.5, 0.05) + 0.01 * rng.random((len(subs), n))
    null = 0.03 * rng.standard_normal((len(subs), n_shifts, n))
    r = np.where(np.arange(n) < 8, 0.3, 0.0) + 0.03 * rng.standard_normal((len(subs), n))
    p = (1 + (null >= r[:, None, :]).sum(1)) / (1 + n_shifts)
    coords = {"subject": subs, "sensor": sens}
    return dict(r_full=xr.DataArray(r, dims=("subject", "sensor"), coords=coords),
                shift_p=xr.DataArray(p, dims=("subject", "sensor"), coords=coords),
                shift_null=xr.DataArray(null, dims=("subject", "permutation", "sensor"), coords=coords),
                ceiling=xr.DataArray(ceiling, dims=("subject", "sensor"), coords=coords))


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    return build_report(_data(), tmp_path_factory.mktemp("rep") / "report.html")


def test_report_has_every_section(report_file):
    text = report_file.read_text(encoding="utf-8")
    for sec in SECTIONS:
        assert f">{sec}<" in text.replace("&amp;", "&"), sec
    assert text.count("data:image/png;base64") >= 13  # + TRF vs truth, clusters, per-subject gains, null, ceiling
    for title in ("Recovered TRF vs ground truth", "Gain: cluster permutation test (mag)", "Gain per subject",
                  "Held-out prediction against its circular-shift null", "Prediction accuracy against the noise ceiling",
                  "Shift null and ceiling by subject"):
        assert title in text, title
    assert "from 99 circular shifts" in text and "Group test across the 6 subjects, not sensors" in text
    assert "Binomial(6, .05)" in text and "noise-free signal" in text
    assert "could not be drawn" not in text


def test_missing_results_are_named(tmp_path):
    f = build_report(ReportData(title="empty", notes={"RSA": "no reference RDM given"}), tmp_path / "r.html")
    text = f.read_text(encoding="utf-8")
    assert "No results: no reference RDM given" in text
    assert text.count("No results:") == len(SECTIONS) - 1  # the versions table fills the last section
    with pytest.raises(ValueError, match="must end in .html, got 'r.htm'"):
        build_report(ReportData(), tmp_path / "r.htm")


def test_figure_input_errors():
    with pytest.raises(ValueError, match=r"needs an 'epoch' column.*columns: \['loss'\]"):
        F.plot_training_curves(pd.DataFrame({"loss": [1.0]}))
    with pytest.raises(ValueError, match=r"selectivity map must have dims \('unit', 'phone'\).*missing \['phone'\]"):
        F.plot_selectivity_heatmap(xr.DataArray(np.zeros((2, 3)), dims=("unit", "feature")))
    with pytest.raises(ValueError, match="rsa table needs column 'r'"):
        F.plot_rsa(pd.DataFrame({"comparison": ["x"]}))


def test_summarize_gain_tests_across_subjects_not_sensors():
    rng = np.random.default_rng(3)
    sens = [f"s{i}" for i in range(40)]
    subs = [f"{i:02d}" for i in range(6)]
    driven = xr.DataArray(np.tile(np.arange(40) < 10, (6, 1)), dims=("subject", "sensor"),
                          coords={"subject": subs, "sensor": sens})
    gain = 0.02 * driven + 0.004 * rng.standard_normal((6, 40))
    t = summarize_gain(gain, driven).set_index("group")
    assert t.loc["driven by model units", "n_subjects"] == 6
    assert t.loc["driven by model units", "sensors_per_subject"] == 10
    assert t.loc["driven by model units", "mean_gain"] == pytest.approx(0.02, abs=0.004)
    assert abs(t.loc["not driven", "mean_gain"]) < 0.004
    assert t.loc["driven by model units", "p_gain_gt_0"] < 0.001
    assert t.loc["not driven", "p_gain_gt_0"] > 0.01
    assert t.loc["driven by model units", "p_driven_gt_not"] < 0.001
    # one subject: no test can be made (sensors are never the samples)
    one = summarize_gain(gain.isel(subject=[0]), driven).set_index("group")
    assert np.isnan(one.loc["driven by model units", "p_gain_gt_0"])


def test_rsa_figure_draws_the_null_and_the_exact_p():
    null = np.linspace(-0.2, 0.2, 99)
    fig = F.plot_rsa(pd.DataFrame({"comparison": ["a"], "r": [0.15], "p": [0.1]}), {"a": null})
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    k = int(np.sum(null >= 0.15))
    assert f"p = {(1 + k) / 100:.3g}" in labels[0] and f"({k}/99" in labels[0]
    assert fig.axes[0].collections  # the violin of the null


def test_probe_figure_has_error_band_and_chance():
    acc = xr.DataArray([0.2, 0.5, 0.4], dims="lag", coords={"lag": [0.0, 0.1, 0.2]})
    fig = F.plot_probe_accuracy(acc, 0.1, sem=acc * 0 + 0.05, n_folds=4)
    ax = fig.axes[0]
    assert ax.collections  # fill_between band
    labels = ax.get_legend_handles_labels()[1]
    assert "chance (0.100)" in labels and "± 1 s.e.m. over 4 folds" in labels
    assert ax.get_ylabel() == "accuracy (proportion correct)"


#: What a reader must find besides the sections (the issue's list for the demo report).
FIGURE_TITLES = ["Quality gate", "Recovered TRF vs ground truth", "TRF clusters: units", "Gain: cluster permutation test (mag)",
                 "Gain per subject", "Gain by sensor group", "RSA", "Probe accuracy over time",
                 "Held-out prediction against its circular-shift null", "Prediction accuracy against the noise ceiling",
                 "Shift null and ceiling by subject"]

_CHECK_JS = """
<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var titles = %s, shown = {};
    var els = document.querySelectorAll('button, a, h1, h2, h3, h4, h5, span, div');
    titles.forEach(function (t) {
      shown[t] = Array.prototype.some.call(els, function (e) {
        if (e.textContent.trim() !== t) return false;
        var r = e.getBoundingClientRect(), s = window.getComputedStyle(e);
        return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
      });
    });
    var imgs = Array.prototype.filter.call(document.images, function (i) { return i.complete && i.naturalWidth > 0; });
    console.log('NEURORRN-CHECK ' + JSON.stringify({shown: shown, images: imgs.length}));
  }, 300);
});
</script>
"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)")
@pytest.mark.timeout(180)
def test_report_in_headless_chromium(report_file, tmp_path):
    # an instrumented copy: the same page plus a script that reports what is visible after load
    page = tmp_path / "page.html"
    text = report_file.read_text(encoding="utf-8")
    head, sep, tail = text.rpartition("</body>")  # the last one: mne's scripts contain the string too
    assert sep, "the report has no </body>"
    page.write_text(head + _CHECK_JS % json.dumps(list(SECTIONS) + FIGURE_TITLES) + sep + tail, encoding="utf-8")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    errors = [ln for ln in console if re.search(r"Uncaught|Error|ERROR:CONSOLE", ln) and "NEURORRN-CHECK" not in ln]
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)
    check = [ln for ln in console if "NEURORRN-CHECK" in ln]
    assert check, "the page's load handler never ran:\n" + "\n".join(console[-20:])
    payload = json.loads(re.search(r"NEURORRN-CHECK (\{.*\})", check[0]).group(1).replace('\\"', '"'))
    hidden = [s for s, ok in payload["shown"].items() if not ok]
    assert not hidden, f"sections not visible: {hidden}"
    assert payload["images"] >= 13
    assert "<html" in proc.stdout and "Explained variance" in proc.stdout
    assert "Quality gate PASSED" in proc.stdout and "Sensors are not treated as independent samples" in proc.stdout


def test_failed_quality_gate_is_shown_first(tmp_path):
    gate = {"criterion": "time_dependent", "split": "trained", "accuracy": 0.0, "min_accuracy": 0.8,
            "passed": False, "message": "below the configured 0.80"}
    text = build_report(ReportData(title="t", quality=gate), tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Quality gate FAILED" in text and "alert-danger" in text
    assert text.index("Quality gate FAILED") < text.index("Training: not computed")
    ok = build_report(_data(), tmp_path / "ok.html").read_text(encoding="utf-8")
    assert "Quality gate PASSED" in ok and "<strong>0.910</strong>" in ok


def test_gain_cluster_map_of_gradiometers():
    """Planar pairs are drawn merged: the cluster mask follows the pairs (was an IndexError)."""
    info = mne.channels.read_meg_canonical_info("neuromag")
    info = mne.pick_info(info, mne.pick_types(info, meg="grad"))
    rng = np.random.default_rng(0)
    g = xr.DataArray(rng.normal(size=(6, 204)), dims=("subject", "sensor"),
                     coords={"subject": list("abcdef"), "sensor": info["ch_names"]})
    g[:, :20] += 3.0
    res = cluster_test(g, info=info, tail=1, n_permutations=64)
    fig = F.plot_gain_clusters(res, info)
    assert "gradiometers" in fig.axes[0].get_title() and float(res["cluster_p"].min()) < 0.05
    assert f"best cluster p = {float(res['cluster_p'].min()):.3g}" in fig.axes[0].get_title()


def test_report_figures_have_whole_pixel_sizes():
    """4.6 in at 100 dpi is 459.99999 px; unadjusted, mne.Report's PNG of it came out sheared."""
    import io

    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    from neurorrn.report._report import _whole_pixels

    fig = plt.figure(figsize=(4.6, 3.3), dpi=100)
    _whole_pixels(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    buf.seek(0)
    assert mpimg.imread(buf).shape[:2] == (330, 460)
    fig.canvas.draw()
    assert fig.canvas.get_width_height() == (460, 330)
    plt.close(fig)


def test_shift_null_group_test_counts_subjects_not_sensors():
    """Planted: sensors 0-7 predicted in every subject, the rest not; the binomial test across
    subjects finds exactly those, and the table's shares are per subject."""
    from neurorrn.report import group_shift_null, summarize_shift_null

    rng = np.random.default_rng(1)
    sens = [f"s{i}" for i in range(40)]
    subs = [f"{i:02d}" for i in range(6)]
    f = _null_fields(sens, subs, rng)
    g = group_shift_null(f["shift_p"])
    assert g["significant"].values[:8].all() and not g["significant"].values[8:].any()
    assert (g["n_subjects_significant"].values[:8] == 6).all()
    assert g["p_group"].values[0] == pytest.approx(0.05 ** 6)
    assert g.attrs["n_subjects"] == 6
    # one subject with p < .05 of six is what chance gives: P(K >= 1) = 1 - .95^6
    one = f["shift_p"].copy(data=np.ones((6, 40)))
    one[0, 0] = 0.01
    assert group_shift_null(one)["p_group"].values[0] == pytest.approx(1 - 0.95 ** 6)
    t = summarize_shift_null(f["r_full"], f["shift_p"], f["ceiling"]).set_index("subject")
    assert list(t.index) == subs + ["mean of 6", "s.e.m."]
    assert t.loc["01", "share p < 0.05"] >= 8 / 40 and t.loc["01", "share FDR q < .05"] == pytest.approx(8 / 40)
    assert t.loc["01", "sensors with ceiling ≥ 0.1"] == 8
    assert t.loc["mean of 6", "median r / ceiling"] == pytest.approx(0.6, abs=0.05)
    with pytest.raises(ValueError, match=r"p must have dims \('subject', 'sensor'\)"):
        group_shift_null(f["shift_p"].isel(subject=0))


def test_null_and_ceiling_figures_show_the_data():
    rng = np.random.default_rng(2)
    info = _info()
    subs = [f"{i:02d}" for i in range(6)]
    f = _null_fields(info["ch_names"], subs, rng)
    from neurorrn.report import group_shift_null

    fig = F.plot_shift_null(f["r_full"], f["shift_null"], f["shift_p"], info, group_shift_null(f["shift_p"])["significant"])
    titles = [ax.get_title() for ax in fig.axes]
    assert any("mean of 6 subjects" in t for t in titles)
    violin_axes = [ax for ax in fig.axes if ax.get_xlabel() == "subject"]
    assert len(violin_axes) == 4 and "lowest mean r" in violin_axes[-1].get_title()
    best = int(np.argmax(f["r_full"].mean("subject").values))
    assert violin_axes[0].get_title().startswith(info["ch_names"][best])
    np.testing.assert_allclose(violin_axes[0].collections[-1].get_offsets()[:, 1], f["r_full"].values[:, best])
    fig = F.plot_noise_ceiling(f["r_full"], f["ceiling"], info)
    scatter = fig.axes[2].collections
    assert len(scatter) == 6  # one per subject: every sensor's (ceiling, r)
    np.testing.assert_allclose(scatter[0].get_offsets(), np.c_[f["ceiling"].values[0], f["r_full"].values[0]])


def test_real_data_report_says_why_there_is_no_ceiling(tmp_path):
    rng = np.random.default_rng(3)
    info = _info()
    f = _null_fields(info["ch_names"], [f"{i:02d}" for i in range(3)], rng)
    f["ceiling"] = None
    text = build_report(ReportData(title="t", info=info, **f, notes={"ceiling": "real recordings (test)"}),
                        tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No noise ceiling: real recordings (test)" in text
    assert "Held-out prediction against its circular-shift null" in text and "could not be drawn" not in text
