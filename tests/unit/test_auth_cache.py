"""Given the per-process cache of verified keys, when keys are looked up, then only successes
are remembered, for the TTL, under a digest."""

from __future__ import annotations

import uuid

from mailsage_gql.services.accounts import AuthCache, Principal


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entry_lives_for_the_ttl_then_expires() -> None:
    clock = Clock()
    cache = AuthCache(ttl=5.0, clock=clock)
    principal = Principal(account_id=uuid.uuid4(), key_id="abc")
    cache.put("digest", principal)

    assert cache.get("digest") == principal
    clock.now += 5.1
    assert cache.get("digest") is None


def test_zero_ttl_remembers_nothing() -> None:
    cache = AuthCache(ttl=0, clock=Clock())
    cache.put("digest", Principal(account_id=uuid.uuid4(), key_id="abc"))

    assert cache.get("digest") is None


def test_at_most_size_keys_the_least_recently_used_going_first() -> None:
    cache = AuthCache(ttl=5.0, size=2, clock=Clock())
    first, second, third = (Principal(account_id=uuid.uuid4(), key_id=k) for k in "abc")
    cache.put("first", first)
    cache.put("second", second)
    assert cache.get("first") == first  # "second" is now the least recently used

    cache.put("third", third)

    assert cache.get("second") is None
    assert cache.get("first") == first
    assert cache.get("third") == third
