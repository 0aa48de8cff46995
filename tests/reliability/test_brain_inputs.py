"""Events tables and recordings with bad values (issue 19: W9 events, W11, U1)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from neurorrn.brain.events import read_events
from neurorrn.brain.timeline import TimelineError
from neurorrn.utils._logging import NeurorrnWarning


def _tsv(path, rows):
    path.write_text("\n".join("\t".join(map(str, r)) for r in rows) + "\n")
    return path


def test_W9_negative_durations_are_refused(tmp_path):
    p = _tsv(tmp_path / "sub-1_events.tsv", [("onset", "duration", "trial_type"), (1.0, 0.5, "sound/a"),
                                             (2.0, -0.25, "word/cat")])
    with pytest.raises(TimelineError, match=r"_events\.tsv: word event 'cat' \(event 2\) has duration -0\.25; "
                                            r"durations must be >= 0"):
        read_events(p, 100.0, fmt="bids")
    ok = _tsv(tmp_path / "ok_events.tsv", [("onset", "duration", "trial_type"), (1.0, "n/a", "word/cat")])
    assert len(read_events(ok, 100.0, fmt="bids").events) == 1  # BIDS allows an unknown duration


def test_U1_binary_and_ragged_events_tables_are_named(tmp_path):
    b = tmp_path / "bin_events.tsv"
    b.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00" * 10)
    with pytest.raises(TimelineError, match=r"bin_events\.tsv: not a text \(UTF-8\) events table"):
        read_events(b, 100.0)
    r = _tsv(tmp_path / "rag_events.tsv", [("onset", "duration", "trial_type"), (1.0, 0.5, "word/a"),
                                           (2.0, 0.5, "word/b", "extra", "more")])
    with pytest.raises(TimelineError, match=r"rag_events\.tsv: not a well-formed tab-separated table: .*line 3"):
        read_events(r, 100.0)


def test_U1_megmasc_trial_type_with_bad_keys_or_start(tmp_path):
    p = _tsv(tmp_path / "m_events.tsv", [("onset", "duration", "trial_type"),
                                         (1.0, 0.1, "{'kind': 'word', [1]: 2}")])
    with pytest.raises(TimelineError, match=r"row 1: trial_type is not a Python-literal dict \(TypeError\)"):
        read_events(p, 100.0, fmt="megmasc")
    p = _tsv(tmp_path / "m2_events.tsv", [("onset", "duration", "trial_type"),
                                          (1.0, 0.1, "{'kind': 'word', 'word': 'a', 'sound': 's.wav', "
                                                     "'start': 'soon'}")])
    with pytest.raises(TimelineError, match=r"row 1: trial_type 'start' is not a number: 'soon'"):
        read_events(p, 100.0, fmt="megmasc")


def test_W11_nan_channel_is_marked_bad_with_a_warning():
    import mne

    from neurorrn.brain.preprocess import preprocess

    rng = np.random.default_rng(0)
    info = mne.create_info([f"MEG{i}" for i in range(6)], 200.0, "mag")
    data = rng.standard_normal((6, 2000)) * 1e-12
    data[2, 500:509] = np.nan
    data[4, 100] = np.inf
    raw = mne.io.RawArray(data, info, verbose="error")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = preprocess(raw, l_freq=1.0, h_freq=30.0, sfreq=100.0)
    # one warning, ours, naming the channels (numpy's "invalid value" from the filter is not repeated)
    assert [(w.category, str(w.message)[:57]) for w in caught] == [
        (NeurorrnWarning, "preprocess: channel(s) ['MEG2', 'MEG4'] hold NaN or Inf (")]
    assert out.info["bads"] == ["MEG2", "MEG4"]
    assert np.isfinite(out.get_data()).all()
    clean = preprocess(mne.io.RawArray(np.nan_to_num(data, nan=0.0, posinf=0.0), info, verbose="error"),
                       l_freq=1.0, h_freq=30.0, sfreq=100.0)
    np.testing.assert_allclose(out.get_data(picks=[0, 1, 3, 5]), clean.get_data(picks=[0, 1, 3, 5]))


@pytest.mark.parametrize("preload", [False, True])
def test_U1_a_truncated_fif_is_named(tmp_path, preload):
    import mne

    from neurorrn.brain.io import read_raw

    info = mne.create_info(["a", "b"], 100.0, "mag")
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((2, 5000)) * 1e-12, info, verbose="error")
    raw.save(tmp_path / "full_raw.fif", verbose="error")
    b = (tmp_path / "full_raw.fif").read_bytes()
    (tmp_path / "cut_raw.fif").write_bytes(b[: len(b) // 2])
    with pytest.raises(ValueError, match=r"recording '.*cut_raw\.fif' cannot be read: ValueError: .*truncated or "
                                         r"damaged"):
        read_raw(tmp_path / "cut_raw.fif", preload=preload)
    assert read_raw(tmp_path / "full_raw.fif", preload=preload).n_times == 5000
