import numpy as np
import pytest
import torch

from neurorrn.models import (FeatureSet, NetworkConfig, SpeechRNN, accuracy, competitor_sets,
                             competitor_time_courses, cosine_similarity, evaluate_network, make_targets,
                             recognition_time)


def _cs(n_time=40, n_words=4, target=0):
    """Target and competitors tie at 0.3 (competitor 1 is the best); margins set per test."""
    cs = np.full((n_time, n_words), 0.2)
    cs[:, 1] = 0.3
    cs[:, target] = 0.3
    return cs


def test_time_dependent_rt_from_frame_12():
    cs = _cs()
    cs[12:, 0] = 0.36  # margin 0.06 from frame 12 on
    assert recognition_time(cs, 0) == 12
    assert recognition_time(cs, 0, criterion="relative") == 12
    assert np.isnan(recognition_time(cs, 0, criterion="absolute"))  # never above 0.7


def test_later_dip_below_competitor_cancels_recognition():
    cs = _cs()
    cs[12:, 0] = 0.36
    cs[30, 0] = 0.29  # one frame below the best competitor (margin -0.01) after the window
    assert np.isnan(recognition_time(cs, 0))
    cs[31:, 0] = 0.36  # a later t meeting the rule recognises again: window 31..40? no: needs 10 frames before end
    assert np.isnan(recognition_time(cs, 0))  # 31 >= max_cycle - 10 = 30 (EARSHOT's range quirk)
    cs2 = _cs(n_time=60)
    cs2[12:, 0] = 0.36
    cs2[30, 0] = 0.29
    assert recognition_time(cs2, 0) == 31


def test_window_must_hold_for_ten_frames():
    cs = _cs()
    cs[12:21, 0] = 0.36  # only 9 frames above the 0.05 margin, then 0.01 above
    cs[21:, 0] = 0.31
    assert np.isnan(recognition_time(cs, 0))
    assert recognition_time(cs, 0, window=9) == 12


def test_absolute_criterion():
    cs = _cs()
    cs[5:, 0] = 0.75
    assert recognition_time(cs, 0, criterion="absolute") == 5
    cs[20, 2] = 0.71  # any competitor above 0.7 at any step: no recognition
    assert np.isnan(recognition_time(cs, 0, criterion="absolute"))


def test_cycle_cut_holds_last_value():
    cs = _cs(n_time=15)
    cs[8:, 0] = 0.36
    # the token is 15 frames long but the evaluation runs to max_cycle 30: the last value is held
    assert np.isnan(recognition_time(cs, 0))  # 8 >= 15 - 10
    assert recognition_time(cs, 0, max_cycle=30) == 8
    cs[14, 0] = 0.2  # last in-token frame below the competitor, held to the end: not recognised
    assert np.isnan(recognition_time(cs, 0, max_cycle=30))


def test_criterion_errors():
    with pytest.raises(ValueError, match="Invalid value for criterion: 'time'"):
        recognition_time(_cs(), 0, criterion="time")
    with pytest.raises(ValueError, match=r"cs must have shape \(n_time, n_words\)"):
        recognition_time(np.zeros(5), 0)


def test_cosine_against_scipy():
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(0)
    o, t = rng.random((7, 5)), rng.random((3, 5))
    np.testing.assert_allclose(cosine_similarity(o, t), 1 - cdist(o, t, "cosine"), atol=1e-7)


def test_competitor_sets():
    pron = {"cat": "K AE T", "cap": "K AE P", "bat": "B AE T", "at": "AE T", "dog": "D AO G", "cast": "K AE S T",
            "kit": "K IH T"}
    pron = {w: p.split() for w, p in pron.items()}
    words = list(pron)
    s = competitor_sets(pron, words)
    name = lambda idx: sorted(words[i] for i in idx)  # noqa: E731
    assert name(s["cat"]["cohort"]) == ["cap", "cast"]
    assert name(s["cat"]["rhyme"]) == ["bat"]
    assert name(s["cat"]["das_neighbour"]) == ["at", "bat", "cap", "cast", "kit"]
    assert name(s["cat"]["unrelated"]) == ["dog"]
    with pytest.raises(KeyError, match=r"1 word\(s\) lack a pronunciation: \['cow'\]"):
        competitor_sets(pron, words + ["cow"])


class _Oracle(torch.nn.Module):
    """A fake network whose output moves from word 'shared' to the target pattern at frame 10."""

    def __init__(self, targets):
        super().__init__()
        self.register_buffer("t", torch.from_numpy(targets.matrix))
        self.p = torch.nn.Parameter(torch.zeros(1))

    @property
    def device(self):
        return self.t.device

    def forward(self, x, state=None, lengths=None, pack=None):
        widx = x[:, 0, 0].long()
        n_t = x.shape[1]
        out = self.t[widx][:, None].repeat(1, n_t, 1)
        cohort = self.t[widx ^ 1][:, None]  # the word's cohort partner (pairs 0/1, 2/3)
        early = torch.arange(n_t)[None, :, None] < 10
        out = torch.where(early, 0.5 * out + 0.5 * cohort, out)
        return torch.logit(out.clamp(0.01, 0.99)), None

    def output(self, logits):
        return torch.sigmoid(logits)


def test_evaluate_network_with_planted_outputs():
    words = ["pat", "pan", "bat", "ban"]  # cohort pairs (pat, pan), (bat, ban); rhymes (pat, bat), (pan, ban)
    tg = make_targets(words, "localist")
    pron = {"pat": ["P", "AE", "T"], "pan": ["P", "AE", "N"], "bat": ["B", "AE", "T"], "ban": ["B", "AE", "N"]}
    feats = [np.full((25, 1), tg.index[w], np.float32) for w in words for _ in range(2)]
    data = FeatureSet.from_arrays(feats, [f"{w}{k}" for w in words for k in range(2)], [w for w in words for _ in range(2)],
                                  ["a", "b"] * 4, 100.0, split=np.array(["trained", "excluded_talker"] * 4))
    ds = evaluate_network(_Oracle(tg), data, tg, pronunciations=pron)
    # cosine(target) > cosine(cohort) + 0.05 from frame 10 on, forever -> RT 10
    np.testing.assert_array_equal(ds["rt"].sel(criterion="time_dependent").values, 10)
    np.testing.assert_array_equal(ds["offset_rt"].sel(criterion="time_dependent").values, 10 - 25)
    acc = accuracy(ds)
    assert acc.sel(criterion="time_dependent", split="trained") == 1.0
    assert list(acc["split"].values) == ["trained", "excluded_talker", "all"]
    tc = competitor_time_courses(ds)
    m = tc["mean"]
    assert m.sel(category="cohort").values[:10].mean() > m.sel(category="cohort").values[15:].mean()
    assert (m.sel(category="target").values >= m.sel(category="cohort").values).all()
    np.testing.assert_allclose(m.sel(category="rhyme").values[15:], 0, atol=0.02)  # clamp 0.01
    assert int(tc["n"].sel(category="target")) == 8


def test_evaluate_real_network_shapes(planted):
    data = FeatureSet.from_xarray(planted)
    tg = make_targets(sorted(set(data.word)), "srv", n_dims=20, n_active=3)
    m = SpeechRNN(NetworkConfig(n_input=data.n_features, hidden_sizes=[8], n_output=20))
    ds = evaluate_network(m, data, tg, batch_size=5)
    assert ds["rt"].dims == ("criterion", "stimulus") and ds.sizes["stimulus"] == data.n_tokens
    with pytest.raises(ValueError, match="no competitor curves"):
        competitor_time_courses(ds)
