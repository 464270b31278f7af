"""Seeded randomness that is stable across Python versions and processes.

Only `random.Random.random()` and `getrandbits()` are used (their sequences are part of
CPython's compatibility promise), and RNGs are seeded from strings, which CPython hashes with
SHA-512 rather than the per-process salted `hash()`. Each customer gets its own RNG, so
adding a customer or a feature to one customer's story never reshuffles everyone else.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def rng_for(seed: int, *scope: object) -> random.Random:
    # Reproducibility is the point here; nothing derived from these RNGs is a secret.
    return random.Random(":".join(str(part) for part in (seed, *scope)))  # noqa: S311


def pick(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    """Weighted choice from one uniform draw."""
    threshold = rng.random() * sum(weights)
    running = 0.0
    for item, weight in zip(items, weights, strict=True):
        running += weight
        if threshold < running:
            return item
    return items[-1]


def between(rng: random.Random, low: int, high: int) -> int:
    """Uniform integer in [low, high]."""
    return low + int(rng.random() * (high - low + 1))


def chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability
