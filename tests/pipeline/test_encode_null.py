"""The encode task's circular-shift null and noise ceiling on a simulated experiment: the
ceiling is the planted signal-to-noise ratio's correlation sqrt(SNR / (1 + SNR)) at every sensor
and bounds the model's held-out r; the null rejects where the ceiling is high."""

from __future__ import annotations

import numpy as np
import pytest

from _pipeline_sim import smooth_noise as _smooth_noise
from neurorrn.pipeline.distributed import fan_out, make_tasks

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]

N_SHIFTS = 199


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    from neurorrn.brain import SimulationConfig, simulate, synthetic_stimuli
    from neurorrn.pipelines.earshot_meg.tasks import encode_task
    from neurorrn.store import from_arrays, save_store

    tmp = tmp_path_factory.mktemp("null")
    rng = np.random.default_rng(0)
    stims = synthetic_stimuli(6, 10, 16000.0, random_state=1)
    arrays = [_smooth_noise(int(s.audio.size / s.sfreq * 100), 4, rng) for s in stims]
    store = save_store(from_arrays(arrays, [s.id for s in stims], 100.0, [f"l0:{i}" for i in range(4)],
                                   layer=np.array(["l0"] * 4, dtype=object),
                                   component=np.array(["h"] * 4, dtype=object), model_id="toy"), tmp / "streams.nc")
    cfg = SimulationConfig.from_dict({
        "sensors": "eeg64", "sfreq": 100.0, "snr_db": -3.0, "seed": 5,
        "noise": {"brain_dipoles": 20, "blink_rate": 0.0, "line": 0.0},
        "stimuli": {"pre": 1.0, "isi": [0.3, 0.6], "post": 1.0},
        "responses": [
            {"predictor": "envelope", "sources": ["left_auditory", "right_auditory"]},
            {"predictor": "units", "sources": ["left_ifg"], "layer": "l0", "n_units": 4,
             "kernel": {"latencies": [0.1], "widths": [0.03], "amplitudes": [30.0]}}]})
    result = simulate(cfg, tmp / "bids", stimuli=stims, store=str(store))
    tasks = make_tasks(["01"], ["toy"], ["l0"], bids_root=str(tmp / "bids"), bids_task=cfg.task, bids_session=None,
                       store=str(store), stim_dir=str(tmp / "bids" / "stimuli" / "audio"), sfreq=100.0, tmin=0.0,
                       tmax=0.3, alphas=None, cv=3, baseline=["hilbert_envelope", "hilbert_onsets"],
                       gammatone_bands=8, units_kind="units", n_components=4, banded=False, alpha_rule="1se",
                       side_dir=str(tmp / "trf"), preprocess={"l_freq": 0.5, "h_freq": 20.0}, n_shifts=N_SHIFTS,
                       random_state=0)
    res = fan_out(encode_task, tasks, tmp / "enc.zarr", scheduler="serial").load().isel(task=0)
    return result, tasks[0], res


def test_noiseless_signal_is_the_simulated_signal(experiment):
    from neurorrn.brain import load_ground_truth, noiseless_signal

    result, task, _ = experiment
    sig = noiseless_signal(load_ground_truth(task["bids_root"], "01", task=task["bids_task"]))
    assert sig.dims == ("sensor", "time") and list(sig.sensor.values) == result.raw.ch_names[:64]
    scale = np.abs(result.signal).max()
    np.testing.assert_allclose(sig.values, result.signal, rtol=0, atol=1e-5 * scale)
    with pytest.raises(ValueError, match=r"features \['nope'\] are not in the ground truth"):
        noiseless_signal(result.ground_truth, ["nope"])


def test_ceiling_is_the_planted_snr(experiment):
    """The ceiling is corr(s + n, s) for the band-passed signal s and noise n of the simulation
    over the analysed span (from the first sound - 1 s to the last sound's end + 1 s), which is
    sqrt(SNR / (1 + SNR)) up to the chance correlation of s and n in a recording this short."""
    import mne

    result, task, res = experiment
    sf = 100.0
    s = mne.filter.filter_data(result.signal, sf, 0.5, 20.0, verbose="error")
    n = mne.filter.filter_data(sum(result.noise.values()), sf, 0.5, 20.0, verbose="error")
    snd = result.timeline.sounds
    a = int(round(snd["onset"].min() * sf)) - 100
    b = int(round((snd["onset"] + snd["duration"]).max() * sf)) + 100
    s, n = s[:, a:b], n[:, a:b]
    ceiling = res["ceiling_r"].sel(sensor=result.raw.ch_names[:64]).values
    # exactly the correlation of the recording with its noise-free part (same span and filter) ...
    direct = np.array([np.corrcoef(s[i] + n[i], s[i])[0, 1] for i in range(64)])
    np.testing.assert_allclose(ceiling, direct, atol=0.003)
    # ... which is the planted SNR's sqrt(SNR / (1 + SNR)) within the chance correlation of s and n
    snr = s.var(1) / n.var(1)
    expected = np.sqrt(snr / (1 + snr))
    assert expected.min() < 0.3 and expected.max() > 0.8  # a range of sensors, weak to strong
    rho = np.array([np.corrcoef(s[i], n[i])[0, 1] for i in range(64)])
    assert np.all(np.abs(ceiling - expected) <= np.abs(rho) + 0.01)
    assert np.median(np.abs(ceiling - expected)) < 0.03


