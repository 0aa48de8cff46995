"""Chunked preprocessing (equal to one-shot and to MNE/scipy), bad channels, ICA; manifests and CLI."""

from pathlib import Path

import mne
import numpy as np
import pytest
import scipy.signal
from typer.testing import CliRunner

from neurorrn.brain import preprocess
from neurorrn.brain.manifests import Manifest, check_dataset, load_manifest
from neurorrn.brain.preprocess import design_filter, filter_resample
from neurorrn.config import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_chunked_equals_whole_and_mne():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 20000))
    h = design_filter(1000.0, 1.0, 40.0, [50.0])

    def get(a, b):
        return x[:, a:b]

    whole = filter_resample(get, x.shape[1], 3, 1000.0, h, 1, 10, chunk=None)
    chunked = filter_resample(get, x.shape[1], 3, 1000.0, h, 1, 10, chunk=3001)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-12 * np.abs(whole).max())
    ref = mne.filter.filter_data(x, 1000.0, 1.0, 40.0, fir_design="firwin", verbose="error")
    ref = mne.filter.notch_filter(ref, 1000.0, [50.0], verbose="error")
    ref = scipy.signal.resample_poly(ref, 1, 10, axis=1)
    inner = slice(500, -500)  # away from the edges, where padding conventions differ
    np.testing.assert_allclose(whole[:, inner], ref[:, inner], atol=1e-9 * np.abs(ref).max())


def _raw_on_disk(tmp_path, n_times=60000, sfreq=1000.0):
    rng = np.random.default_rng(1)
    info = mne.create_info([f"EEG{i:02d}" for i in range(8)] + ["EOG", "STI"], sfreq, ["eeg"] * 8 + ["eog", "stim"])
    t = np.arange(n_times) / sfreq
    data = rng.standard_normal((10, n_times)) * 1e-6
    data[:8] += 5e-6 * np.sin(2 * np.pi * 50 * t)  # line noise
    data[:8] += 2e-6 * np.sin(2 * np.pi * 5 * t)  # in-band signal
    data[3] *= 30  # a noisy channel
    data[9] = 0
    data[9, [i for i in (5000, 25000) if i < n_times]] = 1
    info["line_freq"] = 50.0
    raw = mne.io.RawArray(data, info, verbose="error")
    path = tmp_path / "rec_raw.fif"
    raw.save(path, verbose="error")
    return path, data


def test_preprocess_lazy_recording(tmp_path):
    path, data = _raw_on_disk(tmp_path)
    raw = mne.io.read_raw_fif(path, preload=False, verbose="error")
    out = preprocess(raw, l_freq=1.0, h_freq=40.0, sfreq=100.0, notch=[50.0], bads="auto", chunk_duration=7.0)
    assert not raw.preload
    assert out.info["sfreq"] == 100.0 and out.n_times == 6000
    assert "STI" not in out.ch_names and "EOG" in out.ch_names
    assert out.info["bads"] == ["EEG03"]
    assert out.info["highpass"] == 1.0 and out.info["lowpass"] == 40.0
    trig = [a["onset"] for a in out.annotations if a["description"] == "trigger/1"]
    np.testing.assert_allclose(trig, [5.0, 25.0])
    f, p = scipy.signal.welch(out.get_data(picks=["EEG00"])[0], 100.0, nperseg=400)
    assert p[np.argmin(np.abs(f - 5))] > 50 * np.median(p)
    whole = preprocess(mne.io.read_raw_fif(path, preload=True, verbose="error"), l_freq=1.0, h_freq=40.0,
                       sfreq=100.0, notch=[50.0], chunk_duration=1000.0)
    np.testing.assert_allclose(out.get_data(), whole.get_data(), atol=1e-12 * np.abs(whole.get_data()).max())


def test_preprocess_errors(tmp_path):
    path, _ = _raw_on_disk(tmp_path, n_times=5000)
    raw = mne.io.read_raw_fif(path, preload=False, verbose="error")
    with pytest.raises(ValueError, match="h_freq=60 Hz must be below the output Nyquist frequency 50 Hz"):
        preprocess(raw, h_freq=60.0, sfreq=100.0)
    with pytest.raises(ValueError, match="shorter than the filter padding"):
        preprocess(raw, l_freq=0.1, h_freq=40.0, sfreq=100.0)
    with pytest.raises(ValueError, match=r"bads: unknown channel\(s\) \['XX'\]"):
        preprocess(raw, l_freq=1.0, h_freq=40.0, sfreq=100.0, bads=["XX"])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_ica_removes_blinks():
    from neurorrn.brain import SimulationConfig, simulate

    noise = {"brain_dipoles": 30, "alpha_amplitude": 0.0, "blink_rate": 0.5, "blink_dipole": 2000.0,
             "line": 0.0, "drift": 0.0}
    res = simulate(SimulationConfig(sensors="eeg64", snr_db=None, noise=noise, sfreq=200.0,
                                    stimuli={"n_stimuli": 8, "words_per_stimulus": 8, "audio_sfreq": 8000.0}))
    raw = res.raw
    out = preprocess(raw, l_freq=1.0, h_freq=30.0, sfreq=100.0, ica=15, random_state=0)
    assert "ICA removed" in out.info["description"]
    eeg_before = preprocess(raw, l_freq=1.0, h_freq=30.0, sfreq=100.0).get_data(picks="eeg")
    eog = out.get_data(picks="eog")[0]
    r_before = max(abs(np.corrcoef(ch, eog)[0, 1]) for ch in eeg_before)
    r_after = max(abs(np.corrcoef(ch, eog)[0, 1]) for ch in out.get_data(picks="eeg"))
    assert r_before > 0.5 and r_after < 0.5 * r_before


