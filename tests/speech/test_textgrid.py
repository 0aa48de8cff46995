"""Your own corpus: folders of WAV + Praat/MFA TextGrids, in ARPAbet, IPA and X-SAMPA.

The fixture corpus is written here in MFA's layout and labels (``english_mfa`` IPA with ``ɹ æ ɛ``,
stress and length marks, aspiration, ``ɫ``, diphthongs ``aj ow``; silences ``""``, ``sil``,
``spn``), with the same alignments in ARPAbet and X-SAMPA, so the truth is known exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurorrn.speech import (
    TextGridError,
    load_librispeech_mfa,
    load_textgrid_corpus,
    phone_report,
    phone_to_arpabet,
    read_textgrid,
)
from neurorrn.speech._audio import wav_bytes
from neurorrn.utils._logging import NeurorrnWarning

SFREQ = 16000
# word -> [(ARPAbet, IPA as MFA writes it, X-SAMPA)] per phone
WORDS = {
    "red": [("R", "ɹ", "r\\"), ("EH1", "ˈɛ", '"E'), ("D", "d", "d")],
    "cat": [("K", "kʰ", "k_h"), ("AE1", "ˈæ", '"{'), ("T", "t", "t")],
    "sheep": [("SH", "ʃ", "S"), ("IY1", "iː", "i:"), ("P", "p", "p")],
    "bird": [("B", "b", "b"), ("ER1", "ɝː", "3`:"), ("D", "d", "d")],
    "ball": [("B", "b", "b"), ("AO1", "ɔ", "O"), ("L", "ɫ", "5")],
    "time": [("T", "tʰ", "t_h"), ("AY1", "aj", "aI"), ("M", "m", "m")],
    "go": [("G", "ɡ", "g"), ("OW1", "ow", "oU")],
    "thing": [("TH", "θ", "T"), ("IH1", "ɪ", "I"), ("NG", "ŋ", "N")],
    "judge": [("JH", "dʒ", "dZ"), ("AH1", "ʌ", "V"), ("JH", "dʒ", "dZ")],
    "button": [("B", "b", "b"), ("AH1", "ˈʌ", '"V'), ("T", "ʔ", "?"), ("N", "n̩", "n=")],
}
COLUMN = {"arpabet": 0, "ipa": 1, "xsampa": 2}
# the ARPAbet the IPA/X-SAMPA labels map to (the syllabic n̩ is N; the glottal stop is T)
EXPECTED = {w: [p[0].rstrip("012") for p in ph] for w, ph in WORDS.items()}
UTTERANCES = {  # talker -> utterances (lists of words)
    "spk1": [["red", "cat"], ["sheep", "bird", "ball"]],
    "spk2": [["time", "go"], ["thing", "judge", "button"]],
}
PHONE_DUR, PAUSE = 0.08, 0.1


def _interval_tier(name, rows, xmax):
    lines = ['        class = "IntervalTier"', f'        name = "{name}"', "        xmin = 0",
             f"        xmax = {xmax}", f"        intervals: size = {len(rows)}"]
    for k, (a, b, lab) in enumerate(rows, 1):
        lines += [f"        intervals [{k}]:", f"            xmin = {a!r}", f"            xmax = {b!r}",
                  f'            text = "{lab}"']
    return "\n".join(lines)


def textgrid_text(tiers: dict, xmax: float) -> str:
    """A long-format TextGrid, as Praat and MFA write it."""
    head = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0", f"xmax = {xmax}",
            "tiers? <exists>", f"size = {len(tiers)}", "item []:"]
    body = []
    for i, (name, rows) in enumerate(tiers.items(), 1):
        body += [f"    item [{i}]:", _interval_tier(name, rows, xmax)]
    return "\n".join(head + body) + "\n"


def _utterance_tiers(words, notation, silence_labels=("", "sil")):
    t, wrows, prows = PAUSE, [(0.0, PAUSE, "")], [(0.0, PAUSE, silence_labels[0])]
    for i, w in enumerate(words):
        start = t
        for p in WORDS[w]:
            prows.append((round(t, 6), round(t + PHONE_DUR, 6), p[COLUMN[notation]]))
            t += PHONE_DUR
        wrows.append((round(start, 6), round(t, 6), w))
        gap = silence_labels[1] if i < len(words) - 1 else silence_labels[0]
        wrows.append((round(t, 6), round(t + PAUSE, 6), ""))
        prows.append((round(t, 6), round(t + PAUSE, 6), gap))
        t += PAUSE
    return {"words": wrows, "phones": prows}, round(t, 6)


def _tone_audio(words, rng):
    """Each phone a tone of its own (so a model can learn them), pauses near-silent."""
    freqs = {p: 200.0 * (1 + i) for i, p in enumerate(sorted({q for w in EXPECTED.values() for q in w}))}
    parts = [0.001 * rng.standard_normal(int(PAUSE * SFREQ))]
    for w in words:
        for p in EXPECTED[w]:
            tt = np.arange(int(PHONE_DUR * SFREQ)) / SFREQ
            parts.append(0.3 * np.sin(2 * np.pi * freqs[p] * tt) + 0.001 * rng.standard_normal(tt.size))
        parts.append(0.001 * rng.standard_normal(int(PAUSE * SFREQ)))
    return np.concatenate(parts)


def make_corpus(root, notation="ipa", *, grids_elsewhere=None, upper=False, extra_label=None, seed=0):
    """Write ``<root>/<talker>/<talker>_<n>.wav`` and a TextGrid per file (beside it, or mirrored
    under ``grids_elsewhere`` as MFA's output folder)."""
    rng = np.random.default_rng(seed)
    for talker, utts in UTTERANCES.items():
        for n, words in enumerate(utts):
            d = root / talker
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{talker}_{n}.wav").write_bytes(wav_bytes(_tone_audio(words, rng), SFREQ))
            tiers, xmax = _utterance_tiers(words, notation)
            if upper:
                tiers["phones"] = [(a, b, lab.upper()) for a, b, lab in tiers["phones"]]
            if extra_label is not None and (talker, n) == ("spk2", 1):
                a, b, _ = tiers["phones"][1]
                tiers["phones"][1] = (a, b, extra_label)
            gd = (grids_elsewhere or root) / talker
            gd.mkdir(parents=True, exist_ok=True)
            (gd / f"{talker}_{n}.TextGrid").write_text(textgrid_text(tiers, xmax), encoding="utf-8")
    return root


N_PHONES = sum(len(WORDS[w]) for utts in UTTERANCES.values() for u in utts for w in u)


# ------------------------------------------------------------------ mapping table
@pytest.mark.parametrize("label, expected", [
    ("ɹ", "R"), ("Æ", "AE"), ("Ɛ", "EH"), ("ˈæ", "AE"), ("ɛː", "EH"), ("tʰ", "T"), ("ɫ̩", "L"),
    ("ɝː", "ER"), ("aj", "AY"), ("aɪ", "AY"), ("t͡ʃ", "CH"), ("ʧ", "CH"), ("ç", "HH"), ("c", "K"),
    ("ɡ", "G"), ("ɾ", "T"), ("ɚ", "ER"), ("Ŋ", "NG"), ("ʊ", "UH"), ("ə", "AH"),
])
def test_ipa_table(label, expected):
    assert phone_to_arpabet(label, "ipa") == expected


def test_arpabet_and_xsampa_tables():
    assert [phone_to_arpabet(x, "arpabet") for x in ("ah0", "AE1", "sh", "AX", "DX")] == ["AH", "AE", "SH", "AH", "T"]
    assert phone_to_arpabet("Q", "arpabet") is None and phone_to_arpabet("ʁ", "ipa") is None
    assert [phone_to_arpabet(x, "xsampa") for x in ('"{', "r\\", "S", "s", "E:", "3`", "t_h")] == \
        ["AE", "R", "SH", "S", "EH", "ER", "T"]
    with pytest.raises(ValueError, match="phone_set must be one of"):
        phone_to_arpabet("a", "sampa")


# ------------------------------------------------------------------ the acceptance corpus
def test_mfa_ipa_corpus_loads_every_phone(tmp_path):
    make_corpus(tmp_path / "audio", "ipa", grids_elsewhere=tmp_path / "aligned")
    c = load_textgrid_corpus(tmp_path / "audio", tmp_path / "aligned")
    rep = phone_report(c)
    assert rep["phone_set"] == "ipa" and rep["n_unknown"] == 0 and rep["n_phones"] == N_PHONES
    assert rep["silences"] == {"": 8, "sil": 6}
    assert sorted(c.stimuli) == ["spk1_0", "spk1_1", "spk2_0", "spk2_1"]
    assert c.item("spk2_1")["talker"] == "spk2" and c.item("spk2_1")["word"] == "thing judge button"
    ph = c.get_alignments("spk2_1", tier="phone")
    assert ph["label"].tolist() == EXPECTED["thing"] + EXPECTED["judge"] + EXPECTED["button"]
    np.testing.assert_allclose(ph["start"].iloc[:2], [PAUSE, PAUSE + PHONE_DUR])
    w = c.get_alignments("spk1_0", tier="word")
    assert w["label"].tolist() == ["red", "cat"]
    np.testing.assert_allclose(w[["start", "end"]].to_numpy(), [[0.1, 0.34], [0.44, 0.68]])
    assert c.lexicon.phones("button") == ("B", "AH", "T", "N")
    audio, sr = c.load_audio("spk1_0")
    assert sr == SFREQ and audio.size == int(round(0.78 * SFREQ))


def test_upper_cased_ipa_loads_the_same(tmp_path):
    """The old LibriSpeech loader upper-cased IPA (Æ, Ɛ) and dropped it; any case now works."""
    make_corpus(tmp_path / "a", "ipa")
    make_corpus(tmp_path / "b", "ipa", upper=True)
    a, b = load_textgrid_corpus(tmp_path / "a"), load_textgrid_corpus(tmp_path / "b")
    pd.testing.assert_frame_equal(a.alignments, b.alignments)
    assert phone_report(b)["n_unknown"] == 0


@pytest.mark.parametrize("notation", ["arpabet", "xsampa"])
def test_notations_give_identical_alignments(tmp_path, notation):
    make_corpus(tmp_path / "ipa", "ipa")
    make_corpus(tmp_path / notation, notation)
    ipa = load_textgrid_corpus(tmp_path / "ipa")
    other = load_textgrid_corpus(tmp_path / notation, phone_set="xsampa" if notation == "xsampa" else "auto")
    assert phone_report(other)["phone_set"] == notation and phone_report(other)["n_unknown"] == 0
    pd.testing.assert_frame_equal(ipa.alignments, other.alignments)
    cols = ["stimulus", "word", "talker", "path", "n_samples", "sfreq"]
    pd.testing.assert_frame_equal(ipa.items[cols], other.items[cols])


def test_xsampa_is_not_guessed(tmp_path):
    make_corpus(tmp_path, "xsampa")
    with pytest.raises(ValueError, match="cannot tell the phone set.*phone_set='xsampa'"):
        load_textgrid_corpus(tmp_path)


def test_unknown_label_reported_by_name(tmp_path):
    make_corpus(tmp_path, "ipa", extra_label="ʁ")
    with pytest.warns(NeurorrnWarning, match=r"1 phone label\(s\) are not in the ipa table.*'ʁ' x1 "
                                             r"\(first in .*spk2_1.TextGrid\)"):
        c = load_textgrid_corpus(tmp_path)
    rep = phone_report(c)
    assert rep["unknown"] == {"ʁ": 1} and rep["n_phones"] == N_PHONES - 1
    assert len(c.get_alignments(tier="phone")) == N_PHONES - 1
    with pytest.raises(ValueError, match="'ʁ' x1"):
        load_textgrid_corpus(tmp_path, strict=True)


# ------------------------------------------------------------------ talkers, tiers, layouts
def test_talker_from_pattern_and_table(tmp_path):
    make_corpus(tmp_path, "ipa")
    c = load_textgrid_corpus(tmp_path, talker=r"_(?P<talker>\d)\.wav$")
    assert c.item("spk1_1")["talker"] == "1" and c.item("spk2_0")["talker"] == "0"
    table = tmp_path / "talkers.tsv"
    pd.DataFrame({"file": ["spk1_0", "spk1_1", "spk2_0", "spk2_1"],
                  "talker": ["ann", "ann", "bob", "bob"]}).to_csv(table, sep="\t", index=False)
    c = load_textgrid_corpus(tmp_path, talker=table)
    assert c.items.set_index("stimulus")["talker"].to_dict() == {
        "spk1_0": "ann", "spk1_1": "ann", "spk2_0": "bob", "spk2_1": "bob"}
    with pytest.raises(KeyError, match="no entry for 'spk2/spk2_1.wav'"):
        load_textgrid_corpus(tmp_path, talker={"spk1_0": "a", "spk1_1": "a", "spk2_0": "b"})
    with pytest.raises(ValueError, match=r"talker pattern .* does not match the file 'spk1/spk1_0.wav'"):
        load_textgrid_corpus(tmp_path, talker=r"^(?P<talker>x)")


def test_bids_like_layout_and_missing_grid(tmp_path):
    rng = np.random.default_rng(1)
    d = tmp_path / "sub-07" / "stim"
    d.mkdir(parents=True)
    (d / "sub-07_story.wav").write_bytes(wav_bytes(_tone_audio(["red"], rng), SFREQ))
    tiers, xmax = _utterance_tiers(["red"], "ipa")
    (d / "sub-07_story.TextGrid").write_text(textgrid_text(tiers, xmax), encoding="utf-8")
    (d / "sub-07_other.wav").write_bytes(wav_bytes(_tone_audio(["cat"], rng), SFREQ))
    with pytest.raises(FileNotFoundError, match=r"1 audio file\(s\) have no TextGrid.*sub-07_other.wav"):
        load_textgrid_corpus(tmp_path)
    c = load_textgrid_corpus(tmp_path, on_missing="skip")
    assert c.stimuli == ["sub-07_story"] and c.item("sub-07_story")["talker"] == "07"
    assert c.manifest["n_without_textgrid"] == 1


def test_mfa_speaker_tiers_and_tier_errors(tmp_path):
    rng = np.random.default_rng(2)
    (tmp_path / "a.wav").write_bytes(wav_bytes(_tone_audio(["go"], rng), SFREQ))
    tiers, xmax = _utterance_tiers(["go"], "ipa")
    grid = tmp_path / "a.TextGrid"
    grid.write_text(textgrid_text({"spk9 - words": tiers["words"], "spk9 - phones": tiers["phones"]}, xmax),
                    encoding="utf-8")
    c = load_textgrid_corpus(tmp_path)
    assert c.get_alignments(tier="phone")["label"].tolist() == ["G", "OW"]
    grid.write_text(textgrid_text({"ortho": tiers["words"], "segments": tiers["phones"]}, xmax), encoding="utf-8")
    with pytest.raises(TextGridError, match=r"a.TextGrid: no word tier .*tiers are \['ortho', 'segments'\]"):
        load_textgrid_corpus(tmp_path)
    c = load_textgrid_corpus(tmp_path, word_tier="ortho", phone_tier="segments")
    assert c.get_alignments(tier="word")["label"].tolist() == ["go"]


def test_grid_longer_than_audio(tmp_path):
    make_corpus(tmp_path, "ipa")
    tiers, xmax = _utterance_tiers(["red", "cat"], "ipa")
    tiers["phones"][-1] = (tiers["phones"][-1][0], 1.5, "")
    tiers["words"][-1] = (tiers["words"][-1][0], 1.5, "")
    (tmp_path / "spk1" / "spk1_0.TextGrid").write_text(textgrid_text(tiers, 1.5), encoding="utf-8")
    with pytest.raises(ValueError, match=r"spk1_0: TextGrid spk1_0.TextGrid runs to 1.500 s, past the end "
                                         r"of its audio \(0.780 s"):
        load_textgrid_corpus(tmp_path)


# ------------------------------------------------------------------ the reader's checks
def _grid(tmp_path, text):
    p = tmp_path / "g.TextGrid"
    p.write_text(text, encoding="utf-8")
    return p


def test_read_textgrid_formats(tmp_path):
    tiers, xmax = _utterance_tiers(["cat"], "ipa")
    out = read_textgrid(_grid(tmp_path, textgrid_text(tiers, xmax)))
    assert list(out) == ["words", "phones"] and out["phones"]["label"].tolist() == ["", "kʰ", "ˈæ", "t", ""]
    assert out["phones"].attrs["xmax"] == xmax
    short = ('File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n0.5\n<exists>\n1\n"IntervalTier"\n'
             '"words"\n0\n0.5\n2\n0\n0.2\n"hi"\n0.2\n0.5\n""\n')
    out = read_textgrid(_grid(tmp_path, short))
    assert out["words"]["label"].tolist() == ["hi", ""] and out["words"]["end"].tolist() == [0.2, 0.5]
    p = tmp_path / "u16.TextGrid"
    p.write_bytes(textgrid_text(tiers, xmax).encode("utf-16"))
    assert read_textgrid(p)["phones"]["label"].tolist()[1] == "kʰ"
    with pytest.raises(TextGridError, match=r"no interval tier\(s\) \['tones'\]; it has \['words', 'phones'\]"):
        read_textgrid(p, tiers=["tones"])
    with pytest.raises(TextGridError, match="not a Praat TextGrid"):
        read_textgrid(_grid(tmp_path, "nonsense"))


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.replace("xmax = 0.26\n            text", "xmax = nan\n            text", 1),
     r"g.TextGrid: tier 'phones' interval 3: times must be finite"),
    (lambda t: t.replace("xmin = 0.1\n            xmax = 0.18", "xmin = 0.2\n            xmax = 0.18", 1),
     r"g.TextGrid: tier 'phones' interval 2 ends \(0.18\) before it starts \(0.2\)"),
    (lambda t: t[: t.rindex("intervals [4]:")],
     r"g.TextGrid: tier 'phones' declares 5 intervals but 3 are complete \(truncated file\?\)"),
    (lambda t: t[: t.rindex('text = "t"')],
     r"g.TextGrid: tier 'phones' declares 5 intervals but 3 are complete"),
])
def test_read_textgrid_rejects_damaged_files(tmp_path, damage, message):
    tiers, xmax = _utterance_tiers(["cat"], "ipa")
    text = textgrid_text(tiers, xmax)
    assert "xmax = 0.26\n            text" in text  # the phones tier's 3rd interval ends at 0.26
    with pytest.raises(TextGridError, match=message):
        read_textgrid(_grid(tmp_path, damage(text)))


