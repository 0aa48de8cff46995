"""Acoustic features: the EARSHOT front end exactly, gammatone vs scipy, log-mel, envelope,
onsets, the DataArray wrapper and train-set scaling."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from neurorrn.speech import FeatureScaler, compute_features, earshot_spectrogram
from neurorrn.speech.features import (
    envelope,
    erb_space,
    gammatone_sos,
    gammatone_spectrogram,
    logmel_spectrogram,
    mel_filterbank,
    onsets,
)


def test_earshot_shape_range_and_silence(rng):
    x = rng.standard_normal(8000) * 0.1
    s = earshot_spectrogram(x, 8000)
    assert s.shape == (101, 256) and s.dtype == np.float32
    assert s.min() >= 0 and s.max() <= 1
    assert np.all(earshot_spectrogram(np.zeros(8000), 8000) == 0)


def test_earshot_matches_direct_formula(rng):
    """Frame t is the 510-point DFT of the pre-emphasised, reflect-padded signal around sample
    80 t, windowed by an 80-point periodic Hann zero-padded to 510 and centred."""
    x = rng.standard_normal(4000) * 0.05
    s = earshot_spectrogram(x, 8000)
    y = np.append(x[0], x[1:] - 0.97 * x[:-1])
    yp = np.pad(y, 255, mode="reflect")
    win = np.zeros(510)
    win[215:295] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(80) / 80)
    for t in (0, 7, 50):
        frame = yp[80 * t: 80 * t + 510] * win
        mag = np.abs(np.fft.rfft(frame))
        want = np.clip((20 * np.log10(np.maximum(1e-5, mag)) - 20 + 100) / 100, 0, 1)
        np.testing.assert_allclose(s[t], want, atol=1e-6)


def test_earshot_resamples_and_finds_tone():
    sr = 16000
    t = np.arange(sr) / sr
    s = earshot_spectrogram(0.5 * np.sin(2 * np.pi * 1000 * t), sr)
    assert s.shape == (101, 256)
    assert abs(np.argmax(s[50]) * 8000 / 510 - 1000) < 8000 / 510


def test_gammatone_matches_scipy_and_peaks():
    from scipy.signal import freqz, gammatone, sosfreqz

    fs = 24000
    f = np.linspace(100, 6000, 500)
    for cf in (500.0, 2000.0):
        _, h1 = sosfreqz(gammatone_sos([cf], fs)[0], worN=f, fs=fs)
        b, a = gammatone(cf, "iir", fs=fs)
        _, h2 = freqz(b, a, worN=f, fs=fs)
        np.testing.assert_allclose(np.abs(h1) / np.abs(h1).max(), np.abs(h2) / np.abs(h2).max(), atol=1e-3)
    cfs = erb_space(50, 10000, 64)
    assert cfs[0] == pytest.approx(50) and cfs[-1] == pytest.approx(10000) and np.all(np.diff(cfs) > 0)
    sr = 22050
    tone = np.sin(2 * np.pi * 1500 * np.arange(sr) / sr)
    g = gammatone_spectrogram(tone, sr)
    assert g.shape == (100, 64)
    assert abs(cfs[np.argmax(g[50])] - 1500) / 1500 < 0.1
    # a stable filterbank: the lowest band stays finite and small for white noise
    noise = gammatone_spectrogram(np.random.default_rng(0).standard_normal(16000), 16000)
    assert np.all(np.isfinite(noise)) and noise.max() < 1


def test_logmel_envelope_onsets():
    sr = 16000
    x = np.zeros(sr)
    x[8000:] = np.sin(2 * np.pi * 500 * np.arange(8000) / sr)  # 5 cycles per frame
    env = envelope(x, sr)
    assert env.shape == (100, 1)
    assert env[:50].max() == 0 and env[60:, 0].min() == pytest.approx(np.sqrt(0.5), rel=1e-2)
    on = onsets(x, sr)
    assert np.argmax(on[:, 0]) == 50 and on.min() >= 0
    lm = logmel_spectrogram(x, sr, n_mels=40)
    assert lm.shape == (101, 40)
    fb = mel_filterbank(sr, 512, 40)
    assert fb.shape == (40, 257) and np.all(fb >= 0)


def test_compute_features_wrapper_and_padding(rng):
    sounds = [rng.standard_normal(8000) * 0.1, rng.standard_normal(4000) * 0.1]
    da = compute_features(sounds, "earshot", sfreq=8000, stimulus=["a", "b"])
    assert da.dims == ("stimulus", "time", "frequency") and da.dtype == np.float32
    assert list(da["n_frames"].values) == [101, 51]
    assert np.isnan(da.sel(stimulus="b").values[51:]).all()
    assert not np.isnan(da.sel(stimulus="b").values[:51]).any()
    assert da.attrs["frame_rate"] == 100.0 and da.attrs["kind"] == "earshot"
    g = compute_features([(sounds[0], 8000)], "gammatone", n_bands=16)
    assert g.sizes["frequency"] == 16 and json.loads(g.attrs["params"]) == {"n_bands": 16}
    with pytest.raises(ValueError, match="Invalid value for kind: 'mfcc'"):
        compute_features(sounds, "mfcc", sfreq=8000)
    with pytest.raises(ValueError, match="pass sfreq="):
        compute_features(sounds, "earshot")
    with pytest.raises(ValueError, match="empty"):
        earshot_spectrogram(np.zeros(0), 8000)


def test_compute_features_on_corpus(small_corpus):
    da = compute_features(small_corpus, "earshot", stimulus=["cat__m1", "ship__f3"])
    assert list(da["word"].values) == ["cat", "ship"] and list(da["talker"].values) == ["m1", "f3"]
    audio, sr = small_corpus.load_audio("cat__m1")
    np.testing.assert_array_equal(da.sel(stimulus="cat__m1").values[: da["n_frames"].values[0]],
                                  earshot_spectrogram(audio, sr))


def test_feature_scaler_uses_training_items_only(rng):
    a = rng.normal(5.0, 2.0, (3, 40, 4)).astype(np.float32)
    a[2] += 100  # a "test" item far away must not move the statistics
    a[1, 30:] = np.nan
    da = xr.DataArray(a, dims=("stimulus", "time", "frequency"),
                      coords={"stimulus": ["x", "y", "z"], "frequency": np.arange(4.0)})
    sc = FeatureScaler().fit(da, stimulus=["x", "y"])
    train = np.concatenate([a[0], a[1, :30]])
    np.testing.assert_allclose(sc.mean_, train.mean(0), rtol=1e-5)
    np.testing.assert_allclose(sc.scale_, train.std(0) + 1e-8, rtol=1e-5)
    out = sc.transform(da)
    np.testing.assert_allclose(out.sel(stimulus="z").values, (a[2] - sc.mean_) / sc.scale_, rtol=1e-5)
    assert np.isnan(out.sel(stimulus="y").values[30:]).all()
    # frame-by-frame: transforming one frame alone gives the same numbers (causal use)
    np.testing.assert_allclose(sc.transform(a[0, 5]), out.values[0, 5], rtol=1e-6)
    with pytest.raises(RuntimeError, match="not fitted"):
        FeatureScaler().transform(da)


def test_earshot_trim_like_librosa(rng):
    from neurorrn.speech.features import earshot_trim_bounds

    y = np.zeros(8000)
    y[2000:5000] = rng.standard_normal(3000) * 0.1
    a, b = earshot_trim_bounds(y)
    # frames of 32 samples, hop 16, centred: the first frame touching the sound starts the kept
    # part (within one hop of the onset), the last one ends it
    assert 2000 - 32 <= a <= 2000 and 5000 <= b <= 5000 + 32 and a % 16 == 0
    s = earshot_spectrogram(y, 8000, trim=True)
    assert s.shape == (1 + (b - a) // 80, 256)
    da = compute_features([(y, 8000)], "earshot", trim=True)
    assert da["offset"].values[0] == a / 8000
    # digital silence: every frame is 0 dB relative to the (zero) maximum, so librosa keeps all
    assert earshot_trim_bounds(np.zeros(800)) == (0, 800)
