"""Running TRACE on a batch of inputs, its readouts and its export to an ActivationStore."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import xarray as xr

from ...store import from_arrays
from ...subject import ModelSubject
from ...utils._check import check_option, check_random_state, validate_type
from ...utils._logging import logger
from ._lexicon import Lexicon
from ._net import TraceNetwork, aligned_slice, build_inputs
from ._params import TraceParams
from ._phonemes import PHONEMES

RECORDABLE = ("word", "phoneme", "feature", "input")
#: TRACE phoneme -> ARPAbet (no stress) for store alignments; silence has none.
TRACE_TO_ARPABET = {"p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "s": "S", "S": "SH",
                    "r": "R", "l": "L", "a": "AA", "i": "IY", "u": "UW", "^": "AH"}


@dataclass
class TraceResult:
    """Time courses of a batch of TRACE simulations.

    Attributes
    ----------
    inputs : list of str
        One label per simulation (the input string, or ``"array<i>"``).
    lexicon : Lexicon
    params : TraceParams
    word_max : array of shape (n_inputs, n_cycles, n_words)
        Each word's maximum over its alignment slices.
    word : array of shape (n_inputs, n_cycles, n_words, n_word_slices) or None
        Word units at the recorded slices (:attr:`word_slices`).
    phoneme : array of shape (n_inputs, n_cycles, 15, p_slices) or None
    feature : array of shape (n_inputs, n_cycles, 63, f_slices) or None
    input : array of shape (n_inputs, 63, f_slices) or None
        The input layers (after input noise and clipping).
    word_slices : array of int
        Which word slices :attr:`word` holds.

    Cycle ``t`` holds the state after ``t`` cycles, as jTRACE records it.
    """

    inputs: list
    lexicon: Lexicon
    params: TraceParams
    word_max: np.ndarray
    word: np.ndarray | None = None
    phoneme: np.ndarray | None = None
    feature: np.ndarray | None = None
    input: np.ndarray | None = None
    word_slices: np.ndarray = field(default=None)

    @property
    def n_cycles(self) -> int:
        return self.word_max.shape[1]

    def onset_slice(self, i: int = 0) -> int:
        """Word slice aligned with the first non-silence phoneme of input ``i``."""
        lab = self.inputs[i]
        pos = next((k for k, c in enumerate(lab) if c != "-"), 0) if not lab.startswith("array") else 0
        return aligned_slice(pos, self.params)

    def word_activation(self, words=None, i: int = 0, alignment="aligned") -> np.ndarray:
        """Word time courses for input ``i``.

        Parameters
        ----------
        words : str or list of str, optional
            Words (default all).
        i : int
            Which simulation of the batch.
        alignment : {"aligned", "max"} or int
            ``"aligned"``: the word unit at the input's onset slice (see :meth:`onset_slice`);
            ``"max"``: the maximum over slices; an int: that word slice.

        Returns
        -------
        act : array of shape (n_cycles, n_words_selected) (or (n_cycles,) for one word)
        """
        single = isinstance(words, str)
        names = list(self.lexicon.words) if words is None else ([words] if single else list(words))
        idx = [self.lexicon.index(w) for w in names]
        if alignment == "max":
            out = self.word_max[i][:, idx]
        else:
            s = self.onset_slice(i) if alignment == "aligned" else alignment
            validate_type(s, "int", "alignment")
            if self.word is None:
                raise ValueError("word units were not recorded; run simulate(..., record=('word', ...))")
            where = np.flatnonzero(self.word_slices == s)
            if not where.size:
                raise ValueError(f"word slice {s} was not recorded; recorded slices: {self.word_slices.tolist()}")
            out = self.word[i][:, idx, where[0]]
        return out[:, 0] if single else out

    def luce(self, k: float = 7.0, words=None, i: int = 0, alignment="aligned") -> np.ndarray:
        """Luce choice probabilities over time (see :func:`luce_choice`).

        ``words=None`` uses the whole lexicon (jTRACE's NORMAL choice); a list gives forced
        choice among those items (jTRACE's FORCED, e.g. a four-picture display).
        """
        names = list(self.lexicon.words) if words is None else list(words)
        acts = self.word_activation(names, i, alignment)
        idx = [self.lexicon.index(w) for w in names]
        return luce_choice(acts, k, self.lexicon.frequency[idx], self.params.freq_post_c,
                           self.lexicon.prime[idx], self.params.prime_post_c)

    def winner(self, i: int = 0, cycle: int = -1, exclude=("-",)) -> tuple[str, int]:
        """The most active word unit (word, slice) at ``cycle``, ignoring ``exclude``."""
        if self.word is None:
            raise ValueError("word units were not recorded")
        a = self.word[i, cycle].copy()
        for w in exclude:
            if w in self.lexicon.words:
                a[self.lexicon.index(w)] = -np.inf
        w, s = np.unravel_index(np.argmax(a), a.shape)
        return self.lexicon.words[w], int(self.word_slices[s])

    def to_store(self, layers=("word", "phoneme"), model_id: str = "trace") -> xr.Dataset:
        """Export to an ActivationStore (time = cycles, ``time_unit="cycle"``, frame_rate 1).

        Units are ``word:<word>@<slice>`` and ``phoneme:<phoneme>@<slice>``, with per-unit
        coords ``layer``, ``component`` (``"act"``), ``label`` (word or phoneme) and ``slice``.
        Alignments give each input phoneme's arrival (centre ± delta_input/2 cycles) in
        ARPAbet, and the word (the input without silences).
        """
        arrays, ids, layer, label, slc = [], [], [], [], []
        parts = []
        for name in layers:
            check_option(name, ("word", "phoneme"), "layers")
            arr = getattr(self, name)
            if arr is None:
                raise ValueError(f"{name} units were not recorded; pass record=({name!r}, ...) to simulate")
            n_in, n_t, n_u, n_s = arr.shape
            units = self.lexicon.words if name == "word" else PHONEMES
            slices = self.word_slices if name == "word" else np.arange(n_s)
            for u in units:
                for s in slices:
                    ids.append(f"{name}:{u}@{int(s)}")
                    layer.append(name)
                    label.append(u)
                    slc.append(int(s))
            parts.append(arr.reshape(n_in, n_t, n_u * n_s))
        data = np.concatenate(parts, axis=2)
        stim_ids = _unique_ids(self.inputs)
        for i in range(len(self.inputs)):
            arrays.append(data[i])
        rows = []
        for sid, lab in zip(stim_ids, self.inputs):
            if lab.startswith("array"):
                continue
            d = self.params.delta_input
            phones = [(k, c) for k, c in enumerate(lab) if c != "-"]
            for k, c in phones:
                centre = d * (k + 1)
                rows.append((sid, "phone", TRACE_TO_ARPABET[c], centre - d / 2, centre + d / 2))
            if phones:
                rows.append((sid, "word", "".join(c for _, c in phones),
                             d * (phones[0][0] + 1) - d / 2, d * (phones[-1][0] + 1) + d / 2))
        import pandas as pd

        al = pd.DataFrame(rows, columns=["stimulus", "tier", "label", "start", "end"])
        cfg = self.params.model_dump()
        cfg["lexicon_size"] = len(self.lexicon)
        return from_arrays(arrays, stim_ids, 1.0, np.asarray(ids, dtype=object), alignments=al,
                           time_unit="cycle", model_id=model_id, config=json.dumps(cfg),
                           layer=np.asarray(layer, dtype=object),
                           component=np.full(len(ids), "act", dtype=object),
                           label=np.asarray(label, dtype=object), slice=np.asarray(slc, dtype=np.int64),
                           word=np.asarray([s.strip("-") for s in self.inputs], dtype=object),
                           attrs={"alignment": "units at every alignment slice", "readout": "raw"})


def _unique_ids(labels) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        n = seen.get(lab, 0)
        seen[lab] = n + 1
        out.append(lab if n == 0 else f"{lab}#{n}")
    return out


def luce_choice(acts, k: float = 7.0, frequency=None, freq_post_c: float = 0.0, prime=None,
                prime_post_c: float = 0.0) -> np.ndarray:
    """Luce choice rule over the last axis: ``P_i = S_i / Σ_j S_j`` with ``S_i = exp(k·a_i)``.

    Parameters
    ----------
    acts : array of shape (..., n_items)
    k : float
        Sharpness (k = 7 in Allopenna et al. 1998's linking hypothesis).
    frequency, prime : array of shape (n_items,), optional
        With ``freq_post_c`` (``prime_post_c``) ≠ 0, ``S_i`` is multiplied by
        ``log10(c + f_i)`` (jTRACE's post-perceptual frequency / priming effect).

    Returns
    -------
    p : array of shape (..., n_items)
    """
    a = np.asarray(acts, dtype=np.float64)
    if a.ndim == 0 or a.shape[-1] == 0:
        raise ValueError(f"acts must have at least one item along the last axis, got shape {a.shape}")
    z = k * a
    z = z - z.max(axis=-1, keepdims=True)
    s = np.exp(z)
    for vals, c in ((frequency, freq_post_c), (prime, prime_post_c)):
        if c != 0 and vals is not None:
            s = s * (np.log(c + np.asarray(vals, dtype=np.float64)) * 0.434294482)
    return s / s.sum(axis=-1, keepdims=True)


def simulate(inputs, lexicon: Lexicon, params: TraceParams | None = None, n_cycles: int = 100, *,
             record: Sequence[str] = ("word", "phoneme"), word_slices=None, random_state=None,
             dtype=torch.float64, device="cpu", feature_mode: str = "auto", chunk_size: int = 56,
             n_threads: int | None = None) -> TraceResult:
    """Run TRACE on a batch of inputs at once (one independent network per input).

    Parameters
    ----------
    inputs : str or list of (str or array of shape (63, f_slices))
        TRACE phoneme strings such as ``"-^br^pt-"``, or ready-made input layers (e.g. an
        ambiguous phoneme made by mixing two phonemes' features).
    lexicon : Lexicon
        E.g. :func:`read_jt_lexicon` of jTRACE's ``slex.jt``.
    params : TraceParams, optional
        jTRACE's defaults when omitted.
    n_cycles : int
        Number of recorded states (cycle 0 is the resting state).
    record : sequence of {"word", "phoneme", "feature", "input"}
        Layers to keep (``word_max`` is always kept).  Word units for a whole lexicon as
        input take ``n_inputs × n_cycles × n_words × 33`` floats; use ``word_slices`` to keep
        fewer slices.
    word_slices : sequence of int, optional
        Word slices to record (default all).
    random_state : None, int or numpy Generator
        Seeds input noise and processing noise.
    dtype : torch.dtype
        ``torch.float64`` (as jTRACE) or ``torch.float32`` (about twice as fast).
    device : str
    feature_mode : {"auto", "table", "explicit"}
        How the feature layer is computed.  ``"explicit"`` updates every feature unit every
        cycle, as jTRACE does.  ``"table"`` (the default without processing noise) uses that
        each feature slice then evolves on its own: it simulates each distinct input column
        once and looks trajectories up by age, which gives the same numbers much faster.
    chunk_size : int
        Inputs simulated together as one tensor batch.  Batches of a few dozen keep the word
        layer (``n_words × chunk × 33``) in the CPU caches; larger ones suit a GPU.  Results do
        not depend on it, except that processing noise is drawn per chunk.
    n_threads : int, optional
        Threads running chunks in parallel (default ``torch.get_num_threads()``); with more
        than one, torch's own intra-op threads are set to 1 for the duration of the call.

    Returns
    -------
    TraceResult
    """
    p = params if params is not None else TraceParams()
    validate_type(p, TraceParams, "params")
    validate_type(lexicon, Lexicon, "lexicon")
    validate_type(n_cycles, "int", "n_cycles")
    if n_cycles < 1:
        raise ValueError(f"n_cycles must be >= 1, got {n_cycles}")
    for r in record:
        check_option(r, RECORDABLE, "record")
    rng = check_random_state(random_state)
    labels, x = build_inputs(inputs, p, rng)
    net = TraceNetwork(lexicon, p, dtype=dtype, device=device)
    ws = np.arange(net.ws) if word_slices is None else np.asarray(word_slices, dtype=np.int64)
    if ws.ndim != 1 or ws.size == 0 or ws.min() < 0 or ws.max() >= net.ws:
        raise ValueError(f"word_slices must be a non-empty list of slices in [0, {net.ws - 1}]")
    xt = torch.as_tensor(x, dtype=dtype, device=device)
    b = len(labels)
    out_dtype = np.float32
    word_max = np.empty((b, n_cycles, len(lexicon)), dtype=out_dtype)
    word = np.empty((b, n_cycles, len(lexicon), ws.size), dtype=out_dtype) if "word" in record else None
    phon = np.empty((b, n_cycles, len(PHONEMES), net.ps), dtype=out_dtype) if "phoneme" in record else None
    feat = np.empty((b, n_cycles, 63, net.fs), dtype=out_dtype) if "feature" in record else None
    logger.info("TRACE: %d input(s) x %d cycles, %d words", b, n_cycles, len(lexicon))
    check_option(feature_mode, ("auto", "table", "explicit"), "feature_mode")
    if feature_mode == "table" and p.stochasticity_sd > 0:
        raise ValueError("feature_mode='table' needs stochasticity_sd == 0 (processing noise makes every "
                         "feature slice's trajectory unique); use 'auto' or 'explicit'")
    fast = p.stochasticity_sd == 0 and feature_mode != "explicit"
    validate_type(chunk_size, "int", "chunk_size")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    n_threads = torch.get_num_threads() if n_threads is None else n_threads
    validate_type(n_threads, "int", "n_threads")
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    chunks = [np.arange(i, min(i + chunk_size, b)) for i in range(0, b, chunk_size)]
    # one generator per chunk, seeded in order: results do not depend on n_threads
    gens = [None] * len(chunks)
    if p.stochasticity_sd > 0:
        gens = []
        for _ in chunks:
            g = torch.Generator(device=device)
            g.manual_seed(int(rng.integers(2**62)))
            gens.append(g)
    shared = {}
    with torch.no_grad():
        if fast:
            table, col = net.feature_table(xt, n_cycles)
            shared = {"table": table, "col": col,
                      "g": p.alpha_fp * torch.matmul(table.clamp(min=0), net.defs.T)}      # (U, T+1, 15)
    outs = dict(word_max=word_max, word=word, phoneme=phon, feature=feat)

    def run(k):
        _run_chunk(net, xt, chunks[k], n_cycles, gens[k], fast, shared, outs, ws, word_slices is None)

    if n_threads == 1 or len(chunks) == 1:
        for k in range(len(chunks)):
            run(k)
    else:
        # independent batches in threads (torch releases the GIL inside its kernels); each
        # thread runs its kernels on one core, which is far more robust on a busy machine than
        # splitting every small kernel over several cores
        n_before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(min(n_threads, len(chunks))) as pool:
                list(pool.map(run, range(len(chunks))))
        finally:
            torch.set_num_threads(n_before)
    return TraceResult(labels, lexicon, p, word_max, word, phon, feat,
                       x.astype(out_dtype) if "input" in record else None, ws)


def _run_chunk(net: TraceNetwork, xt, rows, n_cycles, gen, fast, shared, outs, ws, all_slices):
    """Simulate the inputs ``rows`` of the batch and write their records into ``outs``."""
    p = net.params
    device = net.device
    sel = torch.as_tensor(rows, device=device)
    x = xt.index_select(0, sel)
    b = len(rows)
    inv = torch.as_tensor(net.inverse, device=device)
    ws_t = torch.as_tensor(ws, device=device)
    word_max, word, phon, feat = outs["word_max"], outs["word"], outs["phoneme"], outs["feature"]
    lo, hi = int(rows[0]), int(rows[-1]) + 1          # chunks are contiguous
    wmax_t = torch.empty((n_cycles, net.n_words, b), dtype=net.dtype, device=device)
    with torch.no_grad():
        state = net.initial_state(x, gen)
        if fast:
            g, table = shared["g"], shared["table"]
            col = shared["col"].index_select(0, sel)
        for t in range(n_cycles):
            if fast:
                ages = torch.as_tensor(net.feature_ages(t), device=device)
                drive = torch.matmul(g[col, ages[None, :]].transpose(1, 2), net.m_fp)  # (b, 15, ps)
                fnet = None
            else:
                drive = net.feature_drive(state["feature"])
                fnet = net.explicit_feature_step(state, x)
            torch.amax(state["word"], 2, out=wmax_t[t])                             # (n_words, b), sorted
            if word is not None:
                w = state["word"] if all_slices else state["word"].index_select(2, ws_t)
                word[lo:hi, t] = w.index_select(0, inv).permute(1, 0, 2).cpu().numpy()
            if phon is not None:
                phon[lo:hi, t] = state["phoneme"].cpu().numpy()
            if feat is not None:
                f_t = table[col, ages[None, :]].transpose(1, 2) if fast else state["feature"]
                feat[lo:hi, t] = f_t.cpu().numpy()
            if t < n_cycles - 1:
                state = net.cycle(state, drive, gen, fnet)
    word_max[lo:hi] = wmax_t.index_select(1, inv).permute(2, 0, 1).cpu().numpy()


class TraceSubject(ModelSubject):
    """TRACE as a model subject: phoneme strings in, word and phoneme time courses out.

    Parameters
    ----------
    lexicon : Lexicon
    params : TraceParams, optional
    n_cycles : int
    random_state : None, int or Generator

    ``run_one`` returns ``{"word": (n_cycles, n_words*33), "phoneme": (n_cycles, 15*33)}``;
    :meth:`record` batches all stimuli in one simulation and labels units as
    :meth:`TraceResult.to_store` does.
    """

    model_id = "trace"
    frame_rate = 1.0
    time_unit = "cycle"

    def __init__(self, lexicon: Lexicon, params: TraceParams | None = None, n_cycles: int = 100,
                 random_state=None):
        self.lexicon = lexicon
        self.params = params
        self.n_cycles = n_cycles
        self.random_state = random_state

    def config_json(self) -> str:
        return (self.params or TraceParams()).to_json()

    def run_one(self, stimulus):
        r = simulate([stimulus], self.lexicon, self.params, self.n_cycles, random_state=self.random_state)
        return {"word": r.word[0].reshape(self.n_cycles, -1), "phoneme": r.phoneme[0].reshape(self.n_cycles, -1)}

    def record(self, stimuli, stimulus_ids=None, *, alignments=None, verbose=None, **stimulus_coords):
        r = simulate(list(stimuli), self.lexicon, self.params, self.n_cycles, random_state=self.random_state)
        ds = r.to_store(model_id=self.model_id)
        if stimulus_ids is not None:
            ids = list(stimulus_ids)
            if len(ids) != len(r.inputs):
                raise ValueError(f"got {len(ids)} stimulus_ids for {len(r.inputs)} stimuli")
            ds = ds.assign_coords(stimulus=np.asarray(ids, dtype=object))
            if "interval_stimulus" in ds:
                mapping = dict(zip(_unique_ids(r.inputs), ids))
                ds["interval_stimulus"] = ("interval", np.asarray(
                    [mapping[s] for s in ds["interval_stimulus"].values], dtype=object))
        return ds