SHORT = ('File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n0.5\n<exists>\n1\n"IntervalTier"\n'
         '"phones"\n0\n0.5\n3\n0\n0.2\n"ɹ"\n0.2\n0.3\n"ɛ"\n0.3\n0.5\n"d"\n')


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.replace("0.2\n0.3", "0.2\nnan"), r"tier 'phones': interval 2's end must be a finite number"),
    (lambda t: t.replace("0.2\n0.3", "0.35\n0.3"), r"tier 'phones' interval 2 ends \(0.3\) before it starts"),
    (lambda t: t[: t.rindex("0.3\n0.5")], r"tier 'phones' declares 3 intervals but 2 are complete"),
])
def test_read_textgrid_rejects_damaged_short_format(tmp_path, damage, message):
    assert read_textgrid(_grid(tmp_path, SHORT))["phones"]["label"].tolist() == ["ɹ", "ɛ", "d"]
    with pytest.raises(TextGridError, match="g.TextGrid: " + message):
        read_textgrid(_grid(tmp_path, damage(SHORT)))


# ------------------------------------------------------------------ LibriSpeech + MFA in IPA
def test_librispeech_mfa_ipa(tmp_path):
    """MFA's english_mfa output (IPA with ɹ, upper-cased by some tools) loses no phone."""
    rng = np.random.default_rng(3)
    d = tmp_path / "84" / "121123"
    d.mkdir(parents=True)
    words = ["red", "bird", "thing"]
    (d / "84-121123-0001.wav").write_bytes(wav_bytes(_tone_audio(words, rng), SFREQ))
    (d / "84-121123.trans.txt").write_text("84-121123-0001 RED BIRD THING\n")
    tiers, xmax = _utterance_tiers(words, "ipa", silence_labels=("", "spn"))
    tiers["phones"] = [(a, b, lab.upper()) for a, b, lab in tiers["phones"]]
    (d / "84-121123-0001.TextGrid").write_text(textgrid_text(tiers, xmax), encoding="utf-8")
    c = load_librispeech_mfa(tmp_path)
    assert c.item("84-121123-0001")["talker"] == "84" and c.item("84-121123-0001")["word"] == "RED BIRD THING"
    assert c.get_alignments(tier="phone")["label"].tolist() == EXPECTED["red"] + EXPECTED["bird"] + EXPECTED["thing"]
    assert phone_report(c)["n_unknown"] == 0 and phone_report(c)["silences"] == {"": 2, "SPN": 2}


