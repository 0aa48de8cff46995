import numpy as np
import pytest

from neurorrn.probing.features import (
    ANALYSIS_PHONES, ARPABET_TO_IPA, FEATURES, is_consonant, phone_feature_table, read_earshot_feature_file,
    to_arpabet,
)


def test_table_shape_and_coords():
    t = phone_feature_table()
    assert t.dims == ("phone", "feature")
    assert t.shape == (33, 14)
    assert list(t["phone"].values) == list(ANALYSIS_PHONES)
    assert list(t["feature"].values) == list(FEATURES)
    assert int(t["consonant"].sum()) == 20
    # every vowel is syllabic, sonorant and voiced; no consonant is syllabic
    vow = ~t["consonant"].values
    for f in ("syllabic", "sonorant", "voiced"):
        assert t.sel(feature=f).values[vow].all()
    assert not t.sel(feature="syllabic").values[~vow].any()


def test_earshot_convention_matches_published_file(shared_data):
    ref = read_earshot_feature_file(shared_data / "earshot" / "Phoneme_Feature.txt")
    assert ref.shape == (33, 14)
    ours = phone_feature_table(phones=list(ref["phone"].values), features=list(ref["feature"].values))
    mismatch = np.argwhere(ours.values != ref.values)
    assert mismatch.size == 0, [(ours.phone.values[i], ours.feature.values[j]) for i, j in mismatch]
    assert list(ours["ipa"].values) == list(ref["ipa"].values)
    assert (ours["consonant"].values == ref["consonant"].values).all()


def test_textbook_convention_differs_only_where_documented():
    a = phone_feature_table(convention="earshot")
    b = phone_feature_table(convention="textbook")
    diff = {(str(a.phone.values[i]), str(a.feature.values[j])) for i, j in np.argwhere(a.values != b.values)}
    expected = {("TH", "coronal"), ("DH", "coronal"), ("SH", "coronal"), ("SH", "dorsal"),
                ("M", "obstruent"), ("N", "obstruent"), ("NG", "obstruent"), ("L", "obstruent"),
                ("R", "obstruent"), ("L", "coronal"), ("R", "coronal"), ("W", "labial"), ("W", "dorsal"),
                ("Y", "dorsal"), ("EY", "front"), ("AY", "low"), ("AW", "low"), ("OW", "back")}
    assert diff == expected


def test_ipa_mapping_and_labels():
    assert len(set(ARPABET_TO_IPA.values())) == 33
    assert to_arpabet(["AA1", "ʃ", "er0", "p"]) == ["AA", "SH", "ER", "P"]
    assert is_consonant("W") and not is_consonant("AY")
    with pytest.raises(KeyError, match="not one of the 33 analysis phones"):
        is_consonant("ZH")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="convention"):
        phone_feature_table(convention="spe")
    with pytest.raises(KeyError, match=r"phones \['CH'\] are not analysis phones"):
        phone_feature_table(phones=["P", "CH"])
    with pytest.raises(KeyError, match="features"):
        phone_feature_table(features=["tense"])
    bad = tmp_path / "f.txt"
    bad.write_text("A\tB\tC\nx\ty\t1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected columns 'CMU', 'IPA'"):
        read_earshot_feature_file(bad)
