"""Training losses for word-recognition networks.

All losses take ``logits`` of shape ``(batch, time, n_dims)``, targets of shape
``(batch, n_dims)`` (one word per row, broadcast over time, as EARSHOT tiles its target) or
``(batch, time, n_dims)`` (per-frame targets, e.g. Brodbeck's "box" targets in streams), and
``lengths`` (valid frames per row).

``"earshot"``
    Sigmoid cross-entropy at every frame, averaged over batch x time x units (Magnuson et al.
    2020, ``EARShot.py`` at 9bbc247).  EARSHOT does *not* mask the padded frames after a word
    ends (their hidden output is zero, so the loss there trains the read-out bias); that is the
    default here too.  ``mask_after_offset=True`` averages over valid frames only (as the TF2
    port's ``sequence_mask``).
``"cohort"``
    Brodbeck, Hannagan & Magnuson (2025) ``DownWeightCompetitors`` ("dw{c}to10"): binary
    cross-entropy where, from word onset to ``offset_s`` (100 ms) before word offset, the error
    of every non-target unit is multiplied by ``1/c``; target units keep weight 1, and every unit
    keeps weight 1 outside that region.  Averaged over units, then over valid frames.
``"mse"``
    Mean squared error of the linear output (dense targets such as GloVe), over valid frames
    (or all frames with ``mask_after_offset=False``).
"""

from __future__ import annotations

from typing import Callable, Literal

import torch
import torch.nn.functional as F

from ..config import ConfigModel
from ..utils._check import check_option


class LossConfig(ConfigModel):
    """Which loss to train with (see :data:`LOSSES`)."""

    kind: Literal["earshot", "cohort", "mse"] = "earshot"
    #: None = the loss's default (EARSHOT: False, as the original; MSE: True; cohort: always masked)
    mask_after_offset: bool | None = None
    cohort_c: float = 1024.0
    offset_s: float = 0.1


def frame_mask(lengths: torch.Tensor, n_time: int) -> torch.Tensor:
    """Bool mask ``(batch, time)``: True on each row's first ``lengths[i]`` frames."""
    return torch.arange(n_time, device=lengths.device)[None, :] < lengths[:, None]


def _expand(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    if target.dim() == 2:
        return target[:, None, :].expand_as(logits)
    if target.shape != logits.shape:
        raise ValueError(f"target has shape {tuple(target.shape)}; expected (batch, n_dims) or {tuple(logits.shape)}")
    return target


def _masked_mean(per_frame: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return per_frame.mean()
    m = mask.to(per_frame.dtype)
    return (per_frame * m).sum() / m.sum().clamp_min(1.0)


def earshot_loss(logits, target, lengths=None, *, mask_after_offset: bool = False, **_) -> torch.Tensor:
    """EARSHOT sigmoid cross-entropy against the (tiled) target at every frame.

    Parameters
    ----------
    logits : Tensor (batch, time, n_dims)
    target : Tensor (batch, n_dims) or (batch, time, n_dims)
    lengths : Tensor (batch,) | None
        Valid frames; used only when ``mask_after_offset``.
    mask_after_offset : bool
        Average over valid frames only (default False: every frame of the padded batch, as EARSHOT).
    """
    t = _expand(target, logits).to(logits.dtype)
    per_frame = F.binary_cross_entropy_with_logits(logits, t, reduction="none").mean(-1)
    mask = frame_mask(lengths, logits.shape[1]) if (mask_after_offset and lengths is not None) else None
    return _masked_mean(per_frame, mask)


def cohort_weights(target: torch.Tensor, region: torch.Tensor, c: float) -> torch.Tensor:
    """Brodbeck's element weights: 1, except non-target units inside ``region`` get ``1/c``.

    Parameters
    ----------
    target : Tensor (batch, time, n_dims), 0/1
    region : Tensor (batch, time), bool
    c : float
    """
    r = region.to(target.dtype)[..., None]
    return 1.0 + r * (1.0 / c - 1.0) + target * r * (1.0 - 1.0 / c)


def cohort_region(lengths: torch.Tensor, n_time: int, offset_frames: int,
                  onsets: torch.Tensor | None = None) -> torch.Tensor:
    """Frames from word onset (default 0) to ``offset_frames`` before the word's end."""
    t = torch.arange(n_time, device=lengths.device)[None, :]
    start = torch.zeros_like(lengths) if onsets is None else onsets
    return (t >= start[:, None]) & (t < (lengths - offset_frames)[:, None])


def cohort_loss(logits, target, lengths=None, *, cohort_c: float = 1024.0, offset_s: float = 0.1,
                frame_rate: float = 100.0, region: torch.Tensor | None = None, **_) -> torch.Tensor:
    """Brodbeck et al. (2025) cohort loss (non-target errors down-weighted by ``1/c`` in-word).

    For isolated words the region runs from frame 0 to ``round(offset_s * frame_rate)`` frames
    before each row's end; pass ``region`` (batch, time) explicitly for streams.
    """
    if cohort_c <= 0:
        raise ValueError(f"cohort_c must be > 0, got {cohort_c}")
    n_time = logits.shape[1]
    if lengths is None:
        lengths = torch.full((logits.shape[0],), n_time, dtype=torch.int64, device=logits.device)
    t = _expand(target, logits).to(logits.dtype)
    if region is None:
        region = cohort_region(lengths, n_time, int(round(offset_s * frame_rate)))
    w = cohort_weights(t, region, cohort_c)
    per_frame = (F.binary_cross_entropy_with_logits(logits, t, reduction="none") * w).mean(-1)
    return _masked_mean(per_frame, frame_mask(lengths, n_time))


def mse_loss(logits, target, lengths=None, *, mask_after_offset: bool = True, **_) -> torch.Tensor:
    """Mean squared error of the linear output against dense targets."""
    t = _expand(target, logits).to(logits.dtype)
    per_frame = ((logits - t) ** 2).mean(-1)
    mask = frame_mask(lengths, logits.shape[1]) if (mask_after_offset and lengths is not None) else None
    return _masked_mean(per_frame, mask)


#: Registry: name -> loss function ``(logits, target, lengths, **options) -> scalar``.
LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "earshot": earshot_loss,
    "cohort": cohort_loss,
    "mse": mse_loss,
}


def make_loss(config: LossConfig | str = "earshot", frame_rate: float = 100.0) -> Callable[..., torch.Tensor]:
    """A loss callable ``loss(logits, target, lengths)`` configured from ``config``."""
    if isinstance(config, str):
        config = LossConfig(kind=check_option(config, LOSSES, "loss kind"))
    fn = LOSSES[check_option(config.kind, LOSSES, "loss kind")]
    opts = {"cohort_c": config.cohort_c, "offset_s": config.offset_s, "frame_rate": frame_rate}
    if config.mask_after_offset is not None:
        opts["mask_after_offset"] = config.mask_after_offset

    def loss(logits, target, lengths=None, **extra):
        return fn(logits, target, lengths, **{**opts, **extra})

    loss.__name__ = f"{config.kind}_loss"
    return loss
