"""The "model as subject" interface: stimuli in, labelled hidden-unit activations out.

Every model of the package — trained speech networks (:mod:`neurorrn.models`) and the classic
models of :mod:`neurorrn.zoo` — implements :class:`ModelSubject`, so probing and encoding treat a
TRACE simulation, an Elman net and an LSTM alike: each gives an ActivationStore.

A subclass implements :meth:`ModelSubject.run_one` (one stimulus → ``{layer: (n_frames, n_units)}``)
and sets :attr:`model_id`, :attr:`frame_rate` and :attr:`time_unit`; the base class provides
:meth:`record` (many stimuli → store Dataset) and :meth:`record_to` (→ store file, in chunks).
"""

from __future__ import annotations

import abc
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from .store import StoreWriter, from_arrays
from .utils._logging import progress


class ModelSubject(abc.ABC):
    """Abstract model-as-subject.

    Attributes
    ----------
    model_id : str
        Identifies the model (and its weights) in store attrs.
    frame_rate : float
        Frames per second (``time_unit="s"``) or 1.0 per cycle/step.
    time_unit : {"s", "cycle", "step"}
    """

    model_id: str = "model"
    frame_rate: float = 100.0
    time_unit: str = "s"

    @abc.abstractmethod
    def run_one(self, stimulus: Any) -> Mapping[str, np.ndarray]:
        """Run one stimulus; return ``{layer_name: array of shape (n_frames, n_units_layer)}``."""

    def config_json(self) -> str:
        return "{}"

    def unit_table(self, layers: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict]:
        """Unit ids (``"layer:index"``) and per-unit coords for the given layer outputs."""
        ids, layer, comp = [], [], []
        for name, arr in layers.items():
            n = np.asarray(arr).shape[1]
            lname, _, component = name.partition(".")
            ids += [f"{name}:{i}" for i in range(n)]
            layer += [lname] * n
            comp += [component or "h"] * n
        return np.asarray(ids, dtype=object), {"layer": np.asarray(layer, dtype=object),
                                               "component": np.asarray(comp, dtype=object)}

    def record(self, stimuli: Sequence[Any], stimulus_ids: Sequence[str], *, alignments=None,
               verbose=None, **stimulus_coords) -> xr.Dataset:
        """Run every stimulus and return an in-memory store Dataset."""
        arrays, ids, coords = [], None, None
        for stim in progress(stimuli, desc=f"{self.model_id}: recording", verbose=verbose):
            out = self.run_one(stim)
            if ids is None:
                ids, coords = self.unit_table(out)
            arrays.append(np.concatenate([np.asarray(a, dtype=np.float32) for a in out.values()], axis=1))
        return from_arrays(arrays, list(stimulus_ids), self.frame_rate, ids, alignments=alignments,
                           time_unit=self.time_unit, model_id=self.model_id, config=self.config_json(),
                           **coords, **stimulus_coords)

    def record_to(self, path, stimuli: Sequence[Any], stimulus_ids: Sequence[str], *, alignments=None,
                  overwrite: bool = False, chunk: int = 64, verbose=None, **stimulus_coords):
        """Run every stimulus and write the store to ``path`` chunk by chunk (bounded memory)."""
        import pandas as pd

        from .store import default_attrs, normalize_alignments

        al = normalize_alignments(alignments) if alignments is not None else None
        writer = None
        buf, buf_ids, buf_idx = [], [], []
        try:
            for i, stim in enumerate(progress(stimuli, desc=f"{self.model_id}: recording", verbose=verbose)):
                out = self.run_one(stim)
                if writer is None:
                    ids, coords = self.unit_table(out)
                    attrs = default_attrs(self.frame_rate, self.time_unit, self.model_id, self.config_json())
                    writer = StoreWriter(path, ids, self.frame_rate, unit_coords=coords, attrs=attrs,
                                         time_unit=self.time_unit, overwrite=overwrite)
                buf.append(np.concatenate([np.asarray(a, dtype=np.float32) for a in out.values()], axis=1))
                buf_ids.append(stimulus_ids[i])
                buf_idx.append(i)
                if len(buf) >= chunk or i == len(stimuli) - 1:
                    sub = al[al["stimulus"].isin(buf_ids)] if al is not None else None
                    writer.write(buf, buf_ids, alignments=sub if sub is not None else pd.DataFrame(
                        columns=["stimulus", "tier", "label", "start", "end"]) if al is not None else None,
                        **{k: np.asarray(v)[buf_idx] for k, v in stimulus_coords.items()})
                    buf, buf_ids, buf_idx = [], [], []
        except BaseException:
            if writer is not None:
                writer.__exit__(*__import__("sys").exc_info())
            raise
        if writer is None:
            raise ValueError("no stimuli to record")
        return writer.close()
