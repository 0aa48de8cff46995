"""Pretrained speech networks as model subjects: wav2vec 2.0, HuBERT and Whisper's encoder.

The networks the field compares recurrent models against (Baevski et al. 2020, wav2vec 2.0; Hsu
et al. 2021, HuBERT; Radford et al. 2023, Whisper) are run through Hugging Face ``transformers``
(the optional extra ``neurorrn[pretrained]``) and every layer is recorded into an
ActivationStore, so encoding and probing treat them like our own networks.

Weights come from a local folder (``save_pretrained`` output, or a snapshot you downloaded) or a
cache folder you provide; ``local_files_only=True`` is passed to ``transformers``, so nothing is
downloaded here.  Get weights once, where you have internet, with e.g.
``huggingface-cli download facebook/wav2vec2-base --local-dir weights/wav2vec2-base``.

Layers (unit coord ``layer``, component ``h``):

``cnn`` (wav2vec 2.0, HuBERT)
    The convolutional feature encoder's output (``model.feature_extractor``: before the layer
    norm and the projection into the transformer).
``layer0`` ... ``layerN``
    ``hidden_states[k]`` of ``transformers``: ``layer0`` is the transformer's input (after the
    positional convolution for wav2vec 2.0/HuBERT, or the convolutional stem plus sinusoidal
    positions for Whisper), ``layerK`` the output of block ``K`` (Whisper's last one after the
    encoder's final layer norm).

Frame rates: the feature encoders of wav2vec 2.0 and HuBERT stride 320 samples at 16 kHz (50
frames/s; frame ``k`` sees samples ``[320k, 320k + 400)``, a 25 ms receptive field of the CNN);
Whisper's log-mel frames are 10 ms and its convolutional stem halves them (50 frames/s).  The
store's ``frame_rate`` is the model's; :func:`neurorrn.encoding.predictors_from_store` resamples
to the analysis rate.

Departures and caveats:

* Audio at another rate is resampled to the model's 16 kHz (``scipy.signal.resample_poly``).
* wav2vec 2.0 / HuBERT checkpoints whose feature extractor has ``do_normalize`` normalise each
  stimulus to zero mean and unit variance over its whole length, as in their training.
* Whisper always attends over a fixed window (30 s for released checkpoints): a stimulus is
  padded to the window, as Whisper does, and longer stimuli are cut into consecutive windows
  whose outputs are concatenated; frames past the audio's end are dropped.
* These are bidirectional transformers: a frame's activation depends on audio after it, unlike
  the causal recurrent networks of :mod:`neurorrn.models`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..subject import ModelSubject
from ..utils._check import check_device, check_option
from ..utils._logging import logger

#: model_type of a transformers config -> adapter family.
PRETRAINED_KINDS = {"wav2vec2": "wav2vec2", "hubert": "wav2vec2", "whisper": "whisper"}
MODEL_SFREQ = 16000


def _require_transformers():
    try:
        import transformers  # noqa: F401
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("pretrained speech networks need the 'transformers' package: "
                          "pip install 'neurorrn[pretrained]'") from None
    return transformers


def _default_extractor(kind: str, config):
    from transformers import Wav2Vec2FeatureExtractor, WhisperFeatureExtractor

    if kind == "whisper":
        n_mel_frames = 2 * int(config.max_source_positions)
        return WhisperFeatureExtractor(feature_size=int(config.num_mel_bins), sampling_rate=MODEL_SFREQ,
                                       hop_length=160, chunk_length=n_mel_frames * 160 // MODEL_SFREQ)
    return Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=MODEL_SFREQ, padding_value=0.0,
                                    do_normalize=True, return_attention_mask=True)


class PretrainedSubject(ModelSubject):
    """A ``transformers`` speech encoder as a model subject (every layer recorded).

    Parameters
    ----------
    model : transformers PreTrainedModel
        A ``Wav2Vec2Model``, ``HubertModel``, ``WhisperModel`` / ``WhisperForConditionalGeneration``
        (its encoder is used) or ``WhisperEncoder``.
    feature_extractor : transformers feature extractor, optional
        The checkpoint's (``AutoFeatureExtractor``); default: wav2vec 2.0's per-stimulus
        normalisation, or Whisper's log-mel with the model's window.
    layers : list of str, optional
        A subset of :attr:`layer_names` (default all).
    model_id : str, optional
        Default: the config's ``_name_or_path`` or model type.
    device : str | torch.device, optional
        Default: CUDA when available, else CPU.

    Notes
    -----
    :meth:`run_one` takes ``(audio, sfreq)`` or a 1-D array at 16 kHz and returns
    ``{layer: (n_frames, n_units)}`` at :attr:`frame_rate` (50 frames/s for all three families).
    """

    time_unit = "s"

    def __init__(self, model, feature_extractor=None, *, layers: Sequence[str] | None = None,
                 model_id: str | None = None, device=None):
        _require_transformers()
        config = model.config
        mtype = getattr(config, "model_type", None)
        check_option(mtype, list(PRETRAINED_KINDS), "model_type of the pretrained model")
        self.kind = PRETRAINED_KINDS[mtype]
        self.model_type = mtype
        if self.kind == "whisper" and hasattr(model, "get_encoder"):
            model = model.get_encoder()
        self.device = check_device(device)
        self.model = model.to(self.device).eval()
        self.config = config
        self.feature_extractor = feature_extractor or _default_extractor(self.kind, config)
        self.sfreq = int(getattr(self.feature_extractor, "sampling_rate", MODEL_SFREQ))
        if self.kind == "whisper":
            hop = int(self.feature_extractor.hop_length)
            self.frame_rate = self.sfreq / hop / 2.0
            self._window = int(self.feature_extractor.n_samples)
        else:
            self.frame_rate = self.sfreq / float(np.prod(config.conv_stride))
        n = int(config.encoder_layers if self.kind == "whisper" else config.num_hidden_layers)
        self.layer_names = (["cnn"] if self.kind == "wav2vec2" else []) + [f"layer{k}" for k in range(n + 1)]
        if layers is not None:
            unknown = [x for x in layers if x not in self.layer_names]
            if unknown:
                raise ValueError(f"unknown layer(s) {unknown}; this {mtype} model has {self.layer_names}")
            self.layer_names = [x for x in self.layer_names if x in set(layers)]
        self.model_id = model_id or str(getattr(config, "_name_or_path", "") or mtype)

    def config_json(self) -> str:
        return json.dumps({"model_type": self.model_type, "model_id": self.model_id, "layers": self.layer_names,
                           "frame_rate": self.frame_rate, "sfreq": self.sfreq,
                           "config": json.loads(self.config.to_json_string())})

    # ------------------------------------------------------------------ running
    def _audio(self, stimulus) -> np.ndarray:
        from math import gcd

        from scipy.signal import resample_poly

        if isinstance(stimulus, tuple) and len(stimulus) == 2:
            audio, sfreq = stimulus
        else:
            audio, sfreq = stimulus, self.sfreq
        audio = np.asarray(audio, dtype=np.float64)
        if audio.ndim != 1 or audio.size == 0:
            raise ValueError(f"a stimulus must be 1-D audio (or (audio, sfreq)), got shape {audio.shape}")
        if int(sfreq) != self.sfreq:
            g = gcd(int(sfreq), self.sfreq)
            audio = resample_poly(audio, self.sfreq // g, int(sfreq) // g)
        return audio.astype(np.float32)

    @torch.no_grad()
    def _run_wav2vec2(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        inp = self.feature_extractor(audio, sampling_rate=self.sfreq, return_tensors="pt")
        x = inp["input_values"].to(self.device)
        cnn = []
        handle = self.model.feature_extractor.register_forward_hook(lambda m, i, o: cnn.append(o))
        try:
            out = self.model(x, output_hidden_states=True)
        finally:
            handle.remove()
        res = {"cnn": cnn[0][0].transpose(0, 1)}  # (batch, channels, time) -> (time, channels)
        for k, h in enumerate(out.hidden_states):
            res[f"layer{k}"] = h[0]
        return {name: res[name].float().cpu().numpy() for name in self.layer_names}

    @torch.no_grad()
    def _run_whisper(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        hop = int(self.feature_extractor.hop_length)
        n_valid = int(math.ceil((audio.size // hop) / 2))
        pieces: dict[str, list] = {name: [] for name in self.layer_names}
        for start in range(0, audio.size, self._window):
            chunk = audio[start:start + self._window]
            feats = self.feature_extractor(chunk, sampling_rate=self.sfreq, return_tensors="pt")
            out = self.model(feats["input_features"].to(self.device), output_hidden_states=True)
            n_chunk = int(math.ceil((chunk.size // hop) / 2))
            for k, h in enumerate(out.hidden_states):
                name = f"layer{k}"
                if name in pieces:
                    pieces[name].append(h[0, :max(n_chunk, 1)].float().cpu().numpy())
        return {name: np.concatenate(p, 0)[:max(n_valid, 1)] for name, p in pieces.items()}

    def run_one(self, stimulus) -> dict[str, np.ndarray]:
        """``{layer: (n_frames, n_units)}`` for ``(audio, sfreq)`` or 16 kHz audio."""
        audio = self._audio(stimulus)
        return self._run_whisper(audio) if self.kind == "whisper" else self._run_wav2vec2(audio)


def load_pretrained(path, *, cache_dir=None, layers: Sequence[str] | None = None, device=None,
                    model_id: str | None = None) -> PretrainedSubject:
    """A :class:`PretrainedSubject` from local weights (nothing is downloaded).

    Parameters
    ----------
    path : path-like | str
        A folder with ``config.json`` and the weights (``save_pretrained`` output or a downloaded
        snapshot), or a hub name already in ``cache_dir`` (e.g. ``"facebook/hubert-base-ls960"``).
    cache_dir : path-like, optional
        The Hugging Face cache to look in (default: the user's, ``$HF_HOME``).
    layers, device, model_id
        See :class:`PretrainedSubject`.

    Raises
    ------
    FileNotFoundError
        The weights are neither at ``path`` nor in the cache (the message says how to get them).
    """
    _require_transformers()
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModel

    src = str(path)
    kw = {"local_files_only": True, "cache_dir": None if cache_dir is None else str(cache_dir)}
    try:
        config = AutoConfig.from_pretrained(src, **kw)
    except (OSError, ValueError) as err:
        where = f"the folder {src}" if Path(src).exists() else f"the Hugging Face cache ({cache_dir or '$HF_HOME'})"
        raise FileNotFoundError(
            f"no pretrained model config found for {src!r} in {where} ({err}). Nothing is downloaded "
            f"here: fetch the weights once, e.g. `huggingface-cli download {src} --local-dir <folder>`, "
            f"and pass that folder") from None
    check_option(config.model_type, list(PRETRAINED_KINDS), f"model_type of {src}")
    model = AutoModel.from_pretrained(src, **kw)
    try:
        fe = AutoFeatureExtractor.from_pretrained(src, **kw)
    except (OSError, ValueError):
        fe = None
        logger.info("%s has no feature extractor config; using the default for %s", src, config.model_type)
    return PretrainedSubject(model, fe, layers=layers, model_id=model_id or src, device=device)


def export_pretrained(subject: PretrainedSubject, stimuli, path=None, *, stimulus_ids: Sequence[str] | None = None,
                      alignments=None, overwrite: bool = False, chunk: int = 16, verbose=None, **stimulus_coords):
    """Record every layer of a pretrained network for a corpus or a list of sounds.

    Parameters
    ----------
    subject : PretrainedSubject
        From :func:`load_pretrained` (or built from a model in memory).
    stimuli : Corpus | list of (audio, sfreq)
        A :class:`~neurorrn.speech.Corpus` (its audio, ids, ``word``/``talker`` and alignments
        are used) or sounds with ``stimulus_ids``.
    path : path-like | None
        Store file (written chunk by chunk); ``None`` returns the store in memory.

    Returns
    -------
    Path | xarray.Dataset
    """
    from ..speech.corpus import Corpus

    if isinstance(stimuli, Corpus):
        corpus = stimuli
        ids = list(corpus.stimuli)
        sounds = _CorpusAudio(corpus)
        if alignments is None:
            alignments = corpus.alignments
        for c in ("word", "talker"):
            stimulus_coords.setdefault(c, corpus.items[c].astype(str).to_numpy())
    else:
        sounds = list(stimuli)
        if stimulus_ids is None or len(stimulus_ids) != len(sounds):
            raise ValueError(f"stimulus_ids must name each of the {len(sounds)} sounds")
        ids = [str(s) for s in stimulus_ids]
    if path is None:
        return subject.record(sounds, ids, alignments=alignments, verbose=verbose, **stimulus_coords)
    return subject.record_to(path, sounds, ids, alignments=alignments, overwrite=overwrite, chunk=chunk,
                             verbose=verbose, **stimulus_coords)


class _CorpusAudio(Sequence):
    """A corpus's audio, read one item at a time."""

    def __init__(self, corpus):
        self.corpus = corpus

    def __len__(self):
        return len(self.corpus)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.corpus.load_audio(self.corpus.stimuli[i])
