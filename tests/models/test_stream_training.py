"""Stream training (Brodbeck et al. 2025): box targets, carried and detached state, cohort
weights, Backtrack, the stream word-accuracy rule, resume and budgets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.io import wavfile

from neurorrn.models import LossConfig, NetworkConfig, SpeechRNN, make_loss, make_targets
from neurorrn.models.data import FeatureNormalizer, FeatureSet
from neurorrn.models.losses import cohort_weights
from neurorrn.models.stream_data import StreamSampler, TokenBank, make_eval_streams, shift_bands
from neurorrn.models.stream_evaluation import score_tokens, stream_accuracy, stream_competitor_sets
from neurorrn.models.stream_training import (Backtrack, StreamExperimentConfig, StreamSection, StreamTrainConfig,
                                             StreamTrainer, TrainingTimeExceeded, train_streams)
from neurorrn.models.training import OptimConfig
from neurorrn.speech import Corpus

SR = 16000


@pytest.fixture
def tone_corpus(tmp_path):
    """Tokens: a 50 ms lead-in silence, the word (a tone per word, louder per talker), a final pause.

    Word intervals are deliberately not multiples of 10 ms.
    """
    rng = np.random.default_rng(0)
    items, al = [], []
    (tmp_path / "audio").mkdir()
    for wi, w in enumerate(("cat", "dog", "sun", "sap")):
        for ti, t in enumerate(("m1", "f1", "f2")):
            sid = f"{w}__{t}"
            lead, dur = 800, int(rng.integers(2500, 5000))
            n = lead + dur + 800
            tt = np.arange(dur) / SR
            audio = np.zeros(n, np.float32)
            audio[lead:lead + dur] = (0.2 + 0.1 * ti) * np.sin(2 * np.pi * (300 + 250 * wi) * tt)
            wavfile.write(tmp_path / "audio" / f"{sid}.wav", SR, (audio * 32767).astype(np.int16))
            items.append({"stimulus": sid, "word": w, "talker": t, "path": f"audio/{sid}.wav", "n_samples": n,
                          "sfreq": SR})
            al.append({"stimulus": sid, "tier": "word", "label": w, "start": lead / SR, "end": (lead + dur) / SR})
            al.append({"stimulus": sid, "tier": "phone", "label": "K", "start": lead / SR,
                       "end": (lead + dur // 2) / SR})
            al.append({"stimulus": sid, "tier": "phone", "label": "AE", "start": (lead + dur // 2) / SR,
                       "end": (lead + dur) / SR})
    return Corpus(tmp_path, pd.DataFrame(items), pd.DataFrame(al))


def _bank(corpus, split=None):
    return TokenBank.from_corpus(corpus, "logmel", {"n_mels": 16}, split=split)


@pytest.mark.parametrize("splice", ["features", "audio"])
def test_box_targets_and_silences_frame_exact(tone_corpus, splice):
    bank = _bank(tone_corpus)
    targets = make_targets(sorted(set(bank.word)), "localist")
    sampler = StreamSampler(bank, np.arange(bank.n_tokens), targets.index, splice=splice, offset_frames=3)
    batch = sampler.draw(3, 400, (5, 0))
    words_al = tone_corpus.alignments[tone_corpus.alignments["tier"] == "word"].set_index("stimulus")
    assert batch.features.shape == (3, 400, 16)
    for r in range(3):
        tab = batch.tokens[batch.tokens["row"] == r].reset_index(drop=True)
        expect = np.full(400, -1)
        region = np.zeros(400, bool)
        for k, t in enumerate(tab.itertuples()):
            w = words_al.loc[t.stimulus]
            n_fr = int(np.ceil((round(w["end"] * SR) - round(w["start"] * SR)) / (SR / 100)))
            assert t.end - t.start == n_fr  # the word's frames, from its alignment
            assert t.target == targets.index[t.word]
            expect[t.start:min(t.end, 400)] = t.target
            region[t.start:max(t.start, min(t.end - 3, 400))] = True
            if k:  # silences are whole numbers of 10 ms frames between 200 and 500 ms, or none
                gap = t.start - tab.end[k - 1]
                assert gap == 0 or 20 <= gap <= 50
                assert t.after_silence == (gap > 0)
            if splice == "audio":  # the token's word audio sits at the word's first frame
                y, _ = tone_corpus.load_audio(t.stimulus)
                seg = y[int(round(w["start"] * SR)):int(round(w["end"] * SR))]
                np.testing.assert_allclose(bank.audio[t.token][:seg.size], seg, atol=1e-7)
            elif t.end <= 400:
                np.testing.assert_array_equal(batch.features[r, t.start:t.end], bank.features[t.token])
        np.testing.assert_array_equal(batch.word[r], expect)
        np.testing.assert_array_equal(batch.region[r], region)
        silent = expect < 0
        assert silent.any()
        if splice == "features":
            np.testing.assert_array_equal(batch.features[r, silent], np.broadcast_to(bank.silence_frame,
                                                                                     (silent.sum(), 16)))
    # deterministic per seed, different across seeds
    again = sampler.draw(3, 400, (5, 0))
    np.testing.assert_array_equal(again.features, batch.features)
    assert not np.array_equal(sampler.draw(3, 400, (5, 1)).word, batch.word)


def test_shift_bands_moves_a_peak_and_interpolates():
    x = np.zeros((2, 8), np.float32)
    x[:, 3] = 1.0
    np.testing.assert_array_equal(shift_bands(x, 2.0)[0], [0, 0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(shift_bands(x, -1.0)[0], [0, 0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(shift_bands(x, 0.25)[0], [0, 0, 0, 0.75, 0.25, 0, 0, 0])
    ramp = np.arange(8, dtype=np.float32)[None]
    np.testing.assert_array_equal(shift_bands(ramp, 3.0)[0], [0, 0, 0, 0, 1, 2, 3, 4])  # edge band repeated


def test_band_shift_augments_tokens_only_and_keeps_the_streams(tone_corpus):
    bank = _bank(tone_corpus)
    targets = make_targets(sorted(set(bank.word)), "localist")
    plain = StreamSampler(bank, np.arange(bank.n_tokens), targets.index).draw(3, 300, (2, 0))
    shifted = StreamSampler(bank, np.arange(bank.n_tokens), targets.index, band_shift=2.0).draw(3, 300, (2, 0))
    np.testing.assert_array_equal(shifted.word, plain.word)  # same words, talkers, silences
    np.testing.assert_array_equal(shifted.region, plain.region)
    pd.testing.assert_frame_equal(shifted.tokens, plain.tokens)
    silent = shifted.word == -1
    np.testing.assert_array_equal(shifted.features[silent], plain.features[silent])
    moved = 0
    for t in plain.tokens.itertuples():  # every token is its unshifted frames moved by one shift
        a, b = plain.features[t.row, t.start:t.end], shifted.features[t.row, t.start:t.end]
        if not len(a):
            continue
        grid = np.linspace(-2.0, 2.0, 801)
        err = [np.abs(shift_bands(a, d) - b).max() for d in grid]
        assert min(err) < 5e-3 * (np.ptp(a) + 1.0)  # up to the grid step
        moved += abs(grid[int(np.argmin(err))]) > 0.05
    assert moved >= len(plain.tokens) // 2
    with pytest.raises(ValueError, match="band_shift"):
        StreamSampler(bank, np.arange(bank.n_tokens), targets.index, band_shift=-1.0)


def test_eval_streams_hold_every_token_once(tone_corpus):
    bank = _bank(tone_corpus)
    targets = make_targets(sorted(set(bank.word)), "localist")
    sampler = StreamSampler(bank, np.arange(bank.n_tokens), targets.index)
    idx = bank.select(talkers=["f2"])
    ev = make_eval_streams(sampler, idx, n_rows=2, p_silence=0.0, random_state=1)
    assert sorted(ev.tokens["token"]) == sorted(idx)
    for r in range(2):  # NoSil: words back to back
        tab = ev.tokens[ev.tokens["row"] == r]
        assert (tab["start"].values[1:] == tab["end"].values[:-1]).all()
        assert ev.lengths[r] == tab["end"].max()


def test_cohort_weights_on_a_stream():
    """Hand-made stream: silence, word A (6 frames), word B (5 frames), silence; offset 2 frames."""
    targets = make_targets(["a", "b", "c"], "localist")
    word = np.array([-1, -1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, -1])
    region = np.array([0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0], bool)
    tm = np.concatenate([np.zeros((1, 3), np.float32), targets.matrix])
    t = torch.from_numpy(tm[word + 1])[None]
    w = cohort_weights(t, torch.from_numpy(region)[None], c=4.0)[0].numpy()
    expect = np.ones((14, 3))
    expect[2:6, 1:] = 0.25  # in A's region: non-targets b, c down-weighted, target a keeps 1
    expect[8:11, [0, 2]] = 0.25  # in B's region
    np.testing.assert_allclose(w, expect)


def test_backtrack_on_a_synthetic_loss_curve():
    bt = Backtrack(factor=1.25, restore_patience=3, stop_patience=8)
    curve = [1.0, 0.8, 0.5, 0.55, 0.7, 0.7, 0.7, 0.6, 0.65, 0.9, 0.4, 0.45, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    actions = [bt.update(v, e + 1) for e, v in enumerate(curve)]
    assert actions[:3] == ["improved"] * 3
    # 0.55 is within 1.25 x 0.5; 0.7 x 3 exceed 0.625 three times running -> restore at the 3rd
    assert actions[3:7] == ["", "", "", "restore"]
    assert actions[7:10] == ["", "", ""]  # the bad count restarted after the restore
    assert actions[10] == "improved" and bt.best_epoch_ == 11
    # 0.5 is not above 1.25 x 0.4, so no restore; 8 epochs without improvement stop
    assert actions[11:18] == [""] * 7 and actions[18] == "stop"
    assert bt.best_ == 0.4


def test_stream_word_accuracy_rule_and_wer():
    # 1 row, 30 frames, 3 words; token 0: frames 0-15 target 0, token 1: 15-30 target 1, token 2 (tie)
    scores = np.full((1, 40, 3), 0.2)
    scores[0, 0:5, 2] = 0.9  # an early peak of a competitor, outside the last 10 frames: ignored
    scores[0, 5:15, 0] = 0.6
    scores[0, 15:28, 1] = 0.5
    scores[0, 29, 2] = 0.7  # a competitor peak inside token 1's last 10 frames wins
    scores[0, 30:40, :2] = 0.5  # token 2: tie between words 0 and 1 -> an error
    tokens = pd.DataFrame({"row": [0, 0, 0], "start": [0, 15, 30], "end": [15, 30, 40], "target": [0, 1, 0],
                           "split": "trained", "talker": ["a", "b", "a"]})
    out = score_tokens(scores, tokens, last_frames=10)
    assert out["correct"].tolist() == [True, False, False]
    assert out["predicted"].tolist() == [0, 2, -1]
    np.testing.assert_allclose(out["margin"], [0.4, 0.5 - 0.7, 0.0])
    acc = stream_accuracy(out, ["split", "talker"]).set_index("talker")
    assert acc.loc["a", "accuracy"] == 0.5 and acc.loc["a", "wer"] == 0.5 and acc.loc["b", "wer"] == 1.0


def test_competitor_sets():
    pron = {"cat": ["K", "AE1", "T"], "cap": ["K", "AE1", "P"], "kit": ["K", "IH1", "T"],
            "bat": ["B", "AE1", "T"], "dog": ["D", "AO1", "G"]}
    sets = stream_competitor_sets(pron, list(pron))
    words = list(pron)
    c = {k: [words[i] for i in v] for k, v in sets["cat"].items()}
    assert c["cohort"] == ["cap"] and c["v_cohort"] == ["cap"] and c["rhyme"] == ["bat"]
    assert c["onset2"] == ["cap"] and c["onset1"] == ["kit"] and c["unrelated"] == ["dog"]


# ------------------------------------------------------------------------------------------
def _trainer(tone_corpus, tmp_path=None, lr=1e-3, **cfg):
    bank = _bank(tone_corpus)
    targets = make_targets(sorted(set(bank.word)), "localist")
    sampler = StreamSampler(bank, np.arange(bank.n_tokens), targets.index)
    fs = FeatureSet.from_arrays(bank.features, bank.stimulus, bank.word, bank.talker, bank.frame_rate)
    norm = FeatureNormalizer("zscore").fit(fs)
    model = SpeechRNN(NetworkConfig(n_input=16, hidden_sizes=[12], n_output=targets.n_dims), random_state=0)
    tc = StreamTrainConfig(**{"batch_size": 4, "max_epochs": 2, "eval_every": 0, **cfg})
    return StreamTrainer(model, targets, make_loss(LossConfig(kind="cohort")), sampler, norm, tc,
                         OptimConfig(kind="rmsprop", lr=lr, clip_norm=None),
                         StreamSection(segment_s=0.3, steps_per_epoch=3, noise_snr_db=None), out_dir=tmp_path)


# torch warns when optimizer.step is replaced after the scheduler wraps it; the test does that on purpose
@pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden:UserWarning")
def test_state_carried_across_segments(tone_corpus):
    """A segment's first output depends on the previous segment (weights frozen)."""
    firsts = []
    for seed in (0, 1):
        tr = _trainer(tone_corpus)
        tr.optimizer.step = lambda *a, **k: None  # weights frozen: only the carried state differs
        seen = []
        base = tr.loss
        tr.loss = lambda logits, *a, **k: (seen.append(logits.detach().clone()), base(logits, *a, **k))[1]
        rng = np.random.default_rng(seed)
        x1 = torch.from_numpy(rng.normal(size=(4, 30, 16)).astype(np.float32))
        x2 = torch.from_numpy(np.random.default_rng(9).normal(size=(4, 30, 16)).astype(np.float32))
        w = torch.full((4, 30), -1, dtype=torch.int64)
        r = torch.zeros((4, 30), dtype=torch.bool)
        tr.train_segment(x1, w, r)
        tr.train_segment(x2, w, r)
        firsts.append(seen[1][:, 0])
    assert (firsts[0] - firsts[1]).abs().max() > 1e-4


