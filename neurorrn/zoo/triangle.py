"""The triangle model of reading (Plaut, McClelland, Seidenberg & Patterson 1996; Harm & Seidenberg 2004).

Orthography (O), phonology (P) and semantics (S), each pair joined by a hidden layer:

* O→P, the direct pathway (``O → H_op → P``);
* O→S (``O → H_os → S``);
* S→P, the semantic pathway to phonology (``S → H_sp → P``);
* P→S (``P → H_ps → S``);
* P and S each with cleanup units (``P ↔ C_p``, ``S ↔ C_s``) that make them attractors.

The network runs for ``n_ticks`` ticks (every layer reads the previous tick's state, so a change
in semantics reaches phonology through S→P on the next ticks) and is trained through time
(BPTT), in H&S 2004's two phases:

1. **Before reading** (``pre_epochs``): *speaking* (S clamped, target P: trains S→P and the
   phonological attractor) and *hearing* (P clamped, target S: trains P→S and the semantic
   attractor), interleaved.
2. **Reading** (``read_epochs``): O in, P and S free, targets P and S over the last ticks,
   each word's error weighted by its frequency; the speaking and hearing tasks continue to be
   trained alongside (as H&S did), so S→P and P→S keep their knowledge.

Weight decay on every weight (``weight_decay``; Plaut et al. 1996, simulation 4) makes the
pathways share the work: the direct pathway learns the componential, regular spelling-sound
mapping (shared by many words, cheap in weights) and the item-specific pronunciations of
exception words come to depend on the semantic pathway, most of all for low-frequency words.

The toy lexicon (:func:`make_vocabulary`): CVC words over 9 consonants and 4 vowels, most
spelled regularly (each letter has one pronunciation); a proportion are exceptions whose vowel
is pronounced as another vowel; half the words are high-frequency, half low-frequency (loss
weights ``freq_weights``); semantics are random sparse features, unrelated to form.  Nonwords
(CVCs not in the lexicon) test the direct pathway's generalisation.

**Published signature** (the division of labour, P96 sim. 4; H&S 2004): the direct pathway
carries the regular words and nonwords; a semantic lesion (removing S→P) spares regular words
more than exceptions (surface dyslexia: exceptions, especially low-frequency ones, are
regularised); exceptions draw a larger share of phonology's input from the semantic pathway.

**What this implementation reproduces** (defaults, seeds 0-2, measured; ``docs/zoo_classic.md``):
intact reading 95-100 %; the direct pathway's own vote (:meth:`TriangleModel.pathway_vote`,
which phoneme its input alone favours) is right for 82-95 % of regular words and 65-70 % of
exceptions, i.e. it carries the regular words.  **Not reproduced:** removing S→P (or O→P)
outright breaks regular and exception words alike (10-40 % left), because the two pathways'
inputs to phonology share per-unit offsets with the biases (each supplies about half of the
input, semantic share 0.43-0.51 for both word types), so a zero lesion removes more than the
pathway's word-specific contribution.  :func:`demo`'s verdict is therefore "approximate".

Differences from H&S 2004: a toy vocabulary of CVCs and small layers rather than 6103
monosyllables with phonetic features; logistic units and Adam instead of continuous-time
units and their learning rate schedule; two frequency classes instead of log-compressed
frequencies; the pre-reading phase is shorter; accuracy is read as the most active phoneme in
each slot at the last tick.
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


def make_vocabulary(n_words: int = 80, p_exception: float = 0.25, n_sem: int = 40, n_sem_on: int = 6,
                    n_nonwords: int = 20, random_state=None):
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

    ``forward(orth=None, sem_clamp=None, phon_clamp=None)`` returns a dict of time courses
    ``(B, n_ticks, n)``: ``"phon"``, ``"sem"``, and the net inputs to phonology from the two
    pathways (``"direct"``, ``"semantic"``) and to semantics (``"orth_sem"``, ``"phon_sem"``).
    At tick t every layer reads the state of tick t−1 (P and S start at 0.1).
    """

    def __init__(self, n_orth, n_phon, n_sem, n_hidden=40, n_clean=20, n_ticks=6, n_hidden_direct=None):
        super().__init__()
        self.n_ticks = n_ticks
        nd = n_hidden if n_hidden_direct is None else n_hidden_direct
        self.o_hop, self.hop_p = nn.Linear(n_orth, nd), nn.Linear(nd, n_phon, bias=False)
        self.o_hos, self.hos_s = nn.Linear(n_orth, n_hidden), nn.Linear(n_hidden, n_sem, bias=False)
        self.s_hsp, self.hsp_p = nn.Linear(n_sem, n_hidden), nn.Linear(n_hidden, n_phon, bias=False)
        self.p_hps, self.hps_s = nn.Linear(n_phon, n_hidden), nn.Linear(n_hidden, n_sem, bias=False)
        self.p_cp, self.cp_p = nn.Linear(n_phon, n_clean), nn.Linear(n_clean, n_phon, bias=False)
        self.s_cs, self.cs_s = nn.Linear(n_sem, n_clean), nn.Linear(n_clean, n_sem, bias=False)
        self.p_bias = nn.Parameter(torch.full((n_phon,), -2.0))
        self.s_bias = nn.Parameter(torch.full((n_sem,), -2.0))
        self.gates = dict.fromkeys(PATHWAYS, 1.0)

    def forward(self, orth=None, sem_clamp=None, phon_clamp=None):
        ref = next(x for x in (orth, sem_clamp, phon_clamp) if x is not None)
        b = ref.shape[0]
        n_p, n_s = self.p_bias.shape[0], self.s_bias.shape[0]
        g = self.gates
        p = torch.full((b, n_p), 0.1) if phon_clamp is None else phon_clamp
        s = torch.full((b, n_s), 0.1) if sem_clamp is None else sem_clamp
        h_op = torch.sigmoid(self.o_hop(orth)) if orth is not None else None
        h_os = torch.sigmoid(self.o_hos(orth)) if orth is not None else None
        zp, zs = torch.zeros(b, n_p), torch.zeros(b, n_s)
        out = {k: [] for k in ("phon", "sem", "direct", "semantic", "orth_sem", "phon_sem")}
        for _ in range(self.n_ticks):
            cp, cs = torch.sigmoid(self.p_cp(p)), torch.sigmoid(self.s_cs(s))
            direct = g["direct"] * self.hop_p(h_op) if h_op is not None else zp
            sempath = g["semantic"] * self.hsp_p(torch.sigmoid(self.s_hsp(s)))
            orth_sem = g["orth_sem"] * self.hos_s(h_os) if h_os is not None else zs
            phon_sem = g["phon_sem"] * self.hps_s(torch.sigmoid(self.p_hps(p)))
            p_new = (torch.sigmoid(direct + sempath + self.cp_p(cp) + self.p_bias)
                     if phon_clamp is None else phon_clamp)
            s_new = (torch.sigmoid(orth_sem + phon_sem + self.cs_s(cs) + self.s_bias)
                     if sem_clamp is None else sem_clamp)
            p, s = p_new, s_new
            for k, v in (("phon", p), ("sem", s), ("direct", direct), ("semantic", sempath),
                         ("orth_sem", orth_sem), ("phon_sem", phon_sem)):
                out[k].append(v)
        return {k: torch.stack(v, 1) for k, v in out.items()}


