"""Fixtures for the probing tests: small stores with a planted phone code."""

from __future__ import annotations

import pytest

from neurorrn.probing.simulate import planted_store


@pytest.fixture(scope="session")
def word_store():
    """60 random words x 2 talkers; one unit per phone, 2 per feature (nasal, fricative, plosive, high), 16 noise."""
    return planted_store(n_words=60, n_talkers=2, random_state=1)


@pytest.fixture(scope="session")
def diphone_store():
    """Every CV/VC diphone of the 33 phones, 2 talkers (EARSHOT's PSI stimuli)."""
    return planted_store(n_talkers=2, kind="diphones", random_state=2)
