"""Given the identity cache, values are made once per object, never shared between equal
objects, and the memory stays bounded without answering wrongly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from mailsage_gql.graphql.identity_cache import IdentityCache

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_value_is_made_once_per_object() -> None:
    made: list[datetime] = []
    cache: IdentityCache[datetime, str] = IdentityCache(8)

    def make(value: datetime) -> str:
        made.append(value)
        return value.isoformat()

    assert [cache.get(AT, make) for _ in range(3)] == [AT.isoformat()] * 3
    assert made == [AT]


def test_equal_objects_get_their_own_values() -> None:
    cache: IdentityCache[datetime, str] = IdentityCache(8)
    elsewhere = AT.astimezone(timezone(timedelta(hours=2)))
    assert elsewhere == AT

    assert cache.get(AT, datetime.isoformat) == "2026-01-02T03:04:05+00:00"
    assert cache.get(elsewhere, datetime.isoformat) == "2026-01-02T05:04:05+02:00"


def test_a_full_cache_forgets_the_least_recently_used_and_stays_right() -> None:
    cache: IdentityCache[datetime, str] = IdentityCache(3)
    values = [AT + timedelta(seconds=i) for i in range(10)]

    for _ in range(2):
        assert [cache.get(v, datetime.isoformat) for v in values] == [v.isoformat() for v in values]
    assert len(cache._entries) <= 3
