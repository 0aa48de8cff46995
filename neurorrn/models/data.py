"""Feature sets for training and evaluation: padded arrays, causal normalisation, hold-out splits.

:class:`FeatureSet` holds one feature matrix per token (zero-padded to a common length, with the
true lengths), the token's word and talker, and the frame rate.  It is built from the labelled
features of :func:`neurorrn.speech.compute_features` (an ``xarray.DataArray`` with dims
``("stimulus", "time", "frequency")``, NaN past each token's end) or from plain arrays.

Normalisation is **causal**: :class:`FeatureNormalizer` learns one mean and standard deviation per
channel from the valid frames of the *training* tokens and applies that fixed affine map to every
frame of every token.  It never normalises over a token, which would leak the word's end into
its first frame.

:func:`holdout_split` reproduces EARSHOT's hold-out modes (``Pattern_Feeder.py`` at 9bbc247).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
import torch

from .._dims import FREQUENCY, STIMULUS, TIME
from ..utils._check import check_option, check_random_state

SPLITS = ("trained", "excluded_word", "excluded_talker")
HOLDOUT_MODES = ("none", "P", "T", "M")


@dataclass
class FeatureSet:
    """Token features for a network.

    Attributes
    ----------
    features : ndarray of shape (n_tokens, n_time, n_features), float32
        Zero past each token's end.
    lengths : ndarray of shape (n_tokens,), int64
    stimulus, word, talker : ndarray of str, shape (n_tokens,)
    frame_rate : float
        Frames per second.
    split : ndarray of str, shape (n_tokens,) | None
        ``"trained"``, ``"excluded_word"`` or ``"excluded_talker"``.
    """

    features: np.ndarray
    lengths: np.ndarray
    stimulus: np.ndarray
    word: np.ndarray
    talker: np.ndarray
    frame_rate: float
    split: np.ndarray | None = None
    _tensor: torch.Tensor | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self.features = np.ascontiguousarray(self.features, dtype=np.float32)
        if self.features.ndim != 3:
            raise ValueError(f"features must have shape (n_tokens, n_time, n_features), got {self.features.shape}")
        n = self.features.shape[0]
        self.lengths = np.asarray(self.lengths, dtype=np.int64)
        for name in ("stimulus", "word", "talker"):
            arr = np.asarray(getattr(self, name), dtype=object)
            if arr.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
            setattr(self, name, arr)
        if self.lengths.shape != (n,):
            raise ValueError(f"lengths must have shape ({n},), got {self.lengths.shape}")
        if n and (self.lengths.min() < 1 or self.lengths.max() > self.features.shape[1]):
            raise ValueError(f"lengths must lie in [1, {self.features.shape[1]}]")
        if self.split is not None:
            self.split = np.asarray(self.split, dtype=object)
        if not np.isfinite(self.features).all():
            bad = np.argwhere(~np.isfinite(self.features))[0]
            raise ValueError(f"features of {self.stimulus[bad[0]]!r} are not finite at frame {bad[1]} "
                             f"(within its {self.lengths[bad[0]]} frames)")
        if not (self.frame_rate > 0):
            raise ValueError(f"frame_rate must be > 0, got {self.frame_rate}")

    # ---------------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, arrays: Sequence[np.ndarray], stimulus, word, talker, frame_rate: float,
                    split=None) -> "FeatureSet":
        """From one ``(n_frames_i, n_features)`` array per token."""
        if not len(arrays):
            raise ValueError("arrays is empty")
        n_feat = {np.asarray(a).shape[1] for a in arrays}
        if len(n_feat) != 1:
            raise ValueError(f"arrays have different numbers of features: {sorted(n_feat)}")
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        out = np.zeros((len(arrays), int(lengths.max()), n_feat.pop()), dtype=np.float32)
        for i, a in enumerate(arrays):
            out[i, : len(a)] = a
        return cls(out, lengths, np.asarray(stimulus), np.asarray(word), np.asarray(talker), float(frame_rate), split)

    @classmethod
    def from_xarray(cls, da, split=None) -> "FeatureSet":
        """From labelled features (dims ``stimulus, time, frequency``; attr ``frame_rate``).

        Lengths come from the ``n_frames`` coord, else from the NaN padding; ``word`` and
        ``talker`` coords are required.
        """
        import xarray as xr

        if not isinstance(da, xr.DataArray):
            raise TypeError(f"features must be an xarray.DataArray, got {type(da).__name__}")
        feat_dim = FREQUENCY if FREQUENCY in da.dims else "feature"
        expected = (STIMULUS, TIME, feat_dim)
        if set(da.dims) != set(expected):
            raise ValueError(f"features must have dims {expected}, got {da.dims}")
        da = da.transpose(*expected)
        if "frame_rate" not in da.attrs:
            raise ValueError("features lack the attr 'frame_rate' (frames per second)")
        for c in ("word", "talker"):
            if c not in da.coords:
                raise ValueError(f"features lack the per-stimulus coord {c!r}")
        values = np.asarray(da.values, dtype=np.float32)
        if "n_frames" in da.coords:
            lengths = np.asarray(da["n_frames"].values, dtype=np.int64)
        else:
            valid = ~np.isnan(values).all(axis=2)
            lengths = valid.sum(axis=1)
        if (lengths < 0).any() or (lengths > values.shape[1]).any():
            i = int(np.flatnonzero((lengths < 0) | (lengths > values.shape[1]))[0])
            raise ValueError(f"n_frames of stimulus {str(da[STIMULUS].values[i])!r} is {lengths[i]}; it must lie "
                             f"in [0, {values.shape[1]}]")
        inside = np.arange(values.shape[1])[None, :] < lengths[:, None]
        bad = ~np.isfinite(values) & inside[:, :, None]
        if bad.any():  # check before the padding is zeroed, or NaN features would train as silence
            i, t, f = np.argwhere(bad)[0]
            kind = "NaN" if np.isnan(values[i, t, f]) else "Inf"
            raise ValueError(f"features of stimulus {str(da[STIMULUS].values[i])!r} hold {kind} at frame {t}, "
                             f"{feat_dim} {f} (inside its {lengths[i]} valid frames); features must be finite")
        values = np.where(np.isnan(values), np.float32(0), values)
        if split is None and "split" in da.coords:
            split = da["split"].values
        return cls(values, lengths, da[STIMULUS].values.astype(str), da["word"].values.astype(str),
                   da["talker"].values.astype(str), float(da.attrs["frame_rate"]), split)

    # ---------------------------------------------------------------------------------
    @property
    def n_tokens(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.features.shape[2])

    def __len__(self) -> int:
        return self.n_tokens

    def subset(self, index) -> "FeatureSet":
        """Tokens at ``index`` (int array or bool mask), trimmed to their longest length."""
        idx = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.asarray(index, dtype=np.int64)
        if not len(idx):
            raise ValueError("subset is empty")
        n_t = int(self.lengths[idx].max())
        return FeatureSet(self.features[idx, :n_t], self.lengths[idx], self.stimulus[idx], self.word[idx],
                          self.talker[idx], self.frame_rate, None if self.split is None else self.split[idx])

    def tensor(self) -> torch.Tensor:
        """The features as a (cached, CPU) tensor sharing memory with :attr:`features`."""
        if self._tensor is None:
            self._tensor = torch.from_numpy(self.features)
        return self._tensor

    def batch(self, index: torch.Tensor, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded batch ``(x (batch, max_len, n_features), lengths (batch,))`` for token indices."""
        lengths = torch.from_numpy(self.lengths)[index]
        n_t = int(lengths.max())
        x = self.tensor()[index, :n_t]
        if device is not None and torch.device(device).type != "cpu":
            x = x.to(device, non_blocking=True)
            lengths = lengths.to(device, non_blocking=True)
        return x, lengths


