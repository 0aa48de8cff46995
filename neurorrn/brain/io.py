"""Reading M/EEG recordings: anything MNE reads, BIDS through mne-bids, and dataset formats.

* :func:`read_raw` - any file :func:`mne.io.read_raw` understands (FIF, CTF ``.ds``, KIT ``.con``,
  BrainVision, EDF/BDF, EEGLAB...), plus LibriBrain's serialised ``.h5`` (:func:`read_libribrain_h5`).
* :func:`read_bids` - a recording of a BIDS dataset and its stimulus :class:`Timeline`, with the
  sidecar checked against the data (sampling rate, line frequency) and ``events.tsv`` read with
  pandas so no column is lost (mne-bids #848).
* :func:`read_broderick_eeg`, :func:`read_cnd` - the ``.mat`` layouts of Broderick et al. 2018 and
  of the CNSP Continuous-event Neural Data format.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils._check import check_path
from ..utils._logging import logger
from .events import _loadmat, read_events
from .timeline import Timeline, TimelineError


RAW_EXTENSIONS = (".fif", ".ds", ".con", ".sqd", ".pdf", ".vhdr", ".edf", ".bdf", ".set", ".mefd", ".nwb")


class SidecarMismatchError(ValueError):
    """A BIDS sidecar that contradicts the recording it describes."""


def read_raw(path, preload: bool = False, **kwargs):
    """Open any recording MNE can read (lazily by default).

    ``.h5`` files are read as LibriBrain serialised recordings (:func:`read_libribrain_h5`).
    """
    import mne

    path = check_path(path, "recording", must_exist=True)
    if path.suffix == ".h5":
        return read_libribrain_h5(path)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="mne")
        try:
            raw = mne.io.read_raw(path, preload=preload, verbose=kwargs.pop("verbose", "error"), **kwargs)
            if not preload and raw.n_times:
                # a truncated file opens lazily with its data cut short and fails only when read
                # ("buffer size must be a multiple of element size"): read its last sample now
                raw.get_data(start=raw.n_times - 1, stop=raw.n_times, verbose="error")
        except (ValueError, OSError, EOFError, KeyError, IndexError, RuntimeError) as err:
            if isinstance(err, FileNotFoundError):
                raise
            raise ValueError(f"recording '{path}' cannot be read: {type(err).__name__}: {str(err)[:200]} "
                             "(is the file truncated or damaged, or in a format MNE does not read?)") from None
    return raw


def read_libribrain_h5(path, ch_types: str = "auto"):
    """A LibriBrain ``..._proc-..._meg.h5`` file as a RawArray.

    The file holds ``data`` (channels x time) and the attribute ``sample_frequency``.  With 306
    channels the canonical Neuromag channel info is used (102 magnetometers + 204 gradiometers,
    MEGIN TRIUX Neo); otherwise channels are ``misc``.  Data are loaded (the files are at 250 Hz).
    """
    import h5py
    import mne

    path = check_path(path, "LibriBrain h5", must_exist=True, kind="file")
    with h5py.File(path, "r") as f:
        if "data" not in f:
            raise ValueError(f"{path}: no 'data' dataset (found {list(f)}); not a LibriBrain serialised file")
        if "sample_frequency" not in f.attrs:
            raise ValueError(f"{path}: no 'sample_frequency' attribute (found {list(f.attrs)})")
        data = np.asarray(f["data"][()], dtype=np.float64)
        sfreq = float(f.attrs["sample_frequency"])
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["channel_names"][()]] \
            if "channel_names" in f else None
    if data.ndim != 2:
        raise ValueError(f"{path}: 'data' must be 2-D (channels, time), got shape {data.shape}")
    if data.shape[0] == 306 and ch_types == "auto":
        info = mne.channels.read_meg_canonical_info("neuromag")
        with info._unlock():
            info["sfreq"] = sfreq
        if names is not None and names != info["ch_names"]:
            info.rename_channels(dict(zip(info["ch_names"], names)))
    else:
        names = names or [f"MISC{i:03d}" for i in range(data.shape[0])]
        info = mne.create_info(names, sfreq, "misc" if ch_types == "auto" else ch_types)
    return mne.io.RawArray(data, info, verbose="error")


def _sidecar(bids_path) -> tuple[Path | None, dict]:
    side = bids_path.copy().update(extension=".json", suffix=bids_path.datatype, check=False)
    if side.fpath is not None and Path(side.fpath).is_file():
        return Path(side.fpath), json.loads(Path(side.fpath).read_text(encoding="utf-8"))
    return None, {}


def check_sidecar(raw, sidecar: dict, where: str = "sidecar") -> None:
    """Raise :class:`SidecarMismatchError` if the sidecar's rate or line frequency contradicts ``raw``."""
    sf = sidecar.get("SamplingFrequency")
    if sf not in (None, "n/a") and not np.isclose(float(sf), raw.info["sfreq"], rtol=1e-6):
        raise SidecarMismatchError(
            f"{where}: SamplingFrequency is {float(sf):g} Hz but the recording has {raw.info['sfreq']:g} Hz; "
            "fix the sidecar or the data (onsets in events.tsv would be misplaced)"
        )
    lf = sidecar.get("PowerLineFrequency")
    if lf not in (None, "n/a") and raw.info["line_freq"] is not None \
            and not np.isclose(float(lf), float(raw.info["line_freq"])):
        raise SidecarMismatchError(
            f"{where}: PowerLineFrequency is {float(lf):g} Hz but the recording says {raw.info['line_freq']:g} Hz")


