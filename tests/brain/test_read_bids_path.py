"""read_bids accepts an mne_bids.BIDSPath, on the BIDS fixture of test_formats."""

import mne_bids
import numpy as np
import pytest

from neurorrn.brain import read_bids

from .test_formats import _megmasc_rows, _write_bids_raw


@pytest.fixture
def bids_root(tmp_path):
    bp = _write_bids_raw(tmp_path)
    _megmasc_rows().to_csv(bp.copy().update(suffix="events", extension=".tsv").fpath, sep="\t", index=False)
    return tmp_path


def test_read_bids_with_bidspath(bids_root):
    ref_raw, ref_tl = read_bids(bids_root, subject="01", session="0", task="0")
    bp = mne_bids.BIDSPath(root=bids_root, subject="01", session="0", task="0")
    raw, tl = read_bids(bp)
    assert raw.ch_names == ref_raw.ch_names and raw.info["sfreq"] == ref_raw.info["sfreq"]
    np.testing.assert_array_equal(raw.get_data(), ref_raw.get_data())
    assert tl.stimuli == ref_tl.stimuli == ["cable_spool_fort_0", "cable_spool_fort_1"]
    # a full path to the data file (datatype, suffix, extension) works too
    full = bp.copy().update(datatype="meg", suffix="meg", extension=".fif")
    raw2, _ = read_bids(full, preload=True)
    np.testing.assert_array_equal(raw2.get_data(), ref_raw.get_data())
    # entities given as arguments complete the path, and must agree with it
    raw3, _ = read_bids(mne_bids.BIDSPath(root=bids_root, subject="01"), task="0", session="0")
    assert raw3.n_times == ref_raw.n_times


def test_read_bids_bidspath_errors(bids_root):
    with pytest.raises(ValueError, match="subject='02' contradicts the BIDSPath's subject='01'"):
        read_bids(mne_bids.BIDSPath(root=bids_root, subject="01", task="0"), subject="02")
    with pytest.raises(ValueError, match="has no root"):
        read_bids(mne_bids.BIDSPath(subject="01", task="0"))
    with pytest.raises(TypeError, match="read_bids needs task"):
        read_bids(mne_bids.BIDSPath(root=bids_root, subject="01"))
    with pytest.raises(TypeError, match="read_bids needs subject and task"):
        read_bids(bids_root)
