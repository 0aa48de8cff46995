"""A trained model that travels with its contract.

A :class:`ModelBundle` binds the network weights and architecture to everything needed to feed
it correctly and read it: the feature settings (kind, parameters, sample rate the corpus was
made at, frame rate), the causal normaliser fitted on the training tokens, the targets (words
and vectors), the phone inventory and pronunciations, and the run's config and metrics.  It is
one ``torch.save`` file of tensors and plain Python (loaded with ``weights_only=True``), written
atomically with ``overwrite=False`` by default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..utils._check import check_path
from ..utils._io import atomic_path
from .data import FeatureNormalizer
from .networks import NetworkConfig, SpeechRNN
from .targets import TargetSet

BUNDLE_FORMAT = "neurorrn-model-bundle"
#: Keys of ``ModelBundle.features`` that must match between a bundle and the features fed to it.
FEATURE_IDENTITY = ("kind", "params", "frame_rate", "n_features")


def bundle_feature_info(kind: str, params: dict | None, frame_rate: float, sfreq: float | None,
                        n_features: int, **extra) -> dict:
    """The ``features`` record of a bundle: the kind and the *complete* parameters computed.

    ``params`` are completed with the kernel's defaults (:func:`neurorrn.speech.features.feature_params`)
    so that a later caller who relies on a default is still checked against what was used.
    Kinds that are not computed by :mod:`neurorrn.speech.features` (e.g. planted test features)
    keep their params as given.
    """
    from ..speech.features import FEATURE_KINDS, feature_params

    p = dict(params or {})
    if kind in FEATURE_KINDS:
        p = feature_params(kind, **p)
    return {"kind": str(kind), "params": p, "frame_rate": float(frame_rate),
            "sfreq": None if sfreq is None else float(sfreq), "n_features": int(n_features), **extra}


def features_record(features, kind: str, params: dict | None, sfreq: float | None, n_features: int) -> dict:
    """A bundle's ``features`` record from the features a network was actually trained on.

    ``features`` (an ``xarray.DataArray`` from :func:`~neurorrn.speech.compute_features`) carries
    the kind and parameters computed in its attrs ``kind`` and ``params``; those win over the
    config's ``kind``/``params`` (which are used only when the attrs are absent).
    """
    attrs = getattr(features, "attrs", {}) or {}
    k = attrs.get("kind", kind)
    p = attrs.get("params")
    p = (json.loads(p) if isinstance(p, str) and p.strip() else dict(p or {})) if p is not None else dict(params or {})
    return bundle_feature_info(k, p, float(attrs.get("frame_rate", 100.0)), sfreq, n_features)


def check_features_match(bundle_features: dict, kind, params, what: str = "features", model_id: str = "model") -> None:
    """Raise a clear error unless ``kind``/``params`` are what the bundle's network was trained on.

    Parameters
    ----------
    bundle_features : dict
        ``ModelBundle.features``.
    kind : str | None
        Kind of the given features (None: unknown, not checked).
    params : dict | str | None
        Their parameters (a JSON string as in ``compute_features`` attrs; None: not checked).
    """
    from ..speech.features import FEATURE_KINDS, feature_params

    if kind is None:
        return
    want_kind = bundle_features.get("kind")
    if str(kind) != str(want_kind):
        raise ValueError(f"{what} are {kind!r} features but model {model_id!r} was trained on {want_kind!r} "
                         f"features with {json.dumps(bundle_features.get('params'), sort_keys=True, default=str)}; "
                         f"recompute them with the bundle's settings (compute_bundle_features)")
    if params is None:
        return
    if isinstance(params, str):
        params = json.loads(params) if params.strip() else {}
    given = dict(params)
    want = dict(bundle_features.get("params") or {})
    if kind in FEATURE_KINDS:
        given, want = feature_params(kind, **given), feature_params(kind, **want)
    diff = {k: (given.get(k), want.get(k)) for k in sorted(set(given) | set(want)) if given.get(k) != want.get(k)}
    if diff:
        detail = ", ".join(f"{k}={g!r} (model: {w!r})" for k, (g, w) in diff.items())
        raise ValueError(f"{what} were computed with different {kind!r} parameters than model {model_id!r} was "
                         f"trained on: {detail}; recompute them with the bundle's settings (compute_bundle_features)")
BUNDLE_VERSION = 1


@dataclass
class ModelBundle:
    """Weights + feature settings + targets + phone inventory of a trained network.

    Attributes
    ----------
    network : NetworkConfig
    state_dict : dict of str -> Tensor
    targets : TargetSet
    features : dict
        ``kind`` (e.g. ``"earshot"``), ``params`` (kernel parameters), ``frame_rate`` (frames/s),
        ``sfreq`` (audio sample rate of the training corpus), ``n_features``.
    normalizer : FeatureNormalizer
        Fitted on the training tokens; applied frame by frame.
    phones : list of str
        Phone inventory (ARPAbet without stress) of the training lexicon.
    pronunciations : dict of str -> list of str
    model_id : str
    run_config : dict
    metrics : dict
    """

    network: NetworkConfig
    state_dict: dict
    targets: TargetSet
    features: dict
    normalizer: FeatureNormalizer
    phones: list = field(default_factory=list)
    pronunciations: dict = field(default_factory=dict)
    model_id: str = "speech-rnn"
    run_config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    @property
    def frame_rate(self) -> float:
        return float(self.features["frame_rate"])

    def build_model(self, device=None) -> SpeechRNN:
        """The network with the bundle's weights, in eval mode."""
        model = SpeechRNN(self.network)
        model.load_state_dict(self.state_dict)
        model.eval()
        return model.to(device) if device is not None else model

    def save(self, path, overwrite: bool = False) -> Path:
        payload = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "network": self.network.model_dump(mode="json"),
            "state_dict": {k: v.detach().to("cpu") for k, v in self.state_dict.items()},
            "targets": {"words": [str(w) for w in self.targets.words],
                        "matrix": torch.from_numpy(np.ascontiguousarray(self.targets.matrix)),
                        "kind": str(self.targets.kind), "binary": bool(self.targets.binary),
                        "aliases": {str(k): str(v) for k, v in self.targets.aliases.items()}},
            "features": json.dumps(self.features, sort_keys=True, default=str),
            "normalizer": self.normalizer.to_dict(),
            # plain Python types only: torch.load(weights_only=True) refuses numpy scalars
            "phones": [str(p) for p in self.phones],
            "pronunciations": {str(k): [str(p) for p in v] for k, v in self.pronunciations.items()},
            "model_id": str(self.model_id),
            "run_config": json.dumps(self.run_config, sort_keys=True, default=str),
            "metrics": json.dumps(self.metrics, sort_keys=True, default=str),
        }
        path = Path(path)
        with atomic_path(path, overwrite=overwrite) as tmp:
            torch.save(payload, tmp)
        return path

    @classmethod
    def load(cls, path) -> "ModelBundle":
        path = check_path(path, "bundle path", must_exist=True, kind="file")
        try:
            d = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001
            raise ValueError(f"'{path}' is not a readable model bundle: {type(err).__name__}: {err}") from None
        if not isinstance(d, dict) or d.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"'{path}' is not a neurorrn model bundle (a checkpoint? use the bundle "
                             f"written by `neurorrn train`, model.pt)")
        if int(d.get("version", 0)) > BUNDLE_VERSION:
            raise ValueError(f"'{path}' has bundle version {d['version']}; this neurorrn reads up to {BUNDLE_VERSION}")
        missing = [k for k in ("network", "state_dict", "targets", "features", "normalizer", "phones",
                               "pronunciations", "model_id", "run_config", "metrics") if k not in d]
        if missing:
            raise ValueError(f"model bundle '{path}' lacks {missing}; it was not written completely by "
                             "ModelBundle.save (`neurorrn train` writes model.pt)")
        t = d["targets"]
        bad_t = [k for k in ("words", "matrix", "kind", "binary") if not isinstance(t, dict) or k not in t]
        if bad_t:
            raise ValueError(f"model bundle '{path}': 'targets' lacks {bad_t}")
        return cls(
            network=NetworkConfig.from_dict(d["network"], source=f"{path}: network"),
            state_dict=d["state_dict"],
            targets=TargetSet(list(t["words"]), np.asarray(t["matrix"]), t["kind"], bool(t["binary"]),
                              dict(t.get("aliases") or {})),
            features=json.loads(d["features"]),
            normalizer=FeatureNormalizer.from_dict(d["normalizer"]),
            phones=list(d["phones"]),
            pronunciations={k: list(v) for k, v in d["pronunciations"].items()},
            model_id=str(d["model_id"]),
            run_config=json.loads(d["run_config"]),
            metrics=json.loads(d["metrics"]),
        )
