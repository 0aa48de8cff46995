"""Peak memory of chunked preprocessing on a simulated 60-minute, 306-channel, 1 kHz recording.

The recording is an :class:`mne.io.BaseRaw` whose samples are generated on demand (Neuromag 306
canonical channels; line noise at 50/100/150 Hz, a 10 Hz rhythm, a slow drift and white sensor
noise, all deterministic functions of the sample index), so, like a FIF file opened with
``preload=False``, it is never held in memory: loaded at once it would take 8.8 GB in float64.
``--on-disk`` first streams it into a FIF file and preprocesses that instead.

``neurorrn.brain.preprocess`` band-passes (0.5-40 Hz FIR), notches 50 Hz, resamples to 100 Hz
and finds bad channels.  Prints one JSON object with the peak resident memory (``ru_maxrss``) of
the process doing the preprocessing, the time taken and the output shape; the target is < 4 GB.

Usage::

    python benchmarks/bench_preprocess_memory.py [--minutes 60] [--channels 306] [--on-disk DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time

import numpy as np


def make_lazy_raw(minutes: float = 60.0, sfreq: float = 1000.0, n_channels: int = 306, seed: int = 0):
    import mne
    from mne._fiff.utils import _mult_cal_one
    from mne.io import BaseRaw

    info = mne.channels.read_meg_canonical_info("neuromag")
    if n_channels < len(info["ch_names"]):
        info = mne.pick_info(info, np.arange(n_channels))
    with info._unlock():
        info["sfreq"] = sfreq
        info["lowpass"] = sfreq / 2
        info["line_freq"] = 50.0
        for ch in info["chs"]:
            ch["cal"], ch["range"] = 1.0, 1.0
    n_times = int(round(minutes * 60 * sfreq))
    rng = np.random.default_rng(seed)
    n_ch = len(info["ch_names"])
    types = np.array(info.get_channel_types())
    scale = np.where(types == "mag", 20e-15, 4e-12)
    line_amp = rng.standard_normal(n_ch) * scale * 5
    alpha_amp = rng.standard_normal(n_ch) * scale * 3
    phases = rng.uniform(0, 2 * np.pi, (4, n_ch))
    block = 10000
    freqs = (50.0, 100.0, 150.0, 10.0, 0.02)  # line + harmonics, alpha, drift
    amps = [line_amp, line_amp / 2, line_amp / 3, alpha_amp, scale * 10]
    ph = np.concatenate([phases, rng.uniform(0, 2 * np.pi, (1, n_ch))])
    coefs = np.concatenate([np.stack([a * np.cos(p), a * np.sin(p)], axis=1) for a, p in zip(amps, ph)], axis=1)

    class LazySimRaw(BaseRaw):
        def __init__(self):
            super().__init__(info, preload=False, first_samps=[0], last_samps=[n_times - 1],
                             filenames=[None], raw_extras=[{}], orig_format="double", verbose="error")

        def _read_segment_file(self, data, idx, fi, start, stop, cals, mult):
            t = np.arange(start, stop) / sfreq
            out = np.empty((n_ch, stop - start))
            b0, b1 = start // block, (stop - 1) // block
            for b in range(b0, b1 + 1):  # white noise, reproducible for any [start, stop)
                noise = np.random.default_rng((seed, b)).standard_normal((n_ch, block))
                lo, hi = max(start, b * block), min(stop, (b + 1) * block)
                out[:, lo - start:hi - start] = noise[:, lo - b * block:hi - b * block]
            out *= scale[:, None]
            # sinusoids with per-channel amplitude and phase as one matrix product:
            # A sin(wt + p) = A cos(p) sin(wt) + A sin(p) cos(wt)
            basis = np.concatenate([np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)])
                                    for f in freqs])
            out += coefs @ basis
            _mult_cal_one(data, out, idx, cals, mult)

    return LazySimRaw()


def main(argv=None) -> dict:
    import mne

    from neurorrn.brain import preprocess

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--channels", type=int, default=306)
    p.add_argument("--sfreq", type=float, default=1000.0)
    p.add_argument("--chunk", type=float, default=60.0, help="seconds per chunk")
    p.add_argument("--on-disk", default=None, help="folder: stream the recording into a FIF file first")
    args = p.parse_args(argv)

    raw = make_lazy_raw(args.minutes, args.sfreq, args.channels)
    source = "generated on demand (lazy BaseRaw)"
    if args.on_disk:
        from pathlib import Path

        path = Path(args.on_disk) / "bench_sim_raw.fif"
        t0 = time.perf_counter()
        raw.save(path, fmt="single", overwrite=True, buffer_size_sec=10.0, verbose="error")
        raw = mne.io.read_raw_fif(path, preload=False, verbose="error")
        source = f"FIF on disk ({time.perf_counter() - t0:.0f} s to write), preload=False"
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    t0 = time.perf_counter()
    out = preprocess(raw, l_freq=0.5, h_freq=40.0, sfreq=100.0, notch=[50.0], bads="auto",
                     chunk_duration=args.chunk)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    result = {
        "benchmark": "preprocess_memory",
        "recording": {"minutes": args.minutes, "channels": len(raw.ch_names), "sfreq": args.sfreq,
                      "n_times": int(raw.n_times), "size_if_loaded_gb": round(raw.n_times * len(raw.ch_names) * 8 / 1024**3, 2),
                      "source": source},
        "steps": "FIR band-pass 0.5-40 Hz (firwin) + 50 Hz notch, resample to 100 Hz, auto bad channels",
        "chunk_s": args.chunk,
        "output_shape": [len(out.ch_names), int(out.n_times)],
        "peak_rss_gb": round(peak, 3),
        "rss_before_preprocess_gb": round(rss0, 3),
        "seconds": round(elapsed, 1),
        "target_gb": 4.0,
        "pass": bool(peak < 4.0),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "mne": mne.__version__, "numpy": np.__version__},
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
