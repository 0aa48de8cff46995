"""Your own model: record any ``torch.nn.Module`` through forward hooks on named submodules.

:class:`HookSubject` is a :class:`~neurorrn.subject.ModelSubject`: it registers a forward hook on
each named submodule (names as in ``module.named_modules()``), runs one stimulus, and returns each
hooked output as ``(n_frames, n_units)``.  Outputs are unpacked the usual way:

* a tuple or list (``nn.GRU``/``nn.RNN`` return ``(output, h_n)``, ``nn.LSTM`` ``(output,
  (h_n, c_n))``, a ``transformers`` layer ``(hidden_states, ...)``): its first element;
* a ``PackedSequence``: padded back;
* a tensor ``(1, time, units)`` (batch first), ``(time, 1, units)`` (a recurrent module with
  ``batch_first=False``) or ``(time, units)``; more trailing dims are flattened into units.

``unpack={layer: callable}`` overrides this for a layer (e.g. ``lambda out: out[1][0]`` for the
LSTM's final state).

Two modes, as :func:`~neurorrn.models.export_activations`:

``"isolated"``
    Each stimulus is its own forward pass (the module's default initial state).
``"stream"``
    The stimuli are consecutive segments of one continuous input: the module runs once over
    their concatenation (so a recurrent state, or an attention window, carries across segment
    boundaries) and each hooked output is cut back at the boundaries.  Memory grows with the
    stream's length; split long recordings into streams yourself.

:func:`export_module_activations` writes the store (chunk by chunk, with alignments);
:func:`~neurorrn.models.export_activations` hands a ``torch.nn.Module`` to it.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np
import torch

from ..subject import ModelSubject
from ..utils._check import check_option, check_positive
from ..utils._logging import logger

HOOK_MODES = ("isolated", "stream")


def unpack_output(output, module: torch.nn.Module | None = None, name: str = "output") -> torch.Tensor:
    """A hooked module's output as a ``(time, units)`` tensor (see the module docstring)."""
    from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

    out = output
    while isinstance(out, (tuple, list)):
        if not out:
            raise ValueError(f"layer {name!r}: the module returned an empty {type(out).__name__}")
        out = out[0]
    if isinstance(out, PackedSequence):
        out, _ = pad_packed_sequence(out, batch_first=True)
    if hasattr(out, "last_hidden_state"):  # a transformers ModelOutput
        out = out.last_hidden_state
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"layer {name!r}: cannot read a {type(out).__name__} as activations; pass "
                        f"unpack={{{name!r}: callable}} returning a tensor")
    batch_first = getattr(module, "batch_first", True) if isinstance(module, torch.nn.RNNBase) else True
    if out.ndim == 2:
        return out
    if out.ndim < 2:
        raise ValueError(f"layer {name!r}: output of shape {tuple(out.shape)} has no time dim")
    if not batch_first:
        out = out.transpose(0, 1)
    if out.shape[0] != 1:
        raise ValueError(f"layer {name!r}: expected one batch row (stimuli run one at a time), got output "
                         f"of shape {tuple(out.shape)}")
    return out[0].reshape(out.shape[1], -1)


def _default_input(stimulus) -> tuple:
    x = torch.as_tensor(np.asarray(stimulus, dtype=np.float32))
    if x.ndim != 2:
        raise ValueError(f"a stimulus must be a (n_frames, n_features) array, got shape {tuple(x.shape)}; "
                         f"pass input_fn= for other inputs")
    return (x[None],)


