"""A ground-truth M/EEG simulator for listening experiments.

The recording is built from known temporal response functions (TRFs):

1. **Stimuli** (any audio + word/phone alignment, :mod:`neurorrn.brain.stimuli`) are played one
   after another with jittered silences; sound onsets fall on exact samples.
2. **Predictors** at the recording rate: the broadband envelope (|Hilbert|, 30 Hz low-pass,
   resampled, unit RMS inside sounds), acoustic onsets (half-wave rectified derivative of that
   envelope, unit RMS), word and phone onset impulses (1 at ``round(onset * sfreq)``), and
   model units read from an ActivationStore (linearly interpolated from the store's frame rate
   and placed at each sound's onset; zero outside the sound).
3. **Sources**: dipoles in both auditory cortices, the left STG and the left IFG (or any
   position).  Source time course ``s_j(t) = sum_f (x_f * h_fj)(t)`` with kernels made of Gaussian
   bumps (:class:`~neurorrn.brain.simulate_config.KernelConfig`), in A·m.
4. **Physics**: an MNE spherical head model (``mne.make_sphere_model``, 9 cm, centred 4 cm above
   the head origin) and canonical sensors - Neuromag 306 and CTF 275 from
   ``mne.channels.read_meg_canonical_info`` (the device frame moved 4 cm up, the fix that puts
   the sensors outside the sphere), 64-channel BioSemi EEG - with the gain from
   ``mne.make_forward_solution`` on a discrete source space.  Nothing is downloaded.
5. **Noise**: 1/f^b brain noise from many random dipoles, alpha bursts from parieto-occipital
   dipoles, blinks (a frontal equivalent dipole plus EOG channels), line noise with harmonics (a
   fixed random spatial pattern), white sensor noise and slow drift.  The signal is scaled so
   that its power over the noise components ``snr_components`` on the reference channel type
   (magnetometers for MEG, EEG otherwise) is ``snr_db``.
6. **Output**: BIDS via mne-bids (MEG as FIF with an ``STI101`` trigger at each sound onset, EEG
   as BrainVision), ``events.tsv`` in the MEG-MASC style, the stimuli under ``stimuli/``, and the
   derivative ``derivatives/neurorrn-groundtruth`` (kernels, sensor-level TRFs, predictors, gain;
   read with :func:`load_ground_truth`).

Where we differ from real data: one fixed dipole per region (no extended patches), a spherical
head, a blink modelled by an equivalent dipole inside the sphere, and EEG referenced to infinity.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.signal
import xarray as xr

from .. import __version__
from .._dims import FEATURE, LAG, SENSOR, TIME
from ..utils._check import check_random_state, validate_type
from ..utils._logging import logger, use_log_level
from .simulate_config import REGIONS, SimulationConfig
from .stimuli import Stimulus, stimuli_from_files, stimuli_from_speech, synthetic_stimuli, write_wav
from .timeline import Timeline

SOURCE = "source"
GT_DIR = "neurorrn-groundtruth"
SPHERE_R0 = (0.0, 0.0, 0.04)
SPHERE_RADIUS = 0.09
MEG_SHIFT = 0.04
ALPHA_SITES = (((-0.02, -0.065, 0.065), (0.0, 0.0, 1.0)), ((0.02, -0.065, 0.065), (0.0, 0.0, 1.0)))
BLINK_SITE = ((0.0, 0.065, 0.03), (0.0, 0.0, 1.0))


# ---------------------------------------------------------------------------------------------
# head model
# ---------------------------------------------------------------------------------------------
def make_sensor_info(sensors: str, sfreq: float, line_freq: float | None = None):
    """Info of the canonical sensors (data channels only), in a frame that fits the sphere model."""
    import mne

    if sensors == "eeg64":
        mont = mne.channels.make_standard_montage("biosemi64")
        info = mne.create_info(mont.ch_names, sfreq, "eeg")
        info.set_montage(mont, verbose="error")
    else:
        info = mne.channels.read_meg_canonical_info({"neuromag306": "neuromag", "ctf275": "ctf275"}[sensors])
        with info._unlock():
            info["sfreq"] = float(sfreq)
            info["lowpass"] = float(sfreq) / 2
            # canonical positions are in the device frame with an identity dev_head_t: lift the
            # helmet 4 cm so no sensor falls inside the sphere
            info["dev_head_t"] = mne.transforms.Transform("meg", "head",
                                                         mne.transforms.translation(0.0, 0.0, MEG_SHIFT))
    with info._unlock():
        info["line_freq"] = line_freq
    return info


def make_sphere(info):
    import mne

    return mne.make_sphere_model(r0=SPHERE_R0, head_radius=SPHERE_RADIUS, info=info, verbose="error")


def dipole_gain(info, pos, ori, sphere=None) -> np.ndarray:
    """Gain of fixed dipoles (sensors x dipoles, sensor units per A·m) from ``make_forward_solution``.

    Parameters
    ----------
    pos, ori : array of shape (n_dipoles, 3)
        Head-frame positions (m) and orientations (normalised here).
    """
    import mne

    pos = np.atleast_2d(np.asarray(pos, dtype=float))
    ori = np.atleast_2d(np.asarray(ori, dtype=float))
    ori = ori / np.linalg.norm(ori, axis=1, keepdims=True)
    sphere = make_sphere(info) if sphere is None else sphere
    inner = min(layer["rad"] for layer in sphere["layers"]) if sphere["layers"] else SPHERE_RADIUS
    dist = np.linalg.norm(pos - np.asarray(sphere["r0"]), axis=1)
    lost = np.flatnonzero(dist >= inner).tolist()
    if lost:
        raise ValueError(f"dipole(s) {lost} at {pos[lost].round(4).tolist()} lie outside the sphere's inner "
                         f"layer (radius {inner * 100:.1f} cm about {np.round(sphere['r0'], 3).tolist()})")
    src = mne.setup_volume_source_space(pos=dict(rr=pos, nn=ori), sphere=sphere, mindist=0.0,
                                        exclude=0.0, verbose="error")
    if src[0]["nuse"] != len(pos):
        inside = set(src[0]["vertno"].tolist())
        lost = [i for i in range(len(pos)) if i not in inside]
        raise ValueError(f"dipole(s) {lost} at {pos[lost].tolist()} lie outside the sphere's inner layer")
    has_meg = any(t in ("mag", "grad") for t in info.get_channel_types())
    has_eeg = "eeg" in info.get_channel_types()
    fwd = mne.make_forward_solution(info, None, src, sphere, meg=has_meg, eeg=has_eeg, verbose="error")
    g = fwd["sol"]["data"].reshape(len(info["ch_names"]), len(pos), 3)
    return np.einsum("cdk,dk->cd", g, ori)


def _random_in_ball(n, radius, rng) -> np.ndarray:
    d = rng.standard_normal((n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    r = radius * rng.uniform(0, 1, n) ** (1 / 3)
    return np.asarray(SPHERE_R0) + d * r[:, None]


# ---------------------------------------------------------------------------------------------
# signals
# ---------------------------------------------------------------------------------------------
def powerlaw_noise(n_series: int, n_times: int, exponent: float, sfreq: float, rng) -> np.ndarray:
    """Unit-variance noise with power spectral density ~ 1/f**exponent (DC removed)."""
    spec = rng.standard_normal((n_series, n_times // 2 + 1)) + 1j * rng.standard_normal((n_series, n_times // 2 + 1))
    f = np.fft.rfftfreq(n_times, 1 / sfreq)
    scale = np.zeros_like(f)
    scale[1:] = f[1:] ** (-exponent / 2)
    x = np.fft.irfft(spec * scale, n=n_times, axis=1)
    x -= x.mean(axis=1, keepdims=True)
    return x / (x.std(axis=1, keepdims=True) + 1e-30)


def alpha_bursts(n_times: int, sfreq: float, freq: float, rate: float, rng) -> np.ndarray:
    """Alpha bursts: Hann-windowed oscillations (0.5-2 s, freq +/- 0.5 Hz) at Poisson times, peak 1."""
    x = np.zeros(n_times)
    dur = n_times / sfreq
    n = rng.poisson(rate * dur)
    for t0 in rng.uniform(0, dur, n):
        d = rng.uniform(0.5, 2.0)
        i0, m = int(t0 * sfreq), int(d * sfreq)
        t = np.arange(m) / sfreq
        seg = np.hanning(m) * np.cos(2 * np.pi * (freq + rng.uniform(-0.5, 0.5)) * t + rng.uniform(0, 2 * np.pi))
        i1 = min(n_times, i0 + m)
        x[i0:i1] += seg[: i1 - i0]
    return x


def blink_train(n_times: int, sfreq: float, rate: float, rng) -> np.ndarray:
    """Blinks: 250 ms sin^2 bumps of peak 1 at Poisson times at least 1 s apart."""
    x = np.zeros(n_times)
    m = int(0.25 * sfreq)
    bump = np.sin(np.linspace(0, np.pi, m)) ** 2
    t, dur = 0.0, n_times / sfreq
    while rate > 0:
        t += max(1.0, rng.exponential(1 / rate))
        if t >= dur:
            break
        i0 = int(t * sfreq)
        i1 = min(n_times, i0 + m)
        x[i0:i1] += bump[: i1 - i0]
    return x


def envelope(audio: np.ndarray, audio_sfreq: float, sfreq: float, cutoff: float = 30.0) -> np.ndarray:
    """Broadband envelope |hilbert(audio)|, low-passed at ``cutoff`` (zero-phase), at ``sfreq``."""
    from fractions import Fraction

    env = np.abs(scipy.signal.hilbert(audio))
    sos = scipy.signal.butter(4, min(cutoff, sfreq / 2 * 0.9), fs=audio_sfreq, output="sos")
    env = scipy.signal.sosfiltfilt(sos, env)
    fr = Fraction(sfreq / audio_sfreq).limit_denominator(100000)
    out = scipy.signal.resample_poly(env, fr.numerator, fr.denominator)
    n = int(round(audio.size / audio_sfreq * sfreq))
    out = np.pad(out, (0, max(0, n - out.size)))[:n]
    return np.maximum(out, 0)


def gaussian_kernel(lags: np.ndarray, latencies, widths, amplitudes) -> np.ndarray:
    """``sum_k a_k exp(-(lag - l_k)^2 / (2 w_k^2))`` (amplitudes in the caller's unit)."""
    lags = np.asarray(lags, dtype=float)[:, None]
    return np.sum(np.asarray(amplitudes) * np.exp(-0.5 * ((lags - np.asarray(latencies)) / np.asarray(widths)) ** 2),
                  axis=1)


def convolve_trf(x: np.ndarray, h: np.ndarray, lag0: int) -> np.ndarray:
    """``y[t] = sum_k x[t - lag0 - k] h[k]`` for every row of ``x`` (shape (n, n_times)).

    ``lag0`` is the first lag in samples (negative lags look ahead).
    """
    x = np.atleast_2d(x)
    full = scipy.signal.fftconvolve(x, np.atleast_2d(h), axes=1)
    n = x.shape[1]
    y = np.zeros_like(x, dtype=float)
    if lag0 >= 0:
        y[:, lag0:] = full[:, : n - lag0]
    else:
        y[:, :] = full[:, -lag0: -lag0 + n]
    return y


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------
@dataclass
class SimulationResult:
    """What :func:`simulate` returns.

    Attributes
    ----------
    raw : mne.io.RawArray
        The recording (data channels, EOG, and for MEG the ``STI101`` trigger channel).
    timeline : Timeline
        Sound, word and phone events (the truth the loader must give back).
    ground_truth : xarray.Dataset
        ``kernels (feature, source, lag)`` in A·m per predictor unit, ``sensor_trf (feature,
        sensor, lag)``, ``predictors (time, feature)``, ``gain (sensor, source)``,
        ``source_pos``/``source_ori (source, xyz)``; attrs ``snr_db_achieved_<type>``, config.
    stimuli : list of Stimulus
    signal : ndarray of shape (n_sensors, n_times)
        The noise-free sensor signal (for tests).
    bids_root : Path | None
    """

    raw: object
    timeline: Timeline
    ground_truth: xr.Dataset
    stimuli: list
    signal: np.ndarray
    noise: dict
    bids_root: Path | None = None


def _load_stimuli(cfg: SimulationConfig, stimuli, rng) -> list[Stimulus]:
    if stimuli is not None:
        for s in stimuli:
            validate_type(s, Stimulus, "stimuli[i]")
        return list(stimuli)
    st = cfg.stimuli
    if st.source == "synthetic":
        return synthetic_stimuli(st.n_stimuli, st.words_per_stimulus, st.audio_sfreq, st.story,
                                 random_state=int(rng.integers(2**31)))
    if st.source == "files":
        if st.path is None:
            raise ValueError("stimuli.source='files' needs stimuli.path")
        return stimuli_from_files(st.path)
    return stimuli_from_speech(st.n_stimuli, st.words_per_stimulus, random_state=int(rng.integers(2**31)))


def _schedule(stims, cfg, rng) -> tuple[pd.DataFrame, int]:
    sf = cfg.sfreq
    t = int(round(cfg.stimuli.pre * sf))
    rows = []
    for s in stims:
        n = int(round(s.duration * sf))
        rows.append({"onset": t / sf, "duration": s.duration, "kind": "sound", "stimulus": s.id,
                     "label": s.id, "start": 0.0, "position": ""})
        for r in s.alignments.itertuples(index=False):
            if r.tier not in ("word", "phone"):
                continue
            rows.append({"onset": t / sf + r.start, "duration": r.end - r.start, "kind": r.tier,
                         "stimulus": s.id, "label": str(r.label), "start": float(r.start),
                         "position": _position(s.alignments, r) if r.tier == "phone" else ""})
        t += n + int(round(rng.uniform(*cfg.stimuli.isi) * sf))
    n_times = t + int(round(cfg.stimuli.post * sf))
    return pd.DataFrame(rows), n_times


def _position(al: pd.DataFrame, r) -> str:
    words = al[(al["tier"] == "word") & (al["start"] <= r.start + 1e-9) & (al["end"] >= r.end - 1e-9)]
    if not len(words):
        return ""
    w = words.iloc[0]
    ph = al[(al["tier"] == "phone") & (al["start"] >= w["start"] - 1e-9) & (al["end"] <= w["end"] + 1e-9)]
    starts = sorted(ph["start"])
    if len(starts) == 1:
        return "S"
    if np.isclose(r.start, starts[0]):
        return "B"
    if np.isclose(r.start, starts[-1]):
        return "E"
    return "I"


def _store_predictor(store, stims, onsets, n_times, sfreq, resp) -> tuple[np.ndarray, list[str]]:
    from ..store import open_store

    ds = open_store(store) if not hasattr(store, "data_vars") else store
    units = ds["unit"].values
    if resp.layer is not None:
        units = units[ds["layer"].values.astype(str) == resp.layer]
        if units.size == 0:
            raise ValueError(f"store has no units in layer {resp.layer!r}; layers: "
                             f"{sorted(set(ds['layer'].values.astype(str)))}")
    if resp.units is not None:
        missing = [u for u in resp.units if u not in set(units.tolist())]
        if missing:
            raise ValueError(f"store has no unit(s) {missing}")
        units = np.asarray(resp.units)
    elif resp.n_units is not None:
        units = units[: resp.n_units]
    ids = set(ds["stimulus"].values.astype(str).tolist())
    missing = [s.id for s in stims if s.id not in ids]
    if missing:
        raise ValueError(f"the store has no activations for stimulus/stimuli {missing}; it has {sorted(ids)[:10]}")
    fr = float(ds.attrs["frame_rate"])
    x = np.zeros((len(units), n_times))
    sub = ds.sel(unit=units)
    for s in stims:
        a = sub["activation"].sel(stimulus=s.id).values  # (time, unit)
        nf = int(sub["n_frames"].sel(stimulus=s.id))
        a = np.nan_to_num(a[:nf])
        i0 = int(round(onsets[s.id] * sfreq))
        n = int(round(s.duration * sfreq))
        t = np.arange(n) / sfreq
        ft = np.arange(nf) / fr
        inside = t <= ft[-1] + 1 / fr if nf else np.zeros(n, bool)
        for u in range(len(units)):
            x[u, i0:i0 + n] = np.where(inside, np.interp(t, ft, a[:, u]), 0.0)[: max(0, min(n, n_times - i0))]
    return x, [f"units:{u}" for u in units]


def _predictors(cfg, stims, events, n_times, store, rng):
    sf = cfg.sfreq
    onsets = {r.stimulus: r.onset for r in events[events["kind"] == "sound"].itertuples()}
    feats, names = [], []
    needed = {r.predictor for r in cfg.responses}
    if needed & {"envelope", "onsets"}:
        env = np.zeros(n_times)
        for s in stims:
            e = envelope(s.audio, s.sfreq, sf)
            i0 = int(round(onsets[s.id] * sf))
            env[i0:i0 + e.size] = e[: n_times - i0]
        inside = env > 0
        env /= np.sqrt(np.mean(env[inside] ** 2)) if inside.any() else 1.0
        ons = np.maximum(np.diff(env, prepend=0.0), 0)
        ons /= np.sqrt(np.mean(ons[inside] ** 2)) if inside.any() and ons.any() else 1.0
        if "envelope" in needed:
            feats.append(env[None])
            names.append("envelope")
        if "onsets" in needed:
            feats.append(ons[None])
            names.append("onsets")
    for kind in ("word", "phone"):
        if kind in needed:
            x = np.zeros(n_times)
            idx = np.round(events.loc[events["kind"] == kind, "onset"].to_numpy() * sf).astype(int)
            np.add.at(x, idx[(idx >= 0) & (idx < n_times)], 1.0)
            feats.append(x[None])
            names.append(kind)
    unit_feats = {}
    for i, r in enumerate(cfg.responses):
        if r.predictor == "units":
            src = store if store is not None else r.store
            if src is None:
                raise ValueError(f"responses[{i}]: predictor 'units' needs a store (responses[{i}].store "
                                 "or simulate(..., store=))")
            x, nm = _store_predictor(src, stims, onsets, n_times, sf, r)
            unit_feats[i] = nm
            for row, n in zip(x, nm):
                if n not in names:
                    feats.append(row[None])
                    names.append(n)
    return np.concatenate(feats), names, unit_feats


def _kernels(cfg, names, unit_feats, lags, rng) -> np.ndarray:
    src_names = [s.name for s in cfg.sources]
    K = np.zeros((len(names), len(src_names), len(lags)))
    for i, r in enumerate(cfg.responses):
        base = gaussian_kernel(lags, r.kernel.latencies, r.kernel.widths, r.kernel.amplitudes) * 1e-9
        gains = r.gains or [1.0] * len(r.sources)
        for s, g in zip(r.sources, gains):
            j = src_names.index(s)
            if r.predictor == "units":
                feats = unit_feats[i]
                w = rng.standard_normal(len(feats)) / np.sqrt(len(feats))
                for f, wf in zip(feats, w):
                    K[names.index(f), j] += g * wf * base
            else:
                K[names.index(r.predictor), j] += g * base
    return K


def simulate(config: SimulationConfig | dict | None = None, root=None, stimuli=None, store=None,
             overwrite: bool = False, verbose=None) -> SimulationResult:
    """Simulate a listening experiment; write it as BIDS when ``root`` (or ``config.output``) is set.

    Parameters
    ----------
    config : SimulationConfig | dict | None
        None gives the defaults (4 sources, envelope/phone/word TRFs, 6 synthetic stimuli).
    root : path | None
        BIDS root to write; None (and no ``config.output``) keeps everything in memory.
    stimuli : list of Stimulus | None
        Overrides ``config.stimuli`` (any audio + alignment).
    store : ActivationStore Dataset | path | None
        Source of ``'units'`` predictors (overrides ``responses[i].store``); its stimulus ids
        must be the stimuli's ids.
    overwrite : bool
        Replace an existing recording at ``root``.

    Returns
    -------
    SimulationResult
    """
    import mne

    if config is None:
        config = SimulationConfig()
    elif isinstance(config, dict):
        config = SimulationConfig.from_dict(config)
    validate_type(config, SimulationConfig, "config")
    cfg = config
    with use_log_level(verbose):
        rng = check_random_state(cfg.seed)
        stims = _load_stimuli(cfg, stimuli, rng)
        ids = [s.id for s in stims]
        if len(set(ids)) != len(ids):
            raise ValueError(f"stimulus ids must be unique, got {ids}")
        events, n_times = _schedule(stims, cfg, rng)
        sf = cfg.sfreq
        timeline = Timeline(events, sf, n_times, source="simulation")
        X, names, unit_feats = _predictors(cfg, stims, timeline.events, n_times, store, rng)
        lag0 = int(round(cfg.trf_tmin * sf))
        lags = np.arange(lag0, int(round(cfg.trf_tmax * sf)) + 1) / sf
        K = _kernels(cfg, names, unit_feats, lags, rng)
        S = np.zeros((len(cfg.sources), n_times))
        for j in range(len(cfg.sources)):
            for f in range(len(names)):
                if np.any(K[f, j]):
                    S[j] += convolve_trf(X[f], K[f, j], lag0)[0]

        info = make_sensor_info(cfg.sensors, sf, cfg.line_freq)
        sphere = make_sphere(info)
        pos = np.array([s.pos if s.region is None else REGIONS[s.region][0] for s in cfg.sources], float)
        ori = np.array([s.ori if s.region is None else REGIONS[s.region][1] for s in cfg.sources], float)
        ori /= np.linalg.norm(ori, axis=1, keepdims=True)
        nz = cfg.noise
        n_brain = nz.brain_dipoles
        bpos = _random_in_ball(n_brain, 0.06, rng)
        bori = rng.standard_normal((n_brain, 3))
        all_pos = np.concatenate([pos, bpos, [a[0] for a in ALPHA_SITES], [BLINK_SITE[0]]])
        all_ori = np.concatenate([ori, bori, [a[1] for a in ALPHA_SITES], [BLINK_SITE[1]]])
        G_all = dipole_gain(info, all_pos, all_ori, sphere)
        n_src = len(pos)
        G = G_all[:, :n_src]
        G_brain = G_all[:, n_src:n_src + n_brain]
        G_alpha = G_all[:, n_src + n_brain:n_src + n_brain + len(ALPHA_SITES)]
        g_blink = G_all[:, -1]
        signal = G @ S
        types = np.array(info.get_channel_types())
        sens_sd = np.array([nz.sensor.get(t, 0.0) for t in types])
        noise = {"brain": np.zeros((len(types), n_times))}
        if n_brain:
            noise["brain"] = G_brain @ (powerlaw_noise(n_brain, n_times, nz.brain_exponent, sf, rng)
                                        * nz.brain_amplitude * 1e-9)
        a_tc = np.stack([alpha_bursts(n_times, sf, nz.alpha_freq, nz.alpha_burst_rate, rng)
                         for _ in ALPHA_SITES]) * nz.alpha_amplitude * 1e-9
        noise["alpha"] = G_alpha @ a_tc
        blinks = blink_train(n_times, sf, nz.blink_rate, rng)
        noise["blinks"] = np.outer(g_blink, blinks * nz.blink_dipole * 1e-9)
        t = np.arange(n_times) / sf
        line = np.zeros((len(types), n_times))
        for k in range(1, nz.line_harmonics + 1):
            if k * cfg.line_freq >= sf / 2:
                break
            pattern = rng.standard_normal(len(types)) * sens_sd * nz.line / k
            line += np.outer(pattern, np.sin(2 * np.pi * k * cfg.line_freq * t + rng.uniform(0, 2 * np.pi)))
        noise["line"] = line
        noise["sensor"] = rng.standard_normal((len(types), n_times)) * sens_sd[:, None]
        drift = np.zeros((len(types), n_times))
        for _ in range(3):
            f = rng.uniform(0.2, 1.0, len(types)) * nz.drift_cutoff
            drift += np.sin(2 * np.pi * f[:, None] * t + rng.uniform(0, 2 * np.pi, len(types))[:, None])
        noise["drift"] = drift * (sens_sd * nz.drift / np.sqrt(3 / 2))[:, None]

        ref = "eeg" if cfg.sensors == "eeg64" else "mag"
        scale = 1.0
        if cfg.snr_db is not None:
            sel = types == ref
            p_sig = np.mean(signal[sel].var(axis=1))
            p_noise = np.mean(sum(noise[c] for c in cfg.snr_components)[sel].var(axis=1))
            if p_sig == 0:
                raise ValueError("the simulated signal is zero (no responses or empty predictors); cannot set snr_db")
            scale = np.sqrt(10 ** (cfg.snr_db / 10) * p_noise / p_sig)
        S *= scale
        K *= scale
        signal *= scale
        data = signal + sum(noise.values())
        achieved = {}
        for ct in np.unique(types):
            sel = types == ct
            pn = np.mean(sum(noise[c] for c in cfg.snr_components)[sel].var(axis=1))
            achieved[str(ct)] = float(10 * np.log10(np.mean(signal[sel].var(axis=1)) / pn)) if pn > 0 else float("inf")

        raw = mne.io.RawArray(data, info, verbose="error")
        eog_names = ["EOG061", "EOG062"] if cfg.sensors != "eeg64" else ["VEOG", "HEOG"]
        eog = np.stack([blinks * nz.blink_amplitude * 1e-6, blinks * 0.1 * nz.blink_amplitude * 1e-6])
        eog += rng.standard_normal(eog.shape) * nz.sensor.get("eog", 5e-6)
        extra = [mne.io.RawArray(eog, mne.create_info(eog_names, sf, "eog"), verbose="error")]
        if cfg.sensors != "eeg64":
            stim = np.zeros((1, n_times))
            for s in timeline.sounds["sample"]:
                stim[0, s:s + max(1, int(0.01 * sf))] = 1.0
            extra.append(mne.io.RawArray(stim, mne.create_info(["STI101"], sf, "stim"), verbose="error"))
        raw.add_channels(extra, force_update_info=True)
        raw.set_meas_date(pd.Timestamp("2000-01-01", tz="UTC").to_pydatetime())
        with raw.info._unlock():
            raw.info["line_freq"] = cfg.line_freq

        sensor_trf = np.einsum("cs,fsl->fcl", G, K)
        src_names = [s.name for s in cfg.sources]
        gt = xr.Dataset(
            {
                "kernels": ((FEATURE, SOURCE, LAG), K),
                "sensor_trf": ((FEATURE, SENSOR, LAG), sensor_trf),
                "predictors": ((TIME, FEATURE), X.T.astype(np.float32)),
                "gain": ((SENSOR, SOURCE), G),
                "source_pos": ((SOURCE, "xyz"), pos),
                "source_ori": ((SOURCE, "xyz"), ori),
            },
            coords={FEATURE: np.array(names, dtype=object), SOURCE: np.array(src_names, dtype=object),
                    LAG: lags, SENSOR: np.array(info["ch_names"], dtype=object),
                    "sensor_type": (SENSOR, types.astype(object)), TIME: np.arange(n_times) / sf,
                    "xyz": np.array(["x", "y", "z"], dtype=object)},
            attrs={"sfreq": sf, "line_freq": cfg.line_freq, "sensors": cfg.sensors,
                   "scale": float(scale), "config_json": cfg.to_json(), "neurorrn_version": __version__,
                   "kernel_unit": "A*m per predictor unit", "time_origin": "first sample of the recording",
                   **{f"snr_db_achieved_{k}": v for k, v in achieved.items()}},
        )
        logger.info("simulated %d s, %d channels, achieved SNR %s", n_times / sf, len(types),
                    ", ".join(f"{k} {v:.1f} dB" for k, v in achieved.items()))
        result = SimulationResult(raw, timeline, gt, stims, signal, noise)
        out = root if root is not None else cfg.output
        if out is not None:
            result.bids_root = write_simulation_bids(result, cfg, out, overwrite=overwrite)
    return result


# ---------------------------------------------------------------------------------------------
# BIDS output and the ground-truth derivative
# ---------------------------------------------------------------------------------------------
def _datatype(sensors: str) -> str:
    return "eeg" if sensors == "eeg64" else "meg"


def write_simulation_bids(result: SimulationResult, cfg: SimulationConfig, root, overwrite: bool = False) -> Path:
    """Write a simulation as BIDS: recording, MEG-MASC-style events, stimuli, ground truth."""
    import mne_bids

    root = Path(root)
    dt = _datatype(cfg.sensors)
    bp = mne_bids.BIDSPath(subject=cfg.subject, session=cfg.session, task=cfg.task, run=cfg.run,
                           datatype=dt, root=root)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        mne_bids.write_raw_bids(result.raw, bp, format="FIF" if dt == "meg" else "BrainVision",
                                allow_preload=True, overwrite=overwrite, verbose="error")
    ev = bp.copy().update(suffix="events", extension=".tsv")
    result.timeline.to_megmasc_events().to_csv(ev.fpath, sep="\t", index=False, na_rep="n/a")
    Path(str(ev.fpath)[:-4] + ".json").write_text(json.dumps({
        "trial_type": {"Description": "MEG-MASC style: a Python-literal dict (parse with ast.literal_eval) "
                                      "with kind (sound/word/phoneme), story, sound_id, sound, start (s in the "
                                      "sound), word or phoneme (ARPAbet, lower case, _B/_I/_E/_S position), "
                                      "stimulus (neurorrn id)"},
        "value": {"Description": "1 sound, 2 word, 3 phoneme"},
    }, indent=2), encoding="utf-8")
    audio_dir = root / "stimuli" / "audio"
    for s in result.stimuli:
        write_wav(audio_dir / f"{s.id}.wav", s.audio, s.sfreq)
    al = pd.concat([s.alignments.assign(stimulus=s.id) for s in result.stimuli], ignore_index=True)
    al[["stimulus", "tier", "label", "start", "end"]].to_csv(root / "stimuli" / "alignments.tsv", sep="\t",
                                                               index=False)
    gt_dir = root / "derivatives" / GT_DIR
    gt_dir.mkdir(parents=True, exist_ok=True)
    (gt_dir / "dataset_description.json").write_text(json.dumps({
        "Name": "neurorrn ground truth", "BIDSVersion": "1.9.0", "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "neurorrn", "Version": __version__,
                         "Description": "kernels, sensor-level TRFs and predictors of the simulation"}],
    }, indent=2), encoding="utf-8")
    for part, path in _gt_paths(root, cfg.subject, cfg.task, cfg.session, cfg.run, dt).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        names = {"kernels": ["kernels", "gain", "source_pos", "source_ori"], "trf": ["sensor_trf"],
                 "predictors": ["predictors"]}[part]
        ds = result.ground_truth[names]
        if part != "predictors":
            ds = ds.drop_vars(TIME, errors="ignore")
        _to_netcdf(ds, path)
    return root


