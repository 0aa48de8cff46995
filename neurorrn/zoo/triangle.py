"""A small triangle model of reading (in the manner of Harm & Seidenberg 2004).

Orthography (O), phonology (P) and semantics (S) are connected by hidden layers: O→P
directly (O→H_op→P), O→S (O→H_os→S) and S→P (S→H_sp→P); P and S each have cleanup units
(P↔C_p, S↔C_s) forming attractors.  The network runs for ``n_ticks`` ticks and is trained
through time (BPTT) in two phases, as H&S did: first *speaking* (semantics clamped, target
phonology), which builds S→P and the phonological attractor before reading; then *reading*
(orthography in, targets P and S over the last ticks) with every pathway learning.

The toy lexicon is CVC words over small letter and phoneme sets; most words are spelled
regularly (each letter has one pronunciation) and a proportion are exceptions whose vowel is
pronounced differently.  Semantics are random sparse features (unrelated to form).

Division of labour is measured in two ways (H&S 2004): the share of phonology's net input
that comes from each pathway, and naming accuracy when one pathway is removed.  Exception
words depend more on the semantic pathway.  Differences from H&S 2004: a toy vocabulary and
sizes, logistic units with Adam, and no frequency-weighted sampling.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..store import from_arrays
from ..utils._check import check_option, check_random_state

CONSONANTS = "bdgkptmns"
VOWELS = "aeio"


def make_vocabulary(n_words: int = 60, p_exception: float = 0.2, n_sem: int = 40, n_sem_on: int = 6,
                    random_state=None):
    """Toy CVC vocabulary.

    Returns
    -------
    dict with ``words`` (list of str), ``exception`` (bool array), ``orth`` (n, 3·|letters|),
    ``phon`` (n, 3·|letters|) position-specific one-hot codes and ``sem`` (n, n_sem) binary.
    """
    rng = check_random_state(random_state)
    letters = CONSONANTS + VOWELS
    all_words = [a + v + b for a in CONSONANTS for v in VOWELS for b in CONSONANTS]
    if n_words > len(all_words):
        raise ValueError(f"n_words must be <= {len(all_words)}")
    words = [all_words[i] for i in rng.choice(len(all_words), n_words, replace=False)]
    exception = np.zeros(n_words, bool)
    exception[rng.choice(n_words, int(round(p_exception * n_words)), replace=False)] = True
    nl = len(letters)
    orth = np.zeros((n_words, 3 * nl))
    phon = np.zeros((n_words, 3 * nl))
    for i, w in enumerate(words):
        for k, c in enumerate(w):
            orth[i, k * nl + letters.index(c)] = 1
            pc = c
            if k == 1 and exception[i]:
                pc = VOWELS[(VOWELS.index(c) + 1) % len(VOWELS)]
            phon[i, k * nl + letters.index(pc)] = 1
    sem = np.zeros((n_words, n_sem))
    for i in range(n_words):
        sem[i, rng.choice(n_sem, n_sem_on, replace=False)] = 1
    return {"words": words, "exception": exception, "orth": orth, "phon": phon, "sem": sem}


class TriangleNet(nn.Module):
    """O, P, S with hidden layers and cleanup units, unrolled over ticks.

    ``forward(orth=None, sem_clamp=None)`` returns a dict of time courses
    ``(B, n_ticks, n)`` for ``"phon"``, ``"sem"``, ``"direct"`` and ``"semantic"`` (the two
    pathways' net inputs to phonology).
    """

    def __init__(self, n_orth, n_phon, n_sem, n_hidden=40, n_clean=20, n_ticks=6):
        super().__init__()
        self.n_ticks = n_ticks
        self.o_hop, self.hop_p = nn.Linear(n_orth, n_hidden), nn.Linear(n_hidden, n_phon, bias=False)
        self.o_hos, self.hos_s = nn.Linear(n_orth, n_hidden), nn.Linear(n_hidden, n_sem, bias=False)
        self.s_hsp, self.hsp_p = nn.Linear(n_sem, n_hidden), nn.Linear(n_hidden, n_phon, bias=False)
        self.p_cp, self.cp_p = nn.Linear(n_phon, n_clean), nn.Linear(n_clean, n_phon, bias=False)
        self.s_cs, self.cs_s = nn.Linear(n_sem, n_clean), nn.Linear(n_clean, n_sem, bias=False)
        self.p_bias = nn.Parameter(torch.zeros(n_phon))
        self.s_bias = nn.Parameter(torch.zeros(n_sem))
        self.gates = {"direct": 1.0, "semantic": 1.0, "orth_sem": 1.0}

    def forward(self, orth=None, sem_clamp=None):
        b = (orth if orth is not None else sem_clamp).shape[0]
        n_p, n_s = self.p_bias.shape[0], self.s_bias.shape[0]
        p = torch.full((b, n_p), 0.1)
        s = torch.full((b, n_s), 0.1) if sem_clamp is None else sem_clamp
        cp = torch.sigmoid(self.p_cp(p))
        cs = torch.sigmoid(self.s_cs(s))
        h_op = torch.sigmoid(self.o_hop(orth)) if orth is not None else None
        h_os = torch.sigmoid(self.o_hos(orth)) if orth is not None else None
        out = {k: [] for k in ("phon", "sem", "direct", "semantic")}
        for _ in range(self.n_ticks):
            h_sp = torch.sigmoid(self.s_hsp(s))
            direct = self.gates["direct"] * self.hop_p(h_op) if h_op is not None else torch.zeros(b, n_p)
            sempath = self.gates["semantic"] * self.hsp_p(h_sp)
            p_new = torch.sigmoid(direct + sempath + self.cp_p(cp) + self.p_bias)
            if sem_clamp is None:
                s_in = self.gates["orth_sem"] * self.hos_s(h_os) if h_os is not None else 0.0
                s_new = torch.sigmoid(s_in + self.cs_s(cs) + self.s_bias)
            else:
                s_new = sem_clamp
            cp, cs = torch.sigmoid(self.p_cp(p)), torch.sigmoid(self.s_cs(s))
            p, s = p_new, s_new
            for k, v in (("phon", p), ("sem", s), ("direct", direct), ("semantic", sempath)):
                out[k].append(v)
        return {k: torch.stack(v, 1) for k, v in out.items()}


def _phon_correct(pred, target, n_pos=3):
    p = pred.reshape(len(pred), n_pos, -1).argmax(-1)
    t = target.reshape(len(target), n_pos, -1).argmax(-1)
    return np.all(p == t, axis=1)


class TriangleModel:
    """Train the triangle model and measure the division of labour.

    Parameters
    ----------
    n_hidden, n_clean, n_ticks : int
    speak_epochs, read_epochs : int
    lr : float
    random_state : None or int
    """

    def __init__(self, n_hidden: int = 40, n_clean: int = 20, n_ticks: int = 6, speak_epochs: int = 300,
                 read_epochs: int = 600, lr: float = 0.02, random_state=None):
        self.n_hidden = n_hidden
        self.n_clean = n_clean
        self.n_ticks = n_ticks
        self.speak_epochs = speak_epochs
        self.read_epochs = read_epochs
        self.lr = lr
        self.random_state = random_state

    def fit(self, vocabulary=None):
        rng = check_random_state(self.random_state)
        v = make_vocabulary(random_state=rng) if vocabulary is None else vocabulary
        self.vocab_ = v
        o, p, s = (torch.as_tensor(v[k], dtype=torch.float32) for k in ("orth", "phon", "sem"))
        with torch.random.fork_rng(devices=[]):  # local seed: the global RNG is left untouched
            torch.manual_seed(int(rng.integers(2**31)))
            net = TriangleNet(o.shape[1], p.shape[1], s.shape[1], self.n_hidden, self.n_clean, self.n_ticks)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        late = max(1, self.n_ticks // 2)
        bce = nn.functional.binary_cross_entropy

        def loss_of(out, key, target):
            return bce(out[key][:, -late:].clamp(1e-6, 1 - 1e-6), target[:, None].expand(-1, late, -1))

        self.loss_ = []
        for _ in range(self.speak_epochs):                  # phase 1: speaking (S -> P)
            opt.zero_grad()
            loss = loss_of(net(sem_clamp=s), "phon", p)
            loss.backward()
            opt.step()
            self.loss_.append(float(loss.detach()))
        for _ in range(self.read_epochs):                   # phase 2: reading (O -> P, S)
            opt.zero_grad()
            out = net(orth=o)
            loss = loss_of(out, "phon", p) + loss_of(out, "sem", s)
            loss.backward()
            opt.step()
            self.loss_.append(float(loss.detach()))
        self.net_ = net
        return self

    def read(self, pathway_off: str | None = None):
        """Reading time courses, optionally with ``"direct"``, ``"semantic"`` or ``"orth_sem"`` removed."""
        if pathway_off is not None:
            check_option(pathway_off, ("direct", "semantic", "orth_sem"), "pathway_off")
            self.net_.gates[pathway_off] = 0.0
        try:
            with torch.no_grad():
                out = self.net_(orth=torch.as_tensor(self.vocab_["orth"], dtype=torch.float32))
        finally:
            self.net_.gates = {"direct": 1.0, "semantic": 1.0, "orth_sem": 1.0}
        return {k: val.numpy() for k, val in out.items()}

    def accuracy(self, pathway_off: str | None = None) -> dict:
        """Naming accuracy (all three phonemes right) for regular and exception words."""
        ok = _phon_correct(self.read(pathway_off)["phon"][:, -1], self.vocab_["phon"])
        exc = self.vocab_["exception"]
        return {"all": float(ok.mean()), "regular": float(ok[~exc].mean()), "exception": float(ok[exc].mean())}

    def division_of_labour(self) -> dict:
        """Share of phonology's net input from the semantic pathway (|semantic| / (|direct| +
        |semantic|) at the target phonemes, last tick), by word type, plus lesion accuracies."""
        out = self.read()
        tgt = self.vocab_["phon"] > 0
        d = np.abs(out["direct"][:, -1]) * tgt
        sm = np.abs(out["semantic"][:, -1]) * tgt
        share = sm.sum(1) / (d.sum(1) + sm.sum(1))
        exc = self.vocab_["exception"]
        return {"semantic_share_regular": float(share[~exc].mean()),
                "semantic_share_exception": float(share[exc].mean()),
                "accuracy_intact": self.accuracy(),
                "accuracy_without_semantic": self.accuracy("semantic"),
                "accuracy_without_direct": self.accuracy("direct")}

    def to_store(self, model_id: str = "triangle"):
        """Phonology and semantics over ticks (``time_unit="step"``), one stimulus per word."""
        out = self.read()
        arrays = [np.concatenate([out["phon"][i], out["sem"][i]], 1) for i in range(len(self.vocab_["words"]))]
        n_p, n_s = out["phon"].shape[2], out["sem"].shape[2]
        units = [f"phon:{k}" for k in range(n_p)] + [f"sem:{k}" for k in range(n_s)]
        layer = np.array(["phonology"] * n_p + ["semantics"] * n_s, dtype=object)
        return from_arrays(arrays, self.vocab_["words"], 1.0, units, time_unit="step", model_id=model_id,
                           config={"n_hidden": self.n_hidden, "n_ticks": self.n_ticks}, layer=layer,
                           word=np.array(self.vocab_["words"], dtype=object))


def demo(random_state=0):
    """Train the triangle model; return its store and division-of-labour summary."""
    m = TriangleModel(random_state=random_state).fit()
    return {"store": m.to_store(), "summary": m.division_of_labour()}