# ------------------------------------------------------------------ a user's corpus in the pipeline
def _word_corpus(root, seed=0):
    """Isolated words, 3 talkers (noise differs), MFA-style IPA grids."""
    rng = np.random.default_rng(seed)
    words = ["red", "cat", "sheep", "bird", "time", "go"]
    for talker in ("ann", "bob", "cy"):
        d = root / talker
        d.mkdir(parents=True)
        for w in words:
            (d / f"{w}_{talker}.wav").write_bytes(wav_bytes(_tone_audio([w], rng), SFREQ))
            tiers, xmax = _utterance_tiers([w], "ipa")
            (d / f"{w}_{talker}.TextGrid").write_text(textgrid_text(tiers, xmax), encoding="utf-8")
    return words


def test_user_corpus_trains_exports_and_probes(tmp_path):
    """The loaded corpus goes through features -> training -> export -> probing like a
    synthesized one; the store's phone tier is the corpus's, and phones are decodable."""
    from neurorrn.models import ExperimentConfig, ModelBundle, export_activations, train_on_features
    from neurorrn.probing import phone_epochs, phone_tokens, probe_over_time
    from neurorrn.speech import compute_features
    from neurorrn.store import get_alignments, load_store, validate_store

    words = _word_corpus(tmp_path / "corpus")
    corpus = load_textgrid_corpus(tmp_path / "corpus")
    assert phone_report(corpus)["n_unknown"] == 0 and set(corpus.items["talker"]) == {"ann", "bob", "cy"}
    feats = compute_features(corpus, kind="logmel", n_mels=24)
    pron = {w: list(corpus.lexicon.phones(w)) for w in words}
    assert pron["bird"] == ["B", "ER", "D"]
    cfg = ExperimentConfig.from_dict({
        "name": "mine", "features": {"kind": "logmel", "normalization": "zscore"},
        "network": {"hidden_sizes": [16], "output_bias_init": -1.5},
        "targets": {"kind": "srv", "n_dims": 24, "n_active": 4}, "optim": {"kind": "adam", "lr": 0.02},
        "train": {"batch_size": 6, "max_epochs": 30, "carry_state": False, "eval_every": 10, "checkpoint_every": 30},
        "holdout": {"mode": "T", "excluded_talker": "cy"}, "evaluation": {"batch_size": 64},
    })
    summary = train_on_features(cfg, feats, tmp_path / "run", pronunciations=pron, sfreq=SFREQ)
    assert summary["n_tokens"] == {"trained": 12, "excluded_word": 0, "excluded_talker": 6}
    bundle = ModelBundle.load(tmp_path / "run" / "model.pt")
    assert bundle.pronunciations["sheep"] == ["SH", "IY", "P"]
    path = export_activations(bundle, feats, tmp_path / "acts.nc", alignments=corpus.alignments,
                              require_alignments=True)
    assert validate_store(path) == []
    store = load_store(path)
    pd.testing.assert_frame_equal(
        get_alignments(store, tier="phone")[["stimulus", "label", "start", "end"]].sort_values(
            ["stimulus", "start"]).reset_index(drop=True),
        corpus.get_alignments(tier="phone")[["stimulus", "label", "start", "end"]].sort_values(
            ["stimulus", "start"]).reset_index(drop=True), check_dtype=False)
    tokens = phone_tokens(store, phones=None)
    assert tokens.sizes["token"] == len(corpus.get_alignments(tier="phone"))
    # word-initial phones (five distinct tones) are decodable from the hidden units across
    # talkers, as for a synthesized corpus
    ep = phone_epochs(store, lags=[0.05], phones=["R", "K", "SH", "B", "G"])
    assert ep.sizes["token"] == 15
    res = probe_over_time(ep, "phone", group_by="talker")
    assert float(res["mean"].max()) > float(res["chance"]) + 0.3