class FeatureNormalizer:
    """Per-channel affine normalisation fitted on training tokens (causal by construction).

    Parameters
    ----------
    kind : {"none", "zscore"}
        ``"zscore"``: subtract the channel mean and divide by the channel SD, both computed over
        every valid frame of the training tokens.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
    """

    def __init__(self, kind: Literal["none", "zscore"] = "zscore"):
        self.kind = kind

    def fit(self, data: FeatureSet) -> "FeatureNormalizer":
        check_option(self.kind, ("none", "zscore"), "normalization")
        if self.kind == "none":
            self.mean_ = np.zeros(data.n_features, dtype=np.float32)
            self.scale_ = np.ones(data.n_features, dtype=np.float32)
            return self
        mask = np.arange(data.features.shape[1])[None, :] < data.lengths[:, None]
        frames = data.features[mask]  # (n_valid_frames, n_features)
        self.mean_ = frames.mean(axis=0).astype(np.float32)
        sd = frames.std(axis=0).astype(np.float32)
        self.scale_ = np.where(sd > 1e-8, sd, np.float32(1.0)).astype(np.float32)
        return self

    def transform_array(self, x: np.ndarray) -> np.ndarray:
        """Normalise an array ``(..., n_features)`` frame by frame."""
        if not hasattr(self, "mean_"):
            raise RuntimeError("FeatureNormalizer is not fitted; call fit() on the training tokens first")
        x = np.asarray(x, dtype=np.float32)
        if x.shape[-1] != self.mean_.shape[0]:
            raise ValueError(f"features have {x.shape[-1]} channels; the normaliser was fitted on {self.mean_.shape[0]}")
        return (x - self.mean_) / self.scale_

    def transform(self, data: FeatureSet) -> FeatureSet:
        """A new FeatureSet with normalised valid frames (padding stays 0)."""
        feats = self.transform_array(data.features)
        mask = np.arange(feats.shape[1])[None, :, None] < data.lengths[:, None, None]
        feats = np.where(mask, feats, np.float32(0))
        return FeatureSet(feats, data.lengths, data.stimulus, data.word, data.talker, data.frame_rate, data.split)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureNormalizer":
        obj = cls(d["kind"])
        obj.mean_ = np.asarray(d["mean"], dtype=np.float32)
        obj.scale_ = np.asarray(d["scale"], dtype=np.float32)
        return obj