def _to_netcdf(ds: xr.Dataset, path: Path) -> None:
    from ..utils._io import atomic_path

    ds = ds.copy()
    for name in list(ds.coords):
        if ds[name].dtype == object:
            ds[name] = ds[name].astype(str)
    with atomic_path(path, overwrite=True) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")


def _gt_paths(root, subject, task, session, run, datatype) -> dict[str, Path]:
    base = Path(root) / "derivatives" / GT_DIR / f"sub-{subject}"
    if session:
        base = base / f"ses-{session}"
    stem = f"sub-{subject}" + (f"_ses-{session}" if session else "") + f"_task-{task}" + (f"_run-{run}" if run else "")
    return {p: base / datatype / f"{stem}_desc-{p}_groundtruth.nc" for p in ("kernels", "trf", "predictors")}


def load_ground_truth(root, subject: str, task: str | None = None, session: str | None = None,
                      run: str | None = None) -> xr.Dataset:
    """Read the simulator's ground truth for one recording as one Dataset.

    Variables ``kernels (feature, source, lag)``, ``sensor_trf (feature, sensor, lag)``,
    ``predictors (time, feature)``, ``gain (sensor, source)``, ``source_pos``, ``source_ori``.
    ``task`` may be omitted when the subject has one recording.
    """
    base = Path(root) / "derivatives" / GT_DIR / f"sub-{subject}"
    if not base.is_dir():
        raise FileNotFoundError(f"no ground truth for sub-{subject} under {Path(root) / 'derivatives' / GT_DIR}")
    found = sorted(base.rglob("*_desc-kernels_groundtruth.nc"))
    if task is not None:
        found = [f for f in found if f"_task-{task}" in f.name]
    if session is not None:
        found = [f for f in found if f"_ses-{session}" in f.name]
    if run is not None:
        found = [f for f in found if f"_run-{run}" in f.name]
    if len(found) != 1:
        raise FileNotFoundError(f"{base}: expected one ground-truth recording for task={task!r} "
                                f"session={session!r} run={run!r}, found {[f.name for f in found]}")
    parts = []
    for p in ("kernels", "trf", "predictors"):
        path = Path(str(found[0]).replace("_desc-kernels_", f"_desc-{p}_"))
        if not path.is_file():
            raise FileNotFoundError(f"ground truth part missing: {path}")
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            parts.append(ds.load())
    return xr.merge(parts, compat="override", join="outer", combine_attrs="override")


