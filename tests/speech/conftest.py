"""Fixtures for the speech tests: skip synthesis tests when no espeak-ng library loads."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def espeak():
    from neurorrn.speech._espeak import get_engine

    try:
        return get_engine()
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"no espeak-ng library: {err}")


@pytest.fixture(scope="session")
def small_corpus(espeak, tmp_path_factory):
    """12 words x 3 talkers, built once per session."""
    from neurorrn.speech import CorpusConfig, LexiconConfig, build_corpus

    cfg = CorpusConfig(name="small", talkers=["m1", "f3", "m3"],
                       lexicon=LexiconConfig(source="words", words=[
                           "cat", "cap", "sun", "ship", "shoe", "seat", "mat", "bat", "catalog",
                           "speech", "log", "dog"]))
    return build_corpus(cfg, tmp_path_factory.mktemp("corpus") / "small")
