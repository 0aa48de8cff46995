"""Per-(subject, model, layer) analysis tasks that :func:`neurorrn.pipeline.distributed.fan_out`
runs serially or on dask workers.

A task is a JSON-able dict (paths as strings); it reads its inputs from disk and returns an
:class:`xarray.Dataset` of fixed layout (the numbers that are compared across tasks), and writes
its larger, layer-specific outputs (TRF kernels, PSI maps) as netCDF files into
``task["side_dir"]``.

Encoding (:func:`encode_task`) follows Brodbeck et al. (2025): two TRF models of the M/EEG at each
sensor, an acoustic baseline and the baseline plus model-unit predictors, placed on the
recording's continuous time axis (zero in silences), fitted with the same lags and with the ridge
penalty chosen by inner cross-validation, and compared by their explained variance on held-out
contiguous blocks of the recording (outer folds; the penalty is chosen without the test block).  The gain ΔR² = R²(full) − R²(baseline) is what the model units add.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurorrn.utils._logging import logger

#: Prefix of model-unit predictor names in TRF results (acoustic predictors have none).
UNIT_PREFIX = "units:"


# ------------------------------------------------------------------------------ predictors
def _resample(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    """Resample frames (axis 0) between rates; identity when equal."""
    if abs(rate_in - rate_out) < 1e-9 * rate_out:
        return x
    from fractions import Fraction

    from scipy.signal import resample_poly

    fr = Fraction(rate_out / rate_in).limit_denominator(1000)
    return resample_poly(x, fr.numerator, fr.denominator, axis=0)


def unit_predictors(store_path, layer: str | None, kind: str, n_components: int, sfreq: float,
                    random_state: int = 0) -> dict[str, np.ndarray]:
    """Model-unit predictors of every stimulus of a store, at ``sfreq``.

    Parameters
    ----------
    store_path : path
        ActivationStore of the experiment's stimuli.
    layer : str | None
        Units of this layer (all when None).
    kind : {"units", "pca", "magnitude", "change"}
        ``units``: every unit; ``pca``: the first ``n_components`` principal components of the
        units' time courses pooled over stimuli; ``magnitude``: Σ|h| (Brodbeck et al. 2025);
        ``change``: Σ max(Δ|h|, 0).  ``kmeans`` uses :func:`neurorrn.probing.clustering.kmeans_units`
        and the mean |h| of each cluster.
    n_components : int
    sfreq : float
        Output rate (the brain data's analysis rate).

    Returns
    -------
    dict of stimulus id to array of shape (n_frames_at_sfreq, n_predictors)
    """
    from neurorrn.store import iter_stimuli, open_store, select

    with open_store(store_path) as ds:
        sub = select(ds, layer=layer) if layer is not None else ds
        fr = float(ds.attrs["frame_rate"])
        if kind == "kmeans":
            from neurorrn.probing.clustering import cluster_time_courses, kmeans_units

            clusters = kmeans_units(sub, n_clusters=n_components, random_state=random_state)
            tc = cluster_time_courses(sub, clusters)
            out = {}
            for s in tc["stimulus"].values:
                x = tc.sel(stimulus=s).transpose("time", ...).values
                n = int(sub["n_frames"].sel(stimulus=s))
                out[str(s)] = _resample(np.nan_to_num(x[:n]), fr, sfreq)
            return out
        acts = {sid: np.asarray(a, np.float64) for sid, a in iter_stimuli(sub)}
    if kind == "units":
        feats = acts
    elif kind == "magnitude":
        feats = {s: np.abs(a).sum(1, keepdims=True) for s, a in acts.items()}
    elif kind == "change":
        feats = {s: np.maximum(np.diff(np.abs(a), axis=0, prepend=np.abs(a[:1])), 0).sum(1, keepdims=True)
                 for s, a in acts.items()}
    elif kind == "pca":
        from sklearn.decomposition import PCA

        pooled = np.concatenate(list(acts.values()), axis=0)
        k = int(min(n_components, pooled.shape[1], pooled.shape[0]))
        pca = PCA(n_components=k, svd_solver="full").fit(pooled)
        feats = {s: pca.transform(a) for s, a in acts.items()}
    else:
        raise ValueError(f"unknown units_kind {kind!r}; allowed: 'units', 'pca', 'magnitude', 'change', 'kmeans'")
    return {s: _resample(f, fr, sfreq) for s, f in feats.items()}


def acoustic_predictors(stim_dir, stimuli, names, sfreq: float, gammatone_bands: int = 8) -> dict[str, np.ndarray]:
    """Acoustic baseline predictors of each stimulus wav in ``stim_dir``, at ``sfreq``.

    ``envelope`` (broadband RMS), ``onsets`` (its half-wave rectified derivative),
    ``hilbert_envelope`` / ``hilbert_onsets`` (|Hilbert| low-passed at 30 Hz and its half-wave
    rectified derivative: the simulator's definition, :func:`neurorrn.brain.simulate.envelope`) and ``gammatone``
    (``gammatone_bands`` log gammatone bands, 50 Hz–8 kHz, plus their half-wave rectified
    derivatives), all computed with :mod:`neurorrn.speech.features`.
    """
    from neurorrn.speech import read_audio
    from neurorrn.speech.features import envelope, gammatone_spectrogram, onsets

    out = {}
    for s in stimuli:
        audio, sr = read_audio(Path(stim_dir) / f"{s}.wav", name=s)
        cols = []
        for n in names:
            if n == "envelope":
                cols.append(envelope(audio, sr, frame_rate=sfreq))
            elif n == "onsets":
                cols.append(onsets(audio, sr, frame_rate=sfreq))
            elif n in ("hilbert_envelope", "hilbert_onsets"):
                from neurorrn.brain.simulate import envelope as hilbert_envelope

                e = hilbert_envelope(np.asarray(audio, np.float64), sr, sfreq)[:, None]
                cols.append(e if n == "hilbert_envelope" else np.maximum(np.diff(e, axis=0, prepend=e[:1]), 0))
            elif n == "gammatone":
                g = gammatone_spectrogram(audio, sr, n_bands=gammatone_bands, fmax=min(8000.0, sr / 2 * 0.9),
                                          frame_rate=sfreq, log=True)
                cols += [g, np.maximum(np.diff(g, axis=0, prepend=g[:1]), 0)]
            else:
                raise ValueError(f"unknown baseline predictor {n!r}; allowed: envelope, onsets, "
                                 "hilbert_envelope, hilbert_onsets, gammatone")
        n_min = min(c.shape[0] for c in cols)
        out[str(s)] = np.concatenate([c[:n_min] for c in cols], axis=1).astype(np.float64)
    return out


def continuous_design(raw, timeline, predictors: dict, sfreq: float, n_blocks: int, margin: float = 1.0):
    """Predictors placed on the recording's own time axis, and the recording cut into blocks.

    Every played stimulus's predictors start at its sound onset; elsewhere (silences) they are
    zero, as in a continuous-speech analysis (so a predictor that is non-zero throughout a sound
    also carries its onset and offset).  The span from ``margin`` s before the first sound to
    ``margin`` s after the last is cut into ``n_blocks`` contiguous blocks, which serve as the
    segments of the TRF (no lag reaches across a cut) and as cross-validation folds.

    Returns
    -------
    X, Y : list of arrays (n_times_b, n_features) / (n_times_b, n_sensors), one per block.
    """
    sounds = timeline.select("sound")
    missing = sorted(set(sounds["stimulus"]) - set(predictors))
    if missing:
        raise KeyError(f"the recording plays stimuli that have no model predictors: {missing[:5]} "
                       f"(predictors exist for {sorted(predictors)[:5]}...)")
    data = raw.get_data()
    n_feat = next(iter(predictors.values())).shape[1]
    X = np.zeros((data.shape[1], n_feat))
    first, last = data.shape[1], 0
    for r in sounds.itertuples():
        n0 = int(round(r.onset * sfreq))
        p = predictors[r.stimulus][: max(0, data.shape[1] - n0)]
        X[n0:n0 + len(p)] += p
        first, last = min(first, n0), max(last, n0 + len(p))
    a = max(0, first - int(margin * sfreq))
    b = min(data.shape[1], last + int(margin * sfreq))
    edges = np.linspace(a, b, int(n_blocks) + 1).round().astype(int)
    return ([X[edges[i]:edges[i + 1]] for i in range(n_blocks)],
            [data[:, edges[i]:edges[i + 1]].T for i in range(n_blocks)])


def _outer_folds(n_segments: int, cv: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Contiguous groups of whole segments (at least 2 folds)."""
    k = int(max(2, min(cv, n_segments)))
    if n_segments < 2:
        raise ValueError(f"cross-validated encoding needs at least 2 stimulus segments, got {n_segments}")
    groups = np.array_split(np.arange(n_segments), k)
    return [(np.setdiff1d(np.arange(n_segments), g), g) for g in groups]


def _make_trf(tmin, tmax, sfreq, alphas, cv, bands=None, alpha_rule="1se"):
    """A TRF with z-scored predictors; with ``bands`` a BandedTRF (one penalty per feature space)."""
    from neurorrn.encoding import TRF, BandedTRF

    kw = dict(tmin=tmin, tmax=tmax, sfreq=sfreq, alpha=alphas, cv=cv, scoring="r2", standardize=True,
              alpha_rule=alpha_rule)
    if bands is not None and len(bands) > 1:
        return BandedTRF(bands=list(bands), n_iter=10, random_state=0, **kw)
    return TRF(**kw)


def cross_validated_r2(X: list, Y: list, *, tmin, tmax, sfreq, alphas, cv: int,
                       bands=None, alpha_rule: str = "1se", return_predictions: bool = False):
    """Held-out R² per target with nested CV: outer folds of whole segments; the TRF's ridge
    penalty chosen per target by inner contiguous CV on the training segments only.

    ``bands`` (sizes of consecutive feature spaces) fits a :class:`~neurorrn.encoding.BandedTRF`
    instead, with one penalty per feature space (so adding many unit predictors does not force a
    stronger penalty on the acoustic ones).

    Returns
    -------
    r2 : array of shape (n_targets,)
        ``1 - SSE / SST`` over all held-out samples pooled (SST about the held-out mean).
    alpha : array of shape (n_folds, n_targets)
    predictions : list of arrays like ``Y``
        Only with ``return_predictions``: each segment predicted by the model of the outer fold
        that held it out (what :func:`neurorrn.encoding.held_out_shift_null` tests).
    """
    n_t = Y[0].shape[1]
    sse, yy, ys, n = np.zeros(n_t), np.zeros(n_t), np.zeros(n_t), 0
    used = []
    preds: list = [None] * len(Y)
    for tr, te in _outer_folds(len(X), cv):
        inner = int(max(2, min(cv, len(tr))))
        m = _make_trf(tmin, tmax, sfreq, alphas, inner, bands, alpha_rule)
        m.fit([X[i] for i in tr], [Y[i] for i in tr])
        used.append(np.asarray(m.alpha_))
        for i in te:
            pred = np.asarray(m.predict(X[i]))
            preds[i] = pred
            sse += ((Y[i] - pred) ** 2).sum(0)
            yy += (Y[i] ** 2).sum(0)
            ys += Y[i].sum(0)
            n += Y[i].shape[0]
    sst = yy - ys ** 2 / n
    r2 = 1.0 - sse / np.where(sst > 0, sst, np.nan)
    return (r2, np.asarray(used), preds) if return_predictions else (r2, np.asarray(used))


def _pooled_r(a: list, b: list) -> np.ndarray:
    """Correlation per column of two lists of (time, column) segments, all samples pooled."""
    a, b = np.concatenate(a, 0), np.concatenate(b, 0)
    a, b = a - a.mean(0), b - b.mean(0)
    den = np.sqrt((a ** 2).sum(0) * (b ** 2).sum(0))
    return (a * b).sum(0) / np.where(den > 0, den, np.nan)


# ----------------------------------------------------------------------------------- tasks
def load_recording(task: dict, with_signal: bool = False):
    """The recording band-passed and resampled to ``task['sfreq']``, M/EEG channels only, and its
    timeline.

    ``task['preprocess']`` holds ``l_freq`` and ``h_freq`` (MNE's FIR band-pass, zero phase) and the
    analysis ``sfreq``; the recording is loaded into memory (fine for the simulated and typical
    single-session recordings; for hour-long 1 kHz data run :func:`neurorrn.brain.preprocess`
    first and point the pipeline at its output).

    With ``with_signal`` a third value: for a simulated recording (its BIDS root holds the
    simulator's ground truth) the noise-free signal at the same channels
    (:func:`neurorrn.brain.noiseless_signal`) as a Raw filtered and resampled exactly like the
    recording; None for real data.
    """
    import mne

    from neurorrn.brain.io import read_bids

    raw, timeline = read_bids(task["bids_root"], subject=task["subject"], task=task["bids_task"],
                              session=task.get("bids_session"), preload=True)
    picks = mne.pick_types(raw.info, meg=True, eeg=True, exclude="bads")
    raw = raw.pick(picks)
    signal = _simulated_signal(task, raw) if with_signal else None
    raw = _prepare(raw, task)
    if not with_signal:
        return raw, timeline
    return raw, timeline, None if signal is None else _prepare(signal, task)


def _prepare(raw, task: dict):
    """Band-pass (``task['preprocess']``) and resample to ``task['sfreq']``, in place."""
    pre = dict(task.get("preprocess") or {})
    raw.filter(pre.get("l_freq", 0.5), pre.get("h_freq", 20.0), verbose="error")
    if abs(raw.info["sfreq"] - task["sfreq"]) > 1e-6:
        raw.resample(task["sfreq"], verbose="error")
    return raw


def repeat_ceiling(raw, timeline, n_splits: int = 100, random_state=0):
    """Noise ceiling of single presentations from stimuli the recording plays more than once.

    Every stimulus played at least twice contributes its first ``R`` presentations (``R``: the
    smallest number of plays among them), each cut from its sound onset for the stimulus's
    duration; :func:`neurorrn.encoding.noise_ceiling` gives the split-half correlation ``r_h`` of
    averages of ``m = R // 2`` presentations, which the Spearman–Brown formula brings down to one
    presentation, ``rel_1 = r_h / (m - (m - 1) r_h)``; the ceiling of a model's correlation with a
    single presentation is ``sqrt(rel_1)`` (signal variance over signal + noise variance).

    Returns
    -------
    (ceiling, R) : array (n_sensors,) and the number of repeats used, or (None, 0) when no
    stimulus is played twice.
    """
    from neurorrn.encoding import noise_ceiling

    sounds = timeline.select("sound")
    counts = sounds["stimulus"].value_counts()
    repeated = sorted(counts[counts >= 2].index)
    if not repeated:
        return None, 0
    R = int(counts[repeated].min())
    sf = float(raw.info["sfreq"])
    data = raw.get_data()
    parts = []
    for s in repeated:
        rows = sounds[sounds["stimulus"] == s].sort_values("onset").iloc[:R]
        if not np.isfinite(rows["duration"].min()):  # a sound without a duration cannot be cut
            continue
        n = int(np.floor(rows["duration"].min() * sf))
        starts = np.round(rows["onset"].to_numpy() * sf).astype(int)
        n = min(n, int(data.shape[1] - starts.max()))
        if n > 1:
            parts.append(np.stack([data[:, a:a + n] for a in starts]))  # (R, sensor, n)
    if not parts:
        return None, 0
    arr = np.concatenate(parts, axis=2)
    nc = noise_ceiling(xr.DataArray(arr, dims=("repeat", "sensor", "time")), n_splits=n_splits,
                       random_state=random_state)
    m = R // 2
    rh = nc["split_half_r"].values
    rel1 = rh / (m - (m - 1) * rh)
    return np.sqrt(np.clip(rel1, 0.0, None)), R


def _simulated_signal(task: dict, raw):
    """The simulator's noise-free signal at ``raw``'s channels (a RawArray with its info), or None
    when the BIDS root has no ground truth (real data)."""
    import mne

    from neurorrn.brain.simulate import GT_DIR, load_ground_truth, noiseless_signal

    if not (Path(task["bids_root"]) / "derivatives" / GT_DIR / f"sub-{task['subject']}").is_dir():
        return None
    gt = load_ground_truth(task["bids_root"], task["subject"], task=task["bids_task"],
                           session=task.get("bids_session"))
    sig = noiseless_signal(gt)
    missing = sorted(set(raw.ch_names) - set(sig["sensor"].values.astype(str)))
    if missing:
        raise ValueError(f"the ground truth of sub-{task['subject']} lacks channels {missing[:5]} of the recording")
    data = sig.sel(sensor=raw.ch_names).values
    if data.shape[1] != raw.n_times:
        raise ValueError(f"the ground truth of sub-{task['subject']} has {data.shape[1]} samples but the "
                         f"recording {raw.n_times}")
    return mne.io.RawArray(data, raw.info.copy(), first_samp=raw.first_samp, verbose="error")


def encode_task(task: dict) -> xr.Dataset:
    """Baseline vs baseline + model units, per sensor, for one subject × model × layer.

    Task keys: ``subject, model, layer, bids_root, bids_task, store, stim_dir, sfreq, tmin, tmax,
    alphas, cv, baseline, gammatone_bands, units_kind, n_components, side_dir, preprocess``, and
    optionally ``n_shifts`` (default 1000; 0: no null) and ``random_state`` (default 0).

    Besides the two models' held-out R², the full model's held-out predictions are tested against
    a circular-shift null (:func:`neurorrn.encoding.held_out_shift_null`: each held-out block's
    response shifted by ``n_shifts`` random offsets of at least the lag window + 1 s; seeded by
    ``random_state``, the subject and the layer), and for a simulated recording the noise ceiling
    is the correlation of each sensor's recording with the simulator's noise-free signal over the
    same blocks, band-passed and resampled alike (:func:`load_recording` ``with_signal``); for real
    data that play some stimuli more than once it is the split-half ceiling of single
    presentations (:func:`repeat_ceiling`; ``ceiling_repeats`` the repeats used, 0 otherwise).

    Returns
    -------
    Dataset on ("sensor",): ``r2_baseline``, ``r2_full``, ``gain``; ``r_full`` (pooled held-out
    correlation of the full model's predictions) with ``shift_p`` and ``shift_null_r``
    ("permutation", "sensor"; float32) when ``n_shifts`` > 0; ``ceiling_r`` (NaN for real data without
    repeated presentations) and the scalar ``ceiling_repeats``.
    The full model's TRF, refitted on all segments, goes to
    ``side_dir/trf_<subject>_<model>_<layer>.nc`` as (sensor, feature, lag).
    """
    sfreq = float(task["sfreq"])
    raw, timeline, signal = load_recording(task, with_signal=True)
    stimuli = sorted(set(timeline.select("sound")["stimulus"]))
    ac = acoustic_predictors(task["stim_dir"], stimuli, task["baseline"], sfreq, task.get("gammatone_bands", 8))
    un = unit_predictors(task["store"], task["layer"] or None, task["units_kind"], int(task["n_components"]), sfreq)
    preds = {}
    for s in stimuli:
        if s not in un:
            raise KeyError(f"stimulus {s!r} of the recording is not in the store {task['store']}")
        n = min(ac[s].shape[0], un[s].shape[0])
        preds[s] = (ac[s][:n], un[s][:n])
    n_base = next(iter(preds.values()))[0].shape[1]
    joint = {s: np.concatenate([a, u], 1) for s, (a, u) in preds.items()}
    Xf, Y = continuous_design(raw, timeline, joint, sfreq, n_blocks=max(2 * int(task["cv"]), 4))
    # z-score each sensor over the analysed span (mixed sensor types; R² is scale-free)
    cat = np.concatenate(Y, 0)
    mu, sd = cat.mean(0), cat.std(0)
    Y = [(y - mu) / np.where(sd > 0, sd, 1) for y in Y]
    ceiling, repeats = np.full(len(raw.ch_names), np.nan), 0
    if signal is not None:  # the same blocks of the noise-free signal
        ceiling = _pooled_r(Y, continuous_design(signal, timeline, joint, sfreq, n_blocks=len(Y))[1])
    else:  # real data: split halves of repeated presentations, if any
        c, repeats = repeat_ceiling(raw, timeline, random_state=int(task.get("random_state", 0)))
        ceiling = ceiling if c is None else c
    Xb = [x[:, :n_base] for x in Xf]
    rule = task.get("alpha_rule", "1se")
    kw = dict(tmin=task["tmin"], tmax=task["tmax"], sfreq=sfreq, alphas=task["alphas"], cv=int(task["cv"]),
              alpha_rule=rule)
    bands = [Xb[0].shape[1], Xf[0].shape[1] - Xb[0].shape[1]] if task.get("banded") else None
    r2b, _ = cross_validated_r2(Xb, Y, **kw)
    r2f, _, pred = cross_validated_r2(Xf, Y, bands=bands, return_predictions=True, **kw)
    extra = {"r_full": ("sensor", _pooled_r(pred, Y)), "ceiling_r": ("sensor", ceiling),
             "ceiling_repeats": repeats}
    n_shifts = int(task.get("n_shifts", 1000))
    if n_shifts > 0:
        from neurorrn.encoding import held_out_shift_null

        seed = [int(task.get("random_state", 0)), zlib.crc32(f"{task['subject']}/{task['layer']}".encode())]
        null = held_out_shift_null(Y, pred, sfreq, n_shifts=n_shifts, min_shift=task["tmax"] - task["tmin"] + 1.0,
                                   random_state=np.random.default_rng(seed))
        extra["shift_p"] = ("sensor", null["p_value"].values)
        extra["shift_null_r"] = (("permutation", "sensor"), null["null_r"].values.astype(np.float32))
    full = _make_trf(task["tmin"], task["tmax"], sfreq, task["alphas"], int(max(2, min(task["cv"], len(Xf)))),
                     bands, rule).fit(Xf, Y)
    names = [f"acoustic{i}" for i in range(Xb[0].shape[1])]
    names = _baseline_names(task["baseline"], task.get("gammatone_bands", 8)) or names
    names += [f"{UNIT_PREFIX}{task['units_kind']}{i}" for i in range(Xf[0].shape[1] - Xb[0].shape[1])]
    sensors = list(raw.ch_names)
    coef = xr.DataArray(np.asarray(full.coef_), dims=("sensor", "feature", "lag"),
                        coords={"sensor": sensors, "feature": names, "lag": np.asarray(full.lags_)},
                        name="trf", attrs={"units": "z"})
    side = Path(task["side_dir"])
    side.mkdir(parents=True, exist_ok=True)
    coef.to_netcdf(side / f"trf_{task['subject']}_{task['model']}_{task['layer'] or 'all'}.nc", engine="h5netcdf")
    logger.info("encode %s/%s/%s: median R² baseline %.4f, full %.4f%s", task["subject"], task["model"],
                task["layer"], np.nanmedian(r2b), np.nanmedian(r2f),
                f"; {np.mean(extra['shift_p'][1] < 0.05):.0%} of sensors p < .05 against {n_shifts} shifts"
                if n_shifts > 0 else "")
    return xr.Dataset({"r2_baseline": ("sensor", r2b), "r2_full": ("sensor", r2f), "gain": ("sensor", r2f - r2b),
                       **extra}, coords={"sensor": sensors}, attrs={"n_shifts": n_shifts})


def _baseline_names(baseline, bands) -> list[str]:
    names = []
    for b in baseline:
        if b == "gammatone":
            names += [f"gammatone{i}" for i in range(bands)] + [f"gammatone_on{i}" for i in range(bands)]
        else:
            names.append(b)
    return names


def probe_task(task: dict) -> xr.Dataset:
    """PSI/FSI maps, probe accuracy over time and RSA for one model layer (isolated tokens).

    Task keys: ``subject`` (unused: "model"), ``model, layer, store, window, psi_threshold, lags,
    cv, reference_rdm, n_permutations, random_state, side_dir``.

    Returns
    -------
    Dataset with ``probe_accuracy`` (lag, mean over folds), ``probe_sem`` (lag, its standard error
    over the ``probe_folds`` folds), ``probe_chance`` (scalar), ``rsa_r``, ``rsa_p`` (comparison) and
    ``rsa_null`` (comparison, permutation: the label-permutation null), ``n_selective`` (scalar:
    units with PSI > 0 for some phone).  The PSI and FSI
    maps (unit, phone) / (unit, feature) at the chosen criterion go to ``side_dir``.
    """
    from neurorrn.probing import probes, rsa
    from neurorrn.probing.features import ANALYSIS_PHONES, phone_feature_table
    from neurorrn.probing.responses import phone_epochs, phone_tokens
    from neurorrn.probing.selectivity import fsi, psi
    from neurorrn.store import open_store

    layer = task["layer"] or None
    seed = int(task.get("random_state", 0))
    with open_store(task["store"]) as store:
        store = store.load()
    tokens = phone_tokens(store, window=tuple(task["window"]), align="onset", layer=layer)
    counts = pd.Series(tokens["phone"].values).value_counts()
    phones = [p for p in ANALYSIS_PHONES if counts.get(p, 0) >= 3]
    if len(phones) < 3:
        raise ValueError(f"layer {layer}: fewer than 3 analysis phones with >= 3 tokens in {task['store']}")
    tokens = tokens.isel(token=np.isin(tokens["phone"].values, phones))
    crit = float(task["psi_threshold"])
    ps = psi(tokens, criteria=np.array([crit]), phones=phones)["positive"].sel(criterion=crit)
    table = phone_feature_table(phones=phones)
    table = table.isel(feature=np.flatnonzero(table.astype(bool).any("phone").values))  # features with phones
    fs = fsi(tokens, criteria=np.array([crit]), table=table)["positive"].sel(criterion=crit)
    side = Path(task["side_dir"])
    side.mkdir(parents=True, exist_ok=True)
    tag = f"{task['model']}_{layer or 'all'}"
    ps.drop_vars([c for c in ps.coords if c not in ps.dims]).to_netcdf(side / f"psi_{tag}.nc", engine="h5netcdf")
    fs.drop_vars([c for c in fs.coords if c not in fs.dims]).to_netcdf(side / f"fsi_{tag}.nc", engine="h5netcdf")
    # RSA: phone RDM of the PSI map against the feature-table RDM (and a reference RDM, if given)
    comps, rs, pvals, nulls = [], [], [], []
    n_perm = int(task["n_permutations"])
    varying = ps.isel(phone=np.flatnonzero(np.ptp(ps.values, axis=0) > 0)) if ps.sizes["unit"] > 1 else ps
    keep = [p for p in phones if p in varying["phone"].values and np.ptp(ps.sel(phone=p).values) > 0]
    refs = {"feature table": rsa.feature_rdm("correlation", phones=keep)}
    if task.get("reference_rdm"):
        refs["reference"] = rsa.load_rdm(task["reference_rdm"])
    for name, ref in refs.items():
        try:
            model_rdm = rsa.rdm(ps.sel(phone=keep), "phone", "correlation")
            res = rsa.permutation_test(model_rdm, ref, "pearson", n_perm, random_state=seed)
            comps.append(name), rs.append(res.r), pvals.append(res.pvalue), nulls.append(np.asarray(res.null, float))
        except ValueError as err:
            logger.warning("probe %s: RSA against %s skipped: %s", tag, name, err)
            comps.append(name), rs.append(np.nan), pvals.append(np.nan), nulls.append(np.full(n_perm, np.nan))
    start, stop, step = task["lags"]
    lags = np.round(np.arange(start, stop + step / 2, step), 6)
    epochs = phone_epochs(store, lags=lags, layer=layer, phones=phones)
    pr = probes.probe_over_time(epochs, "phone", group_by="word", n_splits=int(task["cv"]), random_state=seed,
                                estimator=task.get("estimator", "logistic"))
    folds = pr["score"].transpose("lag", ...).values
    sem = np.nanstd(folds, axis=1, ddof=1) / np.sqrt(np.sum(np.isfinite(folds), axis=1))
    return xr.Dataset({"probe_accuracy": ("lag", pr["mean"].values), "probe_chance": float(pr["chance"]),
                       "probe_sem": ("lag", sem), "probe_folds": int(folds.shape[1]),
                       "rsa_r": ("comparison", np.asarray(rs, float)),
                       "rsa_p": ("comparison", np.asarray(pvals, float)),
                       "rsa_null": (("comparison", "permutation"), np.stack(nulls)),
                       "n_selective": int((ps.values > 0).any(1).sum())},
                      coords={"lag": pr["lag"].values, "comparison": comps})


def task_json(task: dict) -> str:
    return json.dumps(task, sort_keys=True)