def noiseless_signal(ground_truth: xr.Dataset, features=None) -> xr.DataArray:
    """The noise-free sensor signal of a simulation, rebuilt from its saved ground truth.

    Every predictor in ``ground_truth["predictors"]`` is convolved with its kernel at every source
    and projected through the forward ``gain``: the stimulus-driven part of the recording, exactly
    :attr:`SimulationResult.signal` up to the float32 rounding of the saved predictors.  It is what
    a perfect encoding model would predict, so its correlation with the recording (after the same
    filtering) is the recording's noise ceiling.

    Parameters
    ----------
    ground_truth : Dataset
        :func:`load_ground_truth` (or ``SimulationResult.ground_truth``).
    features : list of str | None
        Only these predictors (e.g. the ``units:*`` ones); None: all.

    Returns
    -------
    DataArray (sensor, time), in the recording's units (T or V), ``time`` in s from its first sample.
    """
    validate_type(ground_truth, xr.Dataset, "ground_truth")
    missing = [v for v in ("kernels", "predictors", "gain") if v not in ground_truth]
    if missing:
        raise ValueError(f"ground_truth lacks {missing}; pass load_ground_truth(...) of a simulation")
    names = [str(f) for f in ground_truth[FEATURE].values]
    feats = names if features is None else [str(f) for f in features]
    unknown = sorted(set(feats) - set(names))
    if unknown:
        raise ValueError(f"features {unknown[:5]} are not in the ground truth; it has {names[:10]}")
    sf = float(ground_truth.attrs["sfreq"])
    lag0 = int(round(float(ground_truth[LAG].values[0]) * sf))
    K = ground_truth["kernels"].sel({FEATURE: feats}).transpose(FEATURE, SOURCE, LAG).values
    X = ground_truth["predictors"].sel({FEATURE: feats}).transpose(FEATURE, TIME).values.astype(np.float64)
    S = np.zeros((K.shape[1], X.shape[1]))
    for f in range(len(feats)):
        for j in range(K.shape[1]):
            if np.any(K[f, j]):
                S[j] += convolve_trf(X[f], K[f, j], lag0)[0]
    G = ground_truth["gain"].transpose(SENSOR, SOURCE)
    return xr.DataArray(G.values @ S, dims=(SENSOR, TIME),
                        coords={SENSOR: G[SENSOR].values, TIME: np.arange(X.shape[1]) / sf},
                        name="signal", attrs={"sfreq": sf, "features": ",".join(feats)})
