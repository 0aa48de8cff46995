"""Linear probes of phone identity and phonetic features over time.

For every lag relative to the forced-aligned phone onsets (default -100 to +500 ms), a linear
classifier is fitted on the hidden state ``h(onset + lag)`` and scored on held-out tokens:

* phone identity: multinomial logistic regression (standardised inputs), scored by balanced
  accuracy (mean recall over the phones present in the test fold; chance = 1 / n_phones);
* each feature: binary logistic regression, scored by ROC-AUC (chance 0.5).

Folds are grouped so that no word (``group_by="word"``), no talker (``"talker"``: leave one talker
out, for talker generalisation) or neither (``"word+talker"``: test words *and* the test talker are
unseen in training) leaks from training into test.  ``"none"`` gives shuffled stratified folds
(tokens of one word in both sets; only for comparison).

Control tasks follow Hewitt & Liang (2019): each token *type* -- here a word and a position in it
-- gets a random label drawn from the empirical label distribution, fixed across its tokens; a
probe can solve it only by memorising types.  Probe *selectivity* = task score - control score.
Control labels are learnable only if types recur across folds, so use ``group_by="talker"`` for a
meaningful control (with word-grouped folds the control is at chance by construction).

Temporal generalisation (King & Dehaene 2014) trains at one lag and tests at every lag.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from .._dims import FEATURE, FOLD, LAG, PHONE, UNIT
from ..utils._check import check_option, check_positive, check_random_state, validate_type
from ..utils._logging import logger, progress
from .features import phone_feature_table
from .responses import TOKEN

GROUPINGS = ("word", "talker", "word+talker", "none")
ESTIMATORS = ("logistic", "ridge")
TRAIN_LAG, TEST_LAG = "train_lag", "test_lag"


def make_estimator(estimator="logistic", C: float = 1.0, max_iter: int = 500):
    """A fresh linear classifier: ``"logistic"`` (StandardScaler + LogisticRegression, lbfgs), ``"ridge"``
    (StandardScaler + RidgeClassifier, one-vs-rest least squares; much faster), or a clone of an
    sklearn classifier."""
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not isinstance(estimator, str):
        return clone(estimator)
    check_option(estimator, ESTIMATORS, "estimator")
    if estimator == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    return make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0 / C))


def make_folds(words, talkers, group_by: str = "word", n_splits: int = 5, random_state=0) -> list:
    """Train/test index pairs with grouped folds.

    Parameters
    ----------
    words, talkers : array of shape (n_tokens,)
    group_by : {"word", "talker", "word+talker", "none"}
        ``"word"``: GroupKFold over words (shuffled group assignment); ``"talker"``: leave one
        talker out; ``"word+talker"``: for each word fold and each talker, train on the other
        words spoken by the other talkers and test on the fold's words spoken by that talker;
        ``"none"``: shuffled KFold over tokens.
    n_splits : int
        Number of word folds.

    Returns
    -------
    list of (train_idx, test_idx)
    """
    check_option(group_by, GROUPINGS, "group_by")
    check_positive(n_splits, "n_splits", integer=True)
    words = np.asarray(words).astype(str)
    talkers = np.asarray(talkers).astype(str)
    n = len(words)
    rng = check_random_state(random_state)
    if group_by == "none":
        perm = rng.permutation(n)
        parts = np.array_split(perm, n_splits)
        return [(np.setdiff1d(np.arange(n), p), np.sort(p)) for p in parts]
    uw = np.unique(words)
    word_fold = dict(zip(rng.permutation(uw), np.arange(len(uw)) % n_splits))
    wf = np.array([word_fold[w] for w in words])
    ut = np.unique(talkers)
    if group_by in ("talker", "word+talker") and len(ut) < 2:
        raise ValueError(f"group_by={group_by!r} needs at least 2 talkers, got {list(ut)}")
    if group_by == "word" and len(uw) < n_splits:
        raise ValueError(f"group_by='word' with n_splits={n_splits} needs at least {n_splits} words, got {len(uw)}")
    folds = []
    if group_by == "word":
        for k in range(n_splits):
            folds.append((np.flatnonzero(wf != k), np.flatnonzero(wf == k)))
    elif group_by == "talker":
        for t in ut:
            folds.append((np.flatnonzero(talkers != t), np.flatnonzero(talkers == t)))
    else:
        for k in range(n_splits):
            for t in ut:
                folds.append((np.flatnonzero((wf != k) & (talkers != t)), np.flatnonzero((wf == k) & (talkers == t))))
    return [(tr, te) for tr, te in folds if len(tr) and len(te)]


def control_labels(epochs: xr.DataArray, labels: np.ndarray, random_state=0) -> np.ndarray:
    """Hewitt & Liang control task: a random label per (word, position) type, from the label distribution."""
    rng = check_random_state(random_state)
    types = np.char.add(np.char.add(epochs["word"].values.astype(str), "#"),
                        epochs["position"].values.astype(str))
    vals, counts = np.unique(labels, return_counts=True)
    ut, inv = np.unique(types, return_inverse=True)
    drawn = rng.choice(vals, size=len(ut), p=counts / counts.sum())
    return drawn[inv]


def _targets(epochs: xr.DataArray, target: str, table) -> tuple[np.ndarray, str, float]:
    phones = epochs[PHONE].values.astype(str)
    if target == PHONE:
        k = len(np.unique(phones))
        return phones, "balanced_accuracy", 1.0 / k
    table = phone_feature_table() if table is None else table
    feats = [str(f) for f in table[FEATURE].values]
    if target not in feats:
        raise ValueError(f"target must be 'phone' or a feature {feats}, got {target!r}")
    members = set(table[PHONE].values[table.sel({FEATURE: target}).values.astype(bool)].astype(str))
    y = np.isin(phones, list(members)).astype(int)
    if y.min() == y.max():
        raise ValueError(f"feature {target!r}: every token has the same value; nothing to decode")
    return y, "roc_auc", 0.5


def _score(est, X, y, scoring: str) -> float:
    if scoring == "roc_auc":
        if len(np.unique(y)) < 2:
            return np.nan
        s = est.decision_function(X) if hasattr(est, "decision_function") else est.predict_proba(X)[:, 1]
        return float(roc_auc_score(y, s))
    pred = est.predict(X)
    classes = np.unique(y)
    return float(np.mean([np.mean(pred[y == c] == c) for c in classes]))


def _row_mean(a: np.ndarray) -> np.ndarray:
    """Mean over the finite entries of each row; NaN for a row without any (no warning)."""
    ok = np.isfinite(a)
    cnt = ok.sum(1)
    return np.where(cnt > 0, np.where(ok, a, 0.0).sum(1) / np.maximum(cnt, 1), np.nan)


def _check_epochs(epochs):
    validate_type(epochs, xr.DataArray, "epochs")
    if epochs.dims != (TOKEN, LAG, UNIT):
        raise ValueError(f"epochs must have dims ('token', 'lag', 'unit') (see phone_epochs), got {epochs.dims}")


def probe_over_time(epochs: xr.DataArray, target: str = PHONE, *, group_by: str = "word", n_splits: int = 5,
                    estimator="logistic", control: bool = False, shuffle_labels: bool = False,
                    n_shuffles: int = 0, table: xr.DataArray | None = None, random_state=0,
                    verbose=None) -> xr.Dataset:
    """Cross-validated linear probe of ``target`` from ``h`` at every lag around phone onsets.

    Parameters
    ----------
    epochs : DataArray, dims ("token", "lag", "unit")
        From :func:`~neurorrn.probing.responses.phone_epochs`; tokens that are NaN at a lag
        (the lag leaves their stimulus) are left out at that lag.
    target : str
        ``"phone"`` (identity) or a feature name of ``table``.
    group_by : {"word", "talker", "word+talker", "none"}
        Fold grouping (see :func:`make_folds`).
    estimator : {"logistic", "ridge"} | sklearn classifier
    control : bool
        Also fit the Hewitt & Liang control task and report ``selectivity``.
    shuffle_labels : bool
        Permute the labels over tokens before fitting (a null check: scores fall to chance).
    n_shuffles : int
        Also refit with this many label permutations (same folds) for an empirical null:
        ``null`` (shuffle, lag), ``chance_empirical`` (lag, its mean) and ``pvalue`` (lag) =
        ``(1 + #{null >= mean}) / (1 + n_shuffles)``.
    random_state : int

    Returns
    -------
    Dataset
        ``score`` (lag, fold); ``mean`` (lag); ``chance`` (scalar) with attrs ``scoring``,
        ``target``, ``group_by``; with ``control``: ``control_score`` (lag, fold),
        ``control_mean`` (lag), ``selectivity`` (lag) = mean - control_mean; with ``n_shuffles``:
        ``null``, ``chance_empirical``, ``pvalue``.
    """
    _check_epochs(epochs)
    if n_shuffles < 0:
        raise ValueError(f"n_shuffles must be >= 0, got {n_shuffles}")
    y, scoring, chance = _targets(epochs, target, table)
    rng = check_random_state(random_state)
    if shuffle_labels:
        y = rng.permutation(y)
    folds = make_folds(epochs["word"].values, epochs["talker"].values, group_by, n_splits, rng)
    yc = control_labels(epochs, y, rng) if control else None
    X = epochs.values
    n_lags = X.shape[1]
    score = np.full((n_lags, len(folds)), np.nan)
    cscore = np.full_like(score, np.nan)
    for li in progress(range(n_lags), desc=f"probe {target}", verbose=verbose):
        valid = np.isfinite(X[:, li]).all(1)
        for fi, (tr, te) in enumerate(folds):
            tr, te = tr[valid[tr]], te[valid[te]]
            if len(te) == 0 or len(np.unique(y[tr])) < 2:
                continue
            est = make_estimator(estimator).fit(X[tr, li], y[tr])
            score[li, fi] = _score(est, X[te, li], y[te], scoring)
            if control and len(np.unique(yc[tr])) > 1:
                cest = make_estimator(estimator).fit(X[tr, li], yc[tr])
                cscore[li, fi] = _score(cest, X[te, li], yc[te], scoring)
    lags = epochs[LAG].values
    ds = xr.Dataset({"score": ((LAG, FOLD), score), "mean": (LAG, _row_mean(score)), "chance": chance},
                    coords={LAG: lags, FOLD: np.arange(len(folds))},
                    attrs={"scoring": scoring, "target": target, "group_by": group_by,
                           "estimator": str(estimator), "shuffled": int(shuffle_labels)})
    if control:
        ds["control_score"] = ((LAG, FOLD), cscore)
        ds["control_mean"] = (LAG, _row_mean(cscore))
        ds["selectivity"] = ds["mean"] - ds["control_mean"]
    if n_shuffles:
        seeds = rng.integers(2**31, size=int(n_shuffles))
        null = np.stack([
            probe_over_time(epochs, target, group_by=group_by, n_splits=n_splits, estimator=estimator,
                            shuffle_labels=True, table=table, random_state=int(sd))["mean"].values
            for sd in seeds])
        ds["null"] = (("shuffle", LAG), null)
        ds["chance_empirical"] = (LAG, _row_mean(null.T))
        ds["pvalue"] = (LAG, (1 + (null >= ds["mean"].values[None] - 1e-12).sum(0)) / (1 + len(seeds)))
    logger.info("probe %s: peak %s %.3f at lag %.3f (chance %.3f)", target, scoring,
                float(np.nanmax(ds["mean"])), float(lags[int(np.nanargmax(ds["mean"].values))]), chance)
    return ds


def probe_features(epochs: xr.DataArray, features=None, **kwargs) -> xr.Dataset:
    """:func:`probe_over_time` for each feature; ``mean`` gets a ``feature`` dim."""
    table = kwargs.pop("table", None)
    table = phone_feature_table() if table is None else table
    features = [str(f) for f in table[FEATURE].values] if features is None else list(features)
    res = [probe_over_time(epochs, f, table=table, **kwargs) for f in features]
    out = xr.concat([r[["mean"]] for r in res], dim=xr.DataArray(features, dims=FEATURE, name=FEATURE))
    out["chance"] = 0.5
    out.attrs = {**res[0].attrs, "target": "features"}
    return out


def temporal_generalization(epochs: xr.DataArray, target: str = PHONE, *, group_by: str = "word",
                            n_splits: int = 5, estimator="logistic", table=None, random_state=0,
                            verbose=None) -> xr.Dataset:
    """Train at each lag, test at every lag (King & Dehaene 2014).

    A probe trained at lag i on the training tokens valid (non-NaN) at i is tested at lag j on
    the test tokens valid at j, so tokens near a stimulus's edges are used wherever they exist.

    Returns
    -------
    Dataset
        ``score`` (train_lag, test_lag), mean over folds (NaN where no fold could be scored);
        ``chance``; attrs as :func:`probe_over_time`.
    """
    _check_epochs(epochs)
    y, scoring, chance = _targets(epochs, target, table)
    folds = make_folds(epochs["word"].values, epochs["talker"].values, group_by, n_splits, random_state)
    X = epochs.values
    valid = np.isfinite(X).all(axis=2)  # (token, lag)
    n = X.shape[1]
    acc = np.zeros((n, n))
    cnt = np.zeros((n, n))
    for i in progress(range(n), desc=f"generalisation {target}", verbose=verbose):
        for tr, te in folds:
            tr_i = tr[valid[tr, i]]
            if len(tr_i) < 2 or len(np.unique(y[tr_i])) < 2:
                continue
            est = make_estimator(estimator).fit(X[tr_i, i], y[tr_i])
            for j in range(n):
                te_j = te[valid[te, j]]
                if not len(te_j):
                    continue
                s = _score(est, X[te_j, j], y[te_j], scoring)
                if np.isfinite(s):
                    acc[i, j] += s
                    cnt[i, j] += 1
    lags = epochs[LAG].values
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(cnt > 0, acc / np.maximum(cnt, 1), np.nan)
    return xr.Dataset({"score": ((TRAIN_LAG, TEST_LAG), score), "chance": chance},
                      coords={TRAIN_LAG: lags, TEST_LAG: lags},
                      attrs={"scoring": scoring, "target": target, "group_by": group_by})


__all__ = ["ESTIMATORS", "GROUPINGS", "control_labels", "make_estimator", "make_folds", "probe_features",
           "probe_over_time", "temporal_generalization"]
