import json

import numpy as np
import pytest
import torch

from neurorrn.models import (FeatureSet, NetworkConfig, OptimConfig, SpeechRNN, TrainConfig, Trainer, accuracy,
                             evaluate_network, load_checkpoint, make_loss, make_targets, noam_factor)
from neurorrn.models.training import EarlyStoppingConfig, make_optimizer


def _setup(planted, cell="lstm", carry=True, batch_size=5, seed=0, optim=None, **train_kw):
    data = FeatureSet.from_xarray(planted)
    tg = make_targets(sorted(set(data.word)), "srv", n_dims=24, n_active=4, random_state=1)
    torch.manual_seed(seed)
    model = SpeechRNN(NetworkConfig(cell=cell, n_input=data.n_features, hidden_sizes=[16], n_output=24))
    cfg = TrainConfig(batch_size=batch_size, carry_state=carry, random_state=seed, checkpoint_every=0, **train_kw)
    tr = Trainer(model, tg, make_loss("earshot"), cfg, optim or OptimConfig(kind="adam", lr=0.02))
    return data, tg, model, tr


def test_noam_schedule_peaks_at_warmup():
    assert noam_factor(4000, 4000) == pytest.approx(1.0)
    assert noam_factor(1, 4000) == pytest.approx(1 / 4000)
    assert noam_factor(2000, 4000) == pytest.approx(0.5)
    assert noam_factor(16000, 4000) == pytest.approx(0.5)
    p = torch.nn.Parameter(torch.zeros(1))
    opt, sched = make_optimizer([p], OptimConfig())  # EARSHOT: Adam, peak 0.002 at step 4000
    lrs = []
    for _ in range(3):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.002 / 4000, 0.002 * 2 / 4000, 0.002 * 3 / 4000])
    assert 0.002 * sched.lr_lambdas[0](3999) == pytest.approx(0.002)  # scheduler step 3999 = optimiser step 4000
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["eps"] == 1e-8
    opt2, _ = make_optimizer([p], OptimConfig(kind="rmsprop", lr=1e-3))
    assert isinstance(opt2, torch.optim.RMSprop)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_learns_planted_words(planted, make_planted, cell):
    data, tg, model, tr = _setup(planted, cell=cell, max_epochs=60)
    tr.fit(data)
    assert tr.history_[-1]["train_loss"] < tr.history_[0]["train_loss"]
    # new tokens of the same words (fresh noise and durations): generalisation, not memorised noise
    fresh = FeatureSet.from_xarray(make_planted(noise_seed=99))
    ds = evaluate_network(model, fresh, tg)
    assert float(accuracy(ds).sel(criterion="time_dependent", split="all")) >= 0.8
    # cohort pairs share their first segment (6-8 frames): recognition mostly waits for the second one
    assert float(ds["rt"].sel(criterion="time_dependent").median()) >= 4


