"""Per-API-key token buckets, in process.

Each gateway process keeps its own buckets, so with N workers a key can reach up to N times its
rate. That keeps the hot path free of network round trips; an exact cluster-wide limit would
need a shared store (Redis, or Postgres advisory counters) and is not needed for abuse control.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class TokenBucketLimiter:
    """Buckets refill continuously at `rate` tokens/s up to `capacity(rate)`; a request of
    `cost` tokens passes only if the bucket holds them all."""

    def __init__(self, capacity: Callable[[float], float], clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity = capacity
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def acquire(self, key: int, cost: float, rate: float) -> float:
        """Take `cost` tokens and return 0, or take nothing and return the seconds to wait."""
        capacity = self._capacity(rate)
        now = self._clock()
        tokens, last = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if cost > capacity:
            # Can never pass at this rate; caller-side limits should prevent it.
            self._buckets[key] = (tokens, now)
            return math.inf
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (cost - tokens) / rate


def retry_after_header(wait_s: float) -> str:
    """Whole seconds, rounded up, at least 1 (RFC 9110 delay-seconds)."""
    if math.isinf(wait_s):
        return "3600"
    return str(max(1, math.ceil(wait_s)))
