"""The interactive activation model of letter perception (McClelland & Rumelhart 1981).

Three levels: feature detectors for four letter positions of the Rumelhart–Siple font
(14 line segments, each with a presence and an absence detector), 26 letter units per
position and a lexicon of four-letter words.  Parameters are those of M&R 1981 (Table 1):
feature→letter excitation 0.005 / inhibition 0.15, letter→word 0.07 / 0.04, word→word
inhibition 0.21, word→letter excitation 0.30, letter→letter inhibition 0, decay 0.07,
max 1, min −0.2, letter rest 0.  Only positive activations send.  The update is the IA rule:
``ε = n·(max − a)`` if n > 0 else ``n·(a − min)``, ``a ← a + ε − decay·(a − rest)``, clipped.
Responses are read from a running average ``ā ← ā + r·(a − ā)`` (r = 0.05) through Luce's
rule with strength ``exp(μ·ā)`` (μ = 10) within each position; Reicher two-alternative forced
choice scores ``P(target) + ½·(1 − P(target) − P(alternative))``.

Differences from M&R 1981: the lexicon is built from ``wordfreq`` (the most frequent
four-letter English words, 1179 by default, like M&R's count) rather than Kučera & Francis;
word resting levels rise linearly with log frequency from −0.05 (rarest) to 0 (most frequent)
(M&R's range was about −0.05 … 0); the readout time in the Reicher simulation is the cycle at
which forced-choice accuracy peaks, rather than M&R's fitted readout.  The font table is the
Rumelhart–Siple encoding used in McClelland's IA implementations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..store import from_arrays
from ..subject import ModelSubject
from ..utils._check import check_random_state

LETTERS = "abcdefghijklmnopqrstuvwxyz"
N_SEGMENTS = 14
#: Rumelhart–Siple font: the 14 segments of each letter (1 = segment present).
FONT = {
    "a": "11101011010000", "b": "10110110110000", "c": "10011001000000", "d": "10010110110000",
    "e": "11011001000000", "f": "11001001000000", "g": "10111001010000", "h": "01101011010000",
    "i": "10010100100000", "j": "00010011010000", "k": "01001001000101", "l": "00011001000000",
    "m": "00001011011100", "n": "00001011011001", "o": "10011011010000", "p": "11101011000000",
    "q": "10011011010001", "r": "11101011000001", "s": "11111000010000", "t": "10000100100000",
    "u": "00011011010000", "v": "00001001000110", "w": "00001011010011", "x": "00000000001111",
    "y": "00000000101100", "z": "10010000000110",
}


def font_matrix() -> np.ndarray:
    """Segment table, shape (26, 14)."""
    return np.array([[int(c) for c in FONT[ch]] for ch in LETTERS], dtype=np.float64)


@dataclass(frozen=True)
class IAParams:
    """M&R 1981 parameters (Table 1) and the readout constants."""

    feature_letter_excitation: float = 0.005
    feature_letter_inhibition: float = 0.15
    letter_word_excitation: float = 0.07
    letter_word_inhibition: float = 0.04
    word_word_inhibition: float = 0.21
    word_letter_excitation: float = 0.30
    word_letter_inhibition: float = 0.0
    letter_letter_inhibition: float = 0.0
    decay: float = 0.07
    max: float = 1.0
    min: float = -0.2
    letter_rest: float = 0.0
    word_rest_range: float = 0.05
    readout_rate: float = 0.05
    readout_mu: float = 10.0


def build_lexicon(n_words: int = 1179, extra=("work", "word", "weak", "wear")):
    """The ``n_words`` most frequent four-letter English words in ``wordfreq``, with frequencies."""
    import wordfreq

    words = []
    for w in wordfreq.iter_wordlist("en"):
        if len(w) == 4 and w.isascii() and w.isalpha() and w.islower() and w not in words:
            words.append(w)
            if len(words) >= n_words:
                break
    for w in extra:
        if w not in words:
            words[-1 - list(extra).index(w)] = w
    freq = np.array([wordfreq.word_frequency(w, "en") for w in words])
    return words, freq


def letter_features(ch: str) -> np.ndarray:
    """Feature input for one position, shape (28,): 14 presence then 14 absence detectors.

    ``ch`` is a letter, ``"_"`` (blank: no feature input) or a set of letters written like
    ``"[kr]"``: an ambiguous letter whose visible features are those the letters share (a
    segment is seen present if all have it, absent if none has it, and not seen otherwise).
    """
    font = font_matrix()
    if ch == "_":
        return np.zeros(2 * N_SEGMENTS)
    letters = ch.strip("[]")
    bad = [c for c in letters if c not in LETTERS]
    if bad or not letters:
        raise ValueError(f"invalid letter spec {ch!r}: use a-z, '_' for blank or '[..]' for ambiguity")
    segs = font[[LETTERS.index(c) for c in letters]]
    return np.concatenate([np.all(segs == 1, 0), np.all(segs == 0, 0)]).astype(np.float64)


def parse_display(text: str) -> list[str]:
    """Split a display such as ``"wor[kr]"`` or ``"__r_"`` into four position specs."""
    out, i = [], 0
    s = text.lower()
    while i < len(s):
        if s[i] == "[":
            j = s.find("]", i)
            if j < 0:
                raise ValueError(f"unclosed '[' in display {text!r}")
            out.append(s[i:j + 1])
            i = j + 1
        else:
            out.append(s[i])
            i += 1
    if len(out) != 4:
        raise ValueError(f"display {text!r} has {len(out)} positions, expected 4")
    return out


def mask_features() -> np.ndarray:
    """The pattern mask: every segment of an O and an X superimposed, at each position, (4, 28)."""
    font = font_matrix()
    seg = np.maximum(font[LETTERS.index("o")], font[LETTERS.index("x")])
    return np.tile(np.concatenate([seg, 1 - seg]), (4, 1))


class IAModel:
    """The interactive activation model, vectorised over a batch of displays.

    Parameters
    ----------
    words : sequence of str, optional
        Four-letter words; default :func:`build_lexicon`.
    frequencies : array of shape (n_words,), optional
        Word frequencies (any positive scale) for the resting levels.
    params : IAParams, optional
    """

    def __init__(self, words=None, frequencies=None, params: IAParams | None = None):
        if words is None:
            words, frequencies = build_lexicon()
        self.words = [w.lower() for w in words]
        for w in self.words:
            if len(w) != 4 or any(c not in LETTERS for c in w):
                raise ValueError(f"words must be four lower-case letters a-z, got {w!r}")
        self.params = p = params or IAParams()
        nw = len(self.words)
        f = np.ones(nw) if frequencies is None else np.asarray(frequencies, dtype=np.float64)
        if f.shape != (nw,) or np.any(f <= 0):
            raise ValueError(f"frequencies must be {nw} positive values")
        lf = np.log(f)
        span = lf.max() - lf.min()
        self.word_rest = -p.word_rest_range * ((lf.max() - lf) / span if span > 0 else np.zeros(nw))
        # word spelling as one-hot (n_words, 4, 26)
        self.spell = np.zeros((nw, 4, 26))
        for i, w in enumerate(self.words):
            for k, c in enumerate(w):
                self.spell[i, k, LETTERS.index(c)] = 1.0
        font = font_matrix()
        self.consistent = np.concatenate([font, 1 - font], axis=1)            # (26, 28)

    def _net_step(self, letters, words, feats):
        p = self.params
        lp = np.clip(letters, 0, None)                                        # (B, 4, 26)
        wp = np.clip(words, 0, None)                                          # (B, W)
        n_l = (p.feature_letter_excitation * np.einsum("bpf,lf->bpl", feats, self.consistent)
               - p.feature_letter_inhibition * np.einsum("bpf,lf->bpl", feats, 1 - self.consistent))
        n_l += p.word_letter_excitation * np.einsum("bw,wpl->bpl", wp, self.spell)
        if p.word_letter_inhibition:
            n_l -= p.word_letter_inhibition * np.einsum("bw,wpl->bpl", wp, 1 - self.spell)
        if p.letter_letter_inhibition:
            n_l -= p.letter_letter_inhibition * (lp.sum(2, keepdims=True) - lp)
        match = np.einsum("bpl,wpl->bw", lp, self.spell)
        total = lp.sum((1, 2))[:, None]
        n_w = p.letter_word_excitation * match - p.letter_word_inhibition * (total - match)
        n_w -= p.word_word_inhibition * (wp.sum(1, keepdims=True) - wp)
        return n_l, n_w

    def _update(self, a, net, rest):
        p = self.params
        eff = np.where(net > 0, net * (p.max - a), net * (a - p.min))
        return np.clip(a + eff - p.decay * (a - rest), p.min, p.max)

    def run(self, displays, n_cycles: int = 40, mask_onset: int | None = None):
        """Simulate a batch of displays.

        Parameters
        ----------
        displays : sequence of str
            Four positions each: a letter, ``_`` (blank) or ``[..]`` (ambiguous), e.g. ``"wor[kr]"``.
        n_cycles : int
        mask_onset : int, optional
            Cycle at which the display is replaced by the O/X pattern mask (in blank positions too
            only where the display showed a letter).

        Returns
        -------
        dict with ``letters`` (B, T, 4, 26), ``words`` (B, T, n_words), ``letter_avg``
        (running averages, same shape as ``letters``) and ``letter_prob`` (Luce probabilities).
        """
        p = self.params
        specs = [parse_display(d) for d in displays]
        feats = np.array([[letter_features(c) for c in s] for s in specs])      # (B, 4, 28)
        shown = np.array([[c != "_" for c in s] for s in specs])
        mask = mask_features()[None] * shown[:, :, None]
        b = len(specs)
        letters = np.full((b, 4, 26), p.letter_rest)
        words = np.tile(self.word_rest, (b, 1))
        avg = letters.copy()
        out_l = np.empty((b, n_cycles, 4, 26))
        out_w = np.empty((b, n_cycles, len(self.words)))
        out_a = np.empty_like(out_l)
        for t in range(n_cycles):
            out_l[:, t], out_w[:, t], out_a[:, t] = letters, words, avg
            f = mask if (mask_onset is not None and t >= mask_onset) else feats
            n_l, n_w = self._net_step(letters, words, f)
            letters = self._update(letters, n_l, p.letter_rest)
            words = self._update(words, n_w, self.word_rest[None])
            avg = avg + p.readout_rate * (letters - avg)
        z = p.readout_mu * out_a
        prob = np.exp(z - z.max(-1, keepdims=True))
        prob /= prob.sum(-1, keepdims=True)
        return {"letters": out_l, "words": out_w, "letter_avg": out_a, "letter_prob": prob}

    def reicher(self, displays, position: int, targets, alternatives, exposure: int = 15,
                n_cycles: int = 40) -> np.ndarray:
        """Simulated Reicher 2AFC accuracy for each display (masked after ``exposure`` cycles).

        ``P(correct) = P(target) + ½·(1 − P(target) − P(alternative))`` from the letter
        probabilities at ``position``, read out at the cycle where it peaks.
        """
        res = self.run(displays, n_cycles, mask_onset=exposure)
        pr = res["letter_prob"][:, :, position]                                # (B, T, 26)
        ti = np.array([LETTERS.index(c) for c in targets])
        ai = np.array([LETTERS.index(c) for c in alternatives])
        rows = np.arange(len(ti))
        pt, pa = pr[rows, :, ti], pr[rows, :, ai]
        return (pt + 0.5 * (1 - pt - pa)).max(1)

    def to_store(self, result, displays, model_id: str = "iam"):
        """ActivationStore of letter and word activations per cycle (``time_unit="cycle"``)."""
        b, t = result["letters"].shape[:2]
        arrays = [np.concatenate([result["letters"][i].reshape(t, -1), result["words"][i]], 1) for i in range(b)]
        units = [f"letter:{k}:{c}" for k in range(4) for c in LETTERS] + [f"word:{w}" for w in self.words]
        layer = ["letter"] * 104 + ["word"] * len(self.words)
        ids = [f"{d}#{i}" if list(displays).count(d) > 1 else d for i, d in enumerate(displays)]
        return from_arrays(arrays, ids, 1.0, units, time_unit="cycle", model_id=model_id,
                           config=asdict(self.params), layer=np.array(layer, dtype=object))


_VOWELS = set("aeiou")


def reicher_trials(model: IAModel, n_trials: int = 48, random_state=None):
    """Word, pseudoword and single-letter trials for the Reicher task.

    Each trial has a word whose critical letter can be replaced to give another word (so both
    alternatives are words, as in Reicher 1969); its pseudoword changes one other letter
    (vowel for vowel, consonant for consonant) so that neither alternative is a word, choosing
    the change with the most lexical neighbours (like M&R's MAVE); the single-letter display
    shows only the critical letter.

    Returns
    -------
    list of dict with ``word``, ``pseudoword``, ``letter`` (displays), ``position``,
    ``target`` and ``alternative``.
    """
    rng = check_random_state(random_state)
    lex = set(model.words)
    spell = model.spell.reshape(len(model.words), -1)

    def neighbours(s):
        v = np.zeros((4, 26))
        v[np.arange(4), [LETTERS.index(c) for c in s]] = 1
        return int(np.sum(spell @ v.ravel() == 3))

    trials = []
    for wi in rng.permutation(len(model.words)):
        w = model.words[wi]
        pos = int(rng.integers(4))
        alts = [c for c in LETTERS if c != w[pos] and (w[:pos] + c + w[pos + 1:]) in lex]
        if not alts:
            continue
        alt = alts[int(rng.integers(len(alts)))]
        best, best_n = None, 0
        for q in (k for k in range(4) if k != pos):
            same = [c for c in LETTERS if c != w[q] and ((c in _VOWELS) == (w[q] in _VOWELS))]
            for c in same:
                pw = w[:q] + c + w[q + 1:]
                pa = pw[:pos] + alt + pw[pos + 1:]
                if pw in lex or pa in lex:
                    continue
                n = neighbours(pw)
                if n > best_n:
                    best, best_n = pw, n
        if best is None:
            continue
        trials.append({"word": w, "pseudoword": best, "letter": "_" * pos + w[pos] + "_" * (3 - pos),
                       "position": pos, "target": w[pos], "alternative": alt})
        if len(trials) >= n_trials:
            break
    return trials


def reicher_experiment(model: IAModel, n_trials: int = 48, exposure: int = 15, n_cycles: int = 40,
                       random_state=None) -> dict:
    """Mean simulated 2AFC accuracy for words, pseudowords and single letters."""
    trials = reicher_trials(model, n_trials, random_state)
    out = {}
    for cond in ("word", "pseudoword", "letter"):
        acc = np.empty(len(trials))
        for pos in range(4):
            idx = [i for i, t in enumerate(trials) if t["position"] == pos]
            if idx:
                acc[idx] = model.reicher([trials[i][cond] for i in idx], pos, [trials[i]["target"] for i in idx],
                                         [trials[i]["alternative"] for i in idx], exposure, n_cycles)
        out[cond] = float(acc.mean())
    return out


class IASubject(ModelSubject):
    """The IA model as a model subject: a display (e.g. ``"work"``, ``"wor[kr]"``) in, letter
    (4 × 26) and word activations per cycle out (``time_unit="cycle"``)."""

    model_id = "iam"
    frame_rate = 1.0
    time_unit = "cycle"

    def __init__(self, model: "IAModel | None" = None, n_cycles: int = 40, mask_onset: int | None = None):
        self.model = model
        self.n_cycles = n_cycles
        self.mask_onset = mask_onset

    def _model(self):
        if self.model is None:
            self.model = IAModel()
        return self.model

    def config_json(self) -> str:
        import json

        return json.dumps({**asdict(self._model().params), "n_cycles": self.n_cycles, "mask_onset": self.mask_onset})

    def run_one(self, stimulus):
        res = self._model().run([stimulus], self.n_cycles, mask_onset=self.mask_onset)
        t = res["letters"].shape[1]
        return {"letter": res["letters"][0].reshape(t, -1), "word": res["words"][0]}


#: M&R 1981's qualitative results for WOR? (K/R ambiguous; Figs. 8-9) and the Reicher task.
PUBLISHED = {"k_over_r": "K wins", "word_winner": "work", "competitor_word": "WORD rises, then falls back",
             "reicher_order": "word > pseudoword > letter"}


def demo(random_state=0, n_cycles: int = 40, n_trials: int = 48):
    """WOR? with the last letter ambiguous between K and R (M&R 1981, Figs. 8-9), and the
    Reicher word-superiority experiment (``n_trials`` word/pseudoword/letter trials drawn with
    ``random_state``).

    Verdict rule: ``"reproduced"`` when K ends above R, WORK is the most active word, its
    competitor WORD rises (by > 0.05) and then falls back (by > 0.05), and Reicher
    accuracy is ordered word > pseudoword > letter; ``"not reproduced"`` when K does not beat R
    or WORK does not win; ``"approximate"`` otherwise.
    """
    from ._summary import make_summary, new_figure, verdict_from_checks

    rng = check_random_state(random_state)
    model = IAModel()
    displays = ["wor[kr]"]
    res = model.run(displays, n_cycles)
    comp = ("work", "word", "weak", "wear")
    words = {x: res["words"][0, :, model.words.index(x)] for x in comp}
    k, r = (res["letters"][0, :, 3, LETTERS.index(c)] for c in "kr")
    final = res["words"][0, -1]
    winner = model.words[int(np.argmax(final))]
    reicher = reicher_experiment(model, n_trials=n_trials, n_cycles=n_cycles, random_state=rng)
    checks = {"k_over_r": bool(k[-1] > r[-1]), "work_wins": winner == "work",
              "competitor_word": bool(words["word"].max() > words["word"][0] + 0.05
                                      and words["word"][-1] < words["word"].max() - 0.05),
              "reicher_order": reicher["word"] > reicher["pseudoword"] > reicher["letter"]}
    verdict = verdict_from_checks(checks, core=("k_over_r", "work_wins"))
    ours = {"k_over_r": f"K {k[-1]:.3f} vs R {r[-1]:.3f}", "word_winner": winner,
            "competitor_word": f"WORD from {words['word'][0]:.2f} to max {words['word'].max():.2f}, "
                               f"final {words['word'][-1]:.2f}",
            "reicher_order": f"{reicher['word']:.3f} / {reicher['pseudoword']:.3f} / {reicher['letter']:.3f}"}
    fig, (ax1, ax2, ax3) = new_figure(3)
    for c, y in (("k", k), ("r", r)):
        ax1.plot(y, label=c.upper())
    ax1.set(xlabel="cycle", ylabel="activation", title="letter units, position 4 (WOR?)")
    ax1.legend(fontsize=7)
    for w in comp:
        ax2.plot(words[w], label=w.upper())
    ax2.set(xlabel="cycle", ylabel="activation", title="word units")
    ax2.legend(fontsize=7)
    ax3.bar(["word", "pseudoword", "letter"], [reicher[c] for c in ("word", "pseudoword", "letter")],
            color=["C0", "C1", "C2"])
    ax3.set(ylim=(0.5, 1.0), ylabel="2AFC accuracy (peak)", title=f"Reicher task ({n_trials} trials)")
    fig.tight_layout()
    summary = make_summary("McClelland & Rumelhart (1981) Psychological Review 88:375-407", PUBLISHED, ours,
                           verdict, [random_state], f"{n_cycles} cycles; Reicher {n_trials} trials",
                           checks=checks, final_word_activation={w: float(words[w][-1]) for w in comp},
                           final_k=float(k[-1]), final_r=float(r[-1]), reicher=reicher)
    return {"store": model.to_store(res, displays), "figure": fig, "summary": summary}
