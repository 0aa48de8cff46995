"""Stimulus timelines: which stimulus played when, in the recording's clock.

A :class:`Timeline` wraps one table of events with the columns

========== ==========================================================================
onset      seconds from the first sample of the recording (the recording's clock)
duration   seconds (0 for impulses)
kind       ``'sound'`` | ``'word'`` | ``'phone'``
stimulus   the id of the sound/story/segment the event belongs to; the id that an
           ActivationStore's ``stimulus`` coord names
label      the word, or the ARPAbet phone without stress (upper case)
sample     ``round(onset * sfreq)``, an int at the recording's sampling rate
========== ==========================================================================

plus any extra columns a format carries (``start`` = time inside the sound file,
``position`` = B/I/E/S for phones, ``sound_file``, ``condition``, ...).  'sound' rows are the
units by which model predictors are placed: predictor stimulus *i* starts at its 'sound' onset.

Parsers turn each real dataset's own event format into this table; they live in
:mod:`neurorrn.brain.events`.  This module holds the class and the checks (events outside the
recording, overlapping events, missing stimuli, audio onsets against triggers).
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import pandas as pd

from ..utils._check import check_option, check_positive
from ..utils._logging import warn
from ._vocab import KIND_CODES, TimelineError, normalize_phone  # noqa: F401 - re-exported

KINDS = ("sound", "word", "phone")
COLUMNS = ("onset", "duration", "kind", "stimulus", "label", "sample")


class Timeline:
    """Events of one recording in its own clock.

    Parameters
    ----------
    events : pandas.DataFrame
        At least ``onset``, ``kind``, ``stimulus``, ``label``; ``duration`` defaults to 0 and
        ``sample`` is computed from ``sfreq``.  Extra columns are kept.
    sfreq : float
        Sampling rate of the recording (Hz).
    n_times : int | None
        Number of samples in the recording; when given, events must lie inside it.
    source : str
        Where the events came from (a file name), used in messages.

    Notes
    -----
    Onsets are relative to the first *sample* of the recording (not to ``meas_date``, the bug of
    mne-bids #235), so ``sample = round(onset * sfreq)`` indexes ``raw.get_data()`` directly.
    """

    def __init__(self, events: pd.DataFrame, sfreq: float, n_times: int | None = None,
                 source: str = "events"):
        check_positive(sfreq, "sfreq")
        self.sfreq = float(sfreq)
        self.n_times = None if n_times is None else int(n_times)
        self.source = str(source)
        self.events = self._normalize(events)
        if self.n_times is not None:
            self.check_inside(self.n_times)

    # ------------------------------------------------------------------ construction
    def _normalize(self, events: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(events, pd.DataFrame):
            raise TypeError(f"{self.source}: events must be a pandas DataFrame, got {type(events).__name__}")
        df = events.copy()
        missing = [c for c in ("onset", "kind", "stimulus", "label") if c not in df.columns]
        if missing:
            raise TimelineError(
                f"{self.source}: event table lacks column(s) {missing}; it has {list(df.columns)}. "
                f"A timeline needs {list(COLUMNS)}"
            )
        if "duration" not in df.columns:
            df["duration"] = 0.0
        df["onset"] = pd.to_numeric(df["onset"], errors="coerce").astype(float)
        df["duration"] = pd.to_numeric(df["duration"], errors="coerce").fillna(0.0).astype(float)
        bad = df.index[~np.isfinite(df["onset"].to_numpy())]
        if len(bad):
            row = df.loc[bad[0]]
            raise TimelineError(
                f"{self.source}: {len(bad)} event(s) have no valid onset (n/a or NaN); first: "
                f"kind={row['kind']!r} label={row['label']!r} stimulus={row['stimulus']!r}"
            )
        kinds = set(df["kind"].unique())
        unknown = kinds - set(KINDS)
        if unknown:
            raise TimelineError(f"{self.source}: unknown event kind(s) {sorted(unknown)}; allowed: {list(KINDS)}")
        df["stimulus"] = df["stimulus"].astype(str)
        df["label"] = df["label"].astype(str)
        df["kind"] = df["kind"].astype(str)
        df["sample"] = np.round(df["onset"].to_numpy() * self.sfreq).astype(np.int64)
        order = {k: i for i, k in enumerate(KINDS)}
        df["_k"] = df["kind"].map(order)
        df = df.sort_values(["onset", "_k"], kind="stable").drop(columns="_k").reset_index(drop=True)
        first = [c for c in COLUMNS]
        return df[first + [c for c in df.columns if c not in first]]

    def copy(self) -> "Timeline":
        return Timeline(self.events, self.sfreq, self.n_times, self.source)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.events)

    def __repr__(self) -> str:
        counts = self.events["kind"].value_counts().to_dict()
        parts = ", ".join(f"{counts.get(k, 0)} {k}s" for k in KINDS)
        return f"<Timeline | {parts} | sfreq {self.sfreq:g} Hz | {self.source}>"

    def select(self, kind: str | None = None, stimulus=None) -> pd.DataFrame:
        """Rows of one kind and/or some stimuli (a copy)."""
        df = self.events
        if kind is not None:
            check_option(kind, KINDS, "kind")
            df = df[df["kind"] == kind]
        if stimulus is not None:
            ids = [stimulus] if isinstance(stimulus, str) else list(stimulus)
            df = df[df["stimulus"].isin(ids)]
        return df.reset_index(drop=True)

    @property
    def sounds(self) -> pd.DataFrame:
        return self.select("sound")

    @property
    def words(self) -> pd.DataFrame:
        return self.select("word")

    @property
    def phones(self) -> pd.DataFrame:
        return self.select("phone")

    @property
    def stimuli(self) -> list[str]:
        """Stimulus ids in order of first appearance."""
        return list(dict.fromkeys(self.events["stimulus"]))

    def sound_onsets(self) -> dict[str, float]:
        """``{stimulus: onset}`` of the 'sound' rows (the first one if a sound repeats)."""
        s = self.sounds.drop_duplicates("stimulus")
        return dict(zip(s["stimulus"], s["onset"].astype(float)))

    def to_alignments(self) -> pd.DataFrame:
        """Word and phone intervals relative to their sound's onset, in the store's alignment format.

        Columns ``stimulus, tier, label, start, end``; events of a stimulus with no 'sound' row
        are skipped (a :class:`NeurorrnWarning` names them).
        """
        onsets = self.sound_onsets()
        rows = self.events[self.events["kind"].isin(("word", "phone"))]
        lost = sorted(set(rows["stimulus"]) - set(onsets))
        if lost:
            warn(f"{self.source}: no 'sound' row for stimulus/stimuli {lost}; their words and phones are "
                 "left out of the alignments")
        rows = rows[rows["stimulus"].isin(list(onsets))]
        start = rows["onset"].to_numpy() - rows["stimulus"].map(onsets).to_numpy(dtype=float)
        return pd.DataFrame({
            "stimulus": rows["stimulus"].to_numpy(), "tier": rows["kind"].to_numpy(),
            "label": rows["label"].to_numpy(), "start": start, "end": start + rows["duration"].to_numpy(),
        }).reset_index(drop=True)

    def shift(self, seconds: float) -> "Timeline":
        """A new timeline with every onset moved by ``seconds`` (e.g. after cropping the recording)."""
        df = self.events.copy()
        df["onset"] = df["onset"] + float(seconds)
        return Timeline(df, self.sfreq, None, self.source)

    def resample(self, sfreq: float, n_times: int | None = None) -> "Timeline":
        """The same events with ``sample`` recomputed at a new rate."""
        return Timeline(self.events, sfreq, n_times, self.source)

    # ------------------------------------------------------------------ checks
    def check_inside(self, n_times: int, sfreq: float | None = None) -> None:
        """Raise :class:`TimelineError` naming the first event that starts outside the recording."""
        sfreq = self.sfreq if sfreq is None else float(sfreq)
        duration = n_times / sfreq
        ev = self.events
        outside = ev[(ev["onset"] < 0) | (ev["onset"] >= duration)]
        if len(outside):
            r = outside.iloc[0]
            raise TimelineError(
                f"{self.source}: {len(outside)} event(s) lie outside the recording "
                f"(0 to {duration:.3f} s, {n_times} samples at {sfreq:g} Hz); first: "
                f"{r['kind']} {r['label']!r} of stimulus {r['stimulus']!r} at onset {r['onset']:.4f} s"
            )

    def check_overlaps(self, kinds: Iterable[str] = ("sound", "word"), tolerance: float = 1e-3,
                       on_overlap: str = "raise") -> pd.DataFrame:
        """Find events of one kind that start before the previous one ended.

        Parameters
        ----------
        kinds : iterable of str
            Kinds to check (phones overlapping inside a word are normal in some aligners, so
            they are not checked by default).
        tolerance : float
            Seconds of overlap allowed (rounding in the source files).
        on_overlap : 'raise' | 'warn' | 'ignore'

        Returns
        -------
        overlaps : DataFrame
            One row per offending event with ``kind, label, stimulus, onset, previous_end``.
        """
        check_option(on_overlap, ("raise", "warn", "ignore"), "on_overlap")
        found = []
        for kind in kinds:
            check_option(kind, KINDS, "kinds")
            df = self.select(kind)
            if len(df) < 2:
                continue
            ends = (df["onset"] + df["duration"]).to_numpy()
            prev_end = np.maximum.accumulate(ends)[:-1]
            bad = np.flatnonzero(df["onset"].to_numpy()[1:] < prev_end - tolerance) + 1
            for i in bad:
                found.append({"kind": kind, "label": df.at[i, "label"], "stimulus": df.at[i, "stimulus"],
                              "onset": float(df.at[i, "onset"]), "previous_end": float(prev_end[i - 1])})
        out = pd.DataFrame(found, columns=["kind", "label", "stimulus", "onset", "previous_end"])
        if len(out) and on_overlap != "ignore":
            r = out.iloc[0]
            msg = (f"{self.source}: {len(out)} overlapping event(s); first: {r['kind']} {r['label']!r} of "
                   f"stimulus {r['stimulus']!r} starts at {r['onset']:.4f} s before the previous "
                   f"{r['kind']} ends at {r['previous_end']:.4f} s")
            if on_overlap == "raise":
                raise TimelineError(msg)
            warn(msg)
        return out

    def check_stimuli(self, available: Iterable[str], on_missing: str = "raise") -> list[str]:
        """Check that every stimulus of the timeline is among ``available`` (e.g. a store's ids).

        Returns the missing ids; raises (or warns) naming them and close matches.
        """
        import difflib

        check_option(on_missing, ("raise", "warn", "ignore"), "on_missing")
        avail = [str(a) for a in available]
        missing = [s for s in self.stimuli if s not in set(avail)]
        if missing and on_missing != "ignore":
            hint = difflib.get_close_matches(missing[0], avail, n=1)
            msg = (f"{self.source}: {len(missing)} stimulus id(s) of the timeline are missing: "
                   f"{missing[:10]}{' ...' if len(missing) > 10 else ''}"
                   + (f". Did you mean {hint[0]!r} for {missing[0]!r}?" if hint else ""))
            if on_missing == "raise":
                raise TimelineError(msg)
            warn(msg)
        return missing

    def check_triggers(self, trigger_onsets, tolerance: float = 0.02, on_mismatch: str = "raise",
                       max_lag: float = 1.0) -> pd.DataFrame:
        """Compare each 'sound' onset with the nearest trigger.

        Parameters
        ----------
        trigger_onsets : array of float
            Trigger times (s, recording clock), e.g. ``find_events(raw)[:, 0] / sfreq`` or the
            onsets found by :func:`audio_onsets` on a recorded audio channel.
        tolerance : float
            Largest allowed |sound onset - trigger| in seconds.
        on_mismatch : 'raise' | 'warn' | 'ignore'
        max_lag : float
            A sound with no trigger within ``max_lag`` seconds counts as having none.

        Returns
        -------
        table : DataFrame
            ``stimulus, onset, trigger, delay`` for every sound (``trigger`` NaN when absent).
        """
        check_option(on_mismatch, ("raise", "warn", "ignore"), "on_mismatch")
        trig = np.sort(np.asarray(trigger_onsets, dtype=float).ravel())
        sounds = self.sounds
        rows = []
        for stim, onset in zip(sounds["stimulus"], sounds["onset"]):
            if trig.size:
                j = int(np.argmin(np.abs(trig - onset)))
                t = trig[j] if abs(trig[j] - onset) <= max_lag else np.nan
            else:
                t = np.nan
            rows.append({"stimulus": stim, "onset": float(onset), "trigger": t, "delay": t - onset})
        out = pd.DataFrame(rows, columns=["stimulus", "onset", "trigger", "delay"])
        bad = out[~(np.abs(out["delay"]) <= tolerance)]
        if len(bad) and on_mismatch != "ignore":
            r = bad.iloc[0]
            what = ("has no trigger within %.3g s" % max_lag) if np.isnan(r["trigger"]) else (
                f"is {r['delay'] * 1e3:+.1f} ms from its trigger at {r['trigger']:.4f} s")
            msg = (f"{self.source}: {len(bad)} sound onset(s) disagree with the triggers (tolerance "
                   f"{tolerance * 1e3:g} ms); first: sound {r['stimulus']!r} at {r['onset']:.4f} s {what}")
            if on_mismatch == "raise":
                raise TimelineError(msg)
            warn(msg)
        return out

    def check_consistency(self, tolerance: float = 0.002, on_mismatch: str = "raise") -> pd.DataFrame:
        """Where rows carry ``start`` (time inside the sound), check ``onset == sound onset + start``.

        MEG-MASC word and phone rows give both clocks; a disagreement means a wrong sound onset.
        """
        check_option(on_mismatch, ("raise", "warn", "ignore"), "on_mismatch")
        if "start" not in self.events.columns:
            return pd.DataFrame(columns=["kind", "label", "stimulus", "onset", "expected"])
        onsets = self.sound_onsets()
        rows = self.events[self.events["kind"].isin(("word", "phone")) & self.events["stimulus"].isin(list(onsets))]
        rows = rows[pd.to_numeric(rows["start"], errors="coerce").notna()]
        expected = rows["stimulus"].map(onsets).astype(float) + rows["start"].astype(float)
        bad = rows[np.abs(rows["onset"] - expected) > tolerance]
        out = pd.DataFrame({"kind": bad["kind"], "label": bad["label"], "stimulus": bad["stimulus"],
                            "onset": bad["onset"], "expected": expected[bad.index]}).reset_index(drop=True)
        if len(out) and on_mismatch != "ignore":
            r = out.iloc[0]
            msg = (f"{self.source}: {len(out)} event(s) disagree with their sound's onset + start "
                   f"(tolerance {tolerance * 1e3:g} ms); first: {r['kind']} {r['label']!r} of {r['stimulus']!r} "
                   f"at {r['onset']:.4f} s, expected {r['expected']:.4f} s")
            if on_mismatch == "raise":
                raise TimelineError(msg)
            warn(msg)
        return out

    # ------------------------------------------------------------------ output
    def to_megmasc_events(self, story: str | None = None) -> pd.DataFrame:
        """BIDS ``events.tsv`` rows in the MEG-MASC style (dict strings in ``trial_type``).

        Sound rows name ``stimuli/audio/<stimulus>.0.wav`` when the id ends in ``_<int>`` (the
        float-formatted ``sound_id`` of MEG-MASC), word and phone rows ``<stimulus>.wav``; each
        dict also carries our ``stimulus`` id so ids that do not follow the pattern survive.
        Phones are written in lower case with their ``_B/_I/_E/_S`` position suffix.
        """
        onsets = self.sound_onsets()
        out = []
        for r in self.events.itertuples(index=False):
            stim = r.stimulus
            m = re.match(r"^(.*)_(\d+)$", stim)
            st, sid = (m.group(1), int(m.group(2))) if m else (stim, 0)
            st = story or st
            d = {"story": st, "sound_id": sid, "kind": "phoneme" if r.kind == "phone" else r.kind,
                 "stimulus": stim}
            if r.kind == "sound":
                d["start"] = 0.0
                d["sound"] = f"stimuli/audio/{stim}.0.wav" if m else f"stimuli/audio/{stim}.wav"
            else:
                d["start"] = round(float(r.onset - onsets.get(stim, np.nan)), 6)
                d["sound"] = f"stimuli/audio/{stim}.wav"
                if r.kind == "word":
                    d["word"] = r.label
                else:
                    pos = getattr(r, "position", "") or ""
                    d["phoneme"] = r.label.lower() + (f"_{pos}" if pos else "")
            out.append({"onset": round(float(r.onset), 6), "duration": round(float(r.duration), 6),
                        "trial_type": repr(d), "value": KIND_CODES[r.kind], "sample": int(r.sample)})
        return pd.DataFrame(out, columns=["onset", "duration", "trial_type", "value", "sample"])


def audio_onsets(signal, sfreq: float, threshold: float = 0.2, min_gap: float = 0.5) -> np.ndarray:
    """Onsets (s) where a recorded audio or trigger channel rises above ``threshold`` × its max.

    A sound counts once until the channel has stayed below threshold for ``min_gap`` seconds.
    Useful to check sound rows against an audio channel (Brennan & Hale's ``Aux5``/``AUD``).
    """
    x = np.abs(np.asarray(signal, dtype=float).ravel())
    if x.size == 0 or x.max() == 0:
        return np.zeros(0)
    above = x > threshold * x.max()
    idx = np.flatnonzero(above)
    if idx.size == 0:
        return np.zeros(0)
    gap = int(round(min_gap * sfreq))
    keep = np.concatenate([[True], np.diff(idx) > gap])
    return idx[keep] / float(sfreq)
