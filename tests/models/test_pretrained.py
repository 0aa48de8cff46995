"""wav2vec 2.0, HuBERT and Whisper's encoder: tiny randomly initialised models built from the
library's config classes, saved to a local folder and loaded back offline (nothing downloads);
2 s of audio; every layer exported at the model's frame rate and equal to the library's own
hidden states."""

from __future__ import annotations

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

from neurorrn.models import PretrainedSubject, export_pretrained, load_pretrained  # noqa: E402
from neurorrn.store import load_store, validate_store  # noqa: E402

SR = 16000


def _tiny(kind):
    common = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                  conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    torch.manual_seed(0)
    if kind == "wav2vec2":
        return transformers.Wav2Vec2Model(transformers.Wav2Vec2Config(**common))
    if kind == "hubert":
        return transformers.HubertModel(transformers.HubertConfig(**common))
    cfg = transformers.WhisperConfig(d_model=32, encoder_layers=2, encoder_attention_heads=2, decoder_layers=1,
                                     decoder_attention_heads=2, encoder_ffn_dim=37, decoder_ffn_dim=37,
                                     num_mel_bins=80, max_source_positions=150, max_target_positions=32,
                                     vocab_size=100, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                                     decoder_start_token_id=3)
    return transformers.WhisperModel(cfg)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def _audio(seconds=2.0, sr=SR, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(t.size))


@pytest.mark.parametrize("kind, layers, n_frames", [
    ("wav2vec2", ["cnn", "layer0", "layer1", "layer2"], 99),
    ("hubert", ["cnn", "layer0", "layer1", "layer2"], 99),
    ("whisper", ["layer0", "layer1", "layer2"], 100),
])
def test_tiny_models_export_every_layer(tmp_path, kind, layers, n_frames):
    model = _tiny(kind).eval()
    model.save_pretrained(tmp_path / "weights")
    subj = load_pretrained(tmp_path / "weights", device="cpu")
    assert subj.layer_names == layers and subj.frame_rate == 50.0
    audio = _audio()
    ds = export_pretrained(subj, [(audio, SR), (audio[: SR], SR)], tmp_path / "acts.nc", stimulus_ids=["a", "b"],
                           word=["two", "one"])
    st = load_store(ds)
    assert validate_store(st) == []
    assert st.attrs["frame_rate"] == 50.0
    assert list(dict.fromkeys(st["layer"].values)) == layers
    assert list(st["n_frames"].values) == [n_frames, n_frames // 2]
    np.testing.assert_allclose(st["time"].values[:2], [0.0, 0.02])
    # the store holds the library's own hidden states
    got = st["activation"].sel(stimulus="a").values[:n_frames]
    with torch.no_grad():
        if kind == "whisper":
            fe = transformers.WhisperFeatureExtractor(feature_size=80, chunk_length=3)
            x = fe(audio.astype(np.float32), sampling_rate=SR, return_tensors="pt")["input_features"]
            hs = model.get_encoder()(x, output_hidden_states=True).hidden_states
            ref = {f"layer{k}": h[0, :n_frames] for k, h in enumerate(hs)}
        else:
            a = audio.astype(np.float32)
            x = torch.as_tensor((a - a.mean()) / np.sqrt(a.var() + 1e-7))[None]
            out = model(x, output_hidden_states=True)
            ref = {"cnn": model.feature_extractor(x)[0].T, **{f"layer{k}": h[0] for k, h in enumerate(out.hidden_states)}}
    for name in layers:
        cols = st["layer"].values == name
        np.testing.assert_allclose(got[:, cols], ref[name].numpy(), rtol=1e-4, atol=1e-4, err_msg=name)


def test_resampled_input_and_layer_subset(tmp_path):
    subj = PretrainedSubject(_tiny("wav2vec2"), layers=["layer2"], device="cpu")
    out8k = subj.run_one((_audio(sr=8000), 8000))
    out16k = subj.run_one((_audio(sr=SR), SR))
    assert list(out8k) == ["layer2"] and out8k["layer2"].shape == out16k["layer2"].shape == (99, 32)
    with pytest.raises(ValueError, match=r"unknown layer\(s\) \['layer9'\]; this wav2vec2 model has"):
        PretrainedSubject(_tiny("wav2vec2"), layers=["layer9"])


def test_whisper_long_audio_is_windowed():
    subj = PretrainedSubject(_tiny("whisper"), layers=["layer2"], device="cpu")  # 3 s window
    out = subj.run_one((_audio(seconds=7.0), SR))
    assert out["layer2"].shape == (350, 32)


def test_nothing_downloads(tmp_path):
    with pytest.raises(FileNotFoundError, match="Nothing is downloaded here"):
        load_pretrained("facebook/no-such-model-here", cache_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="no pretrained model config"):
        load_pretrained(tmp_path)


def test_predictors_from_a_pretrained_store():
    """The 50 frames/s store is resampled to the analysis rate by predictors_from_store."""
    import pandas as pd

    from neurorrn.brain import Timeline
    from neurorrn.encoding import predictors_from_store

    subj = PretrainedSubject(_tiny("hubert"), layers=["layer1"], device="cpu")
    st = export_pretrained(subj, [(_audio(), SR)], stimulus_ids=["s"])
    tl = Timeline(pd.DataFrame({"onset": [0.5], "kind": "sound", "stimulus": ["s"], "label": ["s"]}), sfreq=100.0,
                  n_times=300)
    P = predictors_from_store(st, tl, kind="magnitude")
    assert P.shape == (300, 1) and P.attrs["frame_rate"] == 50.0
    assert np.all(P.values[:50] == 0) and np.all(P.values[60:240] > 0)


def test_export_a_corpus_with_alignments(tmp_path):
    from praatio import textgrid
    from scipy.io import wavfile

    from neurorrn.speech import load_textgrid_corpus
    from neurorrn.store import get_alignments

    root = tmp_path / "corpus" / "ann"
    root.mkdir(parents=True)
    for i, seconds in enumerate((1.0, 1.5)):
        tg = textgrid.Textgrid()
        tg.addTier(textgrid.IntervalTier("words", [(0.1, 0.5, "go")], 0, seconds))
        tg.addTier(textgrid.IntervalTier("phones", [(0.1, 0.3, "ɡ"), (0.3, 0.5, "oʊ")], 0, seconds))
        tg.save(str(root / f"go_{i}.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
        wavfile.write(root / f"go_{i}.wav", 8000, _audio(seconds, sr=8000, seed=i).astype(np.float32))
    corpus = load_textgrid_corpus(tmp_path / "corpus")
    subj = PretrainedSubject(_tiny("whisper"), device="cpu")
    st = load_store(export_pretrained(subj, corpus, tmp_path / "w.nc"))
    assert validate_store(st) == [] and list(st["n_frames"].values) == [50, 75]
    assert list(st["talker"].values) == ["ann", "ann"] and list(st["word"].values) == ["go", "go"]
    assert get_alignments(st, stimulus="go_1", tier="phone")["label"].tolist() == ["G", "OW"]


@pytest.mark.gpu
@pytest.mark.parametrize("kind", ["wav2vec2", "whisper"])
def test_cuda_matches_cpu(kind):
    model = _tiny(kind).eval()
    cpu = PretrainedSubject(model, device="cpu").run_one((_audio(), SR))
    gpu = PretrainedSubject(model, device="cuda").run_one((_audio(), SR))
    for name in cpu:
        np.testing.assert_allclose(gpu[name], cpu[name], rtol=1e-3, atol=1e-3, err_msg=name)