def read_bids(root, subject: str | None = None, task: str | None = None, session: str | None = None,
              run: str | None = None,
              datatype: str | None = None, events_format: str = "auto", preload: bool = False,
              drop_outside: bool = False, **events_kwargs):
    """Read one BIDS recording and its stimulus timeline.

    Parameters
    ----------
    root : path | mne_bids.BIDSPath
        The BIDS root, or a ``BIDSPath`` with its ``root`` and the entities (``subject``,
        ``task``, ``session``, ``run``, ``datatype``, and any others such as ``acquisition``);
        arguments given as well must agree with it.
    subject, task : str
        BIDS entities (required unless the ``BIDSPath`` names them).
    session, run : str | None
        BIDS entities.
    datatype : 'meg' | 'eeg' | None
        Found from the files when None.
    events_format : str
        See :func:`neurorrn.brain.events.read_events` ('auto' detects MEG-MASC, Armeni,
        LibriBrain and plain BIDS).
    preload : bool
        Load the data into memory (default: lazy).
    drop_outside : bool
        Drop events outside the recording with a warning instead of raising.

    Returns
    -------
    raw : mne.io.Raw
        ``info['line_freq']`` from the sidecar when the file has none.
    timeline : Timeline | None
        None when the recording has no ``events.tsv``.

    Raises
    ------
    SidecarMismatchError
        The sidecar's ``SamplingFrequency`` (or line frequency) contradicts the data.
    TimelineError
        Events outside the recording, unparseable rows.
    """
    import mne_bids

    base = None
    if isinstance(root, mne_bids.BIDSPath):
        base = root
        if base.root is None:
            raise ValueError("the BIDSPath has no root; build it as BIDSPath(root=..., subject=..., task=...)")
        given = {"subject": subject, "task": task, "session": session, "run": run, "datatype": datatype}
        for name, val in given.items():
            own = getattr(base, name)
            if val is not None and own is not None and str(val) != str(own):
                raise ValueError(f"read_bids: {name}={val!r} contradicts the BIDSPath's {name}={own!r}")
        subject, task = subject or base.subject, task or base.task
        session = session if session is not None else base.session
        run = run if run is not None else base.run
        datatype = datatype or base.datatype
        root = base.root
    missing = [n for n, v in (("subject", subject), ("task", task)) if v is None]
    if missing:
        raise TypeError(f"read_bids needs {' and '.join(missing)} (as arguments, or in the BIDSPath)")
    root = check_path(root, "BIDS root", must_exist=True, kind="dir")
    if datatype is None:
        found = [d for d in ("meg", "eeg", "ieeg") if any(root.glob(f"sub-{subject}/**/{d}"))]
        if not found:
            raise FileNotFoundError(f"{root}: no meg/eeg/ieeg folder for sub-{subject}")
        datatype = found[0]
    if base is not None:  # keep its other entities (acquisition, processing, ...)
        bp = base.copy().update(root=root, subject=subject, session=session, task=task, run=run,
                                datatype=datatype, suffix=datatype, extension=None, check=False)
    else:
        bp = mne_bids.BIDSPath(root=root, subject=subject, session=session, task=task, run=run,
                               datatype=datatype, suffix=datatype)
    data_files = [m for m in bp.match() if m.extension in RAW_EXTENSIONS]
    if not data_files:
        raise FileNotFoundError(f"{root}: no {datatype} recording for sub-{subject} task-{task}"
                                + (f" ses-{session}" if session else "") + (f" run-{run}" if run else ""))
    if len(data_files) > 1:
        raise ValueError(f"{root}: {len(data_files)} recordings match sub-{subject} task-{task}: "
                         f"{[m.basename for m in data_files]}; give session= or run=")
    bp = data_files[0]
    side_path, side = _sidecar(bp)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        raw = mne_bids.read_raw_bids(bp, verbose="error")
    if side:
        check_sidecar(raw, side, str(side_path))
    if preload:
        raw.load_data(verbose="error")
    ev = bp.copy().update(suffix="events", extension=".tsv")
    timeline = None
    if ev.fpath is not None and Path(ev.fpath).is_file():
        timeline = read_events(ev.fpath, raw.info["sfreq"], raw.n_times, fmt=events_format,
                               drop_outside=drop_outside, **events_kwargs)
    else:
        logger.info("%s: no events.tsv", bp.basename)
    return raw, timeline


