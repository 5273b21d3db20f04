"""Given a token bucket per API key, when a key spends faster than its rate, then it is refused
with a Retry-After, and other keys are unaffected."""

from __future__ import annotations

import pytest

from mailsage_gql.errors import RateLimitedError
from mailsage_gql.services.rate_limit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_with_retry_after_then_refill() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("k1")

    with pytest.raises(RateLimitedError) as refused:
        limiter.check("k1")
    assert refused.value.retry_after == pytest.approx(0.5)
    assert refused.value.code == "rate_limited"

    limiter.check("k2")  # another key has its own bucket
    clock.now = 0.5
    limiter.check("k1")  # one token back after 1/rate seconds


def test_zero_rate_disables_limiting() -> None:
    limiter = RateLimiter(rate=0, burst=0, clock=FakeClock())
    for _ in range(1000):
        limiter.check("k")


def test_a_bucket_forgotten_after_refilling_answers_as_if_remembered() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("k")

    clock.now = 1.5  # burst / rate: full again, and forgotten
    for _ in range(3):
        limiter.check("k")
    with pytest.raises(RateLimitedError):
        limiter.check("k")


def test_at_most_size_buckets_the_least_recently_used_going_first() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, size=2, clock=FakeClock())
    limiter.check("a")
    limiter.check("b")

    limiter.check("c")  # "a" is forgotten: it may spend its burst again

    limiter.check("a")
    with pytest.raises(RateLimitedError):
        limiter.check("a")
