"""Word choice for the small EARSHOT benchmark: frequent words with many cohorts *and* rhymes.

A lexicon of the 100 most frequent words has few rhymes, so competitor time courses would be
noisy.  :func:`pick_words` greedily adds frequent CMUdict words (3-5 phones, one
pronunciation, no homophones) that have the most cohort (same first two phones) and rhyme
(same phones after the first) partners among the words already chosen, with at most
``max_family`` words per cohort or rhyme family.
"""

from __future__ import annotations

import collections
import re


def candidate_words(n_candidates: int = 6000, min_phones: int = 3, max_phones: int = 5):
    import wordfreq

    from neurorrn.speech.lexicon import _cmudict
    from neurorrn.speech.phonology import strip_arpabet_stress

    cmu = _cmudict()
    out = []
    for w in wordfreq.iter_wordlist("en", "large"):
        if len(out) >= n_candidates:
            break
        if not re.fullmatch(r"[a-z]{3,}", w):
            continue
        p = cmu.get(w)
        if not p or len(p) != 1:
            continue
        ph = tuple(strip_arpabet_stress(x) for x in p[0])
        if min_phones <= len(ph) <= max_phones:
            out.append((w, ph))
    return out


def pick_words(n_words: int = 100, max_family: int = 4, n_candidates: int = 6000) -> dict[str, tuple]:
    """``{word: phones}`` of ``n_words`` words rich in cohorts and rhymes (deterministic)."""
    cands = candidate_words(n_candidates)
    rank = {w: i for i, (w, _) in enumerate(cands)}
    chosen: dict[str, tuple] = {}
    seen_phones = set()
    cohort = collections.Counter()
    rhyme = collections.Counter()
    pool = list(cands)
    while len(chosen) < n_words:
        best, best_score = None, -1e18
        for w, ph in pool:
            if ph in seen_phones:
                continue
            c, r = cohort[ph[:2]], rhyme[(len(ph), ph[1:])]
            if c >= max_family or r >= max_family:
                continue
            score = 2 * min(c, r) + c + r - rank[w] / 3000
            if score > best_score:
                best, best_score = (w, ph), score
        if best is None:
            raise RuntimeError(f"only {len(chosen)} words could be chosen")
        w, ph = best
        chosen[w] = ph
        seen_phones.add(ph)
        cohort[ph[:2]] += 1
        rhyme[(len(ph), ph[1:])] += 1
        pool.remove(best)
    return chosen
