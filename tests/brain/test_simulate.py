"""The ground-truth simulator: physics, noise spectra, BIDS round trip, ground truth, TRFs."""

import numpy as np
import pandas as pd
import pytest
import scipy.signal

from neurorrn.brain import SimulationConfig, Stimulus, load_ground_truth, read_bids, simulate
from neurorrn.brain.simulate import dipole_gain, make_sensor_info, make_sphere, powerlaw_noise
from neurorrn.config import ConfigError

QUIET = {"brain_dipoles": 0, "alpha_amplitude": 0.0, "blink_rate": 0.0, "line": 0.0, "drift": 0.0,
         "sensor": {"mag": 0.0, "grad": 0.0, "eeg": 0.0, "eog": 0.0}}


def _noise_burst_stimuli(rng, n=3):
    """Synthetic audio (noise bursts) with planted word and phone intervals."""
    out = []
    for i in range(n):
        sf = 8000.0
        audio = np.zeros(int(1.2 * sf))
        rows = []
        for w, (t0, labels) in enumerate([(0.1, ["K", "AE", "T"]), (0.6, ["D", "AO", "G"])]):
            t = t0
            for lab in labels:
                d = 0.1
                i0 = int(round(t * sf))
                audio[i0:i0 + int(round(d * sf))] = rng.standard_normal(int(round(d * sf))) * 0.3
                rows.append({"tier": "phone", "label": lab, "start": t, "end": t + d})
                t += d
            rows.append({"tier": "word", "label": ["cat", "dog"][w], "start": t0, "end": t})
        out.append(Stimulus(f"burst_{i}", audio, sf, pd.DataFrame(rows)))
    return out


def test_config_errors():
    with pytest.raises(ConfigError, match="unknown source 'left_v1'"):
        SimulationConfig.from_dict({"responses": [{"predictor": "word", "sources": ["left_v1"]}]})
    with pytest.raises(ConfigError, match="unknown key 'snr'.*Did you mean 'snr_db'"):
        SimulationConfig.from_dict({"snr": 3})
    with pytest.raises(ConfigError, match="same length"):
        SimulationConfig.from_dict({"responses": [{"predictor": "word", "sources": ["left_ifg"],
                                                   "kernel": {"latencies": [0.1, 0.2], "widths": [0.01],
                                                              "amplitudes": [1.0]}}]})