def test_state_detached_at_segment_edges(tone_corpus):
    tr = _trainer(tone_corpus)
    x1 = torch.randn(4, 30, 16, generator=torch.Generator().manual_seed(0), requires_grad=True)
    w = torch.zeros((4, 30), dtype=torch.int64)
    r = torch.ones((4, 30), dtype=torch.bool)
    tr.train_segment(x1, w, r)
    g1 = x1.grad.clone()
    assert g1.abs().sum() > 0
    for s in tr._carry[0]:
        assert not s.requires_grad and s.grad_fn is None
    tr.train_segment(torch.randn(4, 30, 16, generator=torch.Generator().manual_seed(1)), w, r)
    torch.testing.assert_close(x1.grad, g1, rtol=0, atol=0)  # no gradient flowed back across the edge


def test_resume_honours_a_new_budget_and_time_net_fails_loudly(tone_corpus, tmp_path):
    a = _trainer(tone_corpus, tmp_path / "a", max_epochs=4).fit()
    b = _trainer(tone_corpus, tmp_path / "b", max_epochs=2).fit()
    assert b.epoch_ == 2 and b.stop_reason_ == "max_epochs"
    c = _trainer(tone_corpus, tmp_path / "b", max_epochs=4)
    c.resume(tmp_path / "b" / "checkpoint.pt").fit()
    assert c.epoch_ == 4 and c.step_ == 12
    assert [h["train_loss"] for h in c.history_] == pytest.approx([h["train_loss"] for h in a.history_], rel=1e-5)
    assert (tmp_path / "b" / "best.pt").is_file()
    with pytest.raises(TrainingTimeExceeded, match="max_time_s=0 s at epoch 0, step 1"):
        _trainer(tone_corpus, tmp_path / "d", max_epochs=5, max_time_s=0.0).fit()
    assert (tmp_path / "d" / "checkpoint.pt").is_file()


