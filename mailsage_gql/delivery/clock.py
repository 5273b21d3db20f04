"""The clock deliveries read, and UTC day arithmetic for daily limits (time as an argument)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol


def utc_now() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    """Where a component that decides by time (breaker cooldowns, per-minute limits, the
    routing snapshot's age) reads it; injected so that tests can move it."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


#: Stateless: the default clock of every component that takes one.
SYSTEM_CLOCK: Clock = SystemClock()


def utc_day(now: datetime) -> date:
    """The UTC calendar day `now` falls in; daily limits count per such day."""
    return now.astimezone(UTC).date()


def next_reset(now: datetime) -> datetime:
    """The next midnight UTC strictly after `now`: when a daily limit resets."""
    return datetime.combine(utc_day(now) + timedelta(days=1), time.min, tzinfo=UTC)
