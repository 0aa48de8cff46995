"""Bad inputs get clear errors, never silently wrong results (issue 19: W7, W8, W10, C2, S1, U1)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurorrn.config import ConfigError
from neurorrn.speech import load_corpus
from neurorrn.speech._audio import AudioFileError, read_audio, wav_bytes
from neurorrn.speech.corpus import FORMAT, FORMAT_VERSION, CorpusError

from ._planted import planted


def _corpus(root, paths=None, n=3, checksum_keys=None):
    """A minimal corpus on disk in build_corpus's layout (no synthesis needed)."""
    from neurorrn.speech._audio import sha256_file

    (root / "audio").mkdir(parents=True)
    rows = []
    for i in range(n):
        rel = paths[i] if paths else f"audio/w{i}.wav"
        if not paths:
            (root / rel).write_bytes(wav_bytes(np.sin(np.arange(1600) / 5.0) * 0.1, 16000))
        rows.append({"stimulus": f"w{i}__a", "word": f"w{i}", "talker": "a", "path": rel, "n_samples": 1600,
                     "sfreq": 16000, "duration": 0.1, "split": "train", "match": True, "espeak_phones": "",
                     "sha256": sha256_file(root / rel) if (root / rel).is_file() else ""})
    cols = ["stimulus", "word", "talker", "path", "n_samples", "sfreq", "duration", "split", "match",
            "espeak_phones", "sha256"]
    pd.DataFrame(rows, columns=cols).to_csv(root / "items.tsv", sep="\t", index=False)
    pd.DataFrame(columns=["stimulus", "tier", "label", "start", "end"]).to_csv(root / "alignments.tsv", sep="\t",
                                                                               index=False)
    keys = checksum_keys or ["items.tsv", "alignments.tsv"]
    man = {"format": FORMAT, "format_version": FORMAT_VERSION,
           "checksums": {k: sha256_file(root / k) if (root / k).is_file() else "0" for k in keys}}
    (root / "manifest.json").write_text(json.dumps(man))
    return root


# ------------------------------------------------------------------------------------- W8
def test_W8_truncated_wav_is_refused(tmp_path):
    good = wav_bytes(np.zeros(1600), 16000)
    (tmp_path / "cut.wav").write_bytes(good[:60])
    with pytest.raises(AudioFileError, match=r"cut\.wav: truncated WAV: its data chunk declares 3200 bytes but the "
                                             r"file holds 16"):
        read_audio(tmp_path / "cut.wav")
    (tmp_path / "head.wav").write_bytes(good[:30])
    with pytest.raises(AudioFileError, match="no complete data chunk"):
        read_audio(tmp_path / "head.wav")
    (tmp_path / "ok.wav").write_bytes(good)
    assert read_audio(tmp_path / "ok.wav")[0].shape == (1600,)


def test_W8_load_corpus_finds_truncated_audio_by_default(tmp_path):
    root = _corpus(tmp_path / "c")
    assert len(load_corpus(root)) == 3
    raw = (root / "audio" / "w1.wav").read_bytes()
    (root / "audio" / "w1.wav").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorpusError, match=r"damaged: truncated WAV.*for w1__a"):
        load_corpus(root)
    assert len(load_corpus(root, verify=False)) == 3  # asked not to look
    (root / "audio" / "w2.wav").write_bytes(raw[:-2] + b"\x01\x01")  # same size, other content
    with pytest.raises(CorpusError, match="checksum mismatch for w2__a"):
        load_corpus(root, verify=True)


# ------------------------------------------------------------------------------------- S1
@pytest.mark.parametrize("bad", ["../outside.wav", "/etc/passwd", "audio/../../x.wav"])
def test_S1_item_paths_stay_inside_the_corpus(tmp_path, bad):
    root = _corpus(tmp_path / "c", paths=["audio/a.wav", bad, "audio/b.wav"])
    with pytest.raises(CorpusError, match=rf"items.tsv row 2 \(stimulus 'w1__a'\): path '{bad}' must be relative "
                                          r"to the corpus root"):
        load_corpus(root, verify=False)


def test_S1_manifest_checksum_keys_stay_inside_the_corpus(tmp_path):
    (tmp_path / "secret.tsv").write_text("x")
    root = _corpus(tmp_path / "c", checksum_keys=["items.tsv", "../secret.tsv"])
    with pytest.raises(CorpusError, match=r"manifest.json checksums key: path '\.\./secret\.tsv' must be relative"):
        load_corpus(root)


def test_U1_an_empty_corpus_is_named(tmp_path):
    root = _corpus(tmp_path / "c", n=0)
    with pytest.raises(CorpusError, match=r"has no items: .*items\.tsv lists no tokens"):
        load_corpus(root)
    (root / "items.tsv").write_text("")
    (root / "manifest.json").write_text(json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION}))
    with pytest.raises(CorpusError, match=r"has no items: .*items\.tsv is empty"):
        load_corpus(root)