def test_max_steps_mid_epoch_and_snapshots(tone_corpus, tmp_path):
    tr = _trainer(tone_corpus, tmp_path, max_epochs=3, max_steps=4, snapshot_epochs=[1]).fit()
    assert tr.step_ == 4 and tr.epoch_ == 1 and tr.stop_reason_ == "max_steps"
    assert (tmp_path / "snapshots" / "epoch00001.pt").is_file()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_train_streams_learns_and_writes_a_bundle(tone_corpus, tmp_path, seed):
    """Four tone 'words' are learned in streams; the excluded talker is scored separately."""
    from neurorrn.models import ModelBundle

    cfg = StreamExperimentConfig.from_dict({
        "name": "tones", "features": {"kind": "logmel", "params": {"n_mels": 16}, "normalization": "zscore"},
        "network": {"hidden_sizes": [16], "output_bias_init": -2.0}, "targets": {"kind": "localist"},
        "train": {"batch_size": 8, "max_epochs": 12, "eval_every": 4, "snapshot_epochs": [4], "random_state": seed},
        "streams": {"segment_s": 1.0, "steps_per_epoch": 4},
        "optim": {"kind": "rmsprop", "lr": 0.01, "clip_norm": None},
        "holdout": {"mode": "T", "excluded_talker": "f2"}})
    s = train_streams(cfg, tone_corpus, tmp_path)
    assert s["stream_accuracy"]["trained"] >= 0.9
    assert set(s["stream_accuracy"]) == {"trained", "excluded_talker"}
    b = ModelBundle.load(tmp_path / "model.pt")
    assert b.features["kind"] == "logmel" and b.features["params"]["n_mels"] == 16
    assert b.features["params"]["win_ms"] == 25.0  # defaults recorded
    assert (tmp_path / "snapshots" / "epoch00004.pt").is_file()
    ModelBundle.load(tmp_path / "snapshots" / "epoch00004.pt")
    table = pd.read_csv(tmp_path / "stream_evaluation.csv")
    assert set(table["split"]) == {"trained", "excluded_talker"} and len(table) == 12