def _phon_correct(pred, target, n_pos=3):
    """Each slot's most active phoneme is the target's (ties count as wrong)."""
    p = pred.reshape(len(pred), n_pos, -1)
    t = target.reshape(len(target), n_pos, -1).argmax(-1)
    own = np.take_along_axis(p, t[..., None], -1)[..., 0]
    other = np.where(np.arange(p.shape[-1]) == t[..., None], -np.inf, p).max(-1)
    return np.all(own > other, axis=1)


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
    vocabulary : dict, optional
        A :func:`make_vocabulary` result; default one drawn from ``random_state``.
    random_state : None or int
    """

    def __init__(self, n_hidden: int = 40, n_hidden_direct: int = 40, n_clean: int = 20, n_ticks: int = 6,
                 pre_epochs: int = 200, read_epochs: int = 800, lr: float = 0.02, weight_decay: float = 1e-4,
                 freq_weights=(1.0, 0.2), vocabulary=None, random_state=None):
        self.n_hidden = n_hidden
        self.n_hidden_direct = n_hidden_direct
        self.n_clean = n_clean
        self.n_ticks = n_ticks
        self.pre_epochs = pre_epochs
        self.read_epochs = read_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.freq_weights = freq_weights
        self.vocabulary = vocabulary
        self.random_state = random_state

    def fit(self):
        """Train (pre-reading phase, then reading); the global torch RNG is left untouched.

        With ``vocabulary=None`` the vocabulary is drawn from ``random_state`` first."""
        rng = check_random_state(self.random_state)
        v = make_vocabulary(random_state=rng) if self.vocabulary is None else self.vocabulary
        fw = np.asarray(self.freq_weights, dtype=float)
        if fw.shape != (2,) or np.any(fw <= 0):
            raise ValueError(f"freq_weights must be two positive weights (high, low), got {self.freq_weights!r}")
        if not (np.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {self.weight_decay}")
        self.vocab_ = v
        o, p, s = (torch.as_tensor(v[k], dtype=torch.float32) for k in ("orth", "phon", "sem"))
        w = torch.as_tensor(np.where(v["high_freq"], fw[0], fw[1]), dtype=torch.float32)
        w = w / w.mean()
        with torch.random.fork_rng(devices=[]):  # local seed: the global RNG is left untouched
            torch.manual_seed(int(rng.integers(2**31)))
            net = TriangleNet(o.shape[1], p.shape[1], s.shape[1], self.n_hidden, self.n_clean, self.n_ticks,
                              self.n_hidden_direct)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        late = max(1, self.n_ticks // 2)
        mats = [m.weight for m in net.modules() if isinstance(m, nn.Linear)]

        def loss_of(out, key, target, weight=None):
            pred = out[key][:, -late:].clamp(1e-6, 1 - 1e-6)
            tgt = target[:, None].expand(-1, late, -1)
            per = nn.functional.binary_cross_entropy(pred, tgt, reduction="none").mean((1, 2))
            return per.mean() if weight is None else (per * weight).mean()

        def step(loss):
            if self.weight_decay:
                loss = loss + self.weight_decay * sum(m.square().sum() for m in mats)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return float(loss.detach())

        self.loss_ = []
        for _ in range(self.pre_epochs):                     # speaking (S -> P) and hearing (P -> S)
            self.loss_.append(step(loss_of(net(sem_clamp=s), "phon", p) + loss_of(net(phon_clamp=p), "sem", s)))
        for _ in range(self.read_epochs):                    # reading (O -> P, S), speaking and hearing
            out = net(orth=o)
            loss = (loss_of(out, "phon", p, w) + loss_of(out, "sem", s, w)
                    + 0.5 * (loss_of(net(sem_clamp=s), "phon", p) + loss_of(net(phon_clamp=p), "sem", s)))
            self.loss_.append(step(loss))
        self.net_ = net
        return self

    def read(self, pathway_off=None, orth=None):
        """Reading time courses (dict of arrays ``(n_words, n_ticks, n)``), optionally with one
        or more of :data:`PATHWAYS` removed; ``orth`` defaults to the lexicon's words."""
        offs = [] if pathway_off is None else [pathway_off] if isinstance(pathway_off, str) else list(pathway_off)
        for k in offs:
            check_option(k, PATHWAYS, "pathway_off")
        x = self.vocab_["orth"] if orth is None else orth
        for k in offs:
            self.net_.gates[k] = 0.0
        try:
            with torch.no_grad():
                out = self.net_(orth=torch.as_tensor(x, dtype=torch.float32))
        finally:
            self.net_.gates = dict.fromkeys(PATHWAYS, 1.0)
        return {k: val.numpy() for k, val in out.items()}

    def accuracy(self, pathway_off=None) -> dict:
        """Naming accuracy (each slot's most active phoneme right) by word type, and on nonwords."""
        v = self.vocab_
        ok = _phon_correct(self.read(pathway_off)["phon"][:, -1], v["phon"])
        exc, hf = v["exception"], v["high_freq"]
        nw = _phon_correct(self.read(pathway_off, v["nonword_orth"])["phon"][:, -1], v["nonword_phon"])
        return {"all": float(ok.mean()), "regular": float(ok[~exc].mean()), "exception": float(ok[exc].mean()),
                "regular_hf": float(ok[~exc & hf].mean()), "regular_lf": float(ok[~exc & ~hf].mean()),
                "exception_hf": float(ok[exc & hf].mean()), "exception_lf": float(ok[exc & ~hf].mean()),
                "nonword": float(nw.mean())}

    def pathway_vote(self, pathway: str = "direct") -> dict:
        """Which phonemes a pathway alone pushes hardest: per slot, the phoneme with the largest
        net input from ``pathway`` (``"direct"`` or ``"semantic"``) at the last tick, scored
        like :meth:`accuracy` (ties wrong) by word type.  Unlike removing the other pathway, this
        is not confounded by per-unit offsets that the pathways and biases share."""
        check_option(pathway, ("direct", "semantic"), "pathway")
        v = self.vocab_
        ok = _phon_correct(self.read()[pathway][:, -1], v["phon"])
        nw = _phon_correct(self.read(orth=v["nonword_orth"])[pathway][:, -1], v["nonword_phon"])
        exc = v["exception"]
        return {"regular": float(ok[~exc].mean()), "exception": float(ok[exc].mean()), "nonword": float(nw.mean())}

    def semantic_share(self) -> np.ndarray:
        """Per word, the share of phonology's net input (at the target phonemes, last tick)
        from the semantic pathway: ``|semantic| / (|direct| + |semantic|)``."""
        out = self.read()
        tgt = self.vocab_["phon"] > 0
        d = (np.abs(out["direct"][:, -1]) * tgt).sum(1)
        sm = (np.abs(out["semantic"][:, -1]) * tgt).sum(1)
        return sm / (d + sm)

    def division_of_labour(self) -> dict:
        """Semantic share of phonology's input by word type, and accuracy intact and after
        removing the semantic (S→P) or the direct (O→P) pathway."""
        share = self.semantic_share()
        exc = self.vocab_["exception"]
        return {"semantic_share_regular": float(share[~exc].mean()),
                "semantic_share_exception": float(share[exc].mean()),
                "accuracy_intact": self.accuracy(),
                "accuracy_without_semantic": self.accuracy("semantic"),
                "accuracy_without_direct": self.accuracy("direct"),
                "direct_vote": self.pathway_vote("direct"), "semantic_vote": self.pathway_vote("semantic")}

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
                                   "weight_decay": self.weight_decay, "read_epochs": self.read_epochs},
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
                           "weight_decay": m.weight_decay, "random_state": m.random_state})

    def run_one(self, stimulus):
        if not (isinstance(stimulus, str) and len(stimulus) == 3 and stimulus[0] in CONSONANTS
                and stimulus[1] in VOWELS and stimulus[2] in CONSONANTS):
            raise ValueError(f"a stimulus must be a CVC string over consonants {CONSONANTS!r} and vowels "
                             f"{VOWELS!r}, got {stimulus!r}")
        orth, _ = _code([stimulus])
        out = self.model.read(orth=orth)
        return {"phonology": out["phon"][0], "semantics": out["sem"][0]}


