"""Given configs, breaker states and limits, when the pure delivery policy decides, then the
failover order, the breaker and the retry times follow the documented rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mailsage_gql.delivery import policy
from mailsage_gql.delivery.clock import next_reset
from mailsage_gql.delivery.policy import Candidate, Health, Skip

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
A, B, C = (uuid.UUID(int=i) for i in (1, 2, 3))


def candidate(config_id: uuid.UUID, priority: int, **kw: object) -> Candidate:
    values: dict[str, object] = {"daily_limit": 100, "sent_today": 0, "health": Health()}
    values.update(kw)
    return Candidate(config_id=config_id, priority=priority, **values)  # type: ignore[arg-type]


def test_requested_config_first_then_the_others_by_priority() -> None:
    plan = policy.plan_failover(
        [candidate(A, 1), candidate(B, 5), candidate(C, 3)], requested=B, recipients=1, now=NOW
    )

    assert [c for c, _ in plan.order] == [B, A, C]
    assert plan.skipped == () and plan.available_again_at is None


def test_limit_exhaustion_and_open_circuit_are_skipped_with_when_they_return() -> None:
    opened_until = NOW + timedelta(seconds=30)
    plan = policy.plan_failover(
        [
            candidate(A, 1, sent_today=99),  # 3 recipients do not fit in the last place
            candidate(B, 2, health=Health(consecutive_failures=5, opened_until=opened_until)),
            candidate(C, 3, health=Health(exhausted_until=next_reset(NOW))),
        ],
        requested=None,
        recipients=3,
        now=NOW,
    )

    assert plan.order == ()
    assert dict(plan.skipped) == {A: Skip.DAILY_LIMIT, B: Skip.CIRCUIT_OPEN, C: Skip.EXHAUSTED}
    assert plan.available_again_at == opened_until


def test_a_half_open_config_is_planned_as_a_probe() -> None:
    half_open = Health(consecutive_failures=5, opened_until=NOW - timedelta(seconds=1))
    plan = policy.plan_failover(
        [candidate(A, 1, health=half_open), candidate(B, 2)], requested=None, recipients=1, now=NOW
    )

    assert plan.order == ((A, True), (B, False))


def test_breaker_opens_at_the_threshold_or_at_once_on_auth_failure() -> None:
    cooldown = timedelta(seconds=60)
    health = Health()
    for _ in range(4):
        health = policy.after_failure(
            health, code="smtp_connection_error", now=NOW, threshold=5, cooldown=cooldown
        )
        assert health.opened_until is None
    health = policy.after_failure(
        health, code="smtp_connection_error", now=NOW, threshold=5, cooldown=cooldown
    )
    assert health.opened_until == NOW + cooldown

    auth = policy.after_failure(
        Health(), code="smtp_auth_error", now=NOW, threshold=5, cooldown=cooldown
    )
    assert auth.opened_until == NOW + cooldown


def test_a_failed_probe_reopens_and_a_quota_reply_exhausts_until_midnight() -> None:
    probing = Health(consecutive_failures=5, opened_until=NOW - timedelta(seconds=1))
    reopened = policy.after_failure(
        probing, code="smtp_temporary_error", now=NOW, threshold=5, cooldown=timedelta(minutes=1)
    )
    quota = policy.after_failure(
        Health(), code="smtp_rate_limit", now=NOW, threshold=5, cooldown=timedelta(1), quota=True
    )

    assert reopened.opened_until == NOW + timedelta(minutes=1)
    assert quota.exhausted_until == datetime(2026, 11, 30, tzinfo=UTC)


def test_retry_schedule_then_hourly_and_released_early_when_a_config_returns() -> None:
    schedule = (60.0, 300.0, 900.0, 1800.0, 3600.0)

    delays = [policy.retry_delay(n, schedule) for n in range(7)]
    early = policy.next_attempt_at(
        now=NOW, deferrals=4, schedule=schedule, available_again_at=NOW + timedelta(seconds=90)
    )

    assert [d.total_seconds() for d in delays] == [60, 300, 900, 1800, 3600, 3600, 3600]
    assert early == NOW + timedelta(seconds=90)


def test_reservation_refusals_count_as_skips_until_the_reset_or_next_minute() -> None:
    plan = policy.plan_failover([candidate(A, 1)], requested=None, recipients=1, now=NOW)

    daily = policy.refused_at_reservation(plan, [(A, Skip.DAILY_LIMIT)], now=NOW)
    minute = policy.refused_at_reservation(plan, [(A, Skip.MINUTE_LIMIT)], now=NOW)

    assert daily.available_again_at == next_reset(NOW)
    assert minute.available_again_at == datetime(2026, 11, 29, 15, 31, tzinfo=UTC)


def test_messages_expire_at_the_maximum_age() -> None:
    created = NOW - timedelta(days=3)

    assert policy.expired(created_at=created, now=NOW, max_age=3 * 24 * 3600)
    assert not policy.expired(created_at=created + timedelta(seconds=1), now=NOW, max_age=259200)


@given(st.datetimes(timezones=st.just(UTC)))
def test_next_reset_is_the_following_utc_midnight(now: datetime) -> None:
    reset = next_reset(now)

    assert reset > now
    assert reset - now <= timedelta(days=1)
    assert (reset.hour, reset.minute, reset.second, reset.microsecond) == (0, 0, 0, 0)