def test_resume_is_bit_identical(planted, tmp_path):
    n = 12  # steps; 18 tokens / batch 5 = 4 steps per epoch, so N/2 stops mid-epoch
    _, _, m_full, tr_full = _setup(planted, optim=OptimConfig(kind="adam_noam", lr=0.01, warmup_steps=5),
                                   max_epochs=100)
    data = FeatureSet.from_xarray(planted)
    tr_full.fit(data, max_steps=n)
    _, _, m_a, tr_a = _setup(planted, optim=OptimConfig(kind="adam_noam", lr=0.01, warmup_steps=5), max_epochs=100)
    tr_a.fit(data, max_steps=n // 2)
    ck = tr_a.save(tmp_path / "ck.pt")
    # a fresh process-equivalent: new model with other initial weights, new trainer, then resume
    _, _, m_b, tr_b = _setup(planted, optim=OptimConfig(kind="adam_noam", lr=0.01, warmup_steps=5), max_epochs=100,
                             seed=0)
    with torch.no_grad():
        for p in m_b.parameters():
            p.add_(1.0)
    tr_b.resume(ck)
    assert tr_b.step_ == n // 2 and tr_b._carry is not None
    tr_b.fit(data, max_steps=n)
    assert tr_b.step_ == n
    for (k, a), (_, b) in zip(m_full.state_dict().items(), m_b.state_dict().items()):
        assert torch.equal(a, b), k
    assert [h["train_loss"] for h in tr_b.history_] == [h["train_loss"] for h in tr_full.history_]


def test_checkpoint_contents_and_errors(planted, tmp_path):
    data, _, _, tr = _setup(planted, max_epochs=2)
    tr.fit(data)
    path = tr.save(tmp_path / "c.pt")
    ck = load_checkpoint(path)
    for key in ("model", "optimizer", "scheduler", "generator", "torch_rng", "train_config", "step", "history", "carry"):
        assert key in ck
    assert ck["step"] == 8 and len(json.loads(ck["history"])) == 2
    torch.save({"x": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="is not a neurorrn checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")
    _, _, _, tr_gru = _setup(planted, cell="gru")
    with pytest.raises(ValueError, match="checkpoint network .* differs from this model's"):
        tr_gru.resume(path)


def test_carry_state_changes_training(planted):
    data = FeatureSet.from_xarray(planted)
    _, _, m1, t1 = _setup(planted, carry=True, max_epochs=3)
    _, _, m2, t2 = _setup(planted, carry=False, max_epochs=3)
    t1.fit(data)
    t2.fit(data)
    assert t2._carry is None and t1._carry is not None
    assert t1._carry[0][0].shape[1] == 3  # the last batch of 18 tokens by 5 has 3 rows
    assert not torch.equal(m1.readout.weight, m2.readout.weight)


def test_early_stopping_and_logs(planted, tmp_path):
    data, tg, model, tr = _setup(planted, max_epochs=500, eval_every=2,
                                 early_stopping=EarlyStoppingConfig(monitor="val_acc", mode="max", stop_value=0.99))
    tr.out_dir = tmp_path

    def validate(m):
        ds = evaluate_network(m, data, tg, criteria=("time_dependent",))
        return {"val_acc": float(accuracy(ds).sel(criterion="time_dependent", split="all"))}

    tr.validate = validate
    tr.fit(data)
    assert tr.epoch_ < 500 and tr.history_[-1]["val_acc"] >= 0.99
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == tr.epoch_ and "train_loss" in json.loads(lines[0])
    assert (tmp_path / "best.pt").exists() and (tmp_path / "checkpoint.pt").exists()


def test_patience(planted):
    data, _, _, tr = _setup(planted, max_epochs=50,
                            early_stopping=EarlyStoppingConfig(monitor="train_loss", patience=2, min_delta=10.0))
    tr.fit(data)
    assert tr.epoch_ == 3  # first value is the best; two more without a 10.0 improvement


def test_training_errors(planted):
    data, _, model, tr = _setup(planted)
    data.features = data.features[:, :, :5]
    with pytest.raises(ValueError, match="features have 5 channels; the network expects 12"):
        tr.fit(data)
    with pytest.raises(RuntimeError, match="no CUDA device is available"):
        if torch.cuda.is_available():
            raise RuntimeError("no CUDA device is available (skipped on GPU machines)")
        Trainer(model, None, None, TrainConfig(device="cuda"))


def _ddp_worker(rank, world, port, planted_nc, out):
    import os

    import torch.distributed as dist
    import xarray as xr

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    planted = xr.load_dataarray(planted_nc)
    data, _, model, tr = _setup(planted, batch_size=6, max_epochs=1, carry=False,
                                optim=OptimConfig(kind="adam", lr=0.01, clip_norm=None))
    tr.fit(data)  # ends with a barrier: both ranks are done with the group here
    torch.save({k: v.clone() for k, v in model.state_dict().items()}, f"{out}/rank{rank}.pt")
    # no destroy_process_group(): gloo's teardown is where the deadlock was seen; run_ranks leaves
    # each rank with os._exit, so no destructor runs


def test_ddp_gloo_two_processes_matches_single_process(tmp_path, make_planted, ranks):
    """DDP on CPU: 2 ranks with half batches give the same weights as 1 process with full batches.

    Equal-length tokens make the mean of the ranks' mean losses equal the full-batch mean.
    """
    import socket

    planted = make_planted()
    planted = planted.isel(time=slice(0, 18))
    planted = planted.assign_coords(n_frames=("stimulus", np.full(planted.sizes["stimulus"], 18)))
    planted.values[:] = np.nan_to_num(planted.values, nan=0.1)
    nc = tmp_path / "planted.nc"
    planted.to_netcdf(nc, engine="h5netcdf")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # forked ranks, each leaving with os._exit, killed after 240 s
    ranks(_ddp_worker, 2, args=(2, port, str(nc), str(tmp_path)), timeout=240)
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    data, _, model, tr = _setup(planted, batch_size=6, max_epochs=1, carry=False,
                                optim=OptimConfig(kind="adam", lr=0.01, clip_norm=None))
    tr.fit(data)
    for k, v in model.state_dict().items():
        assert torch.equal(r0[k], r1[k]), k
        torch.testing.assert_close(r0[k], v, atol=1e-5, rtol=1e-4)


def _never_exits(rank, marker):
    import time

    open(f"{marker}{rank}", "w").close()
    while True:  # a rank stuck forever, as in gloo's shutdown deadlock
        time.sleep(0.05)


def _raises(rank):
    if rank == 1:
        raise RuntimeError("rank 1 broke")


def test_a_hung_rank_fails_the_test_instead_of_hanging_the_suite(tmp_path, ranks):
    import time

    t0 = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"rank\(s\) \[0, 1\] of 2 still running after 2 s; killed"):
        ranks(_never_exits, 2, args=(str(tmp_path / "started"),), timeout=2)
    assert time.monotonic() - t0 < 30
    assert (tmp_path / "started0").exists() and (tmp_path / "started1").exists()
    with pytest.raises(pytest.fail.Exception, match=r"rank\(s\) failed with exit codes \{1: 1\}"):
        ranks(_raises, 2, timeout=60)


def test_time_limit_fails_instead_of_returning_a_weaker_model(planted, tmp_path):
    from neurorrn.models import TrainingBudgetError

    data, _, _, tr = _setup(planted, max_epochs=50, max_time_s=1e-9)
    tr.out_dir = tmp_path
    with pytest.raises(TrainingBudgetError, match=r"stopped by max_time_s=1e-09 s at epoch 0 of max_epochs=50 .*"
                                                  r"raise train.max_time_s or lower train.max_epochs"):
        tr.fit(data)
    assert tr.stop_reason_ == "max_time_s" and (tmp_path / "checkpoint.pt").exists()
    # a bigger budget resumes the same schedule and ends on epochs, as if never interrupted
    _, _, m2, tr2 = _setup(planted, max_epochs=3, max_time_s=1e6)
    tr2.resume(tmp_path / "checkpoint.pt")
    tr2.fit(data)
    assert tr2.stop_reason_ == "max_epochs" and tr2.epoch_ == 3
    _, _, m3, tr3 = _setup(planted, max_epochs=3)
    tr3.fit(data)
    for k, v in m3.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k]), k
    # opting in to a time-budgeted (machine-dependent) run returns the partly trained model
    _, _, _, tr4 = _setup(planted, max_epochs=50, max_time_s=1e-9, on_time_limit="stop")
    tr4.fit(data)
    assert tr4.stop_reason_ == "max_time_s" and tr4.epoch_ == 0


@pytest.mark.gpu
def test_cuda_amp_training_and_resume(planted, tmp_path):
    data, tg, model, tr = _setup(planted, max_epochs=3, device="cuda", amp=True)
    assert tr.use_amp and tr.device.type == "cuda"
    tr.fit(data)
    assert np.isfinite(tr.history_[-1]["train_loss"])
    ck = tr.save(tmp_path / "gpu.pt")
    _, _, _, tr2 = _setup(planted, max_epochs=4, device="cuda", amp=True)
    tr2.resume(ck)
    tr2.fit(data)
    assert tr2.epoch_ == 4