def holdout_split(words: Sequence[str], talkers: Sequence[str], mode: str = "M",
                  excluded_talker: str | None = None, random_state=0) -> np.ndarray:
    """EARSHOT's hold-out assignment of tokens (``Pattern_Feeder.Training_Pattern_Dict_Generate``).

    Parameters
    ----------
    words, talkers : sequence of str, shape (n_tokens,)
        Word and talker of each token.
    mode : {"none", "P", "T", "M"}
        ``"P"``: with ``k = n_words // n_talkers``, the i-th talker of a shuffled talker list
        loses the words ``[k*i, k*(i+1))`` of a shuffled word list.  ``"T"``: every token of
        one talker (``excluded_talker``, else the last of the shuffled talker list) is excluded.
        ``"M"``: T, then P over the remaining talkers with ``k`` computed *before* the excluded
        talker is removed (so at 1000 words x 10 talkers, 9 x 100 words are excluded, the last
        100 shuffled words are trained for every remaining talker: 8100 trained, 1900 excluded).
    excluded_talker : str | None
    random_state : int | Generator

    Returns
    -------
    split : ndarray of str, shape (n_tokens,)
        ``"trained"``, ``"excluded_word"`` or ``"excluded_talker"``.
    """
    check_option(mode, HOLDOUT_MODES, "holdout mode")
    words = np.asarray(words, dtype=object)
    talkers = np.asarray(talkers, dtype=object)
    if words.shape != talkers.shape or words.ndim != 1:
        raise ValueError(f"words and talkers must be 1-D of equal length, got {words.shape} and {talkers.shape}")
    split = np.full(words.shape, "trained", dtype=object)
    if mode == "none":
        return split
    rng = check_random_state(random_state)
    word_list = sorted(set(words.tolist()))
    talker_list = sorted(set(talkers.tolist()))
    word_order = [word_list[i] for i in rng.permutation(len(word_list))]
    talker_order = [talker_list[i] for i in rng.permutation(len(talker_list))]
    k = len(word_list) // len(talker_list)
    remaining = list(talker_order)
    if mode in ("T", "M"):
        if excluded_talker is None:
            excluded_talker = talker_order[-1]
        elif excluded_talker not in talker_list:
            raise ValueError(f"excluded_talker {excluded_talker!r} is not among the talkers {talker_list}")
        split[talkers == excluded_talker] = "excluded_talker"
        remaining.remove(excluded_talker)
    if mode in ("P", "M"):
        for i, t in enumerate(remaining):
            lost = set(word_order[k * i : k * (i + 1)])
            sel = (talkers == t) & np.isin(words, list(lost))
            split[sel] = "excluded_word"
    return split