def test_all_manifests_validate():
    paths = sorted((REPO / "data_manifests").glob("*.yaml"))
    ids = {load_manifest(p).id for p in paths}
    assert ids >= {"meg-masc", "broderick2018", "alice", "armeni2022", "libribrain", "mous", "timit",
                   "librispeech-mfa", "earshot"}
    alice = load_manifest(REPO / "data_manifests" / "alice.yaml")
    assert {f.md5 for f in alice.files if f.md5} == {
        "4336a47bef7d3e63239c40c0623dc186", "d63d96a6e5080578dbf71320ddbec0a0",
        "bdc65f168db4c0f19bb0fed20eae129b", "3fb33ca1c4640c863a71bddd45006815"}


def _manifest(md5):
    return Manifest.from_dict({
        "id": "toy", "name": "toy", "citation": "c", "licence": "CC0", "modality": "meg", "loader": "x",
        "access": {"kind": "open", "url": "https://example.org"},
        "files": [{"path": "README", "role": "metadata", "md5": md5},
                  {"path": "sub-*/meg/*_meg.fif", "role": "recording", "min_count": 2},
                  {"path": "extra.txt", "role": "x", "required": False}]})


def test_check_dataset(tmp_path):
    import hashlib

    (tmp_path / "README").write_bytes(b"hello")
    (tmp_path / "sub-01" / "meg").mkdir(parents=True)
    (tmp_path / "sub-01" / "meg" / "sub-01_meg.fif").write_bytes(b"x")
    good = hashlib.md5(b"hello").hexdigest()
    rep = check_dataset(_manifest(good), tmp_path)
    df = rep.to_frame().set_index("path")
    assert df.loc["README", "status"] == "present"
    assert df.loc["sub-*/meg/*_meg.fif", "status"] == "missing"
    assert "1 match(es)" in df.loc["sub-*/meg/*_meg.fif", "detail"] and not rep.ok
    (tmp_path / "sub-02" / "meg").mkdir(parents=True)
    (tmp_path / "sub-02" / "meg" / "sub-02_meg.fif").write_bytes(b"x")
    assert check_dataset(_manifest(good), tmp_path).ok  # extra.txt is optional
    rep = check_dataset(_manifest("0" * 32), tmp_path)
    assert rep.counts()["corrupt"] == 1 and not rep.ok
    assert f"md5 {good}, expected {'0' * 32}" in rep.rows[0]["detail"]
    (tmp_path / "README").unlink()
    rep = check_dataset(_manifest(good), tmp_path)
    assert rep.rows[0]["status"] == "missing" and str(tmp_path / "README") in rep.rows[0]["detail"]


def test_manifest_schema_errors():
    with pytest.raises(ConfigError, match="md5 must be 32 hex digits"):
        _manifest("abc")
    with pytest.raises(ConfigError, match="access.kind"):
        Manifest.from_dict({**_manifest(None).model_dump(), "access": {"kind": "free", "url": "u"}})


def test_cli(tmp_path):
    from neurorrn.cli import app

    runner = CliRunner()
    cfg = tmp_path / "sim.yaml"
    cfg.write_text("sfreq: 100.0\nstimuli: {n_stimuli: 2, words_per_stimulus: 3}\nnoise: {brain_dipoles: 10}\n")
    res = runner.invoke(app, ["simulate", str(cfg), "--output", str(tmp_path / "bids")])
    assert res.exit_code == 0, res.output
    assert '"sound": 2' in res.output
    assert (tmp_path / "bids" / "derivatives" / "neurorrn-groundtruth").is_dir()
    res = runner.invoke(app, ["simulate", str(cfg), "--output", str(tmp_path / "bids")])
    assert res.exit_code == 1 and "--overwrite" in res.output
    man = tmp_path / "m.yaml"
    man.write_text(_manifest(None).model_dump_json())
    res = runner.invoke(app, ["data", "check", str(man), str(tmp_path / "bids")])
    assert res.exit_code == 1 and "[missing] README" not in res.output and "missing" in res.output
    res = runner.invoke(app, ["data", "check", "no-such-dataset", str(tmp_path)])
    assert res.exit_code == 2 and "known ids" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("sfreq: -1\n")
    res = runner.invoke(app, ["simulate", str(bad), "-o", str(tmp_path / "x")])
    assert res.exit_code == 2 and "sfreq" in res.output
