"""Encoding and decoding: fast TRFs, banded ridge, variance partitioning, decoding."""

from ._trf import TRF

__all__ = ["TRF"]
