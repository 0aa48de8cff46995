"""Timeline: normalisation and the checks (outside, overlaps, missing stimuli, triggers)."""

import numpy as np
import pandas as pd
import pytest

from neurorrn.brain.timeline import Timeline, TimelineError, audio_onsets, normalize_phone
from neurorrn.utils._logging import NeurorrnWarning


def _events():
    return pd.DataFrame([
        {"onset": 1.0, "duration": 2.0, "kind": "sound", "stimulus": "s_0", "label": "s_0", "start": 0.0},
        {"onset": 1.1, "duration": 0.3, "kind": "word", "stimulus": "s_0", "label": "cat", "start": 0.1},
        {"onset": 1.1, "duration": 0.1, "kind": "phone", "stimulus": "s_0", "label": "K", "start": 0.1},
        {"onset": 1.5, "duration": 0.3, "kind": "word", "stimulus": "s_0", "label": "sat", "start": 0.5},
        {"onset": 4.0, "duration": 1.0, "kind": "sound", "stimulus": "s_1", "label": "s_1", "start": 0.0},
        {"onset": 4.2, "duration": 0.2, "kind": "word", "stimulus": "s_1", "label": "dog", "start": 0.2},
    ])


def test_normalize_phone():
    assert normalize_phone("dh_B") == ("DH", "B")
    assert normalize_phone('"AH0"') == ("AH", "")
    assert normalize_phone("iy1_E") == ("IY", "E")
    assert normalize_phone("T") == ("T", "")


def test_samples_order_and_alignments():
    tl = Timeline(_events().sample(frac=1, random_state=0), sfreq=100.0, n_times=600)
    ev = tl.events
    assert list(ev.columns[:6]) == ["onset", "duration", "kind", "stimulus", "label", "sample"]
    assert ev["onset"].is_monotonic_increasing
    np.testing.assert_array_equal(ev["sample"], np.round(ev["onset"] * 100).astype(int))
    # at equal onsets, sounds before words before phones
    assert list(ev.loc[ev["onset"] == 1.1, "kind"]) == ["word", "phone"]
    assert tl.stimuli == ["s_0", "s_1"]
    assert tl.sound_onsets() == {"s_0": 1.0, "s_1": 4.0}
    al = tl.to_alignments()
    row = al[(al["label"] == "dog")].iloc[0]
    assert row["stimulus"] == "s_1" and row["start"] == pytest.approx(0.2) and row["end"] == pytest.approx(0.4)
    assert set(al["tier"]) == {"word", "phone"}


def test_events_outside_recording():
    with pytest.raises(TimelineError, match=r"outside the recording .*first: word 'dog' of stimulus 's_1' at onset 4.2000"):
        Timeline(_events(), sfreq=100.0, n_times=420)
    ev = _events()
    ev.loc[1, "onset"] = -0.5
    with pytest.raises(TimelineError, match="word 'cat'"):
        Timeline(ev, 100.0, n_times=1000)


def test_bad_tables():
    with pytest.raises(TimelineError, match=r"lacks column\(s\) \['label'\]"):
        Timeline(_events().drop(columns="label"), 100.0)
    ev = _events()
    ev.loc[2, "kind"] = "syllable"
    with pytest.raises(TimelineError, match=r"unknown event kind\(s\) \['syllable'\]"):
        Timeline(ev, 100.0)
    ev = _events()
    ev["onset"] = ev["onset"].astype(object)
    ev.loc[3, "onset"] = "n/a"
    with pytest.raises(TimelineError, match="no valid onset.*label='sat'"):
        Timeline(ev, 100.0)


def test_overlaps():
    tl = Timeline(_events(), 100.0)
    assert tl.check_overlaps().empty
    ev = _events()
    ev.loc[3, "onset"] = 1.2  # 'sat' starts while 'cat' (1.1-1.4) plays
    tl = Timeline(ev, 100.0)
    with pytest.raises(TimelineError, match=r"overlapping.*word 'sat' of stimulus 's_0' starts at 1.2000 s before .* 1.4000 s"):
        tl.check_overlaps()
    with pytest.warns(NeurorrnWarning, match="overlapping"):
        out = tl.check_overlaps(on_overlap="warn")
    assert list(out["label"]) == ["sat"]


def test_missing_stimuli():
    tl = Timeline(_events(), 100.0)
    assert tl.check_stimuli(["s_0", "s_1", "extra"]) == []
    with pytest.raises(TimelineError, match=r"missing: \['s_1'\]. Did you mean 's_2' for 's_1'"):
        tl.check_stimuli(["s_0", "s_2"])


def test_triggers():
    tl = Timeline(_events(), 100.0)
    table = tl.check_triggers([1.005, 4.01], tolerance=0.02)
    np.testing.assert_allclose(table["delay"], [0.005, 0.01])
    with pytest.raises(TimelineError, match=r"sound 's_1' at 4.0000 s is \+50.0 ms from its trigger"):
        tl.check_triggers([1.0, 4.05], tolerance=0.02)
    with pytest.raises(TimelineError, match="sound 's_1' at 4.0000 s has no trigger"):
        tl.check_triggers([1.0], tolerance=0.02)


def test_consistency_start_vs_onset():
    ev = _events()
    tl = Timeline(ev, 100.0)
    assert tl.check_consistency().empty
    ev.loc[5, "start"] = 0.5  # 'dog' would be at 4.5 s by its start, but its onset says 4.2 s
    with pytest.raises(TimelineError, match="word 'dog' of 's_1' at 4.2000 s, expected 4.5000 s"):
        Timeline(ev, 100.0).check_consistency()


def test_audio_onsets_from_channel():
    sf = 1000.0
    x = np.zeros(5000)
    for t0 in (0.5, 2.25, 4.0):
        i = int(t0 * sf)
        x[i:i + 300] = np.sin(np.arange(300) / 3.0)
    found = audio_onsets(x, sf, threshold=0.2, min_gap=0.5)
    np.testing.assert_allclose(found, [0.5, 2.25, 4.0], atol=0.005)


def test_megmasc_export_roundtrip():
    from neurorrn.brain.events import read_events

    ev = _events()
    ev["position"] = ["", "", "B", "", "", ""]
    tl = Timeline(ev, 100.0)
    table = tl.to_megmasc_events()
    assert "'sound': 'stimuli/audio/s_0.0.wav'" in table["trial_type"].iloc[0]
    back = read_events(table, 100.0, fmt="megmasc")
    pd.testing.assert_frame_equal(back.events[["onset", "kind", "stimulus", "label", "sample"]],
                                  tl.events[["onset", "kind", "stimulus", "label", "sample"]])
