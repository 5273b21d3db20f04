"""Per-API-key request rate limiting: a token bucket per key, in this process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache

from mailsage_gql.errors import RateLimitedError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate` tokens a second, up to `burst`, per key. Each process keeps its own buckets, so
    with N API processes a key may make up to N times the rate (documented).

    A bucket unused for `burst / rate` seconds is full again, so it is forgotten then; at most
    `size` buckets are kept (a key-spraying client), the least recently used going first.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        size: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        refill = self.burst / rate if rate > 0 else 0.0
        self._buckets: TTLCache[str, _Bucket] = TTLCache(maxsize=size, ttl=refill, timer=clock)

    def check(self, key: str) -> None:
        """Take one token for `key`.

        :raises RateLimitedError: no token left; `retry_after` says when one will be.
        """
        if self.rate <= 0:
            return
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket  # (re)set: forgotten `burst / rate` after its last use
        if bucket.tokens < 1:
            raise RateLimitedError(
                "too many requests for this API key", retry_after=(1 - bucket.tokens) / self.rate
            )
        bucket.tokens -= 1
