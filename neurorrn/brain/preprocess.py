"""Preprocessing long recordings in chunks: band-pass, notch, resampling, bad channels, ICA.

:func:`preprocess` reads the recording a chunk at a time (``raw.get_data(start, stop)`` works on
files that are not loaded), filters each chunk with one zero-phase FIR filter (MNE's
``firwin`` design: the band-pass and the line-frequency notches convolved into one kernel),
resamples it with a polyphase filter (:func:`scipy.signal.resample_poly`) and writes the
result into the (small) output array.  Each chunk is read with enough real neighbouring samples
on both sides to cover the filters' half-lengths, so the chunked result equals processing the
whole recording at once (the test checks this to float precision); at the recording's edges the
signal is extended by odd reflection, as MNE's ``reflect_limited`` padding does.

Memory is the output (``n_channels x n_times_out`` float64) plus one padded chunk of
``chunk_channels`` channels; an hour of 306-channel 1 kHz data brought to 100 Hz needs well
under 4 GB (``benchmarks/bench_preprocess_memory.py``).

Bad channels (``bads='auto'``) are found on the preprocessed data from robust z-scores of the log
variance within each channel type (flat or noisy channels); ICA (optional) is fitted through
:class:`mne.preprocessing.ICA` on a 1 Hz high-passed copy of the (already downsampled) output and
removes components correlated with the EOG channels.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import scipy.signal

from ..utils._check import check_positive, validate_type
from ..utils._logging import logger, progress, use_log_level


def design_filter(sfreq: float, l_freq: float | None, h_freq: float | None,
                  notch_freqs=(), notch_width: float | None = None, trans_bandwidth: float = 1.0) -> np.ndarray:
    """One zero-phase FIR kernel: MNE ``firwin`` band-pass convolved with band-stop notches.

    Returns an odd-length symmetric kernel (or ``[1.]`` when nothing is asked).
    """
    import mne

    h = np.ones(1)
    if l_freq is not None or h_freq is not None:
        h = mne.filter.create_filter(None, sfreq, l_freq, h_freq, method="fir", fir_design="firwin",
                                     phase="zero", verbose="error")
    for f in notch_freqs:
        w = f / 200.0 if notch_width is None else notch_width
        tb2 = trans_bandwidth / 2.0  # as mne.filter.notch_filter
        hn = mne.filter.create_filter(None, sfreq, f + w / 2.0 + tb2, f - w / 2.0 - tb2, l_trans_bandwidth=tb2,
                                      h_trans_bandwidth=tb2, method="fir",
                                      fir_design="firwin", phase="zero", verbose="error")
        h = np.convolve(h, hn)
    return h


def _ratio(sfreq_in: float, sfreq_out: float | None) -> tuple[int, int]:
    if sfreq_out is None or np.isclose(sfreq_in, sfreq_out):
        return 1, 1
    fr = Fraction(float(sfreq_out) / float(sfreq_in)).limit_denominator(10000)
    if not np.isclose(fr.numerator / fr.denominator * sfreq_in, sfreq_out, rtol=1e-9):
        raise ValueError(f"cannot resample {sfreq_in:g} Hz to {sfreq_out:g} Hz with a rational factor "
                         "of denominator <= 10000")
    return fr.numerator, fr.denominator


def _read_ext(get, n: int, a: int, b: int) -> np.ndarray:
    """Samples ``[a, b)`` of the signal extended beyond ``[0, n)`` by odd reflection."""
    lo, hi = max(a, 0), min(b, n)
    mid = get(lo, hi)
    parts = []
    if a < 0:
        k = -a
        if k >= n:
            raise ValueError(f"recording of {n} samples is shorter than the filter padding ({k} samples); "
                             "use a shorter filter (higher l_freq) or a longer recording")
        edge = get(0, k + 1)
        parts.append(2 * edge[:, :1] - edge[:, k:0:-1])
    parts.append(mid)
    if b > n:
        k = b - n
        if k >= n:
            raise ValueError(f"recording of {n} samples is shorter than the filter padding ({k} samples)")
        edge = get(n - k - 1, n)
        parts.append(2 * edge[:, -1:] - edge[:, -2:-k - 2:-1])
    return np.concatenate(parts, axis=1) if len(parts) > 1 else mid


def filter_resample(get, n_times: int, n_channels: int, sfreq: float, h: np.ndarray, up: int = 1,
                    down: int = 1, chunk: int | None = None, out: np.ndarray | None = None,
                    channel_block: int = 64, verbose=None) -> np.ndarray:
    """Kernel: zero-phase FIR filter ``h`` then polyphase resampling ``up/down``, chunk by chunk.

    Parameters
    ----------
    get : callable
        ``get(start, stop) -> array of shape (n_channels, stop - start)``.
    n_times : int
        Length of the input.
    h : array of shape (n_taps,)
        Symmetric FIR kernel (odd length).
    chunk : int | None
        Input samples per chunk (rounded up to a multiple of ``down``); None = all at once.
    channel_block : int
        Channels filtered together (bounds the FFT work space); each chunk is read once.

    Returns
    -------
    y : array of shape (n_channels, ceil(n_times * up / down))
    """
    half = (len(h) - 1) // 2
    n_out = -(-n_times * up // down)
    if out is None:
        out = np.empty((n_channels, n_out))
    # resample_poly's default anti-alias filter has 2 * 10 * max(up, down) + 1 taps at the up rate
    r_half = 0 if up == down == 1 else -(-10 * max(up, down) // up) + down
    pad_r = -(-r_half // down) * down
    chunk = n_times if chunk is None else int(chunk)
    chunk = max(down, -(-chunk // down) * down)
    starts = range(0, n_times, chunk)
    for s in progress(starts, total=len(starts), desc="filter+resample", verbose=verbose):
        e = min(s + chunk, n_times)
        a, b = s - pad_r - half, e + pad_r + half
        x = _read_ext(get, n_times, a, b)  # all channels of this chunk, read once
        o0 = s * up // down
        o1 = min(n_out, -(-e * up // down))
        k0 = pad_r * up // down
        for c0 in range(0, n_channels, channel_block):
            xc = x[c0:c0 + channel_block]
            # y covers input samples [s - pad_r, e + pad_r)
            y = scipy.signal.oaconvolve(xc, h[None, :], mode="valid", axes=1) if len(h) > 1 else xc
            if up == down == 1:
                out[c0:c0 + channel_block, s:e] = y[:, pad_r:pad_r + (e - s)]
                continue
            z = scipy.signal.resample_poly(y, up, down, axis=1)
            out[c0:c0 + channel_block, o0:o1] = z[:, k0:k0 + (o1 - o0)]
        del x
    return out


def find_bad_channels(data: np.ndarray, ch_types, threshold: float = 5.0,
                      check_types=("mag", "grad", "eeg", "seeg", "ecog")) -> list[int]:
    """Indices of flat or noisy channels: robust z of log variance beyond ``threshold`` within a type.

    Variances are computed one channel at a time, so no copy of ``data`` is made.
    """
    ch_types = np.asarray(ch_types)
    bads = []
    for t in np.unique(ch_types):
        if t not in check_types:
            continue
        idx = np.flatnonzero(ch_types == t)
        if idx.size < 4:
            continue
        v = np.log10(np.array([np.var(data[i]) for i in idx]) + np.finfo(float).tiny)
        med = np.median(v)
        mad = 1.4826 * np.median(np.abs(v - med)) or 1e-12
        z = (v - med) / mad
        bads.extend(idx[np.abs(z) > threshold].tolist())
    return sorted(bads)


def preprocess(raw, l_freq: float | None = 0.5, h_freq: float | None = 40.0, sfreq: float | None = 100.0,
               notch="auto", bads=None, interpolate: bool = False, ica=None, chunk_duration: float = 60.0,
               chunk_channels: int = 64, keep_stim_events: bool = True, origin=(0.0, 0.0, 0.04),
               random_state=None, verbose=None):
    """Band-pass, notch, resample, mark bad channels and optionally run ICA, in chunks.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Any MNE recording; it need not be loaded (data are read chunk by chunk).
    l_freq, h_freq : float | None
        Band edges (Hz) of the FIR band-pass (MNE ``firwin`` defaults for transition bands).
    sfreq : float | None
        Output rate (None keeps the input rate).
    notch : 'auto' | list of float | None
        Line-noise notches; 'auto' = multiples of ``raw.info['line_freq']`` below the band's
        upper edge and the Nyquist frequency.
    bads : None | 'auto' | list of str
        Bad channels to mark (added to ``info['bads']``); 'auto' detects them.
    interpolate : bool
        Interpolate bad channels (spherical splines / field mapping through MNE, about ``origin``).
    ica : None | int | dict
        Run ICA with this many components (or ``dict(n_components=, method=)``), removing the
        components that :meth:`mne.preprocessing.ICA.find_bads_eog` flags.
    chunk_duration : float
        Seconds of input per chunk.
    chunk_channels : int
        Channels filtered together (bounds the FFT work space).
    keep_stim_events : bool
        Stim channels are dropped; their events become annotations ``'trigger/<value>'``.
    random_state : int | None
        Seed for ICA.

    Returns
    -------
    out : mne.io.RawArray
        The preprocessed recording (``info`` updated: ``sfreq``, ``highpass``, ``lowpass``,
        ``bads``); annotations are kept.  ``out.info['description']`` records the steps.
        Channels holding NaN or Inf are marked bad and set to 0, with a :class:`NeurorrnWarning`.
    """
    import mne

    validate_type(raw, mne.io.BaseRaw, "raw")
    check_positive(chunk_duration, "chunk_duration")
    with use_log_level(verbose):
        sf_in = raw.info["sfreq"]
        up, down = _ratio(sf_in, sfreq)
        sf_out = sf_in * up / down
        nyq_out = sf_out / 2.0
        if h_freq is not None and h_freq >= nyq_out:
            raise ValueError(f"h_freq={h_freq:g} Hz must be below the output Nyquist frequency {nyq_out:g} Hz")
        if notch == "auto":
            lf = raw.info["line_freq"]
            top = min(h_freq if h_freq is not None else np.inf, sf_in / 2.0)
            notch = [] if lf is None else [float(lf) * k for k in range(1, 20) if lf * k < top - 1.0]
        notch = list(notch or [])
        h = design_filter(sf_in, l_freq, h_freq, notch)
        stim = mne.pick_types(raw.info, stim=True, exclude=[])
        picks = np.setdiff1d(np.arange(len(raw.ch_names)), stim)
        n_times = raw.n_times
        n_out = -(-n_times * up // down)
        data = np.empty((len(picks), n_out))
        logger.info("preprocess: %d channels, %d samples at %g Hz -> %g Hz, FIR %d taps, notch %s",
                    len(picks), n_times, sf_in, sf_out, len(h), notch)
        chunk = int(round(chunk_duration * sf_in))

        def get(a, b):
            return raw.get_data(picks=picks, start=a, stop=b, verbose="error")

        # a channel holding NaN/Inf filters to NaN; _mark_nonfinite below names it in one warning,
        # so numpy's own "invalid value" warnings from the filter would only repeat it
        with np.errstate(invalid="ignore", over="ignore"):
            filter_resample(get, n_times, len(picks), sf_in, h, up, down, chunk, out=data,
                            channel_block=chunk_channels, verbose=verbose)
        info = mne.pick_info(raw.info, picks)
        with info._unlock():
            info["sfreq"] = sf_out
            if l_freq is not None:
                info["highpass"] = float(l_freq)
            info["lowpass"] = float(min(h_freq if h_freq is not None else nyq_out, nyq_out))
            info["description"] = (f"neurorrn.preprocess: bandpass {l_freq}-{h_freq} Hz, notch {notch}, "
                                   f"resampled {sf_in:g}->{sf_out:g} Hz")
        out = mne.io.RawArray(data, info, first_samp=int(round(raw.first_samp * up / down)), copy="info",
                              verbose="error")
        del data
        ann = raw.annotations.copy()
        if keep_stim_events and len(stim):
            events = mne.find_events(raw, stim_channel=[raw.ch_names[i] for i in stim], shortest_event=1,
                                     verbose="error")
            if len(events):
                t = (events[:, 0] - raw.first_samp) / sf_in  # from the first sample
                if ann.orig_time is not None:
                    t = t + raw.first_time
                ann += mne.Annotations(t, 0.0, [f"trigger/{v}" for v in events[:, 2]], orig_time=ann.orig_time)
        out.set_annotations(ann)
        _mark_nonfinite(out)
        if bads == "auto":
            found = find_bad_channels(out._data, out.get_channel_types())
            bads = [out.ch_names[i] for i in found]
            logger.info("preprocess: bad channels %s", bads)
        if bads:
            missing = [b for b in bads if b not in out.ch_names]
            if missing:
                raise ValueError(f"bads: unknown channel(s) {missing}")
            out.info["bads"] = sorted(set(out.info["bads"]) | set(bads))
        if ica is not None:
            out = _run_ica(out, ica, random_state)
        if interpolate and out.info["bads"]:
            out.interpolate_bads(reset_bads=True, origin=origin, verbose="error")
    return out


def _mark_nonfinite(out) -> list[str]:
    """Channels with NaN/Inf after filtering: marked bad, their data set to 0, and a warning.

    A single NaN sample spreads over the filter's length in its channel (channels are filtered
    independently), so such a channel cannot be used; the others are unaffected.
    """
    from ..utils._logging import warn

    bad_rows = [i for i in range(out._data.shape[0]) if not np.isfinite(out._data[i]).all()]
    if not bad_rows:
        return []
    names = [out.ch_names[i] for i in bad_rows]
    counts = [int((~np.isfinite(out._data[i])).sum()) for i in bad_rows]
    for i in bad_rows:
        out._data[i] = 0.0
    out.info["bads"] = sorted(set(out.info["bads"]) | set(names))
    warn(f"preprocess: channel(s) {names[:10]} hold NaN or Inf ({counts[:10]} non-finite samples after "
         "filtering); they are marked bad and set to 0")
    return names


def _run_ica(raw, ica, random_state):
    import mne

    opts = {"n_components": ica} if isinstance(ica, int) else dict(ica)
    opts.setdefault("method", "fastica")
    seed = None if random_state is None else int(np.random.default_rng(random_state).integers(2**31))
    model = mne.preprocessing.ICA(random_state=seed, max_iter="auto", verbose="error", **opts)
    fit_raw = raw.copy().filter(1.0, None, verbose="error") if raw.info["highpass"] < 1.0 else raw
    model.fit(fit_raw, verbose="error")
    eog = mne.pick_types(raw.info, eog=True)
    if len(eog):
        idx, _ = model.find_bads_eog(raw, verbose="error")
        model.exclude = list(idx)
        logger.info("ICA: removing EOG-related components %s", model.exclude)
    out = model.apply(raw.copy(), verbose="error")
    with out.info._unlock():
        out.info["description"] = (out.info["description"] or "") + f"; ICA removed {list(model.exclude)}"
    return out

