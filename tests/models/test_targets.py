import numpy as np
import pytest

from neurorrn.models.targets import TARGETS, TargetConfig, make_targets, read_vectors

WORDS = [f"w{i}" for i in range(200)]


@pytest.fixture
def vector_file(tmp_path):
    rng = np.random.default_rng(1)
    lines = ["%d 5" % len(WORDS)] + [w + " " + " ".join(f"{v:.4f}" for v in rng.normal(size=5)) for w in WORDS]
    p = tmp_path / "vectors.txt"
    p.write_text("\n".join(lines))
    return p


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_registry_contract(kind, vector_file):
    t = make_targets(WORDS, kind, path=vector_file, n_dims=60, n_active=5)
    assert t.words == WORDS and t.matrix.dtype == np.float32 and t.matrix.shape[0] == len(WORDS)
    assert len({tuple(r) for r in t.matrix}) == len(WORDS)  # unique per word
    assert t.indices(["w3", "w0"]).tolist() == [3, 0]
    with pytest.raises(KeyError, match=r"1 word\(s\) have no target: \['nope'\]"):
        t.indices(["nope"])


def test_srv_earshot_scale():
    t = make_targets([f"w{i}" for i in range(1000)], "srv", random_state=3)
    assert t.matrix.shape == (1000, 300)
    assert set(np.unique(t.matrix)) == {0.0, 1.0}
    assert (t.matrix.sum(1) == 10).all()
    assert len({tuple(np.flatnonzero(r)) for r in t.matrix}) == 1000
    # seeds are arguments: same seed, same targets; different seed, different targets
    np.testing.assert_array_equal(make_targets(WORDS, "srv", random_state=3).matrix,
                                  make_targets(WORDS, "srv", random_state=3).matrix)
    assert not np.array_equal(make_targets(WORDS, "srv", random_state=3).matrix,
                              make_targets(WORDS, "srv", random_state=4).matrix)


def test_brodbeck_patterns_differ_in_more_than_two_indices():
    t = make_targets(WORDS, "srv_brodbeck", n_dims=40, n_active=10)
    sets = [set(np.flatnonzero(r)) for r in t.matrix]
    diffs = [len(a - b) for i, a in enumerate(sets) for b in sets[:i]]
    assert min(diffs) > 2
    # plain SRV at this density does produce near-duplicates, so the constraint is doing work
    s2 = [set(np.flatnonzero(r)) for r in make_targets(WORDS, "srv", n_dims=40, n_active=10).matrix]
    assert min(len(a - b) for i, a in enumerate(s2) for b in s2[:i]) <= 2


def test_localist_and_dense(vector_file):
    t = make_targets(WORDS[:4], "localist")
    np.testing.assert_array_equal(t.matrix, np.eye(4))
    words, vecs = read_vectors(vector_file)
    d = make_targets(["w5", "w1"], TargetConfig(kind="dense", path=str(vector_file)))
    np.testing.assert_allclose(d.matrix, vecs[[5, 1]])
    assert not d.binary
    c = make_targets(WORDS, "dense", path=vector_file, center=True)
    np.testing.assert_allclose(c.matrix.mean(0), 0, atol=1e-5)


def test_target_errors(tmp_path, vector_file):
    with pytest.raises(ValueError, match="Invalid value for targets kind: 'srvv'.*Did you mean 'srv'"):
        make_targets(WORDS, "srvv")
    with pytest.raises(KeyError, match=r"1 word\(s\) have no vector in .*vectors.txt: \['zebra'\]"):
        make_targets(["w1", "zebra"], "dense", path=vector_file)
    with pytest.raises(ValueError, match="dense targets need a file"):
        make_targets(WORDS, "dense")
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2\nb 1 x\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected a word followed by numbers"):
        read_vectors(bad)
    with pytest.raises(ValueError, match="duplicate words"):
        make_targets(["a", "a"], "localist")
    with pytest.raises(ValueError, match="only 3 patterns of 1 of 3 exist, fewer than 4 words"):
        make_targets(list("abcd"), "srv", n_dims=3, n_active=1)