def test_train_streams_merges_homophones_and_writes_competitors(tone_corpus, tmp_path):
    from neurorrn.speech.lexicon import Lexicon

    tone_corpus.lexicon = Lexicon({"cat": "K AE1 T", "dog": "D AO1 G", "sun": "S AH1 N", "sap": "S AH1 N"})
    cfg = StreamExperimentConfig.from_dict({
        "features": {"kind": "logmel", "params": {"n_mels": 16}, "normalization": "zscore"},
        "network": {"hidden_sizes": [8]}, "targets": {"kind": "localist"},
        "train": {"batch_size": 4, "max_epochs": 1, "eval_every": 0},
        "streams": {"segment_s": 0.5, "steps_per_epoch": 2}, "holdout": {"mode": "none"}})
    s = train_streams(cfg, tone_corpus, tmp_path)
    assert s["homophones_merged"] == {"sun": "sap"} and s["chance"] == 1 / 3
    from neurorrn.models import ModelBundle

    assert ModelBundle.load(tmp_path / "model.pt").targets.words == ["cat", "dog", "sap"]
    table = pd.read_csv(tmp_path / "stream_evaluation.csv")
    assert (table.loc[table["word"] == "sun", "target"] == 2).all()
    comp = pd.read_csv(tmp_path / "stream_competitors.csv", index_col=0)
    assert list(comp.columns) == ["target", "cohort", "v_cohort", "rhyme", "unrelated", "onset1", "onset2", "onset3"]


