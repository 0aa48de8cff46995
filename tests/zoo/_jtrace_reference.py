"""A slow, loop-by-loop transcription of jTRACE's ``TraceNet`` cycle, for tests only.

Written from the published description of jTRACE's ``TraceNet.java`` (Strauss, Harris &
Magnuson 2007): every loop bound and boundary cap as there, one unit at a time, so the
vectorised :mod:`neurorrn.zoo.trace` can be checked against it on small networks.
"""

from __future__ import annotations

import numpy as np

from neurorrn.zoo.trace import PHONEMES, make_input, phoneme_features

LOG10E = 0.434294482


def run_reference(string, words, freqs, params, n_cycles):
    p = params
    defs = phoneme_features()
    NF, FS = 63, p.f_slices
    FPP = p.slices_per_phon
    PS = FS // FPP
    WS = PS
    NP = len(PHONEMES)
    nw = len(words)
    inp = make_input(string, p)
    feat = np.full((NF, FS), np.clip(p.rest_f, p.min, p.max))
    phon = np.full((NP, PS), np.clip(p.rest_p, p.min, p.max))
    restw = np.full(nw, p.rest_w)
    fr = np.array([p.freq_rest_s * np.log(p.freq_rest_c + f) * LOG10E if (f > 0 and p.freq_rest_s) else 0.0
                   for f in freqs])
    word = np.tile((np.clip(p.rest_w, p.min, p.max) + fr)[:, None], (1, WS))
    restw = restw + fr
    wfrq = np.array([p.freq_weight_s * np.log(f) * LOG10E if (f > 0 and p.freq_weight_s) else 0.0 for f in freqs])
    s = p.spread
    ft = np.array([(s - abs(s - k)) / s for k in range(2 * s)])
    fpw = ft / np.sum(ft * ft)
    tdur = 4.0
    ftw = np.array([(tdur - abs(2 - k)) / tdur for k in range(5)])
    pww = ftw[:4] / np.sum(ftw * ftw)
    mean_len = np.mean([len(w) for w in words])

    def update(a, net, decay, rest):
        out = a.copy()
        for idx in np.ndindex(a.shape):
            t = a[idx]
            n = net[idx]
            if n > 0:
                t += (p.max - t) * n
            elif n < 0:
                t += (t - p.min) * n
            r = rest[idx] if np.ndim(rest) else rest
            t -= decay * (a[idx] - r)
            out[idx] = min(max(t, p.min), p.max)
        return out

    # initialSlice
    fnet = np.zeros((NF, FS))
    fnet[:, 0] += inp[:, 0]
    feat = update(feat, fnet, p.decay_f, p.rest_f)
    input_slice = 0
    out_w, out_p = [], []
    for _ in range(n_cycles):
        out_w.append(word.copy())
        out_p.append(phon.copy())
        fnet = np.zeros((NF, FS))
        pnet = np.zeros((NP, PS))
        wnet = np.zeros((nw, WS))
        # act_features
        fsum = np.zeros((7, FS))
        for c in range(7):
            for f in range(9):
                for sl in range(FS):
                    if feat[c * 9 + f, sl] > 0:
                        fsum[c, sl] += feat[c * 9 + f, sl]
        ffi = fsum * p.gamma_f
        if input_slice < FS:
            for fi in range(NF):
                sl = input_slice
                while sl < FS - 1 and sl < input_slice + p.nreps:
                    fnet[fi, sl + 1] += min(max(p.alpha_if * inp[fi, sl + 1], p.min), p.max)
                    sl += 1
        for c in range(7):
            for f in range(9):
                for sl in range(FS):
                    own = feat[c * 9 + f, sl] * p.gamma_f
                    if ffi[c, sl] - own > 0:
                        fnet[c * 9 + f, sl] -= ffi[c, sl] - max(0.0, own)
        # featToPhon
        for fi in range(NF):
            for fsl in range(FS):
                if feat[fi, fsl] <= 0:
                    continue
                for ph in range(NP):
                    if defs[ph, fi] == 0:
                        continue
                    fmax = FS - s
                    if fsl < s:
                        pstart, pend = 0, (fsl + s - 1) // FPP
                    else:
                        pend = PS - 1 if fsl > fmax else (fsl + s - 1) // FPP
                        pstart = (fsl - s) // FPP + 1
                    win = s - (fsl - FPP * pstart)
                    t = defs[ph, fi] * feat[fi, fsl] * p.alpha_fp
                    for ps_ in range(pstart, min(pend + 1, PS)):
                        pnet[ph, ps_] += fpw[win] * t
                        win += FPP
        # phonToPhon
        ppi = np.zeros(PS)

        def prange(sl):
            if sl + 1 >= PS:
                return sl - 1, PS - 1
            return max(sl - 1, 0), sl + 1

        for sl in range(PS):
            for ph in range(NP):
                if phon[ph, sl] > 0:
                    lo, hi = prange(sl)
                    for i in range(lo, hi):
                        ppi[i] += phon[ph, sl] * p.gamma_p
        for ph in range(NP):
            for sl in range(PS):
                lo, hi = prange(sl)
                for i in range(lo, hi):
                    if ppi[i] > 0:
                        pnet[ph, sl] -= ppi[i]
                if phon[ph, sl] * p.gamma_p > 0 and ppi[sl] > 0:
                    pnet[ph, sl] += (hi - lo) * phon[ph, sl] * p.gamma_p
        # phonToWord
        for ph in range(NP):
            for psl in range(PS):
                if phon[ph, psl] <= 0:
                    continue
                for wi, w in enumerate(words):
                    for off, ch in enumerate(w):
                        if ch != PHONEMES[ph]:
                            continue
                        wpeak = psl - 2 * off
                        if wpeak < -2:
                            break
                        wmin = 1 + wpeak - 2
                        if wmin < 0:
                            win = 1 - wmin
                            wmin = 0
                            wmax = wpeak + 2
                        else:
                            wmax = min(wpeak + 2, PS - 1)
                            win = 1
                        t = 2 * phon[ph, psl] * p.alpha_pw
                        wsl = wmin
                        while wsl < wmax and wsl < WS:
                            if 0 <= win < 4:
                                wnet[wi, wsl] += (1 + wfrq[wi]) * pww[win] * t
                            wsl += 1
                            win += 1
        # wordToPhon
        if p.feedback:
            for wi, w in enumerate(words):
                for wsl in range(WS):
                    if word[wi, wsl] <= 0:
                        continue
                    for ws_, ch in enumerate(w):
                        ph = PHONEMES.index(ch)
                        wslot = wsl + 2 * ws_
                        pmin = wslot - 1
                        if pmin >= PS:
                            break
                        if pmin < 0:
                            pwin = 1 - pmin
                            pmin = 0
                            pmax = wslot + 2
                        else:
                            pmax = min(wslot + 2, PS - 1)
                            pwin = 1
                        psl = pmin
                        while psl < pmax and psl < PS and pwin < 4:
                            pnet[ph, psl] += (1 + wfrq[wi]) * word[wi, wsl] * p.alpha_wp * pww[pwin]
                            psl += 1
                            pwin += 1
        # wordToWord
        wisum = np.zeros(PS)
        for ws0 in range(PS):
            for wi, w in enumerate(words):
                wmin, wmax = ws0, ws0 + 2 * len(w)
                if wmax > PS:
                    wmax = PS - 1
                for l_ in range(wmin, wmax):
                    if word[wi, ws0] > 0:
                        wisum[l_] += word[wi, ws0] ** 2
        wwi = np.minimum(wisum, 3.0) * p.gamma_w
        for ws0 in range(PS):
            for wi, w in enumerate(words):
                wmin, wmax = ws0, ws0 + 2 * len(w)
                if wmax > PS:
                    wmax = PS - 1
                comp = min(1.0, 1 / (len(w) / mean_len)) if p.length_normalization else 1.0
                for l_ in range(wmin, wmax):
                    wnet[wi, ws0] -= wwi[l_] * comp
                if word[wi, ws0] > 0:
                    wnet[wi, ws0] += (wmax - wmin) * word[wi, ws0] ** 2 * p.gamma_w * comp
        feat = update(feat, fnet, p.decay_f, p.rest_f)
        phon = update(phon, pnet, p.decay_p, p.rest_p)
        word = update(word, wnet, p.decay_w, np.tile(restw[:, None], (1, WS)))
        input_slice = min(input_slice + p.nreps, FS - 1)
    return np.array(out_w), np.array(out_p)
