"""Given the identity memo, values are made once per object, never shared between equal
objects, and the memory stays bounded without answering wrongly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from mailsage_gql.graphql.identity_memo import IdentityMemo

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_value_is_made_once_per_object() -> None:
    made: list[datetime] = []
    memo: IdentityMemo[datetime, str] = IdentityMemo(8)

    def make(value: datetime) -> str:
        made.append(value)
        return value.isoformat()

    assert [memo.get(AT, make) for _ in range(3)] == [AT.isoformat()] * 3
    assert made == [AT]


def test_equal_objects_get_their_own_values() -> None:
    memo: IdentityMemo[datetime, str] = IdentityMemo(8)
    elsewhere = AT.astimezone(timezone(timedelta(hours=2)))
    assert elsewhere == AT

    assert memo.get(AT, datetime.isoformat) == "2026-01-02T03:04:05+00:00"
    assert memo.get(elsewhere, datetime.isoformat) == "2026-01-02T05:04:05+02:00"


def test_a_full_memo_starts_over_and_stays_right() -> None:
    memo: IdentityMemo[datetime, str] = IdentityMemo(3)
    values = [AT + timedelta(seconds=i) for i in range(10)]

    for _ in range(2):
        assert [memo.get(v, datetime.isoformat) for v in values] == [v.isoformat() for v in values]
    assert len(memo._entries) <= 3
