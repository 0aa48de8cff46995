"""Training-loop overhead and export throughput of ``neurorrn.models``.

1. Our :class:`~neurorrn.models.Trainer` against a bare PyTorch loop (forward, loss, backward,
   clip, Adam step, LR schedule) over the *same* model, initial weights and batches (the same
   permutation generator); both end with identical weights, which the script checks.  Reported:
   frames per second of each and our overhead in %.  Runs alternate (bare, ours, bare, ours, ...)
   and the medians are compared, so background load hits both alike.
2. Export throughput: frames per second written to an ActivationStore by
   :func:`~neurorrn.models.export_activations` (h of every layer, isolated mode), and in stream
   mode for ``h`` alone vs ``h``, ``c`` and the four gates (computed from ``h`` in one vectorised
   pass), on the short tokens and on one long stream (``--stream-frames``, run in 1000-frame
   blocks): the forward pass alone and written to a store, each as a ratio to ``h`` alone.
   Runs alternate (h, all, h, all, ...) and the best of ``--repeats`` is kept.
3. Stream training (:class:`~neurorrn.models.stream_training.StreamTrainer`, Brodbeck et al.
   2025) against a bare PyTorch truncated-BPTT loop over the same streams (the same sampler
   draws), model, initial weights and RMSprop: frames per second of each (identical final weights
   checked).

Usage::

    python benchmarks/bench_training.py [--hidden 128] [--features 64] [--tokens 256] [--epochs 2]
        [--repeats 3] [--threads 1] [--stream-epochs 3] [--stream-frames 6000]

Prints one JSON line.  Acceptance: overhead <= 10 %.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def make_data(n_tokens, n_features, seed=0):
    from neurorrn.models import FeatureSet

    rng = np.random.default_rng(seed)
    lengths = rng.integers(40, 76, n_tokens)
    arrays = [rng.normal(size=(n, n_features)).astype(np.float32) for n in lengths]
    words = [f"w{i % 100}" for i in range(n_tokens)]
    return FeatureSet.from_arrays(arrays, [f"s{i}" for i in range(n_tokens)], words, ["t"] * n_tokens, 100.0)


def bare_loop(model, data, targets, loss_fn, batch_size, epochs, seed, optim_cfg):
    from neurorrn.models.training import make_optimizer

    opt, sched = make_optimizer(model.parameters(), optim_cfg)
    gen = torch.Generator().manual_seed(seed)
    tmat = torch.from_numpy(targets.matrix)
    widx = torch.from_numpy(targets.indices(list(data.word)))
    n = data.n_tokens
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for b in range(0, n, batch_size):
            idx = perm[b : b + batch_size]
            x, lengths = data.batch(idx)
            logits, _ = model(x, None, lengths, pack=False)
            loss = loss_fn(logits, tmat[widx[idx]], lengths)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), optim_cfg.clip_norm)
            opt.step()
            sched.step()


def stream_bench(args):
    """Stream trainer vs a bare truncated-BPTT loop on the same streams."""
    from neurorrn.models import FeatureNormalizer, FeatureSet, LossConfig, NetworkConfig, OptimConfig, SpeechRNN, \
        make_loss, make_targets
    from neurorrn.models.stream_data import StreamSampler, TokenBank
    from neurorrn.models.stream_training import StreamSection, StreamTrainConfig, StreamTrainer

    rng = np.random.default_rng(0)
    n_tok = 120
    words = np.array([f"w{i % 40}" for i in range(n_tok)], dtype=object)
    feats = [rng.normal(size=(int(n), args.features)).astype(np.float32) for n in rng.integers(30, 70, n_tok)]
    bank = TokenBank(np.array([f"s{i}" for i in range(n_tok)], dtype=object), words,
                     np.array([f"t{i % 4}" for i in range(n_tok)], dtype=object), np.full(n_tok, "trained", object),
                     [], feats, np.array([len(f) for f in feats]), 16000.0, 100.0,
                     np.zeros(args.features, np.float32), None)
    targets = make_targets(sorted(set(words)), "localist")
    sampler = StreamSampler(bank, np.arange(n_tok), targets.index)
    fs = FeatureSet.from_arrays(feats, bank.stimulus, words, bank.talker, 100.0)
    norm = FeatureNormalizer("zscore").fit(fs)
    net_cfg = NetworkConfig(n_input=args.features, hidden_sizes=[args.hidden], n_output=targets.n_dims)
    optim_cfg = OptimConfig(kind="rmsprop", lr=1e-3, clip_norm=None)
    sect = StreamSection(segment_s=2.0, steps_per_epoch=5, noise_snr_db=None)
    loss_fn = make_loss(LossConfig(kind="cohort"))
    init = SpeechRNN(net_cfg, random_state=0).state_dict()
    E, B, L = args.stream_epochs, args.batch_size, 200
    frames = E * sect.steps_per_epoch * B * L

    def run_bare():
        from neurorrn.models.training import make_optimizer

        m = SpeechRNN(net_cfg)
        m.load_state_dict(init)
        opt, _ = make_optimizer(m.parameters(), optim_cfg)
        tm = torch.from_numpy(np.concatenate([np.zeros((1, targets.n_dims), np.float32), targets.matrix]))
        mean, scale = torch.from_numpy(norm.mean_), torch.from_numpy(norm.scale_)
        t0 = time.perf_counter()
        state = None
        for e in range(E):
            batch = sampler.draw(B, sect.steps_per_epoch * L, (0, e))
            words_t, region = torch.from_numpy(batch.word), torch.from_numpy(batch.region)
            for k in range(sect.steps_per_epoch):
                s = slice(k * L, (k + 1) * L)
                x = (torch.from_numpy(batch.features[:, s]) - mean) / scale
                logits, state = m(x, state)
                loss = loss_fn(logits, tm[words_t[:, s] + 1], None, region=region[:, s])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                state = [tuple(t.detach() for t in st) for st in state]
        return time.perf_counter() - t0, m

    def run_ours():
        m = SpeechRNN(net_cfg)
        m.load_state_dict(init)
        tr = StreamTrainer(m, targets, loss_fn, sampler, norm,
                           StreamTrainConfig(batch_size=B, max_epochs=E, eval_every=0, random_state=0),
                           optim_cfg, sect, verbose=False)
        t0 = time.perf_counter()
        tr.fit()
        return time.perf_counter() - t0, m

    run_bare(), run_ours()
    tb, to = [], []
    for _ in range(args.repeats):
        b, mb = run_bare()
        o, mo = run_ours()
        tb.append(b)
        to.append(o)
    same = all(torch.allclose(a, b, atol=1e-6) for a, b in zip(mb.state_dict().values(), mo.state_dict().values()))
    b, o = float(np.median(tb)), float(np.median(to))
    return {"stream_model": f"LSTM {args.features}->{args.hidden}->{targets.n_dims} (one-hot, cohort loss)",
            "stream_batch": B, "stream_segment_frames": L,
            "stream_bare_frames_per_s": round(frames / b, 1), "stream_ours_frames_per_s": round(frames / o, 1),
            "stream_overhead_pct": round(100 * (o - b) / b, 2), "stream_identical_weights": bool(same)}


COMPONENTS_ALL = ("h", "c", "input_gate", "forget_gate", "cell_input", "output_gate")


def long_stream_export_bench(bundle, n_features, n_frames, repeats, block_frames=1000):
    """h vs h + c + gates on one long stream: forward pass alone and written to a store (gzip, none).

    Each is timed on the wall clock and in this process's CPU time (less sensitive to other jobs
    on a shared machine); the best of ``repeats`` alternating runs is kept.
    """
    from neurorrn.models import FeatureSet, export_activations
    from neurorrn.models.export import _run

    x = np.random.default_rng(1).normal(size=(n_frames, n_features)).astype(np.float32)
    model = bundle.build_model()
    fs = FeatureSet.from_arrays([x], ["story"], [""], [""], 100.0)

    def forward(components, tmp):
        state = None
        for a in range(0, n_frames, block_frames):
            outs, state = _run(model, torch.from_numpy(x[a:a + block_frames])[None], None, components, state)
            torch.cat(outs, dim=-1)[0].numpy()

    def written(components, tmp, compression="gzip"):
        export_activations(bundle, fs, Path(tmp) / "s.nc", mode="stream", block_frames=block_frames,
                           components=components, overwrite=True, normalize=False, compression=compression)

    def raw(components, tmp):
        written(components, tmp, None)

    runs = {("forward", "h"): (forward, ("h",)), ("forward", "all"): (forward, COMPONENTS_ALL),
            ("store", "h"): (written, ("h",)), ("store", "all"): (written, COMPONENTS_ALL),
            ("store_uncompressed", "h"): (raw, ("h",)), ("store_uncompressed", "all"): (raw, COMPONENTS_ALL)}
    wall = {k: [] for k in runs}
    cpu = {k: [] for k in runs}
    with tempfile.TemporaryDirectory() as tmp:
        forward(("h",), tmp), forward(COMPONENTS_ALL, tmp)  # warm-up
        for _ in range(repeats):
            for k, (fn, comps) in runs.items():
                w0, c0 = time.perf_counter(), time.process_time()
                fn(comps, tmp)
                wall[k].append(time.perf_counter() - w0)
                cpu[k].append(time.process_time() - c0)
    out = {"long_stream_frames": n_frames, "long_stream_block_frames": block_frames}
    for what in ("forward", "store", "store_uncompressed"):
        for clock, t in (("wall", wall), ("cpu", cpu)):
            th, ta = min(t[(what, "h")]), min(t[(what, "all")])
            out[f"long_stream_{what}_h_frames_per_{clock}_s"] = round(n_frames / th, 1)
            out[f"long_stream_{what}_h_c_gates_frames_per_{clock}_s"] = round(n_frames / ta, 1)
            out[f"long_stream_{what}_ratio_all_to_h_{clock}"] = round(th / ta, 3)
    return out


def main(argv=None):
    from neurorrn.models import (FeatureNormalizer, ModelBundle, NetworkConfig, OptimConfig, SpeechRNN, TrainConfig,
                                 Trainer, export_activations, make_loss, make_targets)

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--stream-epochs", type=int, default=3)
    ap.add_argument("--stream-frames", type=int, default=6000, help="frames of the long export stream")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    load0, wall0, cpu0 = os.getloadavg()[0], time.perf_counter(), time.process_time()

    data = make_data(args.tokens, args.features)
    targets = make_targets(sorted(set(data.word)), "srv")
    net_cfg = NetworkConfig(n_input=args.features, hidden_sizes=[args.hidden], n_output=300)
    optim_cfg = OptimConfig(kind="adam_noam", lr=0.002, warmup_steps=100)
    loss_fn = make_loss("earshot")
    torch.manual_seed(0)
    init = SpeechRNN(net_cfg).state_dict()
    frames = int(data.lengths.sum()) * args.epochs

    def run_bare():
        m = SpeechRNN(net_cfg)
        m.load_state_dict(init)
        t0 = time.perf_counter()
        bare_loop(m, data, targets, loss_fn, args.batch_size, args.epochs, 0, optim_cfg)
        return time.perf_counter() - t0, m

    def run_ours():
        m = SpeechRNN(net_cfg)
        m.load_state_dict(init)
        tr = Trainer(m, targets, loss_fn, TrainConfig(batch_size=args.batch_size, max_epochs=args.epochs,
                                                       carry_state=False, random_state=0, checkpoint_every=0),
                     optim_cfg, verbose=False)
        t0 = time.perf_counter()
        tr.fit(data)
        return time.perf_counter() - t0, m

    run_bare(), run_ours()  # warm-up
    t_bare, t_ours = [], []
    for _ in range(args.repeats):
        tb, mb = run_bare()
        to, mo = run_ours()
        t_bare.append(tb)
        t_ours.append(to)
    same = all(torch.equal(a, b) for a, b in zip(mb.state_dict().values(), mo.state_dict().values()))
    tb, to = float(np.median(t_bare)), float(np.median(t_ours))

    # export throughput
    norm = FeatureNormalizer("none").fit(data)
    bundle = ModelBundle(net_cfg, mo.state_dict(), targets, {"kind": "synthetic", "params": {}, "frame_rate": 100.0,
                                                             "sfreq": None, "n_features": args.features}, norm)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        export_activations(bundle, data, Path(tmp) / "acts.nc", batch_size=64)
        t_exp = time.perf_counter() - t0
        size_mb = (Path(tmp) / "acts.nc").stat().st_size / 1e6
        t_h, t_all = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            export_activations(bundle, data, Path(tmp) / "h.nc", mode="stream", batch_size=64, overwrite=True)
            t_h.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            export_activations(bundle, data, Path(tmp) / "all.nc", mode="stream", batch_size=64,
                               components=COMPONENTS_ALL, overwrite=True)
            t_all.append(time.perf_counter() - t0)
        t_h, t_all = min(t_h), min(t_all)

    out = {
        "benchmark": "bench_training",
        "model": f"LSTM {args.features}->{args.hidden}->300",
        "tokens": args.tokens, "batch_size": args.batch_size, "epochs": args.epochs, "threads": args.threads,
        "bare_frames_per_s": round(frames / tb, 1),
        "ours_frames_per_s": round(frames / to, 1),
        "overhead_pct": round(100 * (to - tb) / tb, 2),
        "bare_s": [round(t, 3) for t in t_bare], "ours_s": [round(t, 3) for t in t_ours],
        "identical_weights": bool(same),
        "export_frames_per_s": round(int(data.lengths.sum()) / t_exp, 1),
        "export_store_mb": round(size_mb, 2),
        "stream_export_h_frames_per_s": round(int(data.lengths.sum()) / t_h, 1),
        "stream_export_h_c_gates_frames_per_s": round(int(data.lengths.sum()) / t_all, 1),
        "stream_export_ratio_all_to_h": round(t_h / t_all, 3),
        **long_stream_export_bench(bundle, args.features, args.stream_frames, args.repeats),
        **stream_bench(args),
        "machine": platform.platform(), "torch": torch.__version__,
        "wall_s": round(time.perf_counter() - wall0, 1), "cpu_s": round(time.process_time() - cpu0, 1),
        "load_avg_1min": [round(load0, 2), round(os.getloadavg()[0], 2)], "cpus": os.cpu_count(),
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