# ------------------------------------------------------------------------------------- W7
def test_W7_nan_features_are_refused_not_zeroed():
    from neurorrn.models import FeatureSet

    da = planted()
    FeatureSet.from_xarray(da)
    da.values[2, 5, 3] = np.nan
    with pytest.raises(ValueError, match=r"features of stimulus 'w1__a' hold NaN at frame 5, frequency 3 \(inside "
                                         r"its 12 valid frames\)"):
        FeatureSet.from_xarray(da)
    da.values[2, 5, 3] = np.inf
    with pytest.raises(ValueError, match="hold Inf at frame 5"):
        FeatureSet.from_xarray(da)
    da.values[2, 5, 3] = 0.0
    da = da.assign_coords(n_frames=("stimulus", np.r_[np.full(7, 12), 10]))
    da.values[7, 10:] = np.nan  # padding past a stimulus's end is fine
    assert FeatureSet.from_xarray(da).lengths[-1] == 10


# -------------------------------------------------------------------------------- W10, C2
@pytest.mark.parametrize("section, key, value, expected", [
    ("train", "max_epochs", -1, "greater than or equal to 1"),
    ("train", "batch_size", 0, "greater than or equal to 1"),
    ("train", "eval_every", 0, "greater than or equal to 1"),
    ("optim", "lr", float("nan"), "finite number"),
    ("optim", "lr", float("inf"), "finite number"),
    ("optim", "lr", -0.1, "greater than 0"),
    ("optim", "beta2", 1.0, "less than 1"),
])
def test_W10_C2_training_settings_are_checked(section, key, value, expected):
    from neurorrn.models import ExperimentConfig

    with pytest.raises(ConfigError, match=rf"{section}\.{key}: .*{expected}"):
        ExperimentConfig.from_dict({"name": "x", section: {key: value}})


@pytest.mark.parametrize("section, key, value, expected", [
    ("probe", "n_permutations", -5, "greater than or equal to 0"),
    ("encode", "cv", 0, "greater than or equal to 2"),
    ("encode", "sfreq", -50, "greater than 0"),
    ("export", "batch_size", 0, "greater than or equal to 1"),
])
def test_W10_pipeline_settings_are_checked(section, key, value, expected):
    from neurorrn.pipelines.earshot_meg.config import RunConfig

    with pytest.raises(ConfigError, match=rf"{section}\.{key}: .*{expected}"):
        RunConfig.from_dict({section: {key: value}})


def test_C2_cli_train_with_batch_size_zero_is_a_message(tmp_path):
    from typer.testing import CliRunner

    from neurorrn.cli import app

    p = tmp_path / "exp.yaml"
    p.write_text("name: x\ntrain: {batch_size: 0}\n")
    r = CliRunner().invoke(app, ["train", str(p), "--out", str(tmp_path / "r")])
    assert r.exit_code == 1 and "train.batch_size" in r.output and "greater than or equal to 1" in r.output
    assert isinstance(r.exception, SystemExit)
    r = CliRunner().invoke(app, ["export", str(tmp_path / "m.pt"), "--corpus", str(tmp_path), "--out",
                                 str(tmp_path / "s.nc"), "--batch-size", "0"])
    assert r.exit_code == 2 and "--batch-size" in r.output


def test_C3_a_simulation_too_big_for_memory_is_refused_up_front():
    from neurorrn.brain import SimulationConfig

    with pytest.raises(ConfigError, match=r"sfreq=2e\+08 Hz with 6 stimuli .* GiB for the simulation; this machine "
                                          r"has .* GiB\. Lower sfreq"):
        SimulationConfig.from_dict({"sfreq": 200_000_000})  # ~30 TB
    assert SimulationConfig.from_dict({"sfreq": 1000}).estimate_bytes()[0] < 2**30


@pytest.mark.parametrize("sfreq", [7, 100])
def test_W10_features_from_audio_at_an_implausible_rate(sfreq):
    from neurorrn.speech.features import envelope, logmel_spectrogram

    x = np.random.default_rng(0).standard_normal(sfreq * 2)
    for fn in (logmel_spectrogram, envelope):
        with pytest.raises(ValueError, match=rf"sfreq={sfreq} Hz is too low for speech audio"):
            fn(x, sfreq)


def test_U1_nan_in_a_trf_response_names_sample_and_target():
    from neurorrn.encoding import TRF

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((300, 2)), rng.standard_normal((300, 3))
    y[100, 1] = np.nan
    with pytest.raises(ValueError, match=r"y \(responses, samples x targets\) contains 1 non-finite value\(s\) "
                                         r"\(NaN or inf\); first at index \(100, 1\)"):
        TRF(tmin=0, tmax=0.05, sfreq=100).fit(X, y)