class HookSubject(ModelSubject):
    """Any ``torch.nn.Module`` as a model subject, recorded through forward hooks.

    Parameters
    ----------
    module : torch.nn.Module
        Put in ``eval()`` mode while recording (restored afterwards); gradients are off.
    layers : list of str | dict
        Submodule names as in ``module.named_modules()`` (``"gru"``, ``"encoder.layers.3"``), or
        ``{store layer name: submodule name}``.  The store's unit coords ``layer`` carry these
        names, ``component`` is ``"h"``.
    frame_rate : float
        Frames per second of the hooked outputs (``time_unit="s"``).  All layers must give the
        same number of frames for a stimulus.
    input_fn : callable, optional
        ``stimulus -> tuple of forward arguments`` (a tensor alone is wrapped); by default a
        ``(n_frames, n_features)`` array becomes a ``(1, n_frames, n_features)`` float32 tensor.
    unpack : dict, optional
        ``{layer: callable(output) -> tensor}`` for outputs the default unpacking does not read.
    input_rate : float, optional
        Frames per second of the input (for stream mode, where outputs are cut at the segment
        boundaries: segment ``i`` spans ``n_frames_i * frame_rate / input_rate`` output frames).
        Default ``frame_rate`` (outputs frame for frame with the input).
    model_id : str
    device : str | torch.device, optional
        Where the module runs (default: where its parameters are).
    """

    time_unit = "s"

    def __init__(self, module: torch.nn.Module, layers, frame_rate: float, *, input_fn: Callable | None = None,
                 unpack: Mapping[str, Callable] | None = None, input_rate: float | None = None,
                 model_id: str | None = None, device=None):
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        check_positive(frame_rate, "frame_rate")
        self.module = module
        named = dict(module.named_modules())
        pairs = list(layers.items()) if isinstance(layers, Mapping) else [(str(n), str(n)) for n in layers]
        if not pairs:
            raise ValueError("layers is empty: name at least one submodule")
        for store_name, sub in pairs:
            if sub not in named or sub == "":
                close = difflib.get_close_matches(sub, [n for n in named if n], n=3)
                hint = f" Did you mean {close}?" if close else ""
                raise ValueError(f"{type(module).__name__} has no submodule {sub!r}.{hint} Submodules: "
                                 f"{[n for n in named if n][:30]}")
            if "." in store_name or ":" in store_name:
                raise ValueError(f"store layer name {store_name!r} may not contain '.' or ':' (they separate "
                                 f"component and unit index in unit ids); pass layers as a dict "
                                 f"{{'name': {sub!r}}}")
        self.layers = dict(pairs)
        self.frame_rate = float(frame_rate)
        self.input_rate = float(input_rate) if input_rate is not None else self.frame_rate
        self.input_fn = input_fn or _default_input
        self.unpack = dict(unpack or {})
        unknown = sorted(set(self.unpack) - set(self.layers))
        if unknown:
            raise ValueError(f"unpack names layers {unknown} that are not in layers {list(self.layers)}")
        self.model_id = model_id or type(module).__name__
        if device is None:
            p = next(module.parameters(), None)
            device = p.device if p is not None else torch.device("cpu")
        self.device = torch.device(device)

    def config_json(self) -> str:
        return json.dumps({"module": type(self.module).__name__, "layers": self.layers,
                           "frame_rate": self.frame_rate, "input_rate": self.input_rate})

    def _forward(self, args) -> dict[str, torch.Tensor]:
        if isinstance(args, torch.Tensor):
            args = (args,)
        args = tuple(a.to(self.device) if isinstance(a, torch.Tensor) else a for a in args)
        named = dict(self.module.named_modules())
        captured: dict[str, Any] = {}
        handles = []
        for store_name, sub in self.layers.items():
            def hook(mod, inp, out, _name=store_name):
                captured[_name] = (mod, out)
            handles.append(named[sub].register_forward_hook(hook))
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                self.module(*args)
        finally:
            for h in handles:
                h.remove()
            self.module.train(was_training)
        out = {}
        for store_name in self.layers:
            if store_name not in captured:
                raise RuntimeError(f"layer {store_name!r} ({self.layers[store_name]}) was not called during the "
                                   f"forward pass")
            mod, val = captured[store_name]
            fn = self.unpack.get(store_name)
            t = fn(val) if fn is not None else unpack_output(val, mod, store_name)
            if t.ndim == 3 and t.shape[0] == 1:
                t = t[0]
            out[store_name] = t.detach().float().cpu()
        n = {k: v.shape[0] for k, v in out.items()}
        if len(set(n.values())) > 1:
            raise ValueError(f"the hooked layers give different numbers of frames {n}; one store has one "
                             f"frame rate: record layers of different rates into separate stores")
        return out

    def run_one(self, stimulus) -> dict[str, np.ndarray]:
        """``{layer: (n_frames, n_units)}`` for one stimulus (isolated)."""
        return {k: v.numpy() for k, v in self._forward(self.input_fn(stimulus)).items()}

    def run_stream(self, segments: Sequence) -> list[dict[str, np.ndarray]]:
        """Run consecutive segments as one input; outputs cut at the segment boundaries.

        Each segment is a ``(n_frames_i, n_features)`` array (the default input), concatenated
        along time before ``input_fn`` (with the default input) sees it.
        """
        arrays = [np.asarray(s, dtype=np.float32) for s in segments]
        bounds_in = np.cumsum([0] + [a.shape[0] for a in arrays])
        out = self._forward(self.input_fn(np.concatenate(arrays, 0)))
        n_out = next(iter(out.values())).shape[0]
        ratio = self.frame_rate / self.input_rate
        bounds = np.round(bounds_in * ratio).astype(int)
        if abs(bounds[-1] - n_out) > max(1, int(np.ceil(ratio))):
            raise ValueError(f"the stream of {bounds_in[-1]} input frames gave {n_out} output frames; with "
                             f"frame_rate={self.frame_rate:g} and input_rate={self.input_rate:g} "
                             f"{bounds[-1]} were expected")
        bounds[-1] = n_out
        return [{k: v[a:b].numpy() for k, v in out.items()} for a, b in zip(bounds[:-1], bounds[1:])]