@pytest.mark.parametrize("sensors", ["neuromag306", "ctf275", "eeg64"])
def test_physics_matches_mne_forward(sensors):
    """One dipole, no noise: the sensor pattern is MNE's own forward field of that dipole."""
    import mne

    cfg = SimulationConfig(sensors=sensors, snr_db=None, noise=QUIET,
                           stimuli={"n_stimuli": 2, "words_per_stimulus": 3, "pre": 0.5, "post": 0.5},
                           responses=[{"predictor": "word", "sources": ["left_auditory"]}])
    res = simulate(cfg)
    # the source time course is the word impulses convolved with the kernel
    k = res.ground_truth["kernels"].sel(feature="word", source="left_auditory").values
    x = res.ground_truth["predictors"].sel(feature="word").values
    src_tc = np.convolve(x, k)[: x.size]
    picks = mne.pick_types(res.raw.info, meg=True, eeg=True)
    data = res.raw.get_data(picks=picks)
    info = make_sensor_info(sensors, cfg.sfreq)
    pos, ori = np.array([[-0.050, -0.005, 0.045]]), np.array([[0.0, 0.0, 1.0]])
    dip = mne.Dipole(np.zeros(1), pos, np.ones(1), ori, np.ones(1))
    fwd, _ = mne.make_forward_dipole(dip, make_sphere(info), info, verbose="error")
    expected = np.outer(fwd["sol"]["data"][:, 0], src_tc)
    np.testing.assert_allclose(data, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    # a dipole on the left gives its strongest field over the left hemisphere
    if sensors != "eeg64":
        locs = np.array([info["chs"][i]["loc"][:3] for i in range(len(info["ch_names"]))])
        top = np.argsort(np.abs(fwd["sol"]["data"][:, 0]))[-10:]
        assert np.all(locs[top, 0] < 0)


def test_dipole_outside_sphere_is_an_error():
    info = make_sensor_info("eeg64", 100.0)
    with pytest.raises(ValueError, match=r"dipole\(s\) \[1\] .* outside the sphere"):
        dipole_gain(info, [[0, 0, 0.04], [0, 0, 0.2]], [[0, 0, 1], [0, 0, 1]])


def _psd(x, sf):
    f, p = scipy.signal.welch(x, sf, nperseg=int(4 * sf), axis=-1)
    return f, p.mean(axis=0) if p.ndim > 1 else p


def test_powerlaw_slope():
    rng = np.random.default_rng(0)
    for expo in (1.0, 2.0):
        x = powerlaw_noise(8, 40000, expo, 200.0, rng)
        f, p = _psd(x, 200.0)
        sel = (f >= 2) & (f <= 40)
        slope = np.polyfit(np.log10(f[sel]), np.log10(p[sel]), 1)[0]
        assert slope == pytest.approx(-expo, abs=0.1)


def test_noise_spectra_have_requested_slopes_and_peaks():
    noise = dict(QUIET, brain_dipoles=60, brain_exponent=1.5, brain_amplitude=10.0)
    small = {"n_stimuli": 6, "words_per_stimulus": 4, "audio_sfreq": 8000.0}
    cfg = SimulationConfig(snr_db=None, sfreq=200.0, noise=noise, stimuli=small)
    res = simulate(cfg)
    types = np.array(res.raw.get_channel_types())
    f, p = _psd(res.noise["brain"][types[:306] == "mag"], 200.0)
    sel = (f >= 2) & (f <= 60)
    assert np.polyfit(np.log10(f[sel]), np.log10(p[sel]), 1)[0] == pytest.approx(-1.5, abs=0.15)
    # alpha bursts peak at the requested frequency; line noise at 60 Hz and harmonics
    noise = dict(QUIET, alpha_amplitude=50.0, alpha_freq=11.0, alpha_burst_rate=1.0, line=5.0, line_harmonics=3,
                 sensor={"mag": 1e-15, "grad": 1e-14, "eeg": 1e-7, "eog": 1e-6})
    res = simulate(SimulationConfig(snr_db=None, sfreq=400.0, line_freq=60.0, noise=noise, stimuli=small))
    f, p = _psd(res.noise["alpha"][:306], 400.0)
    band = (f > 3) & (f < 40)
    assert f[band][np.argmax(p[band])] == pytest.approx(11.0, abs=0.75)
    f, p = _psd(res.raw.get_data(picks="mag"), 400.0)
    for k in (1, 2, 3):
        i = np.argmin(np.abs(f - 60.0 * k))
        assert p[i] > 100 * np.median(p[(f > 60 * k - 8) & (f < 60 * k + 8)])
    # blinks appear on the EOG channel
    res = simulate(SimulationConfig(snr_db=None, noise=dict(QUIET, blink_rate=0.5, blink_amplitude=150.0),
                                    stimuli=small))
    eog = res.raw.get_data(picks="eog")[0]
    assert eog.max() == pytest.approx(150e-6, rel=0.05)


def test_snr_is_set_from_power():
    res = simulate(SimulationConfig(snr_db=-5.0, stimuli={"n_stimuli": 3, "audio_sfreq": 8000.0}))
    assert res.ground_truth.attrs["snr_db_achieved_mag"] == pytest.approx(-5.0, abs=1e-6)
    sig = res.signal[np.array(res.raw.get_channel_types()[:306]) == "mag"]
    noise = sum(res.noise[c] for c in ("brain", "alpha", "sensor"))[np.array(res.raw.get_channel_types()[:306]) == "mag"]
    assert 10 * np.log10(sig.var(axis=1).mean() / noise.var(axis=1).mean()) == pytest.approx(-5.0, abs=1e-6)


def test_trf_recovered_from_noise_free_data():
    """Lagged least squares on the saved predictors gives back the saved sensor TRFs."""
    cfg = SimulationConfig(snr_db=None, noise=QUIET, trf_tmax=0.3, sfreq=100.0,
                           stimuli={"n_stimuli": 6, "words_per_stimulus": 8})
    res = simulate(cfg)
    gt = res.ground_truth
    X = gt["predictors"].values.astype(float)  # (time, feature)
    n_lag = gt.sizes["lag"]
    design = np.concatenate([np.stack([np.roll(X[:, f], k) for k in range(n_lag)], axis=1)
                             for f in range(X.shape[1])], axis=1)
    design[:n_lag] = 0
    Y = res.signal[::7].T  # every 7th sensor keeps the test fast
    coef, *_ = np.linalg.lstsq(design, Y, rcond=None)
    coef = coef.reshape(X.shape[1], n_lag, -1).transpose(0, 2, 1)  # feature, sensor, lag
    truth = gt["sensor_trf"].values[:, ::7]
    assert np.corrcoef(coef.ravel(), truth.ravel())[0, 1] > 0.999


@pytest.mark.parametrize("sensors,ext", [("neuromag306", ".fif"), ("ctf275", ".fif"), ("eeg64", ".vhdr")])
def test_bids_roundtrip(tmp_path, sensors, ext):
    rng = np.random.default_rng(5)
    stims = _noise_burst_stimuli(rng)
    cfg = SimulationConfig(sensors=sensors, sfreq=250.0, line_freq=60.0, seed=3,
                           responses=[{"predictor": "envelope", "sources": ["left_auditory", "right_auditory"]},
                                      {"predictor": "onsets", "sources": ["left_stg"]},
                                      {"predictor": "phone", "sources": ["left_stg"]},
                                      {"predictor": "word", "sources": ["left_ifg"]}])
    res = simulate(cfg, root=tmp_path, stimuli=stims)
    assert list(tmp_path.glob(f"sub-01/*/sub-01_task-listen_*{ext}"))
    raw, tl = read_bids(tmp_path, subject="01", task="listen")
    assert raw.info["sfreq"] == 250.0 and raw.info["line_freq"] == 60.0
    assert raw.get_channel_types() == res.raw.get_channel_types() or ext == ".vhdr"
    assert set(raw.get_channel_types()) == set(res.raw.get_channel_types())
    truth = res.timeline.events
    for kind in ("sound", "word", "phone"):
        a, b = truth[truth["kind"] == kind], tl.events[tl.events["kind"] == kind]
        assert len(a) == len(b) > 0
        assert np.abs(a["sample"].to_numpy() - b["sample"].to_numpy()).max() <= 1
        assert list(a["label"]) == list(b["label"]) and list(a["stimulus"]) == list(b["stimulus"])
    # the planted word and phone intervals come back on the recording clock
    on = tl.sound_onsets()["burst_1"]
    got = tl.words[tl.words["stimulus"] == "burst_1"]
    np.testing.assert_allclose(got["onset"] - on, [0.1, 0.6], atol=1 / 250)
    np.testing.assert_allclose(raw.get_data(picks="data"), res.raw.get_data(picks="data"),
                               rtol=1e-3, atol=1e-3 * np.abs(res.raw.get_data(picks="data")).max())
    if sensors != "eeg64":  # the STI101 trigger agrees with the sound rows
        import mne

        trig = mne.find_events(raw, stim_channel="STI101", verbose="error")[:, 0] / raw.info["sfreq"]
        assert tl.check_triggers(trig - raw.first_time, tolerance=1 / 250).shape[0] == 3
    gt = load_ground_truth(tmp_path, "01")
    assert set(gt.data_vars) >= {"kernels", "sensor_trf", "predictors", "gain", "source_pos"}
    np.testing.assert_allclose(gt["sensor_trf"].values, res.ground_truth["sensor_trf"].values)
    assert list(gt["feature"].values) == ["envelope", "onsets", "word", "phone"]
    assert (tmp_path / "stimuli" / "audio" / "burst_0.wav").is_file()
    al = pd.read_csv(tmp_path / "stimuli" / "alignments.tsv", sep="\t")
    assert len(al) == sum(len(s.alignments) for s in stims)
    with pytest.raises(FileNotFoundError, match="no ground truth for sub-02"):
        load_ground_truth(tmp_path, "02")


def test_units_predictor_from_store(tmp_path):
    from neurorrn.store import from_arrays, save_store

    rng = np.random.default_rng(7)
    stims = _noise_burst_stimuli(rng, n=2)
    arrays = [np.cumsum(rng.standard_normal((int(s.duration * 100), 5)), axis=0) / 10 for s in stims]
    store = from_arrays(arrays, [s.id for s in stims], frame_rate=100.0)
    path = save_store(store, tmp_path / "acts.nc")
    cfg = SimulationConfig(snr_db=None, noise=QUIET, responses=[
        {"predictor": "units", "sources": ["left_stg", "left_ifg"], "store": str(path), "n_units": 3}])
    res = simulate(cfg, stimuli=stims)
    gt = res.ground_truth
    assert list(gt["feature"].values) == ["units:0", "units:1", "units:2"]
    on = res.timeline.sound_onsets()["burst_1"]
    i0 = int(round(on * cfg.sfreq))
    pred = gt["predictors"].sel(feature="units:2").values
    # frame k of the store sits at onset + k / frame_rate
    np.testing.assert_allclose(pred[i0:i0 + 200:2], arrays[1][:100, 2], rtol=1e-5, atol=1e-6)
    assert pred[i0 - 1] == 0.0
    bad = from_arrays(arrays[:1], ["other"], frame_rate=100.0)
    with pytest.raises(ValueError, match=r"no activations for stimulus/stimuli \['burst_0', 'burst_1'\]"):
        simulate(cfg, stimuli=stims, store=bad)


def test_stimulus_validation():
    with pytest.raises(ValueError, match=r"interval word 'cat' \[0.500, 2.000\] s lies outside the audio"):
        Stimulus("x", np.zeros(8000), 8000.0, pd.DataFrame([{"tier": "word", "label": "cat", "start": 0.5, "end": 2.0}]))


@pytest.mark.slow
def test_speech_stimuli_roundtrip(tmp_path):
    """espeak-ng speech from neurorrn.speech: the aligned words come back through BIDS."""
    speech = pytest.importorskip("neurorrn.speech")
    try:
        speech.synthesize("cat", "m1")
    except speech.EspeakUnavailableError as err:  # pragma: no cover - depends on the machine
        pytest.skip(f"espeak-ng unavailable: {err}")
    cfg = SimulationConfig(sensors="eeg64", sfreq=100.0,
                           stimuli={"source": "speech", "n_stimuli": 2, "words_per_stimulus": 3})
    res = simulate(cfg, root=tmp_path)
    _, tl = read_bids(tmp_path, subject="01", task="listen")
    assert list(tl.words["label"]) == list(res.timeline.words["label"])
    assert np.abs(tl.phones["sample"].to_numpy() - res.timeline.phones["sample"].to_numpy()).max() <= 1
