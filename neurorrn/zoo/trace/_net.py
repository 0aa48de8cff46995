"""The TRACE network, vectorised over a batch of inputs (one network per input).

This follows jTRACE's ``TraceNet`` (Strauss, Harris & Magnuson 2007), itself a port of the
C TRACE of McClelland & Elman (1986), step for step:

* **Input.** Each phoneme's 63 peak values are spread as a triangular ramp over
  ±``spread`` feature slices (the floor of the ramp is ``max(min, 0)``, as in C TRACE);
  phoneme centres sit every ``delta_input`` slices starting at slice ``delta_input``;
  overlapping phonemes add; Gaussian input noise (``noise_sd``) is added to every value and
  the result is clipped to [min, max].
* **Cycle.** ``act_features`` (the input of the next ``nreps`` feature slices, scaled by
  α_IF and clipped, plus within-continuum feature inhibition γ_F·Σ positive activations
  less the unit's own share), then ``featToPhon``, ``phonToPhon``, ``phonToWord``,
  ``wordToPhon``, ``wordToWord``, then the synchronous updates of the feature, phoneme and
  word layers.  Only positive activations send, for excitation and inhibition alike.
* **Update.** Processing noise (``stochasticity_sd``) is added to each net input; then
  ``a += net·(max − a)`` if net > 0, ``a += net·(a − min)`` if net < 0, minus
  ``decay·(a − rest)`` computed from the old activation, clipped to [min, max].
* **Phoneme inhibition.** γ_P·a of each positive phoneme unit is pooled over the phoneme
  slices it covers (its own and the previous one); every phoneme unit receives the pools of
  the slices it covers; self-inhibition is reimbursed.
* **Word inhibition.** Squared positive activations are pooled over the 2·length phoneme
  slices each word unit spans; each slice's pool is capped at 3.0 and scaled by γ_W; every
  word unit receives the pools it spans; self-inhibition (span·a²·γ_W) is reimbursed.
* **Between layers.** Feature→phoneme weights are the phoneme's feature definition times a
  triangular temporal window (normalised by its sum of squares); phoneme→word weights are
  ``2·α_PW`` times a 3-slice window ``pww``; word→phoneme feedback is α_WP times the same
  window shape ``wpw``.

jTRACE's boundary quirks are kept on purpose, because its published behaviour depends on
them: the last phoneme slice and the last word slice receive no between-layer input (a
window end is capped at ``p_slices − 1``), the last phoneme slice is never reimbursed for
self-inhibition, a word whose span runs past the end is capped at ``p_slices − 1`` (but one
ending exactly at the end is not), and the first feature slice receives the raw input once
when the network is built (``initialSlice``).  As in jTRACE, the recorded state at cycle
``t`` is the state after ``t`` cycles (cycle 0 is the resting state).

Differences from jTRACE: one ``spread`` for all continua and no ``spreadScale``; no
phoneme→feature feedback (α_PF, unimplemented in jTRACE too), no allophone relations, no
phoneme continua or splices (pass your own input arrays instead, e.g. a mixture of two
phonemes' features); ``nreps`` must be ≥ 1; when word→phoneme priming weights are on, words
with no priming value send unscaled feedback (jTRACE takes log(0) there).  Random numbers come
from numpy/torch generators, so noisy runs match jTRACE's statistics, not its exact draws.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._lexicon import Lexicon, check_trace_string
from ._params import TraceParams
from ._phonemes import PHONEMES, phoneme_features

#: log10 as jTRACE computes it (``Math.log(x) * 0.434294482``).
_LOG10E = 0.434294482


def _log10(x):
    return np.log(x) * _LOG10E


def make_input(string: str, params: TraceParams | None = None, noise: np.ndarray | None = None,
               mix: dict | None = None) -> np.ndarray:
    """Build jTRACE's pseudo-spectral input for a phoneme string.

    Parameters
    ----------
    string : str
        TRACE phonemes, e.g. ``"-^br^pt-"``.
    params : TraceParams, optional
    noise : array of shape (63, f_slices), optional
        Added before clipping (input noise).
    mix : dict, optional
        ``{position: (other_phoneme, weight)}``: the phoneme at that position of ``string`` gets
        the feature pattern ``(1 − weight)·own + weight·other`` (an ambiguous phoneme between
        the two, as jTRACE's phoneme editor makes them for Ganong and restoration
        simulations); see :func:`~neurorrn.zoo.trace.ambiguous_input`.

    Returns
    -------
    input : array of shape (63, f_slices)
        Feature × feature-slice input layer, clipped to [min, max].
    """
    p = params or TraceParams()
    string = check_trace_string(string, "input string")
    defs = phoneme_features()
    fs = p.f_slices
    out = np.zeros((defs.shape[1], fs))
    floor = max(p.min, 0.0)
    d = np.arange(-p.spread + 1, p.spread)
    ramp_hi = p.max - (p.max - floor) * np.abs(d) / p.spread  # value at offset d, for peak 1
    centre = p.delta_input
    mix = {} if mix is None else dict(mix)
    for pos, spec in mix.items():
        if not (isinstance(pos, (int, np.integer)) and 0 <= pos < len(string)):
            raise ValueError(f"mix position {pos!r} is not a position of the input {string!r} (0..{len(string) - 1})")
        if not (isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] in PHONEMES
                and np.isfinite(spec[1]) and 0 <= spec[1] <= 1):
            raise ValueError(f"mix[{pos}] must be (phoneme, weight in [0, 1]) with a phoneme of {''.join(PHONEMES)}, "
                             f"got {spec!r}")
    for k, ch in enumerate(string):
        if centre >= fs:
            break
        t = centre + d
        ok = (t >= 0) & (t < fs)
        peak = defs[PHONEMES.index(ch)]
        if k in mix:
            other, w = mix[k]
            peak = (1.0 - w) * peak + w * defs[PHONEMES.index(other)]
        out[:, t[ok]] += peak[:, None] * ramp_hi[ok][None, :]
        centre += p.delta_input
    if noise is not None:
        noise = np.asarray(noise, dtype=np.float64)
        if noise.shape != out.shape:
            raise ValueError(f"noise has shape {noise.shape}, expected {out.shape} (features, f_slices)")
        out = out + noise
    return np.clip(out, p.min, p.max)


class TraceNetwork:
    """Precomputed weights and the batched cycle of TRACE for one lexicon and parameter set.

    Parameters
    ----------
    lexicon : Lexicon
    params : TraceParams
    dtype : torch.dtype
        ``torch.float64`` (jTRACE computes in double) or ``torch.float32`` (faster).
    device : str or torch.device

    Notes
    -----
    Layouts: features ``(B, 63, f_slices)``, phonemes ``(B, 15, p_slices)``, words
    ``(n_words, B, p_slices)`` (words sorted by length, see :attr:`order`).  Phoneme→word and
    word→phoneme connections are embedding bags (sparse gather-sums) over (position in word,
    phoneme) rows; word inhibition is pooled per slice with a difference array and cumulative
    sums over slices, never as an all-pairs word × word matrix.  :meth:`cycle` keeps its
    scratch tensors in the state, so independent batches can run in parallel threads.
    """

    def __init__(self, lexicon: Lexicon, params: TraceParams, dtype=torch.float64, device="cpu"):
        self.lexicon = lexicon
        self.params = p = params
        self.dtype, self.device = dtype, torch.device(device)
        kw = dict(dtype=dtype, device=self.device)
        self.n_feat = len(phoneme_features()[0])
        self.n_phon = len(PHONEMES)
        self.fs, self.ps = p.f_slices, p.p_slices
        self.ws = self.ps
        self.pdur = 2 if (p.delta_input == 6 and p.slices_per_phon == 3) else p.delta_input // p.slices_per_phon
        fpp, s = p.slices_per_phon, p.spread
        self.defs = torch.as_tensor(phoneme_features(), **kw)
        # feature slice f -> phoneme slice q: fpw[s - f + fpp*q] for |f - fpp*q| < s
        k = np.arange(2 * s)
        ft = (s - np.abs(s - k)) / s
        fpw = ft / np.sum(ft * ft)
        m = np.zeros((self.fs, self.ps))
        for f in range(self.fs):
            for q in range(self.ps):
                if abs(f - fpp * q) < s:
                    m[f, q] = fpw[s - f + fpp * q]
        self.m_fp = torch.as_tensor(m, **kw)
        # phoneme<->word windows (C TRACE's tdur = 4) for offsets -1, 0, +1
        tdur = 4.0
        ftw = np.array([(tdur - abs(2 - i)) / tdur for i in range(5)])
        self.pww = ftw[1:4] / float(np.sum(ftw * ftw))
        # phoneme inhibition: a unit at slice q pools into slices [q-1, q] (clipped at 0; the
        # last slice only into q-1); A[q, i] = 1 when q covers pool i
        a = np.zeros((self.ps, self.ps))
        for q in range(self.ps):
            lo, hi = (q - 1, self.ps - 1) if q + 1 >= self.ps else (max(q - 1, 0), q + 1)
            a[q, lo:hi] = 1
        self.a_pp = torch.as_tensor(a, **kw)
        self.n_pp = torch.as_tensor(a.sum(1), **kw)
        # lexicon, sorted by length (descending)
        lens = np.array([len(w) for w in lexicon.words])
        self.order = np.argsort(-lens, kind="stable")
        self.inverse = np.argsort(self.order)
        words = [lexicon.words[i] for i in self.order]
        self.lens = lens[self.order]
        self.max_len = L = int(self.lens.max())
        self.n_words = nw = len(words)
        freq = lexicon.frequency[self.order]
        prime = lexicon.prime[self.order]
        with np.errstate(divide="ignore"):
            wf = np.where((freq > 0) & (p.freq_weight_s != 0),
                          p.freq_weight_s * _log10(np.maximum(freq, 1e-300)), 0.0)
            wp = np.where((prime > 0) & (p.prime_weight_s != 0),
                          p.prime_weight_s * _log10(np.maximum(prime, 1e-300)), 0.0)
        wscale = 1.0 + wf + wp
        # phoneme->word and word->phoneme connections as embedding bags (a sparse row gather-sum;
        # much faster than a (sparse or dense) matmul for ~4 connections per word).  Each word's
        # bag holds its (position, phoneme) rows of the shifted phoneme table, weighted by
        # 2*alpha_PW (times the frequency/priming weight scale), plus the inhibition row of its
        # length, weighted by -comp; each (position, phoneme) bag of the feedback holds the words
        # with that phoneme there.
        self.unique_lens = np.unique(self.lens)
        len_index = np.searchsorted(self.unique_lens, self.lens)
        comp = np.minimum(1.0, float(np.mean(lens)) / self.unique_lens) if p.length_normalization \
            else np.ones(len(self.unique_lens))
        n_rows = L * self.n_phon
        pw_idx, pw_w, pw_off = [], [], []
        wp_pairs = []
        for i, w in enumerate(words):
            pw_off.append(len(pw_idx))
            for o, ch in enumerate(w):
                r = o * self.n_phon + PHONEMES.index(ch)
                pw_idx.append(r)
                pw_w.append(2 * p.alpha_pw * wscale[i])
                wp_pairs.append((r, i, wscale[i]))
            pw_idx.append(n_rows + len_index[i])
            pw_w.append(-comp[len_index[i]])
        self.pw_idx = torch.as_tensor(pw_idx, dtype=torch.long, device=self.device)
        self.pw_off = torch.as_tensor(pw_off, dtype=torch.long, device=self.device)
        self.pw_w = torch.as_tensor(pw_w, **kw)
        wp_pairs.sort(key=lambda x: (x[0], x[1]))
        self.wp_idx = torch.as_tensor([x[1] for x in wp_pairs], dtype=torch.long, device=self.device)
        self.wp_w = torch.as_tensor([x[2] for x in wp_pairs], **kw)
        self.wp_off = torch.as_tensor(np.searchsorted([x[0] for x in wp_pairs], np.arange(n_rows)),
                                      dtype=torch.long, device=self.device)
        # word inhibition: spans [w, w + 2*len), capped at ps - 1 when they run past the end
        starts = np.arange(self.ws)
        ends = starts[None, :] + 2 * self.unique_lens[:, None]
        ends = np.where(ends > self.ps, self.ps - 1, ends)
        span = np.maximum(ends - starts[None, :], 0)
        self.span_end = torch.as_tensor(ends, device=self.device)                        # (n_len, ws)
        self.span_ok = torch.as_tensor(span > 0, **kw)
        onehot = np.zeros((len(self.unique_lens), nw))
        onehot[len_index, np.arange(nw)] = 1.0
        self.len_onehot = torch.as_tensor(onehot, **kw)                                 # (n_len, nw)
        self.reimb = torch.as_tensor((span[len_index] * comp[len_index][:, None] * p.gamma_w)[:, None, :], **kw)
        # resting levels (jTRACE adds rest W twice when both frequency and priming rests are on)
        fr = np.where((freq > 0) & (p.freq_rest_s != 0), p.freq_rest_s * _log10(p.freq_rest_c + freq), 0.0)
        pr = np.where((prime > 0) & (p.prime_rest_s != 0), p.prime_rest_s * _log10(p.prime_rest_c + prime), 0.0)
        self.word_init = np.clip(p.rest_w, p.min, p.max) + fr + pr
        both = (fr != 0) & (pr != 0)
        rest_w = np.where(both, 2 * p.rest_w + fr + pr, p.rest_w + fr + pr)
        self.word_rest = torch.as_tensor(rest_w[:, None, None], **kw)
        self.word_rest_scalar = float(rest_w[0]) if np.all(rest_w == rest_w[0]) else None

    # ------------------------------------------------------------------ helpers
    def _noise(self, like, gen):
        sd = self.params.stochasticity_sd
        if sd == 0:
            return None
        return torch.randn(like.shape, generator=gen, dtype=like.dtype, device=like.device) * sd

    @staticmethod
    def _buffer(state, name: str, shape, like: torch.Tensor) -> torch.Tensor:
        """A scratch tensor kept in ``state`` (allocating large temporaries every cycle is slow on
        CPU; keeping them per state lets several batches run in parallel threads)."""
        bufs = state.setdefault("_buffers", {})
        shape = tuple(shape)
        buf = bufs.get(name)
        if buf is None or tuple(buf.shape) != shape or buf.dtype != like.dtype:
            buf = bufs[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return buf

    def _update(self, act, net, decay, rest, gen, state=None, name="u"):
        """jTRACE's update, in place on ``act`` (``net`` is consumed): net > 0 pulls toward max,
        net < 0 toward min, then decay toward rest from the old activation, then clipping.

        ``a + npos·(max − a) + nneg·(a − min) − decay·(a − rest)`` is computed in fewer passes
        over memory as ``(a − min)·(net − 2·npos + 1 − decay) + (max − min)·npos + decay·rest
        + min·(1 − decay)``, with ``npos = max(net, 0)`` (equal up to rounding).
        """
        p = self.params
        noise = self._noise(net, gen)
        if noise is not None:
            net = net + noise
        npos = self._buffer(state if state is not None else {}, f"npos_{name}", act.shape, act)
        torch.clamp(net, min=0, out=npos)
        net.add_(npos, alpha=-2).add_(1.0 - decay)
        act.sub_(p.min).mul_(net).add_(npos, alpha=p.max - p.min)
        if isinstance(rest, torch.Tensor):
            act.add_(rest * decay + p.min * (1.0 - decay))
        else:
            act.add_(decay * rest + p.min * (1.0 - decay))
        return act.clamp_(p.min, p.max)

    def _feature_inhibition(self, feat):
        """Within-continuum inhibition (act_features): γ_F·Σ positive, less the unit's own share."""
        p = self.params
        shape = feat.shape
        f = feat.reshape(shape[0], 7, -1, shape[-1])
        ffi = p.gamma_f * f.clamp(min=0).sum(2, keepdim=True)
        own = f * p.gamma_f
        inh = torch.where(ffi - own > 0, ffi - own.clamp(min=0), torch.zeros_like(own))
        return -inh.reshape(shape)

    def input_effect(self, inputs: torch.Tensor) -> torch.Tensor:
        """What each feature slice receives once: slice 0 the raw input (``initialSlice``), the
        others ``clip(α_IF · input)``."""
        p = self.params
        eff = (p.alpha_if * inputs).clamp(p.min, p.max)
        eff[:, :, 0] = inputs[:, :, 0]
        return eff

    def input_cycle(self) -> np.ndarray:
        """Cycle (0-based) in which each feature slice receives its input (slice 0: at build)."""
        c = (np.arange(self.fs) - 1) // self.params.nreps
        c[0] = -1
        return c

    # ------------------------------------------------------------------ features
    def feature_table(self, inputs: torch.Tensor, n_cycles: int):
        """Feature trajectories of the distinct input columns (exact when there is no noise).

        Without processing noise and with α_PF = 0 every feature slice evolves on its own:
        it rests until its input arrives, then follows a trajectory fixed by that input column.
        Returns ``(table (U, n_cycles + 1, 63), column index (B, f_slices))``.
        """
        p = self.params
        eff = self.input_effect(inputs)                                         # (B, 63, fs)
        cols = eff.permute(0, 2, 1).reshape(-1, self.n_feat).cpu().numpy()
        cols = np.ascontiguousarray(cols)
        keys = cols.view(np.dtype((np.void, cols.dtype.itemsize * cols.shape[1]))).ravel()
        _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
        uniq = cols[first]
        u = torch.as_tensor(uniq, dtype=self.dtype, device=self.device)          # (U, 63)
        rest = float(np.clip(p.rest_f, p.min, p.max))
        state = torch.full_like(u, rest)[:, :, None]                           # (U, 63, 1)
        table = torch.empty((u.shape[0], n_cycles + 1, self.n_feat), dtype=self.dtype, device=self.device)
        table[:, 0] = state[:, :, 0]
        for k in range(1, n_cycles + 1):
            net = self._feature_inhibition(state)
            if k == 1:
                net = net + u[:, :, None]
            state = self._update(state, net, p.decay_f, p.rest_f, None)
            table[:, k] = state[:, :, 0]
        return table, torch.as_tensor(inv.reshape(inputs.shape[0], self.fs), device=self.device)

    def feature_ages(self, t: int) -> np.ndarray:
        """Number of updates each feature slice has had since its input, after ``t`` cycles."""
        c = self.input_cycle()
        return np.where(c < 0, t + 1, np.maximum(0, t - c))

    # ------------------------------------------------------------------ state
    def initial_state(self, inputs: torch.Tensor, gen: torch.Generator | None = None):
        """Resting state for a batch of inputs ``(B, 63, f_slices)``, after ``initialSlice``."""
        p, b = self.params, inputs.shape[0]
        kw = dict(dtype=self.dtype, device=self.device)
        feat = torch.full((b, self.n_feat, self.fs), float(np.clip(p.rest_f, p.min, p.max)), **kw)
        phon = torch.full((b, self.n_phon, self.ps), float(np.clip(p.rest_p, p.min, p.max)), **kw)
        word = torch.as_tensor(self.word_init, **kw)[:, None, None].expand(-1, b, self.ws).clone()
        net = torch.zeros_like(feat)
        net[:, :, 0] += inputs[:, :, 0]
        feat = self._update(feat, net, p.decay_f, p.rest_f, gen)
        return {"feature": feat, "phoneme": phon, "word": word, "input_slice": 0}

    def feature_drive(self, feat: torch.Tensor) -> torch.Tensor:
        """featToPhon from a feature state ``(B, 63, fs)`` → ``(B, 15, ps)``."""
        return self.params.alpha_fp * torch.matmul(self.defs, torch.matmul(feat.clamp(min=0), self.m_fp))

    def explicit_feature_step(self, state, inputs):
        """act_features for the explicit (noisy) path: net input of the feature layer."""
        p = self.params
        feat = state["feature"]
        fnet = self._feature_inhibition(feat)
        s0 = state["input_slice"]
        lo, hi = s0 + 1, min(s0 + p.nreps, self.fs - 1) + 1
        if s0 < self.fs and lo < hi:
            fnet[:, :, lo:hi] += (p.alpha_if * inputs[:, :, lo:hi]).clamp(p.min, p.max)
        return fnet

    # ------------------------------------------------------------------ one cycle
    def cycle(self, state, drive: torch.Tensor, gen: torch.Generator | None = None, fnet=None):
        """Advance every network of the batch by one cycle.

        ``drive`` is the feature→phoneme input ``(B, 15, ps)`` computed from the current
        feature state; ``fnet``, when given, is the feature layer's net input (explicit
        path), and the feature layer is updated too.
        """
        p = self.params
        phon, word = state["phoneme"], state["word"]
        b = phon.shape[0]
        kw = dict(dtype=self.dtype, device=self.device)
        L, nph, ws, ps, nw = self.max_len, self.n_phon, self.ws, self.ps, self.n_words
        n_rows, nl = L * nph, len(self.unique_lens)
        # --- featToPhon
        pnet = drive.clone()
        # --- phonToPhon
        ppos = phon.clamp(min=0)
        ppi = p.gamma_p * torch.matmul(ppos.sum(1), self.a_pp)                       # (B, ps)
        pnet -= torch.matmul(ppi, self.a_pp.T)[:, None, :]
        ok = ((phon * p.gamma_p) > 0) & (ppi[:, None, :] > 0)
        pnet += torch.where(ok, self.n_pp * phon * p.gamma_p, torch.zeros_like(phon))
        # --- phonToWord: S[q] = sum_e pww[e] P+[q - e], e = -1, 0, +1; word w at slice s gets
        # S[w[o]][s + pdur*o] from each position o.  Rows 0..n_rows-1 of ``table`` hold these
        # shifted tables per (o, phoneme); rows n_rows.. the word inhibition of each length.
        q = ws + self.pdur * (L - 1) + 1
        s_tab = torch.zeros((nph, b, q), **kw)
        pt = ppos.permute(1, 0, 2)
        s_tab[:, :, 0:ps - 1] += self.pww[0] * pt[:, :, 1:]
        s_tab[:, :, 0:ps] += self.pww[1] * pt
        s_tab[:, :, 1:ps + 1] += self.pww[2] * pt
        st = s_tab.stride()
        table = self._buffer(state, "table", (n_rows + nl, b, ws), word)
        table[:n_rows].view(L, nph, b, ws).copy_(
            torch.as_strided(s_tab, (L, nph, b, ws), (self.pdur * st[2], st[0], st[1], st[2])))
        table[:n_rows, :, ws - 1] = 0.0   # the last word slice gets no bottom-up input (jTRACE's cap)
        # --- wordToPhon (feedback)
        wpos = torch.clamp(word, min=0, out=self._buffer(state, "wpos", word.shape, word))
        if p.feedback and p.alpha_wp != 0:
            y = torch.nn.functional.embedding_bag(self.wp_idx, wpos.view(nw, b * ws), self.wp_off,
                                                  mode="sum", per_sample_weights=self.wp_w)
            y = y.view(L, nph, b, ws)
            h = torch.zeros((nph, b, ws + 2 * L), **kw)
            for o in range(L):
                h[:, :, 2 * o:2 * o + ws] += y[o]
            top = ps - 1      # and the last phoneme slice no feedback
            fb = torch.zeros((nph, b, ps), **kw)
            fb[:, :, 0:top] += self.pww[0] * h[:, :, 1:top + 1]      # e = -1: H[q + 1]
            fb[:, :, 0:top] += self.pww[1] * h[:, :, 0:top]          # e = 0
            fb[:, :, 1:top] += self.pww[2] * h[:, :, 0:top - 1]      # e = +1: H[q - 1]
            pnet += p.alpha_wp * fb.permute(1, 0, 2)
        # --- wordToWord: per-slice pools of squared positive activations (by word length,
        # through a difference array over each span), capped, then summed over each span
        sq = torch.mul(wpos, wpos, out=self._buffer(state, "sq", word.shape, word))
        by_len = torch.matmul(self.len_onehot, sq.view(nw, b * ws)).view(nl, b, ws)
        diff = torch.zeros((b, ps + 1), **kw)
        diff[:, :ws] += by_len.sum(0)
        diff.scatter_add_(1, self.span_end.reshape(1, -1).expand(b, -1),
                          -by_len.permute(1, 0, 2).reshape(b, nl * ws))
        wwi = p.gamma_w * torch.cumsum(diff, 1)[:, :ps].clamp(max=3.0)
        cum = torch.cat([torch.zeros((b, 1), **kw), torch.cumsum(wwi, 1)], 1)      # (B, ps + 1)
        recv = cum[:, self.span_end] - cum[:, :ws][:, None, :]                     # (B, n_len, ws)
        torch.mul(recv.permute(1, 0, 2), self.span_ok[:, None, :], out=table[n_rows:])
        # --- net input of the word units: bottom-up excitation less inhibition, one gather-sum
        wnet = torch.nn.functional.embedding_bag(self.pw_idx, table.view(n_rows + nl, b * ws), self.pw_off,
                                                 mode="sum", per_sample_weights=self.pw_w).view(nw, b, ws)
        wnet.addcmul_(self.reimb, sq)      # self-inhibition reimbursed
        # --- synchronous updates
        if fnet is not None:
            state["feature"] = self._update(state["feature"], fnet, p.decay_f, p.rest_f, gen, state, "f")
        state["phoneme"] = self._update(phon, pnet, p.decay_p, p.rest_p, gen, state, "p")
        if p.atten != 1.0:
            wnet = wnet * p.atten
        if p.bias != 0.0:
            wnet = wnet - p.bias
        rest = self.word_rest_scalar if self.word_rest_scalar is not None else self.word_rest
        state["word"] = self._update(word, wnet, p.decay_w, rest, gen, state, "w")
        state["input_slice"] = min(state["input_slice"] + p.nreps, self.fs - 1)
        return state


