import numpy as np
import pytest

from neurorrn.probing.probes import control_labels, make_folds, probe_over_time, temporal_generalization
from neurorrn.probing.responses import phone_epochs

LAGS = [-0.1, 0.0, 0.03, 0.05, 0.2, 0.4]


@pytest.fixture(scope="module")
def epochs(word_store):
    return phone_epochs(word_store, LAGS)


def test_probe_recovers_planted_phone_code(epochs):
    r = probe_over_time(epochs, "phone", estimator="ridge", random_state=0)
    assert r["score"].dims == ("lag", "fold")
    assert float(r["chance"]) == pytest.approx(1 / 33)
    # planted latency 20 ms, phones last 60-120 ms: decodable just after onset, not before
    assert float(r["mean"].sel(lag=0.03)) > 0.6
    assert float(r["mean"].sel(lag=-0.1)) < 0.1
    assert float(r["mean"].sel(lag=0.4)) < 0.1


def test_feature_probe_auc(epochs):
    r = probe_over_time(epochs.sel(lag=[-0.1, 0.05]), "nasal", estimator="logistic", random_state=0)
    assert r.attrs["scoring"] == "roc_auc" and float(r["chance"]) == 0.5
    assert float(r["mean"].sel(lag=0.05)) > 0.95


def test_probe_features_stacks_features(epochs):
    from neurorrn.probing.features import phone_feature_table
    from neurorrn.probing.probes import probe_features

    r = probe_features(epochs.sel(lag=[0.0, 0.03]), features=["nasal", "high"], estimator="ridge", n_splits=3,
                       table=phone_feature_table())
    assert r["mean"].dims == ("feature", "lag")
    assert (r["mean"].sel(lag=0.03) > 0.9).all()


def test_shuffled_labels_give_chance(epochs):
    r = probe_over_time(epochs, "phone", estimator="ridge", shuffle_labels=True, random_state=3)
    m = r["mean"].values
    assert np.all(np.abs(m - 1 / 33) < 0.03), m
    # a binary feature has few positives, so one shuffle can correlate with phone identity by chance
    # (and the planted code decodes phones perfectly): average the null over shuffles and lags
    sub = epochs.sel(lag=[0.0, 0.05, 0.2])
    runs = [probe_over_time(sub, "nasal", estimator="ridge", shuffle_labels=True, random_state=s)["mean"].values
            for s in range(6)]
    assert abs(np.mean(runs) - 0.5) < 0.04, np.mean(runs)
    assert float(np.mean(runs, axis=0).max()) < 0.6


def test_empirical_null(epochs):
    r = probe_over_time(epochs.sel(lag=[-0.1, 0.03]), "phone", estimator="ridge", n_shuffles=4, random_state=0)
    assert r["null"].dims == ("shuffle", "lag") and r.sizes["shuffle"] == 4
    assert np.all(np.abs(r["chance_empirical"].values - 1 / 33) < 0.03)
    # the decodable lag beats every shuffle: p = 1 / (1 + 4), the smallest possible
    assert float(r["pvalue"].sel(lag=0.03)) == pytest.approx(1 / 5)
    with pytest.raises(ValueError, match="n_shuffles must be >= 0"):
        probe_over_time(epochs, "phone", n_shuffles=-1)


def test_folds_grouped():
    rng = np.random.default_rng(0)
    words = rng.choice([f"w{i}" for i in range(20)], size=300)
    talkers = rng.choice(["a", "b", "c"], size=300)
    for tr, te in make_folds(words, talkers, "word", 5):
        assert not set(words[tr]) & set(words[te])
    folds = make_folds(words, talkers, "talker")
    assert len(folds) == 3
    for tr, te in folds:
        assert len(set(talkers[te])) == 1 and not set(talkers[tr]) & set(talkers[te])
    for tr, te in make_folds(words, talkers, "word+talker", 4):
        assert not set(words[tr]) & set(words[te]) and not set(talkers[tr]) & set(talkers[te])
    with pytest.raises(ValueError, match="needs at least 2 talkers"):
        make_folds(words, np.full(300, "a"), "talker")
    with pytest.raises(ValueError, match="group_by"):
        make_folds(words, talkers, "story")


def test_control_task(epochs):
    y = epochs["phone"].values.astype(str)
    c = control_labels(epochs, y, random_state=0)
    types = [f"{w}#{p}" for w, p in zip(epochs["word"].values, epochs["position"].values)]
    seen = {}
    for t, lab in zip(types, c):  # one label per (word, position) type, across talkers
        assert seen.setdefault(t, lab) == lab
    r = probe_over_time(epochs, "phone", estimator="ridge", group_by="talker", control=True, random_state=0)
    assert {"control_score", "control_mean", "selectivity"} <= set(r)
    assert float(r["selectivity"].sel(lag=0.03)) > 0.4


def test_temporal_generalization(word_store):
    ep = phone_epochs(word_store, [0.0, 0.03, 0.05, 0.3])
    tg = temporal_generalization(ep, "phone", estimator="ridge")
    s = tg["score"]
    assert s.dims == ("train_lag", "test_lag")
    assert float(s.sel(train_lag=0.03, test_lag=0.03)) > 0.5
    assert float(s.sel(train_lag=0.03, test_lag=0.05)) > 0.3  # the code is stable within the phone
    assert float(s.sel(train_lag=0.03, test_lag=0.3)) < 0.1


def test_probe_errors(epochs):
    with pytest.raises(ValueError, match="target must be 'phone' or a feature"):
        probe_over_time(epochs, "tense")
    with pytest.raises(ValueError, match="dims"):
        probe_over_time(epochs.isel(lag=0), "phone")
    with pytest.raises(ValueError, match="estimator"):
        probe_over_time(epochs, "phone", estimator="svm")
