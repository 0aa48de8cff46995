"""Interactive activation model: WOR? disambiguation, word superiority, frequency, errors."""

from __future__ import annotations

import numpy as np
import pytest

from neurorrn.store import validate_store
from neurorrn.zoo.iam import LETTERS, IAModel, font_matrix, letter_features, parse_display, reicher_experiment


@pytest.fixture(scope="module")
def model():
    return IAModel()


def test_font_and_ambiguous_features():
    font = font_matrix()
    assert font.shape == (26, 14) and len({tuple(r) for r in font}) == 26
    f = letter_features("[kr]")
    k, r = font[LETTERS.index("k")], font[LETTERS.index("r")]
    np.testing.assert_array_equal(f[:14], k * r)                 # seen present: shared segments
    np.testing.assert_array_equal(f[14:], (1 - k) * (1 - r))     # seen absent: absent in both
    assert letter_features("_").sum() == 0
    assert parse_display("wor[kr]") == ["w", "o", "r", "[kr]"]


def test_work_dominates_and_k_beats_r_through_feedback(model):
    res = model.run(["wor[kr]"], 40)
    words = res["words"][0]
    i = {w: model.words.index(w) for w in ("work", "word", "weak", "wear")}
    assert words[-1, i["work"]] > 0.6
    assert all(words[-1, i["work"]] > words[-1, j] + 0.5 for w, j in i.items() if w != "work")
    let = res["letters"][0, :, 3]
    k, r = let[:, LETTERS.index("k")], let[:, LETTERS.index("r")]
    np.testing.assert_allclose(k[:2], r[:2])                     # bottom-up input is the same
    assert k[-1] > r[-1] + 0.2
    # without word->letter feedback K and R stay tied
    from dataclasses import replace

    flat = IAModel(model.words, np.ones(len(model.words)), replace(model.params, word_letter_excitation=0.0))
    let0 = flat.run(["wor[kr]"], 40)["letters"][0, :, 3]
    np.testing.assert_allclose(let0[:, LETTERS.index("k")], let0[:, LETTERS.index("r")])
    # WORD (D) is not supported: D is inconsistent with the seen features
    assert let[-1, LETTERS.index("d")] < 0


def test_word_superiority_in_reicher_task(model):
    acc = reicher_experiment(model, n_trials=36, random_state=0)
    assert acc["word"] > acc["pseudoword"] > acc["letter"]
    assert 0.5 < acc["letter"] < acc["word"] < 1.0


def test_frequent_words_rise_sooner(model):
    hi, lo = model.words[0], model.words[-1]
    res = model.run([hi, lo], 30)
    a_hi = res["words"][0, :, 0]
    a_lo = res["words"][1, :, len(model.words) - 1]
    assert model.word_rest[0] == 0.0 and model.word_rest[-1] < 0
    assert np.argmax(a_hi > 0.5) < np.argmax(a_lo > 0.5)


def test_errors_and_store(model):
    with pytest.raises(ValueError, match="has 3 positions, expected 4"):
        parse_display("wor")
    with pytest.raises(ValueError, match=r"invalid letter spec '\[k1\]'"):
        letter_features("[k1]")
    with pytest.raises(ValueError, match="four lower-case letters"):
        IAModel(["works"], [1.0])
    with pytest.raises(ValueError, match="frequencies must be 2 positive values"):
        IAModel(["work", "word"], [1.0, 0.0])
    res = model.run(["work", "work"], 5)
    ds = model.to_store(res, ["work", "work"])
    validate_store(ds)
    assert list(ds.stimulus.values) == ["work#0", "work#1"]
    assert ds.attrs["time_unit"] == "cycle" and ds.sizes["unit"] == 104 + len(model.words)


def test_subject_and_demo(model):
    from neurorrn.zoo.iam import IASubject, demo

    ds = IASubject(model, n_cycles=6).record(["work", "wor[kr]"], ["work", "ambiguous"])
    validate_store(ds)
    assert ds.attrs["time_unit"] == "cycle" and ds.sizes["time"] == 6
    assert ds.sizes["unit"] == 104 + len(model.words)
    res = demo(n_cycles=30, n_trials=12)
    s = res["summary"]
    assert s["ours"]["word_winner"] == "work" and s["checks"]["k_over_r"]
    assert s["verdict"] in ("reproduced", "approximate")
    validate_store(res["store"])
    assert len(res["figure"].axes) == 3
