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
                        "kind": str(self.targets.kind), "binary": bool(self.targets.binary)},
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
            targets=TargetSet(list(t["words"]), np.asarray(t["matrix"]), t["kind"], bool(t["binary"])),
            features=json.loads(d["features"]),
            normalizer=FeatureNormalizer.from_dict(d["normalizer"]),
            phones=list(d["phones"]),
            pronunciations={k: list(v) for k, v in d["pronunciations"].items()},
            model_id=str(d["model_id"]),
            run_config=json.loads(d["run_config"]),
            metrics=json.loads(d["metrics"]),
        )
