"""Stores with a planted phone code, for tests, demos and checking an analysis end to end.

:func:`planted_store` writes (with :func:`neurorrn.store.from_arrays`) hidden-unit time courses
in which some units respond to known phones or features and the rest is noise, with a phone
alignment table (tier ``"phone"``, ARPAbet labels) and a word tier.  Every analysis of
``neurorrn.probing`` should recover the plant from it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..store import from_arrays
from ..utils._check import check_option, check_positive, check_random_state
from .features import ANALYSIS_PHONES, is_consonant, phone_feature_table


def default_plant(n_per_phone: int = 1, features=("nasal", "fricative", "plosive", "high"),
                  n_per_feature: int = 2) -> dict:
    """One block of units per analysis phone and per feature: ``{"phone": {...}, "feature": {...}}``."""
    plant: dict = {"phone": {}, "feature": {}}
    u = 0
    for p in ANALYSIS_PHONES:
        plant["phone"][p] = list(range(u, u + n_per_phone))
        u += n_per_phone
    for f in features:
        plant["feature"][f] = list(range(u, u + n_per_feature))
        u += n_per_feature
    return plant


def _items(kind: str, n_words: int, rng) -> list[tuple[str, list[str]]]:
    cons = [p for p in ANALYSIS_PHONES if is_consonant(p)]
    vows = [p for p in ANALYSIS_PHONES if not is_consonant(p)]
    if kind == "diphones":
        return ([(f"CV_{c}{v}", [c, v]) for c in cons for v in vows]
                + [(f"VC_{v}{c}", [v, c]) for c in cons for v in vows])
    items, seen = [], set()
    phones = list(ANALYSIS_PHONES)
    while len(items) < n_words:
        n = int(rng.integers(3, 7))
        pron = [str(p) for p in rng.choice(phones, size=n)]
        key = ".".join(pron)
        if key in seen:
            continue
        seen.add(key)
        items.append((f"w{len(items):04d}", pron))
    return items


def planted_store(n_words: int = 120, n_talkers: int = 3, n_noise_units: int = 16, *, kind: str = "words",
                  plant: dict | None = None, amplitude: float = 1.0, noise: float = 0.3,
                  latency: float = 0.02, frame_rate: float = 100.0, phone_duration=(0.06, 0.12),
                  random_state=0) -> xr.Dataset:
    """An ActivationStore whose units carry a known phone code.

    Parameters
    ----------
    n_words : int
        Number of random words (3-6 random analysis phones each) for ``kind="words"``.
    n_talkers : int
        Every word is "spoken" by each talker, with its own phone durations and noise.
    n_noise_units : int
        Units with noise only (added after the planted ones).
    kind : {"words", "diphones"}
        ``"diphones"``: every CV and VC diphone of the 20 consonants and 13 vowels (EARSHOT's
        PSI stimuli, stimulus ids ``CV_KAA__t0``), ignoring ``n_words``.
    plant : dict, optional
        ``{"phone": {phone: [unit, ...]}, "feature": {feature: [unit, ...]}}`` (default
        :func:`default_plant`).  A planted unit adds ``amplitude`` while a matching phone is
        heard, shifted by ``latency`` seconds.
    noise : float
        SD of the Gaussian noise on every unit and frame.

    Returns
    -------
    store : xarray.Dataset
        ActivationStore (frame_rate 100 Hz by default) with coords ``word``, ``talker`` and the
        alignment table (tiers ``phone`` and ``word``); attr ``plant_json`` records the plant.
    """
    import json

    check_option(kind, ("words", "diphones"), "kind")
    check_positive(n_talkers, "n_talkers", integer=True)
    check_positive(frame_rate, "frame_rate")
    rng = check_random_state(random_state)
    plant = default_plant() if plant is None else plant
    table = phone_feature_table()
    unit_sets = []
    for p, units in plant.get("phone", {}).items():
        unit_sets.append(({p}, list(units)))
    for f, units in plant.get("feature", {}).items():
        members = set(table["phone"].values[table.sel(feature=f).values.astype(bool)].tolist())
        unit_sets.append((members, list(units)))
    n_planted = 1 + max((max(u) for _, u in unit_sets if len(u)), default=-1)
    n_units = n_planted + int(n_noise_units)
    lat = int(round(latency * frame_rate))
    items = _items(kind, n_words, rng)
    arrays, sids, words, talkers, rows = [], [], [], [], []
    for t in range(int(n_talkers)):
        for word, pron in items:
            durs = rng.uniform(*phone_duration, size=len(pron))
            bounds = np.concatenate([[0.0], np.cumsum(durs)])
            n_frames = int(np.ceil(bounds[-1] * frame_rate)) + lat + 5
            x = rng.normal(0.0, noise, size=(n_frames, n_units))
            sid = f"{word}__t{t}"
            for k, p in enumerate(pron):
                a = int(round(bounds[k] * frame_rate)) + lat
                b = int(round(bounds[k + 1] * frame_rate)) + lat
                for members, units in unit_sets:
                    if p in members:
                        x[a:b, units] += amplitude
                rows.append((sid, "phone", p, float(bounds[k]), float(bounds[k + 1])))
            rows.append((sid, "word", word, 0.0, float(bounds[-1])))
            arrays.append(x.astype(np.float32))
            sids.append(sid)
            words.append(word)
            talkers.append(f"t{t}")
    al = pd.DataFrame(rows, columns=["stimulus", "tier", "label", "start", "end"])
    return from_arrays(arrays, sids, frame_rate, alignments=al, word=np.array(words, dtype=object),
                       talker=np.array(talkers, dtype=object), model_id="planted",
                       attrs={"plant_json": json.dumps(plant, sort_keys=True)})


__all__ = ["default_plant", "planted_store"]
