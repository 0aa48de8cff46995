"""The triangle model of reading (Plaut, McClelland, Seidenberg & Patterson 1996; Harm & Seidenberg 2004).

Orthography (O), phonology (P) and semantics (S), each pair joined by a hidden layer:

* O→P, the direct pathway (``O → H_op → P``, plus letter→phoneme connections ``O → P``);
* O→S (``O → H_os → S``);
* S→P, the semantic pathway to phonology (``S → H_sp → P``);
* P→S (``P → H_ps → S``);
* P and S each with cleanup units (``P ↔ C_p``, ``S ↔ C_s``) that make them attractors.

The network runs for ``n_ticks`` ticks (every layer reads the previous tick's state, so
semantics reaches phonology through S→P on the next ticks) and is trained through time (BPTT)
in H&S 2004's two phases:

1. **Before reading** (``pre_epochs``): *speaking* (S clamped, target P: trains S→P and the
   phonological attractor) and *hearing* (P clamped, target S: trains P→S and the semantic
   attractor), in one batch.
2. **Reading** (``read_epochs``): O in, P and S free, targets P and S over the last ticks,
   each word's error weighted by its frequency class; speaking and hearing continue alongside
   (``speak_weight``), so S→P and P→S keep their knowledge.  As in Plaut et al. 1996's
   simulation 4, semantics' support for phonology grows during reading: the S→P pathway's
   input to phonology is scaled by ``gain(t) ∝ t / (t + k)`` (P96's time course of the
   semantic input), reaching ``semantic_gain`` at the end, so early in reading the direct
   pathway must do the work alone and later semantics takes over what the direct pathway
   finds expensive.

Weight decay on every weight (``weight_decay``; P96 simulation 4) makes the pathways share the
work: the regular spelling-sound mapping, used by every regular word and cheap in weights,
stays in the direct pathway; the item-specific pronunciations of exception words, above all the
low-frequency ones, come to depend on the semantic pathway.

The toy lexicon (:func:`make_vocabulary`): CVC words over 9 consonants and 4 vowels, most
spelled regularly (each letter has one pronunciation); a proportion are exceptions whose vowel
is pronounced as another vowel; half the words are high-frequency, half low-frequency (loss
weights ``freq_weights``); semantics are random sparse features, unrelated to form.  Nonwords
(CVCs not in the lexicon) test the direct pathway's generalisation.  Naming is scored with a
margin: every slot's target phoneme must lead every other phoneme of its slot by ``margin``
(0.1) at the last tick; a tie is an error.

**Published signature** (the division of labour; P96 sim. 4, H&S 2004): removing the semantic
contribution to phonology spares regular words and nonwords and hurts exceptions, low-frequency
ones most (surface dyslexia, with regularisation errors); the direct pathway carries regular
words and nonwords; exceptions' reliance on semantics grows as semantics supports phonology
during training.  :func:`demo` checks these in each network and judges the population of
networks (:func:`population_verdict`: each check in ≥ ⌈0.8 n⌉ of n seeds, mean sizes ≥ the
development seeds' mean − 2 SD).

**What this implementation reproduces** (defaults; numbers per seed in
``docs/zoo_classic.md``).  Seeds 0-5 (on which the defaults were settled) and seeds 6-17 (run
once afterwards, in two batches, nothing changed) all meet every check: intact reading
0.96-1.0; without S→P regular words 0.83-0.97 against exceptions 0.35-0.65 (gap 0.39 ± 0.12,
0.38 ± 0.10 and 0.44 ± 0.04, mean ± SD of each six), 0.62-1.0 of the exception errors being
regularisations; without O→P almost nothing is read (regular words ≤ 0.01, nonwords 0); at the
vowel exceptions draw 0.44-0.76 of their support from semantics against 0.15-0.29 for regular
words; exceptions' semantic share grows over reading (0.10-0.14 at epoch 833 to 0.22-0.30).
Weaker than published: low-frequency exceptions are hit harder than high-frequency ones in 14
of 18 networks, often by one or two words; nonwords are read at 0.62-0.85 (P96: about 0.9) and
lose from a semantic lesion too (mean 0.73 → 0.60).

**Departures** from the published models (settings of :class:`TriangleModel` unless stated):

* a toy lexicon of 160 CVCs (40 of them exceptions, 40 nonwords) with one-hot letter and
  phoneme slots and 40 random semantic features, two frequency classes with loss weights 1 and
  0.2 (P96: 2998 monosyllables, square-root compressed Kučera–Francis frequencies; H&S: 6103
  words, phonetic features, 1989 semantic features).  An earlier default of 80 words (20
  exceptions, so one word was 5 % of the exceptions) with 40 hidden units, weight decay 6e-5
  and Adam at lr 0.02 (whose loss spiked) met every check in 4 of 6 seeds: its O→S and S→P
  pathways were learned poorly and unevenly (semantics right for 20-67 % of words, speaking
  for 76-100 %), so how much semantics could carry depended on the seed;
* layer sizes (100 hidden units for O→S, S→P and P→S, 40 for O→P, 20 cleanup units per
  attractor; P96 sim. 4: 100 hidden units and an idealised semantic input; H&S: 500 hidden
  units per pathway) and the budget (400 pre-reading + 2500 reading epochs, full batch) are
  ours;
* the direct pathway has letter→phoneme connections besides its hidden layer (``skip=True``):
  with position-specific one-hot codes these make the regular mapping as cheap in weights as
  P96's grapheme/phoneme representations made it (cf. the two-layer network of Zorzi,
  Houghton & Butterworth 1998); without them (``skip=False``, seeds 0-2 at the defaults) every
  check still holds, but the division is less clean: the gap is smaller (0.19-0.26), fewer
  exception errors are regularisations (0.43-0.50) and regular words keep 0.86-0.89 without
  S→P (at the earlier 80-word settings regular words kept only 0.68-0.75);
* semantic support grows through a gain on the S→P pathway (one curve for all words, so
  frequency acts through learning) instead of P96's external input ``g·log(f+2)·t/(t+k)``
  to the phoneme units; ``semantic_k`` is long relative to training (the ramp is nearly linear);
* the S→P pathway's input to phonology is measured from its input at a neutral semantic state
  (every semantic unit at the lexicon's mean activity; :class:`TriangleNet`), so a lesion of
  S→P removes what meaning says about the word and no tonic drive (built in, not a setting);
* logistic units updated once per tick and full-batch Adam instead of continuous-time units
  (H&S) or back-propagation with momentum (P96); a short pre-reading phase; weight decay is
  ``weight_decay`` times the sum of squared weights added to the mean (over words) loss, so
  its strength relative to the data depends on the lexicon's size (at 160 words 6e-5 left
  speaking at 17-28 % correct; 3e-5 is the default).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..store import from_arrays
from ..subject import ModelSubject
from ..utils._check import check_option, check_random_state

CONSONANTS = "bdgkptmns"
VOWELS = "aeio"
LETTERS = CONSONANTS + VOWELS
#: Pathways that :meth:`TriangleModel.read` can remove (their connections into P or S set to 0).
PATHWAYS = ("direct", "semantic", "orth_sem", "phon_sem")


def _code(words, exception=None):
    nl = len(LETTERS)
    orth = np.zeros((len(words), 3 * nl))
    phon = np.zeros((len(words), 3 * nl))
    for i, w in enumerate(words):
        for k, c in enumerate(w):
            orth[i, k * nl + LETTERS.index(c)] = 1
            pc = c
            if k == 1 and exception is not None and exception[i]:
                pc = VOWELS[(VOWELS.index(c) + 1) % len(VOWELS)]
            phon[i, k * nl + LETTERS.index(pc)] = 1
    return orth, phon


def make_vocabulary(n_words: int = 160, p_exception: float = 0.25, n_sem: int = 40, n_sem_on: int = 6,
                    n_nonwords: int = 40, random_state=None):
    """Toy CVC vocabulary.

    Returns
    -------
    dict with ``words`` (list of str), ``exception`` (bool array), ``high_freq`` (bool array:
    half of the regular and half of the exception words), ``orth`` and ``phon``
    (n, 3·13) position-specific one-hot codes, ``sem`` (n, n_sem) binary, and ``nonwords``
    with their ``nonword_orth`` / ``nonword_phon`` (regular pronunciations).
    """
    rng = check_random_state(random_state)
    all_words = [a + v + b for a in CONSONANTS for v in VOWELS for b in CONSONANTS]
    if n_words + n_nonwords > len(all_words):
        raise ValueError(f"n_words + n_nonwords must be <= {len(all_words)}, got {n_words} + {n_nonwords}")
    if not 0 <= p_exception <= 1:
        raise ValueError(f"p_exception must be in [0, 1], got {p_exception}")
    pick = rng.choice(len(all_words), n_words + n_nonwords, replace=False)
    words = [all_words[i] for i in pick[:n_words]]
    nonwords = [all_words[i] for i in pick[n_words:]]
    exception = np.zeros(n_words, bool)
    exception[rng.choice(n_words, int(round(p_exception * n_words)), replace=False)] = True
    high = np.zeros(n_words, bool)
    for group in (np.flatnonzero(exception), np.flatnonzero(~exception)):
        high[rng.permutation(group)[: len(group) // 2]] = True
    orth, phon = _code(words, exception)
    sem = np.zeros((n_words, n_sem))
    for i in range(n_words):
        sem[i, rng.choice(n_sem, n_sem_on, replace=False)] = 1
    n_orth, n_phon = _code(nonwords)
    return {"words": words, "exception": exception, "high_freq": high, "orth": orth, "phon": phon, "sem": sem,
            "nonwords": nonwords, "nonword_orth": n_orth, "nonword_phon": n_phon}


class TriangleNet(nn.Module):
    """O, P, S with hidden layers and cleanup units, unrolled over ticks.

    ``forward(orth, sem_clamp, phon_clamp, clamp_sem, clamp_phon, gains)`` runs a batch in
    which each item may have semantics and/or phonology clamped (``clamp_*``: ``(B, 1)`` masks,
    1 = clamped to ``*_clamp``) and its own gain per pathway (``gains``: dict of :data:`PATHWAYS`
    -> ``(B, 1)`` or scalar; 0 removes the pathway).  It returns time courses ``(B, n_ticks, n)``:
    ``"phon"``, ``"sem"`` and the net inputs to phonology from the two pathways (``"direct"``,
    ``"semantic"``) and to semantics (``"orth_sem"``, ``"phon_sem"``).  At tick t every layer
    reads the state of tick t−1; P and S start at 0.

    The S→P pathway's input to phonology is measured from its input at a neutral semantic state
    (every semantic unit at ``sem_rest``, the lexicon's mean activity): it carries what the
    word's meaning says about its sounds, and a lesion of S→P removes that and nothing else (no
    tonic drive that the phonological biases would otherwise have absorbed).
    """

    def __init__(self, n_orth, n_phon, n_sem, n_hidden=40, n_clean=20, n_ticks=6, n_hidden_direct=None,
                 sem_rest=0.15, skip=False):
        super().__init__()
        self.n_ticks = n_ticks
        self.sem_rest = float(sem_rest)
        nd = n_hidden if n_hidden_direct is None else n_hidden_direct
        self.o_hop, self.hop_p = nn.Linear(n_orth, nd), nn.Linear(nd, n_phon)
        self.o_p = nn.Linear(n_orth, n_phon, bias=False) if skip else None
        self.o_hos, self.hos_s = nn.Linear(n_orth, n_hidden), nn.Linear(n_hidden, n_sem, bias=False)
        self.s_hsp, self.hsp_p = nn.Linear(n_sem, n_hidden), nn.Linear(n_hidden, n_phon)
        self.p_hps, self.hps_s = nn.Linear(n_phon, n_hidden), nn.Linear(n_hidden, n_sem, bias=False)
        self.p_cp, self.cp_p = nn.Linear(n_phon, n_clean), nn.Linear(n_clean, n_phon, bias=False)
        self.s_cs, self.cs_s = nn.Linear(n_sem, n_clean), nn.Linear(n_clean, n_sem, bias=False)
        self.p_bias = nn.Parameter(torch.full((n_phon,), -2.0))
        self.s_bias = nn.Parameter(torch.full((n_sem,), -2.0))

    def _sp(self, s):
        return self.hsp_p(torch.sigmoid(self.s_hsp(s)))

    def forward(self, orth, sem_clamp, phon_clamp, clamp_sem, clamp_phon, gains):
        b = orth.shape[0]
        n_p, n_s = self.p_bias.shape[0], self.s_bias.shape[0]
        g = {k: gains.get(k, 1.0) for k in PATHWAYS}
        p = clamp_phon * phon_clamp
        s = clamp_sem * sem_clamp
        direct = self.hop_p(torch.sigmoid(self.o_hop(orth)))
        if self.o_p is not None:
            direct = direct + self.o_p(orth)
        direct = g["direct"] * direct
        orth_sem = g["orth_sem"] * self.hos_s(torch.sigmoid(self.o_hos(orth)))
        rest = self._sp(torch.full((1, n_s), self.sem_rest))
        out = {k: [] for k in ("phon", "sem", "direct", "semantic", "orth_sem", "phon_sem")}
        for _ in range(self.n_ticks):
            sempath = g["semantic"] * (self._sp(s) - rest)
            phon_sem = g["phon_sem"] * self.hps_s(torch.sigmoid(self.p_hps(p)))
            p_new = torch.sigmoid(direct + sempath + self.cp_p(torch.sigmoid(self.p_cp(p))) + self.p_bias)
            s_new = torch.sigmoid(orth_sem + phon_sem + self.cs_s(torch.sigmoid(self.s_cs(s))) + self.s_bias)
            p = clamp_phon * phon_clamp + (1 - clamp_phon) * p_new
            s = clamp_sem * sem_clamp + (1 - clamp_sem) * s_new
            for k, v in (("phon", p), ("sem", s), ("direct", direct.expand(b, n_p)), ("semantic", sempath),
                         ("orth_sem", orth_sem.expand(b, n_s)), ("phon_sem", phon_sem)):
                out[k].append(v)
        return {k: torch.stack(v, 1) for k, v in out.items()}


def _phon_correct(pred, target, n_pos=3, margin=0.1):
    """Every slot's target phoneme is ahead of every other phoneme of its slot by ≥ ``margin``
    (a tie, or a lead under the margin, counts as wrong)."""
    p = pred.reshape(len(pred), n_pos, -1)
    t = target.reshape(len(target), n_pos, -1).argmax(-1)
    own = np.take_along_axis(p, t[..., None], -1)[..., 0]
    other = np.where(np.arange(p.shape[-1]) == t[..., None], -np.inf, p).max(-1)
    return np.all(own - other >= margin, axis=1)


def _support(x, target, n_pos=3):
    """Per word, a pathway's net input to each slot's target phoneme minus its largest input to
    another phoneme of the slot, clipped at 0 and summed over slots: how much the pathway
    pushes the right phonemes ahead of their competitors."""
    xs = x.reshape(len(x), n_pos, -1)
    on = target.reshape(len(target), n_pos, -1) > 0
    own = (xs * on).sum(-1)
    other = np.where(on, -np.inf, xs).max(-1)
    return np.clip(own - other, 0, None).sum(1)


class TriangleModel:
    """Train the triangle model and measure the division of labour.

    Parameters
    ----------
    n_hidden, n_hidden_direct, n_clean, n_ticks : int
        Units per hidden layer (``n_hidden_direct`` for the direct pathway's), per cleanup
        layer, and ticks of settling (loss over the last ``n_ticks // 2``).
    pre_epochs, read_epochs : int
        Full-batch Adam steps before reading (speaking + hearing) and during reading.
    lr : float
    weight_decay : float
        L2 penalty on every weight matrix (times the sum of squares, added to the loss).
    freq_weights : (float, float)
        Loss weights of high- and low-frequency words during reading.
    semantic_gain, semantic_k : float
        The S→P pathway's gain during reading grows as in Plaut et al. (1996) simulation 4,
        ``gain(t) = semantic_gain · [t / (t + k)] / [T / (T + k)]`` over reading epochs
        t = 1 … T (``k = semantic_k``), reaching ``semantic_gain`` at the end of training;
        the trained network is read at that gain.  Speaking always uses gain 1.
    speak_weight : float
        Weight of the speaking and hearing tasks trained alongside reading.
    skip : bool
        Letter→phoneme connections in the direct pathway besides its hidden layer.
    margin : float
        Naming criterion: every slot's target phoneme ahead of its competitors by ``margin``.
    n_checkpoints : int
        Times during reading (evenly spaced) at which the division of labour is measured
        (``history_``).
    vocabulary : dict, optional
        A :func:`make_vocabulary` result; default one drawn from ``random_state``.
    random_state : None or int
    """

    def __init__(self, n_hidden: int = 100, n_hidden_direct: int = 40, n_clean: int = 20, n_ticks: int = 6,
                 pre_epochs: int = 400, read_epochs: int = 2500, lr: float = 0.01, weight_decay: float = 3e-5,
                 freq_weights=(1.0, 0.2), semantic_gain: float = 1.5, semantic_k: float = 9000.0,
                 speak_weight: float = 0.5, margin: float = 0.1, n_checkpoints: int = 3, skip: bool = True,
                 vocabulary=None, random_state=None):
        self.skip = skip
        self.n_hidden = n_hidden
        self.n_hidden_direct = n_hidden_direct
        self.n_clean = n_clean
        self.n_ticks = n_ticks
        self.pre_epochs = pre_epochs
        self.read_epochs = read_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.freq_weights = freq_weights
        self.semantic_gain = semantic_gain
        self.semantic_k = semantic_k
        self.speak_weight = speak_weight
        self.margin = margin
        self.n_checkpoints = n_checkpoints
        self.vocabulary = vocabulary
        self.random_state = random_state

    def _gain(self, t):
        k, big_t = float(self.semantic_k), max(1, int(self.read_epochs))
        return float(self.semantic_gain) * (t / (t + k)) / (big_t / (big_t + k))

    def fit(self):
        """Train (pre-reading phase, then reading); the global torch RNG is left untouched.

        With ``vocabulary=None`` the vocabulary is drawn from ``random_state`` first.  Training
        runs on one thread (restored afterwards): the tensors are small, so splitting each
        kernel over cores only adds synchronisation (on a busy 2-core machine two threads
        made a fit about 10 times slower), and the result cannot depend on the thread count."""
        n_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._fit()
        finally:
            torch.set_num_threads(n_threads)

    def _fit(self):
        rng = check_random_state(self.random_state)
        v = make_vocabulary(random_state=rng) if self.vocabulary is None else self.vocabulary
        fw = np.asarray(self.freq_weights, dtype=float)
        if fw.shape != (2,) or np.any(fw <= 0):
            raise ValueError(f"freq_weights must be two positive weights (high, low), got {self.freq_weights!r}")
        if not (np.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {self.weight_decay}")
        for name in ("semantic_gain", "semantic_k", "speak_weight", "margin"):
            val = getattr(self, name)
            if not (np.isfinite(val) and val >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {val}")
        if int(self.read_epochs) < 0 or int(self.pre_epochs) < 0:
            raise ValueError(f"pre_epochs and read_epochs must be >= 0, got {self.pre_epochs}, {self.read_epochs}")
        self.vocab_ = v
        o, p, s = (torch.as_tensor(v[k], dtype=torch.float32) for k in ("orth", "phon", "sem"))
        n = len(o)
        w = torch.as_tensor(np.where(v["high_freq"], fw[0], fw[1]), dtype=torch.float32)
        w = w / w.mean()
        with torch.random.fork_rng(devices=[]):  # local seed: the global RNG is left untouched
            torch.manual_seed(int(rng.integers(2**31)))
            net = TriangleNet(o.shape[1], p.shape[1], s.shape[1], self.n_hidden, self.n_clean, self.n_ticks,
                              self.n_hidden_direct, sem_rest=float(v["sem"].mean()), skip=self.skip)
        self.net_ = net
        self.gain_ = 0.0
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        late = max(1, self.n_ticks // 2)
        mats = [m.weight for m in net.modules() if isinstance(m, nn.Linear)]
        zo, zp, zs = torch.zeros_like(o), torch.zeros_like(p), torch.zeros_like(s)
        one, zero = torch.ones(n, 1), torch.zeros(n, 1)
        # one batch: [reading items,] speaking items (S clamped), hearing items (P clamped)
        speak_hear = {"orth": torch.cat([zo, zo]), "sem_clamp": torch.cat([s, zs]), "phon_clamp": torch.cat([zp, p]),
                      "clamp_sem": torch.cat([one, zero]), "clamp_phon": torch.cat([zero, one])}
        read_all = {k: torch.cat([x, speak_hear[k]]) for k, x in
                    (("orth", o), ("sem_clamp", zs), ("phon_clamp", zp), ("clamp_sem", zero), ("clamp_phon", zero))}

        def gains(gain_sem, reading):
            pre = [one] if reading else []
            return {"direct": torch.cat(pre + [zero, zero]), "orth_sem": torch.cat(pre + [zero, zero]),
                    "semantic": torch.cat(([one * gain_sem] if reading else []) + [one, one]),
                    "phon_sem": torch.cat(pre + [one, one])}

        def bce(pred, target):
            pred = pred[:, -late:].clamp(1e-6, 1 - 1e-6)
            return nn.functional.binary_cross_entropy(pred, target[:, None].expand_as(pred),
                                                      reduction="none").mean((1, 2))

        def step(loss):
            if self.weight_decay:
                loss = loss + self.weight_decay * sum(m.square().sum() for m in mats)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return float(loss.detach())

        self.loss_, self.history_ = [], []
        g_sh = gains(0.0, False)
        for _ in range(int(self.pre_epochs)):               # speaking (S -> P) and hearing (P -> S)
            out = net(gains=g_sh, **speak_hear)
            self.loss_.append(step(bce(out["phon"][:n], p).mean() + bce(out["sem"][n:], s).mean()))
        n_read = int(self.read_epochs)
        marks = set() if not self.n_checkpoints or not n_read else {
            int(round(n_read * (i + 1) / self.n_checkpoints)) for i in range(int(self.n_checkpoints))}
        for t in range(1, n_read + 1):                       # reading (O -> P, S), speaking and hearing
            self.gain_ = self._gain(t)
            out = net(gains=gains(self.gain_, True), **read_all)
            loss = (((bce(out["phon"][:n], p) + bce(out["sem"][:n], s)) * w).mean()
                    + self.speak_weight * (bce(out["phon"][n:2 * n], p).mean() + bce(out["sem"][2 * n:], s).mean()))
            self.loss_.append(step(loss))
            if t in marks:
                self.history_.append(dict(self.division_of_labour(), epoch=t, semantic_gain=self.gain_))
        return self

    def read(self, pathway_off=None, orth=None, gains=None):
        """Reading time courses (dict of arrays ``(n_words, n_ticks, n)``) at the trained
        semantic gain, optionally with one or more of :data:`PATHWAYS` removed, or damaged by a
        factor (``gains``, e.g. ``{"semantic": 0.5}`` halves S→P's input to phonology);
        ``orth`` defaults to the lexicon's words."""
        if not hasattr(self, "net_"):
            raise ValueError("model is not fitted; call fit() first")
        offs = [] if pathway_off is None else [pathway_off] if isinstance(pathway_off, str) else list(pathway_off)
        factors = dict.fromkeys(PATHWAYS, 1.0)
        for k, f in (gains or {}).items():
            check_option(k, PATHWAYS, "gains")
            if not (np.isfinite(f) and f >= 0):
                raise ValueError(f"gains[{k!r}] must be a finite factor >= 0, got {f}")
            factors[k] = float(f)
        for k in offs:
            check_option(k, PATHWAYS, "pathway_off")
            factors[k] = 0.0
        factors["semantic"] *= self.gain_
        x = torch.as_tensor(self.vocab_["orth"] if orth is None else orth, dtype=torch.float32)
        b = len(x)
        n_p, n_s = self.net_.p_bias.shape[0], self.net_.s_bias.shape[0]
        zero = torch.zeros(b, 1)
        with torch.no_grad():
            out = self.net_(x, torch.zeros(b, n_s), torch.zeros(b, n_p), zero, zero, factors)
        return {k: val.numpy() for k, val in out.items()}

    def accuracy(self, pathway_off=None, gains=None) -> dict:
        """Naming accuracy (every slot's target phoneme ahead of the others by ``margin`` at the
        last tick) by word type and frequency, and on nonwords (read with their regular
        pronunciations as targets), optionally after a lesion (see :meth:`read`)."""
        v = self.vocab_
        ok = _phon_correct(self.read(pathway_off, gains=gains)["phon"][:, -1], v["phon"], margin=self.margin)
        exc, hf = v["exception"], v["high_freq"]
        nw = _phon_correct(self.read(pathway_off, v["nonword_orth"], gains)["phon"][:, -1], v["nonword_phon"],
                           margin=self.margin)
        return {"all": float(ok.mean()), "regular": float(ok[~exc].mean()), "exception": float(ok[exc].mean()),
                "regular_hf": float(ok[~exc & hf].mean()), "regular_lf": float(ok[~exc & ~hf].mean()),
                "exception_hf": float(ok[exc & hf].mean()), "exception_lf": float(ok[exc & ~hf].mean()),
                "nonword": float(nw.mean())}

    def semantic_share(self, slot=None) -> np.ndarray:
        """Per word, the semantic pathway's share of the support for the right phonemes at the
        last tick: ``sem / (direct + sem)``, each pathway's support being its net input to the
        target phoneme minus its largest input to a competitor, clipped at 0, summed over the
        slots (or only slot ``slot``: 1 is the vowel, where exceptions differ)."""
        out = self.read()
        tgt = self.vocab_["phon"]
        d, sm = out["direct"][:, -1], out["semantic"][:, -1]
        if slot is not None:
            if slot not in (0, 1, 2):
                raise ValueError(f"slot must be 0, 1 or 2 (onset, vowel, coda) or None, got {slot!r}")
            cols = slice(slot * len(LETTERS), (slot + 1) * len(LETTERS))
            d, sm, tgt, n_pos = d[:, cols], sm[:, cols], tgt[:, cols], 1
        else:
            n_pos = 3
        d, sm = _support(d, tgt, n_pos), _support(sm, tgt, n_pos)
        return sm / np.maximum(d + sm, 1e-12)

    def regularisations(self, pathway_off="semantic", gains=None) -> float:
        """Of the exception words misread (after the given lesion), the fraction read with the
        regular pronunciation (each letter's own phoneme, by the same margin criterion); nan
        when no exception word is misread."""
        v = self.vocab_
        exc = v["exception"]
        ph = self.read(pathway_off, gains=gains)["phon"][exc, -1]
        wrong = ~_phon_correct(ph, v["phon"][exc], margin=self.margin)
        if not wrong.any():
            return float("nan")
        return float(_phon_correct(ph[wrong], v["orth"][exc][wrong], margin=self.margin).mean())

    def division_of_labour(self) -> dict:
        """Semantic share by word type (all slots, and the vowel), accuracy intact and after
        removing the semantic (S→P) or the direct (O→P) pathway, and the share of
        regularisations among the exception errors without S→P."""
        share, vowel = self.semantic_share(), self.semantic_share(slot=1)
        exc = self.vocab_["exception"]
        return {"semantic_share_regular": float(share[~exc].mean()),
                "semantic_share_exception": float(share[exc].mean()),
                "vowel_semantic_share_regular": float(vowel[~exc].mean()),
                "vowel_semantic_share_exception": float(vowel[exc].mean()),
                "accuracy_intact": self.accuracy(),
                "accuracy_without_semantic": self.accuracy("semantic"),
                "accuracy_without_direct": self.accuracy("direct"),
                "regularisations_without_semantic": self.regularisations("semantic")}

    def to_store(self, model_id: str = "triangle"):
        """Phonology and semantics over ticks (``time_unit="step"``), one stimulus per word."""
        out = self.read()
        words = self.vocab_["words"]
        arrays = [np.concatenate([out["phon"][i], out["sem"][i]], 1) for i in range(len(words))]
        n_p, n_s = out["phon"].shape[2], out["sem"].shape[2]
        units = [f"phon:{k}" for k in range(n_p)] + [f"sem:{k}" for k in range(n_s)]
        layer = np.array(["phonology"] * n_p + ["semantics"] * n_s, dtype=object)
        kind = np.where(self.vocab_["exception"], "exception", "regular").astype(object)
        return from_arrays(arrays, words, 1.0, units, time_unit="step", model_id=model_id,
                           config={"n_hidden": self.n_hidden, "n_ticks": self.n_ticks,
                                   "weight_decay": self.weight_decay, "read_epochs": self.read_epochs,
                                   "semantic_gain": self.semantic_gain},
                           layer=layer, word=np.array(words, dtype=object), word_type=kind)


class TriangleSubject(ModelSubject):
    """A trained :class:`TriangleModel` as a model subject: a CVC letter string in, phonology
    and semantics per tick out (``time_unit="step"``).  Strings outside the vocabulary are read
    too (nonwords; their semantics are whatever the network makes of them)."""

    model_id = "triangle"
    frame_rate = 1.0
    time_unit = "step"

    def __init__(self, model: TriangleModel):
        if not hasattr(model, "net_"):
            raise ValueError("model is not fitted; call TriangleModel(...).fit() first")
        self.model = model

    def config_json(self) -> str:
        import json

        m = self.model
        return json.dumps({"n_hidden": m.n_hidden, "n_hidden_direct": m.n_hidden_direct, "n_ticks": m.n_ticks,
                           "weight_decay": m.weight_decay, "semantic_gain": m.semantic_gain, "skip": m.skip,
                           "read_epochs": m.read_epochs, "random_state": m.random_state})

    def run_one(self, stimulus):
        if not (isinstance(stimulus, str) and len(stimulus) == 3 and stimulus[0] in CONSONANTS
                and stimulus[1] in VOWELS and stimulus[2] in CONSONANTS):
            raise ValueError(f"a stimulus must be a CVC string over consonants {CONSONANTS!r} and vowels "
                             f"{VOWELS!r}, got {stimulus!r}")
        orth, _ = _code([stimulus])
        out = self.model.read(orth=orth)
        return {"phonology": out["phon"][0], "semantics": out["sem"][0]}


#: The published division of labour (Plaut et al. 1996 sim. 4; Harm & Seidenberg 2004).
PUBLISHED = {"intact_accuracy": ">= 0.95 (words read correctly)",
             "without S->P: regular - exception": "> 0 (surface dyslexia: regular words spared)",
             "without S->P: exception HF - LF": "> 0 (low-frequency exceptions worst)",
             "without S->P: exception errors that are regularisations": "most",
             "semantic share at the vowel: exception - regular": "> 0 (exceptions rely more on semantics)",
             "without O->P: regular, nonword": "fail (the direct pathway carries regular words and nonwords)",
             "semantic share of exceptions: end - first checkpoint": "> 0 (grows as semantics supports phonology)"}

#: The per-seed checks of :func:`seed_checks`, in order.
CHECKS = ("intact", "semantic_lesion_spares_regular", "exceptions_rely_more_on_semantics", "direct_carries_regular",
          "semantic_share_grows")
#: Fraction of the seeds in which each check must hold for the verdict "reproduced".
RULE_FRACTION = 0.8
#: Floors for the seeds' mean signature sizes (:func:`signature_sizes`) for "reproduced": the
#: development seeds' (0-5, defaults) mean − 2 SD, rounded down to 0.01.  Measured: regular −
#: exception accuracy without S→P 0.39 ± 0.12, exception − regular semantic share at the vowel
#: 0.40 ± 0.09, growth of exceptions' semantic share 0.13 ± 0.02 (mean ± SD over seeds 0-5).
FLOORS = {"gap": 0.14, "vowel_share_difference": 0.21, "share_growth": 0.09}


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else float("nan")


def signature_sizes(d: dict, history) -> dict:
    """The signature's sizes in one network (``d``: :meth:`TriangleModel.division_of_labour`,
    ``history``: its ``history_``): ``gap`` (regular − exception accuracy without S→P),
    ``vowel_share_difference`` (exception − regular semantic share at the vowel),
    ``share_growth`` (exceptions' semantic share, last − first checkpoint; nan with fewer
    than two) and ``hf_lf_exception`` (high- − low-frequency exception accuracy without S→P)."""
    wo_s = d["accuracy_without_semantic"]
    return {"gap": wo_s["regular"] - wo_s["exception"],
            "vowel_share_difference": d["vowel_semantic_share_exception"] - d["vowel_semantic_share_regular"],
            "share_growth": (history[-1]["semantic_share_exception"] - history[0]["semantic_share_exception"]
                             if len(history) >= 2 else float("nan")),
            "hf_lf_exception": wo_s["exception_hf"] - wo_s["exception_lf"]}


def seed_checks(d: dict, history, margin: float = 0.1) -> dict:
    """The five checks of one network (see :func:`demo`), ``{name: bool}`` in :data:`CHECKS` order."""
    wo_d, intact = d["accuracy_without_direct"], d["accuracy_intact"]
    size = signature_sizes(d, history)
    return {"intact": intact["all"] >= 0.95,
            "semantic_lesion_spares_regular": size["gap"] >= margin,
            "exceptions_rely_more_on_semantics": size["vowel_share_difference"] > 0,
            "direct_carries_regular": (intact["regular"] - wo_d["regular"] >= 0.5
                                       and intact["nonword"] - wo_d["nonword"] >= 0.3),
            "semantic_share_grows": bool(size["share_growth"] > 0)}



def population_verdict(checks_per_seed, sizes_per_seed) -> tuple[str, dict]:
    """The verdict over a population of networks, and its evidence.

    ``"reproduced"`` when each check of :data:`CHECKS` holds in at least ⌈0.8 n⌉ of the n seeds
    (:data:`RULE_FRACTION`) and the seeds' mean signature sizes reach :data:`FLOORS`;
    ``"approximate"`` when intact reading and the direct pathway's role hold in ⌈0.8 n⌉ seeds,
    each other check in a majority, and every mean size is > 0; ``"not reproduced"``
    otherwise.  Returns ``(verdict, {"needed": k, "passed": {check: count},
    "mean": {size: value}, "sd": {size: value}})``."""
    n = len(checks_per_seed)
    if n == 0 or n != len(sizes_per_seed):
        raise ValueError(f"need one checks dict and one sizes dict per seed, got {n} and {len(sizes_per_seed)}")
    need = int(np.ceil(RULE_FRACTION * n - 1e-9))
    passed = {k: int(sum(bool(c[k]) for c in checks_per_seed)) for k in CHECKS}
    mean = {k: _nanmean([s[k] for s in sizes_per_seed]) for k in sizes_per_seed[0]}
    sd = {k: float(np.nanstd([s[k] for s in sizes_per_seed], ddof=1)) if n > 1 else float("nan")
          for k in sizes_per_seed[0]}
    if all(v >= need for v in passed.values()) and all(mean[k] >= f for k, f in FLOORS.items()):
        verdict = "reproduced"
    elif (passed["intact"] >= need and passed["direct_carries_regular"] >= need
          and all(2 * passed[k] > n for k in CHECKS) and all(mean[k] > 0 for k in FLOORS)):
        verdict = "approximate"
    else:
        verdict = "not reproduced"
    return verdict, {"needed": need, "passed": passed, "mean": mean, "sd": sd}


def demo(random_state=0, n_seeds: int = 6, **kw):
    """Train ``n_seeds`` triangle models (seeds ``random_state ...``) and judge the division of
    labour over them (``kw`` go to :class:`TriangleModel`).

    Per seed five checks (:func:`seed_checks`): intact accuracy ≥ 0.95; after removing S→P,
    regular words are read better than exceptions by ≥ 0.1; at the vowel (where exceptions
    differ) exceptions draw a larger share of their support from semantics than regular words;
    after removing O→P, regular-word accuracy falls by ≥ 0.5 and nonword accuracy by ≥ 0.3; the
    semantic share of exceptions (all slots) at the end of reading training exceeds that at the
    first checkpoint.  The verdict judges the population (:func:`population_verdict`): each
    check in ≥ ⌈0.8 n⌉ seeds and the mean sizes at or above :data:`FLOORS` (the development
    seeds' mean − 2 SD) for ``"reproduced"``.  At the defaults, seeds 0-5 (development) and
    6-17 (run once afterwards) were measured: see ``docs/zoo_classic.md``.
    """
    from ..utils._logging import logger
    from ._summary import make_summary, new_figure

    seeds = list(range(int(random_state), int(random_state) + int(n_seeds)))
    if not seeds:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    models, dols = [], []
    for k, s in enumerate(seeds):
        models.append(TriangleModel(random_state=s, **kw).fit())
        dols.append(models[-1].division_of_labour())
        logger.info("triangle: seed %d trained (%d/%d); without S->P regular %.2f, exception %.2f", s, k + 1,
                    len(seeds), dols[-1]["accuracy_without_semantic"]["regular"],
                    dols[-1]["accuracy_without_semantic"]["exception"])
    hist = [m.history_ for m in models]
    checks = [seed_checks(d, h) for d, h in zip(dols, hist)]
    sizes = [signature_sizes(d, h) for d, h in zip(dols, hist)]
    verdict, evidence = population_verdict(checks, sizes)

    def mean(f):
        return float(np.mean([f(d) for d in dols]))

    ours = {"intact_accuracy": mean(lambda d: d["accuracy_intact"]["all"]),
            "without S->P: regular - exception": evidence["mean"]["gap"],
            "without S->P: exception HF - LF": evidence["mean"]["hf_lf_exception"],
            "without S->P: exception errors that are regularisations": _nanmean(
                [d["regularisations_without_semantic"] for d in dols]),
            "semantic share at the vowel: exception - regular": evidence["mean"]["vowel_share_difference"],
            "without O->P: regular, nonword": [mean(lambda d: d["accuracy_without_direct"]["regular"]),
                                               mean(lambda d: d["accuracy_without_direct"]["nonword"])],
            "semantic share of exceptions: end - first checkpoint": evidence["mean"]["share_growth"]}
    fig, (ax1, ax2) = new_figure(2, width=5.0)
    conds = ("accuracy_intact", "accuracy_without_semantic", "accuracy_without_direct")
    kinds = ("regular_hf", "regular_lf", "exception_hf", "exception_lf", "nonword")
    x = np.arange(len(conds))
    wd = 0.16
    for n, k in enumerate(kinds):
        vals = np.array([[d[c][k] for c in conds] for d in dols])
        ax1.bar(x + (n - 2) * wd, vals.mean(0), wd, yerr=vals.std(0) if len(dols) > 1 else None,
                label=k.replace("_hf", " HF").replace("_lf", " LF"))
    ax1.set_xticks(x, ["intact", "no S→P", "no O→P"])
    ax1.set(ylim=(0, 1.05), ylabel=f"naming accuracy (margin {models[0].margin})",
            title=f"lesions ({len(seeds)} seeds, mean ± sd)")
    ax1.legend(fontsize=6)
    for n, h in enumerate(hist):
        if not h:
            continue
        ep = [r["epoch"] for r in h]
        ax2.plot(ep, [r["vowel_semantic_share_exception"] for r in h], "o-", color="C1", alpha=0.7,
                 label="exception, vowel" if n == 0 else None)
        ax2.plot(ep, [r["vowel_semantic_share_regular"] for r in h], "s--", color="C0", alpha=0.7,
                 label="regular, vowel" if n == 0 else None)
        ax2.plot(ep, [r["semantic_share_exception"] for r in h], ":", color="C1", alpha=0.5,
                 label="exception, all slots" if n == 0 else None)
    ax2.set(xlabel="reading epoch", ylabel="semantic share of support for the right phonemes",
            title="division of labour over training")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    m0 = models[0]
    rule = (f"each check in >= ceil({RULE_FRACTION} n) = {evidence['needed']} of {len(seeds)} seeds and mean "
            f"sizes >= {FLOORS} (development seeds' mean - 2 SD)")
    summary = make_summary("Plaut, McClelland, Seidenberg & Patterson (1996) Psychological Review 103:56-115; "
                           "Harm & Seidenberg (2004) Psychological Review 111:662-720", PUBLISHED, ours, verdict,
                           seeds, f"{len(seeds)} seeds x ({m0.pre_epochs} pre-reading + {m0.read_epochs} reading "
                           f"full-batch Adam steps), {len(m0.vocab_['words'])} words",
                           rule=rule, checks_passed={k: f"{v}/{len(seeds)}" for k, v in evidence["passed"].items()},
                           sizes_mean=evidence["mean"], sizes_sd=evidence["sd"], sizes_per_seed=sizes,
                           per_seed=dols, checks_per_seed=checks, history_per_seed=hist)
    return {"store": m0.to_store(), "figure": fig, "summary": summary}
