"""Run stimuli through a trained network and write hidden-unit time courses to a store.

:func:`export_activations` writes an ActivationStore (:mod:`neurorrn.store`) with one unit per
hidden unit of every layer and requested component (``h`` by default; ``c`` and the gates on
request), unit coords ``layer`` (``lstm0``, ...) and ``component``, stimulus coords ``word``
and ``talker``, and the phone/word alignment table.  Stimuli are processed ``batch_size`` at a
time and written as they come (:class:`~neurorrn.store.StoreWriter`), so memory stays bounded
by one batch.

Two modes:

``"isolated"``
    Every stimulus starts from the zero state (EARSHOT's test mode; words, diphones).
``"stream"``
    Stimuli are consecutive segments of one continuous stream: the state at the end of one
    is the initial state of the next (Brodbeck et al.'s stateful runs); each segment is run in
    blocks of ``block_frames`` frames with the state carried across blocks.

:class:`NetworkSubject` is the "model as subject" (:class:`neurorrn.subject.ModelSubject`)
wrapper: audio ``(samples, sfreq)`` or a feature matrix in, ``{layer.component: (n_frames,
n_units)}`` out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pandas as pd
import torch

from ..store import StoreWriter, default_attrs, normalize_alignments
from ..subject import ModelSubject
from ..utils._check import check_option, check_path
from ..utils._logging import logger, progress
from .bundle import ModelBundle, check_features_match
from .data import FeatureSet
from .networks import CELL_COMPONENTS

EXPORT_MODES = ("isolated", "stream")


def check_frame_rate(frame_rate: float, bundle: ModelBundle, what: str = "features") -> None:
    """Raise if ``frame_rate`` differs from the rate the model was trained on."""
    if not np.isclose(float(frame_rate), bundle.frame_rate, rtol=1e-6):
        raise ValueError(
            f"{what} are at {float(frame_rate):g} frames/s but model {bundle.model_id!r} was trained on "
            f"{bundle.frame_rate:g} frames/s ({bundle.features.get('kind')!r} features); recompute the features "
            f"with the bundle's settings: {json.dumps(bundle.features, default=str)}"
        )


def _as_feature_set(features, bundle: ModelBundle, normalize: bool) -> FeatureSet:
    import xarray as xr

    if isinstance(features, xr.DataArray):
        if "frame_rate" not in features.attrs:
            raise ValueError("features lack the attr 'frame_rate'")
        check_frame_rate(features.attrs["frame_rate"], bundle)
        check_features_match(bundle.features, features.attrs.get("kind"), features.attrs.get("params"),
                             model_id=bundle.model_id)
        da = features
        for c in ("word", "talker"):
            if c not in da.coords:
                da = da.assign_coords({c: ("stimulus", np.full(da.sizes["stimulus"], "", dtype=object))})
        fs = FeatureSet.from_xarray(da)
    elif isinstance(features, FeatureSet):
        check_frame_rate(features.frame_rate, bundle)
        fs = features
    else:
        raise TypeError(f"features must be an xarray.DataArray or a FeatureSet, got {type(features).__name__}")
    if fs.n_features != bundle.network.n_input:
        raise ValueError(f"features have {fs.n_features} channels but model {bundle.model_id!r} expects "
                         f"{bundle.network.n_input} ({bundle.features.get('kind')!r} features)")
    return bundle.normalizer.transform(fs) if normalize else fs


def _unit_table(model, components: Sequence[str]):
    ids, layer, comp = [], [], []
    for li, name in enumerate(model.layer_names):
        n = model.layers[li].hidden_size
        for c in components:
            ids += [f"{name}.{c}:{i}" for i in range(n)]
            layer += [name] * n
            comp += [c] * n
    return (np.asarray(ids, dtype=object),
            {"layer": np.asarray(layer, dtype=object), "component": np.asarray(comp, dtype=object)})


@torch.no_grad()
def _run(model, x, lengths, components, state):
    """Return ``(list of (batch, time, units) per layer x component, new_state)``.

    ``h`` of every layer comes from the fused recurrent kernel (oneDNN on CPU, cuDNN on CUDA).
    The gates at frame ``t`` depend only on ``x_t`` and ``h_{t-1}``, both known once ``h`` is
    recorded, so when ``c`` or gates are asked for, every layer's gate pre-activations for the
    whole block are one matrix product (:func:`_lstm_gates`: ``[x_t, h_{t-1}]`` against the
    stacked input and recurrent weights), and the cell recurrence ``c_t = f_t c_{t-1} + i_t g_t``
    is a chunked linear scan (:func:`_cell_scan`, O(T) work in about ``2 sqrt(T)`` tensor steps).
    """
    components = tuple(components)
    _, new_state, hidden = model(x, state, lengths, return_hidden=True, pack=False)
    if components == ("h",):
        return hidden, new_state
    F = torch.nn.functional
    cell = model.config.cell
    outs, inp = [], x
    for li, layer in enumerate(model.layers):
        h = hidden[li]
        if state is None:
            h0 = torch.zeros_like(h[:, 0])
            c0 = torch.zeros_like(h[:, 0])
        else:
            h0 = (state[li][0] if cell == "lstm" else state[li])[0]
            c0 = state[li][1][0] if cell == "lstm" else None
        h_prev = torch.cat([h0[:, None], h[:, :-1]], dim=1)
        vals = {"h": h}
        if cell == "lstm":
            i, f, g, o = _lstm_gates(layer, inp, h_prev)
            vals.update({"input_gate": i, "forget_gate": f, "cell_input": g, "output_gate": o})
            if "c" in components:
                vals["c"] = _cell_scan(f, i * g, c0)
        elif cell == "gru":
            xr_, xz, xn = F.linear(inp, layer.weight_ih_l0, layer.bias_ih_l0).chunk(3, dim=-1)
            hr, hz, hn = F.linear(h_prev, layer.weight_hh_l0, layer.bias_hh_l0).chunk(3, dim=-1)
            r = torch.sigmoid(xr_ + hr)
            vals.update({"reset_gate": r, "update_gate": torch.sigmoid(xz + hz),
                         "candidate": 2.0 * torch.sigmoid(2.0 * (xn + r * hn)) - 1.0})
        outs.extend(vals[c] for c in components)
        inp = h
    return outs, new_state


def _lstm_gates(layer, inp: torch.Tensor, h_prev: torch.Tensor):
    """Gate activations ``(i, f, g, o)`` of a one-layer ``nn.LSTM`` for a whole block at once.

    One GEMM of ``[x_t, h_{t-1}]`` (all frames) against ``[W_ih, W_hh]`` and one sigmoid over all
    four gates: the cell-input rows are scaled by 2 (exact in floating point) so that
    ``g = tanh(z) = 2 sigmoid(2z) - 1`` comes out of the same sigmoid (``torch.tanh`` ran 5x
    slower than ``torch.sigmoid`` on our CPU build; the identity agrees with it to an absolute
    2e-7).

    Parameters
    ----------
    inp : Tensor (batch, time, n_in)
    h_prev : Tensor (batch, time, hidden), ``h`` one frame earlier (the initial state first)
    """
    H = layer.hidden_size
    w = torch.cat([layer.weight_ih_l0, layer.weight_hh_l0], dim=1)
    b = layer.bias_ih_l0 + layer.bias_hh_l0
    scale = torch.ones(4 * H, dtype=w.dtype, device=w.device)
    scale[2 * H: 3 * H] = 2.0
    z = torch.cat([inp.to(w.dtype), h_prev.to(w.dtype)], dim=-1)
    pre = torch.addmm(b * scale, z.reshape(-1, z.shape[-1]), (w * scale[:, None]).t())
    s = torch.sigmoid(pre).view(*z.shape[:-1], 4 * H)
    i, f, g2, o = s.chunk(4, dim=-1)
    return i, f, 2.0 * g2 - 1.0, o


def _cell_scan(f: torch.Tensor, ig: torch.Tensor, c0: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """``c_t = f_t * c_{t-1} + ig_t`` for all t by a chunked linear scan.

    Time is cut into chunks of ``chunk`` frames (default ``ceil(sqrt(T))``).  One loop over the
    position within a chunk runs the recurrence in every chunk at once from a zero start (and the
    chunk's running product of forget gates); one loop over chunks carries the
    true state from chunk to chunk; one whole-tensor step adds the carried state, scaled by the
    running products, to every frame.  O(T) work in about ``2 sqrt(T)`` tensor operations, no
    division; agrees with the step-by-step recurrence to rounding (tested).

    Parameters
    ----------
    f, ig : Tensor (batch, time, hidden)
    c0 : Tensor (batch, hidden)
    chunk : int | None
    """
    B, T, H = f.shape
    if T == 0:
        return ig.clone()
    K = int(chunk) if chunk else max(1, int(np.ceil(np.sqrt(T))))
    n = -(-T // K)
    pad = n * K - T
    if pad:
        f = torch.cat([f, f.new_ones(B, pad, H)], dim=1)
        ig = torch.cat([ig, ig.new_zeros(B, pad, H)], dim=1)
    # (K, n, B, H): position within the chunk first, so every step below is on a contiguous slice
    fr = f.reshape(B, n, K, H).permute(2, 1, 0, 3).contiguous()
    ir = ig.reshape(B, n, K, H).permute(2, 1, 0, 3).contiguous()
    prod = torch.empty_like(fr)  # running product of the forget gates within each chunk
    local = torch.empty_like(ir)  # the recurrence within each chunk from a zero start
    prod[0], local[0] = fr[0], ir[0]
    for k in range(1, K):
        torch.mul(prod[k - 1], fr[k], out=prod[k])
        torch.addcmul(ir[k], local[k - 1], fr[k], out=local[k])
    enter = torch.empty_like(ir[0])  # (n, B, H): the state entering each chunk
    c = c0.to(ig.dtype)
    for j in range(n):
        enter[j] = c
        c = torch.addcmul(local[K - 1, j], prod[K - 1, j], c)
    out = torch.addcmul(local, prod, enter[None])
    return out.permute(2, 1, 0, 3).reshape(B, n * K, H)[:, :T]


def _stimulus_blocks(model, feats: np.ndarray, n_frames: int, components, state, block_frames: int, device, box):
    """Yield activation blocks of one stimulus, carrying the state; the final state goes to ``box[0]``."""
    for t0 in range(0, n_frames, block_frames):
        t1 = min(n_frames, t0 + block_frames)
        x = torch.from_numpy(np.ascontiguousarray(feats[t0:t1], dtype=np.float32))[None].to(device)
        outs, state = _run(model, x, None, components, state)
        box[0] = state
        yield torch.cat(outs, dim=-1)[0].float().cpu().numpy()


def export_activations(bundle: ModelBundle | str | Path, features, path, *, components: Sequence[str] = ("h",),
                       alignments: pd.DataFrame | None = None, require_alignments: bool = False,
                       mode: Literal["isolated", "stream"] = "isolated", batch_size: int = 64,
                       block_frames: int = 1000, reset_state: bool = False, split=None,
                       normalize: bool = True, overwrite: bool = False, device=None, verbose=None, layers=None,
                       frame_rate: float | None = None, compression: str | None = "gzip") -> Path:
    """Write hidden-unit time courses of every layer to an ActivationStore.

    Parameters
    ----------
    bundle : ModelBundle | path | torch.nn.Module
        Any other ``torch.nn.Module`` is recorded through forward hooks on the submodules named
        in ``layers`` (:func:`neurorrn.models.hooks.export_module_activations`, which also takes
        ``frame_rate``; ``components``, ``batch_size``, ``block_frames`` and ``normalize`` do not
        apply).
    features : xarray.DataArray (stimulus, time, frequency) | FeatureSet
        Raw (unnormalised) features at the bundle's frame rate, computed with its settings.
    path : path
        Output store (``.nc``); an existing file is an error unless ``overwrite``.
    components : sequence of str
        ``"h"`` and, on request, ``"c"`` and gates (see
        :data:`~neurorrn.models.networks.CELL_COMPONENTS`).
    alignments : DataFrame | None
        Phone/word intervals (``stimulus, tier, label, start, end``) stored with the activations.
    require_alignments : bool
        Raise unless every stimulus has phone alignments.
    mode : {"isolated", "stream"}
    batch_size : int
        Stimuli per forward pass (isolated mode) and per write.
    block_frames : int
        Frames per forward pass in stream mode (state carried across blocks).  Each block is
        written as it comes, so memory stays bounded by one block for stimuli of any length.
    reset_state : bool
        Stream mode: start every stimulus from the zero state (separate stories) instead of
        carrying the state from one stimulus to the next (segments of one session).
    split : array of str | None
        Per-stimulus ``split`` label stored with the activations (default: the features' ``split``
        coord, if any).
    normalize : bool
        Apply the bundle's training-set normaliser (default True).
    compression : {"gzip", None}
        The store's compression (gzip level 1 by default).  Writing compressed values takes
        longer than computing them (``benchmarks/bench_training.py``); ``None`` writes faster
        and larger files.
    overwrite, device, verbose

    Returns
    -------
    path : Path
    """
    if isinstance(bundle, torch.nn.Module):
        from .hooks import export_module_activations

        if layers is None:
            raise ValueError("a torch.nn.Module is recorded through forward hooks: pass layers=[submodule names]")
        if require_alignments and alignments is None:
            raise ValueError("require_alignments=True but no alignments were given")
        return export_module_activations(bundle, features, path, layers=layers, frame_rate=frame_rate,
                                         alignments=alignments, mode=mode, overwrite=overwrite,
                                         device=device, verbose=verbose)
    if not isinstance(bundle, ModelBundle):
        bundle = ModelBundle.load(bundle)
    check_option(mode, EXPORT_MODES, "mode")
    path = check_path(path, "output store")
    if path.exists() and not overwrite:
        raise FileExistsError(f"output store '{path}' already exists; pass overwrite=True (--overwrite) to replace it")
    cell = bundle.network.cell
    for c in components:
        check_option(c, CELL_COMPONENTS[cell], f"component of a {cell} network")
    fs = _as_feature_set(features, bundle, normalize)
    al = normalize_alignments(alignments) if alignments is not None else None
    if require_alignments:
        if al is None or not len(al):
            raise ValueError("no alignments were given: the store needs phone alignments for every stimulus "
                             "(the corpus has none?)")
        have = set(al.loc[al["tier"] == "phone", "stimulus"])
        missing = [s for s in fs.stimulus if s not in have]
        if missing:
            raise ValueError(f"{len(missing)} stimulus(es) have no phone alignments: {missing[:5]}")
    device = torch.device("cpu") if device is None else torch.device(device)
    model = bundle.build_model(device)
    unit_ids, unit_coords = _unit_table(model, components)
    attrs = default_attrs(bundle.frame_rate, "s", bundle.model_id,
                          json.dumps({"features": bundle.features, "network": bundle.network.model_dump(mode="json"),
                                      "components": list(components), "mode": mode}, sort_keys=True))
    n = fs.n_tokens
    if split is None:
        split = fs.split
    if split is not None:
        split = np.asarray(split, dtype=object).astype(str)
        if split.shape != (n,):
            raise ValueError(f"split must have one label per stimulus ({n}), got shape {split.shape}")
    with StoreWriter(path, unit_ids, bundle.frame_rate, unit_coords=unit_coords, attrs=attrs,
                     overwrite=overwrite, compression=compression) as writer:
        state = None
        for start in progress(range(0, n, batch_size), desc=f"export {bundle.model_id}", verbose=verbose):
            idx = np.arange(start, min(n, start + batch_size))
            sids = [str(s) for s in fs.stimulus[idx]]
            coords = {"word": fs.word[idx].astype(str), "talker": fs.talker[idx].astype(str)}
            if split is not None:
                coords["split"] = split[idx]
            if mode == "isolated":
                x, lengths = fs.batch(torch.from_numpy(idx), device=device)
                outs, _ = _run(model, x, lengths, components, None)
                block = torch.cat(outs, dim=-1).float().cpu().numpy()
                arrays = [block[k, : int(fs.lengths[i])] for k, i in enumerate(idx)]
                sub = None if al is None else al[al["stimulus"].isin(sids)]
                writer.write(arrays, sids, alignments=sub, **coords)
                continue
            pending: list[int] = []  # short stimuli (one block) are written together, as in isolated mode

            def flush():
                if pending:
                    ids = [sids[k] for k in pending]
                    writer.write([arrays[k] for k in pending], ids,
                                 alignments=None if al is None else al[al["stimulus"].isin(ids)],
                                 **{c: v[pending] for c, v in coords.items()})
                    pending.clear()

            arrays = {}
            for k, i in enumerate(idx):  # stream mode: long stimuli block by block, written as they come
                if reset_state:
                    state = None
                box = [state]
                n_f = int(fs.lengths[i])
                gen = _stimulus_blocks(model, fs.features[i], n_f, components, state, block_frames, device, box)
                if n_f <= block_frames:
                    arrays[k] = next(gen)
                    pending.append(k)
                else:
                    flush()
                    sub = None if al is None else al[al["stimulus"] == sids[k]]
                    writer.write_blocks(sids[k], gen, alignments=sub, **{c: v[k] for c, v in coords.items()})
                state = box[0]
            flush()
    logger.info("exported %d stimuli x %d units to %s", n, len(unit_ids), path)
    return path


def export_corpus(bundle: ModelBundle | str | Path, corpus, path, *, components: Sequence[str] = ("h",),
                  stimulus: Sequence[str] | None = None, mode: str = "isolated", overwrite: bool = False,
                  batch_size: int = 64, device=None, verbose=None) -> Path:
    """Compute a corpus's features with the bundle's settings and export (alignments required)."""
    if not isinstance(bundle, ModelBundle):
        bundle = ModelBundle.load(bundle)
    path = check_path(path, "output store")
    if path.exists() and not overwrite:
        raise FileExistsError(f"output store '{path}' already exists; pass overwrite=True (--overwrite) to replace it")
    al = getattr(corpus, "alignments", None)
    if al is None or not len(al):
        raise ValueError(f"corpus at '{getattr(corpus, 'root', '?')}' has no alignments; exported stores need "
                         "phone and word alignments (rebuild the corpus with alignments)")
    feats = compute_bundle_features(bundle, corpus, stimulus=stimulus, verbose=verbose)
    return export_activations(bundle, feats, path, components=components, alignments=al[al["stimulus"].isin(
        set(feats["stimulus"].values.tolist()))], require_alignments=True, mode=mode, overwrite=overwrite,
        batch_size=batch_size, device=device, verbose=verbose)


def compute_bundle_features(bundle: ModelBundle, source, stimulus=None, sfreq=None, verbose=None):
    """Features of a corpus or sounds with the bundle's feature settings (unnormalised)."""
    from ..speech.features import compute_features

    f = bundle.features
    return compute_features(source, kind=f["kind"], sfreq=sfreq, stimulus=stimulus, verbose=verbose,
                            **dict(f.get("params") or {}))


class NetworkSubject(ModelSubject):
    """A trained speech network as a "subject": sounds or features in, activations out.

    Parameters
    ----------
    bundle : ModelBundle | path
    components : sequence of str
        Components per layer (``"h"``; ``"c"`` and gates on request).
    mode : {"isolated", "stream"}
        ``"isolated"``: zero state for every stimulus; ``"stream"``: the state carries over from
        one :meth:`run_one` call to the next until :meth:`reset`.
    device : str | None
    """

    time_unit = "s"

    def __init__(self, bundle, components: Sequence[str] = ("h",), mode: str = "isolated", device=None):
        self.bundle = bundle if isinstance(bundle, ModelBundle) else ModelBundle.load(bundle)
        self.components = tuple(components)
        for c in self.components:
            check_option(c, CELL_COMPONENTS[self.bundle.network.cell], "component")
        self.mode = check_option(mode, EXPORT_MODES, "mode")
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.model = self.bundle.build_model(self.device)
        self.model_id = self.bundle.model_id
        self.frame_rate = self.bundle.frame_rate
        self._state = None

    def config_json(self) -> str:
        return json.dumps({"features": self.bundle.features, "network": self.bundle.network.model_dump(mode="json"),
                           "components": list(self.components), "mode": self.mode}, sort_keys=True)

    def reset(self) -> None:
        """Forget the carried state (stream mode)."""
        self._state = None

    def features(self, stimulus) -> np.ndarray:
        """Normalised features ``(n_frames, n_features)`` of a stimulus.

        ``stimulus`` is ``(audio, sfreq)`` (features computed with the bundle's settings), a
        feature matrix already at the bundle's frame rate, or labelled features (an
        ``xarray.DataArray`` of dims ``(time, frequency)``, e.g. ``feats.sel(stimulus=...)``
        from :func:`~neurorrn.speech.compute_features`), whose attrs ``kind`` and ``params`` must
        match the bundle's (otherwise a ``ValueError`` names the differing settings).
        """
        if isinstance(stimulus, tuple):
            from ..speech.features import feature_kernel

            if len(stimulus) != 2:
                raise ValueError("a stimulus tuple must be (audio, sfreq)")
            fn, _, fr = feature_kernel(self.bundle.features["kind"], **dict(self.bundle.features.get("params") or {}))
            check_frame_rate(fr, self.bundle)
            feats = fn(np.asarray(stimulus[0], dtype=np.float64), float(stimulus[1]))
        else:
            attrs = getattr(stimulus, "attrs", None)
            if attrs:  # labelled features (e.g. one stimulus of compute_features): check their settings
                check_features_match(self.bundle.features, attrs.get("kind"), attrs.get("params"),
                                     model_id=self.model_id)
                if "frame_rate" in attrs:
                    check_frame_rate(attrs["frame_rate"], self.bundle)
                if "n_frames" in getattr(stimulus, "coords", {}):
                    stimulus = stimulus.isel(time=slice(0, int(stimulus["n_frames"])))
            feats = np.asarray(stimulus, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[1] != self.bundle.network.n_input:
            raise ValueError(f"features must have shape (n_frames, {self.bundle.network.n_input}), got {feats.shape}")
        return self.bundle.normalizer.transform_array(feats)

    def run_one(self, stimulus) -> dict:
        x = torch.from_numpy(self.features(stimulus)[None]).to(self.device)
        state = self._state if self.mode == "stream" else None
        outs, new_state = _run(self.model, x, None, self.components, state)
        if self.mode == "stream":
            self._state = new_state
        names = [f"{ln}.{c}" for ln in self.model.layer_names for c in self.components]
        return {n: o[0].float().cpu().numpy() for n, o in zip(names, outs)}


def _sound_reader(sound):
    """``(read(start, stop) -> float samples, n_samples, sfreq)`` of an ``(audio, sfreq)`` pair or a WAV path."""
    if isinstance(sound, tuple):
        if len(sound) != 2:
            raise ValueError("a sound must be (audio, sfreq) or a path to a .wav file")
        a = np.asarray(sound[0])
        if a.ndim != 1:
            raise ValueError(f"audio must be 1-D, got shape {a.shape}")
        return (lambda i, j: a[i:j]), int(a.size), float(sound[1])
    import wave

    path = check_path(sound, "sound path", must_exist=True, kind="file")
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"'{path}': only 16-bit PCM WAV files are read block by block "
                             f"(got {8 * w.getsampwidth()}-bit); pass (audio, sfreq) instead")
        n, sr, ch = w.getnframes(), w.getframerate(), w.getnchannels()

    def read(i, j):
        with wave.open(str(path), "rb") as w:
            w.setpos(int(i))
            raw = np.frombuffer(w.readframes(int(j - i)), dtype="<i2")
        return raw.reshape(-1, ch)[:, 0].astype(np.float64) / 32768.0

    return read, int(n), float(sr)


def export_sounds(bundle: ModelBundle | str | Path, sounds: dict, path, *, components: Sequence[str] = ("h",),
                  alignments: pd.DataFrame | None = None, reset_state: bool = True, block_frames: int = 6000,
                  split: dict | None = None, overwrite: bool = False, device=None, verbose=None,
                  compression: str | None = "gzip") -> Path:
    """Export long sounds (stories, sessions) with memory bounded by one block.

    Features (with the bundle's settings, :func:`~neurorrn.speech.features.iter_feature_blocks`),
    the network and the store writes all go block by block, so an hour of speech needs no more
    memory than ``block_frames`` frames of it.

    Parameters
    ----------
    bundle : ModelBundle | path
    sounds : dict of stimulus id -> (audio, sfreq) | path to a 16-bit WAV file
    path : output store
    components : sequence of str
    alignments : DataFrame | None
        Word/phone intervals of the sounds (times from each sound's onset).
    reset_state : bool
        Start every sound from the zero state (default: separate stories); False carries the
        state from one sound to the next (consecutive parts of one session).
    block_frames : int
    split : dict of stimulus id -> str | None
        Stored as the per-stimulus ``split`` coord.
    compression : {"gzip", None}
        As in :func:`export_activations`.
    """
    from ..speech.features import iter_feature_blocks

    if not isinstance(bundle, ModelBundle):
        bundle = ModelBundle.load(bundle)
    path = check_path(path, "output store")
    if path.exists() and not overwrite:
        raise FileExistsError(f"output store '{path}' already exists; pass overwrite=True (--overwrite) to replace it")
    if not isinstance(sounds, dict) or not sounds:
        raise ValueError("sounds must be a non-empty dict of stimulus id -> (audio, sfreq) or WAV path")
    cell = bundle.network.cell
    for c in components:
        check_option(c, CELL_COMPONENTS[cell], f"component of a {cell} network")
    device = torch.device("cpu") if device is None else torch.device(device)
    model = bundle.build_model(device)
    unit_ids, unit_coords = _unit_table(model, components)
    attrs = default_attrs(bundle.frame_rate, "s", bundle.model_id,
                          json.dumps({"features": bundle.features, "network": bundle.network.model_dump(mode="json"),
                                      "components": list(components), "mode": "stream",
                                      "reset_state": bool(reset_state)}, sort_keys=True))
    al = normalize_alignments(alignments) if alignments is not None else None
    f = bundle.features
    params = dict(f.get("params") or {})
    norm = bundle.normalizer
    state = None
    with StoreWriter(path, unit_ids, bundle.frame_rate, unit_coords=unit_coords, attrs=attrs,
                     overwrite=overwrite, compression=compression) as writer:
        for sid, sound in progress(sounds.items(), total=len(sounds), desc=f"export {bundle.model_id}",
                                   verbose=verbose):
            read, n_samples, sfreq = _sound_reader(sound)
            if reset_state:
                state = None
            box = [state]

            def blocks():
                st = box[0]
                for fb in iter_feature_blocks(read, sfreq, f["kind"], block_frames=block_frames, n_samples=n_samples,
                                              **params):
                    if fb.shape[1] != bundle.network.n_input:
                        raise ValueError(f"features have {fb.shape[1]} channels but model {bundle.model_id!r} "
                                         f"expects {bundle.network.n_input}")
                    x = torch.from_numpy(norm.transform_array(fb))[None].to(device)
                    outs, st = _run(model, x, None, components, st)
                    box[0] = st
                    yield torch.cat(outs, dim=-1)[0].float().cpu().numpy()

            coords = {"word": "", "talker": ""}
            if split is not None:
                coords["split"] = str(split.get(sid, ""))
            sub = None if al is None else al[al["stimulus"] == str(sid)]
            writer.write_blocks(str(sid), blocks(), alignments=sub, **coords)
            state = box[0]
    logger.info("exported %d sound(s) x %d units to %s", len(sounds), len(unit_ids), path)
    return path