def test_ceiling_bounds_the_model_and_the_null_rejects_where_it_is_high(experiment):
    _, _, res = experiment
    r, c, p = res["r_full"].values, res["ceiling_r"].values, res["shift_p"].values
    assert res["shift_null_r"].shape == (N_SHIFTS, 64)
    assert np.all(r <= c + 0.02)
    strong = c >= 0.5
    assert strong.sum() >= 10
    assert np.median(r[strong] / c[strong]) > 0.7  # the model's predictors are the simulator's
    assert np.all(p[strong] == 1 / (N_SHIFTS + 1))
    # R² of a prediction is at most its r squared; the pooled r is the held-out r of the full model
    assert np.all(res["r2_full"].values <= r ** 2 + 1e-9)
    assert abs(float(np.median(res["shift_null_r"].values))) < 0.05


def test_real_data_have_no_ceiling(tmp_path, experiment):
    from neurorrn.pipelines.earshot_meg.tasks import _simulated_signal

    result, task, _ = experiment
    assert _simulated_signal({**task, "bids_root": str(tmp_path)}, result.raw) is None


def test_repeat_ceiling_of_real_data_is_the_planted_snr():
    """Three stimuli played four times each (plus one played once): each presentation is the
    stimulus's fixed response times a per-sensor gain plus fresh unit noise, so a single
    presentation's ceiling is sqrt(SNR / (1 + SNR)) with SNR = gain² var(response)."""
    import mne
    import pandas as pd

    from neurorrn.brain import Timeline
    from neurorrn.pipelines.earshot_meg.tasks import repeat_ceiling

    rng = np.random.default_rng(7)
    sf, dur, gains = 100.0, 8.0, np.array([0.0, 0.5, 1.0, 2.0])
    n = int(dur * sf)
    resp = {s: _smooth_noise(n, 1, rng)[:, 0].astype(float) for s in ("a", "b", "c", "d")}
    order = ["a", "b", "c", "d", "b", "a", "c", "c", "a", "b", "b", "a", "c"]
    data = rng.standard_normal((4, int((len(order) * (dur + 1) + 2) * sf)))
    rows = []
    for k, s in enumerate(order):
        a = int((1 + k * (dur + 1)) * sf)
        data[:, a:a + n] += gains[:, None] * resp[s][None, :]
        rows.append({"onset": a / sf, "duration": dur, "kind": "sound", "stimulus": s, "label": s})
    raw = mne.io.RawArray(data, mne.create_info([f"EEG{i}" for i in range(4)], sf, "eeg"), verbose="error")
    ceiling, R = repeat_ceiling(raw, Timeline(pd.DataFrame(rows), sf, data.shape[1]))
    assert R == 4  # 'd' is played once and left out; the others at least 4 times
    snr = gains ** 2 * np.mean([resp[s].var() for s in "abc"])
    np.testing.assert_allclose(ceiling[1:], np.sqrt(snr / (1 + snr))[1:], atol=0.03)
    assert ceiling[0] < 0.15  # no signal: sqrt of a reliability near 0 (its noise is magnified near 0)
    # no stimulus played twice: no ceiling
    once = Timeline(pd.DataFrame(rows[:4]), sf, data.shape[1])
    assert repeat_ceiling(raw, once) == (None, 0)


def test_report_stage_reads_null_and_ceiling(tmp_path):
    """The encode results as the report stage reads them: a simulation's ceiling, a real dataset's
    split-half ceiling (only for subjects with repeats), or a note saying why there is none."""
    import xarray as xr

    from neurorrn.pipelines.earshot_meg.report_stage import _null_and_ceiling
    from neurorrn.report import ReportData, build_report

    import mne

    info = mne.channels.read_meg_canonical_info("neuromag")
    info = mne.pick_info(info, mne.pick_types(info, meg="mag")[:8])
    subjects = ["01", "02", "03"]
    rng = np.random.default_rng(0)
    sens = info["ch_names"]
    ceil = rng.uniform(0.3, 0.9, (3, 8))
    sub = xr.Dataset({"r_full": (("task", "sensor"), 0.5 * ceil),
                      "shift_p": (("task", "sensor"), np.full((3, 8), 0.01)),
                      "shift_null_r": (("task", "permutation", "sensor"), 0.02 * rng.standard_normal((3, 50, 8))),
                      "ceiling_r": (("task", "sensor"), ceil), "ceiling_repeats": ("task", [0, 0, 0])},
                     coords={"sensor": sens})
    data = ReportData(info=info)
    _null_and_ceiling(data, sub, subjects, simulated=True)
    assert data.ceiling.dims == ("subject", "sensor") and "noise-free signal" in data.notes["ceiling_method"]
    assert data.shift_null.dims == ("subject", "permutation", "sensor")
    real = sub.assign(ceiling_r=sub["ceiling_r"].where(np.array([True, True, False])[:, None]),
                      ceiling_repeats=("task", [4, 4, 0]))
    data = ReportData(info=info)
    _null_and_ceiling(data, real, subjects, simulated=False)
    assert list(data.ceiling.subject.values) == ["01", "02"] and data.r_full.sizes["subject"] == 3
    assert "split-half" in data.notes["ceiling_method"] and "without repeats: 03" in data.notes["ceiling_method"]
    text = build_report(data, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Prediction accuracy against the noise ceiling" in text and "could not be drawn" not in text
    data = ReportData(info=info)
    _null_and_ceiling(data, real.assign(ceiling_r=real["ceiling_r"] * np.nan), subjects, simulated=False)
    assert data.ceiling is None and "presented more than once" in data.notes["ceiling"]
