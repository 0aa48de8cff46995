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
from .bundle import ModelBundle
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
    """Return ``(list of (batch, time, units) per layer x component, new_state)``."""
    if tuple(components) == ("h",):
        # isolated items need no final state, so the padded batch runs unpacked (same outputs, faster)
        _, new_state, hidden = model(x, state, lengths, return_hidden=True, pack=False)
        return hidden, new_state
    out, _, new_state = model.forward_components(x, components, state=state)
    return [out[(ln, c)] for ln in model.layer_names for c in components], new_state


def export_activations(bundle: ModelBundle | str | Path, features, path, *, components: Sequence[str] = ("h",),
                       alignments: pd.DataFrame | None = None, require_alignments: bool = False,
                       mode: Literal["isolated", "stream"] = "isolated", batch_size: int = 64,
                       block_frames: int = 1000, normalize: bool = True, overwrite: bool = False,
                       device=None, verbose=None, layers=None, frame_rate: float | None = None) -> Path:
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
        Frames per forward pass in stream mode (state carried across blocks).
    normalize : bool
        Apply the bundle's training-set normaliser (default True).
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
    with StoreWriter(path, unit_ids, bundle.frame_rate, unit_coords=unit_coords, attrs=attrs,
                     overwrite=overwrite) as writer:
        state = None
        for start in progress(range(0, n, batch_size), desc=f"export {bundle.model_id}", verbose=verbose):
            idx = np.arange(start, min(n, start + batch_size))
            arrays = []
            if mode == "isolated":
                x, lengths = fs.batch(torch.from_numpy(idx), device=device)
                outs, _ = _run(model, x, lengths, components, None)
                block = torch.cat(outs, dim=-1).float().cpu().numpy()
                arrays = [block[k, : int(fs.lengths[i])] for k, i in enumerate(idx)]
            else:
                for i in idx:
                    n_f = int(fs.lengths[i])
                    parts = []
                    for t0 in range(0, n_f, block_frames):
                        t1 = min(n_f, t0 + block_frames)
                        x = torch.from_numpy(fs.features[i : i + 1, t0:t1]).to(device)
                        outs, state = _run(model, x, None, components, state)
                        parts.append(torch.cat(outs, dim=-1)[0].float().cpu().numpy())
                    arrays.append(np.concatenate(parts, axis=0))
            sids = [str(s) for s in fs.stimulus[idx]]
            sub = None
            if al is not None:
                sub = al[al["stimulus"].isin(sids)]
            writer.write(arrays, sids, alignments=sub, word=fs.word[idx].astype(str),
                         talker=fs.talker[idx].astype(str))
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

        ``stimulus`` is ``(audio, sfreq)`` (features computed with the bundle's settings) or a
        feature matrix already at the bundle's frame rate.
        """
        if isinstance(stimulus, tuple):
            from ..speech.features import feature_kernel

            if len(stimulus) != 2:
                raise ValueError("a stimulus tuple must be (audio, sfreq)")
            fn, _, fr = feature_kernel(self.bundle.features["kind"], **dict(self.bundle.features.get("params") or {}))
            check_frame_rate(fr, self.bundle)
            feats = fn(np.asarray(stimulus[0], dtype=np.float64), float(stimulus[1]))
        else:
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