def _features_to_stimuli(features, stimulus_ids=None):
    """``(list of (n_frames, n_features) arrays, ids, input rate, word, talker)``."""
    import xarray as xr

    if isinstance(features, xr.DataArray):
        missing = [d for d in ("stimulus", "time") if d not in features.dims]
        if missing:
            raise ValueError(f"features need dims ('stimulus', 'time', <feature dim>), got {features.dims}")
        feat_dim = [d for d in features.dims if d not in ("stimulus", "time")]
        da = features.transpose("stimulus", "time", *feat_dim)
        vals = da.values
        if "n_frames" in da.coords:
            n = da["n_frames"].values.astype(int)
        else:
            n = (~np.isnan(vals).all(axis=tuple(range(2, vals.ndim)))).sum(1)
        arrays = [vals[i, : n[i]].reshape(n[i], -1) for i in range(vals.shape[0])]
        ids = [str(s) for s in da["stimulus"].values]
        rate = features.attrs.get("frame_rate")
        coords = {c: np.asarray(da[c].values).astype(str) for c in ("word", "talker") if c in da.coords}
        return arrays, ids, rate, coords
    arrays = list(features)
    if stimulus_ids is None:
        raise ValueError("stimulus_ids are needed when features are a list of arrays")
    if len(stimulus_ids) != len(arrays):
        raise ValueError(f"{len(arrays)} stimuli but {len(stimulus_ids)} stimulus_ids")
    return arrays, [str(s) for s in stimulus_ids], None, {}


def export_module_activations(module: torch.nn.Module, features, path=None, *, layers, frame_rate: float | None = None,
                              stimulus_ids: Sequence[str] | None = None, mode: Literal["isolated", "stream"] = "isolated",
                              alignments=None, input_fn: Callable | None = None, unpack: Mapping | None = None,
                              model_id: str | None = None, overwrite: bool = False, chunk: int = 64,
                              device=None, verbose=None, **stimulus_coords):
    """Record the named submodules of any ``torch.nn.Module`` into an ActivationStore.

    Parameters
    ----------
    module : torch.nn.Module
    features : DataArray (stimulus, time, feature) | list of arrays (n_frames, n_features)
        A DataArray from :func:`neurorrn.speech.compute_features` (NaN-padded; ``n_frames`` and
        the attr ``frame_rate`` are used; ``word``/``talker`` coords are carried into the store),
        or plain arrays with ``stimulus_ids``.
    path : path-like | None
        The store file; ``None`` returns the store in memory (an ``xarray.Dataset``).
    layers : list of str | dict
        Submodules to hook (see :class:`HookSubject`).
    frame_rate : float | None
        Frames per second of the hooked outputs; default the features' ``frame_rate``
        (outputs frame for frame with the input).
    mode : {'isolated', 'stream'}
        See the module docstring; in stream mode the stimuli, in the given order, are one stream.
    alignments : DataFrame | None
        Phone/word intervals (``stimulus, tier, label, start, end``), e.g. ``corpus.alignments``.
    input_fn, unpack, model_id, device
        See :class:`HookSubject`.

    Returns
    -------
    Path | xarray.Dataset
    """
    check_option(mode, HOOK_MODES, "mode")
    arrays, ids, in_rate, coords = _features_to_stimuli(features, stimulus_ids)
    rate = frame_rate if frame_rate is not None else in_rate
    if rate is None:
        raise ValueError("frame_rate is needed: the features carry no 'frame_rate' attr")
    subject = HookSubject(module, layers, float(rate), input_fn=input_fn, unpack=unpack,
                          input_rate=in_rate or float(rate), model_id=model_id, device=device)
    coords = {**coords, **stimulus_coords}
    if mode == "isolated":
        first = subject.run_one(arrays[0])
        n_in = arrays[0].shape[0]
        n_out = next(iter(first.values())).shape[0]
        if frame_rate is None and n_out != n_in:
            raise ValueError(f"the hooked layers give {n_out} frames for {n_in} input frames (stimulus "
                             f"{ids[0]!r}); pass frame_rate= (frames per second of the outputs)")
        stimuli = arrays
    else:
        outs = subject.run_stream(arrays)
        stimuli = list(range(len(outs)))
        subject = _Replay(subject, outs)
    logger.info("hooks on %s of %s: %d stimuli (%s)", list(subject.layers), subject.model_id, len(ids), mode)
    if path is None:
        return subject.record(stimuli, ids, alignments=alignments, verbose=verbose, **coords)
    return subject.record_to(path, stimuli, ids, alignments=alignments, overwrite=overwrite, chunk=chunk,
                             verbose=verbose, **coords)


class _Replay(ModelSubject):
    """Outputs computed in one stream pass, handed out segment by segment."""

    def __init__(self, subject: HookSubject, outs):
        self.model_id, self.frame_rate, self.time_unit = subject.model_id, subject.frame_rate, "s"
        self.layers, self._outs, self._subject = subject.layers, outs, subject

    def config_json(self) -> str:
        cfg = json.loads(self._subject.config_json())
        return json.dumps({**cfg, "mode": "stream"})

    def run_one(self, stimulus):
        return self._outs[int(stimulus)]
