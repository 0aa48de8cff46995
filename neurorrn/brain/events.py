"""Parsers from each dataset's own event format to a :class:`~neurorrn.brain.timeline.Timeline`.

========================= ==============================================================================
format                    source (see ``data_manifests/`` and ``docs/brain.md``)
========================= ==============================================================================
``megmasc``               MEG-MASC / Gwilliams 2022 BIDS ``events.tsv``: ``trial_type`` holds a Python-literal
                          dict (``kind`` sound/word/phoneme, ``story``, ``sound``, ``start``, ``word`` or
                          ``phoneme``...) parsed with :func:`ast.literal_eval` (never ``eval``).
``armeni``                Armeni et al. 2022 BIDS ``events.tsv``: ``type`` in ``wav_onset``,
                          ``word_onset_NN``, ``phoneme_onset_NN``; ``value`` holds the (quoted) word or
                          ARPAbet phone with stress digit.
``libribrain``            LibriBrain (pnpl) ``events.tsv``: ``kind``, ``segment``, ``timemeg``, ``duration``.
``bids``                  plain BIDS ``events.tsv``: ``onset``, ``duration``, ``trial_type`` (``sound``,
                          ``word``, ``phone``/``phoneme``, or ``word/<label>``), ``value``, ``stim_file``.
broderick                 Broderick et al. 2018 ``Stimuli/Text/Run{n}.mat`` (``wordVec``, ``onset_time``,
                          ``offset_time``) - :func:`read_broderick_run`.
alice                     Brennan & Hale 2019 ``AliceChapterOne-EEG.csv`` (``Word``, ``Segment``, ``onset``,
                          ``offset``) with segment onsets from the recording - :func:`read_alice_events`.
cnd                       CNSP Continuous-event Neural Data ``dataSub*.mat`` / ``dataStim.mat`` -
                          :func:`neurorrn.brain.io.read_cnd`.
========================= ==============================================================================
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils._check import check_option, check_path
from ..utils._logging import warn
from ._vocab import KIND_CODES, SILENCE_LABELS, TimelineError, normalize_phone  # noqa: F401 - re-exported
from .timeline import Timeline

EVENT_FORMATS = ("auto", "megmasc", "armeni", "libribrain", "bids")


def _read_tsv(path) -> pd.DataFrame:
    path = check_path(path, "events file", must_exist=True, kind="file")
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except UnicodeDecodeError:
        raise TimelineError(f"{path}: not a text (UTF-8) events table; is it a binary file?") from None
    except pd.errors.EmptyDataError:
        raise TimelineError(f"{path}: the events table is empty") from None
    except pd.errors.ParserError as err:  # ragged rows: "Expected 3 fields in line 5, saw 4"
        raise TimelineError(f"{path}: not a well-formed tab-separated table: {err}") from None


def _num(series: pd.Series, name: str, source: str) -> np.ndarray:
    """A numeric column; 'n/a' and '' become NaN.  Text that is not a number raises, naming it."""
    s = series.replace({"n/a": np.nan, "": np.nan})
    vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(vals) & s.notna().to_numpy())
    if bad.size:
        raise TimelineError(f"{source}: column {name!r} row {bad[0] + 1} is not a number: {series.iloc[bad[0]]!r}")
    return vals


def _finish(df: pd.DataFrame, sfreq: float, n_times, source: str, drop_outside: bool) -> Timeline:
    for col in ("onset", "duration"):
        if col in df.columns:
            vals = df[col].to_numpy(dtype=float)
            # BIDS allows an unknown duration ('n/a' -> NaN), never a negative one
            bad = np.flatnonzero(np.isinf(vals) | (vals < 0)) if col == "duration" else \
                np.flatnonzero(~np.isfinite(vals))
            if bad.size:
                r = df.iloc[bad[0]]
                raise TimelineError(f"{source}: {r['kind']} event {r['label']!r} (event {bad[0] + 1}) has {col} "
                                    f"{float(vals[bad[0]]):g}; {col}s must be " + (">= 0 (or n/a)" if col == "duration"
                                                                              else "finite numbers"))
    if drop_outside and n_times is not None:
        dur = n_times / float(sfreq)
        out = (df["onset"] < 0) | (df["onset"] >= dur)
        if out.any():
            first = df[out].iloc[0]
            warn(f"{source}: dropped {int(out.sum())} event(s) outside the recording (0 to {dur:.3f} s); "
                 f"first: {first['kind']} {first['label']!r} at {first['onset']:.4f} s")
            df = df[~out]
    return Timeline(df.reset_index(drop=True), sfreq, n_times, source)


def detect_format(df: pd.DataFrame) -> str:
    """Guess the event format of a BIDS-like table from its columns and values."""
    cols = set(df.columns)
    if {"kind", "segment", "timemeg"} <= cols:
        return "libribrain"
    if "type" in cols and df["type"].astype(str).str.match(r"^(wav_onset|word_onset|phoneme_onset)").any():
        return "armeni"
    if "trial_type" in cols and df["trial_type"].astype(str).str.lstrip().str.startswith("{").any():
        return "megmasc"
    if "trial_type" in cols:
        return "bids"
    raise TimelineError(
        f"cannot tell the event format from columns {sorted(cols)}: expected MEG-MASC (dict strings in "
        "'trial_type'), Armeni ('type' with word_onset_/phoneme_onset_/wav_onset), LibriBrain "
        "('kind', 'segment', 'timemeg') or plain BIDS ('trial_type')"
    )


def read_events(path_or_df, sfreq: float, n_times: int | None = None, fmt: str = "auto",
                drop_outside: bool = False, **kwargs) -> Timeline:
    """Read a BIDS-style ``events.tsv`` in any of the supported conventions.

    Parameters
    ----------
    path_or_df : path | DataFrame
        The ``events.tsv`` (read with pandas so no column is dropped, unlike mne-bids #848).
    sfreq : float
        The recording's sampling rate.
    n_times : int | None
        The recording's length in samples; events outside it raise :class:`TimelineError`.
    fmt : 'auto' | 'megmasc' | 'armeni' | 'libribrain' | 'bids'
    drop_outside : bool
        Drop events outside the recording with a warning instead of raising.
    **kwargs
        Passed to the format's parser.
    """
    check_option(fmt, EVENT_FORMATS, "fmt")
    if isinstance(path_or_df, pd.DataFrame):
        df, source = path_or_df.astype(str), kwargs.pop("source", "events")
    else:
        df, source = _read_tsv(path_or_df), str(path_or_df)
    if fmt == "auto":
        fmt = detect_format(df)
    parser = {"megmasc": parse_megmasc, "armeni": parse_armeni, "libribrain": parse_libribrain,
              "bids": parse_bids}[fmt]
    table = parser(df, source=source, **kwargs)
    tl = _finish(table, sfreq, n_times, source, drop_outside)
    if fmt == "megmasc":
        tl.check_consistency(on_mismatch="warn")
    return tl


# ---------------------------------------------------------------------------------------------
# MEG-MASC
# ---------------------------------------------------------------------------------------------
def megmasc_sound_id(sound_path: str) -> tuple[str, str]:
    """Normalise a MEG-MASC ``sound`` path: ``(stimulus id, wav path)``.

    Sound rows name ``stimuli/audio/cable_spool_fort_0.0.wav`` (a float-formatted ``sound_id``)
    where word and phoneme rows name ``..._0.wav``; both give ``('cable_spool_fort_0',
    'stimuli/audio/cable_spool_fort_0.wav')``.
    """
    p = str(sound_path).strip()
    p = re.sub(r"_(\d+)\.0(\.wav)$", r"_\1\2", p, flags=re.IGNORECASE)
    return Path(p).stem, p


def parse_megmasc(df: pd.DataFrame, source: str = "events") -> pd.DataFrame:
    """Rows of a MEG-MASC ``events.tsv`` as a timeline table (see module docstring)."""
    if "trial_type" not in df.columns or "onset" not in df.columns:
        raise TimelineError(f"{source}: a MEG-MASC events.tsv needs 'onset' and 'trial_type' columns, "
                            f"got {list(df.columns)}")
    onset = _num(df["onset"], "onset", source)
    dur = _num(df["duration"], "duration", source) if "duration" in df.columns else np.zeros(len(df))
    rows = []
    for i, text in enumerate(df["trial_type"].astype(str)):
        try:
            d = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as err:
            raise TimelineError(f"{source}: row {i + 1}: trial_type is not a Python-literal dict "
                                f"({type(err).__name__}): {text[:80]!r}") from None
        if not isinstance(d, dict):
            raise TimelineError(f"{source}: row {i + 1}: trial_type parsed to {type(d).__name__}, expected a dict: "
                                f"{text[:80]!r}")
        kind = {"sound": "sound", "word": "word", "phoneme": "phone"}.get(str(d.get("kind", "")))
        if kind is None:
            continue  # other annotation kinds (e.g. block markers) are not timeline events
        if "sound" not in d and "stimulus" not in d:
            raise TimelineError(f"{source}: row {i + 1}: {d.get('kind')} event has no 'sound' key: {text[:80]!r}")
        stim, wav = megmasc_sound_id(d.get("sound", ""))
        stim = str(d.get("stimulus", stim))
        pos = ""
        if kind == "sound":
            label = stim
        elif kind == "word":
            if "word" not in d:
                raise TimelineError(f"{source}: row {i + 1}: word event without a 'word' key: {text[:80]!r}")
            label = str(d["word"])
        else:
            if "phoneme" not in d:
                raise TimelineError(f"{source}: row {i + 1}: phoneme event without a 'phoneme' key: {text[:80]!r}")
            label, pos = normalize_phone(d["phoneme"])
        try:
            start = float(d.get("start", np.nan))
        except (TypeError, ValueError):
            raise TimelineError(f"{source}: row {i + 1}: trial_type 'start' is not a number: "
                                f"{d.get('start')!r:.40}") from None
        rows.append({
            "onset": onset[i], "duration": dur[i], "kind": kind, "stimulus": stim, "label": label,
            "position": pos, "start": start, "sound_file": wav,
            "story": str(d.get("story", "")), "condition": str(d.get("condition", "")),
            "word_index": d.get("word_index", np.nan), "voice": str(d.get("voice", "")),
            "speech_rate": d.get("speech_rate", np.nan),
        })
    out = pd.DataFrame(rows)
    if out.empty:
        raise TimelineError(f"{source}: no sound, word or phoneme events found")
    have = set(out.loc[out["kind"] == "sound", "stimulus"])
    lost = sorted(set(out["stimulus"]) - have)
    if lost:
        warn(f"{source}: word/phoneme events refer to sound(s) with no 'sound' row: {lost}; "
             "model predictors cannot be placed for them")
    return out


# ---------------------------------------------------------------------------------------------
# Armeni 2022 and LibriBrain
# ---------------------------------------------------------------------------------------------
def _strip_quotes(s: str) -> str:
    return str(s).strip().strip('"').strip("'").strip()


def _assign_sounds(df: pd.DataFrame, default: str) -> pd.DataFrame:
    """Give each word/phone the stimulus of the latest sound starting at or before it."""
    df = df.sort_values("onset", kind="stable").reset_index(drop=True)
    current = default
    stims = []
    for kind, stim in zip(df["kind"], df["stimulus"]):
        if kind == "sound":
            current = stim
        stims.append(stim if kind == "sound" else current)
    df["stimulus"] = stims
    return df


def parse_armeni(df: pd.DataFrame, source: str = "events", stimulus: str | None = None) -> pd.DataFrame:
    """Rows of an Armeni 2022 ``events.tsv``.

    ``wav_onset`` rows become sounds (their ``value`` names the wav, else ``stimulus`` or the file
    name is used); ``word_onset_*`` words; ``phoneme_onset_*`` phones with the stress digit
    removed (``AH0`` -> ``AH``); silence labels (``sp``, ``sil``) are dropped.
    """
    for c in ("onset", "type", "value"):
        if c not in df.columns:
            raise TimelineError(f"{source}: an Armeni events.tsv needs column {c!r}; it has {list(df.columns)}")
    default = stimulus or Path(source).name.replace("_events.tsv", "")
    onset = _num(df["onset"], "onset", source)
    dur = _num(df["duration"], "duration", source) if "duration" in df.columns else np.zeros(len(df))
    rows = []
    n_sound = 0
    for i, (typ, val) in enumerate(zip(df["type"].astype(str), df["value"].astype(str))):
        v = _strip_quotes(val)
        if typ.startswith("wav_onset"):
            name = re.sub(r"\.wav$", "", Path(v).name) if v and v.lower() not in ("n/a", "x") else (
                f"{default}_{n_sound}" if n_sound else default)
            n_sound += 1
            rows.append({"onset": onset[i], "duration": dur[i], "kind": "sound", "stimulus": name,
                         "label": name, "position": ""})
        elif typ.startswith("word_onset"):
            rows.append({"onset": onset[i], "duration": dur[i], "kind": "word", "stimulus": default,
                         "label": v, "position": ""})
        elif typ.startswith("phoneme_onset"):
            lab, pos = normalize_phone(v)
            if lab in SILENCE_LABELS:
                continue
            rows.append({"onset": onset[i], "duration": dur[i], "kind": "phone", "stimulus": default,
                         "label": lab, "position": pos})
    if not rows:
        raise TimelineError(f"{source}: no wav_onset, word_onset or phoneme_onset rows")
    return _assign_sounds(pd.DataFrame(rows), default)


def parse_libribrain(df: pd.DataFrame, source: str = "events", stimulus: str | None = None,
                     sound_onset: float | None = None) -> pd.DataFrame:
    """Rows of a LibriBrain (pnpl) ``events.tsv``: ``kind``, ``segment``, ``timemeg``, ``duration``.

    Words keep their ``segment`` text; phonemes lose the ``_B/_I/_E/_S`` suffix (kept in
    ``position``); ``sil``/``oov_S`` and non-word kinds (``silence``...) are dropped.  The
    events carry no audio onset, so one 'sound' row is added only when ``sound_onset`` (s, MEG
    clock) is given; ``stimulus`` defaults to the file name's ``task-..._run-...`` part.
    """
    for c in ("kind", "segment", "timemeg"):
        if c not in df.columns:
            raise TimelineError(f"{source}: a LibriBrain events.tsv needs column {c!r}; it has {list(df.columns)}")
    if stimulus is None:
        m = re.search(r"task-([^_]+)_run-([^_]+)", Path(source).name)
        stimulus = f"{m.group(1)}_run-{m.group(2)}" if m else Path(source).stem
    onset = _num(df["timemeg"], "timemeg", source)
    dur = _num(df["duration"], "duration", source) if "duration" in df.columns else np.zeros(len(df))
    rows = []
    if sound_onset is not None:
        rows.append({"onset": float(sound_onset), "duration": 0.0, "kind": "sound", "stimulus": stimulus,
                     "label": stimulus, "position": ""})
    for i, (kind, seg) in enumerate(zip(df["kind"].astype(str), df["segment"].astype(str))):
        if kind == "word":
            rows.append({"onset": onset[i], "duration": dur[i], "kind": "word", "stimulus": stimulus,
                         "label": seg, "position": ""})
        elif kind in ("phoneme", "phone"):
            lab, pos = normalize_phone(seg)
            if lab in SILENCE_LABELS:
                continue
            rows.append({"onset": onset[i], "duration": dur[i], "kind": "phone", "stimulus": stimulus,
                         "label": lab, "position": pos})
    if not rows:
        raise TimelineError(f"{source}: no word or phoneme rows")
    return pd.DataFrame(rows)


def parse_bids(df: pd.DataFrame, source: str = "events", stimulus: str | None = None) -> pd.DataFrame:
    """A plain BIDS ``events.tsv``.

    ``trial_type`` gives the kind: ``sound``/``word``/``phone``/``phoneme``, optionally as
    ``kind/label`` (``word/cat``); otherwise the label comes from ``value``.  Sound ids come from
    ``stim_file`` (the BIDS column), else ``value``.  Other trial types are ignored.
    """
    if "onset" not in df.columns or "trial_type" not in df.columns:
        raise TimelineError(f"{source}: a BIDS events.tsv needs 'onset' and 'trial_type'; it has {list(df.columns)}")
    default = stimulus or Path(source).name.replace("_events.tsv", "")
    onset = _num(df["onset"], "onset", source)
    dur = _num(df["duration"], "duration", source) if "duration" in df.columns else np.zeros(len(df))
    values = df["value"].astype(str) if "value" in df.columns else pd.Series([""] * len(df))
    stim_files = df["stim_file"].astype(str) if "stim_file" in df.columns else pd.Series([""] * len(df))
    rows = []
    for i, tt in enumerate(df["trial_type"].astype(str)):
        head, _, tail = tt.partition("/")
        kind = {"sound": "sound", "word": "word", "phone": "phone", "phoneme": "phone"}.get(head.strip().lower())
        if kind is None:
            continue
        label = tail or _strip_quotes(values.iloc[i])
        pos = ""
        if kind == "sound":
            sf = stim_files.iloc[i]
            label = Path(sf).stem if sf and sf != "n/a" else (label or default)
        elif kind == "phone":
            label, pos = normalize_phone(label)
        rows.append({"onset": onset[i], "duration": dur[i], "kind": kind, "stimulus": default,
                     "label": label, "position": pos})
        if kind == "sound":
            rows[-1]["stimulus"] = label
    if not rows:
        raise TimelineError(f"{source}: no sound/word/phone rows (trial_type values: "
                            f"{sorted(df['trial_type'].astype(str).unique())[:10]})")
    return _assign_sounds(pd.DataFrame(rows), default)


# ---------------------------------------------------------------------------------------------
# Broderick 2018 and Brennan & Hale (Alice)
# ---------------------------------------------------------------------------------------------
def _loadmat(path, name: str) -> dict:
    import scipy.io

    path = check_path(path, name, must_exist=True, kind="file")
    try:
        return scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except NotImplementedError:
        raise ValueError(f"{path}: a MATLAB v7.3 (HDF5) file; read it with h5py or re-save it as v7 "
                         "(save(..., '-v7')) to use this loader") from None


def read_broderick_run(path, sfreq: float = 128.0, n_times: int | None = None, run: int | None = None,
                       sound_onset: float = 0.0, drop_outside: bool = False) -> Timeline:
    """Words of one run of Broderick et al. 2018 (``Natural Speech/Stimuli/Text/Run{n}.mat``).

    The file holds ``wordVec`` (the words), ``onset_time`` and ``offset_time`` (s within the run's
    audio).  The EEG files ``Subject{S}_Run{n}.mat`` start at the audio onset, so the sound row is
    placed at ``sound_onset=0`` by default; the stimulus id is ``audio{n}`` as in the envelope
    files ``audio{n}_128Hz.mat``.  There are no phone alignments in the release.
    """
    mat = _loadmat(path, "Broderick Run file")
    for key in ("wordVec", "onset_time", "offset_time"):
        if key not in mat:
            raise TimelineError(f"{path}: missing variable {key!r}; found {sorted(k for k in mat if not k.startswith('__'))}")
    if run is None:
        m = re.search(r"Run(\d+)", Path(path).name, flags=re.IGNORECASE)
        if not m:
            raise ValueError(f"{path}: cannot read the run number from the file name; pass run=")
        run = int(m.group(1))
    words = [str(w).strip() for w in np.atleast_1d(mat["wordVec"])]
    on = np.atleast_1d(np.asarray(mat["onset_time"], dtype=float)).ravel()
    off = np.atleast_1d(np.asarray(mat["offset_time"], dtype=float)).ravel()
    if not (len(words) == len(on) == len(off)):
        raise TimelineError(f"{path}: wordVec ({len(words)}), onset_time ({len(on)}) and offset_time "
                            f"({len(off)}) differ in length")
    stim = f"audio{run}"
    rows = [{"onset": sound_onset, "duration": float(off.max()) if off.size else 0.0, "kind": "sound",
             "stimulus": stim, "label": stim, "start": 0.0}]
    rows += [{"onset": sound_onset + a, "duration": b - a, "kind": "word", "stimulus": stim, "label": w,
              "start": a} for w, a, b in zip(words, on, off)]
    return _finish(pd.DataFrame(rows), sfreq, n_times, str(path), drop_outside)


def alice_segment_onsets(raw) -> dict[str, float]:
    """Segment onsets from the annotations ``'1'``..``'12'`` of an Eelbrain Alice recording.

    Onsets are returned relative to the first sample.
    """
    out = {}
    for ann in raw.annotations:
        desc = str(ann["description"]).strip()
        if desc.isdigit():
            out.setdefault(desc, float(ann["onset"]) - raw.first_time)
    if not out:
        raise TimelineError("no numeric segment annotations ('1'..'12') in the recording")
    return out


def read_alice_events(csv_path, segment_onsets, sfreq: float, n_times: int | None = None,
                      drop_outside: bool = False) -> Timeline:
    """Words of Brennan & Hale's Alice from ``AliceChapterOne-EEG.csv``.

    Parameters
    ----------
    csv_path : path
        The word table (columns ``Word``, ``Segment``, ``onset``, ``offset``: seconds inside the
        segment's wav, ``DownTheRabbitHoleFinal_SoundFile{Segment}.wav`` / Eelbrain ``{Segment}.wav``).
    segment_onsets : dict | mne.io.Raw
        ``{segment: onset in the recording}``, or a Raw with annotations ``'1'``..``'12'``
        (Eelbrain's ``S??_alice-raw.fif``).
    sfreq, n_times : see :class:`Timeline`.

    A segment of the CSV without an onset raises, naming it (e.g. the subjects whose first
    trigger is missing: S26, S34, S35, S36).
    """
    path = check_path(csv_path, "Alice word CSV", must_exist=True, kind="file")
    df = pd.read_csv(path)
    for c in ("Word", "Segment", "onset"):
        if c not in df.columns:
            raise TimelineError(f"{path}: missing column {c!r}; it has {list(df.columns)}")
    if not isinstance(segment_onsets, dict):
        segment_onsets = alice_segment_onsets(segment_onsets)
    seg_on = {str(int(float(k))): float(v) for k, v in segment_onsets.items()}
    segs = [str(int(s)) for s in df["Segment"]]
    missing = sorted(set(segs) - set(seg_on), key=int)
    if missing:
        raise TimelineError(f"{path}: no onset for segment(s) {missing} (have {sorted(seg_on, key=int)}); "
                            "was a trigger missed?")
    off = df["offset"].to_numpy(dtype=float) if "offset" in df.columns else df["onset"].to_numpy(dtype=float)
    rows = []
    for seg in dict.fromkeys(segs):
        sel = np.array([s == seg for s in segs])
        rows.append({"onset": seg_on[seg], "duration": float(off[sel].max()), "kind": "sound",
                     "stimulus": seg, "label": seg, "start": 0.0,
                     "sound_file": f"DownTheRabbitHoleFinal_SoundFile{seg}.wav"})
    for w, seg, on, of in zip(df["Word"].astype(str), segs, df["onset"].astype(float), off):
        rows.append({"onset": seg_on[seg] + on, "duration": of - on, "kind": "word", "stimulus": seg,
                     "label": w, "start": on, "sound_file": f"DownTheRabbitHoleFinal_SoundFile{seg}.wav"})
    return _finish(pd.DataFrame(rows), sfreq, n_times, str(path), drop_outside)
