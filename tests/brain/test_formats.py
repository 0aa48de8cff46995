"""Loaders for every dataset format, on fixtures written at run time in the exact layout."""

import json
import warnings

import mne
import numpy as np
import pandas as pd
import pytest
import scipy.io

from neurorrn.brain import (read_alice_events, read_bids, read_broderick_eeg, read_broderick_run, read_cnd,
                            read_events, read_libribrain_h5, read_raw)
from neurorrn.brain.events import megmasc_sound_id
from neurorrn.brain.io import SidecarMismatchError
from neurorrn.brain.timeline import TimelineError
from neurorrn.utils._logging import NeurorrnWarning

SFREQ = 100.0


def _write_bids_raw(root, subject="01", session="0", task="0", datatype="meg", n_times=3000):
    import mne_bids

    info = mne.create_info(["MEG 001", "MEG 002", "STI 014"], SFREQ, ["mag", "mag", "stim"])
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((3, n_times)) * 1e-13, info, verbose="error")
    raw.info["line_freq"] = 60.0
    raw.set_meas_date(pd.Timestamp("2000-01-01", tz="UTC").to_pydatetime())
    bp = mne_bids.BIDSPath(subject=subject, session=session, task=task, datatype=datatype, root=root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mne_bids.write_raw_bids(raw, bp, format="FIF", allow_preload=True, overwrite=True, verbose="error")
    return bp


def _megmasc_rows():
    """Rows as in the MEG-MASC release (one sentence block, one word_list block)."""
    base = {"story": "cable_spool_fort", "story_uid": 1, "sound_id": 0}
    rows = [(2.0, 0.0, {**base, "kind": "sound", "start": 0.0, "sound": "stimuli/audio/cable_spool_fort_0.0.wav"})]
    words = [("the", 0.0, [("dh_B", 0.0, 0.05), ("ah_E", 0.05, 0.06)]),
             ("cat", 0.2, [("k_B", 0.2, 0.07), ("ae_I", 0.27, 0.1), ("t_E", 0.37, 0.05)]),
             ("a", 0.5, [("ah_S", 0.5, 0.08)])]
    for wi, (w, ws, phones) in enumerate(words):
        common = {**base, "sound": "stimuli/audio/cable_spool_fort_0.wav", "sequence_id": 0, "condition": "sentence",
                  "word_index": wi, "speech_rate": 160, "voice": "Ava", "pronounced": 1.0}
        rows.append((2.0 + ws, 0.3, {**common, "kind": "word", "start": ws, "word": w}))
        for ph, ps, pd_ in phones:
            rows.append((2.0 + ps, pd_, {**common, "kind": "phoneme", "start": ps, "phoneme": ph}))
    base1 = {"story": "cable_spool_fort", "story_uid": 1, "sound_id": 1}
    rows.append((10.0, 0.0, {**base1, "kind": "sound", "start": 0.0, "sound": "stimuli/audio/cable_spool_fort_1.0.wav"}))
    rows.append((10.4, 0.3, {**base1, "kind": "word", "start": 0.4, "word": "spool", "condition": "word_list",
                             "sound": "stimuli/audio/cable_spool_fort_1.wav", "word_index": 0}))
    return pd.DataFrame({"onset": [r[0] for r in rows], "duration": [r[1] for r in rows],
                         "trial_type": [str(r[2]) for r in rows], "value": [0] * len(rows),
                         "sample": [int(round(r[0] * SFREQ)) for r in rows]})


def test_megmasc_sound_id_quirk():
    assert megmasc_sound_id("stimuli/audio/cable_spool_fort_0.0.wav") == (
        "cable_spool_fort_0", "stimuli/audio/cable_spool_fort_0.wav")
    assert megmasc_sound_id("stimuli/audio/cable_spool_fort_0.wav")[0] == "cable_spool_fort_0"
    assert megmasc_sound_id("stimuli/audio/The_Black_Widow_12.0.wav")[0] == "The_Black_Widow_12"


def test_megmasc_bids(tmp_path):
    bp = _write_bids_raw(tmp_path)
    ev = bp.copy().update(suffix="events", extension=".tsv")
    _megmasc_rows().to_csv(ev.fpath, sep="\t", index=False)
    audio = tmp_path / "stimuli" / "audio"
    audio.mkdir(parents=True)
    for i in (0, 1):
        (audio / f"cable_spool_fort_{i}.wav").write_bytes(b"")
    raw, tl = read_bids(tmp_path, subject="01", session="0", task="0")
    assert raw.info["line_freq"] == 60.0 and raw.info["sfreq"] == SFREQ
    assert tl.stimuli == ["cable_spool_fort_0", "cable_spool_fort_1"]
    sounds = tl.sounds
    assert list(sounds["sound_file"]) == ["stimuli/audio/cable_spool_fort_0.wav", "stimuli/audio/cable_spool_fort_1.wav"]
    assert all((tmp_path / f).is_file() for f in sounds["sound_file"])
    words = tl.words
    assert list(words["label"]) == ["the", "cat", "a", "spool"]
    assert list(words["condition"]) == ["sentence"] * 3 + ["word_list"]
    ph = tl.phones
    assert list(ph["label"]) == ["DH", "AH", "K", "AE", "T", "AH"]
    assert list(ph["position"]) == ["B", "E", "B", "I", "E", "S"]
    np.testing.assert_array_equal(tl.events["sample"], np.round(tl.events["onset"] * SFREQ))
    assert tl.check_consistency().empty


def test_megmasc_bad_rows(tmp_path):
    df = _megmasc_rows()
    df.loc[3, "trial_type"] = "{'kind': 'word', 'word': __import__('os').getcwd()}"
    with pytest.raises(TimelineError, match="row 4: trial_type is not a Python-literal dict"):
        read_events(df, SFREQ, fmt="megmasc")
    df = _megmasc_rows().drop(index=0)  # no sound row for sound 0
    with pytest.warns(NeurorrnWarning, match=r"no 'sound' row: \['cable_spool_fort_0'\]"):
        read_events(df, SFREQ, fmt="megmasc")
    df = _megmasc_rows()
    df.loc[0, "onset"] = 2.5  # sound onset disagrees with its words' onset - start
    with pytest.warns(NeurorrnWarning, match="disagree with their sound's onset"):
        read_events(df, SFREQ, fmt="megmasc")


def test_bids_events_outside_recording(tmp_path):
    bp = _write_bids_raw(tmp_path, n_times=1000)  # 10 s; the word_list sound is at 10 s
    ev = bp.copy().update(suffix="events", extension=".tsv")
    _megmasc_rows().to_csv(ev.fpath, sep="\t", index=False)
    with pytest.raises(TimelineError, match=r"outside the recording \(0 to 10.000 s.*first: sound 'cable_spool_fort_1'"):
        read_bids(tmp_path, subject="01", session="0", task="0")
    with pytest.warns(NeurorrnWarning, match="dropped 2 event"):
        _, tl = read_bids(tmp_path, subject="01", session="0", task="0", drop_outside=True)
    assert tl.stimuli == ["cable_spool_fort_0"]


def test_sidecar_sfreq_contradiction(tmp_path):
    bp = _write_bids_raw(tmp_path)
    side = bp.copy().update(suffix="meg", extension=".json")
    meta = json.loads(side.fpath.read_text())
    meta["SamplingFrequency"] = 1000.0
    side.fpath.write_text(json.dumps(meta))
    with pytest.raises(SidecarMismatchError, match=r"_meg.json: SamplingFrequency is 1000 Hz but the recording has 100 Hz"):
        read_bids(tmp_path, subject="01", session="0", task="0")


def test_armeni_events(tmp_path):
    path = tmp_path / "sub-001_ses-001_task-compr_events.tsv"
    path.write_text(
        "onset\tduration\tsample\ttype\tvalue\n"
        "1.00\t0.00\t100\twav_onset\t\"story01.wav\"\n"
        "1.10\t0.20\t110\tword_onset_01\t\"THE\"\n"
        "1.10\t0.05\t110\tphoneme_onset_01\t\"DH\"\n"
        "1.15\t0.05\t115\tphoneme_onset_02\t\"AH0\"\n"
        "1.20\t0.05\t120\tphoneme_onset_01\t\"sp\"\n"
        "1.30\t0.30\t130\tword_onset_01\t\"CAT\"\n"
        "1.30\t0.05\t130\tphoneme_onset_01\t\"K\"\n"
        "1.35\t0.10\t135\tphoneme_onset_02\t\"AE1\"\n"
    )
    tl = read_events(path, SFREQ, n_times=1000)
    assert tl.stimuli == ["story01"]
    assert list(tl.words["label"]) == ["THE", "CAT"]
    assert list(tl.phones["label"]) == ["DH", "AH", "K", "AE"]  # stress removed, 'sp' dropped
    assert set(tl.phones["stimulus"]) == {"story01"}
    with pytest.raises(TimelineError, match="outside the recording"):
        read_events(path, SFREQ, n_times=120)


def test_libribrain_h5_and_events(tmp_path):
    import h5py

    root = tmp_path / "Sherlock1" / "derivatives"
    (root / "serialised").mkdir(parents=True)
    (root / "events").mkdir(parents=True)
    h5 = root / "serialised" / "sub-0_ses-1_task-Sherlock1_run-1_proc-bads+headpos+sss+notch+bp+ds_meg.h5"
    data = np.random.default_rng(1).standard_normal((306, 2500)) * 1e-12
    with h5py.File(h5, "w") as f:
        f.create_dataset("data", data=data)
        f.attrs["sample_frequency"] = 250
    ev = root / "events" / "sub-0_ses-1_task-Sherlock1_run-1_events.tsv"
    pd.DataFrame({
        "kind": ["silence", "word", "phoneme", "phoneme", "phoneme", "word", "phoneme"],
        "segment": ["sil", "to", "t_B", "uw_E", "sil", "oov", "oov_S"],
        "timemeg": [0.0, 1.0, 1.0, 1.08, 1.2, 2.0, 2.0],
        "duration": [1.0, 0.2, 0.08, 0.12, 0.1, 0.3, 0.3],
    }).to_csv(ev, sep="\t", index=False)
    raw = read_raw(h5)
    assert raw.info["sfreq"] == 250.0 and len(raw.ch_names) == 306
    assert raw.get_channel_types(unique=True) == ["grad", "mag"] or set(raw.get_channel_types()) == {"grad", "mag"}
    np.testing.assert_allclose(raw.get_data(), data)
    tl = read_events(ev, raw.info["sfreq"], raw.n_times, sound_onset=0.5)
    assert tl.stimuli == ["Sherlock1_run-1"]
    assert list(tl.words["label"]) == ["to", "oov"]
    assert list(tl.phones["label"]) == ["T", "UW"]
    assert list(tl.phones["sample"]) == [250, 270]
    assert tl.sound_onsets() == {"Sherlock1_run-1": 0.5}
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f.create_dataset("data", data=data)
    with pytest.raises(ValueError, match="no 'sample_frequency' attribute"):
        read_libribrain_h5(bad)


def test_broderick(tmp_path):
    text = tmp_path / "Natural Speech" / "Stimuli" / "Text"
    eegdir = tmp_path / "Natural Speech" / "EEG" / "Subject1"
    text.mkdir(parents=True)
    eegdir.mkdir(parents=True)
    words = np.array(["He", "was", "an", "old", "man"], dtype=object)
    on = np.array([0.52, 0.71, 0.9, 1.02, 1.3])
    scipy.io.savemat(text / "Run3.mat", {"wordVec": words[:, None], "onset_time": on[:, None],
                                         "offset_time": (on + 0.15)[:, None], "sentence_boundaries": np.array([[1.5]])})
    rng = np.random.default_rng(2)
    scipy.io.savemat(eegdir / "Subject1_Run3.mat", {"eegData": rng.standard_normal((256, 128)) * 10,
                                                    "mastoids": rng.standard_normal((256, 2)), "fs": 128})
    raw = read_broderick_eeg(eegdir / "Subject1_Run3.mat")
    assert raw.info["sfreq"] == 128 and len(raw.ch_names) == 130 and raw.ch_names[-2:] == ["M1", "M2"]
    assert raw.get_montage() is not None
    tl = read_broderick_run(text / "Run3.mat", sfreq=raw.info["sfreq"], n_times=raw.n_times)
    assert tl.stimuli == ["audio3"]
    assert list(tl.words["label"]) == list(words)
    np.testing.assert_allclose(tl.words["onset"], on)
    np.testing.assert_array_equal(tl.words["sample"], np.round(on * 128))
    np.testing.assert_allclose(tl.words["duration"], 0.15)
    scipy.io.savemat(text / "Run4.mat", {"wordVec": words[:, None], "onset_time": on[:, None]})
    with pytest.raises(TimelineError, match=r"Run4.mat: missing variable 'offset_time'"):
        read_broderick_run(text / "Run4.mat")


def test_alice(tmp_path):
    csv = tmp_path / "AliceChapterOne-EEG.csv"
    pd.DataFrame({"Word": ["Alice", "was", "beginning", "to", "get"], "Segment": [1, 1, 1, 2, 2],
                  "onset": [0.05, 0.4, 0.6, 0.1, 0.3], "offset": [0.35, 0.55, 1.1, 0.25, 0.5],
                  "Position": [1, 2, 3, 4, 5], "Sentence": [1, 1, 1, 1, 1]}).to_csv(csv, index=False)
    info = mne.create_info([str(i) for i in range(1, 62)], 500.0, ["eeg"] * 60 + ["eog"])
    raw = mne.io.RawArray(np.zeros((61, 5000)), info, first_samp=250, verbose="error")
    raw.set_annotations(mne.Annotations([1.0, 5.0], [0, 0], ["1", "2"]))  # from the first sample
    fif = tmp_path / "S01_alice-raw.fif"
    raw.save(fif, verbose="error")
    raw = read_raw(fif)
    tl = read_alice_events(csv, raw, raw.info["sfreq"], raw.n_times)
    assert tl.sound_onsets() == {"1": pytest.approx(1.0), "2": pytest.approx(5.0)}
    np.testing.assert_allclose(tl.words["onset"], [1.05, 1.4, 1.6, 5.1, 5.3])
    assert tl.words["sample"].tolist() == [525, 700, 800, 2550, 2650]
    with pytest.raises(TimelineError, match=r"no onset for segment\(s\) \['2'\]"):
        read_alice_events(csv, {"1": 1.0}, 500.0)


def test_cnd(tmp_path):
    rng = np.random.default_rng(3)
    trials = [rng.standard_normal((300, 4)), rng.standard_normal((200, 4))]
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = trials
    chanlocs = np.array([(f"C{i}",) for i in range(4)], dtype=[("labels", object)])
    scipy.io.savemat(tmp_path / "dataSub1.mat", {"eeg": {"data": cell, "fs": 100.0, "chanlocs": chanlocs,
                                                         "origTrialPosition": np.array([2, 1])}})
    env = np.empty((2, 2), dtype=object)
    wo1, wo2 = np.zeros(300), np.zeros(200)
    wo1[[10, 120]] = [1.0, 0.5]
    wo2[[50]] = 2.0
    env[0, 0], env[0, 1] = rng.random(300), rng.random(200)
    env[1, 0], env[1, 1] = wo1, wo2
    names = np.empty((2,), dtype=object)
    names[:] = ["Speech Envelope Vectors", "Word Onset Vectors"]
    scipy.io.savemat(tmp_path / "dataStim.mat", {"stim": {"data": env, "names": names, "fs": 100.0}})
    raw, tl = read_cnd(tmp_path / "dataSub1.mat", tmp_path / "dataStim.mat")
    assert raw.ch_names == ["C0", "C1", "C2", "C3"] and raw.n_times == 500
    np.testing.assert_allclose(raw.get_data()[:, 300:] * 1e6, trials[1].T)
    assert tl.sound_onsets() == {"trial2": 0.0, "trial1": 3.0}
    np.testing.assert_allclose(tl.words["onset"], [0.1, 1.2, 3.5])
    assert list(tl.words["stimulus"]) == ["trial2", "trial2", "trial1"]
    with pytest.raises(ValueError, match="no feature 'Phoneme'"):
        read_cnd(tmp_path / "dataSub1.mat", tmp_path / "dataStim.mat", word_feature="Phoneme")


def test_plain_bids_events(tmp_path):
    path = tmp_path / "sub-01_task-x_events.tsv"
    pd.DataFrame({"onset": [1.0, 1.2, 1.2, 3.0], "duration": [1.5, 0.2, 0.1, 0.0],
                  "trial_type": ["sound", "word/cat", "phone", "button"], "value": ["n/a", "n/a", "K", "1"],
                  "stim_file": ["audio/story_a.wav", "n/a", "n/a", "n/a"]}).to_csv(path, sep="\t", index=False)
    tl = read_events(path, SFREQ, 1000)
    assert tl.stimuli == ["story_a"]
    assert list(tl.events["label"]) == ["story_a", "cat", "K"]


def test_unknown_format():
    with pytest.raises(TimelineError, match="cannot tell the event format"):
        read_events(pd.DataFrame({"onset": ["1"], "foo": ["x"]}), SFREQ)


def test_non_numeric_onset_is_named(tmp_path):
    path = tmp_path / "sub-001_ses-001_task-compr_events.tsv"
    path.write_text("onset\tduration\tsample\ttype\tvalue\n1.0\t0\t100\twav_onset\t\"a.wav\"\n"
                    "1.2s\t0.2\t120\tword_onset_01\t\"THE\"\n")
    with pytest.raises(TimelineError, match=r"column 'onset' row 2 is not a number: '1.2s'"):
        read_events(path, SFREQ)
