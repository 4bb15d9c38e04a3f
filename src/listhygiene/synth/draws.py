"""Counter-based random numbers: every draw a pure function of (seed, stream, index), so blocks agree."""

from __future__ import annotations

import zlib

import numpy as np

_MASK = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer over a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX_1
    x ^= x >> np.uint64(27)
    x *= _MIX_2
    x ^= x >> np.uint64(31)
    return x


class Draws:
    """Random numbers that are a pure function of (seed, stream, index).

    Any row can be generated on its own, in any block, in any order, and come out the same:
    that is what makes chunked writing deterministic, and lets every night see the same people.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self._keys: dict[str, np.uint64] = {}

    def key(self, stream: str) -> np.uint64:
        if stream not in self._keys:
            mixed = (
                self.seed * 0x9E3779B97F4A7C15 + zlib.crc32(stream.encode()) * 0xD6E8FEB86659FD93
            ) & _MASK
            self._keys[stream] = _mix64(np.array([mixed], dtype=np.uint64))[0]
        return self._keys[stream]

    def uniform(self, stream: str, index: np.ndarray) -> np.ndarray:
        """Floats in [0, 1), one per index."""
        bits = _mix64(np.asarray(index).astype(np.uint64) * _GOLDEN + self.key(stream))
        return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def below(self, stream: str, index: np.ndarray, high: int | np.ndarray) -> np.ndarray:
        """Whole numbers in [0, high), one per index."""
        return np.minimum((self.uniform(stream, index) * high).astype(np.int64), np.asarray(high) - 1)

    def choice(self, stream: str, index: np.ndarray, weights) -> np.ndarray:
        """Positions in weights, drawn in proportion to them."""
        cumulative = np.cumsum(np.asarray(list(weights), dtype=np.float64))
        cumulative /= cumulative[-1]
        picked = np.searchsorted(cumulative, self.uniform(stream, index), side="right")
        return np.minimum(picked, len(cumulative) - 1)