def read_broderick_eeg(path, montage: str = "biosemi128", scale: float = 1e-6):
    """One ``Subject{S}_Run{n}.mat`` of Broderick et al. 2018 as a RawArray.

    The file holds ``eegData`` (time x 128, unreferenced), ``mastoids`` (time x 2) and ``fs``
    (128).  Values are taken to be in microvolts and multiplied by ``scale`` to volts; channels
    get the BioSemi 128 names and montage, the mastoids are ``M1``/``M2`` (EEG, no position).
    """
    import mne

    mat = _loadmat(path, "Broderick EEG file")
    for key in ("eegData", "fs"):
        if key not in mat:
            raise ValueError(f"{path}: missing variable {key!r}; found {sorted(k for k in mat if not k.startswith('__'))}")
    eeg = np.asarray(mat["eegData"], dtype=np.float64)
    if eeg.ndim != 2:
        raise ValueError(f"{path}: eegData must be 2-D (time, channels), got shape {eeg.shape}")
    mont = mne.channels.make_standard_montage(montage)
    if eeg.shape[1] != len(mont.ch_names):
        raise ValueError(f"{path}: eegData has {eeg.shape[1]} channels but montage {montage!r} has "
                         f"{len(mont.ch_names)}")
    names = list(mont.ch_names)
    data = [eeg.T]
    if "mastoids" in mat:
        mast = np.asarray(mat["mastoids"], dtype=np.float64).reshape(eeg.shape[0], -1)
        data.append(mast.T)
        names += [f"M{i + 1}" for i in range(mast.shape[1])]
    info = mne.create_info(names, float(mat["fs"]), "eeg")
    raw = mne.io.RawArray(np.concatenate(data) * scale, info, verbose="error")
    raw.set_montage(mont, on_missing="ignore", verbose="error")
    return raw


def _cell_list(x) -> list:
    if isinstance(x, np.ndarray) and x.dtype == object:
        return list(x.ravel())
    return [x]