def _check_inputs(inputs, params: TraceParams):
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError("inputs must be a non-empty list of TRACE strings or (63, f_slices) arrays")
    labels, arrays = [], []
    for i, x in enumerate(inputs):
        if isinstance(x, str):
            labels.append(check_trace_string(x, f"inputs[{i}]"))
            arrays.append(None)
        else:
            a = np.asarray(x, dtype=np.float64)
            if a.shape != (63, params.f_slices):
                raise ValueError(f"inputs[{i}] has shape {a.shape}, expected (63, {params.f_slices}) "
                                 "(features, f_slices) or a TRACE string")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"inputs[{i}] contains non-finite values")
            labels.append(f"array{i}")
            arrays.append(a)
    return labels, arrays


def build_inputs(inputs, params: TraceParams, rng: np.random.Generator) -> tuple[list, np.ndarray]:
    """Labels and the ``(B, 63, f_slices)`` input layers (input noise added, clipped)."""
    labels, arrays = _check_inputs(inputs, params)
    out = np.empty((len(labels), 63, params.f_slices))
    for i, (lab, a) in enumerate(zip(labels, arrays)):
        noise = rng.normal(0.0, params.noise_sd, (63, params.f_slices)) if params.noise_sd > 0 else None
        if a is None:
            out[i] = make_input(lab, params, noise)
        else:
            out[i] = np.clip(a + (noise if noise is not None else 0.0), params.min, params.max)
    return labels, out


def aligned_slice(index: int, params: TraceParams | None = None) -> int:
    """Word slice aligned with the phoneme at position ``index`` of the input string.

    The phoneme at ``index`` is centred on feature slice ``delta_input * (index + 1)``, i.e.
    phoneme/word slice ``delta_input * (index + 1) // slices_per_phon``.
    """
    p = params or TraceParams()
    return int(math.floor(p.delta_input * (index + 1) / p.slices_per_phon))