#: The published division of labour (Plaut et al. 1996 sim. 4; Harm & Seidenberg 2004).
PUBLISHED = {"intact_accuracy": ">= 0.95",
             "direct vote: regular - exception": "> 0 (the direct pathway carries regular words)",
             "without S->P: regular - exception": "> 0 (surface dyslexia: exceptions fail)",
             "semantic share: exception - regular": "> 0"}


def demo(random_state=0, n_seeds: int = 3, **kw):
    """Train ``n_seeds`` triangle models (seeds ``random_state ...``) and measure the division of
    labour (``kw`` go to :class:`TriangleModel`).

    Per seed four checks: intact accuracy ≥ 0.95; the direct pathway's vote
    (:meth:`TriangleModel.pathway_vote`) is right for regular words more often than for
    exceptions by ≥ 0.1; after removing S→P regular words are read better than exceptions by
    ≥ 0.1; exceptions draw a larger semantic share of phonology's input.  Verdict rule:
    ``"reproduced"`` when every check holds in every seed; ``"approximate"`` when the first two
    (intact reading, the direct pathway carrying regular words) hold in every seed;
    ``"not reproduced"`` otherwise.
    """
    from ._summary import make_summary, new_figure

    seeds = list(range(int(random_state), int(random_state) + int(n_seeds)))
    models = [TriangleModel(random_state=s, **kw).fit() for s in seeds]
    dols = [m.division_of_labour() for m in models]
    checks = []
    for d in dols:
        ws, dv = d["accuracy_without_semantic"], d["direct_vote"]
        checks.append({"intact": d["accuracy_intact"]["all"] >= 0.95,
                       "direct_carries_regular": dv["regular"] - dv["exception"] >= 0.1,
                       "semantic_lesion_spares_regular": ws["regular"] - ws["exception"] >= 0.1,
                       "semantic_share": d["semantic_share_exception"] > d["semantic_share_regular"]})
    if all(all(c.values()) for c in checks):
        verdict = "reproduced"
    elif all(c["intact"] and c["direct_carries_regular"] for c in checks):
        verdict = "approximate"
    else:
        verdict = "not reproduced"

    def mean(f):
        return float(np.mean([f(d) for d in dols]))

    ours = {"intact_accuracy": mean(lambda d: d["accuracy_intact"]["all"]),
            "direct vote: regular - exception": mean(lambda d: d["direct_vote"]["regular"]
                                                      - d["direct_vote"]["exception"]),
            "without S->P: regular - exception": mean(lambda d: d["accuracy_without_semantic"]["regular"]
                                                       - d["accuracy_without_semantic"]["exception"]),
            "semantic share: exception - regular": mean(lambda d: d["semantic_share_exception"]
                                                         - d["semantic_share_regular"])}
    fig, (ax1, ax2) = new_figure(2)
    conds = ("accuracy_intact", "accuracy_without_semantic", "accuracy_without_direct", "direct_vote")
    kinds = ("regular", "exception", "nonword")
    x = np.arange(len(conds))
    for n, k in enumerate(kinds):
        vals = np.array([[d[c][k] for c in conds] for d in dols])
        ax1.bar(x + (n - 1) * 0.27, vals.mean(0), 0.27, yerr=vals.std(0) if len(dols) > 1 else None, label=k)
    ax1.set_xticks(x, ["intact", "no S→P", "no O→P", "O→P vote"])
    ax1.set(ylim=(0, 1.05), ylabel="naming accuracy", title=f"lesions ({len(seeds)} seeds, mean ± sd)")
    ax1.legend(fontsize=7)
    for n, m in enumerate(models):
        share = m.semantic_share()
        exc = m.vocab_["exception"]
        ax2.scatter(np.full(int((~exc).sum()), n - 0.1), share[~exc], s=6, color="C0",
                    label="regular" if n == 0 else None)
        ax2.scatter(np.full(int(exc.sum()), n + 0.1), share[exc], s=6, color="C1",
                    label="exception" if n == 0 else None)
    ax2.set_xticks(range(len(seeds)), [f"seed {s}" for s in seeds])
    ax2.set(ylabel="semantic share of phonology's input", title="division of labour per word")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    m0 = models[0]
    summary = make_summary("Plaut, McClelland, Seidenberg & Patterson (1996) Psychological Review 103:56-115; "
                           "Harm & Seidenberg (2004) Psychological Review 111:662-720", PUBLISHED, ours, verdict,
                           seeds, f"{len(seeds)} seeds x ({m0.pre_epochs} pre-reading + {m0.read_epochs} reading "
                           f"full-batch Adam steps)", per_seed=dols, checks_per_seed=checks)
    return {"store": m0.to_store(), "figure": fig, "summary": summary}