def read_cnd(eeg_path, stim_path=None, word_feature: str | None = "auto"):
    """Read CND (Continuous-event Neural Data, CNSP) EEG and stimuli as one Raw and a Timeline.

    Parameters
    ----------
    eeg_path : path
        ``dataSub{N}.mat`` with struct ``eeg``: ``data`` (cell of trials, each time x channels),
        ``fs``, optional ``chanlocs`` (with ``labels``), ``origTrialPosition``.
    stim_path : path | None
        ``dataStim.mat`` with struct ``stim``: ``data`` (cell features x trials), ``names``,
        ``fs``.  A feature whose name contains "word" and holds impulses gives word events.
    word_feature : str | 'auto' | None
        The feature name to take word onsets from ('auto': the first name containing "word").

    Returns
    -------
    raw : mne.io.RawArray
        The trials concatenated in order; EEG in volts (CND stores microvolts).
    timeline : Timeline
        One 'sound' per trial (stimulus ``trial{origTrialPosition}``), plus word events
        (label: the impulse value) when a word feature exists.
    """
    import mne

    mat = _loadmat(eeg_path, "CND EEG file")
    if "eeg" not in mat:
        raise ValueError(f"{eeg_path}: no struct 'eeg' (found {sorted(k for k in mat if not k.startswith('__'))})")
    eeg = mat["eeg"]
    trials = [np.asarray(t, dtype=float) for t in _cell_list(eeg.data)]
    fs = float(eeg.fs)
    n_ch = {t.shape[1] for t in trials}
    if len(n_ch) != 1:
        raise ValueError(f"{eeg_path}: trials have different channel counts {sorted(n_ch)}")
    n_ch = n_ch.pop()
    names = None
    if hasattr(eeg, "chanlocs"):
        names = [str(c.labels) for c in np.atleast_1d(eeg.chanlocs)]
    names = names if names and len(names) == n_ch else [f"EEG{i + 1:03d}" for i in range(n_ch)]
    order = np.atleast_1d(getattr(eeg, "origTrialPosition", np.arange(1, len(trials) + 1))).astype(int)
    starts = np.cumsum([0] + [t.shape[0] for t in trials])
    raw = mne.io.RawArray(np.concatenate(trials).T * 1e-6, mne.create_info(names, fs, "eeg"), verbose="error")
    rows = [{"onset": starts[i] / fs, "duration": trials[i].shape[0] / fs, "kind": "sound",
             "stimulus": f"trial{order[i]}", "label": f"trial{order[i]}", "start": 0.0}
            for i in range(len(trials))]
    if stim_path is not None:
        smat = _loadmat(stim_path, "CND stimulus file")
        if "stim" not in smat:
            raise ValueError(f"{stim_path}: no struct 'stim'")
        stim = smat["stim"]
        feat_names = [str(n) for n in np.atleast_1d(stim.names)]
        sdata = np.asarray(stim.data, dtype=object).reshape(len(feat_names), -1)
        if sdata.shape[1] != len(trials):
            raise ValueError(f"{stim_path}: {sdata.shape[1]} stimulus trials but {len(trials)} EEG trials")
        sfs = float(stim.fs)
        if word_feature == "auto":
            word_feature = next((n for n in feat_names if "word" in n.lower()), None)
        if word_feature is not None:
            if word_feature not in feat_names:
                raise ValueError(f"{stim_path}: no feature {word_feature!r}; names are {feat_names}")
            k = feat_names.index(word_feature)
            for i in range(len(trials)):
                x = np.asarray(sdata[k, i], dtype=float).ravel()
                for j in np.flatnonzero(x):
                    rows.append({"onset": starts[i] / fs + j / sfs, "duration": 0.0, "kind": "word",
                                 "stimulus": f"trial{order[i]}", "label": f"{x[j]:g}", "start": j / sfs})
    return raw, Timeline(pd.DataFrame(rows), fs, raw.n_times, str(eeg_path))


__all__ = ["read_raw", "read_bids", "read_libribrain_h5", "read_broderick_eeg", "read_cnd",
           "check_sidecar", "SidecarMismatchError", "TimelineError"]