def test_backtrack_restores_the_best_weights_in_the_trainer(tone_corpus, tmp_path):
    from neurorrn.models.stream_training import BacktrackConfig
    from neurorrn.utils._logging import progress

    tr = _trainer(tone_corpus, tmp_path)
    tr.backtrack_config = BacktrackConfig(restore_patience=1, stop_patience=3)
    tr.backtrack = Backtrack(1.25, 1, 3)
    bar = progress(total=1, verbose=False)
    tr._epoch_losses = [1.0]
    tr._end_epoch(0.0, bar)
    best = {k: v.clone() for k, v in tr.model.state_dict().items()}
    assert (tmp_path / "best.pt").is_file()
    with torch.no_grad():
        for p in tr.model.parameters():
            p.add_(1.0)
    tr._epoch_losses = [2.0]  # above 1.25 x best for restore_patience=1 epoch -> restore
    tr._end_epoch(0.0, bar)
    assert tr.history_[-1]["backtrack"] == "restore"
    for k, v in tr.model.state_dict().items():
        torch.testing.assert_close(v, best[k])
    tr._epoch_losses = [1.1]
    tr._end_epoch(0.0, bar)
    assert tr.stop_reason_ == "" and tr.history_[-1].get("backtrack") is None
    tr._epoch_losses = [1.1]
    tr._end_epoch(0.0, bar)  # third epoch without improvement -> stop
    assert tr.stop_reason_.startswith("backtrack: no improvement for 3 epochs (best epoch 1)")


def test_held_out_streams_are_those_scored_by_train_streams(tone_corpus):
    from neurorrn.models.stream_training import _split_streams, held_out_streams

    cfg = StreamExperimentConfig.from_dict({"features": {"kind": "logmel", "params": {"n_mels": 16}},
                                            "holdout": {"mode": "T", "excluded_talker": "f2"}})
    targets = make_targets(["cat", "dog", "sap", "sun"], "localist")
    only = held_out_streams(cfg, tone_corpus, targets.index, splits=("excluded_talker",))
    both = held_out_streams(cfg, tone_corpus, targets.index)
    assert set(both) == {"trained", "excluded_talker"}
    np.testing.assert_array_equal(only["excluded_talker"].features, both["excluded_talker"].features)
    assert sorted(only["excluded_talker"].tokens["stimulus"]) == sorted(s for s in
                                                                        tone_corpus.items["stimulus"] if "f2" in s)


@pytest.mark.parametrize("section, kw, field", [
    ("streams", {"segment_s": 0}, "segment_s"), ("streams", {"p_silence": 1.5}, "p_silence"),
    ("streams", {"silence": (0.5, 0.2)}, "silence"), ("streams", {"eval_rows": 0}, "eval_rows"),
    ("backtrack", {"factor": 0.5}, "factor"), ("backtrack", {"stop_patience": 0}, "stop_patience"),
])
def test_stream_configs_refuse_out_of_range_settings(section, kw, field):
    """The trainer's own config checks ranges (not only the pipeline's), naming the field."""
    from pydantic import ValidationError

    from neurorrn.models.stream_training import BacktrackConfig, StreamSection

    cls = StreamSection if section == "streams" else BacktrackConfig
    with pytest.raises(ValidationError, match=field):
        cls(**kw)
